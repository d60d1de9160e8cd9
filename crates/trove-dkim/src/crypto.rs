//! Signature verification over canonicalised headers, with a fast path.
//!
//! mail-auth's rust-crypto backend verifies every RSA size (trove needs that: old leaks hold
//! 512-bit keys) but its RSA (the `rsa` crate on `num-bigint-dig`) took about 40% of a corpus
//! run in `perf`. aws-lc-rs and ring verify RSA-1024..8192 many times faster but refuse
//! smaller keys, and mail-auth 0.13's ring/aws-lc-rs backends would turn a sub-1024-bit key
//! into a failed signature. So trove picks per key: the fast path for RSA keys of 1024 to 8192
//! bits, mail-auth's rust-crypto verifier for everything else (RSA under 1024 bits, Ed25519).
//! All compute the same PKCS#1 v1.5 check; the corpus tests cover both paths (8,279 fast-path
//! verifications on io-uring, the 512-bit Mail::DKIM samples on rust-crypto).
//!
//! The fast path is aws-lc-rs with the key parsed once per [`KeyRecord`] (`ParsedPublicKey`:
//! AWS-LC also caches the modulus' Montgomery constants after the first use). ring 0.17, used
//! before, has no verify with a pre-parsed public key: it parsed the key and recomputed those
//! constants on every signature (a third of its verify time, by callgrind). ring remains the
//! fallback for a key aws-lc-rs refuses to parse, so such a key gets the verdict it had.

use aws_lc_rs::signature::{self as aws, ParsedPublicKey};
use mail_auth::common::crypto::{Algorithm, CryptoError};
use mail_auth::dkim::Canonicalization;
use ring::signature::{
    UnparsedPublicKey, RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
    RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
};

use crate::headers::relaxed_header;
use crate::keys::KeyRecord;

/// An RSA public key of 1024 to 8192 bits, prepared once for the fast path.
pub(crate) struct FastRsa {
    /// PKCS#1 `RSAPublicKey` DER (for ring, when aws-lc-rs refused the key).
    pkcs1: Box<[u8]>,
    /// aws-lc-rs ties a parsed key to one algorithm: one per hash DKIM uses.
    sha256: Option<ParsedPublicKey>,
    sha1: Option<ParsedPublicKey>,
}

impl FastRsa {
    /// Parses the key for both hashes; `None` when it is not a PKCS#1 or SPKI RSA key.
    pub(crate) fn new(der: &[u8]) -> Option<FastRsa> {
        let pkcs1 = rsa_pkcs1(der)?;
        Some(FastRsa {
            sha256: ParsedPublicKey::new(
                &aws::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                &pkcs1,
            )
            .ok(),
            sha1: ParsedPublicKey::new(&aws::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY, &pkcs1)
                .ok(),
            pkcs1: pkcs1.into(),
        })
    }

    /// Whether `signature` is a valid RSASSA-PKCS1-v1_5 signature of `data`.
    fn verify(&self, algorithm: Algorithm, data: &[u8], signature: &[u8]) -> bool {
        let (parsed, ring_params) = if algorithm == Algorithm::RsaSha1 {
            (&self.sha1, &RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY)
        } else {
            (
                &self.sha256,
                &RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            )
        };
        match parsed {
            Some(key) => key.verify_sig(data, signature).is_ok(),
            None => ring_verify(ring_params, &self.pkcs1, data, signature),
        }
    }
}

fn ring_verify(
    params: &'static ring::signature::RsaParameters,
    pkcs1: &[u8],
    data: &[u8],
    signature: &[u8],
) -> bool {
    UnparsedPublicKey::new(params, pkcs1)
        .verify(data, signature)
        .is_ok()
}

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
    if let (Some(rsa), Algorithm::RsaSha256 | Algorithm::RsaSha1) = (&record.fast_rsa, algorithm) {
        let data = header_block(headers, canonicalization);
        return if rsa.verify(algorithm, &data, signature) {
            Ok(())
        } else {
            Err(CryptoFailure::Mismatch)
        };
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

/// The selected headers, canonicalised and concatenated: the bytes a DKIM signature signs.
pub(crate) fn header_block<'a>(
    headers: &mut dyn Iterator<Item = (&'a [u8], &'a [u8])>,
    canonicalization: Canonicalization,
) -> Vec<u8> {
    // Room for a typical signed set (the signature header alone is ~600 bytes; growing
    // from 1 KiB was 3% of a keyed-only run).
    let mut data = Vec::with_capacity(4096);
    match canonicalization {
        Canonicalization::Relaxed => {
            for (name, value) in headers {
                relaxed_header(name, value, &mut data);
            }
        }
        Canonicalization::Simple => canonicalization.canonicalize_headers(headers, &mut data),
    }
    data
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
pub(crate) mod tests {
    use super::*;

    /// A throwaway 2048-bit key (PKCS#8; ring signs with 2048 bits and up), made for this test.
    pub(crate) const TEST_KEY: &str = concat!(
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDGZ6IKVl30xB+I8QO+XGEDJ3mwvVIM2EIf/bT1brU0cbGO",
        "yYFONcuJc/AO87jXfHqTXxDLH6qQSIbqFqSQmgWa8JXDiSpF8lBFBsWQ2Y7PdW+AJT+i4+tuAErXJdKz8MUrP64I1rdyILBe",
        "J/YSdb0jKu+xVHKJ6KAQbb/5WcgJEx39Uu9MJlXQTZdQb6iJ/mxbCibCn973xFxrz8g5d8SLcKSXMkNlfaKae7no4r86duJN",
        "q79jcnF6YlG9TF55+m3/MXR06Bi/Ha6XKFIqOFLfMmlZaYgywQm+F8xKXqQ75MSZ/wyaKeu9PoCtRv/pfU2HxMcXbHnweXRx",
        "7uNg/GJlAgMBAAECggEAHj9J36ATol9s/FRcEP8l5hR0U6rFMcKdcCGeXyVx2C02F9HmFe2TGmEzuZ/T7/wg9ssxNPpepzD7",
        "aoAptgbZMGoZtu34JSJANQnHgGH+iOe7KDLljPiI2aQPRNYWFYsxD/sdFelgHbTYln4qoF1VSKGA2czJSneNwXtt3z6eBa3g",
        "e3ucQzIAqUkn1otiMnqmy+2tD8usjcuH49fS4CIGnsKmi+7BD1vvjyc/93WS1bdpOa9Ce4I7DTVGB9Wrp5WtSxFO2yybejAQ",
        "tkda5OwXU+FANRLLrxXYyK1f5KnTTx69ZR9T4swxufOl8b4sl39dYDyWlv/7fsZw1tGj797e6QKBgQD9qxtEIzi1Fodx7wsO",
        "WSSUm3dD71nUhAktW8RXc4SkC1EI6fFTaCpYSnJUdiVQTqKqwt9kraBJ+pjHIfPXI82SVvIXoL/UZ2F5opdOVPtv1Itaaren",
        "vQgne5mxKiZN45/6diuYdQ/49tEaHPwOgpCt1mgj92PAIzpuGcFE7pIFLQKBgQDIOn0co+CE7KOixyClPNOvss08JVEjoh/z",
        "uxTop75QCr1/l6wAPNfroQ2j3zLacdWW2UYRwZ740rZZvFX/rBQl+aW4P/8gVEmySPVmMLkauEmMDRonSIReHIqvTKGEnSdA",
        "wzEVjnpYfgwW39Ja9KL5s6fu4chWNq8gWDRQCSAFGQKBgQDSILslZkfDOjZYmrt91zoGIAJbtBmlgPpZKHssNfTaLsWhrKjL",
        "fq4VFRZAAN5H99unuGV08J6mqX+E9QsYXAAeCQfhqrc9K6YDLDxKFvtxV49YBq67tErc6fYWW+P/AV+0Cc9zKwVgJpRwHTJu",
        "kplmZwU9ReDLeGMecRc4EqfCwQKBgGnVyKXn1VhNgN0cphvRQA9h0mvVScMtAfihzZaAe+7xDmMv94GUp4jr8zrIUqf2fbCj",
        "ng7qqi3ZqvtZupdPDMNZ5weyBBfBlcbAG75tSJpgCLgXgNh800KvkXrBZaqkKshnpD1Bt1epIJjCq/zZzH9yP/TbsToo436U",
        "QOqBOESZAoGAYkRv6VNMEJD5B8SvtBbmtyzTdHo7asTw9fOJiFlmmzIJ5Gp6NXMTvbbbqxsrBB7W5WfVpXz4syrm5dOwIh3h",
        "FaqA07F8Obq04coL6l4fxCUOqOK9zZM2iJLrOD3HA/YDYfwrrxprPRJxFKh614uX5dFGhsJiw4uoRWkEIEFo/Hc="
    );

    /// The SubjectPublicKeyInfo DER (what a DKIM `p=` holds) of a 2048-bit RSA key given as
    /// PKCS#1 `RSAPublicKey` DER (270 bytes).
    pub(crate) fn rsa2048_spki(pkcs1: &[u8]) -> Vec<u8> {
        [
            &[0x30, 0x82, 0x01, 0x22, 0x30, 0x0d, 0x06, 0x09][..],
            &[
                0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
            ],
            &[0x03, 0x82, 0x01, 0x0f, 0x00],
            pkcs1,
        ]
        .concat()
    }

    /// aws-lc-rs (parsed once) and ring (the path before it, and the fallback) must accept and
    /// reject exactly the same signatures. (ring signs SHA-256 only; valid SHA-1 signatures
    /// are covered by the Mail::DKIM samples in tests/expected_samples.rs.)
    #[test]
    fn fast_path_agrees_with_ring() {
        use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
        let pkcs8 = mail_parser::decoders::base64::base64_decode(TEST_KEY.as_bytes()).unwrap();
        let pair = RsaKeyPair::from_pkcs8(&pkcs8).unwrap();
        let pkcs1 = pair.public().as_ref().to_vec();
        let rsa = FastRsa::new(&pkcs1).unwrap();
        assert!(rsa.sha256.is_some() && rsa.sha1.is_some());
        let data = b"from:a@b.example\r\ndkim-signature:v=1; b=".to_vec();
        let mut good = vec![0u8; pair.public().modulus_len()];
        pair.sign(
            &RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            &data,
            &mut good,
        )
        .unwrap();
        let mut other_data = data.clone();
        other_data[0] ^= 1;
        let mut flipped = good.clone();
        flipped[60] ^= 0x10;
        let cases = [
            (data.clone(), good.clone()),
            (other_data, good.clone()),
            (data.clone(), flipped),
            (data.clone(), good[1..].to_vec()),
            (data.clone(), [&[0u8][..], &good].concat()),
            (data.clone(), vec![0xff; good.len()]),
            (data.clone(), Vec::new()),
        ];
        for (i, (message, signature)) in cases.iter().enumerate() {
            let valid = i == 0;
            assert_eq!(rsa.verify(Algorithm::RsaSha256, message, signature), valid);
            let ring = &RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY;
            assert_eq!(ring_verify(ring, &pkcs1, message, signature), valid);
            // A SHA-256 signature never verifies as SHA-1, on either path.
            assert!(!rsa.verify(Algorithm::RsaSha1, message, signature));
            let ring = &RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY;
            assert!(!ring_verify(ring, &pkcs1, message, signature));
        }
        // The SPKI form (what p= holds) gives the same key.
        let spki = rsa2048_spki(&pkcs1);
        assert!(FastRsa::new(&spki)
            .unwrap()
            .verify(Algorithm::RsaSha256, &data, &good));
    }

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
