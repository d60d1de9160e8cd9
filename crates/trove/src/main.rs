//! The `trove` command: wiring only. Each subcommand lives in `cmd/` and calls one library
//! function; no SQL, signing, HTML or DKIM logic lives here.
//!
//! Exit codes: 0 success, 1 the command ran but found problems (unparseable messages,
//! skipped files, failed verifications), 2 an error stopped it.

#![forbid(unsafe_code)]

mod cli;
mod cmd;
mod ui;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("trove: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            std::process::exit(2);
        }
    }
}
