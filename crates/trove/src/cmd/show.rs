//! `trove stats`, `trove list` and `trove show`: reading the vault back.

use std::io::Write;

use anyhow::{bail, Context, Result};
use trove_vault::{parse_date, rfc3339, ListFilter, Vault};

/// Runs `trove stats`.
pub fn stats(v: &Vault, json: bool) -> Result<i32> {
    let s = v.stats()?;
    if json {
        println!("{}", serde_json::to_string(&s)?);
        return Ok(0);
    }
    println!("messages           {:>10}", s.messages);
    println!("duplicates         {:>10}", s.duplicates);
    println!("unparseable        {:>10}", s.unparseable);
    println!("with problems      {:>10}", s.with_problems);
    println!("attachments        {:>10}", s.attachments);
    println!("threads            {:>10}", s.threads);
    println!("shared Message-IDs {:>10}", s.shared_message_ids);
    println!("sources            {:>10}", s.sources);
    println!("skipped (not mail) {:>10}", s.skipped);
    println!(
        "bytes              {:>10}",
        crate::ui::bytes(s.bytes as u64)
    );
    if let (Some(a), Some(b)) = (s.first_date, s.last_date) {
        println!("dates              {} .. {}", rfc3339(a), rfc3339(b));
    }
    Ok(0)
}

fn day(s: Option<String>, flag: &str) -> Result<Option<i64>> {
    s.map(|d| parse_date(&d).with_context(|| format!("{flag} {d:?}: not a date (use YYYY-MM-DD)")))
        .transpose()
}

/// Runs `trove list`.
pub fn list(
    v: &Vault,
    from: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<u64>,
    json: bool,
) -> Result<i32> {
    let filter = ListFilter {
        from,
        since: day(since, "--since")?,
        // `--until D` includes all of day D: the filter is "before the next midnight".
        until: day(until, "--until")?.map(|u| u + 86_400),
        limit,
    };
    let out = std::io::stdout();
    let mut out = out.lock();
    for m in v.list(&filter)? {
        let r = if json {
            writeln!(out, "{}", serde_json::to_string(&m)?)
        } else {
            writeln!(
                out,
                "{:>7}  {:<20}  {:<30}  {}",
                m.id,
                m.date
                    .as_deref()
                    .map(|d| &d[..d.len().min(16)])
                    .unwrap_or("-"),
                truncate(m.from.as_deref().unwrap_or("-"), 30),
                m.subject.as_deref().unwrap_or("")
            )
        };
        if let Err(e) = r {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(0);
            }
            return Err(e.into());
        }
    }
    Ok(0)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).chain(['…']).collect()
    }
}

/// Runs `trove show`.
pub fn show(v: &Vault, id: i64, raw: bool, json: bool) -> Result<i32> {
    if id < 1 {
        bail!("message ids start at 1 (got {id})");
    }
    if raw {
        let bytes = v.raw(id)?;
        let mut out = std::io::stdout().lock();
        if let Err(e) = out.write_all(&bytes).and_then(|()| out.flush()) {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                return Err(e.into());
            }
        }
        return Ok(0);
    }
    let m = v.message(id)?;
    if json {
        let mut value = serde_json::to_value(&m)?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("dkim".into(), crate::cmd::verify::dkim_json(v, id)?);
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(0);
    }
    let mb = |l: &[trove_vault::parse::Mailbox]| {
        l.iter()
            .map(|m| match (&m.name, &m.addr) {
                (Some(n), Some(a)) => format!("{n} <{a}>"),
                (None, Some(a)) => a.clone(),
                (Some(n), None) => n.clone(),
                (None, None) => String::new(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "Message {}  (blake3 {}, {} bytes)",
        m.summary.id, m.hash, m.size
    );
    println!(
        "Message-ID: {}",
        m.summary.message_id.as_deref().unwrap_or("-")
    );
    println!(
        "Date:       {}",
        m.headers.date_raw.as_deref().unwrap_or("-")
    );
    println!("From:       {}", mb(&m.headers.from));
    for (label, l) in [
        ("To:", &m.headers.to),
        ("Cc:", &m.headers.cc),
        ("Bcc:", &m.headers.bcc),
    ] {
        if !l.is_empty() {
            println!("{label:<11} {}", mb(l));
        }
    }
    println!("Subject:    {}", m.summary.subject.as_deref().unwrap_or(""));
    if let Some(t) = m.summary.thread {
        println!("Thread:     {t}");
    }
    if let Some(l) = &m.list_id {
        println!("List-Id:    {l}");
    }
    if !m.attachments.is_empty() {
        println!("Attachments:");
        for a in &m.attachments {
            println!(
                "  [{}] {} ({}, {} bytes, {})",
                a.part,
                a.filename.as_deref().unwrap_or("(no name)"),
                a.content_type.as_deref().unwrap_or("?"),
                a.size,
                a.origin
            );
        }
    }
    if !m.problems.is_empty() {
        println!("Problems:");
        for (c, d) in &m.problems {
            println!("  {c}: {d}");
        }
    }
    println!("Seen in:");
    for o in &m.occurrences {
        let mut extra = String::new();
        if let Some(f) = &o.folder {
            extra.push_str(&format!(" folder={f}"));
        }
        if let Some(f) = &o.flags {
            extra.push_str(&format!(" flags={f}"));
        }
        println!("  {} @ {}{extra}", o.source, o.locator);
    }
    if !m.same_message_id.is_empty() {
        println!("Same Message-ID, different bytes: {:?}", m.same_message_id);
    }
    crate::cmd::verify::print_dkim(v, id)?;
    Ok(0)
}
