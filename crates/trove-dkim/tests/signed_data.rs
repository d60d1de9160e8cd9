//! `signed_data` hands out exactly the bytes each signature's cryptography covered: checked
//! here by verifying them with other implementations (aws-lc-rs for RSA, ring for Ed25519)
//! and by hashing the body with SHA-256, on the RFC 8463 example (in the repository) and on
//! the io-uring corpus (when ../shared/data is present).

mod common;

use aws_lc_rs::signature::{
    UnparsedPublicKey as AwsKey, RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
    RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
};
use ring::digest::{digest, SHA256};
use trove_dkim::{signed_data, KeyStore, SignedData, VerifyOptions};

/// The RFC 8463 appendix A keys: Ed25519 (`brisbane`) and RSA-1024 (`test`).
const RFC8463_KEYS: &str = "brisbane._domainkey.football.example.com v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
test._domainkey.football.example.com v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB
";

/// Whether `data`'s signature verifies over its header block with its key (the decoded `p=`),
/// by an implementation other than the one trove's verdict used for that algorithm.
fn signature_checks(data: &SignedData) -> bool {
    let key = &data.public_key[..];
    match data.algorithm.as_str() {
        "ed25519-sha256" => {
            let hash = digest(&SHA256, &data.header_block);
            ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, key)
                .verify(hash.as_ref(), &data.signature)
                .is_ok()
        }
        "rsa-sha256" | "rsa-sha1" => {
            let alg = if data.algorithm == "rsa-sha1" {
                &RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY
            } else {
                &RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
            };
            AwsKey::new(alg, key)
                .verify(&data.header_block, &data.signature)
                .is_ok()
        }
        other => panic!("unexpected algorithm {other}"),
    }
}

#[test]
fn rfc8463_signed_data_verifies_elsewhere() {
    let mut keys = KeyStore::new();
    keys.import_key_file(RFC8463_KEYS, "RFC 8463 appendix A", 1_700_000_000)
        .expect("keys");
    let raw = include_bytes!("data/rfc8463-ed25519.eml");
    let all = signed_data(raw, &keys, &VerifyOptions::default());
    let algorithms: Vec<&str> = all.iter().map(|d| d.algorithm.as_str()).collect();
    assert_eq!(algorithms, ["ed25519-sha256", "rsa-sha256"]);
    for (i, data) in all.iter().enumerate() {
        assert_eq!(data.sig_index, i);
        assert_eq!(data.domain, "football.example.com");
        // The key handed out is the one whose fingerprint the verdict names.
        let fingerprint: String = digest(&SHA256, &data.public_key)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(data.key_fingerprint.as_deref(), Some(fingerprint.as_str()));
        assert_eq!(digest(&SHA256, &data.body).as_ref(), data.body_hash);
        assert_eq!(
            data.body,
            b"Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n\r\nJoe.\r\n"
        );
        // Relaxed header canonicalisation; the signature header last, b= empty, no line end.
        assert!(data
            .header_block
            .starts_with(b"from:Joe SixPack <joe@football.example.com>\r\n"));
        assert!(
            data.header_block.ends_with(b" b="),
            "{:?}",
            String::from_utf8_lossy(&data.header_block)
        );
        assert!(signature_checks(data), "{}", data.algorithm);
        // One byte off and it no longer checks.
        let mut tampered = data.clone();
        tampered.header_block[0] = b'F';
        assert!(!signature_checks(&tampered), "{}", data.algorithm);
    }
    // Without a key nothing was checked, so there is nothing to hand out.
    assert!(signed_data(raw, &KeyStore::new(), &VerifyOptions::default()).is_empty());
}

#[test]
fn io_uring_signed_data_verifies_elsewhere() {
    let Some(data_dir) = common::data_dir() else {
        return;
    };
    let keys = common::store_from_files(&data_dir, &["keys/historic_public_keys.txt"]);
    let path = data_dir.join("corpora/lore-io-uring.mbox.zst");
    let mbox =
        zstd::decode_all(std::fs::File::open(&path).expect("io-uring corpus")).expect("zstd");
    let opts = VerifyOptions::default();
    let (mut passes, mut fails) = (0, 0);
    for raw in common::mboxrd::split_mboxrd(&mbox).iter().take(3000) {
        let verdict = trove_dkim::verify_message(raw, &keys, &opts);
        for data in signed_data(raw, &keys, &opts) {
            let v = &verdict.signatures[data.sig_index];
            let body_ok = digest(&SHA256, &data.body).as_ref() == data.body_hash;
            let sig_ok = signature_checks(&data);
            match v.reason.as_str() {
                "" | "expired" => {
                    assert!(body_ok && sig_ok, "{} {}", v.domain, v.selector);
                    passes += 1;
                }
                "body_hash_mismatch" => {
                    assert!(!body_ok);
                    fails += 1;
                }
                "signature_mismatch" => {
                    assert!(body_ok && !sig_ok);
                    fails += 1;
                }
                other => panic!("unexpected reason {other}"),
            }
        }
    }
    println!("io-uring: {passes} passing and {fails} failing signatures re-checked");
    assert!(passes > 500, "{passes}");
}
