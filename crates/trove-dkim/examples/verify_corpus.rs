//! Benchmark driver (used by bench/dkim/run.sh): verifies every signed message of an mboxrd
//! corpus (.mbox or .mbox.zst) against a key file, on N threads, and prints one JSON line with
//! the timing and the summary. Only verification is timed; reading and splitting are not.
//!
//! `cargo run --release -p trove-dkim --example verify_corpus -- [--no-arc] [--keyed-only] [--repeat N] [--signed-data OUT] CORPUS KEYFILE [THREADS] [SIZES_OUT]`
//!
//! `--no-arc` verifies DKIM only (what dkimpy's `verify` does, for a like-for-like comparison).
//! `--keyed-only` keeps only the messages all of whose signatures trove checks with a key
//! (pass or fail): trove's cost where it does the floor's work, signature for signature.
//! `--repeat N` verifies the corpus N times and reports the fastest pass (the machine is
//! shared: the minimum is the pass least disturbed by other jobs; one pass is under a second,
//! and CPU time is counted in 10 ms ticks).
//!
//! `--signed-data OUT` also writes, for every signature trove checked with a key, the exact
//! bytes its cryptography covered (`trove_dkim::signed_data`): for the floor in
//! bench/dkim/floor that does trove's cryptography on trove's data. Records, little-endian:
//! an algorithm byte (0 rsa-sha256, 1 rsa-sha1, 2 ed25519-sha256), then the decoded `p=`, the
//! signature, the header block and the canonical body (cut to `l=`), each as a u32 length and
//! its bytes.
//!
//! With SIZES_OUT, also writes one line per signature, `<body bytes> <keyed>`: the length of
//! the body the signature covers (CRLF form, limited by `l=`) and 1 when trove checked it
//! cryptographically (key known: pass or fail), else 0; for the floors in bench/dkim/floor.

#[path = "../tests/common/mboxrd.rs"]
mod mboxrd;

use std::io::Read;
use std::time::Instant;

use trove_dkim::{verify_message, KeyStore, SignatureResult, Summary, VerifyOptions};

fn main() {
    let mut all: Vec<String> = std::env::args().collect();
    let no_arc = all.iter().any(|a| a == "--no-arc");
    let keyed_only = all.iter().any(|a| a == "--keyed-only");
    let mut repeat = 1usize;
    if let Some(i) = all.iter().position(|a| a == "--repeat") {
        repeat = all
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| {
                eprintln!("--repeat needs a positive number");
                std::process::exit(2);
            });
        all.drain(i..i + 2);
    }
    let mut signed_data_out = None;
    if let Some(i) = all.iter().position(|a| a == "--signed-data") {
        signed_data_out = Some(all.get(i + 1).cloned().unwrap_or_else(|| {
            eprintln!("--signed-data needs a file");
            std::process::exit(2);
        }));
        all.drain(i..(i + 2).min(all.len()));
    }
    let args: Vec<String> = all
        .into_iter()
        .filter(|a| a != "--no-arc" && a != "--keyed-only")
        .collect();
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
    let mut messages: Vec<Vec<u8>> = mboxrd::split_mboxrd(&raw)
        .into_iter()
        .filter(|m| has_dkim_header(m))
        .collect();
    drop(raw);
    let mut keys = KeyStore::new();
    let key_text = std::fs::read_to_string(&args[2]).expect("key file");
    keys.import_key_file(&key_text, "bench", 0)
        .expect("key file");
    if keyed_only {
        let opts = VerifyOptions::default();
        messages.retain(|m| {
            let v = verify_message(m, &keys, &opts);
            !v.signatures.is_empty() && v.signatures.iter().all(|s| keyed(s.result))
        });
    }
    let threads: usize = args.get(3).and_then(|t| t.parse().ok()).unwrap_or(1).max(1);
    let opts = VerifyOptions {
        verify_arc: !no_arc,
        ..VerifyOptions::default()
    };

    let chunk = messages.len().div_ceil(threads).max(1);
    let mut best: Option<(f64, f64, Vec<Summary>)> = None;
    for _ in 0..repeat {
        let cpu_start = cpu_seconds();
        let start = Instant::now();
        let summaries = verify_all(&messages, chunk, &keys, &opts);
        let elapsed = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu_start;
        if best.as_ref().is_none_or(|(e, _, _)| elapsed < *e) {
            best = Some((elapsed, cpu, summaries));
        }
    }
    let (elapsed, cpu, summaries) = best.expect("at least one pass");
    let mut summary = Summary::new();
    for s in &summaries {
        summary.merge(s);
    }
    summary.domains.clear();
    println!(
        "{{\"tool\":\"trove\",\"arc\":{},\"threads\":{threads},\"passes\":{repeat},\"messages\":{},\"seconds\":{elapsed:.3},\"cpu_seconds\":{cpu:.2},\"messages_per_second\":{:.1},\"messages_per_cpu_second\":{:.1},\"summary\":{}}}",
        !no_arc,
        messages.len(),
        messages.len() as f64 / elapsed,
        messages.len() as f64 / cpu.max(0.01),
        serde_json::to_string(&summary).expect("json"),
    );
    write_sizes(args.get(4), &messages, &keys, &opts);
    if let Some(out) = signed_data_out {
        write_signed_data(&out, &messages, &keys, &opts);
    }
}

/// Writes the `--signed-data` records (see the module doc).
fn write_signed_data(out: &str, messages: &[Vec<u8>], keys: &KeyStore, opts: &VerifyOptions) {
    let mut bytes = Vec::new();
    let put = |bytes: &mut Vec<u8>, part: &[u8]| {
        bytes.extend_from_slice(&u32::try_from(part.len()).expect("part size").to_le_bytes());
        bytes.extend_from_slice(part);
    };
    for m in messages {
        for data in trove_dkim::signed_data(m, keys, opts) {
            bytes.push(match data.algorithm.as_str() {
                "rsa-sha256" => 0,
                "rsa-sha1" => 1,
                _ => 2,
            });
            for part in [
                &data.public_key,
                &data.signature,
                &data.header_block,
                &data.body,
            ] {
                put(&mut bytes, part);
            }
        }
    }
    std::fs::write(out, bytes).expect("signed data file");
}

/// Verifies every message on `messages.len() / chunk` threads; one summary per thread.
fn verify_all(
    messages: &[Vec<u8>],
    chunk: usize,
    keys: &KeyStore,
    opts: &VerifyOptions,
) -> Vec<Summary> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = messages
            .chunks(chunk)
            .map(|part| {
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
    })
}

/// With SIZES_OUT given, writes the body size of every signature and whether it was checked
/// with a key (pass or fail), for bench/dkim/floor.
fn write_sizes(out: Option<&String>, messages: &[Vec<u8>], keys: &KeyStore, opts: &VerifyOptions) {
    if let Some(out) = out {
        let mut lines = String::new();
        for m in messages {
            let v = verify_message(m, keys, opts);
            let body = body_len(m);
            for s in &v.signatures {
                let keyed = keyed(s.result);
                lines.push_str(&format!(
                    "{} {}\n",
                    s.body_length.map_or(body, |l| l.min(body as u64) as usize),
                    u8::from(keyed)
                ));
            }
        }
        std::fs::write(out, lines).expect("sizes file");
    }
}

/// Checked with a key: the signatures the floor's RSA verify stands for.
fn keyed(result: SignatureResult) -> bool {
    matches!(result, SignatureResult::Pass | SignatureResult::Fail)
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

/// User + system CPU time of this process (Linux `/proc/self/stat`, 100 ticks per second):
/// the machine is shared, so wall-clock rates alone would measure the neighbours too.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
