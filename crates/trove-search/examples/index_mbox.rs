//! Indexes an mbox (mboxrd, optionally `.zst`) and times a list of queries:
//! a sanity check of index build speed, index size and query latency.
//!
//! ```sh
//! cargo run --release -p trove-search --example index_mbox -- \
//!     ../shared/data/corpora/lore-io-uring.mbox.zst /tmp/io-idx [queries.txt]
//! ```
//!
//! The index directory is deleted and rebuilt. Each query (one per line in
//! the optional file, else a built-in list) runs 7 times; the median and the
//! slowest run are printed, then p50/p99 over all runs.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use trove_search::{Index, SearchOptions, Sort};

const QUERIES: &[&str] = &[
    "io_uring",
    "sqpoll",
    "\"fixed buffers\"",
    "\"use after free\"",
    "from:axboe@kernel.dk",
    "from:axboe",
    "to:io-uring@vger.kernel.org",
    "subject:liburing",
    "subject:\"io_uring/net\"",
    "subject:patch AND NOT subject:re",
    "subject:(regression OR bug)",
    "(sqpoll OR iopoll) date:2022",
    "date:2021-01-01..2021-01-31",
    "after:2025-06-01",
    "before:2020-01-01",
    "registered buffers",
    "cancel*",
    "has:attachment",
    "kernel",
    "NOT kernel",
    "list:io-uring",
    "from:axboe subject:liburing date:2023",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: index_mbox MBOX[.zst] INDEX_DIR [QUERIES_FILE]");
        std::process::exit(2);
    }
    let mbox = PathBuf::from(&args[1]);
    let dir = PathBuf::from(&args[2]);
    let queries: Vec<String> = match args.get(3) {
        Some(f) => std::fs::read_to_string(f)?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect(),
        None => QUERIES.iter().map(|s| s.to_string()).collect(),
    };

    let t = Instant::now();
    let raws = common::read_mbox(&mbox);
    let read = t.elapsed();

    Index::destroy(&dir)?;
    let t = Instant::now();
    let index = Index::open_or_create(&dir)?;
    let mut writer = index.writer()?;
    let mut parse_time = Duration::ZERO;
    for (i, raw) in raws.iter().enumerate() {
        let p = Instant::now();
        let doc = common::to_doc(i as u64 + 1, raw);
        parse_time += p.elapsed();
        writer.add(&doc)?;
    }
    writer.finish()?;
    let build = t.elapsed();
    drop(index);
    println!(
        "{} messages: read+decompress {read:.2?}; parse+index {build:.2?} (of which parse {parse_time:.2?}); index size {:.1} MiB",
        raws.len(),
        dir_size(&dir) as f64 / 1048576.0
    );

    let index = Index::open(&dir)?;
    let mut all = Vec::new();
    for q in &queries {
        for sort in [Sort::Relevance] {
            let opts = SearchOptions {
                limit: 20,
                sort,
                facets: false,
                ..SearchOptions::default()
            };
            let mut times = Vec::new();
            let mut total = 0;
            for _ in 0..7 {
                let t = Instant::now();
                match index.search(q, &opts) {
                    Ok(r) => total = r.total,
                    Err(e) => {
                        println!("{q:45} error: {e}");
                        break;
                    }
                }
                times.push(t.elapsed());
            }
            if times.is_empty() {
                continue;
            }
            times.sort();
            println!(
                "{q:45} {total:6} hits  p50 {:>9.2?}  max {:>9.2?}",
                times[times.len() / 2],
                times[times.len() - 1]
            );
            all.extend(times);
        }
    }
    let t = Instant::now();
    let r = index.search(
        "kernel",
        &SearchOptions {
            facets: true,
            ..SearchOptions::default()
        },
    )?;
    println!("facets over {} matches: {:.2?}", r.total, t.elapsed());
    all.sort();
    if !all.is_empty() {
        let pct = |p: f64| all[((all.len() - 1) as f64 * p) as usize];
        println!(
            "all queries: p50 {:.2?}  p99 {:.2?}  ({} runs)",
            pct(0.5),
            pct(0.99),
            all.len()
        );
    }
    Ok(())
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|it| {
            it.filter_map(|e| e.ok()?.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
