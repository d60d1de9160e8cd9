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

/// `trove show ID --signed-data DIR`: for each signature of the message that was checked with
/// a key, the bytes its cryptography covered, written as `sigN.headers` (the canonicalised
/// header block), `sigN.sig` (the decoded `b=`), `sigN.body` (the canonical body, cut to
/// `l=`) and `sigN.pub.der` (the public key, SubjectPublicKeyInfo DER), with the openssl
/// commands that re-check the verdict without trove: a reader need not trust trove's code.
pub fn signed_data(v: &Vault, id: i64, dir: &std::path::Path) -> Result<i32> {
    if id < 1 {
        bail!("message ids start at 1 (got {id})");
    }
    let raw = v.raw(id)?;
    let keys = v.dkim_keys()?;
    let all = trove_vault::trove_dkim::signed_data(&raw, &keys, &Default::default());
    if all.is_empty() {
        println!(
            "Message {id}: no signature was checked with a key, so there is nothing to re-check."
        );
        return Ok(0);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    println!(
        "Message {id}: the bytes each checked signature covers, in {}",
        dir.display()
    );
    for d in &all {
        let ed25519 = d.algorithm == "ed25519-sha256";
        // p= of an Ed25519 record is the bare 32-byte key; openssl wants it wrapped.
        let spki = if ed25519 {
            [
                &[
                    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
                ][..],
                &d.public_key,
            ]
            .concat()
        } else {
            d.public_key.clone()
        };
        let n = d.sig_index;
        for (suffix, bytes) in [
            ("headers", &d.header_block),
            ("sig", &d.signature),
            ("body", &d.body),
            ("pub.der", &spki),
        ] {
            let path = dir.join(format!("sig{n}.{suffix}"));
            std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        }
        let hash = if d.algorithm == "rsa-sha1" {
            "sha1"
        } else {
            "sha256"
        };
        println!(
            "\nDKIM #{n}: d={} s={} a={}",
            d.domain, d.selector, d.algorithm
        );
        println!("  # the body hash; must print bh= of the signature");
        println!("  openssl dgst -{hash} -binary sig{n}.body | openssl base64 -A");
        println!("  # the signature over the header block");
        if ed25519 {
            println!("  openssl dgst -sha256 -binary sig{n}.headers > sig{n}.headers.sha256");
            println!("  openssl pkeyutl -verify -pubin -inkey sig{n}.pub.der -keyform DER -rawin -in sig{n}.headers.sha256 -sigfile sig{n}.sig");
        } else {
            println!("  openssl dgst -{hash} -verify sig{n}.pub.der -keyform DER -signature sig{n}.sig sig{n}.headers");
        }
    }
    Ok(0)
}
