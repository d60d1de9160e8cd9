//! `trove publication verify`: check a publication with nothing but its files.

use std::path::Path;

use anyhow::{bail, Context, Result};
use trove_vault::release::{unix_now, verify_dir, PublicKey, VerifyOptions};

use crate::cli::PublicationCommand;

/// Runs one `trove publication` subcommand. Exit 0: verifies; 1: problems found.
pub fn run(cmd: PublicationCommand) -> Result<i32> {
    match cmd {
        PublicationCommand::Verify { target, key, now } => {
            if target.starts_with("http://") || target.starts_with("https://") {
                return super::mirror::verify_url(&target, key.as_deref(), now);
            }
            let dir = Path::new(&target);
            if !dir.is_dir() {
                bail!("{target}: not a directory");
            }
            let mut opts = VerifyOptions::new(now.unwrap_or_else(unix_now));
            if let Some(k) = key {
                opts.pinned_key = Some(
                    PublicKey::from_hex(&k)
                        .with_context(|| format!("--key {k:?} is not a 32-byte hex key"))?,
                );
            }
            let report = verify_dir(dir, &opts);
            println!("{report}");
            Ok(if report.is_ok() { 0 } else { 1 })
        }
    }
}
