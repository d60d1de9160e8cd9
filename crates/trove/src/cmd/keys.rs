//! `trove keys add|import|list`: the historic DKIM key store.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use trove_vault::trove_dkim::{parse_key_file, KeyFileEntry, KeyRecord, KeyStatus};
use trove_vault::{rfc3339, Vault};

use crate::cli::KeysCommand;
use crate::cmd::verify::unix_now;

/// Runs `trove keys …`.
pub fn run(vault_dir: &Path, cmd: KeysCommand) -> Result<i32> {
    match cmd {
        KeysCommand::Add {
            domain,
            selector,
            pem,
            base64,
            txt,
            source,
        } => {
            let (input, what) = match (pem, base64, txt) {
                (Some(path), _, _) => (
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("reading PEM file {}", path.display()))?,
                    format!("PEM file {}", path.display()),
                ),
                (None, Some(b), _) => (b, "base64".to_string()),
                (None, None, Some(t)) => (t, "TXT record text".to_string()),
                (None, None, None) => anyhow::bail!("give the key with --pem, --base64 or --txt"),
            };
            let provenance = source.unwrap_or_else(|| format!("added by hand ({what})"));
            let record =
                KeyRecord::from_user_input(&selector, &domain, &input, &provenance, unix_now())
                    .with_context(|| format!("key {selector}._domainkey.{domain} ({what})"))?;
            let line = describe(&record);
            let mut vault = Vault::open(vault_dir)?;
            let added = vault.add_dkim_keys(vec![KeyFileEntry::Key(record)])?;
            if added == 0 {
                println!("Already stored: {line}");
            } else {
                println!("Added {line}");
                println!("Next: trove verify (messages that lacked this key are re-opened)");
            }
            Ok(0)
        }
        KeysCommand::Import { file, source } => {
            let text = std::fs::read(&file)
                .with_context(|| format!("reading key file {}", file.display()))?;
            let text = String::from_utf8(text)
                .with_context(|| format!("key file {}: not UTF-8 text", file.display()))?;
            let provenance = source.unwrap_or_else(|| format!("imported from {}", file.display()));
            let entries = parse_key_file(&text, &provenance, unix_now())
                .with_context(|| format!("key file {}", file.display()))?;
            let (mut usable, mut unusable, mut negative) = (0, 0, 0);
            for e in &entries {
                match e {
                    KeyFileEntry::Key(k) if k.status == KeyStatus::Usable => usable += 1,
                    KeyFileEntry::Key(_) => unusable += 1,
                    KeyFileEntry::Failure { .. } => negative += 1,
                }
            }
            let total = entries.len();
            let mut vault = Vault::open(vault_dir)?;
            let added = vault.add_dkim_keys(entries)?;
            println!(
                "Read {total} entries from {}: {usable} usable key(s), {unusable} revoked/malformed/unsupported record(s), {negative} negative DNS answer(s)",
                file.display()
            );
            println!(
                "  new in the store {added:>6}\n  already stored   {:>6}",
                total as u64 - added.min(total as u64)
            );
            if added > 0 {
                println!("Next: trove verify (messages that lacked these keys are re-opened)");
            }
            Ok(0)
        }
        KeysCommand::List { json } => {
            let vault = Vault::open(vault_dir)?;
            let keys = vault.list_dkim_keys()?;
            let out = std::io::stdout();
            let mut out = out.lock();
            for k in &keys {
                let r = if json {
                    writeln!(out, "{}", serde_json::to_string(k)?)
                } else {
                    writeln!(
                        out,
                        "{:<40} {:<12} {:<16} {}  {}",
                        format!("{}._domainkey.{}", k.selector, k.domain),
                        k.kind,
                        k.fingerprint
                            .as_deref()
                            .map(|f| &f[..f.len().min(16)])
                            .unwrap_or("-"),
                        rfc3339(k.added_at),
                        k.provenance
                    )
                };
                if let Err(e) = r {
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        return Ok(0);
                    }
                    return Err(e.into());
                }
            }
            if !json && keys.is_empty() {
                println!("No keys yet. Add some: trove keys import FILE, trove keys add …");
            }
            Ok(0)
        }
    }
}

/// `s._domainkey.d (rsa-2048, sha256 ab12…)`.
fn describe(k: &KeyRecord) -> String {
    format!(
        "{}._domainkey.{} ({}-{}, fingerprint {})",
        k.selector,
        k.domain,
        k.key_type,
        k.bits.map(|b| b.to_string()).unwrap_or_else(|| "?".into()),
        k.fingerprint.as_deref().unwrap_or("-")
    )
}
