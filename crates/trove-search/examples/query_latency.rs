//! In-process query latency, for `bench/search`: opens an index once, runs each query of a
//! file (one per line) `RUNS` times after one warm-up, prints one JSON line per query with the
//! total and every run's time in microseconds.
//!
//! Each run is one [`Index::search`]: 20 hits with their stored fields and a snippet, the
//! total count, relevance order, no facets; `--sort date`, `--facets` and `--no-snippet` change
//! that.
//!
//! Usage: query_latency [--sort date|relevance] [--facets] [--no-snippet] INDEX_DIR QUERIES_FILE [RUNS]

use std::time::Instant;

use trove_search::{Index, SearchOptions, Sort};

const USAGE: &str =
    "usage: query_latency [--sort date|relevance] [--facets] [--no-snippet] INDEX_DIR QUERIES_FILE [RUNS]";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut opts = SearchOptions {
        limit: 20,
        ..SearchOptions::default()
    };
    let mut pos = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--facets" => opts.facets = true,
            "--no-snippet" => opts.snippet = false,
            "--sort" => {
                opts.sort = match args.next().as_deref() {
                    Some("date") => Sort::Date,
                    Some("relevance") => Sort::Relevance,
                    _ => {
                        eprintln!("{USAGE}");
                        std::process::exit(2);
                    }
                }
            }
            _ => pos.push(a),
        }
    }
    if pos.len() < 2 || pos.len() > 3 {
        eprintln!("{USAGE}");
        std::process::exit(2);
    }
    let index = Index::open(std::path::Path::new(&pos[0]))?;
    let runs: usize = pos.get(2).map(|s| s.parse()).transpose()?.unwrap_or(5);
    for q in std::fs::read_to_string(&pos[1])?
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let total = index.search(q, &opts)?.total;
        let mut us = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let r = index.search(q, &opts)?;
            us.push(t.elapsed().as_micros() as u64);
            assert_eq!(r.total, total);
        }
        println!(
            "{{\"query\":{},\"total\":{total},\"us\":{us:?}}}",
            serde_json::to_string(q)?
        );
    }
    Ok(())
}
