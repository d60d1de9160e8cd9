//! RFC 6376 §3.2 tag-list parsing (`tag=value; tag=value`), used to classify signatures and key
//! records before any cryptography. mail-auth's own parsers are deliberately lenient (they skip
//! what they do not understand); trove needs to know exactly *why* a signature is unusable
//! (legacy draft, unknown algorithm, duplicate tag…), so it reads the tags itself first.

/// A parsed tag list: names and values with surrounding folding whitespace removed, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct TagList {
    pub(crate) tags: Vec<(String, String)>,
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

impl TagList {
    /// Parses a tag list. Empty segments (`;;`, a trailing `;`) are allowed.
    pub(crate) fn parse(input: &[u8]) -> Result<TagList, TagError> {
        let text = String::from_utf8_lossy(input);
        let mut tags: Vec<(String, String)> = Vec::new();
        for segment in text.split(';') {
            if segment.trim().is_empty() {
                continue;
            }
            let Some((name, value)) = segment.split_once('=') else {
                return Err(TagError::MissingEquals(truncate(segment.trim())));
            };
            let name = name.trim();
            let valid_name = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_name {
                return Err(TagError::BadName(truncate(name)));
            }
            if tags.iter().any(|(n, _)| n == name) {
                return Err(TagError::Duplicate(name.to_string()));
            }
            tags.push((name.to_string(), value.trim().to_string()));
        }
        Ok(TagList { tags })
    }

    /// The value of a tag, if present.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Removes all whitespace (folding whitespace inside base64 or lists); borrows when there is
/// none, which is the common case.
pub(crate) fn strip_ws(value: &str) -> std::borrow::Cow<'_, str> {
    if value.bytes().any(|b| b.is_ascii_whitespace()) || !value.is_ascii() {
        value
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .into()
    } else {
        value.into()
    }
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
