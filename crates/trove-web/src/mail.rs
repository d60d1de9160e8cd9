//! Reading one raw message for display: headers, text body, and the HTML body
//! cleaned by ammonia with remote images dropped.

use std::borrow::Cow;

use mail_parser::MessageParser;

/// What the message page shows of a raw source.
#[derive(Debug, Default, Clone)]
pub struct Rendered {
    /// Display headers (name, value), decoded.
    pub headers: Vec<(String, String)>,
    /// The first text/plain body (or text converted from HTML).
    pub text: Option<String>,
    /// The first text/html body, sanitised.
    pub html: Option<String>,
}

const SHOWN: &[&str] = &[
    "From",
    "To",
    "Cc",
    "Date",
    "Subject",
    "Message-ID",
    "In-Reply-To",
];
/// Longest body shown on a page; the raw source holds the rest.
const MAX_BODY: usize = 1 << 20;

fn cut(mut s: String) -> String {
    if s.len() > MAX_BODY {
        let mut i = MAX_BODY;
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        s.truncate(i);
        s.push_str("\n[… cut: see the raw source]");
    }
    s
}

/// Parses `raw` for display. Never panics: a parser panic gives an empty rendering.
pub fn render(raw: &[u8]) -> Rendered {
    std::panic::catch_unwind(|| render_inner(raw)).unwrap_or_default()
}

fn render_inner(raw: &[u8]) -> Rendered {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return Rendered::default();
    };
    let mut headers = Vec::new();
    for h in msg.headers() {
        let name = h.name();
        if let Some(n) = SHOWN.iter().find(|n| n.eq_ignore_ascii_case(name)) {
            let v = String::from_utf8_lossy(
                raw.get(h.offset_start() as usize..h.offset_end() as usize)
                    .unwrap_or_default(),
            );
            let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
            headers.push((n.to_string(), decode_words(&msg, n).unwrap_or(v)));
        }
    }
    // mail-parser lists a text part as an HTML body too (and the reverse),
    // converted; show each only when the part really is of that kind.
    let kind = |list: &[u32]| {
        list.first()
            .and_then(|i| msg.parts.get(*i as usize))
            .map(|p| &p.body)
    };
    let html = match kind(&msg.html_body) {
        Some(mail_parser::PartType::Html(_)) => msg.body_html(0).map(|h| sanitize(&h)),
        _ => None,
    };
    let text = match kind(&msg.text_body) {
        Some(mail_parser::PartType::Text(_)) => msg.body_text(0).map(|t| cut(t.into_owned())),
        _ => None,
    };
    Rendered {
        headers,
        text,
        html,
    }
}

fn decode_words(msg: &mail_parser::Message<'_>, name: &str) -> Option<String> {
    if name == "Subject" {
        msg.subject().map(str::to_string)
    } else {
        None
    }
}

/// Cleans hostile HTML: ammonia's safe subset (no script, style, event
/// handlers, forms, `javascript:`), links made `noopener noreferrer`, and
/// every image whose source is not inline `data:` dropped (tracking pixels).
pub fn sanitize(html: &str) -> String {
    let mut b = ammonia::Builder::default();
    b.url_schemes(["http", "https", "mailto", "data"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .attribute_filter(|el, attr, value| {
            if attr == "src" || attr == "srcset" || attr == "background" {
                if el == "img"
                    && value.starts_with("data:image/")
                    && !value.starts_with("data:image/svg")
                {
                    return Some(Cow::Borrowed(value));
                }
                return None;
            }
            if attr == "href" && value.trim_start().to_ascii_lowercase().starts_with("data:") {
                return None;
            }
            Some(Cow::Borrowed(value))
        });
    cut(b.clean(html).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_html_is_cleaned() {
        let h = sanitize(
            r#"<script>alert(1)</script><img src="http://evil.example/p.gif" onerror="x()">
            <a href="javascript:alert(1)">j</a><form action="http://x"><input></form>
            <svg><script>alert(2)</script></svg><meta http-equiv="refresh" content="0;url=http://x">
            <div style="background:url(http://x/y)">s</div><img src="data:image/png;base64,AAAA">"#,
        );
        for bad in [
            "script",
            "onerror",
            "javascript",
            "evil.example",
            "<form",
            "<meta",
            "style=",
            "http://x",
        ] {
            assert!(!h.contains(bad), "{bad} in {h}");
        }
        assert!(h.contains("data:image/png"), "{h}");
    }

    #[test]
    fn real_message_renders() {
        let raw = b"From: A <a@x.org>\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\nContent-Type: text/plain\r\n\r\nhello\r\n";
        let r = render(raw);
        assert_eq!(r.text.as_deref().map(str::trim), Some("hello"));
        assert!(
            r.headers.contains(&("Subject".into(), "café".into())),
            "{:?}",
            r.headers
        );
    }
}
