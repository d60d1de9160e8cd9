//! `trove verify`: DKIM/ARC verification of the vault, with a progress bar and a summary,
//! a full table (`--report`), one JSON object (`--json`) or one JSON line per signature
//! (`--jsonl`).

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use trove_vault::trove_dkim::{DnsKeyFetcher, Warning};
use trove_vault::{DkimTotals, Vault, VerifyReport, VerifyRun};

use crate::cli::VerifyArgs;
use crate::ui;

/// Results that mean something is wrong with a message or its key (exit code 1). `no_key`,
/// `unsupported` and `legacy` are unknowns, not problems.
const PROBLEMS: [&str; 4] = ["fail", "malformed", "key_malformed", "key_revoked"];

/// The current Unix time.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Parses `--dns-server`: `ADDR` (port 53) or `ADDR:PORT` (IPv6 as `[ADDR]:PORT`).
fn dns_server(text: &str) -> Result<SocketAddr> {
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Ok(a);
    }
    let ip: IpAddr = text.parse().with_context(|| {
        format!("--dns-server {text:?}: not an address (use 127.0.0.1 or 127.0.0.1:5353)")
    })?;
    Ok(SocketAddr::new(ip, 53))
}

/// Runs `trove verify`.
pub fn run(vault_dir: &Path, args: VerifyArgs) -> Result<i32> {
    let mut vault = Vault::open(vault_dir)?;
    let now = unix_now();
    let dns = if args.dns {
        let timeout = Duration::from_secs(args.dns_timeout.max(1));
        Some(match &args.dns_server {
            Some(s) => DnsKeyFetcher::new(&[dns_server(s)?], timeout)
                .with_context(|| format!("DNS resolver for {s}"))?,
            None => DnsKeyFetcher::system(timeout).context("system DNS resolver")?,
        })
    } else {
        None
    };
    let run = VerifyRun {
        all: args.all,
        now: if args.now { Some(now) } else { args.at },
        dns,
        checked_at: now,
    };
    let bar = ui::Bar::counting(args.quiet || args.json || args.jsonl, "verifying");
    let started = std::time::Instant::now();
    let report = vault.verify_dkim(&run, &bar)?;
    let seconds = started.elapsed().as_secs_f64();
    // The search index carries each message's DKIM result (`dkim:pass`): bring it up to date.
    super::search::refresh(&vault, args.quiet || args.json || args.jsonl);
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else if args.jsonl {
        let out = std::io::stdout();
        let mut out = out.lock();
        for row in vault.dkim_rows(None)? {
            if let Err(e) = writeln!(out, "{}", serde_json::to_string(&row)?) {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    break;
                }
                return Err(e.into());
            }
        }
    } else {
        print_summary(&report, seconds, args.report);
    }
    Ok(exit_code(&report.totals))
}

/// 1 when any stored signature is a problem (see [`PROBLEMS`]), else 0.
fn exit_code(t: &DkimTotals) -> i32 {
    let bad: u64 = PROBLEMS
        .iter()
        .map(|w| t.results.get(*w).copied().unwrap_or(0))
        .sum();
    i32::from(bad > 0)
}

/// The one-screen summary; with `full`, the table of every signing domain.
fn print_summary(r: &VerifyReport, seconds: f64, full: bool) {
    let t = &r.totals;
    println!(
        "Verified {} message(s) in {seconds:.1} s ({:.0} messages/s){}",
        r.checked,
        r.checked as f64 / seconds.max(0.001),
        if r.keys_fetched > 0 {
            format!("; {} key(s) fetched from DNS", r.keys_fetched)
        } else {
            String::new()
        }
    );
    println!("Vault totals:");
    println!("  messages checked {:>8}", t.messages);
    println!("  unsigned         {:>8}", t.unsigned);
    println!("  signatures       {:>8}", t.signatures);
    for (word, n) in &t.results {
        if *n > 0 {
            println!("    {word:<14} {n:>8}");
        }
    }
    if t.expired > 0 {
        println!(
            "  pass but expired {:>8}  (x= had passed; the cryptography holds)",
            t.expired
        );
    }
    if !t.reasons.is_empty() {
        println!("Reasons:");
        let mut reasons: Vec<_> = t.reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let shown = if full { reasons.len() } else { 8 };
        for (k, n) in reasons.iter().take(shown) {
            println!("  {k:<30} {n:>8}");
        }
    }
    if !t.warnings.is_empty() {
        println!("Warnings (a reader must be told):");
        for (k, n) in &t.warnings {
            let text = warning_text(k);
            println!("  {k:<26} {n:>8}  {text}");
        }
    }
    if !t.arc.is_empty() {
        let arc: Vec<String> = t.arc.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!("ARC chains: {}", arc.join(", "));
    }
    let mut domains: Vec<_> = t.domains.iter().collect();
    domains.sort_by(|a, b| {
        let sa: u64 = a.1.values().sum();
        let sb: u64 = b.1.values().sum();
        sb.cmp(&sa).then(a.0.cmp(b.0))
    });
    if domains.is_empty() {
        return;
    }
    let words: Vec<&str> = t
        .results
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, _)| k.as_str())
        .collect();
    let shown = if full { domains.len() } else { 10 };
    println!(
        "{}:",
        if full {
            "Signing domains".to_string()
        } else {
            format!(
                "Top signing domains (of {}; --report for all)",
                domains.len()
            )
        }
    );
    print!("  {:<36}", "domain");
    for w in &words {
        print!(" {w:>13}");
    }
    println!();
    for (d, counts) in domains.iter().take(shown) {
        print!("  {:<36}", truncate(d, 36));
        for w in &words {
            print!(" {:>13}", counts.get(*w).copied().unwrap_or(0));
        }
        println!();
    }
    if !full && r.checked == 0 && t.messages > 0 {
        println!("(nothing new to verify; --all verifies every message again)");
    }
}

fn warning_text(word: &str) -> &'static str {
    const ALL: [Warning; 9] = [
        Warning::BodyLengthLimit,
        Warning::UnsignedBodyContent,
        Warning::FromNotSigned,
        Warning::Sha1,
        Warning::WeakKey,
        Warning::DomainUnrelatedToFrom,
        Warning::TestingKey,
        Warning::UnsignedDuplicateHeader,
        Warning::TimestampInFuture,
    ];
    ALL.iter()
        .find(|w| w.as_str() == word)
        .map(|w| w.message())
        .unwrap_or("")
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(['…']).collect()
    }
}

/// The `"dkim"` member of `trove show ID --json`: whether the message was verified, each
/// signature's verdict (reason, warnings, key provenance) and the ARC result.
pub fn dkim_json(v: &Vault, id: i64) -> Result<serde_json::Value> {
    let checked = v.dkim_checked(id)?;
    let arc = v
        .arc_result(id)?
        .map(|(result, reason)| serde_json::json!({"result": result, "reason": reason}));
    Ok(serde_json::json!({
        "checked": checked,
        "signatures": v.dkim_rows(Some(id))?,
        "arc": arc,
    }))
}

/// The DKIM part of `trove show ID`: one block per signature.
pub fn print_dkim(v: &Vault, id: i64) -> Result<()> {
    if !v.dkim_checked(id)? {
        println!("DKIM:       not verified yet (run trove verify)");
        return Ok(());
    }
    let rows = v.dkim_rows(Some(id))?;
    if rows.is_empty() {
        println!("DKIM:       no signature");
    }
    for r in &rows {
        let reason = if r.reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", r.reason)
        };
        println!(
            "DKIM #{}:    {}{reason}  d={} s={} a={} c={}{}",
            r.sig_index,
            r.result,
            r.domain,
            r.selector,
            r.algorithm,
            r.canonicalization,
            r.body_length.map(|l| format!(" l={l}")).unwrap_or_default()
        );
        println!("            signed headers: {}", r.signed_headers.join(":"));
        if let Some(t) = r.timestamp {
            print!("            signed at {}", trove_vault::rfc3339(t));
            if let Some(x) = r.expiration {
                print!(
                    ", expires {}{}",
                    trove_vault::rfc3339(x),
                    if r.expired { " (expired)" } else { "" }
                );
            }
            println!();
        }
        if let Some(p) = &r.key_provenance {
            println!(
                "            key: {} bits, fingerprint {}, {p}",
                r.key_bits
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "?".into()),
                r.key_fingerprint.as_deref().unwrap_or("-")
            );
        }
        for w in &r.warnings {
            println!("            warning: {w}: {}", warning_text(w));
        }
    }
    if let Some((result, reason)) = v.arc_result(id)? {
        let reason = if reason.is_empty() {
            String::new()
        } else {
            format!(" ({reason})")
        };
        println!("ARC:        {result}{reason}");
    }
    Ok(())
}
