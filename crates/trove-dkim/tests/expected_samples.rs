//! Data-driven: every row of ../shared/data/dkim/EXPECTED.tsv gets the verdict trove should
//! give. Where the upstream suite (Mail::DKIM) and dkimpy disagree, trove follows RFC 6376;
//! each such choice is listed in `trove_expectation` with its reason.

mod common;

use common::expected::{rows, trove_expectation, Row};

use std::collections::BTreeMap;
use std::path::Path;

use trove_dkim::{verify_message, KeyStore, SignatureKind, SignatureResult, VerifyOptions};

fn store_for(data: &Path, row: &Row, raw: &[u8]) -> (KeyStore, Vec<u8>) {
    if row.key_source.starts_with("(inline") {
        return common::inline_store(raw);
    }
    let file = row.key_source.split_whitespace().next().unwrap_or_default();
    // MimeKit's gmail.pub is the same key as the historic file's (checked in keys.rs tests).
    (common::store_from_files(data, &[file]), raw.to_vec())
}

#[test]
fn every_expected_row_is_reproduced() {
    let Some(data) = common::data_dir() else {
        return;
    };
    let rows = rows(&data);
    assert!(rows.len() >= 110, "EXPECTED.tsv has {} rows", rows.len());
    let mut failures = Vec::new();
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for row in &rows {
        let raw = std::fs::read(data.join("dkim").join(&row.path)).expect(&row.path);
        let (keys, message) = store_for(&data, row, &raw);
        let opts = VerifyOptions {
            now: row.verify_time,
            ..VerifyOptions::default()
        };
        let verdict = verify_message(&message, &keys, &opts);
        let (want, want_reason) = trove_expectation(row);
        let got = match row.sig_index {
            Some(i) => verdict.signatures.get(i).cloned(),
            // Rows without a DKIM signature: the first DomainKeys signature.
            None => verdict
                .signatures
                .iter()
                .find(|s| s.kind == SignatureKind::DomainKeys)
                .cloned(),
        };
        let Some(got) = got else {
            failures.push(format!(
                "{} sig {:?}: no such signature",
                row.path, row.sig_index
            ));
            continue;
        };
        *tally.entry(got.result.to_string()).or_default() += 1;
        if row.sig_index.is_some() && row.d != "?" && (got.domain != row.d || got.selector != row.s)
        {
            failures.push(format!(
                "{}: d/s {} {} != {} {}",
                row.path, got.domain, got.selector, row.d, row.s
            ));
        }
        if got.result.as_str() != want || want_reason.is_some_and(|r| r != got.reason) {
            failures.push(format!(
                "{} sig {:?}: got {} ({}), want {} ({:?}); dkimpy: {}; upstream: {}",
                row.path,
                row.sig_index,
                got.result,
                got.reason,
                want,
                want_reason,
                row.dkimpy,
                row.upstream
            ));
        }
    }
    println!("{tally:?}");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn ignore_7_is_expired_at_a_given_time() {
    let Some(data) = common::data_dir() else {
        return;
    };
    let keys = common::store_from_files(&data, &["perl-mail-dkim/FAKE_DNS.dat"]);
    let raw = std::fs::read(data.join("dkim/perl-mail-dkim/corpus/ignore_7.txt")).unwrap();
    let opts = VerifyOptions {
        now: Some(1_800_000_000),
        ..VerifyOptions::default()
    };
    let sig = verify_message(&raw, &keys, &opts).signatures[0].clone();
    assert_eq!(
        (sig.result, sig.reason.as_str(), sig.expired),
        (SignatureResult::Pass, "expired", true)
    );
    let before = VerifyOptions {
        now: Some(1_193_229_000),
        ..VerifyOptions::default()
    };
    assert!(!verify_message(&raw, &keys, &before).signatures[0].expired);
}

/// The verifier splits an LF-only header section without copying it to CRLF and converts
/// only what simple canonicalisation hashes: every sample must get the same verdicts with its
/// line endings as stored, all CRLF, and all bare LF (mbox and maildir files store LF).
#[test]
fn line_endings_do_not_change_any_verdict() {
    let Some(data) = common::data_dir() else {
        return;
    };
    // Every CRLF becomes LF (a CR elsewhere is kept).
    let to_lf = |raw: &[u8]| -> Vec<u8> {
        let mut out = Vec::with_capacity(raw.len());
        for (i, &b) in raw.iter().enumerate() {
            if b != b'\r' || raw.get(i + 1) != Some(&b'\n') {
                out.push(b);
            }
        }
        out
    };
    let to_crlf = |raw: &[u8]| -> Vec<u8> {
        let lf = to_lf(raw);
        let mut out = Vec::with_capacity(lf.len() * 21 / 20);
        for &b in &lf {
            if b == b'\n' {
                out.push(b'\r');
            }
            out.push(b);
        }
        out
    };
    let (mut compared, mut simple_keyed) = (0, 0);
    let mut failures = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for row in rows(&data) {
        if !seen.insert(row.path.clone()) {
            continue;
        }
        let raw = std::fs::read(data.join("dkim").join(&row.path)).expect(&row.path);
        let (keys, message) = store_for(&data, &row, &raw);
        let opts = VerifyOptions {
            now: row.verify_time,
            ..VerifyOptions::default()
        };
        let verdicts = |m: &[u8]| {
            let v = verify_message(m, &keys, &opts);
            let sigs: Vec<_> = v
                .signatures
                .iter()
                .map(|s| {
                    (
                        s.result,
                        s.reason.clone(),
                        s.header_canonicalization.clone(),
                    )
                })
                .collect();
            (sigs, v.arc.map(|a| format!("{a:?}")))
        };
        let stored = verdicts(&message);
        simple_keyed += stored
            .0
            .iter()
            .filter(|(r, _, c)| *r == SignatureResult::Pass && c == "simple")
            .count();
        for (form, converted) in [("LF", to_lf(&message)), ("CRLF", to_crlf(&message))] {
            let got = verdicts(&converted);
            if got != stored {
                failures.push(format!("{} as {form}: {got:?} != {stored:?}", row.path));
            }
        }
        compared += 1;
    }
    assert!(compared >= 60, "only {compared} samples compared");
    // The case the conversion exists for must be among them.
    assert!(
        simple_keyed >= 3,
        "only {simple_keyed} passing simple-canonicalised signatures"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
