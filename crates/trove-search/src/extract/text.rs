//! Plain text in a declared or guessed charset.

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// Decodes bytes using the BOM, else the content type's `charset`, else UTF-8
/// when valid, else windows-1252 (which maps every byte).
pub(crate) fn decode(bytes: &[u8], content_type: Option<&str>) -> String {
    if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        return enc
            .decode_without_bom_handling(&bytes[bom..])
            .0
            .into_owned();
    }
    let declared = content_type
        .and_then(charset)
        .and_then(|c| Encoding::for_label(c.as_bytes()));
    let enc = match declared {
        Some(e) => e,
        None if std::str::from_utf8(bytes).is_ok() => UTF_8,
        None => WINDOWS_1252,
    };
    enc.decode_without_bom_handling(bytes).0.into_owned()
}

fn charset(ct: &str) -> Option<String> {
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("charset")).then(|| v.trim().trim_matches('"').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn charsets() {
        assert_eq!(
            decode(b"caf\xe9", Some("text/plain; charset=\"ISO-8859-1\"")),
            "café"
        );
        assert_eq!(
            decode(b"\xcf\xf0\xe8", Some("text/plain; charset=windows-1251")),
            "При"
        );
        assert_eq!(decode("café".as_bytes(), Some("text/plain")), "café");
        assert_eq!(decode(b"caf\xe9", None), "café");
        assert_eq!(decode(b"\xff\xfeh\x00i\x00", None), "hi");
    }
}
