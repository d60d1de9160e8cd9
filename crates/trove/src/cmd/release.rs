//! `trove release …`: the release plan and publishing (`trove_vault::release`).

use std::path::Path;

use anyhow::{bail, Result};
use trove_vault::release::{unix_now, IdList, PlanBy, PublishOptions, PublishReport, Query};
use trove_vault::Vault;

use crate::cli::{PublishFlags, ReleaseCommand};

fn options(f: &PublishFlags) -> PublishOptions {
    let mut o = PublishOptions::new(f.now.unwrap_or_else(unix_now));
    o.name = f.name.clone();
    o.expires_in = f.valid_days.max(1) * 86_400;
    o.fsync = !f.no_fsync;
    o
}

fn print_report(r: &PublishReport) {
    let what = match r.status.as_str() {
        "new" => "Published",
        "resumed" => "Completed interrupted publish of",
        _ => "Already published:",
    };
    println!(
        "{what} part {} as release {} ({} messages, emailid {}–{}) in {}",
        r.part,
        r.release,
        r.messages,
        r.first_id,
        r.first_id + r.messages.saturating_sub(1),
        r.publication.display()
    );
}

/// Runs one `trove release` subcommand.
pub fn run(vault_dir: &Path, cmd: ReleaseCommand) -> Result<i32> {
    let mut vault = Vault::open(vault_dir)?;
    match cmd {
        ReleaseCommand::Plan { parts, by } => {
            let by = match by.as_str() {
                "date" => PlanBy::Date,
                "count" => PlanBy::Count,
                other => bail!("--by {other:?}: use date or count"),
            };
            let made = vault.plan_parts(parts, by)?;
            println!(
                "Planned {} parts ({}).",
                made.len(),
                made.iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        ReleaseCommand::Add { title, query, ids } => {
            let (part, skipped) = match (query, ids) {
                (Some(q), _) => vault.add_part(&title, &Query::parse(&q)?)?,
                (None, Some(i)) => vault.add_part(&title, &IdList::parse(&i)?)?,
                (None, None) => bail!("give --query or --ids"),
            };
            super::search::refresh(&vault, true);
            let n = vault.part_messages(part)?.len();
            println!("Added part {part} \"{title}\": {n} messages.");
            if skipped > 0 {
                println!(
                    "{skipped} selected messages are already in another part and were left out."
                );
            }
        }
        ReleaseCommand::List { json } => {
            for p in vault.parts()? {
                if json {
                    println!("{}", serde_json::to_string(&p)?);
                } else {
                    let ids = match (p.first_id, p.last_id) {
                        (Some(a), Some(b)) => {
                            format!(" emailid {a}–{b}, release {}", p.release.unwrap_or(0))
                        }
                        _ => String::new(),
                    };
                    println!(
                        "{:>4}  {:<9}  {:>6} msgs  {} .. {}  {}{ids}",
                        p.part,
                        p.state,
                        p.messages,
                        p.first_date.as_deref().unwrap_or("-"),
                        p.last_date.as_deref().unwrap_or("-"),
                        p.title
                    );
                }
            }
        }
        ReleaseCommand::Publish { part, to, common } => {
            let r = vault.publish_part(part, &to, &options(&common))?;
            print_report(&r);
            super::search::refresh(&vault, true);
        }
        ReleaseCommand::Schedule { daily, to } => {
            vault.set_schedule(&daily, &to, unix_now())?;
            println!(
                "Scheduled: one part a day at {daily} UTC into {}. Call `trove release run` from cron or the systemd timer.",
                to.display()
            );
        }
        ReleaseCommand::Run { common } => match vault.run_due(&options(&common))? {
            Some(r) => {
                print_report(&r);
                super::search::refresh(&vault, true);
            }
            None => println!("Nothing due."),
        },
    }
    Ok(0)
}
