//! Signature verification over canonicalised headers, with a fast path.
//!
//! mail-auth's rust-crypto backend verifies every RSA size (trove needs that: old leaks hold
//! 512-bit keys) but its RSA (the `rsa` crate on `num-bigint-dig`) took about 40% of a corpus
//! run in `perf`. ring verifies RSA-1024..8192 many times faster but refuses smaller keys, and
//! mail-auth 0.13's ring/aws-lc-rs backends would turn a sub-1024-bit key into a failed
//! signature. So trove picks per key: ring for RSA keys of 1024 to 8192 bits, mail-auth's
//! rust-crypto verifier for everything else (RSA under 1024 bits, Ed25519). Both compute the
//! same PKCS#1 v1.5 check; the corpus tests cover both paths (8,279 ring verifications on
//! io-uring, the 512-bit Mail::DKIM samples on rust-crypto).

use mail_auth::common::crypto::{Algorithm, CryptoError};
use mail_auth::dkim::Canonicalization;
use ring::signature::{
    UnparsedPublicKey, RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
    RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
};

use crate::keys::KeyRecord;

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CryptoFailure {
    /// The key type does not match the signature algorithm.
    AlgorithmMismatch,
    /// The signature is not valid for these headers and this key.
    Mismatch,
    /// The record has no usable key.
    NoKey,
}

/// Verifies `signature` over the canonicalised `headers` with the record's key.
pub(crate) fn verify_headers<'a>(
    record: &KeyRecord,
    headers: &mut dyn Iterator<Item = (&'a [u8], &'a [u8])>,
    signature: &[u8],
    canonicalization: Canonicalization,
    algorithm: Algorithm,
) -> Result<(), CryptoFailure> {
    if let (Some(pkcs1), Algorithm::RsaSha256 | Algorithm::RsaSha1) = (&record.ring_rsa, algorithm)
    {
        let mut data = Vec::with_capacity(1024);
        canonicalization.canonicalize_headers(headers, &mut data);
        let params = if algorithm == Algorithm::RsaSha1 {
            &RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY
        } else {
            &RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
        };
        return UnparsedPublicKey::new(params, &pkcs1[..])
            .verify(&data, signature)
            .map_err(|_| CryptoFailure::Mismatch);
    }
    let key = record.verifying_key().ok_or(CryptoFailure::NoKey)?;
    match key.verify(headers, signature, canonicalization, algorithm) {
        Ok(()) => Ok(()),
        Err(mail_auth::Error::Crypto(CryptoError::IncompatibleAlgorithms)) => {
            Err(CryptoFailure::AlgorithmMismatch)
        }
        Err(_) => Err(CryptoFailure::Mismatch),
    }
}

/// The PKCS#1 `RSAPublicKey` DER inside a `p=` value, which is normally a
/// SubjectPublicKeyInfo (RFC 6376 §3.6.1) and occasionally bare PKCS#1.
pub(crate) fn rsa_pkcs1(der: &[u8]) -> Option<Vec<u8>> {
    let (tag, outer, _) = tlv(der)?;
    if tag != 0x30 {
        return None;
    }
    let (first_tag, _, rest) = tlv(outer)?;
    if first_tag == 0x02 {
        return Some(der.to_vec()); // SEQUENCE { INTEGER n, INTEGER e }: already PKCS#1
    }
    let (bit_tag, bits, _) = tlv(rest)?;
    match (bit_tag, bits.split_first()) {
        (0x03, Some((0, key))) => Some(key.to_vec()),
        _ => None,
    }
}

/// One DER TLV: (tag, contents, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spki_and_pkcs1_are_unwrapped() {
        let spki = mail_parser::decoders::base64::base64_decode(b"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB").unwrap();
        let pkcs1 = rsa_pkcs1(&spki).unwrap();
        assert_eq!(&pkcs1[..4], &[0x30, 0x81, 0x89, 0x02]);
        assert_eq!(rsa_pkcs1(&pkcs1).unwrap(), pkcs1);
        assert_eq!(rsa_pkcs1(b"\x30\x05garbage"), None);
        assert_eq!(rsa_pkcs1(b""), None);
    }
}
