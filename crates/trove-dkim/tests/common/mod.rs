//! Shared helpers for the integration tests: locating ../shared/data, loading key stores,
//! reading mboxrd corpora.
#![allow(dead_code)]

use std::path::PathBuf;

use trove_dkim::{split_inline_records, KeyStore};

pub mod expected;
pub mod mboxrd;

/// `../shared/data` next to the repository, if present.
pub fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: ../shared/data not found");
        None
    }
}

/// A key store from key files under `data/dkim/`.
pub fn store_from_files(data: &std::path::Path, files: &[&str]) -> KeyStore {
    let mut keys = KeyStore::new();
    for f in files {
        let path = data.join("dkim").join(f);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        keys.import_key_file(&text, &format!("imported from {f}"), 1_700_000_000)
            .unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    keys
}

/// Splits a Stalwart inline test file into a key store and the message.
pub fn inline_store(bytes: &[u8]) -> (KeyStore, Vec<u8>) {
    let (entries, message) = split_inline_records(bytes, "inline", 0).expect("inline records");
    let mut keys = KeyStore::new();
    keys.extend(entries);
    (keys, message.to_vec())
}
