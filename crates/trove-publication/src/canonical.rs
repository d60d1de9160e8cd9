//! Canonical JSON (RFC 8785, JCS, restricted to integers): the one byte form
//! of every signed object, so that signing, hashing and comparing are over
//! the same bytes on every machine and in every language.
//!
//! The subset: objects, arrays, strings, `true`, `false`, `null`, and integers
//! in `-(2^53-1) ..= 2^53-1`. No floats. Object members sorted by their keys'
//! UTF-16 code units, no whitespace, strings escaped minimally (`\"`, `\\`,
//! `\b`, `\f`, `\n`, `\r`, `\t`, other controls as `\u00xx` lowercase), all other
//! characters written as UTF-8. This is written by hand rather than with
//! `serde_json::to_vec` so that the order of keys does not depend on a Cargo
//! feature (`preserve_order`) some other crate in the build might turn on.

use serde_json::Value;

/// Largest integer the format allows (JavaScript's `Number.MAX_SAFE_INTEGER`).
pub const MAX_INTEGER: u64 = (1 << 53) - 1;

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CanonicalError {
    /// A float, or an integer outside ±(2^53-1).
    Number(String),
}

impl std::fmt::Display for CanonicalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CanonicalError::Number(n) => {
                write!(f, "number {n} is not an integer within ±(2^53-1)")
            }
        }
    }
}

/// Encodes `value` canonically.
pub(crate) fn to_canonical(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out)?;
    Ok(out)
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(u) = n.as_u64().filter(|u| *u <= MAX_INTEGER) {
                out.extend_from_slice(u.to_string().as_bytes());
            } else if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= MAX_INTEGER) {
                out.extend_from_slice(i.to_string().as_bytes());
            } else {
                return Err(CanonicalError::Number(n.to_string()));
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                write_value(v, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        let v = json!({"b": 1, "a": [true, null, "x"], "A": {"z": -3, "y": "é"}});
        assert_eq!(
            to_canonical(&v).unwrap(),
            "{\"A\":{\"y\":\"é\",\"z\":-3},\"a\":[true,null,\"x\"],\"b\":1}".as_bytes()
        );
    }

    #[test]
    fn escapes_like_rfc8785() {
        let v = json!("a\"b\\c\u{8}\u{c}\n\r\t\u{1}\u{7f}\u{2028}/");
        assert_eq!(
            String::from_utf8(to_canonical(&v).unwrap()).unwrap(),
            "\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0001\u{7f}\u{2028}/\""
        );
    }

    #[test]
    fn utf16_key_order_differs_from_utf8_order() {
        // U+FF61 sorts after U+1F600 in UTF-8 but before it in UTF-16 (surrogates are 0xD8xx).
        let v = json!({"\u{1F600}": 1, "\u{FF61}": 2});
        let s = String::from_utf8(to_canonical(&v).unwrap()).unwrap();
        assert_eq!(s, "{\"\u{1F600}\":1,\"\u{FF61}\":2}");
    }

    #[test]
    fn refuses_floats_and_big_integers() {
        assert!(to_canonical(&json!(1.5)).is_err());
        assert!(to_canonical(&json!(MAX_INTEGER + 1)).is_err());
        assert!(to_canonical(&json!(MAX_INTEGER)).is_ok());
    }
}
