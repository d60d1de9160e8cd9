//! RFC 6376 §3.2 tag-list parsing (`tag=value; tag=value`), used to classify signatures and key
//! records before any cryptography. mail-auth's own parsers are deliberately lenient (they skip
//! what they do not understand); trove needs to know exactly *why* a signature is unusable
//! (legacy draft, unknown algorithm, duplicate tag…), so it reads the tags itself first.

/// A parsed tag list: names and values with surrounding folding whitespace removed, in order.
/// Borrows the header text (one allocation for the index, none per tag) unless it is not
/// UTF-8, in which case a lossy copy is kept.
#[derive(Debug, Clone, Default)]
pub(crate) struct TagList<'a> {
    text: std::borrow::Cow<'a, str>,
    tags: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
}

/// Why a tag list could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TagError {
    /// A segment between semicolons has no `=` (e.g. `DKIM-Signature: synerr`).
    MissingEquals(String),
    /// A tag name is empty or has characters outside `ALPHA *(ALPHA / DIGIT / "_")`.
    BadName(String),
    /// The same tag appears twice (RFC 6376 §3.2: PERMFAIL).
    Duplicate(String),
}

impl std::fmt::Display for TagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TagError::MissingEquals(s) => write!(f, "tag without '=': {s:?}"),
            TagError::BadName(s) => write!(f, "bad tag name: {s:?}"),
            TagError::Duplicate(s) => write!(f, "duplicate tag: {s}"),
        }
    }
}

/// The range of `s[range]` with ASCII/Unicode whitespace trimmed at both ends. `ascii`: the
/// text is ASCII, so the bytes `str::trim` removes are exactly the six below (a byte loop,
/// not a char decode: this runs twice per tag of every signature).
fn trimmed(text: &str, range: std::ops::Range<usize>, ascii: bool) -> std::ops::Range<usize> {
    if ascii {
        let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
        let part = &text.as_bytes()[range.clone()];
        let Some(lead) = part.iter().position(|b| !ws(b)) else {
            return range.start..range.start;
        };
        let trail = part.iter().rev().take_while(|b| ws(b)).count();
        return range.start + lead..range.end - trail;
    }
    let part = &text[range.clone()];
    let lead = part.len() - part.trim_start().len();
    let trail = part.len() - part.trim_end().len();
    if lead == part.len() {
        return range.start..range.start;
    }
    range.start + lead..range.end - trail
}

impl<'a> TagList<'a> {
    /// Parses a tag list. Empty segments (`;;`, a trailing `;`) are allowed.
    pub(crate) fn parse(input: &'a [u8]) -> Result<TagList<'a>, TagError> {
        // Strict validation first: far cheaper than from_utf8_lossy's chunk walk on the
        // (nearly always valid) header text; the lossy copy only when it is not UTF-8.
        let text = match std::str::from_utf8(input) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(input),
        };
        let mut tags: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> =
            Vec::with_capacity(16);
        let mut start = 0;
        let bytes = text.as_bytes();
        let ascii = text.is_ascii();
        while start <= bytes.len() {
            let end = memchr::memchr(b';', &bytes[start..]).map_or(bytes.len(), |i| start + i);
            let segment = &text[start..end];
            if !trimmed(&text, start..end, ascii).is_empty() {
                let Some(eq) = memchr::memchr(b'=', segment.as_bytes()) else {
                    return Err(TagError::MissingEquals(truncate(segment.trim())));
                };
                let name = trimmed(&text, start..start + eq, ascii);
                let value = trimmed(&text, start + eq + 1..end, ascii);
                let name_str = &text[name.clone()];
                let valid_name = name_str
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                    && name_str
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid_name {
                    return Err(TagError::BadName(truncate(name_str)));
                }
                if tags.iter().any(|(n, _)| &text[n.clone()] == name_str) {
                    return Err(TagError::Duplicate(name_str.to_string()));
                }
                tags.push((name, value));
            }
            start = end + 1;
        }
        Ok(TagList { text, tags })
    }

    /// The value of a tag, if present.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(n, _)| &self.text[n.clone()] == name)
            .map(|(_, v)| &self.text[v.clone()])
    }
}

/// Removes all whitespace (folding whitespace inside base64 or lists); borrows when there is
/// none, which is the common case.
pub(crate) fn strip_ws(value: &str) -> std::borrow::Cow<'_, str> {
    if value.is_ascii() {
        if !value.bytes().any(|b| b.is_ascii_whitespace()) {
            return value.into();
        }
        // The ASCII characters `char::is_whitespace` accepts (it adds vertical tab to
        // `is_ascii_whitespace`), removed bytewise: same result as the char path below.
        let mut kept = Vec::with_capacity(value.len());
        kept.extend(
            value
                .bytes()
                .filter(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')),
        );
        return String::from_utf8(kept)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
            .into();
    }
    value
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .into()
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_folded_tags() {
        let t = TagList::parse(b"v=1; a=rsa-sha256;\r\n\td=example.com; h=from\r\n :to;").unwrap();
        assert_eq!(t.get("v"), Some("1"));
        assert_eq!(t.get("d"), Some("example.com"));
        assert_eq!(strip_ws(t.get("h").unwrap()), "from:to");
        assert_eq!(strip_ws("a\x0bb"), "a\x0bb"); // no other whitespace: kept as it was
        assert_eq!(strip_ws("a\x0b b\r\n\tc"), "abc");
        assert_eq!(strip_ws("é\u{a0}x y"), "éxy");
        assert_eq!(t.get("x"), None);
    }

    #[test]
    fn rejects_syntax_errors() {
        assert!(matches!(
            TagList::parse(b"synerr"),
            Err(TagError::MissingEquals(_))
        ));
        assert!(matches!(
            TagList::parse(b"v=1; v=1"),
            Err(TagError::Duplicate(_))
        ));
        assert!(matches!(TagList::parse(b"1a=x"), Err(TagError::BadName(_))));
    }
}
