//! The publisher's Ed25519 key pair: generation, the secret key file, the public key's text form.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// First line of a secret key file, followed by 64 hex digits of the seed.
const KEY_FILE_TAG: &str = "trove-ed25519-secret-v1:";

/// The publisher's secret signing key (Ed25519, RFC 8032). Lives in the
/// vault's machine only; never put it in a publication.
pub struct PublisherKey {
    signing: SigningKey,
}

impl PublisherKey {
    /// Generates a new key from the operating system's random source.
    pub fn generate() -> Result<PublisherKey> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| Error::Io {
            path: "<os random source>".into(),
            message: e.to_string(),
        })?;
        Ok(PublisherKey::from_seed(seed))
    }

    /// Builds the key from its 32-byte secret seed (RFC 8032 private key).
    /// Tests and test vectors use a fixed seed; real publishers use [`PublisherKey::generate`].
    pub fn from_seed(seed: [u8; 32]) -> PublisherKey {
        PublisherKey {
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// The public key that goes into the descriptor and that mirrors pin.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    /// Signs `message` (the caller adds the domain-separation prefix).
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// Writes the secret key to a new file readable only by its owner
    /// (mode 0600 on Unix). Refuses to overwrite an existing file, so a key
    /// cannot be lost by a mistaken command.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(|e| Error::io(path, e))?;
        let text = format!(
            "{KEY_FILE_TAG}{}\n",
            crate::hex::encode(&self.signing.to_bytes())
        );
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::io(path, e))
    }

    /// Reads a secret key file written by [`PublisherKey::save`]. On Unix it
    /// refuses a file that group or others can read.
    pub fn load(path: &Path) -> Result<PublisherKey> {
        let meta = fs::metadata(path).map_err(|e| Error::io(path, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(Error::InsecureKeyFile {
                    path: path.into(),
                    mode,
                });
            }
        }
        if meta.len() > 4096 {
            return Err(Error::KeyFile {
                path: path.into(),
                reason: "file too large".into(),
            });
        }
        let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let hex = text
            .trim_end()
            .strip_prefix(KEY_FILE_TAG)
            .ok_or_else(|| Error::KeyFile {
                path: path.into(),
                reason: format!("does not start with {KEY_FILE_TAG:?}"),
            })?;
        let mut seed = [0u8; 32];
        if !crate::hex::decode_into(hex, &mut seed) {
            return Err(Error::KeyFile {
                path: path.into(),
                reason: "expected 64 lowercase hex digits after the tag".into(),
            });
        }
        Ok(PublisherKey::from_seed(seed))
    }
}

impl fmt::Debug for PublisherKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublisherKey(public {})", self.public_key())
    }
}

/// The publisher's Ed25519 public key: 32 bytes, 64 lowercase hex digits in text.
///
/// Holds the 32 bytes, checked to be a valid point when built; the curve point
/// is decoded again when verifying, which keeps the type (and errors holding
/// it) small.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// Parses 32 raw bytes; `None` when they are not a valid curve point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<PublicKey> {
        VerifyingKey::from_bytes(bytes)
            .ok()
            .map(|k| PublicKey(k.to_bytes()))
    }

    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// The 64-digit lowercase hex form (what `--key` takes and the descriptor holds).
    pub fn to_hex(&self) -> String {
        crate::hex::encode(&self.0)
    }

    /// Parses the hex form.
    pub fn from_hex(text: &str) -> Option<PublicKey> {
        let mut b = [0u8; 32];
        if !crate::hex::decode_into(text, &mut b) {
            return None;
        }
        PublicKey::from_bytes(&b)
    }

    /// Verifies an Ed25519 signature over `message` with the strict rules
    /// (RFC 8032 plus rejection of small-order keys and non-canonical `S`),
    /// so that no signature has a second valid form.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.0) else {
            return false;
        };
        key.verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

/// Error returned when text is not a valid public key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an Ed25519 public key (64 lowercase hex digits of a valid point): {0:?}")]
pub struct ParseKeyError(pub String);

impl FromStr for PublicKey {
    type Err = ParseKeyError;
    fn from_str(s: &str) -> std::result::Result<PublicKey, ParseKeyError> {
        PublicKey::from_hex(s).ok_or_else(|| ParseKeyError(s.chars().take(80).collect()))
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<PublicKey, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        PublicKey::from_hex(&s)
            .ok_or_else(|| serde::de::Error::custom(ParseKeyError(s.into_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8032_test_vector_1() {
        // RFC 8032 section 7.1, TEST 1 (empty message).
        let mut seed = [0u8; 32];
        assert!(crate::hex::decode_into(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            &mut seed
        ));
        let key = PublisherKey::from_seed(seed);
        assert_eq!(
            key.public_key().to_hex(),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = key.sign(b"");
        assert_eq!(
            crate::hex::encode(&sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        assert!(key.public_key().verify(b"", &sig));
        assert!(!key.public_key().verify(b"x", &sig));
    }

    #[test]
    fn key_file_round_trip_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("publisher.key");
        let key = PublisherKey::from_seed([7; 32]);
        key.save(&path).unwrap();
        assert!(key.save(&path).is_err(), "must not overwrite");
        let loaded = PublisherKey::load(&path).unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                PublisherKey::load(&path),
                Err(Error::InsecureKeyFile { mode: 0o644, .. })
            ));
        }
    }

    #[test]
    fn generated_keys_differ() {
        let a = PublisherKey::generate().unwrap();
        let b = PublisherKey::generate().unwrap();
        assert_ne!(a.public_key(), b.public_key());
    }
}
