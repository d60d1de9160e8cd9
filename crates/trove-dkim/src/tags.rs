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
    /// For each of [`KNOWN_TAGS`], its index in `tags` plus one (0: absent). A signature is
    /// asked for a dozen tags; a search by name each time had been 3% of a keyed-only run.
    known: [u16; KNOWN_TAGS.len()],
}

/// The tags of signatures and key records trove looks up, found without a search.
const KNOWN_TAGS: [&str; 18] = [
    "v", "a", "b", "bh", "c", "d", "h", "i", "l", "q", "s", "t", "x", "z", "k", "p", "n", "g",
];

/// The slot of `name` in [`KNOWN_TAGS`].
fn known_slot(name: &str) -> Option<usize> {
    match name.as_bytes() {
        [c] => KNOWN_TAGS.iter().position(|t| t.as_bytes() == [*c]),
        b"bh" => Some(3),
        _ => None,
    }
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
        let mut known = [0u16; KNOWN_TAGS.len()];
        // Names outside `known` (rare in signatures): allocates only when one occurs.
        let mut others = std::collections::HashSet::new();
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
                // Bytes, not chars: a non-ASCII char is bytes that fail both tests either way.
                let valid_name = name_str
                    .as_bytes()
                    .first()
                    .is_some_and(u8::is_ascii_alphabetic)
                    && name_str
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'_');
                if !valid_name {
                    return Err(TagError::BadName(truncate(name_str)));
                }
                // Past u16::MAX tags (a header of over 128 KiB) every tag is searched for.
                let slot = known_slot(name_str).filter(|_| tags.len() < usize::from(u16::MAX));
                let duplicate = match (slot, u16::try_from(tags.len() + 1)) {
                    (Some(slot), Ok(index)) => std::mem::replace(&mut known[slot], index) != 0,
                    // A set, not a search of the list: a hostile header of 100,000 tags must
                    // not take quadratic time.
                    _ => {
                        let early = known_slot(name_str).is_some_and(|slot| known[slot] != 0);
                        !others.insert(name_str) || early
                    }
                };
                if duplicate {
                    return Err(TagError::Duplicate(name_str.to_string()));
                }
                tags.push((name, value));
            }
            start = end + 1;
        }
        Ok(TagList { text, tags, known })
    }

    /// The value of a tag, if present.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        if let Some(slot) = known_slot(name) {
            if let Some(index) = usize::from(self.known[slot]).checked_sub(1) {
                return Some(&self.text[self.tags[index].1.clone()]);
            }
            if self.tags.len() < usize::from(u16::MAX) {
                return None;
            }
        }
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
    fn known_and_other_tags_are_found_and_duplicates_refused() {
        let t = TagList::parse(b"v=1; bh=x; k=rsa; foo=1; b=2").unwrap();
        assert_eq!(t.get("bh"), Some("x"));
        assert_eq!(t.get("b"), Some("2"));
        assert_eq!(t.get("k"), Some("rsa"));
        assert_eq!(t.get("foo"), Some("1"));
        assert_eq!(t.get("d"), None);
        assert_eq!(t.get("fo"), None);
        for dup in [&b"bh=1; bh=2"[..], b"foo=1;foo=2", b"p=;a=1;p=2"] {
            assert!(matches!(TagList::parse(dup), Err(TagError::Duplicate(_))));
        }
        // Past u16::MAX tags, lookups and duplicates fall back to the search.
        let mut many: Vec<u8> = (0..70_000)
            .flat_map(|i| format!("t{i}=1;").into_bytes())
            .collect();
        many.extend_from_slice(b"d=late.example;");
        let t = TagList::parse(&many).unwrap();
        assert_eq!(t.get("d"), Some("late.example"));
        assert_eq!(t.get("t69999"), Some("1"));
        many.extend_from_slice(b"d=again");
        assert!(matches!(TagList::parse(&many), Err(TagError::Duplicate(_))));
        let mut early_and_late = b"s=1;".to_vec();
        early_and_late.extend_from_slice(&many[..many.len() - 22]);
        early_and_late.extend_from_slice(b"s=2");
        assert!(matches!(
            TagList::parse(&early_and_late),
            Err(TagError::Duplicate(_))
        ));
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
