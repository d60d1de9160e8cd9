//! Attachment text extraction.
//!
//! [`extract_text`] picks an extractor from the file's first bytes (most
//! reliable: mail clients often say `application/octet-stream`), then the
//! content type, then the file name's extension:
//!
//! | format | how | exactness |
//! |---|---|---|
//! | PDF | `pdf-extract`, in a thread with a bigger stack, panics caught, time budget | good for text PDFs; scans have no text |
//! | DOCX, XLSX, PPTX, ODT/ODS/ODP | `zip` + `quick-xml`: only the XML parts that hold text, decompressed size capped | text runs; spreadsheet numbers are not taken |
//! | RTF | control-word stripper (`\'hh` and `\uN` decoded, code page from `\ansicpg`) | good |
//! | HTML | [`crate::html_to_text`] | good |
//! | text/* | charset from the content type or BOM, else UTF-8, else windows-1252 | exact |
//! | legacy Word `.doc` (OLE) | **heuristic**: runs of printable UTF-16LE and ASCII text found in the file; no OLE or piece-table parsing | finds the words, plus some noise (style and font names) |
//!
//! Failures are [`ExtractError`] values with the reason; nothing here panics
//! on hostile input, and every extractor's memory and output are bounded.

mod legacy_doc;
mod office;
mod pdf;
mod rtf;
mod text;

use crate::error::ExtractError;
use crate::html::html_to_text;

/// Default cap on extracted characters per attachment.
pub const DEFAULT_MAX_CHARS: usize = 1_000_000;
/// Larger inputs are refused.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pdf,
    Zip,
    Ole,
    Rtf,
    Html,
    Text,
}

fn sniff(bytes: &[u8]) -> Option<Kind> {
    let head = &bytes[..bytes.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        Some(Kind::Pdf)
    } else if bytes.starts_with(b"PK\x03\x04") {
        Some(Kind::Zip)
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Some(Kind::Ole)
    } else if bytes.starts_with(b"{\\rtf") {
        Some(Kind::Rtf)
    } else {
        None
    }
}

fn by_type(ct: &str) -> Option<Kind> {
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    Some(match mime.as_str() {
        "application/pdf" | "application/x-pdf" => Kind::Pdf,
        "application/msword" | "application/vnd.ms-word" => Kind::Ole,
        "application/rtf" | "text/rtf" | "text/richtext" => Kind::Rtf,
        "text/html" | "application/xhtml+xml" => Kind::Html,
        m if m.starts_with("application/vnd.openxmlformats-officedocument.")
            || m.starts_with("application/vnd.oasis.opendocument.") =>
        {
            Kind::Zip
        }
        m if m.starts_with("text/") => Kind::Text,
        _ => return None,
    })
}

fn by_name(name: &str) -> Option<Kind> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "pdf" => Kind::Pdf,
        "doc" | "dot" => Kind::Ole,
        "docx" | "xlsx" | "pptx" | "odt" | "ods" | "odp" | "docm" | "xlsm" => Kind::Zip,
        "rtf" => Kind::Rtf,
        "htm" | "html" => Kind::Html,
        "txt" | "csv" | "tsv" | "md" | "log" | "text" | "asc" | "eml" | "ics" | "vcf" => Kind::Text,
        _ => return None,
    })
}

/// Extracts readable text from an attachment's decoded bytes.
///
/// `content_type` is the MIME type as given (parameters such as `charset` are
/// used for text), `filename` the attachment's name; both may be absent or
/// wrong. At most `max_chars` characters are returned.
pub fn extract_text(
    bytes: &[u8],
    content_type: Option<&str>,
    filename: Option<&str>,
    max_chars: usize,
) -> Result<String, ExtractError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(ExtractError::TooLarge {
            size: bytes.len(),
            max: MAX_INPUT_BYTES,
        });
    }
    let kind = sniff(bytes)
        .or_else(|| content_type.and_then(by_type))
        .or_else(|| filename.and_then(by_name))
        .or_else(|| looks_like_text(bytes, content_type).then_some(Kind::Text))
        .ok_or_else(|| ExtractError::Unsupported {
            kind: content_type
                .filter(|c| !c.is_empty())
                .unwrap_or("unknown type")
                .to_string(),
        })?;
    let text = match kind {
        Kind::Pdf => pdf::extract(bytes)?,
        Kind::Zip => office::extract(bytes, max_chars)?,
        Kind::Ole => legacy_doc::extract(bytes)?,
        Kind::Rtf => rtf::extract(bytes),
        Kind::Html => html_to_text(&text::decode(bytes, content_type)),
        Kind::Text => text::decode(bytes, content_type),
    };
    Ok(cap_chars(text, max_chars))
}

/// Untyped or `application/octet-stream` files (`README`, `boot.ini`) that
/// are valid UTF-8 without control characters are treated as text.
fn looks_like_text(bytes: &[u8], content_type: Option<&str>) -> bool {
    let generic = content_type.is_none_or(|c| {
        let c = c.trim().to_ascii_lowercase();
        c.is_empty() || c.starts_with("application/octet-stream")
    });
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let text = match std::str::from_utf8(head) {
        Ok(s) => s,
        // A multi-byte character cut at the sample's end is fine.
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or("")
        }
        Err(_) => return false,
    };
    generic
        && !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x0c'))
}

/// Drops control characters (NUL padding from TNEF, form feeds) and caps the length.
fn cap_chars(s: String, max: usize) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_and_caps() {
        assert_eq!(
            extract_text(b"hello world", Some("text/plain"), None, 5).unwrap(),
            "hello"
        );
        assert_eq!(
            extract_text(b"<p>a &amp; b</p>", None, Some("x.HTML"), 100).unwrap(),
            "a & b"
        );
        assert!(matches!(
            extract_text(b"\x89PNG....", Some("image/png"), Some("a.png"), 100),
            Err(ExtractError::Unsupported { .. })
        ));
        assert!(matches!(
            extract_text(b"not a pdf", Some("application/pdf"), None, 100),
            Err(ExtractError::Malformed { format: "pdf", .. } | ExtractError::Panicked { .. })
        ));
        assert!(matches!(
            extract_text(b"PK\x03\x04garbage", None, Some("x.docx"), 100),
            Err(ExtractError::Malformed { format: "zip", .. })
        ));
    }
}
