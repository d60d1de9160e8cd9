//! The header section as a list of `(name, value)` slices, the From domain, bottom-up
//! header selection for `h=` (RFC 6376 §5.4.2) and relaxed header canonicalisation
//! (§3.4.2).
//!
//! trove used to get these from mail-auth 0.13.3's `AuthenticatedMessage::parse_with_opts`,
//! which also parses every DKIM-Signature and ARC header with its own (lenient) parsers,
//! hashes an empty body once per signature shape, and classifies every header name. trove
//! classifies signatures itself (tags.rs) and needs only the list, so that work was pure
//! overhead on every message. The splitting and the selection below are ported from
//! mail-auth 0.13.3 (`src/common/headers.rs` `scan_field`/`scan_value`/`HeaderIterator`, and
//! `src/dkim/verify.rs` `AuthenticatedMessage::signed_headers`; Apache-2.0 OR MIT,
//! © Stalwart Labs) and kept identical in behaviour, so the same bytes are signed and
//! hashed (the selection switches to an index for hostile sizes, and relaxed canonicalisation
//! copies in larger pieces; both are tested against the original); mail-auth still parses the
//! ARC headers of the messages that have any (arc.rs).

use mail_parser::parsers::MessageStream;
use mail_parser::{Address, HeaderValue};

use crate::swar::Lanes64;

/// One header: the name (everything before the colon, as written) and the value (everything
/// after the colon, folding and the final line ending included).
pub(crate) type RawHeader<'a> = (&'a [u8], &'a [u8]);

enum FieldScan {
    Named { colon: usize, end: usize },
    Unnamed { end: usize },
    End,
}

/// Splits the header section into headers, top first. Stops at the empty line (CRLF or LF)
/// that ends the section; a last header without a line ending is dropped, as mail-auth does.
/// A line without a colon becomes a header with that line as its name and an empty value when
/// it ends in a bare LF, and ends the section when it ends in CRLF (mail-auth's rule).
///
/// `lf_as_crlf`: read every bare LF as if it were CRLF, so that the split is the one of the
/// section with its line endings normalised (verify.rs no longer copies the whole section to
/// convert it; only what simple canonicalisation hashes is converted, when a key is known).
///
/// Also returns where the body starts when the split ended at the empty line, which is then
/// the first empty line of the message (a header only continues past a line ending that is
/// followed by SP or HTAB); `None` when it ended at a line without a colon or ran out of
/// text, for the caller to search further.
pub(crate) fn split_headers(
    message: &[u8],
    lf_as_crlf: bool,
) -> (Vec<RawHeader<'_>>, Option<usize>) {
    // lore messages carry 40-60 headers: one allocation instead of growing from 32.
    let mut headers = Vec::with_capacity(64);
    let mut start = 0;
    loop {
        match scan_field(message, start, lf_as_crlf) {
            FieldScan::Named { colon, end } => {
                headers.push((&message[start..colon], &message[colon + 1..end]));
                start = end;
            }
            FieldScan::Unnamed { end } => {
                headers.push((&message[start..end], &b""[..]));
                start = end;
            }
            FieldScan::End => {
                let body = match &message[start..] {
                    [b'\n', ..] => Some(start + 1),
                    [b'\r', b'\n', ..] => Some(start + 2),
                    _ => None,
                };
                return (headers, body);
            }
        }
    }
}

fn scan_field(message: &[u8], start: usize, lf_as_crlf: bool) -> FieldScan {
    let mut cur = start;
    while let Some(rest) = message.get(cur..) {
        let Some(offset) = memchr::memchr2(b':', b'\n', rest) else {
            break;
        };
        let pos = cur + offset;
        if rest[offset] == b':' {
            return scan_value(message, pos);
        }
        if lf_as_crlf || (offset > 0 && rest[offset - 1] == b'\r') || pos == start {
            return FieldScan::End;
        }
        match message.get(pos + 1) {
            Some(b' ' | b'\t') => cur = pos + 1,
            _ => return FieldScan::Unnamed { end: pos + 1 },
        }
    }
    FieldScan::End
}

fn scan_value(message: &[u8], colon: usize) -> FieldScan {
    let mut cur = colon + 1;
    while let Some(rest) = message.get(cur..) {
        let Some(offset) = memchr::memchr(b'\n', rest) else {
            break;
        };
        let pos = cur + offset;
        match message.get(pos + 1) {
            Some(b' ' | b'\t') => cur = pos + 1,
            _ => {
                return FieldScan::Named {
                    colon,
                    end: pos + 1,
                }
            }
        }
    }
    FieldScan::End
}

/// The name with folding whitespace removed equals `want` (lower case), as mail-auth's
/// header classification reads names. `want` must be lower-case letters, digits and `-`.
fn name_is(name: &[u8], want: &[u8]) -> bool {
    let mut want = want.iter();
    for &b in name {
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            continue;
        }
        if want.next() != Some(&b.to_ascii_lowercase()) {
            return false;
        }
    }
    want.next().is_none()
}

/// Whether the message may have ARC headers: some name is an [`is_arc_name`].
pub(crate) fn has_arc_headers(headers: &[RawHeader<'_>]) -> bool {
    headers.iter().any(|(name, _)| is_arc_name(name))
}

/// The name starts with `ARC-` once folding whitespace is removed (a superset of the three
/// names mail-auth's parser recognises, so no chain is missed).
pub(crate) fn is_arc_name(name: &[u8]) -> bool {
    let mut letters = name
        .iter()
        .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .map(u8::to_ascii_lowercase);
    b"arc-".iter().all(|&want| letters.next() == Some(want))
}

/// Domain of the first address of the first From header that has one, lower case (the
/// address is lower-cased as a whole first, then the part after the last `@` is taken, as
/// trove did through mail-auth's `AuthenticatedMessage::from`).
pub(crate) fn from_domain(headers: &[RawHeader<'_>]) -> Option<String> {
    let mut froms = headers.iter().filter(|(name, _)| name_is(name, b"from"));
    let first = froms.next()?;
    if let Some(domain) = plain_address_domain(first.1) {
        return Some(domain.to_ascii_lowercase());
    }
    let address = std::iter::once(first)
        .chain(froms)
        .find_map(|(_, value)| first_address(&MessageStream::new(value).parse_address()))?;
    let address = address.to_lowercase();
    let (_, domain) = address.rsplit_once('@')?;
    Some(domain.trim_end_matches('>').to_ascii_lowercase())
}

/// The domain of a From value of one of the two plain shapes most mail has,
/// `Display Name <local@domain>` and `local@domain` (ASCII, no quotes, comments, encoded
/// words, groups or lists, one `@`, domain letters, digits, `.`, `-`, `_`), as mail-parser's
/// address parser would find it; `None` for anything else, which goes to mail-parser. Parsing
/// every From through mail-parser was 4% of a corpus run.
fn plain_address_domain(value: &[u8]) -> Option<&str> {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let special = |b: &u8| {
        matches!(
            b,
            b'"' | b'(' | b')' | b',' | b';' | b':' | b'\\' | b'[' | b']'
        )
    };
    if !value.is_ascii() || value.iter().any(special) || value.windows(2).any(|w| w == b"=?") {
        return None;
    }
    let address = match memchr::memchr(b'<', value) {
        Some(open) => {
            let close = open + 1 + memchr::memchr(b'>', &value[open + 1..])?;
            let (display, after) = (&value[..open], &value[close + 1..]);
            if display.iter().any(|&b| b == b'@' || b == b'>')
                || !after.iter().all(ws)
                || memchr::memchr(b'<', &value[open + 1..]).is_some()
            {
                return None;
            }
            &value[open + 1..close]
        }
        None if memchr::memchr(b'>', value).is_none() => value.trim_ascii(),
        None => return None,
    };
    let at = memchr::memchr(b'@', address)?;
    let (local, domain) = (&address[..at], &address[at + 1..]);
    let domain_byte = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_');
    if local.is_empty()
        || local
            .iter()
            .any(|b| ws(b) || matches!(b, b'@' | b'<' | b'>'))
        || domain.is_empty()
        || !domain.iter().all(domain_byte)
    {
        return None;
    }
    std::str::from_utf8(domain).ok()
}

fn first_address(value: &HeaderValue<'_>) -> Option<String> {
    match value {
        HeaderValue::Address(Address::List(list)) => list
            .iter()
            .find_map(|a| a.address.as_deref().map(str::to_string)),
        HeaderValue::Address(Address::Group(groups)) => groups
            .iter()
            .flat_map(|g| g.addresses.iter())
            .find_map(|a| a.address.as_deref().map(str::to_string)),
        _ => None,
    }
}

/// The headers `h=` selects, bottom-up (each repeated name takes the next instance upwards;
/// a name with no instance left is skipped), followed by the signature header itself.
///
/// The walk below (mail-auth's) searches the headers once per `h=` name: fine for a dozen
/// names and a hundred headers, quadratic for a hostile message (30,000 distinct names over
/// 30,000 headers fit in 200 KB and cost 10^9 comparisons; ten megabytes, hours). Past
/// [`INDEXED_SELECTION`] name-header pairs the same selection is made through an index of
/// the headers by lower-cased name, in time linear in both.
pub(crate) fn signed_headers<'x>(
    headers: &'x [RawHeader<'x>],
    h: &'x [impl AsRef<[u8]>],
    sig_name: &'x [u8],
    sig_value: &'x [u8],
) -> impl Iterator<Item = RawHeader<'x>> {
    let selection = if h.len().saturating_mul(headers.len()) > INDEXED_SELECTION {
        Selection::Indexed(select_indexed(headers, h).into_iter())
    } else {
        Selection::Walk(select_walk(headers, h))
    };
    selection.chain([(sig_name, sig_value)])
}

/// Name-header pairs above which [`signed_headers`] uses an index.
const INDEXED_SELECTION: usize = 1 << 16;

/// One of the two ways of making the same selection.
enum Selection<A, B> {
    Walk(A),
    Indexed(B),
}

impl<T, A: Iterator<Item = T>, B: Iterator<Item = T>> Iterator for Selection<A, B> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        match self {
            Selection::Walk(a) => a.next(),
            Selection::Indexed(b) => b.next(),
        }
    }
}

/// mail-auth's selection: for each name, the next matching header upwards from where the
/// previous instance of that name was found.
fn select_walk<'x>(
    headers: &'x [RawHeader<'x>],
    h: &'x [impl AsRef<[u8]>],
) -> impl Iterator<Item = RawHeader<'x>> {
    let mut last_header_pos: Vec<(&[u8], usize)> = Vec::with_capacity(h.len());
    h.iter().filter_map(move |name| {
        let name = name.as_ref();
        let slot = match last_header_pos
            .iter()
            .position(|(seen, _)| seen.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot,
            None => {
                last_header_pos.push((name, 0));
                last_header_pos.len() - 1
            }
        };
        let skip = last_header_pos[slot].1;
        let (next, found) = match headers
            .iter()
            .rev()
            .enumerate()
            .skip(skip)
            .find(|(_, (header, _))| name.eq_ignore_ascii_case(header))
        {
            Some((pos, found)) => (pos + 1, Some(*found)),
            None => (headers.len(), None),
        };
        last_header_pos[slot].1 = next;
        found
    })
}

/// The same selection through an index: each lower-cased name's headers bottom-up, and how
/// many of them earlier `h=` names have taken (the walk's "from where the previous instance
/// was found", since it only ever moves past headers of that name).
fn select_indexed<'x>(
    headers: &'x [RawHeader<'x>],
    h: &'x [impl AsRef<[u8]>],
) -> Vec<RawHeader<'x>> {
    let mut by_name: std::collections::HashMap<Vec<u8>, (Vec<RawHeader<'x>>, usize)> =
        std::collections::HashMap::new();
    for header in headers.iter().rev() {
        by_name
            .entry(header.0.to_ascii_lowercase())
            .or_default()
            .0
            .push(*header);
    }
    let mut picked = Vec::new();
    for name in h {
        if let Some((instances, taken)) = by_name.get_mut(&name.as_ref().to_ascii_lowercase()) {
            if let Some(header) = instances.get(*taken) {
                picked.push(*header);
                *taken += 1;
            }
        }
    }
    picked
}

/// Appends one header in relaxed canonical form (RFC 6376 §3.4.2) to `out`, byte for byte as
/// mail-auth 0.13.3's `write_relaxed_name` and `write_relaxed_value` write it: the name
/// without whitespace, lower-cased, then `:`; the value's whitespace runs (SP, HTAB, CR, LF,
/// FF) dropped at both ends and each one inside replaced by one SP (by nothing when the run
/// ends in CR, LF or FF); then CRLF when the value ended in LF.
///
/// mail-auth walks the value token by token (a word between spaces costs a call, a search
/// and a write). Here a single SP between two words is canonical already, so the value is
/// copied in pieces between the places where the output may differ, found
/// 64 bytes at a time ([`Lanes64::relaxed_header_stops`]): most values are copied in one or
/// two pieces per line.
/// `relaxed_header_matches_mail_auth` compares both on random and real headers.
pub(crate) fn relaxed_header(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    out.reserve(name.len() + value.len() + 3);
    if name.iter().any(u8::is_ascii_whitespace) {
        out.extend(
            name.iter()
                .filter(|b| !b.is_ascii_whitespace())
                .map(u8::to_ascii_lowercase),
        );
    } else {
        let start = out.len();
        out.extend_from_slice(name);
        out[start..].make_ascii_lowercase();
    }
    out.push(b':');
    let ws = |b: u8| b.is_ascii_whitespace();
    let Some(start) = value.iter().position(|&b| !ws(b)) else {
        if value.last() == Some(&b'\n') {
            out.extend_from_slice(b"\r\n");
        }
        return;
    };
    // `value[..copied]` has been written (or dropped); stops before `at` lie inside a run
    // already handled. The stops of each 64 bytes come as one mask (the last block padded
    // with NULs, whose lanes are masked off).
    let (mut copied, mut at) = (start, start);
    let (blocks, tail) = value.as_chunks::<64>();
    let mut last = [0u8; 64];
    last[..tail.len()].copy_from_slice(tail);
    let last_lanes = (1u64 << tail.len()) - 1; // a tail is shorter than 64 bytes
    'blocks: for (n, block) in blocks.iter().chain(std::iter::once(&last)).enumerate() {
        let mut stops = Lanes64::new(block).relaxed_header_stops();
        if n == blocks.len() {
            stops &= last_lanes;
        }
        while stops != 0 {
            let i = n * 64 + stops.trailing_zeros() as usize;
            stops &= stops - 1;
            if i < at || !ws(value[i]) {
                continue; // inside a handled run, or a control byte that is part of a word
            }
            let run_end = i + value[i..].iter().take_while(|&&b| ws(b)).count();
            at = run_end;
            if run_end == value.len() {
                // Trailing whitespace goes.
                out.extend_from_slice(&value[copied..i]);
                copied = run_end;
                break 'blocks;
            }
            if run_end - i == 1 && value[i] == b' ' {
                continue; // one SP between words: already canonical
            }
            out.extend_from_slice(&value[copied..i]);
            if matches!(value[run_end - 1], b' ' | b'\t') {
                out.push(b' ');
            }
            copied = run_end;
        }
    }
    out.extend_from_slice(&value[copied..]);
    if value.last() == Some(&b'\n') {
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// mail-auth's relaxed canonicalisation of one header.
    fn mail_auth_relaxed(name: &[u8], value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        mail_auth::dkim::Canonicalization::Relaxed
            .canonicalize_headers(std::iter::once((name, value)), &mut out);
        out
    }

    #[test]
    fn indexed_selection_is_the_walk() {
        // Random names from a small set (case varied, repeats, names absent from the
        // message) over random header lists: both ways pick the same headers in the same order.
        let names: [&[u8]; 7] = [b"From", b"from", b"TO", b"Subject", b"x-a", b"X-A ", b"cc"];
        let mut state = 0x0123_4567_89ab_cdefu64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for round in 0..500 {
            let values: Vec<Vec<u8>> = (0..round % 40)
                .map(|i| format!(" {i}\r\n").into_bytes())
                .collect();
            let headers: Vec<RawHeader<'_>> = values
                .iter()
                .map(|v| (names[next(names.len())], &v[..]))
                .collect();
            let h: Vec<&[u8]> = (0..next(30)).map(|_| names[next(names.len())]).collect();
            let walk: Vec<RawHeader<'_>> = select_walk(&headers, &h).collect();
            assert_eq!(walk, select_indexed(&headers, &h), "round {round}");
        }
        // A hostile size goes through the index and still picks right: 40,000 distinct names
        // over 40,000 headers, the last name present once, at the top.
        let header_names: Vec<Vec<u8>> =
            (0..40_000).map(|i| format!("h{i}").into_bytes()).collect();
        let headers: Vec<RawHeader<'_>> = header_names
            .iter()
            .map(|n| (&n[..], &b" v\r\n"[..]))
            .collect();
        let mut h: Vec<Vec<u8>> = (0..40_000).map(|i| format!("n{i}").into_bytes()).collect();
        h.push(b"H0".to_vec());
        let picked: Vec<RawHeader<'_>> =
            signed_headers(&headers, &h, b"DKIM-Signature", b" x").collect();
        assert_eq!(
            picked,
            vec![
                (&b"h0"[..], &b" v\r\n"[..]),
                (&b"DKIM-Signature"[..], &b" x"[..])
            ]
        );
    }

    #[test]
    fn relaxed_header_matches_mail_auth() {
        // Deterministic pseudo-random names and values over the bytes that matter (every
        // whitespace byte, VT and other controls, bytes around `!`, non-ASCII), across the
        // 64-byte block boundaries; every other one mostly letters, so that blocks without a
        // stop and names without whitespace occur often.
        let alphabets: [&[u8]; 2] = [
            b"aB  \t\t\r\n\n\x0c\x0b.x\x00\x1f\x20\x21\x80\xa0\xff:;=",
            b"abcdefghijklmnopqrstuvwxyzABCDEFGH-.,;: \t\r\n",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |alphabet: &[u8]| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            alphabet[(state % alphabet.len() as u64) as usize]
        };
        for len in 0..6000 {
            let alphabet = alphabets[len % 2];
            let name: Vec<u8> = (0..len % 7).map(|_| next(alphabet)).collect();
            let value: Vec<u8> = (0..len % 211).map(|_| next(alphabet)).collect();
            let mut ours = Vec::new();
            relaxed_header(&name, &value, &mut ours);
            assert_eq!(
                ours,
                mail_auth_relaxed(&name, &value),
                "{:?}: {:?}",
                String::from_utf8_lossy(&name),
                String::from_utf8_lossy(&value)
            );
        }
        // Real shapes: folded with CRLF and with LF, a long name, a value of spaces only.
        let long_name = vec![b'X'; 150];
        for (name, value) in [
            (
                &b"Subject"[..],
                &b" Re: [PATCH v2 1/3] io_uring: fix\r\n\tthe  thing \r\n"[..],
            ),
            (
                b"DKIM-Signature",
                b" v=1; a=rsa-sha256;\n d=x.example; b=AAA\n\t BBB=\n",
            ),
            (b"To ", b"   \r\n"),
            (&long_name, b"  a \t b  "),
            (b"X", b""),
        ] {
            let mut ours = Vec::new();
            relaxed_header(name, value, &mut ours);
            assert_eq!(ours, mail_auth_relaxed(name, value));
        }
    }

    #[test]
    fn splits_folded_and_unnamed_headers() {
        let head = b"From: a@b.example\r\nSubject: one\r\n two\r\nX: y\r\n\r\n";
        let headers = split_headers(head, false).0;
        assert_eq!(
            headers,
            vec![
                (&b"From"[..], &b" a@b.example\r\n"[..]),
                (&b"Subject"[..], &b" one\r\n two\r\n"[..]),
                (&b"X"[..], &b" y\r\n"[..]),
            ]
        );
        // A line without a colon: a nameless header when it ends in a bare LF, the end of the
        // section when it ends in CRLF (mail-auth's rule, kept).
        assert_eq!(
            split_headers(b"A: 1\nbroken\nB: 2\n\n", false).0,
            vec![
                (&b"A"[..], &b" 1\n"[..]),
                (&b"broken\n"[..], &b""[..]),
                (&b"B"[..], &b" 2\n"[..]),
            ]
        );
        assert_eq!(
            split_headers(b"A: 1\r\nbroken\r\nB: 2\r\n\r\n", false)
                .0
                .len(),
            1
        );
        // Reading bare LF as CRLF gives the split of the converted section.
        assert_eq!(split_headers(b"A: 1\nbroken\nB: 2\n\n", true).0.len(), 1);
        assert_eq!(
            split_headers(b"A: 1\n x\nB: 2\n\n", true).0,
            vec![(&b"A"[..], &b" 1\n x\n"[..]), (&b"B"[..], &b" 2\n"[..])]
        );
        // LF-only sections end at the empty line too; a header without a line end is dropped.
        assert_eq!(split_headers(b"A: 1\n\nB: 2\n", false).0.len(), 1);
        assert_eq!(split_headers(b"A: 1\r\nB: 2", false).0.len(), 1);
        assert!(split_headers(b"", false).0.is_empty());
        // Where the body starts, when the split ends at the empty line.
        assert_eq!(split_headers(b"A: 1\r\n\r\nbody", false).1, Some(8));
        assert_eq!(split_headers(b"A: 1\n\nbody\n\n", true).1, Some(6));
        assert_eq!(split_headers(b"\nbody", false).1, Some(1));
        assert_eq!(split_headers(b"A: 1\r\nbroken\r\n\r\nbody", false).1, None);
        assert_eq!(split_headers(b"A: 1\r\nB: 2", false).1, None);
    }

    #[test]
    fn from_domain_of_first_address() {
        let head = b"To: x@y.example\r\nFROM : \"Ann\" <Ann@Mail.Example.COM>, b@c.example\r\n\r\n";
        assert_eq!(
            from_domain(&split_headers(head, false).0).as_deref(),
            Some("mail.example.com")
        );
        assert_eq!(
            from_domain(&split_headers(b"From: nobody\r\n\r\n", false).0),
            None
        );
    }

    #[test]
    fn plain_from_shapes_agree_with_mail_parser() {
        for value in [
            &b" Ann Example <ann@Mail.Example.COM>\r\n"[..],
            b" ann@example.org\r\n",
            b" <ann@example.org> \r\n",
            b" Ann\r\n Example <ann@sub.example.org>\r\n",
            b" \"Example, Ann\" <ann@example.org>\r\n",
            b" ann@example.org (Ann)\r\n",
            b" =?utf-8?q?Ann?= <ann@example.org>\r\n",
            b" Group: ann@example.org;\r\n",
            b" <ann@example.org>, bob@example.net\r\n",
            b" Ann <ann@example.org> trailing\r\n",
            b" Ann <ann@exa mple.org>\r\n",
            b" Ann <ann>\r\n",
            b" @example.org\r\n",
            b" Ann <a@b@example.org>\r\n",
            b" Ann <ann@example.org\r\n",
        ] {
            let parsed = first_address(&MessageStream::new(value).parse_address()).and_then(|a| {
                let a = a.to_lowercase();
                a.rsplit_once('@')
                    .map(|(_, d)| d.trim_end_matches('>').to_ascii_lowercase())
            });
            let headers = [(&b"From"[..], value)];
            let shown = String::from_utf8_lossy(value);
            assert_eq!(from_domain(&headers), parsed, "{shown:?}");
            if let Some(plain) = plain_address_domain(value) {
                assert_eq!(Some(plain.to_ascii_lowercase()), parsed, "{shown:?}");
            }
        }
        // The two plain shapes do take the fast path.
        assert!(plain_address_domain(b" Ann <ann@example.org>\r\n").is_some());
        assert!(plain_address_domain(b" ann@example.org\r\n").is_some());
    }

    #[test]
    fn selection_is_bottom_up() {
        let head = b"A: 1\r\nB: 2\r\nA: 3\r\n\r\n";
        let headers = split_headers(head, false).0;
        let h: Vec<String> = ["a", "a", "a", "b"].iter().map(|s| s.to_string()).collect();
        let picked: Vec<&[u8]> = signed_headers(&headers, &h, b"DKIM-Signature", b" x")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(picked, vec![&b" 3\r\n"[..], b" 1\r\n", b" 2\r\n", b" x"]);
        assert!(has_arc_headers(
            &split_headers(b"ARC-Seal: i=1\r\n\r\n", false).0
        ));
        assert!(!has_arc_headers(&headers));
    }
}
