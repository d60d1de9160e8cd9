//! HTML to readable text, for HTML bodies and HTML attachments.
//!
//! A small streaming converter rather than a DOM parser: it never recurses (the
//! hostile corpus has messages nested thousands of levels deep), uses memory
//! linear in its input, drops `<script>`, `<style>` and `<head>`, turns block
//! elements into line breaks and decodes character references. It is for
//! indexing, not display: layout is approximated, and only the common named
//! entities (XML's five, `&nbsp;`, typographic punctuation and Latin-1) are
//! decoded; others are kept as written.

/// Converts HTML to plain text suitable for indexing and snippets.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let lower = html.to_ascii_lowercase();
    let b = html.as_bytes();
    let mut i = 0;
    let mut text_start = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        push_text(&mut out, &html[text_start..i]);
        if lower[i..].starts_with("<!--") {
            i = lower[i + 4..]
                .find("-->")
                .map_or(b.len(), |p| i + 4 + p + 3);
            text_start = i;
            continue;
        }
        // Tag name.
        let mut j = i + 1;
        let closing = b.get(j) == Some(&b'/');
        if closing {
            j += 1;
        }
        let name_start = j;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'!') {
            j += 1;
        }
        let name = &lower[name_start..j];
        if name.is_empty() {
            // A lone `<` in text.
            out.push('<');
            i += 1;
            text_start = i;
            continue;
        }
        let tag_end = tag_end(b, j);
        i = tag_end;
        text_start = i;
        if !closing && matches!(name, "script" | "style" | "head" | "title" | "xml") {
            let close = format!("</{name}");
            i = lower[i..]
                .find(&close)
                .map_or(b.len(), |p| tag_end_from(b, i + p));
            text_start = i;
            continue;
        }
        match name {
            "br" | "p" | "div" | "tr" | "li" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
            | "table" | "blockquote" | "hr" | "pre" | "ul" | "ol" | "dl" | "dt" | "dd"
            | "section" | "article" | "header" | "footer" | "center" | "address" | "form" => {
                newline(&mut out)
            }
            "td" | "th" if !out.ends_with([' ', '\n', '\t']) => out.push('\t'),
            _ => {}
        }
    }
    push_text(&mut out, &html[text_start.min(b.len())..]);
    out.trim().to_string()
}

/// Index just past the `>` that ends the tag whose name ended at `j`,
/// skipping quoted attribute values.
fn tag_end(b: &[u8], mut j: usize) -> usize {
    let mut quote = None;
    while j < b.len() {
        match (quote, b[j]) {
            (None, b'>') => return j + 1,
            (None, q @ (b'"' | b'\'')) => quote = Some(q),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        j += 1;
    }
    b.len()
}

fn tag_end_from(b: &[u8], start: usize) -> usize {
    b[start..]
        .iter()
        .position(|&c| c == b'>')
        .map_or(b.len(), |p| start + p + 1)
}

fn newline(out: &mut String) {
    while out.ends_with([' ', '\t']) {
        out.pop();
    }
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
}

/// Appends text with whitespace collapsed and entities decoded.
fn push_text(out: &mut String, raw: &str) {
    let mut rest = raw;
    while !rest.is_empty() {
        let (chunk, decoded, next) = match rest.find('&') {
            Some(p) => {
                let (ch, len) = decode_entity(&rest[p..]);
                (&rest[..p], ch, &rest[p + len..])
            }
            None => (rest, None, ""),
        };
        for c in chunk.chars() {
            push_char(out, c);
        }
        match decoded {
            Some(c) => push_char(out, c),
            None if next.len() < rest.len() - chunk.len() => push_char(out, '&'),
            None => {}
        }
        rest = next;
    }
}

fn push_char(out: &mut String, c: char) {
    if c.is_whitespace() {
        if !out.is_empty() && !out.ends_with([' ', '\n', '\t']) {
            out.push(' ');
        }
    } else {
        out.push(c);
    }
}

/// Decodes the character reference at the start of `s` (which starts with
/// `&`). Returns the character and the bytes consumed; `(None, 1)` when it is
/// not a reference we know.
fn decode_entity(s: &str) -> (Option<char>, usize) {
    let Some(semi) = s[1..].find(';').filter(|p| *p <= 10).map(|p| p + 1) else {
        return (None, 1);
    };
    let name = &s[1..semi];
    let c = if let Some(num) = name.strip_prefix('#') {
        let n = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => num.parse().ok(),
        };
        n.and_then(char::from_u32)
    } else {
        named(name)
    };
    match c {
        Some(c) => (Some(c), semi + 1),
        None => (None, 1),
    }
}

const LATIN1: [&str; 96] = [
    "nbsp", "iexcl", "cent", "pound", "curren", "yen", "brvbar", "sect", "uml", "copy", "ordf",
    "laquo", "not", "shy", "reg", "macr", "deg", "plusmn", "sup2", "sup3", "acute", "micro",
    "para", "middot", "cedil", "sup1", "ordm", "raquo", "frac14", "frac12", "frac34", "iquest",
    "Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil", "Egrave", "Eacute",
    "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml", "ETH", "Ntilde", "Ograve", "Oacute",
    "Ocirc", "Otilde", "Ouml", "times", "Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute",
    "THORN", "szlig", "agrave", "aacute", "acirc", "atilde", "auml", "aring", "aelig", "ccedil",
    "egrave", "eacute", "ecirc", "euml", "igrave", "iacute", "icirc", "iuml", "eth", "ntilde",
    "ograve", "oacute", "ocirc", "otilde", "ouml", "divide", "oslash", "ugrave", "uacute", "ucirc",
    "uuml", "yacute", "thorn", "yuml",
];

fn named(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "ndash" => '\u{2013}',
        "mdash" => '\u{2014}',
        "lsquo" => '\u{2018}',
        "rsquo" => '\u{2019}',
        "ldquo" => '\u{201C}',
        "rdquo" => '\u{201D}',
        "bull" => '\u{2022}',
        "hellip" => '\u{2026}',
        "euro" => '\u{20AC}',
        "trade" => '\u{2122}',
        "zwnj" | "zwj" | "lrm" | "rlm" => ' ',
        _ => {
            let i = LATIN1.iter().position(|n| *n == name)?;
            char::from_u32(160 + i as u32)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::html_to_text;

    #[test]
    fn converts() {
        let h = "<html><head><title>x</title><style>p{color:red}</style></head><body>\
                 <p>Hello&nbsp;<b>w&ouml;rld</b> &amp; co &#x41;&#66;</p><script>alert(1)</script>\
                 <!-- hidden --><div>second<br>line &bogus; a < b</div><td>c1</td><td>c2</td></body></html>";
        assert_eq!(
            html_to_text(h),
            "Hello wörld & co AB\n\nsecond\nline &bogus; a < b\nc1\tc2"
        );
    }

    #[test]
    fn hostile_input_is_bounded() {
        assert_eq!(html_to_text("<"), "<");
        assert_eq!(html_to_text("<script>never closed"), "");
        assert_eq!(html_to_text("<a href=\"x>y\">link</a>"), "link");
        let deep = "<div>".repeat(100_000) + "deep" + &"</div>".repeat(100_000);
        assert_eq!(html_to_text(&deep), "deep");
        assert_eq!(html_to_text("&#xFFFFFFFF; &#0; &"), "&#xFFFFFFFF; \u{0} &");
    }
}
