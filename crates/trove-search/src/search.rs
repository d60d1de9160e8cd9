//! Running a query: options, results, hits, snippets and facets.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tantivy::schema::Value;
use tantivy::snippet::SnippetGenerator;
use tantivy::{Searcher, TantivyDocument};

use crate::collect::{Gathered, MainCollector};
use crate::error::{Error, QueryError, QueryErrorKind, Result};
use crate::query::compile::Compiler;
use crate::query::parse::parse;
use crate::schema::Fields;

/// Largest page size.
pub const MAX_LIMIT: usize = 1000;
/// Deepest page: `offset + limit` may not exceed this (bounded memory per query).
pub const MAX_WINDOW: usize = 10_000;
/// How many senders and recipients the facets list.
pub const FACET_TOP: usize = 10;
/// Longest snippet, in characters.
pub const SNIPPET_CHARS: usize = 200;

/// Order of hits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Best match first (BM25).
    #[default]
    Relevance,
    /// Newest first; messages without a date last. Scores are not computed (0).
    Date,
}

/// How to run a search.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    /// Hits per page (at most [`MAX_LIMIT`]).
    pub limit: usize,
    /// Hits to skip (`offset + limit` at most [`MAX_WINDOW`]).
    pub offset: usize,
    /// Order of hits.
    pub sort: Sort,
    /// Compute highlighted snippets for the hits on this page.
    pub snippet: bool,
    /// Compute facets over all matching messages.
    pub facets: bool,
    /// Wall-clock budget for collecting matches; past it the search stops and
    /// reports what it found with `timed_out: true`.
    pub time_budget: Duration,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            limit: 20,
            offset: 0,
            sort: Sort::Relevance,
            snippet: true,
            facets: false,
            time_budget: Duration::from_secs(2),
        }
    }
}

/// One matching message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// The caller's message id ([`crate::SearchDoc::id`]).
    pub id: u64,
    /// Relevance score (0 when sorted by date).
    pub score: f32,
    /// Unix seconds, if the message has a date.
    pub date: Option<i64>,
    /// Senders as `Name <addr>`, comma separated.
    pub from: String,
    /// Subject.
    pub subject: String,
    /// Best matching passage, HTML-escaped, matches wrapped in `<b>…</b>`.
    /// Empty when snippets were not asked for.
    pub snippet: String,
    /// The same passage as plain text, without markup (not serialised).
    #[serde(skip)]
    pub snippet_text: String,
}

/// A facet value and how many matching messages have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetCount {
    /// Address (lower case).
    pub value: String,
    /// Matching messages.
    pub count: u64,
}

/// Messages per month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthCount {
    /// `YYYY-MM` (UTC).
    pub month: String,
    /// Matching messages dated in that month.
    pub count: u64,
}

/// Facets over all matching messages (not only the returned page).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facets {
    /// Top [`FACET_TOP`] sender addresses.
    pub senders: Vec<FacetCount>,
    /// Top [`FACET_TOP`] recipient addresses (To and Cc; an address in both counts twice).
    pub recipients: Vec<FacetCount>,
    /// Every month with matches, oldest first.
    pub months: Vec<MonthCount>,
}

/// The answer to a search. Serialises as
/// `{"total": N, "hits": [...], "facets": {...}}` (`facets` only when asked
/// for, `timed_out` only when true).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    /// Number of matching messages (a lower bound when `timed_out`).
    pub total: u64,
    /// The requested page.
    pub hits: Vec<Hit>,
    /// Facets, when requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facets: Option<Facets>,
    /// True when the time budget ran out before every match was seen.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
}

pub(crate) fn run(
    searcher: &Searcher,
    fields: &Fields,
    query: &str,
    opts: &SearchOptions,
) -> Result<SearchResults> {
    let start = Instant::now();
    if opts.limit > MAX_LIMIT {
        return Err(Error::Options(format!(
            "limit {} is over {MAX_LIMIT}",
            opts.limit
        )));
    }
    let keep = opts.offset.saturating_add(opts.limit);
    if keep > MAX_WINDOW {
        return Err(Error::Options(format!(
            "offset + limit is over {MAX_WINDOW}"
        )));
    }
    let node = parse(query)?;
    let q = Compiler::new(fields, searcher)
        .compile(&node)?
        .ok_or(QueryError {
            position: 0,
            kind: QueryErrorKind::Empty,
        })?;
    let collector = MainCollector {
        sort: opts.sort,
        keep,
        facets: opts.facets,
        deadline: start + opts.time_budget,
        timed_out: AtomicBool::new(false),
    };
    let g: Gathered = searcher.search(&*q, &collector)?;
    let snippets = if opts.snippet {
        let mut body = SnippetGenerator::create(searcher, &*q, fields.body)?;
        body.set_max_num_chars(SNIPPET_CHARS);
        let mut att = SnippetGenerator::create(searcher, &*q, fields.attachment)?;
        att.set_max_num_chars(SNIPPET_CHARS);
        Some((body, att))
    } else {
        None
    };
    let mut hits = Vec::new();
    for c in g.top.iter().skip(opts.offset) {
        let doc: TantivyDocument = searcher.doc(c.doc)?;
        let text = |f| {
            doc.get_first(f)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let (snippet, snippet_text) = match &snippets {
            Some((body, att)) => {
                let s = body.snippet(&text(fields.body_stored));
                let s = if s.is_empty() {
                    let a = att.snippet(&text(fields.attachment_stored));
                    if a.is_empty() {
                        s
                    } else {
                        a
                    }
                } else {
                    s
                };
                if s.fragment().is_empty() {
                    let lead = lead(&text(fields.body_stored));
                    (escape(&lead), lead)
                } else {
                    (s.to_html(), s.fragment().to_string())
                }
            }
            None => (String::new(), String::new()),
        };
        hits.push(Hit {
            id: c.id,
            score: c.score,
            date: c.date,
            from: text(fields.from_display),
            subject: text(fields.subject),
            snippet,
            snippet_text,
        });
    }
    let facets = opts.facets.then(|| facets(&g));
    Ok(SearchResults {
        total: g.total,
        hits,
        facets,
        timed_out: collector.timed_out.load(Ordering::Relaxed),
    })
}

/// Every matching id, ascending (see [`crate::Index::search_ids`]).
pub(crate) fn ids(searcher: &Searcher, fields: &Fields, query: &str) -> Result<Vec<u64>> {
    let node = parse(query)?;
    let q = Compiler::new(fields, searcher)
        .compile(&node)?
        .ok_or(QueryError {
            position: 0,
            kind: QueryErrorKind::Empty,
        })?;
    let mut ids = searcher.search(&*q, &crate::collect::IdCollector)?;
    ids.sort_unstable();
    Ok(ids)
}

/// The first words of a text, for hits whose match is not in the body.
fn lead(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = String::new();
    for w in words {
        if out.chars().count() + w.chars().count() > SNIPPET_CHARS {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

fn top(map: &std::collections::HashMap<String, u64>) -> Vec<FacetCount> {
    let mut v: Vec<FacetCount> = map
        .iter()
        .map(|(k, n)| FacetCount {
            value: k.clone(),
            count: *n,
        })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    v.truncate(FACET_TOP);
    v
}

fn facets(g: &Gathered) -> Facets {
    let mut months: Vec<_> = g.months.iter().collect();
    months.sort();
    Facets {
        senders: top(&g.senders),
        recipients: top(&g.recipients),
        months: months
            .into_iter()
            .map(|((y, m), n)| MonthCount {
                month: format!("{y:04}-{m:02}"),
                count: *n,
            })
            .collect(),
    }
}
