//! Removal of the `b=` value from a signature header before it is hashed (RFC 6376 §3.7).
//!
//! Ported from mail-auth 0.13.3 `src/dkim/verify.rs` (`Verifier::strip_signature`,
//! Apache-2.0 OR MIT, © Stalwart Labs), which is `pub(crate)` there. Kept byte-identical in
//! behaviour so trove hashes exactly what mail-auth (and dkimpy) hash: everything but the `b=`
//! value, without the header's trailing CRLF.

#[derive(Clone, Copy, PartialEq, Eq)]
enum TagState {
    Semicolon,
    Tag,
    Value,
    Signature,
}

/// The header value with the `b=` tag's value removed.
pub(crate) fn strip_signature(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let (head, tail) = match value.len() {
        0 => return out,
        1 => value.split_at(0),
        len => value.split_at(len - 2),
    };
    let mut state = strip_tag_list(head, &mut out);
    match tail {
        [cr, lf] => {
            strip_trailing_byte(*cr, *cr == b'\r', &mut state, &mut out);
            strip_trailing_byte(*lf, *lf == b'\n', &mut state, &mut out);
        }
        [lf] => strip_trailing_byte(*lf, *lf == b'\n', &mut state, &mut out),
        _ => (),
    }
    out
}

fn strip_tag_segment(
    segment: &[u8],
    terminated: bool,
    state: TagState,
    out: &mut Vec<u8>,
) -> TagState {
    if state != TagState::Semicolon {
        out.extend_from_slice(segment);
        return if terminated {
            TagState::Semicolon
        } else {
            state
        };
    }
    let tag = segment
        .iter()
        .position(|ch| !ch.is_ascii_whitespace())
        .unwrap_or(segment.len());
    if !matches!(segment.get(tag), Some(b'b' | b'B')) {
        out.extend_from_slice(segment);
        return if terminated || tag == segment.len() {
            TagState::Semicolon
        } else {
            TagState::Value
        };
    }
    let after_tag = &segment[tag + 1..];
    let equals = after_tag
        .iter()
        .position(|ch| !ch.is_ascii_whitespace())
        .unwrap_or(after_tag.len());
    if after_tag.get(equals) != Some(&b'=') {
        out.extend_from_slice(segment);
        return if terminated {
            TagState::Semicolon
        } else if equals == after_tag.len() {
            TagState::Tag
        } else {
            TagState::Value
        };
    }
    out.extend_from_slice(&segment[..tag + equals + 2]);
    if terminated {
        out.push(b';');
        TagState::Value
    } else {
        TagState::Signature
    }
}

fn strip_tag_list(mut rest: &[u8], out: &mut Vec<u8>) -> TagState {
    let mut state = TagState::Semicolon;
    loop {
        match memchr::memchr(b';', rest) {
            Some(position) => {
                let (segment, tail) = rest.split_at(position + 1);
                state = strip_tag_segment(segment, true, state, out);
                rest = tail;
            }
            None => return strip_tag_segment(rest, false, state, out),
        }
    }
}

fn strip_trailing_byte(ch: u8, discard: bool, state: &mut TagState, out: &mut Vec<u8>) {
    if *state == TagState::Signature {
        if ch == b';' {
            out.push(b';');
            *state = TagState::Semicolon;
        }
        return;
    }
    match ch {
        b'=' if *state == TagState::Tag => {
            out.push(ch);
            *state = TagState::Signature;
        }
        b'b' | b'B' if *state == TagState::Semicolon => {
            out.push(ch);
            *state = TagState::Tag;
        }
        b';' => {
            out.push(ch);
            *state = TagState::Semicolon;
        }
        _ if discard => (),
        _ => {
            out.push(ch);
            if !ch.is_ascii_whitespace() {
                *state = TagState::Value;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::strip_signature;
    use crate::headers::relaxed_header;

    /// verify.rs strips the LF form of a signature under relaxed canonicalisation without
    /// converting it: the canonical bytes must be those of the CRLF form.
    #[test]
    fn lf_form_strips_to_the_same_relaxed_bytes() {
        let assert_same = |lf: &[u8]| {
            let crlf = crate::verify::to_crlf(lf);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            relaxed_header(b"DKIM-Signature", &strip_signature(lf), &mut a);
            relaxed_header(b"DKIM-Signature", &strip_signature(&crlf), &mut b);
            assert_eq!(a, b, "{:?}", String::from_utf8_lossy(lf));
        };
        let shapes: [&[u8]; 5] = [
            b" v=1; a=rsa-sha256; d=x.example;\n\th=from:to; bh=AAAA;\n\tb=Zm9v\n\t YmFy\n",
            b" v=1; b=Zm9v YmFy; d=x.example; h=from\n",
            b" b =Zm9v;d=x\n",
            b" v=1; bh=AAAA; b=\n",
            b"v=1;a=rsa-sha256;b=Zm9v;bh=AAAA;d=x\n \n",
        ];
        for shape in shapes {
            assert_same(shape);
            // Every prefix too (ending in LF), so b= is cut at every place.
            for cut in 0..shape.len() {
                let mut lf = shape[..cut].to_vec();
                lf.push(b'\n');
                assert_same(&lf);
            }
        }
    }

    #[test]
    fn strips_only_b_value() {
        assert_eq!(
            strip_signature(b" v=1; bh=abc; b=Zm9v\r\n YmFy; d=x\r\n"),
            b" v=1; bh=abc; b=; d=x".to_vec()
        );
        assert_eq!(strip_signature(b" a=1; b=Zm9v\r\n"), b" a=1; b=".to_vec());
    }
}
