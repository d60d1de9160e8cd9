//! Shared helpers for the integration tests: finding ../shared/data, reading
//! mboxrd files, turning parsed messages into SearchDocs, and an independent
//! tokenizer for computing expected results without the index.
#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;

use mail_parser::{MessageParser, MimeHeaders};
use trove_search::{extract_text, Address, AttachmentDoc, SearchDoc, DEFAULT_MAX_CHARS};

/// `../shared/data`, or `None` (after printing the skip message).
pub fn data_dir() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if p.is_dir() {
        Some(p)
    } else {
        println!("skipped: ../shared/data not found");
        None
    }
}

/// Splits an mboxrd file (optionally zstd-compressed) into raw messages:
/// a line starting with `From ` starts a message (it is dropped), and one `>`
/// is removed from lines matching `^>+From `.
pub fn read_mbox(path: &std::path::Path) -> Vec<Vec<u8>> {
    let raw = std::fs::read(path).expect("read mbox");
    let data = if path.extension().is_some_and(|e| e == "zst") {
        let mut out = Vec::new();
        zstd::stream::read::Decoder::new(&raw[..])
            .expect("zstd")
            .read_to_end(&mut out)
            .expect("decompress");
        out
    } else {
        raw
    };
    let mut msgs = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    for line in data.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") {
            if let Some(m) = cur.take() {
                msgs.push(m);
            }
            cur = Some(Vec::new());
            continue;
        }
        let Some(m) = cur.as_mut() else { continue };
        let gt = line.iter().take_while(|&&b| b == b'>').count();
        if gt > 0 && line[gt..].starts_with(b"From ") {
            m.extend_from_slice(&line[1..]);
        } else {
            m.extend_from_slice(line);
        }
    }
    if let Some(m) = cur {
        msgs.push(m);
    }
    msgs
}

fn addrs(a: Option<&mail_parser::Address>) -> Vec<Address> {
    a.map(|a| {
        a.iter()
            .filter_map(|x| {
                Some(Address {
                    name: x.name().map(str::to_string),
                    addr: x.address()?.to_string(),
                })
            })
            .collect()
    })
    .unwrap_or_default()
}

/// Parses one raw message into a SearchDoc (attachments extracted).
pub fn to_doc(id: u64, raw: &[u8]) -> SearchDoc {
    let Some(m) = MessageParser::default().parse(raw) else {
        return SearchDoc {
            id,
            ..SearchDoc::default()
        };
    };
    let body_text: Vec<String> = (0..m.text_body_count())
        .filter_map(|i| m.body_text(i).map(|t| t.into_owned()))
        .collect();
    let attachments: Vec<AttachmentDoc> = m
        .attachments()
        .map(|p| {
            let ct = p
                .content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
                .unwrap_or_default();
            let filename = p.attachment_name().unwrap_or("").to_string();
            AttachmentDoc {
                text: extract_text(p.contents(), Some(&ct), Some(&filename), DEFAULT_MAX_CHARS)
                    .ok(),
                filename,
                content_type: ct,
            }
        })
        .collect();
    SearchDoc {
        id,
        message_id: m.message_id().unwrap_or("").to_string(),
        from: addrs(m.from()),
        to: addrs(m.to()),
        cc: addrs(m.cc()),
        subject: m.subject().unwrap_or("").to_string(),
        body_text: body_text.join("\n"),
        body_html: m.body_html(0).map(|h| h.into_owned()),
        has_attachment: !attachments.is_empty(),
        attachments,
        date: m.date().map(|d| d.to_timestamp()),
        thread: 0,
        list: m.header_raw("List-Id").map(|s| s.trim().to_string()),
        ..SearchDoc::default()
    }
}

/// Independent re-implementation of the index's tokenizer rule: split on any
/// char that is not alphanumeric, lower-case, drop tokens over 40 bytes.
pub fn tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty() && t.len() <= 40)
        .map(|t| t.to_lowercase())
        .collect()
}

/// True when `needle` occurs as consecutive tokens in `hay`.
pub fn contains_seq(hay: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}
