//! Full-text search of the served publication with trove-search (tantivy).
//!
//! The index is derived data built from the publication's raw blobs (never
//! from a vault): [`SearchIndex::update`] turns every message not yet indexed
//! into a [`SearchDoc`] (headers from the signed summary, bodies from the raw
//! source, attachment text from the attachment blobs) and commits in batches,
//! so a reload only indexes the new release. Small publications are indexed
//! in RAM; larger ones (or any, with `--index-dir`) in a cache directory keyed
//! by the publication id, reused across restarts and rebuilt whenever its
//! marker does not match the publication. The publication directory itself is
//! never written to unless the index directory is put there on purpose.
//!
//! While the first build runs, [`SubstringSearch`] answers (subject and sender
//! only, no snippets or facets) and responses say so.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use mail_parser::MessageParser;
use trove_search::{
    extract_text, Address, AttachmentDoc, DkimSummary, Hit, Index, SearchDoc, SearchOptions,
    SearchResults, DEFAULT_MAX_CHARS,
};

use crate::model::ReadModel;

/// Publications whose raw messages total less than this are indexed in RAM.
pub const RAM_INDEX_LIMIT: u64 = 64 * 1024 * 1024;
/// Attachments larger than this are indexed by name only.
const MAX_ATTACHMENT_TEXT_INPUT: u64 = 32 * 1024 * 1024;
/// Messages per commit while building (each commit makes them searchable).
const BATCH: usize = 2_000;
/// The marker file in an on-disk index: which publication, how far.
const MARKER: &str = "trove-web-index.json";

/// A search engine over one read model (the fallback seam while the
/// full-text index builds).
pub trait Search: Send + Sync {
    /// Up to `limit` matching ids, best first, and the total number of matches.
    fn search(&self, model: &ReadModel, query: &str, limit: usize) -> (Vec<u64>, usize);
}

/// Case-insensitive substring match of every query word against subject
/// and `From`, newest first. No index: linear in the number of messages.
/// Used only until the full-text index is ready.
#[derive(Debug, Default, Clone, Copy)]
pub struct SubstringSearch;

impl Search for SubstringSearch {
    fn search(&self, model: &ReadModel, query: &str, limit: usize) -> (Vec<u64>, usize) {
        let words: Vec<String> = query
            .split_whitespace()
            .take(16)
            .map(str::to_lowercase)
            .collect();
        if words.is_empty() {
            return (Vec::new(), 0);
        }
        let mut total = 0;
        let mut hits = Vec::new();
        for it in model.items.iter().rev() {
            let hay = format!("{}\n{}", it.subject, it.from).to_lowercase();
            if words.iter().all(|w| hay.contains(w.as_str())) {
                total += 1;
                if hits.len() < limit {
                    hits.push(it.id);
                }
            }
        }
        (hits, total)
    }
}

/// Where the index lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexLocation {
    /// Not opened yet.
    Pending,
    /// In memory (small publications).
    Memory,
    /// In this directory.
    Disk(PathBuf),
}

/// Which engine answered a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The tantivy index (possibly still catching up on a new release).
    FullText,
    /// The substring fallback (the index is still being built).
    Substring,
}

impl Engine {
    /// `fulltext` or `substring`.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::FullText => "fulltext",
            Engine::Substring => "substring",
        }
    }
}

/// A search that could not run: the query is wrong (400) or the index failed (500).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchError {
    /// The reader's mistake, with what is wrong and where.
    BadQuery(String),
    /// The index could not answer.
    Internal(String),
}

/// The derived full-text index of the served publication.
pub struct SearchIndex {
    dir: Option<PathBuf>,
    index: RwLock<Option<Arc<Index>>>,
    location: RwLock<IndexLocation>,
    /// Ids `1..=indexed` are searchable.
    indexed: AtomicU64,
    ready: AtomicBool,
    updating: Mutex<()>,
    error: RwLock<Option<String>>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("location", &self.location())
            .field("indexed", &self.indexed())
            .finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// An index that will live under `dir` (a subdirectory per publication),
    /// or, with `None`, in RAM for small publications and in the user's cache
    /// directory otherwise.
    pub fn new(dir: Option<PathBuf>) -> SearchIndex {
        SearchIndex {
            dir,
            index: RwLock::new(None),
            location: RwLock::new(IndexLocation::Pending),
            indexed: AtomicU64::new(0),
            ready: AtomicBool::new(false),
            updating: Mutex::new(()),
            error: RwLock::new(None),
        }
    }

    /// Messages searchable so far (ids `1..=n`).
    pub fn indexed(&self) -> u64 {
        self.indexed.load(Ordering::Acquire)
    }

    /// True once the first build has finished (later releases are added incrementally).
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Where the index lives.
    pub fn location(&self) -> IndexLocation {
        self.location
            .read()
            .map(|g| g.clone())
            .unwrap_or(IndexLocation::Pending)
    }

    /// The last indexing failure, if any (searches then use the fallback).
    pub fn error(&self) -> Option<String> {
        self.error.read().ok().and_then(|g| g.clone())
    }

    fn current(&self) -> Option<Arc<Index>> {
        self.index.read().ok().and_then(|g| g.clone())
    }

    fn set_error(&self, e: String) {
        tracing::warn!("search index: {e}");
        if let Ok(mut g) = self.error.write() {
            *g = Some(e);
        }
    }

    /// Indexes every message of `model` not indexed yet (all of them the
    /// first time). Blocking; one update runs at a time. Errors are kept
    /// (see [`SearchIndex::error`]) and searches fall back to substrings.
    pub fn update(&self, model: &ReadModel) {
        let Ok(_one) = self.updating.lock() else {
            return;
        };
        if let Err(e) = self.update_inner(model) {
            self.set_error(e);
        }
        self.ready.store(true, Ordering::Release);
    }

    fn open(&self, model: &ReadModel) -> Result<Arc<Index>, String> {
        if let Some(i) = self.current() {
            return Ok(i);
        }
        let total: u64 = model.publication.messages().map(|(_, e)| e.size).sum();
        let pid = model.publication.id().to_hex();
        let dir = match &self.dir {
            Some(d) => Some(d.join(&pid)),
            None if total < RAM_INDEX_LIMIT => None,
            None => Some(default_cache_dir().join(&pid)),
        };
        let (index, loc, start) = match dir {
            None => (ram()?, IndexLocation::Memory, 0),
            Some(d) => match open_disk(&d, model) {
                Ok((i, start)) => (i, IndexLocation::Disk(d), start),
                Err(e) => {
                    // A locked or unusable cache directory must not stop the site.
                    self.set_error(format!("{e}; indexing in RAM instead"));
                    (ram()?, IndexLocation::Memory, 0)
                }
            },
        };
        let index = Arc::new(index);
        if let Ok(mut g) = self.location.write() {
            *g = loc;
        }
        self.indexed.store(start, Ordering::Release);
        if let Ok(mut g) = self.index.write() {
            *g = Some(index.clone());
        }
        Ok(index)
    }

    fn update_inner(&self, model: &ReadModel) -> Result<(), String> {
        let index = self.open(model)?;
        let n = model.items.len() as u64;
        let from = self.indexed() + 1;
        if from > n {
            return Ok(());
        }
        let heap = if matches!(self.location(), IndexLocation::Memory) {
            32_000_000
        } else {
            128_000_000
        };
        let mut w = index.writer_with_heap(heap).map_err(|e| e.to_string())?;
        let mut pending = 0;
        for id in from..=n {
            let doc = to_doc(model, id);
            w.add(&doc).map_err(|e| e.to_string())?;
            pending += 1;
            if pending == BATCH {
                w.commit().map_err(|e| e.to_string())?;
                self.committed(model, id);
                pending = 0;
            }
        }
        // A build from the first message is merged into one segment (faster queries);
        // a later release's few messages leave merging to tantivy's policy.
        if from == 1 {
            w.finish_compact().map_err(|e| e.to_string())?;
        } else {
            w.finish().map_err(|e| e.to_string())?;
        }
        self.committed(model, n);
        Ok(())
    }

    fn committed(&self, model: &ReadModel, upto: u64) {
        self.indexed.store(upto, Ordering::Release);
        if let IndexLocation::Disk(d) = self.location() {
            let _ = write_marker(&d, model, upto);
        }
    }

    /// Runs `query` (trove's query language) with the index, or with the
    /// substring fallback while the first build runs.
    pub fn search(
        &self,
        model: &ReadModel,
        query: &str,
        opts: &SearchOptions,
    ) -> Result<(SearchResults, Engine), SearchError> {
        if let Some(index) = self
            .current()
            .filter(|_| self.indexed() > 0 || self.ready())
        {
            return match index.search(query, opts) {
                Ok(r) => Ok((r, Engine::FullText)),
                Err(trove_search::Error::Query(e)) => Err(SearchError::BadQuery(e.to_string())),
                Err(trove_search::Error::Options(e)) => Err(SearchError::BadQuery(e)),
                Err(e) => Err(SearchError::Internal(e.to_string())),
            };
        }
        let (ids, total) = SubstringSearch.search(model, query, opts.offset + opts.limit);
        let hits = ids
            .iter()
            .skip(opts.offset)
            .filter_map(|id| model.item(*id))
            .map(|it| Hit {
                id: it.id,
                score: 0.0,
                date: None,
                from: it.from.clone(),
                subject: it.subject.clone(),
                snippet: String::new(),
                snippet_text: String::new(),
            })
            .collect();
        Ok((
            SearchResults {
                total: total as u64,
                hits,
                facets: None,
                timed_out: false,
            },
            Engine::Substring,
        ))
    }
}

fn ram() -> Result<Index, String> {
    Index::create_in_ram().map_err(|e| e.to_string())
}

/// `$XDG_CACHE_HOME/trove/web-index`, `~/.cache/trove/web-index`, or the temp dir.
pub fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })
        .unwrap_or_else(std::env::temp_dir);
    base.join("trove").join("web-index")
}

fn marker_value(model: &ReadModel, upto: u64) -> serde_json::Value {
    let last = model
        .entry(upto)
        .map(|e| e.blob.to_hex())
        .unwrap_or_default();
    serde_json::json!({
        "publication": model.publication.id().to_hex(),
        "indexed": upto,
        "last_blob": last,
    })
}

fn write_marker(dir: &Path, model: &ReadModel, upto: u64) -> std::io::Result<()> {
    let tmp = dir.join(format!("{MARKER}.tmp"));
    std::fs::write(&tmp, marker_value(model, upto).to_string())?;
    std::fs::rename(tmp, dir.join(MARKER))
}

/// Opens an on-disk index and says how many messages it already holds; an
/// index whose marker does not match this publication is emptied first.
fn open_disk(dir: &Path, model: &ReadModel) -> Result<(Index, u64), String> {
    let index = match Index::open_or_create(dir) {
        Ok(i) => i,
        Err(trove_search::Error::IncompatibleIndex { .. }) => {
            Index::destroy(dir).map_err(|e| e.to_string())?;
            Index::open_or_create(dir).map_err(|e| e.to_string())?
        }
        Err(e) => return Err(e.to_string()),
    };
    let marker: Option<serde_json::Value> = std::fs::read(dir.join(MARKER))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let upto = marker
        .as_ref()
        .and_then(|m| m["indexed"].as_u64())
        .unwrap_or(0);
    let valid = upto > 0
        && upto <= model.items.len() as u64
        && marker.as_ref() == Some(&marker_value(model, upto))
        && index.num_docs() == upto;
    if valid {
        return Ok((index, upto));
    }
    if index.num_docs() > 0 {
        // Left by another state of the publication (or a killed build): start over.
        let mut w = index
            .writer_with_heap(32_000_000)
            .map_err(|e| e.to_string())?;
        w.delete_all().map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
    }
    let _ = std::fs::remove_file(dir.join(MARKER));
    Ok((index, 0))
}

/// `Name <addr>` (or `"Name" <addr>`, or `addr`) as an [`Address`].
fn parse_address(s: &str) -> Address {
    match (s.rfind('<'), s.rfind('>')) {
        (Some(i), Some(j)) if i < j => {
            let name = s[..i].trim().trim_matches('"').trim();
            Address {
                name: (!name.is_empty()).then(|| name.to_string()),
                addr: s[i + 1..j].trim().to_string(),
            }
        }
        _ => Address {
            name: None,
            addr: s.trim().to_string(),
        },
    }
}

/// The search document of message `id`: headers from the publisher's signed
/// summary (what the pages show), bodies from the raw source, attachment text
/// from the attachment blobs. A blob that cannot be read or parsed still
/// gives a document (headers only).
pub fn to_doc(model: &ReadModel, id: u64) -> SearchDoc {
    let Some((man, e)) = model.publication.message(id) else {
        return SearchDoc {
            id,
            ..SearchDoc::default()
        };
    };
    let s = &e.summary;
    let mut doc = SearchDoc {
        id,
        message_id: s.message_id.clone().unwrap_or_default(),
        from: s.from.iter().map(|a| parse_address(a)).collect(),
        to: s.to.iter().map(|a| parse_address(a)).collect(),
        cc: s.cc.iter().map(|a| parse_address(a)).collect(),
        subject: s.subject.clone().unwrap_or_default(),
        date: s
            .date
            .as_deref()
            .and_then(mail_parser::DateTime::parse_rfc3339)
            .map(|d| d.to_timestamp()),
        thread: model.item(id).map_or(0, |i| i.thread as u64),
        dkim: if e.dkim.iter().any(|a| a.result == "pass") {
            DkimSummary::Pass
        } else if e.dkim.is_empty() {
            DkimSummary::None
        } else {
            DkimSummary::Fail
        },
        release: u32::try_from(man.release).ok(),
        has_attachment: !e.attachments.is_empty(),
        ..SearchDoc::default()
    };
    if let Ok(raw) = model.publication.read_blob(&e.blob, e.size) {
        // mail-parser has panicked on hostile input before: never let it take the indexer down.
        let bodies = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let m = MessageParser::default().parse(&raw[..])?;
            let text: Vec<String> = (0..m.text_body_count())
                .filter_map(|i| m.body_text(i).map(|t| t.into_owned()))
                .collect();
            let html = if text.is_empty() {
                m.body_html(0).map(|h| h.into_owned())
            } else {
                None
            };
            let list = m.header_raw("List-Id").map(|v| v.trim().to_string());
            let date = m.date().map(|d| d.to_timestamp());
            Some((text.join("\n"), html, list, date))
        }));
        if let Ok(Some((text, html, list, date))) = bodies {
            doc.body_text = text;
            doc.body_html = html;
            doc.list = list;
            doc.date = doc.date.or(date);
        }
    }
    doc.attachments = e
        .attachments
        .iter()
        .map(|a| {
            let name = a.file_name.clone().unwrap_or_default();
            let text = (a.size <= MAX_ATTACHMENT_TEXT_INPUT)
                .then(|| model.publication.read_blob(&a.blob, a.size).ok())
                .flatten()
                .and_then(|bytes| {
                    std::panic::catch_unwind(AssertUnwindSafe(|| {
                        extract_text(
                            &bytes,
                            Some(&a.content_type),
                            Some(&name),
                            DEFAULT_MAX_CHARS,
                        )
                        .ok()
                    }))
                    .ok()
                    .flatten()
                });
            AttachmentDoc {
                filename: name,
                content_type: a.content_type.clone(),
                text,
            }
        })
        .collect();
    doc
}

/// A snippet from trove-search (HTML-escaped text with `<b>` marks) made
/// safe for a page whatever it contains: every piece between the marks is
/// unescaped and escaped again, and the marks become `<mark>`.
pub fn safe_snippet(snippet: &str) -> String {
    let mut out = String::with_capacity(snippet.len() + 16);
    let mut open = false;
    let mut rest = snippet;
    loop {
        let next = rest.find("<b>").into_iter().chain(rest.find("</b>")).min();
        let Some(i) = next else {
            out.push_str(&crate::html::esc(&unescape(rest)));
            break;
        };
        out.push_str(&crate::html::esc(&unescape(&rest[..i])));
        let closing = rest[i..].starts_with("</b>");
        if closing && open {
            out.push_str("</mark>");
            open = false;
        } else if !closing && !open {
            out.push_str("<mark>");
            open = true;
        }
        rest = &rest[i + if closing { 4 } else { 3 }..];
    }
    if open {
        out.push_str("</mark>");
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_keep_only_marks() {
        assert_eq!(
            safe_snippet("a &lt;script&gt; <b>word</b> &amp; b"),
            "a &lt;script&gt; <mark>word</mark> &amp; b"
        );
        // Raw markup that slipped through is escaped, not passed on.
        assert_eq!(
            safe_snippet("<script>x</script><b>y"),
            "&lt;script&gt;x&lt;/script&gt;<mark>y</mark>"
        );
        assert_eq!(safe_snippet("</b>z<b><b>"), "z<mark></mark>");
    }

    #[test]
    fn addresses() {
        assert_eq!(
            parse_address("\"Ann B\" <ann@x.org>"),
            Address::new(Some("Ann B"), "ann@x.org")
        );
        assert_eq!(parse_address("bob@x.org"), Address::new(None, "bob@x.org"));
    }
}
