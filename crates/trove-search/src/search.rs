//! Running a query: options, results, hits, snippets and facets.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aho_corasick::AhoCorasick;
use serde::Serialize;
use tantivy::schema::Value;
use tantivy::snippet::SnippetGenerator;
use tantivy::{Searcher, TantivyDocument};

use crate::collect::{top_by_relevance, Gathered, MainCollector};
use crate::error::{Error, QueryError, QueryErrorKind, Result};
use crate::query::compile::Compiler;
use crate::query::parse::{parse, Node, TextValue};
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
    let deadline = start + opts.time_budget;
    let timed_out = AtomicBool::new(false);
    let g: Gathered = if opts.sort == Sort::Relevance && !opts.facets && bounded(&node) {
        top_by_relevance(searcher, &*q, keep, deadline, &timed_out)?
    } else {
        let collector = MainCollector {
            sort: opts.sort,
            keep,
            facets: opts.facets,
            deadline,
            timed_out: AtomicBool::new(false),
        };
        let g = searcher.search(&*q, &collector)?;
        if collector.timed_out.load(Ordering::Relaxed) {
            timed_out.store(true, Ordering::Relaxed);
        }
        g
    };
    // One generator for body and attachment text, from the query's words in the
    // catch-all, body and attachment fields (a word without `field:` is in the catch-all).
    let snippets = if opts.snippet && keep > opts.offset {
        Some(Snippeter::new(searcher, fields, &*q)?)
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
            Some(gen) => {
                let s = gen.snippet(&text(fields.body_stored));
                let s = if s.is_empty() {
                    let a = gen.snippet(&text(fields.attachment_stored));
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
        timed_out: timed_out.load(Ordering::Relaxed),
    })
}

/// True when the query's work is bounded by its posting lists: no phrases (or words
/// that tokenise into several tokens) and no prefixes, whose cost grows with positions
/// or expansions. Only such queries take the pruning path, which cannot check the time
/// budget inside a segment.
fn bounded(node: &Node) -> bool {
    match node {
        Node::And(parts) | Node::Or(parts) => parts.iter().all(bounded),
        Node::Not(inner) => bounded(inner),
        Node::Text { value, .. } => match value {
            TextValue::Word(w) => w.chars().all(char::is_alphanumeric),
            TextValue::Phrase(_) | TextValue::Prefix(_) => false,
        },
        Node::Address { .. }
        | Node::Date { .. }
        | Node::Number { .. }
        | Node::Dkim(_)
        | Node::HasAttachment => true,
    }
}

/// Highlighted snippets for one query, over body and attachment text.
///
/// tantivy's generator tokenises the whole text to pick the best passage: on 20 hits of
/// up to 32 KiB each that was most of a query's time. So the words are first looked for
/// with one ASCII-case-insensitive automaton pass, and only a window of
/// [`SNIPPET_WINDOW`] bytes each side of the first whole-word match is tokenised. Where the automaton finds nothing (a word whose case differs
/// outside ASCII), the whole text is tokenised as before.
struct Snippeter {
    gen: SnippetGenerator,
    finder: Option<AhoCorasick>,
    /// Every word is ASCII: then a text where the automaton finds none of them has no
    /// matching token either (the analyzer only lower-cases), and needs no tokenising.
    ascii: bool,
}

/// Bytes of text kept on each side of the first match for the passage search: room for
/// the best passage of [`SNIPPET_CHARS`] around it. (The passage is picked near the first
/// occurrence, not over the whole text: a denser passage further down is not looked for.)
const SNIPPET_WINDOW: usize = 2 * SNIPPET_CHARS;

impl Snippeter {
    /// From the query's words in the catch-all, body and attachment fields, each weighted
    /// by rarity (1 / (1 + document frequency)) as tantivy does.
    fn new(searcher: &Searcher, fields: &Fields, q: &dyn tantivy::query::Query) -> Result<Self> {
        let mut terms: Vec<tantivy::Term> = Vec::new();
        q.query_terms(&mut |term, _| {
            let f = term.field();
            if f == fields.all || f == fields.body || f == fields.attachment {
                terms.push(term.clone());
            }
        });
        let mut weights: BTreeMap<String, f32> = BTreeMap::new();
        for term in terms {
            let Some(word) = term.value().as_str().map(str::to_string) else {
                continue;
            };
            let df = searcher.doc_freq(&term)?;
            if df > 0 {
                let w = 1.0 / (1.0 + df as f32);
                let e = weights.entry(word).or_insert(0.0);
                *e = e.max(w);
            }
        }
        let ascii = weights.keys().all(|w| w.is_ascii());
        let finder = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(weights.keys())
            .ok()
            .filter(|_| !weights.is_empty());
        let gen = SnippetGenerator::new(
            weights,
            crate::schema::analyzer(),
            fields.body,
            SNIPPET_CHARS,
        );
        Ok(Snippeter { gen, finder, ascii })
    }

    fn snippet(&self, text: &str) -> tantivy::snippet::Snippet {
        let Some(finder) = &self.finder else {
            return tantivy::snippet::Snippet::empty();
        };
        match first_word_match(finder, text) {
            Some((start, end)) => self.gen.snippet(window(text, start, end)),
            None if self.ascii => tantivy::snippet::Snippet::empty(),
            _ => self.gen.snippet(text),
        }
    }
}

/// The first match that is a whole token (not inside a longer word), with the tokenizer's
/// notion of a word character: `char::is_alphanumeric`.
fn first_word_match(finder: &AhoCorasick, text: &str) -> Option<(usize, usize)> {
    finder
        .find_iter(text)
        .find(|m| {
            !text[..m.start()]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
                && !text[m.end()..]
                    .chars()
                    .next()
                    .is_some_and(char::is_alphanumeric)
        })
        .map(|m| (m.start(), m.end()))
}

/// `text` cut to [`SNIPPET_WINDOW`] bytes around `start..end`, on whitespace where it can.
fn window(text: &str, start: usize, end: usize) -> &str {
    let mut lo = start.saturating_sub(SNIPPET_WINDOW);
    while !text.is_char_boundary(lo) {
        lo += 1;
    }
    if lo > 0 {
        if let Some(ws) = text[lo..start].find(char::is_whitespace) {
            lo += ws;
        }
    }
    let mut hi = (end + SNIPPET_WINDOW).min(text.len());
    while !text.is_char_boundary(hi) {
        hi -= 1;
    }
    if hi < text.len() {
        if let Some(ws) = text[end..hi].rfind(char::is_whitespace) {
            hi = end + ws;
        }
    }
    &text[lo..hi]
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
    let mut out = String::new();
    for w in text.split_whitespace() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_snippet_skips_partial_words_and_keeps_utf8_boundaries() {
        // "during" contains "ring" but is not the word; the real one is deep in the text,
        // past a multi-byte character, so the window must cut on char boundaries.
        let mut text = "during the night ".repeat(300);
        text.push_str("é ünïcödé ");
        let at = text.len();
        text.push_str("the Ring buffer was full ");
        text.push_str(&"filler words here ".repeat(300));
        let finder = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(["ring"])
            .unwrap();
        let (start, end) = first_word_match(&finder, &text).unwrap();
        assert_eq!(&text[start..end], "Ring");
        assert_eq!(start, at + 4);
        let w = window(&text, start, end);
        assert!(
            w.len() <= 2 * SNIPPET_WINDOW + 4,
            "window of {} bytes",
            w.len()
        );
        assert!(w.contains("the Ring buffer"));
        // No match at all: nothing found.
        assert!(first_word_match(&finder, &"during ".repeat(1000)).is_none());
        // Punctuation outside ASCII separates words, as in the tokenizer; letters join them.
        assert!(first_word_match(&finder, "a\u{2014}ring\u{2014}b").is_some());
        assert!(first_word_match(&finder, "\u{e9}ring").is_none());
    }
}
