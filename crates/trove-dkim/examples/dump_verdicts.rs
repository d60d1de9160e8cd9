//! Writes the full verdict of every message of an mboxrd corpus (.mbox or .mbox.zst), one JSON
//! line per message in corpus order, so that a change to the verifier can be checked to leave
//! every verdict (result, reason, warnings, key, From domain, ARC) byte-identical:
//!
//! `cargo run --release -p trove-dkim --example dump_verdicts -- CORPUS KEYFILE > before.jsonl`
//! then the same after the change, and `cmp before.jsonl after.jsonl`.
//!
//! Every message is verified, signed or not (unsigned ones print `{"signatures":[],…}`), with
//! the default options (ARC included).

#[path = "../tests/common/mboxrd.rs"]
mod mboxrd;

use std::io::{Read, Write};

use trove_dkim::{verify_message, KeyStore, VerifyOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: dump_verdicts CORPUS KEYFILE > verdicts.jsonl");
        std::process::exit(2);
    }
    let raw = match std::fs::read(&args[1]) {
        Ok(raw) => raw,
        Err(e) => fail(&format!("{}: {e}", args[1])),
    };
    let raw = if args[1].ends_with(".zst") {
        let mut out = Vec::new();
        if let Err(e) = zstd::Decoder::new(&raw[..]).and_then(|mut d| d.read_to_end(&mut out)) {
            fail(&format!("{}: {e}", args[1]));
        }
        out
    } else {
        raw
    };
    let mut keys = KeyStore::new();
    let key_text = match std::fs::read_to_string(&args[2]) {
        Ok(text) => text,
        Err(e) => fail(&format!("{}: {e}", args[2])),
    };
    if let Err(e) = keys.import_key_file(&key_text, "dump", 0) {
        fail(&format!("{}: {e}", args[2]));
    }
    let opts = VerifyOptions::default();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for m in mboxrd::split_mboxrd(&raw) {
        let verdict = verify_message(&m, &keys, &opts);
        let line = serde_json::to_string(&verdict).expect("verdicts serialise");
        if writeln!(out, "{line}").is_err() {
            fail("write error");
        }
    }
    if out.flush().is_err() {
        fail("write error");
    }
}

fn fail(message: &str) -> ! {
    eprintln!("dump_verdicts: {message}");
    std::process::exit(1);
}
