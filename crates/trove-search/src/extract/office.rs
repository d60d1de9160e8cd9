//! OOXML (DOCX, XLSX, PPTX) and OpenDocument (ODT, ODS, ODP) text: these are
//! zip files; only the XML parts that hold text are read, each with a cap on
//! its decompressed size, so a zip bomb costs at most [`MAX_PART_BYTES`] per
//! part and [`MAX_TOTAL_BYTES`] in all.

use std::io::{Cursor, Read};

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::error::ExtractError;

/// Most decompressed bytes read from one XML part.
pub const MAX_PART_BYTES: u64 = 32 * 1024 * 1024;
/// Most decompressed bytes read from one file.
pub const MAX_TOTAL_BYTES: u64 = 64 * 1024 * 1024;
/// Most parts read (sheets, slides).
const MAX_PARTS: usize = 500;

#[derive(Clone, Copy)]
enum Flavour {
    /// Text only inside elements with this local name (`t` for w:t, a:t, t).
    In(&'static str),
    /// All character data (OpenDocument content.xml).
    All,
}

fn malformed(reason: impl ToString) -> ExtractError {
    ExtractError::Malformed {
        format: "zip",
        reason: reason.to_string(),
    }
}

/// Number inside a part name such as `xl/worksheets/sheet12.xml`, for ordering.
fn part_no(name: &str) -> u64 {
    let digits: String = name.chars().filter(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(u64::MAX)
}

pub(crate) fn extract(bytes: &[u8], max_chars: usize) -> Result<String, ExtractError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(malformed)?;
    let names: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    let has = |n: &str| names.iter().any(|x| x == n);
    let numbered = |dir: &str| {
        let mut v: Vec<String> = names
            .iter()
            .filter(|n| n.starts_with(dir) && n.ends_with(".xml") && !n[dir.len()..].contains('/'))
            .cloned()
            .collect();
        v.sort_by_key(|n| part_no(n));
        v
    };
    let (parts, flavour, what): (Vec<String>, Flavour, &str) = if has("word/document.xml") {
        let mut p = vec!["word/document.xml".to_string()];
        for extra in [
            "word/footnotes.xml",
            "word/endnotes.xml",
            "word/comments.xml",
        ] {
            if has(extra) {
                p.push(extra.to_string());
            }
        }
        (p, Flavour::In("t"), "docx")
    } else if names.iter().any(|n| n.starts_with("xl/")) {
        let mut p = Vec::new();
        if has("xl/sharedStrings.xml") {
            p.push("xl/sharedStrings.xml".to_string());
        }
        p.extend(numbered("xl/worksheets/"));
        (p, Flavour::In("t"), "xlsx")
    } else if names.iter().any(|n| n.starts_with("ppt/slides/")) {
        (numbered("ppt/slides/"), Flavour::In("t"), "pptx")
    } else if has("content.xml") {
        (
            vec!["content.xml".to_string()],
            Flavour::All,
            "opendocument",
        )
    } else {
        return Err(ExtractError::Unsupported {
            kind: "zip archive (not an office document)".into(),
        });
    };
    let mut out = String::new();
    let mut budget = MAX_TOTAL_BYTES;
    for name in parts.iter().take(MAX_PARTS) {
        if budget == 0 || out.len() / 4 > max_chars {
            break;
        }
        let entry = zip.by_name(name).map_err(malformed)?;
        let mut xml = Vec::new();
        entry
            .take(MAX_PART_BYTES.min(budget))
            .read_to_end(&mut xml)
            .map_err(|e| ExtractError::Malformed {
                format: if what == "opendocument" {
                    "opendocument"
                } else {
                    "ooxml"
                },
                reason: format!("{name}: {e}"),
            })?;
        budget = budget.saturating_sub(xml.len() as u64);
        xml_text(&xml, flavour, &mut out);
        if !out.ends_with('\n') && !out.is_empty() {
            out.push('\n');
        }
    }
    Ok(out.trim().to_string())
}

/// Appends the text of one XML part; stops quietly at the first XML error
/// (a truncated part still yields its beginning).
fn xml_text(xml: &[u8], flavour: Flavour, out: &mut String) {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut inside = 0usize;
    while let Ok(ev) = reader.read_event_into(&mut buf) {
        match ev {
            Event::Eof => break,
            Event::Start(e) => {
                if let Flavour::In(name) = flavour {
                    if e.local_name().as_ref() == name {
                        inside += 1;
                    }
                }
                if e.local_name().as_ref() == "tab" {
                    out.push('\t');
                }
            }
            Event::Empty(e) => match e.local_name().as_ref() {
                "tab" => out.push('\t'),
                "br" | "cr" | "line-break" => out.push('\n'),
                "s" => out.push(' '),
                _ => {}
            },
            Event::End(e) => {
                let local = e.local_name();
                let local = local.as_ref();
                if let Flavour::In(name) = flavour {
                    if local == name {
                        inside = inside.saturating_sub(1);
                    }
                }
                match local {
                    "p" | "h" | "si" | "row" | "table-row" => out.push('\n'),
                    "c" | "table-cell" => out.push('\t'),
                    _ => {}
                }
            }
            Event::Text(t) if inside > 0 || matches!(flavour, Flavour::All) => {
                out.push_str(&t.xml10_content());
            }
            Event::GeneralRef(r) if inside > 0 || matches!(flavour, Flavour::All) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    out.push(c);
                } else {
                    match r.as_ref() {
                        "amp" => out.push('&'),
                        "lt" => out.push('<'),
                        "gt" => out.push('>'),
                        "quot" => out.push('"'),
                        "apos" => out.push('\''),
                        _ => {}
                    }
                }
            }
            Event::CData(t) if inside > 0 || matches!(flavour, Flavour::All) => {
                out.push_str(&t.xml10_content());
            }
            _ => {}
        }
        buf.clear();
    }
}
