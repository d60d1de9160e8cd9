//! The signed envelope shared by the descriptor, manifests and the freshness
//! pointer: `{"signature":HEX,"signed":OBJECT}` in canonical JSON, where the
//! signature and the object's hash are over `PREFIX || canonical(OBJECT)`.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::canonical::to_canonical;
use crate::error::{Error, Problem, Result};
use crate::{Hash, PublicKey, PublisherKey};

/// The major format version this crate reads and writes.
pub const FORMAT_VERSION: u64 = 1;

/// The three kinds of signed object. Each has its own domain-separation
/// prefix so that a signature over one kind can never pass as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// `descriptor.json`: who publishes, with which key.
    Descriptor,
    /// `releases/NNNNNN.json`: one release.
    Manifest,
    /// `freshness.json`: the latest release and until when that claim holds.
    Freshness,
}

impl ObjectKind {
    /// The value of the object's `type` member.
    pub fn type_name(self) -> &'static str {
        match self {
            ObjectKind::Descriptor => "descriptor",
            ObjectKind::Manifest => "manifest",
            ObjectKind::Freshness => "freshness",
        }
    }

    /// The domain-separation prefix: `trove-<type>-v1` followed by one NUL byte.
    pub fn domain_prefix(self) -> &'static [u8] {
        match self {
            ObjectKind::Descriptor => b"trove-descriptor-v1\0",
            ObjectKind::Manifest => b"trove-manifest-v1\0",
            ObjectKind::Freshness => b"trove-freshness-v1\0",
        }
    }
}

/// A signed object as written to disk: its file bytes and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The exact bytes of the file (canonical JSON of the envelope).
    pub bytes: Vec<u8>,
    /// BLAKE3 of `prefix || canonical(signed object)`: the object's identity
    /// (the publication id for a descriptor, the chain link for a manifest).
    pub hash: Hash,
}

/// Signs `object` as a `kind` object and returns the file bytes and hash.
///
/// The object is serialised with serde, `type` and `version` are added, and
/// the result is encoded canonically. Exposed so that test vectors and tools
/// can craft objects the writer would never produce (a wrong chain link, a
/// gap in ids) and check that verifiers reject them.
pub fn seal<T: Serialize>(key: &PublisherKey, kind: ObjectKind, object: &T) -> Result<Sealed> {
    let mut value = serde_json::to_value(object).map_err(|e| Error::Encoding(e.to_string()))?;
    let map = value
        .as_object_mut()
        .ok_or_else(|| Error::Encoding("a signed object must be a JSON object".into()))?;
    map.insert("type".into(), Value::from(kind.type_name()));
    map.insert("version".into(), Value::from(FORMAT_VERSION));
    seal_object(key, kind, value)
}

/// Signs an already-built JSON object exactly as given (no `type` or
/// `version` added): for crafting test vectors such as an unknown version.
pub fn seal_object(key: &PublisherKey, kind: ObjectKind, value: Value) -> Result<Sealed> {
    let body = to_canonical(&value).map_err(|e| Error::Encoding(e.to_string()))?;
    let mut signed = Vec::with_capacity(kind.domain_prefix().len() + body.len());
    signed.extend_from_slice(kind.domain_prefix());
    signed.extend_from_slice(&body);
    let signature = key.sign(&signed);
    let mut env = Map::new();
    env.insert(
        "signature".into(),
        Value::from(crate::hex::encode(&signature)),
    );
    env.insert("signed".into(), value);
    let bytes = to_canonical(&Value::Object(env)).map_err(|e| Error::Encoding(e.to_string()))?;
    Ok(Sealed {
        bytes,
        hash: Hash::of(&signed),
    })
}

/// A parsed envelope whose form, version and type are checked but whose
/// signature is not yet.
pub(crate) struct Opened {
    pub(crate) object: Value,
    signed: Vec<u8>,
    signature: [u8; 64],
    pub(crate) hash: Hash,
}

impl Opened {
    /// Checks the signature with `key`.
    pub(crate) fn verify(&self, path: &str, key: &PublicKey) -> Result<(), Problem> {
        if key.verify(&self.signed, &self.signature) {
            Ok(())
        } else {
            Err(Problem::BadSignature { path: path.into() })
        }
    }

    /// Reads the object's fields (unknown members are ignored; they are signed anyway).
    pub(crate) fn parse<T: DeserializeOwned>(&self, path: &str) -> Result<T, Problem> {
        T::deserialize(&self.object).map_err(|e| Problem::Malformed {
            path: path.into(),
            reason: e.to_string(),
        })
    }
}

fn malformed(path: &str, reason: impl Into<String>) -> Problem {
    Problem::Malformed {
        path: path.into(),
        reason: reason.into(),
    }
}

/// Steps 2–6 of reading any signed file: JSON, canonical form, envelope
/// shape, version, type. The caller checks the signature and the fields.
pub(crate) fn open(path: &str, bytes: &[u8], kind: ObjectKind) -> Result<Opened, Problem> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| malformed(path, format!("not JSON: {e}")))?;
    match to_canonical(&value) {
        Ok(c) if c == bytes => {}
        Ok(_) => return Err(Problem::NotCanonical { path: path.into() }),
        Err(e) => return Err(malformed(path, e.to_string())),
    }
    let Value::Object(mut env) = value else {
        return Err(malformed(path, "not a JSON object"));
    };
    if env.len() != 2 {
        return Err(malformed(
            path,
            "the envelope must have exactly the members \"signature\" and \"signed\"",
        ));
    }
    let mut signature = [0u8; 64];
    match env.get("signature") {
        Some(Value::String(s)) if crate::hex::decode_into(s, &mut signature) => {}
        _ => {
            return Err(malformed(
                path,
                "\"signature\" must be 128 lowercase hex digits",
            ))
        }
    }
    let object = match env.remove("signed") {
        Some(v @ Value::Object(_)) => v,
        _ => return Err(malformed(path, "\"signed\" must be a JSON object")),
    };
    match object.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(FORMAT_VERSION) => {}
        Some(other) => {
            return Err(Problem::UnsupportedVersion {
                path: path.into(),
                found: other.to_string(),
            })
        }
        None => return Err(malformed(path, "missing \"version\"")),
    }
    match object.get("type") {
        Some(Value::String(t)) if t == kind.type_name() => {}
        Some(other) => {
            return Err(Problem::WrongType {
                path: path.into(),
                expected: kind.type_name().into(),
                found: other
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| other.to_string()),
            })
        }
        None => return Err(malformed(path, "missing \"type\"")),
    }
    // Cannot fail: `object` was part of a value that just encoded canonically.
    let body = to_canonical(&object).map_err(|e| malformed(path, e.to_string()))?;
    let mut signed = Vec::with_capacity(kind.domain_prefix().len() + body.len());
    signed.extend_from_slice(kind.domain_prefix());
    signed.extend_from_slice(&body);
    Ok(Opened {
        object,
        hash: Hash::of(&signed),
        signed,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn file_is_signature_then_canonical_object() {
        let key = PublisherKey::from_seed([1; 32]);
        let s = seal(&key, ObjectKind::Freshness, &json!({"b": 2, "a": 1})).unwrap();
        let text = String::from_utf8(s.bytes.clone()).unwrap();
        assert!(text.starts_with("{\"signature\":\""));
        assert!(
            text.ends_with(",\"signed\":{\"a\":1,\"b\":2,\"type\":\"freshness\",\"version\":1}}")
        );
        let mut signed = b"trove-freshness-v1\0".to_vec();
        signed.extend_from_slice(b"{\"a\":1,\"b\":2,\"type\":\"freshness\",\"version\":1}");
        assert_eq!(s.hash, Hash::of(&signed));
        let o = open("freshness.json", &s.bytes, ObjectKind::Freshness).unwrap();
        o.verify("freshness.json", &key.public_key()).unwrap();
        assert_eq!(o.hash, s.hash);
    }

    #[test]
    fn a_signature_of_one_kind_does_not_pass_as_another() {
        let key = PublisherKey::from_seed([1; 32]);
        let s = seal(&key, ObjectKind::Manifest, &json!({"x": 1})).unwrap();
        let text = String::from_utf8(s.bytes)
            .unwrap()
            .replace("\"manifest\"", "\"freshness\"");
        let o = open("f", text.as_bytes(), ObjectKind::Freshness).unwrap();
        assert_eq!(
            o.verify("f", &key.public_key()),
            Err(Problem::BadSignature { path: "f".into() })
        );
    }

    #[test]
    fn rejects_noncanonical_and_unknown_versions() {
        let key = PublisherKey::from_seed([1; 32]);
        let s = seal(&key, ObjectKind::Manifest, &json!({"x": 1})).unwrap();
        let mut spaced = s.bytes.clone();
        spaced.push(b'\n');
        assert!(matches!(
            open("m", &spaced, ObjectKind::Manifest),
            Err(Problem::NotCanonical { .. })
        ));
        let v2 = String::from_utf8(s.bytes.clone())
            .unwrap()
            .replace("\"version\":1", "\"version\":2");
        assert!(matches!(
            open("m", v2.as_bytes(), ObjectKind::Manifest),
            Err(Problem::UnsupportedVersion { found, .. }) if found == "2"
        ));
        let dup = String::from_utf8(s.bytes)
            .unwrap()
            .replace("\"x\":1}", "\"x\":0,\"x\":1}");
        assert!(matches!(
            open("m", dup.as_bytes(), ObjectKind::Manifest),
            Err(Problem::NotCanonical { .. })
        ));
    }
}
