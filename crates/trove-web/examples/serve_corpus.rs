//! Publishes the first N messages (`all`: every one) of a zstd-compressed
//! mboxrd corpus into a fresh publication and serves it: the server side of
//! `bench/http/run.sh`. The full-text index is kept next to PUBDIR
//! (`PUBDIR.index`), so a restart reuses it and the publication stays untouched.
//!
//! ```text
//! cargo run --release -p trove-web --example serve_corpus -- CORPUS.mbox.zst N PUBDIR 127.0.0.1:8089 [RATE [SEARCH_CACHE_BYTES]]
//! ```
//!
//! `SEARCH_CACHE_BYTES` 0 turns the search answer cache off (every search
//! runs; concurrent identical ones still run once); default: the server's.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 5 {
        return Err(
            "usage: serve_corpus CORPUS.mbox.zst N PUBDIR ADDR:PORT [RATE [SEARCH_CACHE_BYTES]]"
                .into(),
        );
    }
    let n: usize = if a[2] == "all" {
        usize::MAX
    } else {
        a[2].parse()?
    };
    let dir = PathBuf::from(&a[3]);
    if !dir.join("descriptor.json").exists() {
        let mut w = common::writer(&dir);
        let mut msgs = common::mbox_messages(std::path::Path::new(&a[1]), n);
        // A publication holds each source once: the archive has byte-identical copies.
        let mut seen = std::collections::HashSet::new();
        msgs.retain(|m| seen.insert(blake3::hash(m)));
        let drafts: Vec<_> = msgs
            .iter()
            .map(|m| common::draft(&mut w, m, vec![], vec![]))
            .collect();
        common::publish(&mut w, "Part 1", drafts, trove_publication::unix_now());
    }
    let rate = a.get(5).and_then(|r| r.parse().ok()).filter(|r| *r > 0);
    let search_cache_bytes = match a.get(6) {
        Some(b) => b.parse()?,
        None => trove_web::Config::default().search_cache_bytes,
    };
    // RATE 0 (or none) turns both budgets off: pages and /pub/.
    let config = trove_web::Config {
        search_cache_bytes,
        rate_limit: rate,
        pub_rate_limit: rate.map(|_| trove_web::Config::default().pub_rate_limit.unwrap_or(2_000)),
        max_concurrency: 1024,
        index_dir: Some(PathBuf::from(format!("{}.index", a[3]))),
        ..Default::default()
    };
    trove_web::run(&dir, &a[4], config, |addr| {
        println!("serving http://{addr}/")
    })?;
    Ok(())
}
