//! Turning raw message bytes into the fields the vault stores, with mail-parser.
//!
//! Parsing never fails: a message mail-parser cannot read, or reads with defects, comes back
//! with `parsed = false` or a list of [`Problem`]s, and is stored all the same.

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};
use serde::{Deserialize, Serialize};

use crate::tnef;

/// One mailbox from an address header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    /// Display name, if any.
    pub name: Option<String>,
    /// The address as written (may be absent in odd headers).
    pub addr: Option<String>,
}

/// Address and reference headers kept as JSON in the `messages.header_json` column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderSet {
    /// `From:` (all mailboxes; the first is also in the `from_*` columns).
    pub from: Vec<Mailbox>,
    /// `To:`.
    pub to: Vec<Mailbox>,
    /// `Cc:`.
    pub cc: Vec<Mailbox>,
    /// `Bcc:`.
    pub bcc: Vec<Mailbox>,
    /// `Reply-To:`.
    pub reply_to: Vec<Mailbox>,
    /// `Sender:`.
    pub sender: Vec<Mailbox>,
    /// `References:` ids in order, without angle brackets.
    pub references: Vec<String>,
    /// The `Date:` header as written, for display with the sender's own zone.
    pub date_raw: Option<String>,
}

/// A decoded attachment (or a nested message, or a file unpacked from TNEF).
#[derive(Debug, Clone)]
pub struct Attachment {
    /// Part path: "1", "2.1" (inside a nested message), "3/tnef:1".
    pub part: String,
    /// Where it came from: `mime`, `rfc822` (a nested message) or `tnef`.
    pub origin: &'static str,
    /// File name (from Content-Disposition / Content-Type name, or TNEF).
    pub filename: Option<String>,
    /// `type/subtype`, lower case.
    pub content_type: Option<String>,
    /// The decoded bytes.
    pub data: Vec<u8>,
}

/// Something odd about a message; the message is stored anyway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Short machine-readable code (`unparseable`, `missing_from`, `bad_date`, …).
    pub code: String,
    /// Human-readable detail.
    pub detail: String,
}

/// Everything the vault keeps from parsing one message.
#[derive(Debug, Clone, Default)]
pub struct ParsedMessage {
    /// False when mail-parser could not read the message at all.
    pub parsed: bool,
    /// `Message-ID` without angle brackets.
    pub message_id: Option<String>,
    /// `Date:` as unix seconds (UTC).
    pub date: Option<i64>,
    /// The sender's zone in minutes east of UTC.
    pub date_offset: Option<i32>,
    /// `Subject:` decoded.
    pub subject: Option<String>,
    /// First `In-Reply-To:` id.
    pub in_reply_to: Option<String>,
    /// `List-Id:` (the part in angle brackets when present).
    pub list_id: Option<String>,
    /// Address and reference headers.
    pub headers: HeaderSet,
    /// Attachments in order, nested ones after their container.
    pub attachments: Vec<Attachment>,
    /// Problems found.
    pub problems: Vec<Problem>,
}

impl ParsedMessage {
    /// The first From mailbox, if any.
    pub fn from(&self) -> Option<&Mailbox> {
        self.headers.from.first()
    }
}

fn problem(code: &str, detail: impl Into<String>) -> Problem {
    Problem {
        code: code.into(),
        detail: detail.into(),
    }
}

fn mailboxes(a: Option<&Address>) -> Vec<Mailbox> {
    a.map(|a| {
        a.iter()
            .map(|m| Mailbox {
                name: m
                    .name()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
                addr: m
                    .address()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty()),
            })
            .collect()
    })
    .unwrap_or_default()
}

fn id_list(v: &HeaderValue) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// The identifying part of a List-Id (`Talk <talk.example.org>` → `talk.example.org`).
fn list_id_key(l: &str) -> String {
    match (l.rfind('<'), l.rfind('>')) {
        (Some(a), Some(b)) if a < b => l[a + 1..b].trim().to_string(),
        _ => l.trim().to_string(),
    }
}

/// True when `bytes` look like the start of an RFC 5322 message (a header field first).
pub fn looks_like_mail(bytes: &[u8]) -> bool {
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let line_end = memchr::memchr(b'\n', b).unwrap_or(b.len());
    let line = &b[..line_end];
    let Some(colon) = memchr::memchr(b':', line) else {
        return false;
    };
    colon > 0
        && line[..colon]
            .iter()
            .all(|&c| (33..=126).contains(&c) && c != b':')
}

/// Parses `raw` into the fields the vault stores. Never panics, never fails.
///
/// mail-parser 0.11 can panic on some malformed multiparts ("Invalid part ID, could not find
/// multipart", seen in the io-uring corpus). Such a panic is caught: the headers are parsed on
/// their own, the MIME structure is recorded as a `mime_structure` problem, and the raw bytes
/// are stored as always.
pub fn parse(raw: &[u8]) -> ParsedMessage {
    let panic_text = |panic: Box<dyn std::any::Any + Send>| {
        panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into())
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse_inner(raw, true))) {
        Ok(p) => p,
        Err(panic) => {
            let what = panic_text(panic);
            let mut p =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse_inner(raw, false)))
                    .unwrap_or_else(|_| ParsedMessage {
                        problems: vec![problem(
                            "unparseable",
                            "the MIME parser failed on the headers",
                        )],
                        ..Default::default()
                    });
            p.problems.push(problem(
                "mime_structure",
                format!("the MIME parser failed on the body ({what}); headers only, attachments not unpacked"),
            ));
            p
        }
    }
}

fn parse_inner(raw: &[u8], full: bool) -> ParsedMessage {
    let mut out = ParsedMessage::default();
    if !looks_like_mail(raw) {
        out.problems.push(problem(
            "no_headers",
            "the message does not start with a header field",
        ));
    }
    let parser = MessageParser::default();
    let parsed = if full {
        parser.parse(raw)
    } else {
        parser.parse_headers(raw)
    };
    let Some(msg) = parsed else {
        out.problems.push(problem(
            "unparseable",
            "mail-parser could not read any message structure",
        ));
        return out;
    };
    if msg.headers().is_empty() {
        out.problems
            .push(problem("unparseable", "no header fields found"));
        return out;
    }
    out.parsed = true;
    out.message_id = msg.message_id().map(str::to_string);
    if out.message_id.is_none() {
        out.problems
            .push(problem("missing_message_id", "no Message-ID header"));
    }
    let date_raw = msg.header_raw("Date").map(|s| s.trim().to_string());
    match (msg.date(), &date_raw) {
        (Some(d), _) if d.is_valid() => {
            out.date = Some(d.to_timestamp());
            let off = i32::from(d.tz_hour) * 60 + i32::from(d.tz_minute);
            out.date_offset = Some(if d.tz_before_gmt { -off } else { off });
        }
        (_, Some(r)) => out.problems.push(problem(
            "bad_date",
            format!("unreadable Date header: {r:?}"),
        )),
        (_, None) => out.problems.push(problem("missing_date", "no Date header")),
    }
    out.headers = HeaderSet {
        from: mailboxes(msg.from()),
        to: mailboxes(msg.to()),
        cc: mailboxes(msg.cc()),
        bcc: mailboxes(msg.bcc()),
        reply_to: mailboxes(msg.reply_to()),
        sender: mailboxes(msg.sender()),
        references: id_list(msg.references()),
        date_raw,
    };
    if msg.header_raw("From").is_none() {
        out.problems.push(problem("missing_from", "no From header"));
    } else if out.headers.from.iter().all(|m| m.addr.is_none()) {
        out.problems.push(problem(
            "bad_from",
            format!(
                "From header has no address: {:?}",
                msg.header_raw("From").unwrap_or_default().trim()
            ),
        ));
    }
    out.subject = msg.subject().map(str::to_string);
    out.in_reply_to = id_list(msg.in_reply_to()).into_iter().next();
    out.list_id = match msg.list_id() {
        HeaderValue::Text(t) => Some(t.to_string()),
        HeaderValue::TextList(l) => l.first().map(|t| t.to_string()),
        _ => msg.header_raw("List-Id").map(|s| s.trim().to_string()),
    }
    .map(|l| list_id_key(&l));
    if msg.parts.iter().any(|p| p.is_encoding_problem) {
        out.problems.push(problem(
            "encoding_problem",
            "a part could not be decoded with its declared transfer encoding or charset",
        ));
    }
    if full {
        collect_attachments(&msg, "", 0, &mut out);
    }
    out
}

/// Nesting deeper than this is not unpacked (the bytes stay in the parent's blob).
const MAX_NESTING: usize = 8;

fn collect_attachments(
    msg: &mail_parser::Message,
    prefix: &str,
    depth: usize,
    out: &mut ParsedMessage,
) {
    for (i, part) in msg.attachments().enumerate() {
        let path = format!("{prefix}{}", i + 1);
        let content_type = part.content_type().map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        });
        let filename = part.attachment_name().map(str::to_string);
        let origin = if matches!(part.body, PartType::Message(_)) {
            "rfc822"
        } else {
            "mime"
        };
        let data = part.contents().to_vec();
        let is_tnef = content_type.as_deref() == Some("application/ms-tnef")
            || filename
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case("winmail.dat"));
        out.attachments.push(Attachment {
            part: path.clone(),
            origin,
            filename,
            content_type,
            data,
        });
        if is_tnef {
            let bytes = &out
                .attachments
                .last()
                .map(|a| a.data.clone())
                .unwrap_or_default();
            match tnef::unpack(bytes) {
                Ok(files) => {
                    for (j, f) in files.into_iter().enumerate() {
                        out.attachments.push(Attachment {
                            part: format!("{path}/tnef:{}", j + 1),
                            origin: "tnef",
                            filename: Some(f.filename),
                            content_type: f.content_type,
                            data: f.data,
                        });
                    }
                }
                Err(e) => out
                    .problems
                    .push(problem("tnef_unreadable", format!("part {path}: {e}"))),
            }
        }
        if let Some(inner) = part.message() {
            if depth < MAX_NESTING {
                collect_attachments(inner, &format!("{path}."), depth + 1, out);
            } else {
                out.problems.push(problem(
                    "deep_nesting",
                    format!("part {path}: nested messages deeper than {MAX_NESTING} not unpacked"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_and_zone() {
        let raw = b"From: \"Ann Example\" <Ann@Example.org>\r\nTo: b@example.net, \"C\" <c@example.net>\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nDate: Fri, 07 Oct 2016 16:30:00 -0400\r\nMessage-ID: <abc@example.org>\r\nIn-Reply-To: <parent@example.org>\r\nReferences: <root@example.org> <parent@example.org>\r\nList-Id: Talk <talk.example.org>\r\n\r\nHello\r\n";
        let p = parse(raw);
        assert!(p.parsed);
        assert_eq!(p.message_id.as_deref(), Some("abc@example.org"));
        assert_eq!(p.subject.as_deref(), Some("café"));
        assert_eq!(p.date, Some(1475872200));
        assert_eq!(p.date_offset, Some(-240));
        assert_eq!(p.from().unwrap().addr.as_deref(), Some("Ann@Example.org"));
        assert_eq!(p.headers.to.len(), 2);
        assert_eq!(p.in_reply_to.as_deref(), Some("parent@example.org"));
        assert_eq!(
            p.headers.references,
            vec!["root@example.org", "parent@example.org"]
        );
        assert_eq!(p.list_id.as_deref(), Some("talk.example.org"));
        assert!(p.problems.is_empty(), "{:?}", p.problems);
    }

    #[test]
    fn garbage_is_flagged_not_fatal() {
        let p = parse(b"\x00\x01\x02 this is not mail");
        assert!(p.problems.iter().any(|x| x.code == "no_headers"));
        let p = parse(b"");
        assert!(!p.parsed);
    }
}
