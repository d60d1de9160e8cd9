//! Ingest of the real corpora in `../shared/data` (skipped when it is absent).
//!
//! - Each lore corpus: stored + duplicates equals the message count in the data README, and
//!   every stored message's bytes equal those an independent mboxrd reader (written here,
//!   differently from the vault's) cuts out of the same mbox.
//! - The whole data tree except the big corpora (malformed, dkim, pst, attachments): no
//!   panic, and every file is accounted for as a source, an occurrence or a skipped entry.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use common::*;
use trove_vault::Vault;

/// Independent mboxrd reader: split at `\nFrom ` boundaries, drop the envelope line and the
/// separating blank line, remove one `>` from `>+From ` lines.
fn independent_split(mbox: &[u8]) -> Vec<Vec<u8>> {
    let mut starts = Vec::new();
    if mbox.starts_with(b"From ") {
        starts.push(0);
    }
    let mut i = 0;
    while let Some(p) = mbox[i..].windows(6).position(|w| w == b"\nFrom ") {
        starts.push(i + p + 1);
        i += p + 1;
    }
    let mut out = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(mbox.len());
        let chunk = &mbox[s..end];
        let body_start = chunk
            .iter()
            .position(|&b| b == b'\n')
            .map_or(chunk.len(), |p| p + 1);
        let mut body = &chunk[body_start..];
        if body.ends_with(b"\n\n") {
            body = &body[..body.len() - 1];
        }
        let text: Vec<u8> = body
            .split_inclusive(|&b| b == b'\n')
            .flat_map(|line| {
                let gt = line.iter().take_while(|&&b| b == b'>').count();
                if gt > 0 && line[gt..].starts_with(b"From ") {
                    line[1..].to_vec()
                } else {
                    line.to_vec()
                }
            })
            .collect();
        out.push(text);
    }
    out
}

fn check_corpus(name: &str, expected: u64) {
    let Some(data) = shared_data() else { return };
    let path = data.join("corpora").join(name);
    let t = tempfile::tempdir().unwrap();
    let mut v = Vault::init(t.path().join("vault")).unwrap();
    // Durability (fsync) is not what this test is about, and fsyncing 38k blobs dominates
    // its time on a shared CI disk; crash safety is tested in crates/trove/tests/cli/crash.rs.
    let r = v
        .ingest(
            &trove_vault::IngestOptions {
                paths: vec![path.clone()],
                no_fsync: true,
                ..Default::default()
            },
            &trove_vault::NoProgress,
        )
        .unwrap();
    assert_eq!(r.seen, expected, "{name}: messages seen");
    assert_eq!(
        r.stored + r.duplicates,
        expected,
        "{name}: stored + duplicates"
    );
    assert_eq!(r.unparseable, 0, "{name}");
    let stats = v.stats().unwrap();
    assert_eq!(stats.messages as u64, r.stored);
    assert!(stats.threads > 0 && stats.threads < stats.messages);

    let raw = zstd::decode_all(std::fs::File::open(&path).unwrap()).unwrap();
    let msgs = independent_split(&raw);
    assert_eq!(
        msgs.len() as u64,
        expected,
        "{name}: independent reader count"
    );
    let mut by_locator: HashMap<String, i64> = HashMap::new();
    let conn = v.connection();
    let mut st = conn
        .prepare("SELECT locator, message FROM occurrences")
        .unwrap();
    for row in st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
    {
        let (l, m) = row.unwrap();
        by_locator.insert(l, m);
    }
    for (i, m) in msgs.iter().enumerate() {
        let id = by_locator[&i.to_string()];
        let stored = v.raw(id).unwrap();
        assert!(
            stored == *m,
            "{name}: message {i} (vault id {id}) differs from the independent reader"
        );
    }
    assert!(v.check().unwrap().is_empty());
    eprintln!(
        "{name}: {} seen, {} stored, {} duplicates, {} threads, {} attachments",
        r.seen, r.stored, r.duplicates, stats.threads, stats.attachments
    );
}

#[test]
fn lore_kasan_dev() {
    check_corpus("lore-kasan-dev-2022-2023.mbox.zst", 5_332);
}

#[test]
fn lore_io_uring() {
    check_corpus("lore-io-uring.mbox.zst", 33_494);
}

#[test]
fn lore_freedreno() {
    check_corpus("lore-freedreno.mbox.zst", 38_637);
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn every_sample_file_is_accounted_for() {
    let Some(data) = shared_data() else { return };
    let t = tempfile::tempdir().unwrap();
    let mut v = Vault::init(t.path().join("vault")).unwrap();
    let dirs: Vec<PathBuf> = ["malformed", "dkim", "pst", "attachments"]
        .iter()
        .map(|d| data.join(d))
        .collect();
    let refs: Vec<&Path> = dirs.iter().map(|p| p.as_path()).collect();
    let r = ingest(&mut v, &refs).unwrap();
    assert!(r.stored > 500, "{r:?}");

    let conn = v.connection();
    let sources: HashMap<i64, String> = conn
        .prepare("SELECT id, path FROM sources")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let source_paths: HashSet<&String> = sources.values().collect();
    let mut placed: HashSet<String> = HashSet::new();
    for table in ["occurrences", "skipped"] {
        let mut st = conn
            .prepare(&format!("SELECT source, locator FROM {table}"))
            .unwrap();
        for row in st
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .unwrap()
        {
            let (s, l) = row.unwrap();
            placed.insert(format!("{}/{}", sources[&s], l));
        }
    }
    let mut files = Vec::new();
    for d in &dirs {
        all_files(d, &mut files);
    }
    let mut missing = Vec::new();
    for f in &files {
        let c = std::fs::canonicalize(f).unwrap();
        let key = c.to_string_lossy().into_owned();
        if source_paths.contains(&key) {
            continue; // an mbox, archive or single message file of its own
        }
        let parent = c.parent().unwrap().to_string_lossy().into_owned();
        let name = c.file_name().unwrap().to_string_lossy().into_owned();
        // Loose files are placed by name; maildir files by their unique part, under cur/ or new/.
        let (unique, _) = trove_vault::ingest::input::maildir_name(&name);
        let grand = c
            .parent()
            .and_then(|p| p.parent())
            .map(|p| p.to_string_lossy().into_owned());
        let ok = placed.contains(&format!("{parent}/{name}"))
            || grand.is_some_and(|g| placed.contains(&format!("{g}/{unique}")));
        if !ok {
            missing.push(f.display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} files unaccounted for: {:?}",
        missing.len(),
        files.len(),
        &missing[..missing.len().min(10)]
    );
    eprintln!(
        "samples: {} files, {} stored, {} duplicates, {} unparseable, {} with problems, {} skipped",
        files.len(),
        r.stored,
        r.duplicates,
        r.unparseable,
        r.with_problems,
        r.skipped
    );
}
