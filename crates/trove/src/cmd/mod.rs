//! One file per subcommand; `run` dispatches.

mod demo;
mod export;
mod ingest;
mod keys;
mod mirror;
mod publication;
mod release;
pub(crate) mod search;
mod serve;
mod show;
mod verify;

use std::path::PathBuf;

use anyhow::Result;
use trove_vault::Vault;

use crate::cli::{Cli, Command};

/// Runs the parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<i32> {
    let vault_dir = cli.vault.clone().unwrap_or_else(|| PathBuf::from("."));
    match cli.command {
        Command::Init { dir } => {
            let v = Vault::init(&dir)?;
            println!(
                "Created vault {} (publisher key {}).\nNext: trove --vault {} ingest DUMP...",
                dir.display(),
                v.public_key_hex()?,
                dir.display()
            );
            Ok(0)
        }
        Command::Ingest(args) => ingest::run(&vault_dir, args),
        Command::Stats { json } => show::stats(&Vault::open(&vault_dir)?, json),
        Command::List {
            from,
            since,
            until,
            limit,
            json,
        } => show::list(&Vault::open(&vault_dir)?, from, since, until, limit, json),
        Command::Show {
            id,
            signed_data: Some(dir),
            ..
        } => show::signed_data(&Vault::open(&vault_dir)?, id, &dir),
        Command::Show { id, raw, json, .. } => show::show(&Vault::open(&vault_dir)?, id, raw, json),
        Command::Demo(args) => demo::run(args),
        Command::Release(c) => release::run(&vault_dir, c),
        Command::Publication(c) => publication::run(c),
        Command::Search(args) => search::run(&vault_dir, args),
        Command::Reindex { quiet, json } => search::reindex(&vault_dir, quiet, json),
        Command::Serve(args) => serve::run(args),
        Command::Mirror(args) => mirror::run(args),
        Command::Verify(args) => verify::run(&vault_dir, args),
        Command::Keys(c) => keys::run(&vault_dir, c),
        Command::Export(c) => export::run(c),
    }
}
