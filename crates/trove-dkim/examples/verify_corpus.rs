//! Benchmark driver (used by bench/dkim/run.sh): verifies every signed message of an mboxrd
//! corpus (.mbox or .mbox.zst) against a key file, on N threads, and prints one JSON line with
//! the timing and the summary. Only verification is timed; reading and splitting are not.
//!
//! `cargo run --release -p trove-dkim --example verify_corpus -- CORPUS KEYFILE [THREADS] [SIZES_OUT]`
//!
//! With SIZES_OUT, also writes the canonicalised body length of every signature trove checked
//! cryptographically (one per line), for the floor measurement in bench/dkim/floor.

#[path = "../tests/common/mboxrd.rs"]
mod mboxrd;

use std::io::Read;
use std::time::Instant;

use trove_dkim::{verify_message, KeyStore, SignatureResult, Summary, VerifyOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: verify_corpus CORPUS KEYFILE [THREADS] [SIZES_OUT]");
        std::process::exit(2);
    }
    let raw = std::fs::read(&args[1]).expect("corpus");
    let raw = if args[1].ends_with(".zst") {
        let mut out = Vec::new();
        zstd::Decoder::new(&raw[..])
            .and_then(|mut d| d.read_to_end(&mut out))
            .expect("zstd");
        out
    } else {
        raw
    };
    let messages: Vec<Vec<u8>> = mboxrd::split_mboxrd(&raw)
        .into_iter()
        .filter(|m| has_dkim_header(m))
        .collect();
    drop(raw);
    let mut keys = KeyStore::new();
    let key_text = std::fs::read_to_string(&args[2]).expect("key file");
    keys.import_key_file(&key_text, "bench", 0)
        .expect("key file");
    let threads: usize = args.get(3).and_then(|t| t.parse().ok()).unwrap_or(1).max(1);
    let opts = VerifyOptions::default();

    let start = Instant::now();
    let chunk = messages.len().div_ceil(threads).max(1);
    let summaries: Vec<Summary> = std::thread::scope(|scope| {
        let handles: Vec<_> = messages
            .chunks(chunk)
            .map(|part| {
                let (keys, opts) = (&keys, &opts);
                scope.spawn(move || {
                    let mut s = Summary::new();
                    for m in part {
                        s.add(&verify_message(m, keys, opts));
                    }
                    s
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker"))
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut summary = Summary::new();
    for s in &summaries {
        summary.merge(s);
    }
    summary.domains.clear();
    println!(
        "{{\"tool\":\"trove\",\"threads\":{threads},\"messages\":{},\"seconds\":{elapsed:.3},\"messages_per_second\":{:.1},\"summary\":{}}}",
        messages.len(),
        messages.len() as f64 / elapsed,
        serde_json::to_string(&summary).expect("json"),
    );

    if let Some(out) = args.get(4) {
        // Body sizes of the cryptographically checked signatures (pass or fail with a key).
        let mut lines = String::new();
        for m in &messages {
            let v = verify_message(m, &keys, &opts);
            for s in &v.signatures {
                if matches!(s.result, SignatureResult::Pass | SignatureResult::Fail) {
                    let body = body_len(m);
                    lines.push_str(&format!(
                        "{}\n",
                        s.body_length.map_or(body, |l| l.min(body as u64) as usize)
                    ));
                }
            }
        }
        std::fs::write(out, lines).expect("sizes file");
    }
}

fn has_dkim_header(m: &[u8]) -> bool {
    let head_end = m.windows(2).position(|w| w == b"\n\n").unwrap_or(m.len());
    m[..head_end]
        .split(|&b| b == b'\n')
        .any(|l| l.len() >= 15 && l[..15].eq_ignore_ascii_case(b"DKIM-Signature:"))
}

/// Body length in CRLF form (what is hashed; canonicalisation changes it by little).
fn body_len(m: &[u8]) -> usize {
    let start = m
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(m.len(), |p| p + 2);
    let body = &m[start..];
    body.len() + body.iter().filter(|&&b| b == b'\n').count()
}
