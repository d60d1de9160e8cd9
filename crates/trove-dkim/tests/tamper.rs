//! Tamper tests built from real passing messages: each change must give the right verdict and
//! reason. Also expiry (judged at the signature's own time, or at a given `now`), Ed25519
//! (RFC 8463) and a 512-bit RSA key verified for real.

mod common;

use std::path::Path;

use trove_dkim::{
    verify_message, KeyStore, SignatureResult, SignatureVerdict, VerifyOptions, Warning,
};

const TURKSTREAM: &str = "dkim/leaked-real/turkstream-roadmap/Message14960479880043215677.eml";

fn turkstream(data: &Path) -> (KeyStore, Vec<u8>) {
    let keys = common::store_from_files(data, &["keys/historic_public_keys.txt"]);
    (
        keys,
        std::fs::read(data.join(TURKSTREAM)).expect("turkstream message"),
    )
}

fn gmail_sig(raw: &[u8], keys: &KeyStore) -> SignatureVerdict {
    let verdict = verify_message(raw, keys, &VerifyOptions::default());
    verdict
        .signatures
        .into_iter()
        .find(|s| s.domain == "gmail.com")
        .expect("gmail signature")
}

fn replace_once(raw: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let pos = raw
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern present");
    [&raw[..pos], to, &raw[pos + from.len()..]].concat()
}

fn body_offset(raw: &[u8]) -> usize {
    raw.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("CRLF message")
        + 4
}

#[test]
fn untouched_message_passes() {
    let Some(data) = common::data_dir() else {
        return;
    };
    let (keys, raw) = turkstream(&data);
    let sig = gmail_sig(&raw, &keys);
    assert_eq!(sig.result, SignatureResult::Pass, "{sig:?}");
    assert_eq!(sig.reason, "");
    assert_eq!(sig.selector, "20161025");
    assert_eq!(sig.key_bits, Some(2048));
    assert_eq!(
        sig.key_provenance.as_deref(),
        Some("imported from keys/historic_public_keys.txt")
    );
    assert_eq!(sig.key_fingerprint.as_ref().map(String::len), Some(64));
    assert_eq!(sig.signed_headers[0], "content-transfer-encoding");
    assert!(sig.warnings.is_empty(), "{:?}", sig.warnings);
}

#[test]
fn one_body_byte_changed_is_body_hash_mismatch() {
    let Some(data) = common::data_dir() else {
        return;
    };
    let (keys, mut raw) = turkstream(&data);
    let at = body_offset(&raw) + 200;
    raw[at] = if raw[at] == b'A' { b'B' } else { b'A' };
    let sig = gmail_sig(&raw, &keys);
    assert_eq!(
        (sig.result, sig.reason.as_str()),
        (SignatureResult::Fail, "body_hash_mismatch")
    );
}

#[test]
fn signed_header_changed_is_signature_mismatch() {
    let Some(data) = common::data_dir() else {
        return;
    };
    let (keys, raw) = turkstream(&data);
    // Date is in h=; move it by one second.
    let date_at = raw
        .windows(7)
        .position(|w| w == b"\r\nDate:")
        .expect("Date header")
        + 2;
    let line_end = date_at
        + raw[date_at..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap();
    let mut tampered = raw.clone();
    let digit = (line_end - date_at)
        .checked_sub(1)
        .and_then(|n| {
            (0..n)
                .rev()
                .map(|i| date_at + i)
                .find(|&i| raw[i].is_ascii_digit())
        })
        .expect("a digit in Date");
    tampered[digit] = if raw[digit] == b'1' { b'2' } else { b'1' };
    let sig = gmail_sig(&tampered, &keys);
    assert_eq!(
        (sig.result, sig.reason.as_str()),
        (SignatureResult::Fail, "signature_mismatch")
    );
}

#[test]
fn unsigned_header_changed_still_passes() {
    let Some(data) = common::data_dir() else {
        return;
    };
    let (keys, raw) = turkstream(&data);
    // X-Mailer is not in this signature's h=: changing it cannot break the signature, and the
    // verdict lists exactly which headers are covered so a reader can tell.
    let tampered = replace_once(&raw, b"\r\nX-Mailer: ", b"\r\nX-Mailer: FORGED ");
    let sig = gmail_sig(&tampered, &keys);
    assert_eq!(sig.result, SignatureResult::Pass);
    assert!(!sig.signed_headers.iter().any(|h| h == "x-mailer"));
}

#[test]
fn header_added_above_signature() {
    let Some(data) = common::data_dir() else {
        return;
    };
    let (keys, raw) = turkstream(&data);
    // A second From at the very top. h= lists "from" once, so verifiers use the bottom-most
    // From (RFC 6376 §5.4.2) and the signature still verifies, but a mail client may display the
    // forged one: trove passes the signature and flags the uncovered duplicate.
    let tampered = [&b"From: Forged Sender <forged@example.org>\r\n"[..], &raw].concat();
    let sig = gmail_sig(&tampered, &keys);
    assert_eq!(sig.result, SignatureResult::Pass);
    assert!(
        sig.warnings.contains(&Warning::UnsignedDuplicateHeader),
        "{:?}",
        sig.warnings
    );
    // Untampered, no such warning.
    assert!(!gmail_sig(&raw, &keys)
        .warnings
        .contains(&Warning::UnsignedDuplicateHeader));
}

#[test]
fn header_added_above_oversigned_signature_fails() {
    let Some(data) = common::data_dir() else {
        return;
    };
    // RFC 8463's example over-signs: h=from:to:subject:date:message-id:from:subject:date. The
    // second "subject" entry covers the *absence* of another Subject; adding one breaks both
    // signatures (Ed25519 and RSA).
    let raw = std::fs::read(data.join("dkim/stalwart-mail-auth/dkim/001.txt")).unwrap();
    let (keys, message) = common::inline_store(&raw);
    let opts = VerifyOptions::default();
    let before = verify_message(&message, &keys, &opts);
    assert!(
        before
            .signatures
            .iter()
            .all(|s| s.result == SignatureResult::Pass),
        "{before:?}"
    );
    let tampered = [&b"Subject: Forged\n"[..], &message].concat();
    let after = verify_message(&tampered, &keys, &opts);
    assert_eq!(after.signatures.len(), 2);
    for sig in &after.signatures {
        assert_eq!(
            (sig.result, sig.reason.as_str()),
            (SignatureResult::Fail, "signature_mismatch")
        );
    }
    // A header that is not in h= at all (Received) changes nothing.
    let received = [
        &b"Received: from forged.example by mx.example\n"[..],
        &message,
    ]
    .concat();
    assert!(verify_message(&received, &keys, &opts).any_pass());
}

#[test]
fn expiry_is_reported_apart_from_the_cryptography() {
    let Some(data) = common::data_dir() else {
        return;
    };
    // topicbox.com: t=1667843664, x=1667930064 (one day). Long expired today.
    let raw = std::fs::read(data.join("dkim/stalwart-mail-auth/dkim/005.txt")).unwrap();
    let (keys, message) = common::inline_store(&raw);
    // Default: judged at its own t= (+60 s): valid then.
    let sig = verify_message(&message, &keys, &VerifyOptions::default()).signatures[0].clone();
    assert_eq!(sig.expiration, Some(1_667_930_064));
    assert_eq!(
        (sig.result, sig.reason.as_str(), sig.expired),
        (SignatureResult::Pass, "", false)
    );
    // Judged at a later time: still a real cryptographic pass, expiry reported.
    let later = VerifyOptions {
        now: Some(1_767_000_000),
        ..VerifyOptions::default()
    };
    let sig = verify_message(&message, &keys, &later).signatures[0].clone();
    assert_eq!(
        (sig.result, sig.reason.as_str(), sig.expired),
        (SignatureResult::Pass, "expired", true)
    );
    // And an expired signature over tampered content still fails for the right reason.
    let tampered = replace_once(&message, b"\n\n", b"\n\nX");
    let sig = verify_message(&tampered, &keys, &later).signatures[0].clone();
    assert_eq!(
        (sig.result, sig.reason.as_str(), sig.expired),
        (SignatureResult::Fail, "body_hash_mismatch", true)
    );
}

#[test]
fn ed25519_rfc8463_passes() {
    let Some(data) = common::data_dir() else {
        return;
    };
    let keys = common::store_from_files(&data, &["dkimpy/KEYS.txt"]);
    let raw = std::fs::read(data.join("dkim/mimekit/rfc8463-example.msg")).unwrap();
    let verdict = verify_message(&raw, &keys, &VerifyOptions::default());
    let ed = &verdict.signatures[0];
    assert_eq!(
        (&*ed.algorithm, ed.result),
        ("ed25519-sha256", SignatureResult::Pass)
    );
    assert_eq!(ed.key_bits, Some(256));
    assert_eq!(verdict.signatures[1].result, SignatureResult::Pass);
    // Corrupt the Ed25519 signature value: a real cryptographic failure.
    let b_at = raw
        .windows(4)
        .position(|w| w == b" b=/")
        .expect("ed25519 b= value")
        + 4;
    let mut bad = raw.clone();
    bad[b_at] = b'A';
    let sig = &verify_message(&bad, &keys, &VerifyOptions::default()).signatures[0];
    assert_eq!(
        (sig.result, sig.reason.as_str()),
        (SignatureResult::Fail, "signature_mismatch")
    );
}

#[test]
fn rsa_512_key_is_verified_and_flagged() {
    let Some(data) = common::data_dir() else {
        return;
    };
    let keys = common::store_from_files(&data, &["perl-mail-dkim/FAKE_DNS.dat"]);
    let raw = std::fs::read(data.join("dkim/perl-mail-dkim/corpus/goodkey_1.txt")).unwrap();
    let sig = verify_message(&raw, &keys, &VerifyOptions::default()).signatures[0].clone();
    assert_eq!(sig.key_bits, Some(512));
    assert_eq!(sig.result, SignatureResult::Pass, "{sig:?}");
    assert!(sig.warnings.contains(&Warning::WeakKey));
    assert!(sig.warnings.contains(&Warning::Sha1));
    // The same 512-bit key really checks: a changed signed header fails.
    let tampered = replace_once(&raw, b"Subject: ", b"Subject: X");
    let sig = verify_message(&tampered, &keys, &VerifyOptions::default()).signatures[0].clone();
    assert_eq!(
        (sig.result, sig.reason.as_str()),
        (SignatureResult::Fail, "signature_mismatch")
    );
}
