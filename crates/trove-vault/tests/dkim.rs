//! `Vault::verify_dkim` and the key store, end to end through a real vault: messages signed in
//! the test with a freshly generated Ed25519 key (so these run without ../shared/data), and
//! the DKIM samples of ../shared/data/dkim when present.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;
use trove_vault::trove_dkim::{
    parse_key_file, verify_message, KeyFileEntry, KeyRecord, KeyStore, VerifyOptions,
};
use trove_vault::{NoProgress, Vault, VerifyReport, VerifyRun};

const DOMAIN: &str = "example.org";
const SELECTOR: &str = "s2026";

/// A freshly generated Ed25519 signing key (PKCS#8) and its public half.
struct Signer {
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

impl Signer {
    fn new() -> Signer {
        let pkcs8 = Ed25519Key::generate_pkcs8().unwrap();
        let public = Ed25519Key::from_pkcs8_der(&pkcs8).unwrap().public_key();
        Signer { pkcs8, public }
    }

    fn txt(&self) -> String {
        format!("v=DKIM1; k=ed25519; p={}", base64(&self.public))
    }

    /// Signs `message` (CRLF) for d=example.org, returning the signed bytes.
    fn sign(&self, message: &str, headers: &[&str], body_length: bool) -> Vec<u8> {
        let key = Ed25519Key::from_pkcs8_der(&self.pkcs8).unwrap();
        let sig = DkimSigner::from_key(key)
            .domain(DOMAIN)
            .selector(SELECTOR)
            .headers(headers.iter().copied())
            .body_length(body_length)
            .sign(message.as_bytes())
            .unwrap();
        [sig.to_header().as_bytes(), message.as_bytes()].concat()
    }
}

/// Standard base64 with padding (test helper; the crate decodes with mail-parser).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A CRLF message from `from`, numbered `n`.
fn message(n: usize, from: &str) -> String {
    format!(
        "From: Sender {n} <{from}>\r\nTo: desk@example.net\r\nSubject: signed message {n}\r\n\
         Date: Fri, 7 Oct 2016 16:{:02}:00 +0000\r\nMessage-ID: <dkim{n}@example.org>\r\n\r\n\
         Body of signed message {n}.\r\nA second line.\r\n",
        n % 60
    )
}

const HEADERS: [&str; 5] = ["From", "To", "Subject", "Date", "Message-ID"];

/// Writes `files` into `dir` and ingests the directory.
fn ingest_files(vault: &mut Vault, dir: &Path, files: &[(String, Vec<u8>)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    common::ingest(vault, &[dir]).unwrap();
}

fn verify(vault: &mut Vault, all: bool) -> VerifyReport {
    vault
        .verify_dkim(
            &VerifyRun {
                all,
                checked_at: 1_800_000_000,
                ..VerifyRun::default()
            },
            &NoProgress,
        )
        .unwrap()
}

fn key_entry(signer: &Signer, provenance: &str) -> KeyFileEntry {
    KeyFileEntry::Key(KeyRecord::from_txt(
        SELECTOR,
        DOMAIN,
        &signer.txt(),
        provenance,
        1_700_000_000,
    ))
}

/// Results of every stored signature, keyed by Message-ID.
fn results(vault: &Vault) -> BTreeMap<String, (String, String, Vec<String>)> {
    vault
        .dkim_rows(None)
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.message_id
                    .clone()
                    .unwrap_or_default()
                    .trim_matches(['<', '>'])
                    .to_string(),
                (r.result, r.reason, r.warnings),
            )
        })
        .collect()
}

#[test]
fn signed_fixture_verifies_resumes_and_reopens_on_new_keys() {
    let t = tempfile::tempdir().unwrap();
    let mut vault = Vault::init(t.path().join("v")).unwrap();
    let signer = Signer::new();
    let mut files: Vec<(String, Vec<u8>)> = (0..6)
        .map(|n| {
            (
                format!("{n:02}.eml"),
                signer.sign(&message(n, "alice@example.org"), &HEADERS, false),
            )
        })
        .collect();
    // Two unsigned messages.
    files.push(("06.eml".into(), message(6, "bob@example.net").into_bytes()));
    files.push(("07.eml".into(), message(7, "bob@example.net").into_bytes()));
    ingest_files(&mut vault, &t.path().join("in1"), &files);

    // No key yet: every signature is no_key, never fail.
    let r = verify(&mut vault, false);
    assert_eq!(r.checked, 8);
    assert_eq!(
        (r.totals.messages, r.totals.unsigned, r.totals.signatures),
        (8, 2, 6)
    );
    assert_eq!(r.totals.results["no_key"], 6);
    assert_eq!(r.totals.results["fail"], 0);
    assert_eq!(r.totals.results["pass"], 0, "every result word is present");
    assert!(vault.dkim_checked(1).unwrap());

    // Nothing new: a second run checks nothing.
    assert_eq!(verify(&mut vault, false).checked, 0);

    // Adding the key re-opens exactly the six no_key messages.
    assert_eq!(
        vault
            .add_dkim_keys(vec![key_entry(&signer, "test key")])
            .unwrap(),
        1
    );
    // The same key again adds nothing.
    assert_eq!(
        vault
            .add_dkim_keys(vec![key_entry(&signer, "test key")])
            .unwrap(),
        0
    );
    let r = verify(&mut vault, false);
    assert_eq!(r.checked, 6, "only the messages that lacked the key");
    assert_eq!(r.totals.results["pass"], 6);
    assert_eq!(r.totals.results["no_key"], 0);
    assert_eq!(r.totals.domains[DOMAIN]["pass"], 6);
    let rows = vault.dkim_rows(Some(1)).unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (
            row.sig_index,
            row.domain.as_str(),
            row.selector.as_str(),
            row.algorithm.as_str()
        ),
        (0, DOMAIN, SELECTOR, "ed25519-sha256")
    );
    assert_eq!(row.key_provenance.as_deref(), Some("test key"));
    assert_eq!(row.key_bits, Some(256));
    assert_eq!(row.key_fingerprint.as_ref().map(String::len), Some(64));
    assert!(row.signed_headers.contains(&"from".to_string()), "{row:?}");
    assert!(row.warnings.is_empty(), "{:?}", row.warnings);

    // New messages: only they are verified; --all verifies everything again.
    let more: Vec<(String, Vec<u8>)> = (10..13)
        .map(|n| {
            (
                format!("{n}.eml"),
                signer.sign(&message(n, "alice@example.org"), &HEADERS, false),
            )
        })
        .collect();
    ingest_files(&mut vault, &t.path().join("in2"), &more);
    let r = verify(&mut vault, false);
    assert_eq!(r.checked, 3);
    assert_eq!(r.totals.results["pass"], 9);
    let r = verify(&mut vault, true);
    assert_eq!(r.checked, 11);
    assert_eq!((r.totals.messages, r.totals.signatures), (11, 9));

    // The vault says exactly what the library says, message by message.
    let mut keys = KeyStore::new();
    keys.extend([key_entry(&signer, "test key")]);
    for (name, bytes) in files.iter().chain(&more) {
        let lib = verify_message(bytes, &keys, &VerifyOptions::default());
        let n: usize = name.trim_end_matches(".eml").parse().unwrap();
        let stored = results(&vault);
        match (
            lib.signatures.first(),
            stored.get(&format!("dkim{n}@example.org")),
        ) {
            (Some(s), Some((result, reason, _))) => {
                assert_eq!(
                    (s.result.as_str(), s.reason.as_str()),
                    (result.as_str(), reason.as_str())
                )
            }
            (None, None) => {}
            other => panic!("{name}: library and vault disagree: {other:?}"),
        }
    }

    // Reopened after reopening the vault: results persist.
    drop(vault);
    let vault = Vault::open(t.path().join("v")).unwrap();
    assert_eq!(vault.dkim_totals().unwrap().results["pass"], 9);
}

#[test]
fn tampering_fails_with_the_right_reason_and_warnings_are_stored() {
    let t = tempfile::tempdir().unwrap();
    let mut vault = Vault::init(t.path().join("v")).unwrap();
    let signer = Signer::new();
    let good = signer.sign(&message(1, "alice@example.org"), &HEADERS, false);
    // One body byte changed after signing.
    let body_tampered =
        String::from_utf8(signer.sign(&message(2, "alice@example.org"), &HEADERS, false))
            .unwrap()
            .replace("A second line.", "A second lime.")
            .into_bytes();
    // One signed header changed after signing.
    let header_tampered =
        String::from_utf8(signer.sign(&message(3, "alice@example.org"), &HEADERS, false))
            .unwrap()
            .replace("Subject: signed message 3", "Subject: signed massage 3")
            .into_bytes();
    let from_unsigned = signer.sign(
        &message(4, "alice@example.org"),
        &["To", "Subject", "Date", "Message-ID"],
        false,
    );
    let unrelated = signer.sign(&message(5, "carol@unrelated.test"), &HEADERS, false);
    // l= with content appended after signing: still a pass, with both l= warnings.
    let mut appended = signer.sign(&message(6, "alice@example.org"), &HEADERS, true);
    appended.extend_from_slice(b"Appended after signing.\r\n");
    let files = vec![
        ("1.eml".to_string(), good),
        ("2.eml".to_string(), body_tampered),
        ("3.eml".to_string(), header_tampered),
        ("4.eml".to_string(), from_unsigned),
        ("5.eml".to_string(), unrelated),
        ("6.eml".to_string(), appended),
    ];
    ingest_files(&mut vault, &t.path().join("in"), &files);
    vault
        .add_dkim_keys(vec![key_entry(&signer, "test key")])
        .unwrap();
    let r = verify(&mut vault, false);
    let got = results(&vault);
    let get = |n: usize| got[&format!("dkim{n}@example.org")].clone();
    assert_eq!(get(1).0, "pass");
    assert_eq!(
        (get(2).0.as_str(), get(2).1.as_str()),
        ("fail", "body_hash_mismatch")
    );
    assert_eq!(
        (get(3).0.as_str(), get(3).1.as_str()),
        ("fail", "signature_mismatch")
    );
    assert_eq!(get(4).0, "pass");
    assert!(
        get(4).2.contains(&"from_not_signed".to_string()),
        "{:?}",
        get(4)
    );
    assert_eq!(get(5).0, "pass");
    assert!(
        get(5).2.contains(&"domain_unrelated_to_from".to_string()),
        "{:?}",
        get(5)
    );
    assert!(!get(1).2.contains(&"domain_unrelated_to_from".to_string()));
    assert_eq!(get(6).0, "pass");
    assert!(
        get(6).2.contains(&"body_length_limit".to_string()),
        "{:?}",
        get(6)
    );
    assert!(
        get(6).2.contains(&"unsigned_body_content".to_string()),
        "{:?}",
        get(6)
    );
    assert_eq!(r.totals.results["fail"], 2);
    assert_eq!(r.totals.reasons["body_hash_mismatch"], 1);
    assert_eq!(r.totals.warnings["from_not_signed"], 1);
}

#[test]
fn key_files_import_with_provenance_and_bad_lines_are_named() {
    let t = tempfile::tempdir().unwrap();
    let mut vault = Vault::init(t.path().join("v")).unwrap();
    let signer = Signer::new();
    let text = format!(
        "# keys archived in 2016\n{SELECTOR}._domainkey.{DOMAIN} \"{}\"\n\
         old._domainkey.{DOMAIN} v=DKIM1; k=rsa; p=\n\
         gone._domainkey.{DOMAIN} NXDOMAIN\n",
        signer.txt()
    );
    let entries = parse_key_file(&text, "imported from keys.txt", 1_700_000_000).unwrap();
    assert_eq!(vault.add_dkim_keys(entries).unwrap(), 3);
    let listed = vault.list_dkim_keys().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let new = listed.iter().find(|k| k.selector == SELECTOR).unwrap();
    assert_eq!(new.kind, "ed25519-256");
    assert_eq!(new.provenance, "imported from keys.txt");
    assert_eq!(new.added_at, 1_700_000_000);
    let old = listed.iter().find(|k| k.selector == "old").unwrap();
    assert_eq!(old.kind, "revoked");
    let store = vault.dkim_keys().unwrap();
    assert!(store.failure("gone", DOMAIN).is_some());

    let err = parse_key_file("this is not a key line\n", "x", 0).unwrap_err();
    assert!(err.to_string().contains("line 1"), "{err}");
}

/// The DKIM samples of ../shared/data: ingest the folder, verify, import the historic keys,
/// verify again (resume), and check that the vault stores what the library computes.
#[test]
fn shared_dkim_samples_through_the_vault() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let mut vault = Vault::init(t.path().join("v")).unwrap();
    common::ingest(&mut vault, &[&data.join("dkim")]).unwrap();
    let stats = vault.stats().unwrap();
    let first = verify(&mut vault, false);
    assert_eq!(first.checked as i64, stats.messages);
    let t1 = &first.totals;
    assert!(t1.signatures > 100, "{t1:?}");
    assert_eq!(t1.results["pass"], 0, "no keys yet: nothing can pass");
    assert_eq!(t1.results["fail"], 0, "no keys yet: nothing may fail");
    assert!(
        t1.results["legacy"] > 0 && t1.results["no_key"] > 0,
        "{t1:?}"
    );
    assert!(t1.unsigned > 0);

    let historic = data.join("dkim/keys/historic_public_keys.txt");
    let text = std::fs::read_to_string(&historic).unwrap();
    let entries = parse_key_file(&text, "imported from historic_public_keys.txt", 1).unwrap();
    let mut keys = KeyStore::new();
    keys.extend(entries.clone());
    assert!(vault.add_dkim_keys(entries).unwrap() > 0);
    let second = verify(&mut vault, false);
    assert!(
        second.checked > 0 && second.checked < first.checked,
        "resume re-opens only messages that lacked a key: {}",
        second.checked
    );
    let t2 = &second.totals;
    assert!(t2.results["pass"] >= 7, "{t2:?}");
    assert_eq!(t2.signatures, t1.signatures);
    assert_eq!(t2.messages, t1.messages);
    // Every signature that moved went from no_key to a verdict with a historic key.
    for row in vault.dkim_rows(None).unwrap() {
        if row.result == "pass" {
            assert_eq!(
                row.key_provenance.as_deref(),
                Some("imported from historic_public_keys.txt"),
                "{row:?}"
            );
        }
    }
    // The vault agrees with the library on every message.
    let mut by_id: BTreeMap<i64, Vec<(String, String)>> = BTreeMap::new();
    for row in vault.dkim_rows(None).unwrap() {
        by_id
            .entry(row.id)
            .or_default()
            .push((row.result, row.reason));
    }
    for id in 1..=stats.messages {
        let raw = vault.raw(id).unwrap();
        let lib: Vec<(String, String)> = verify_message(&raw, &keys, &VerifyOptions::default())
            .signatures
            .iter()
            .map(|s| (s.result.as_str().to_string(), s.reason.clone()))
            .collect();
        assert_eq!(by_id.remove(&id).unwrap_or_default(), lib, "message {id}");
    }
}
