//! BLAKE3 content hashes and the lowercase hex text form used everywhere in the format.

use std::fmt;
use std::io::{self, Read};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A BLAKE3 hash (32 bytes), written as 64 lowercase hex digits in text.
///
/// This is trove's content address: the name of a blob is the hash of its bytes,
/// with no prefix or framing, so `b3sum FILE` gives the same value. Manifests,
/// the descriptor and the freshness pointer are hashed with a domain-separation
/// prefix instead (see [`crate::ObjectKind`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash([u8; 32]);

impl Hash {
    /// Length of a hash in bytes.
    pub const LEN: usize = 32;

    /// Hashes `bytes` with BLAKE3.
    pub fn of(bytes: &[u8]) -> Hash {
        Hash(*blake3::hash(bytes).as_bytes())
    }

    /// Wraps 32 raw bytes that already are a BLAKE3 output.
    pub const fn from_bytes(bytes: [u8; 32]) -> Hash {
        Hash(bytes)
    }

    /// Wraps raw bytes read back from storage (a database column); `None`
    /// unless exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        <[u8; 32]>::try_from(bytes).ok().map(Hash)
    }

    /// The 32 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64-digit lowercase hex form.
    pub fn to_hex(&self) -> String {
        crate::hex::encode(&self.0)
    }

    /// Parses the 64-digit lowercase hex form; anything else (upper case,
    /// wrong length, other characters) is refused so that each hash has one text form.
    pub fn from_hex(text: &str) -> Option<Hash> {
        let mut out = [0u8; 32];
        crate::hex::decode_into(text, &mut out).then_some(Hash(out))
    }

    /// Hashes everything `reader` yields, streaming in 64 KiB chunks.
    /// Returns the hash and the number of bytes read.
    pub fn from_reader(reader: impl Read) -> io::Result<(Hash, u64)> {
        let mut hasher = Hasher::new();
        let mut reader = reader;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buf[..n]);
        }
        Ok((hasher.finalize(), hasher.len()))
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

/// Error returned when text is not a 64-digit lowercase hex hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a BLAKE3 hash (64 lowercase hex digits): {0:?}")]
pub struct ParseHashError(pub String);

impl FromStr for Hash {
    type Err = ParseHashError;
    fn from_str(s: &str) -> Result<Hash, ParseHashError> {
        Hash::from_hex(s).ok_or_else(|| ParseHashError(s.chars().take(80).collect()))
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Hash::from_hex(&s).ok_or_else(|| serde::de::Error::custom(ParseHashError(s.into_owned())))
    }
}

/// Streaming BLAKE3 hasher that also counts bytes, for hashing data as it
/// arrives (a file being written, an HTTP body being downloaded).
#[derive(Clone, Default)]
pub struct Hasher {
    inner: blake3::Hasher,
    len: u64,
}

impl Hasher {
    /// A fresh hasher.
    pub fn new() -> Hasher {
        Hasher::default()
    }

    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.inner.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// Number of bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when no byte was fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The hash of everything fed so far.
    pub fn finalize(&self) -> Hash {
        Hash(*self.inner.finalize().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_blake3_vector_of_empty_input() {
        assert_eq!(
            Hash::of(b"").to_hex(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn hex_round_trip_is_strict() {
        let h = Hash::of(b"abc");
        assert_eq!(h.to_hex().parse::<Hash>().unwrap(), h);
        assert!(h.to_hex().to_uppercase().parse::<Hash>().is_err());
        assert!("abc".parse::<Hash>().is_err());
    }

    #[test]
    fn streaming_equals_one_shot() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (h, n) = Hash::from_reader(&data[..]).unwrap();
        assert_eq!(h, Hash::of(&data));
        assert_eq!(n, data.len() as u64);
    }
}
