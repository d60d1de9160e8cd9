//! `trove export static`: the publication as a static website (the work is in
//! `trove_web::export`).

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use trove_vault::release::unix_now;
use trove_web::export::{export_static, ExportOptions, ExportProgress};

use crate::cli::{ExportCommand, ExportStaticArgs};
use crate::ui::bytes;

/// An indicatif bar over the export's steps (messages, then listings).
struct Bar(ProgressBar);

impl ExportProgress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn step(&self, what: &str) {
        self.0.inc(1);
        if self.0.message() != what {
            self.0.set_message(what.to_string());
        }
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// Runs one `trove export` subcommand.
pub fn run(cmd: ExportCommand) -> Result<i32> {
    match cmd {
        ExportCommand::Static(a) => run_static(a),
    }
}

fn run_static(a: ExportStaticArgs) -> Result<i32> {
    let bar = if a.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let opts = ExportOptions {
        full: a.full,
        now: a.now.unwrap_or_else(unix_now),
    };
    let r = export_static(&a.pubdir, &a.out, &opts, &Bar(bar))?;
    println!(
        "Exported {} messages in {} releases to {} in {:.1} s{}.",
        r.messages,
        r.releases,
        r.out.display(),
        r.elapsed.as_secs_f64(),
        if r.incremental { " (incremental)" } else { "" }
    );
    println!(
        "  files: {} written, {} reused from the previous export; {} in all",
        r.written,
        r.reused,
        bytes(r.bytes)
    );
    println!(
        "  search index: {} terms in {} shards, {}",
        r.index.terms,
        r.index.shards,
        bytes(r.index.bytes)
    );
    println!(
        "  publication copy: {} files, {} under pub/ (verified)",
        r.pub_files,
        bytes(r.pub_bytes)
    );
    for w in &r.warnings {
        println!("  warning: {w}");
    }
    println!(
        "Open {}/index.html over HTTP (e.g. python3 -m http.server -d {}); mirrors pull from …/pub/.",
        r.out.display(),
        r.out.display()
    );
    Ok(if r.warnings.is_empty() { 0 } else { 1 })
}
