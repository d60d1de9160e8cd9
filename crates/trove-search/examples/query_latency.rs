//! In-process query latency, for `bench/search`: opens an index, runs each query of a file
//! (one per line) `RUNS` times after one warm-up, prints one JSON line per query with the
//! total and every run's time in microseconds.
//!
//! Usage: query_latency INDEX_DIR QUERIES_FILE [RUNS]

use std::time::Instant;

use trove_search::{Index, SearchOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: query_latency INDEX_DIR QUERIES_FILE [RUNS]");
        std::process::exit(2);
    }
    let index = Index::open(std::path::Path::new(&args[1]))?;
    let runs: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(5);
    let opts = SearchOptions {
        limit: 20,
        ..SearchOptions::default()
    };
    for q in std::fs::read_to_string(&args[2])?
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
