//! `trove search` and `trove reindex`, plus the index refresh that `ingest` and `release` call.

use std::path::Path;

use anyhow::{bail, Result};
use trove_vault::trove_search::{SearchOptions, SearchResults, Sort};
use trove_vault::{open_search_index, rfc3339, IndexReport, Vault};

use crate::cli::SearchArgs;
use crate::ui;

/// Runs `trove search`: exit 0 with hits, 1 without.
pub fn run(vault_dir: &Path, args: SearchArgs) -> Result<i32> {
    let sort = match args.sort.as_str() {
        "relevance" => Sort::Relevance,
        "date" => Sort::Date,
        other => bail!("--sort {other:?}: use date or relevance"),
    };
    // Only the index is needed to search: the vault itself is opened only to build a
    // missing index.
    // A missing index, or one built by an older trove with another schema, is built now
    // (the index is derived data; update_index replaces an incompatible one).
    let existing = match open_search_index(vault_dir) {
        Ok(found) => found,
        Err(trove_vault::Error::Search(trove_vault::trove_search::Error::IncompatibleIndex {
            ..
        })) => None,
        Err(e) => return Err(e.into()),
    };
    let index = match existing {
        Some(index) => index,
        None => {
            let vault = Vault::open(vault_dir)?;
            let bar = ui::Bar::counting(args.json, "building the search index");
            let r = vault.update_index(&bar)?;
            eprintln!(
                "Built the search index: {} messages in {:.1} s.",
                r.indexed, r.seconds
            );
            vault.open_index()?
        }
    };
    let opts = SearchOptions {
        limit: args.limit,
        offset: args.offset,
        sort,
        snippet: true,
        facets: args.json && !args.no_facets,
        ..SearchOptions::default()
    };
    let res = index.search(&args.query, &opts).map_err(|e| match e {
        trove_vault::trove_search::Error::Query(q) => {
            anyhow::anyhow!("bad query {:?}: {q}", args.query)
        }
        e => e.into(),
    })?;
    if args.json {
        println!("{}", serde_json::to_string(&res)?);
    } else {
        print_hits(&res, &args);
    }
    Ok(if res.total > 0 { 0 } else { 1 })
}

fn print_hits(res: &SearchResults, args: &SearchArgs) {
    for h in &res.hits {
        let date = h.date.map(rfc3339).unwrap_or_else(|| "-".into());
        let date = date.get(..10).unwrap_or(&date);
        println!("#{:<7} {date}  {}", h.id, h.from);
        println!("         {}", h.subject);
        if !h.snippet_text.is_empty() {
            println!("         {}", h.snippet_text.replace('\n', " "));
        }
    }
    let shown = res.hits.len();
    let first = if shown == 0 { 0 } else { args.offset + 1 };
    println!(
        "{} match{}{}; showing {first}-{} (trove show ID for a message; --offset for more)",
        res.total,
        if res.total == 1 { "" } else { "es" },
        if res.timed_out {
            " (time budget spent: at least)"
        } else {
            ""
        },
        args.offset + shown
    );
}

/// Runs `trove reindex`.
pub fn reindex(vault_dir: &Path, quiet: bool, json: bool) -> Result<i32> {
    let vault = Vault::open(vault_dir)?;
    let bar = ui::Bar::counting(quiet || json, "indexing");
    let r = vault.reindex(&bar)?;
    if json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        print_report("Rebuilt the search index", &r);
    }
    Ok(0)
}

fn print_report(what: &str, r: &IndexReport) {
    println!(
        "{what}: {} messages indexed in {:.1} s ({} unchanged, {} removed)",
        r.indexed, r.seconds, r.unchanged, r.removed
    );
    println!(
        "  attachments: {} extracted, {} could not be read (reasons kept in the vault)",
        r.extracted, r.extract_failures
    );
    println!("  index size: {}", ui::bytes(r.index_bytes));
}

/// Brings the search index up to date after a command changed the vault. A failure does not
/// fail the command (its own work is done): it is reported with the way to fix it.
pub fn refresh(vault: &Vault, quiet: bool) {
    let bar = ui::Bar::counting(quiet, "updating the search index");
    match vault.update_index(&bar) {
        Ok(r) if r.indexed + r.removed > 0 && !quiet => print_report("Search index updated", &r),
        Ok(_) => {}
        Err(e) => {
            eprintln!("trove: warning: the search index was not updated ({e}); run `trove reindex`")
        }
    }
}
