//! `trove ingest`: read dumps into the vault, with a progress bar and a one-screen summary.

use std::path::Path;

use anyhow::Result;
use trove_vault::{IngestOptions, IngestReport, Limits, Vault};

use crate::cli::IngestArgs;
use crate::ui;

/// Runs `trove ingest`.
pub fn run(vault_dir: &Path, args: IngestArgs) -> Result<i32> {
    let mut vault = Vault::open(vault_dir)?;
    let opts = IngestOptions {
        paths: args.paths,
        limits: Limits {
            max_message: args.max_message_size,
            max_expanded: args.max_expanded,
            max_entries: args.max_entries,
            max_ratio: args.max_ratio,
            ..Limits::default()
        },
        no_fsync: args.no_fsync,
    };
    let bar = ui::Bar::new(args.quiet || args.json);
    let report = vault.ingest(&opts, &bar)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_summary(&report);
    }
    super::search::refresh(&vault, args.quiet || args.json);
    Ok(if report.unparseable > 0 || report.skipped > 0 {
        1
    } else {
        0
    })
}

fn print_summary(r: &IngestReport) {
    let rate = r.seen as f64 / r.seconds.max(0.001);
    println!(
        "Ingested {} input unit(s) in {:.1} s ({rate:.0} messages/s)",
        r.units, r.seconds
    );
    println!("  seen             {:>10}", r.seen);
    println!("  stored (new)     {:>10}", r.stored);
    println!(
        "  duplicates       {:>10}  (exact copies, linked to each source)",
        r.duplicates
    );
    if r.already_ingested > 0 {
        println!(
            "  already in vault {:>10}  (re-ingested sources add nothing)",
            r.already_ingested
        );
    }
    println!(
        "  unparseable      {:>10}  (stored raw and flagged)",
        r.unparseable
    );
    println!("  with problems    {:>10}", r.with_problems);
    if r.same_message_id > 0 {
        println!(
            "  same Message-ID  {:>10}  (different bytes, kept apart and linked)",
            r.same_message_id
        );
    }
    println!("  attachments      {:>10}", r.attachments);
    println!("  bytes            {:>10}", ui::bytes(r.bytes));
    println!("  skipped (not mail) {:>8}", r.skipped);
    if let Some((a, b)) = r.id_range {
        println!("  new ids          {a}..={b}");
    }
    if !r.notes.is_empty() {
        println!("First problems:");
        for n in r.notes.iter().take(8) {
            match n.id {
                Some(id) => println!("  #{id} {}: {} — {}", n.input, n.code, n.detail),
                None => println!("  {}: {} — {}", n.input, n.code, n.detail),
            }
        }
        if r.notes.len() > 8 {
            println!("  … (trove list / trove show ID for the rest)");
        }
    }
}
