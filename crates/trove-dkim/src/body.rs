//! Body canonicalisation and hashing (RFC 6376 §3.4.3, §3.4.4, §3.7).
//!
//! trove does this itself rather than through mail-auth 0.13.3's `canonical_body`, for two
//! measured reasons: (1) its relaxed canonicaliser keeps a whitespace-only line at the end of
//! the body, so five io-uring messages that dkimpy verifies (bodies ending `"\n \n\n"`) got a
//! body hash mismatch; (2) it applies `l=` to the raw body, while RFC 6376 §3.5 counts the
//! *canonicalised* body. The implementation is a straight reading of the RFC: split into lines
//! (CRLF, or a bare LF as dkimpy also accepts), canonicalise each line, drop trailing empty
//! lines, then hash the first `l=` octets.

use mail_auth::common::crypto::HashAlgorithm;
use mail_auth::dkim::Canonicalization;
use ring::digest;

use crate::swar::Lanes64;

/// The canonicalised body.
pub(crate) fn canonical_body(c: Canonicalization, body: &[u8]) -> Vec<u8> {
    // Room for a CR per LF-only line of ~16 bytes or more without growing (mbox bodies are
    // LF-only, and a grow copies the whole buffer).
    let mut out = Vec::with_capacity(body.len() + body.len() / 16 + 64);
    match c {
        Canonicalization::Simple => simple_body(body, &mut out),
        Canonicalization::Relaxed => relaxed_body(body, &mut out),
    }
    out
}

/// Simple (§3.4.3): every line ends in CRLF, trailing empty lines go, an empty body is CRLF.
fn simple_body(body: &[u8], out: &mut Vec<u8>) {
    // Length of `out` up to the end of the last non-empty line: trailing empty lines written
    // after it are cut off at the end.
    let mut committed = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let (line, has_eol, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => {
                let line = &rest[..i];
                (
                    line.strip_suffix(b"\r").unwrap_or(line),
                    true,
                    &rest[i + 1..],
                )
            }
            None => (rest, false, &rest[rest.len()..]),
        };
        rest = next;
        out.extend_from_slice(line);
        if !line.is_empty() {
            out.extend_from_slice(b"\r\n");
            committed = out.len();
        } else if has_eol {
            out.extend_from_slice(b"\r\n");
        }
    }
    out.truncate(committed);
    if out.is_empty() {
        out.extend_from_slice(b"\r\n");
    }
}

/// Relaxed (§3.4.4): trailing SP/HTAB of each line goes, every other run of them becomes one
/// SP, lines end in CRLF (a CR counts as part of the line ending only before an LF), trailing
/// empty lines go.
///
/// One pass that stops only where the output may differ from the input (LF, HTAB, and an SP
/// followed by a byte below `!`: a run or trailing whitespace), and copies the input in
/// pieces between those places. The places come from a mask per 64 bytes ([`Lanes64`]: SSE2
/// compares on x86_64), walked bit by bit: searching for the next one from each stop, eight
/// bytes at a time, had been half of this function's instructions (io-uring bodies are
/// patches, with a stop every ~19 bytes). A lone SP between words is already canonical and
/// not a stop. `relaxed_matches_the_literal_reading` checks this against the RFC read byte
/// by byte.
fn relaxed_body(body: &[u8], out: &mut Vec<u8>) {
    let ws = |b: u8| b == b' ' || b == b'\t';
    // `body[..copied]` has been written (or dropped); `committed` as in `simple_body`;
    // `line_out` is where the current line starts in `out`; stops before `at` lie inside a
    // run already handled.
    let (mut copied, mut committed, mut line_out) = (0, 0, 0);
    let mut at = 0;
    // The last block is padded with NULs: never a stop, and an SP before the padding (at
    // the end of the body) is one, as it must be.
    let (blocks, tail) = body.as_chunks::<64>();
    let mut last = [0u8; 64];
    last[..tail.len()].copy_from_slice(tail);
    for (n, block) in blocks.iter().chain(std::iter::once(&last)).enumerate() {
        let mut stops = Lanes64::new(block).relaxed_body_stops();
        while stops != 0 {
            let i = n * 64 + stops.trailing_zeros() as usize;
            stops &= stops - 1;
            if i < at {
                continue;
            }
            match body[i] {
                b'\n' => {
                    let end = if i > copied && body[i - 1] == b'\r' {
                        i - 1
                    } else {
                        i
                    };
                    out.extend_from_slice(&body[copied..end]);
                    let non_empty = out.len() > line_out;
                    out.extend_from_slice(b"\r\n");
                    if non_empty {
                        committed = out.len();
                    }
                    line_out = out.len();
                    copied = i + 1;
                    at = i + 1;
                }
                b' ' | b'\t' => {
                    // The run it starts.
                    let run_end = i + body[i..].iter().take_while(|&&b| ws(b)).count();
                    at = run_end;
                    let line_ends = match body.get(run_end) {
                        None | Some(b'\n') => true,
                        Some(b'\r') => body.get(run_end + 1) == Some(&b'\n'),
                        Some(_) => false,
                    };
                    if line_ends {
                        out.extend_from_slice(&body[copied..i]);
                        copied = run_end;
                    } else if run_end - i > 1 || body[i] == b'\t' {
                        out.extend_from_slice(&body[copied..i]);
                        out.push(b' ');
                        copied = run_end;
                    }
                }
                _ => {}
            }
        }
    }
    // A last line without a line ending.
    out.extend_from_slice(&body[copied..]);
    if out.len() > line_out {
        out.extend_from_slice(b"\r\n");
        committed = out.len();
    }
    out.truncate(committed);
}

/// Hash of the canonicalised body, limited to `l` octets when `l` is given.
pub(crate) fn body_hash(canonical: &[u8], algorithm: HashAlgorithm, l: Option<u64>) -> Vec<u8> {
    let end = l.map_or(canonical.len(), |l| {
        usize::try_from(l)
            .unwrap_or(usize::MAX)
            .min(canonical.len())
    });
    let data = &canonical[..end];
    // ring's assembly SHA (the floor in bench/dkim uses the same).
    let algorithm = match algorithm {
        HashAlgorithm::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        HashAlgorithm::Sha256 => &digest::SHA256,
    };
    digest::digest(algorithm, data).as_ref().to_vec()
}

/// Per-message cache: each canonical form is built once however many signatures use it.
#[derive(Default)]
pub(crate) struct BodyCache {
    simple: Option<Vec<u8>>,
    relaxed: Option<Vec<u8>>,
}

impl BodyCache {
    /// The canonical body for `c`, computed on first use.
    pub(crate) fn get(&mut self, c: Canonicalization, body: &[u8]) -> &[u8] {
        let slot = match c {
            Canonicalization::Simple => &mut self.simple,
            Canonicalization::Relaxed => &mut self.relaxed,
        };
        slot.get_or_insert_with(|| canonical_body(c, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha1::Sha1;
    use sha2::{Digest, Sha256};
    use Canonicalization::{Relaxed, Simple};

    #[test]
    fn rfc6376_section_3_4_5_example() {
        let body = b" C \r\nD \t E\r\n\r\n\r\n";
        assert_eq!(canonical_body(Relaxed, body), b" C\r\nD E\r\n".to_vec());
        assert_eq!(canonical_body(Simple, body), b" C \r\nD \t E\r\n".to_vec());
    }

    #[test]
    fn whitespace_only_trailing_lines_vanish_in_relaxed() {
        // The io-uring case: a body ending in a line holding one space, then empty lines.
        assert_eq!(
            canonical_body(Relaxed, b"x;\n }\n \n\n\n"),
            b"x;\r\n }\r\n".to_vec()
        );
        assert_eq!(canonical_body(Simple, b"x\n \n\n"), b"x\r\n \r\n".to_vec());
    }

    #[test]
    fn empty_bodies_and_missing_final_crlf() {
        assert_eq!(canonical_body(Simple, b""), b"\r\n".to_vec());
        assert_eq!(canonical_body(Relaxed, b""), b"".to_vec());
        assert_eq!(canonical_body(Relaxed, b"\r\n\r\n"), b"".to_vec());
        assert_eq!(canonical_body(Simple, b"abc"), b"abc\r\n".to_vec());
        assert_eq!(canonical_body(Relaxed, b"a  b "), b"a b\r\n".to_vec());
        assert_eq!(
            canonical_body(Relaxed, b"\t\tx\t= y;\t \r\n \t\r\nz\n"),
            b" x = y;\r\n\r\nz\r\n".to_vec()
        );
    }

    /// RFC 6376 §3.4.4 read literally, byte by byte: the reference the fast path must match.
    fn relaxed_reference(body: &[u8]) -> Vec<u8> {
        let mut lines: Vec<Vec<u8>> = Vec::new();
        for raw in body.split_inclusive(|&b| b == b'\n') {
            // A CR is part of the line ending only before an LF.
            let line = match raw.strip_suffix(b"\n") {
                Some(line) => line.strip_suffix(b"\r").unwrap_or(line),
                None => raw,
            };
            let mut out = Vec::new();
            let mut in_ws = false;
            for &b in line {
                if b == b' ' || b == b'\t' {
                    in_ws = true;
                } else {
                    if in_ws {
                        out.push(b' ');
                    }
                    in_ws = false;
                    out.push(b);
                }
            }
            lines.push(out);
        }
        while lines.last().is_some_and(Vec::is_empty) {
            lines.pop();
        }
        lines
            .into_iter()
            .flat_map(|l| [l, b"\r\n".to_vec()])
            .flatten()
            .collect()
    }

    #[test]
    fn relaxed_matches_the_literal_reading() {
        // Deterministic pseudo-random bodies over the bytes that matter; the second alphabet
        // is mostly text, so that long stretches without a stop occur often.
        let alphabets: [&[u8]; 2] = [
            b"ab  \t\t\r\n\n.x\x00\x1f\x20\x21\x80\xa0\xff",
            b"abcdefghijklmnopqrstuvwxyz.,ABCDEFGHIJ \t\r\n\n",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..8000 {
            let alphabet = alphabets[len % 2];
            let body: Vec<u8> = (0..len % 197)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[(state % alphabet.len() as u64) as usize]
                })
                .collect();
            assert_eq!(
                canonical_body(Relaxed, &body),
                relaxed_reference(&body),
                "{:?}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    #[test]
    fn length_limit_counts_canonical_octets() {
        let canonical = canonical_body(Relaxed, b"a    b\r\n");
        assert_eq!(
            body_hash(&canonical, HashAlgorithm::Sha256, Some(3)),
            Sha256::digest(b"a b").to_vec()
        );
        assert_eq!(
            body_hash(&canonical, HashAlgorithm::Sha256, Some(999)),
            Sha256::digest(b"a b\r\n").to_vec()
        );
        assert_eq!(
            body_hash(&canonical, HashAlgorithm::Sha1, None),
            Sha1::digest(b"a b\r\n").to_vec()
        );
    }
}
