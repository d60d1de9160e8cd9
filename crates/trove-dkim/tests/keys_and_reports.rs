//! Public API: the real key files parse (with their negative answers), the different key
//! input forms agree, ARC samples pass, and the summary serialises to the report shape.

mod common;

use trove_dkim::{
    parse_key_file, verify_message, ArcResult, KeyFileEntry, KeyRecord, KeyStatus, KeyStore,
    LookupFailure, Summary, VerifyOptions,
};

#[test]
fn historic_key_file_parses_completely() {
    let Some(data) = common::data_dir() else {
        return;
    };
    let text = std::fs::read_to_string(data.join("dkim/keys/historic_public_keys.txt")).unwrap();
    let entries = parse_key_file(
        &text,
        "imported from historic_public_keys.txt",
        1_700_000_000,
    )
    .unwrap();
    let lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count();
    assert_eq!(entries.len(), lines);
    let mut keys = KeyStore::new();
    keys.extend(entries);
    let gmail = &keys.get("20161025", "gmail.com")[0];
    assert_eq!(
        (gmail.status.clone(), gmail.bits),
        (KeyStatus::Usable, Some(2048))
    );
    assert_eq!(gmail.provenance, "imported from historic_public_keys.txt");
    assert_eq!(gmail.added_at, 1_700_000_000);
    assert!(
        keys.records().iter().all(|r| r.status == KeyStatus::Usable),
        "{:?}",
        keys.records()
    );
}

#[test]
fn mail_dkim_table_keeps_negative_answers_and_broken_keys() {
    let Some(data) = common::data_dir() else {
        return;
    };
    let text = std::fs::read_to_string(data.join("dkim/perl-mail-dkim/FAKE_DNS.dat")).unwrap();
    let entries = parse_key_file(&text, "FAKE_DNS.dat", 0).unwrap();
    let failures: Vec<&LookupFailure> = entries
        .iter()
        .filter_map(|e| match e {
            KeyFileEntry::Failure { failure, .. } => Some(failure),
            KeyFileEntry::Key(_) => None,
        })
        .collect();
    assert_eq!(
        failures,
        [
            &LookupFailure::NxDomain,
            &LookupFailure::Timeout,
            &LookupFailure::ServFail
        ]
    );
    let mut keys = KeyStore::new();
    keys.extend(entries);
    assert_eq!(
        keys.get("testrevoked", "messiah.edu")[0].status,
        KeyStatus::Revoked
    );
    assert!(matches!(
        keys.get("testbad1", "messiah.edu")[0].status,
        KeyStatus::Malformed(_)
    ));
    assert!(matches!(
        keys.get("testbad3", "messiah.edu")[0].status,
        KeyStatus::Unsupported(_)
    ));
    assert_eq!(keys.get("test1", "messiah.edu")[0].bits, Some(512));
    assert!(keys.get("test1", "messiah.edu")[0].testing);
}

#[test]
fn pem_and_dns_capture_give_the_same_fingerprint() {
    let Some(data) = common::data_dir() else {
        return;
    };
    let pem = std::fs::read_to_string(data.join("dkim/mimekit/gmail.pub")).unwrap();
    let from_pem = KeyRecord::from_user_input("20120113", "gmail.com", &pem, "manual", 0).unwrap();
    let keys = common::store_from_files(&data, &["keys/historic_public_keys.txt"]);
    let historic = &keys.get("20120113", "gmail.com")[0];
    assert_eq!(from_pem.fingerprint, historic.fingerprint);
    assert_eq!(from_pem.bits, Some(2048));
}

#[test]
fn key_file_errors_name_the_line() {
    let err = parse_key_file(
        "# ok\nsel._domainkey.example.com k=rsa; p=\nnot-a-key-name p=abc\n",
        "x",
        0,
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("key file line 3:"), "{err}");
}

#[test]
fn arc_samples_pass() {
    let Some(data) = common::data_dir() else {
        return;
    };
    for file in ["001.txt", "002.txt"] {
        let raw = std::fs::read(data.join("dkim/stalwart-mail-auth/arc").join(file)).unwrap();
        let (keys, message) = common::inline_store(&raw);
        let verdict = verify_message(&message, &keys, &VerifyOptions::default());
        let arc = verdict.arc.expect("ARC headers");
        assert_eq!(
            (arc.result, arc.reason.as_str()),
            (ArcResult::Pass, ""),
            "{file}"
        );
        // Without the sealer's key the chain cannot be validated offline: no_key, not fail.
        let empty = verify_message(&message, &KeyStore::new(), &VerifyOptions::default());
        assert_eq!(
            empty.arc.map(|a| a.result),
            Some(ArcResult::NoKey),
            "{file}"
        );
    }
}

#[test]
fn summary_has_the_report_shape() {
    let Some(data) = common::data_dir() else {
        return;
    };
    let raw = std::fs::read(data.join("dkim/stalwart-mail-auth/arc/001.txt")).unwrap();
    let (keys, message) = common::inline_store(&raw);
    let mut summary = Summary::new();
    summary.add(&verify_message(&message, &keys, &VerifyOptions::default()));
    let json: serde_json::Value = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["signatures"], 3);
    assert_eq!(json["results"]["pass"], 2);
    assert_eq!(json["results"]["fail"], 1);
    assert_eq!(json["domains"]["ietf.org"]["pass"], 2);
    assert_eq!(json["domains"]["stalw.art"]["fail"], 1);
    assert_eq!(json["arc"]["pass"], 1);
    let mut twice = summary.clone();
    twice.merge(&summary);
    assert_eq!(twice.signatures, 6);
}
