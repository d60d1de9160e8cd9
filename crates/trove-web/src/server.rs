//! The router, its handlers, the protective middleware, hot reload and serving.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tower_http::set_header::SetResponseHeaderLayer;
use trove_publication::{layout, Publication};

use crate::cache::{Flights, KeyWeight, Page, PageCache};
use crate::error::{Error, Result};
use crate::html;
use crate::model::{address, ReadModel};
use crate::search::{Engine, SearchError, SearchIndex};

/// The Content-Security-Policy of every page.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
/// The policy of a sanitised HTML body: no script, no remote anything, sandboxed.
pub const CSP_MAIL: &str = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox";
/// The policy of raw sources, attachments and publication files.
pub const CSP_FILE: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// Server settings; [`Config::default`] suits a public node.
#[derive(Debug, Clone)]
pub struct Config {
    /// Requests per second allowed per client IP (burst: 4x); `None` turns rate limiting off.
    /// Does not count requests under `/pub/` (see `pub_rate_limit`).
    pub rate_limit: Option<u32>,
    /// The separate, much larger budget for `/pub/` (mirrors pull thousands of
    /// blobs in a burst), per client IP and second (burst: 4x); `None`: unlimited.
    pub pub_rate_limit: Option<u32>,
    /// Requests handled at once across all clients; more wait in line.
    pub max_concurrency: usize,
    /// Longest a request may take before it is answered 408.
    pub request_timeout: Duration,
    /// How often the freshness pointer is checked for a new release.
    pub reload_interval: Duration,
    /// Where the full-text index is kept (a subdirectory per publication);
    /// `None`: in RAM for small publications, else in the user's cache directory.
    pub index_dir: Option<PathBuf>,
    /// Bytes of rendered message pages kept in memory (with their gzip
    /// variants), per publication state; 0 renders every request afresh.
    pub page_cache_bytes: usize,
    /// Bytes of search answers (HTML pages and `/api/search` JSON, with their
    /// gzip variants) kept in memory, per publication state; 0 keeps none
    /// (concurrent identical searches still run once).
    pub search_cache_bytes: usize,
    /// Wall-clock budget of one search; past it the search stops and answers
    /// with what it found, marked as cut short (and that answer is not cached).
    pub search_time_budget: Duration,
    /// Searches run at once (more wait in line, inside the request timeout):
    /// a flood of searches takes these threads, never every core, so the
    /// other pages keep being served, and a search's time budget is spent
    /// running rather than sharing a core with hundreds of others.
    /// Default: the number of CPUs this process may use.
    pub search_concurrency: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            rate_limit: Some(50),
            pub_rate_limit: Some(2_000),
            max_concurrency: 512,
            request_timeout: Duration::from_secs(10),
            reload_interval: Duration::from_secs(2),
            index_dir: None,
            page_cache_bytes: 64 << 20,
            search_cache_bytes: 16 << 20,
            search_time_budget: Duration::from_secs(2),
            search_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// The served state: the current read model with its page and search caches
/// (swapped whole on a new release), the full-text index, and the rate limiter's buckets.
#[derive(Clone)]
pub struct Site {
    state: Arc<RwLock<Arc<Current>>>,
    page_bytes: usize,
    search_bytes: usize,
    search_budget: Duration,
    /// Permits to run a search (see [`Config::search_concurrency`]).
    search_slots: Arc<tokio::sync::Semaphore>,
    /// Searches run on the engine (answers not taken from the cache).
    searches: Arc<AtomicU64>,
    pub(crate) index: Arc<SearchIndex>,
    root: PathBuf,
    buckets: Arc<Mutex<Buckets>>,
    pub_buckets: Arc<Mutex<Buckets>>,
    rate: Option<u32>,
    pub_rate: Option<u32>,
}

/// Token buckets per client: (tokens, last refill).
type Buckets = HashMap<IpAddr, (f64, Instant)>;

/// One publication state: its read model and the pages and search answers
/// rendered from it. A new release replaces them all at once, so no stale
/// page or answer outlives its model.
pub(crate) struct Current {
    pub(crate) model: Arc<ReadModel>,
    pub(crate) pages: PageCache,
    /// Final search answers (see [`search_response`]).
    searches: PageCache<SearchKey>,
    /// Searches being computed, shared by concurrent identical requests.
    flights: Flights<SearchKey, Arc<Answer>>,
}

impl Current {
    fn new(model: Arc<ReadModel>, page_bytes: usize, search_bytes: usize) -> Arc<Current> {
        Arc::new(Current {
            model,
            pages: PageCache::new(page_bytes),
            searches: PageCache::new(search_bytes),
            flights: Flights::default(),
        })
    }
}

impl Site {
    /// Opens the publication in `root` and builds its read model.
    pub fn open(root: &FsPath) -> Result<Site> {
        let p = Publication::open(root).map_err(|source| Error::Publication {
            path: root.to_path_buf(),
            source: Box::new(source),
        })?;
        let d = Config::default();
        let (page_bytes, search_bytes) = (d.page_cache_bytes, d.search_cache_bytes);
        Ok(Site {
            state: Arc::new(RwLock::new(Current::new(
                Arc::new(ReadModel::build(p)),
                page_bytes,
                search_bytes,
            ))),
            page_bytes,
            search_bytes,
            search_budget: d.search_time_budget,
            search_slots: Arc::new(tokio::sync::Semaphore::new(d.search_concurrency.max(1))),
            searches: Arc::default(),
            index: Arc::new(SearchIndex::new(None)),
            root: root.to_path_buf(),
            buckets: Arc::default(),
            pub_buckets: Arc::default(),
            rate: None,
            pub_rate: None,
        })
    }

    /// Keeps the full-text index under `dir` (one subdirectory per
    /// publication) instead of choosing RAM or the cache directory.
    pub fn with_index_dir(mut self, dir: Option<PathBuf>) -> Site {
        self.index = Arc::new(SearchIndex::new(dir));
        self
    }

    /// The full-text index (built by [`Site::update_index`]).
    pub fn index(&self) -> &SearchIndex {
        &self.index
    }

    /// Indexes every message of the current read model not indexed yet.
    /// Blocking: [`serve`] runs it in the background at start and after each reload.
    pub fn update_index(&self) {
        self.index.update(&self.model());
    }

    /// The current read model.
    pub fn model(&self) -> Arc<ReadModel> {
        self.current().model.clone()
    }

    /// Searches run on the engine so far (answers that came from the search
    /// cache, or from a concurrent identical request, are not counted).
    pub fn searches_run(&self) -> u64 {
        self.searches.load(Ordering::Relaxed)
    }

    /// The current publication state (read model and caches).
    pub(crate) fn current(&self) -> Arc<Current> {
        match self.state.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Replaces the current state (a new release, or new cache budgets).
    fn swap(&self, c: Arc<Current>) {
        match self.state.write() {
            Ok(mut g) => *g = c,
            Err(p) => *p.into_inner() = c,
        }
    }

    /// Sets the cache budgets (see [`Config::page_cache_bytes`] and
    /// [`Config::search_cache_bytes`]); what was cached so far is dropped.
    fn set_caches(&mut self, page_bytes: usize, search_bytes: usize) {
        self.page_bytes = page_bytes;
        self.search_bytes = search_bytes;
        let model = self.current().model.clone();
        self.swap(Current::new(model, page_bytes, search_bytes));
    }

    /// Re-opens the publication when its freshness pointer names a newer
    /// release and swaps the read model in one step; returns the release now served.
    /// A publication that fails to open keeps the old model serving.
    pub fn reload(&self) -> u64 {
        let cur = self.model();
        let now = cur.publication.latest_release();
        let Ok(bytes) = std::fs::read(self.root.join(layout::FRESHNESS_PATH)) else {
            return now;
        };
        let same = cur
            .publication
            .pointer()
            .is_some_and(|p| String::from_utf8_lossy(&bytes).contains(&p.manifest.to_hex()));
        if same {
            return now;
        }
        match Publication::open(&self.root) {
            Ok(p) if p.latest_release() >= now => {
                let r = p.latest_release();
                self.swap(Current::new(
                    Arc::new(ReadModel::build(p)),
                    self.page_bytes,
                    self.search_bytes,
                ));
                r
            }
            _ => now,
        }
    }

    /// Takes one token from `ip`'s bucket: the `/pub/` budget for mirror
    /// paths, the page budget for everything else.
    fn allow(&self, ip: IpAddr, mirror_path: bool) -> bool {
        let (rate, buckets) = if mirror_path {
            (self.pub_rate, &self.pub_buckets)
        } else {
            (self.rate, &self.buckets)
        };
        let Some(rate) = rate else { return true };
        let rate = f64::from(rate.max(1));
        let burst = rate * 4.0;
        let now = Instant::now();
        let Ok(mut b) = buckets.lock() else {
            return true;
        };
        if b.len() > 100_000 {
            b.clear();
        }
        let e = b.entry(ip).or_insert((burst, now));
        e.0 = (e.0 + now.duration_since(e.1).as_secs_f64() * rate).min(burst);
        e.1 = now;
        if e.0 >= 1.0 {
            e.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(html::page("Not found", "trove", "<h1>Not found</h1>")),
    )
        .into_response()
}

/// Parses a publication id: 1 to 19 ASCII digits, not zero.
pub fn parse_id(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|n| *n > 0)
}

/// A download name safe in a header and on any file system: `[A-Za-z0-9._-]`,
/// not starting with a dot, at most 100 bytes; `attachment-K` when nothing is left.
pub fn safe_name(name: Option<&str>, k: usize) -> String {
    let s: String = name
        .unwrap_or("")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let s = s.trim_start_matches(['.', '_']).to_string();
    if s.is_empty() {
        format!("attachment-{k}")
    } else {
        s
    }
}

/// Content types an attachment may keep; everything else is served as octet-stream.
fn safe_type(t: &str) -> &'static str {
    const OK: &[&str] = &[
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "text/plain",
        "application/zip",
        "text/calendar",
    ];
    let t = t
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    OK.iter()
        .find(|o| **o == t)
        .copied()
        .unwrap_or("application/octet-stream")
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

async fn home(State(s): State<Site>) -> Response {
    let m = s.model();
    Html(html::home(&m)).into_response()
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        format!("{}{}", html::STYLE, html::SEARCH_STYLE),
    )
        .into_response()
}

async fn release(State(s): State<Site>, Path(r): Path<String>) -> Response {
    let m = s.model();
    match parse_id(&r).and_then(|r| html::release_with(&html::Links::server(), &m, r)) {
        Some(page) => Html(page).into_response(),
        None => not_found(),
    }
}

async fn message(State(s): State<Site>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Some(id) = parse_id(&id) else {
        return not_found();
    };
    let cur = s.current();
    let page = match cur.pages.get(&id) {
        Some(p) => p,
        None => {
            let m = cur.model.clone();
            let Some(e) = m.entry(id).cloned() else {
                return not_found();
            };
            let Some(Some(page)) = blocking(move || {
                let raw = m.publication.read_blob(&e.blob, e.size).ok()?;
                html::message(&m, id, &crate::mail::render(&raw))
            })
            .await
            else {
                return not_found();
            };
            let p = Arc::new(Page::new(page));
            cur.pages.insert(id, p.clone());
            p
        }
    };
    page_response(page, &headers, move |p, added| {
        cur.pages.grew(&id, p, added)
    })
    .await
}

/// True when `Accept-Encoding` accepts gzip (by name or `*`, with q above 0).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let Some(v) = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    v.split(',').any(|t| {
        let mut parts = t.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q_zero = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !q_zero
    })
}

/// A cached page as a response: 304 for a matching `If-None-Match`, the
/// precompressed gzip variant when the client takes it, else the body.
/// `grew` is told the size of the gzip variant when this request made it
/// (so the cache holding the page counts it).
async fn page_response(
    page: Arc<Page>,
    headers: &HeaderMap,
    grew: impl FnOnce(&Arc<Page>, usize) + Send + 'static,
) -> Response {
    let etag = page.etag.clone();
    let mut r = match page
        .etag
        .to_str()
        .ok()
        .and_then(|t| not_modified(t, headers))
    {
        Some(r) => r,
        None => {
            let gz = if accepts_gzip(headers) {
                if page.has_gzip() {
                    page.gzip()
                } else {
                    // The first compression of a page is real work: off the async threads.
                    let p = page.clone();
                    blocking(move || {
                        let g = p.gzip();
                        grew(&p, g.as_ref().map_or(0, |g| g.len()));
                        g
                    })
                    .await
                    .flatten()
                }
            } else {
                None
            };
            let mut r = match gz {
                Some(g) => {
                    let mut r = Response::new(Body::from(g));
                    r.headers_mut()
                        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                    r
                }
                None => Response::new(Body::from(page.body.clone())),
            };
            r.headers_mut()
                .insert(header::CONTENT_TYPE, page.content_type.clone());
            r
        }
    };
    let h = r.headers_mut();
    h.insert(header::ETAG, etag);
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    // Pages and search answers change when a release lands (next links,
    // threads, hits): revalidate with the ETag.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

async fn message_html(State(s): State<Site>, Path(id): Path<String>) -> Response {
    let m = s.model();
    let Some(e) = parse_id(&id).and_then(|id| m.entry(id)).cloned() else {
        return not_found();
    };
    let Some(Some(body)) = blocking(move || {
        let raw = m.publication.read_blob(&e.blob, e.size).ok()?;
        crate::mail::render(&raw).html
    })
    .await
    else {
        return not_found();
    };
    let doc = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>{body}</body></html>"
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP_MAIL),
        ],
        doc,
    )
        .into_response()
}

/// 304 when the client's `If-None-Match` names `tag` (or `*`).
fn not_modified(tag: &str, headers: &HeaderMap) -> Option<Response> {
    let inm = headers.get(header::IF_NONE_MATCH)?.to_str().ok()?;
    let hit = inm
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == tag || t == "*");
    if !hit {
        return None;
    }
    let mut r = StatusCode::NOT_MODIFIED.into_response();
    if let Ok(v) = HeaderValue::from_str(tag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    Some(r)
}

fn file_response(
    bytes: Vec<u8>,
    ctype: &str,
    disposition: Option<String>,
    etag: Option<String>,
    headers: &HeaderMap,
) -> Response {
    if let Some(r) = etag.as_deref().and_then(|t| not_modified(t, headers)) {
        return r;
    }
    let mut r = Response::new(Body::from(bytes));
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(ctype) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP_FILE),
    );
    if let Some(d) = disposition.and_then(|d| HeaderValue::from_str(&d).ok()) {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    if let Some(t) = etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        h.insert(header::ETAG, t);
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    r
}

async fn raw(State(s): State<Site>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let m = s.model();
    let Some(id) = parse_id(&id) else {
        return not_found();
    };
    let Some(e) = m.entry(id).cloned() else {
        return not_found();
    };
    let Some(Ok(bytes)) = blocking(move || m.publication.read_blob(&e.blob, e.size)).await else {
        return not_found();
    };
    let tag = format!("\"{}\"", e.blob.to_hex());
    file_response(
        bytes,
        "message/rfc822",
        Some(format!("attachment; filename=\"{id}.eml\"")),
        Some(tag),
        &headers,
    )
}

async fn attachment(
    State(s): State<Site>,
    Path((id, k)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let m = s.model();
    let (Some(id), Some(k)) = (parse_id(&id), parse_id(&k)) else {
        return not_found();
    };
    let Some(e) = m.entry(id) else {
        return not_found();
    };
    let Some(a) = usize::try_from(k - 1)
        .ok()
        .and_then(|i| e.attachments.get(i))
        .cloned()
    else {
        return not_found();
    };
    let Some(Ok(bytes)) = blocking(move || m.publication.read_blob(&a.blob, a.size)).await else {
        return not_found();
    };
    let name = safe_name(a.file_name.as_deref(), k as usize);
    let tag = format!("\"{}\"", a.blob.to_hex());
    file_response(
        bytes,
        safe_type(&a.content_type),
        Some(format!("attachment; filename=\"{name}\"")),
        Some(tag),
        &headers,
    )
}

async fn thread(State(s): State<Site>, Path(id): Path<String>) -> Response {
    let m = s.model();
    match parse_id(&id).and_then(|id| html::thread_with(&html::Links::server(), &m, id)) {
        Some(page) => Html(page).into_response(),
        None => not_found(),
    }
}

/// (address, count) pairs.
pub(crate) type Counts = Vec<(String, usize)>;

/// Who `addr` wrote to and heard from: (address, count), most first.
pub(crate) fn counterparts(m: &ReadModel, addr: &str) -> (Counts, Counts) {
    let mut to: HashMap<String, usize> = HashMap::new();
    let mut from: HashMap<String, usize> = HashMap::new();
    for id in m.sent.get(addr).into_iter().flatten() {
        if let Some(e) = m.entry(*id) {
            for r in e.summary.to.iter().chain(&e.summary.cc) {
                *to.entry(address(r)).or_default() += 1;
            }
        }
    }
    for id in m.received.get(addr).into_iter().flatten() {
        if let Some(e) = m.entry(*id) {
            for f in &e.summary.from {
                *from.entry(address(f)).or_default() += 1;
            }
        }
    }
    let sort = |h: HashMap<String, usize>| {
        let mut v: Vec<_> = h.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(50);
        v
    };
    (sort(to), sort(from))
}

async fn correspondent(State(s): State<Site>, Path(addr): Path<String>) -> Response {
    let m = s.model();
    let addr = addr.to_ascii_lowercase();
    if addr.len() > 320 {
        return not_found();
    }
    match html::correspondent_with(&html::Links::server(), &m, &addr) {
        Some(page) => Html(page).into_response(),
        None => not_found(),
    }
}

/// Query string of the search page and API: `q` (normalised as it is read, see
/// [`normalize_query`]), and `page` (pages), `offset`/`limit` (API), `sort`
/// (`relevance` or `date`), `facets` (API, default on).
#[derive(Debug, Deserialize)]
pub(crate) struct SearchQuery {
    #[serde(default, deserialize_with = "normalized")]
    pub(crate) q: String,
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    offset: Option<String>,
    #[serde(default)]
    limit: Option<String>,
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    facets: Option<String>,
}

/// Hits per page of the HTML search page.
pub(crate) const PER_PAGE: usize = 20;
/// Largest `limit` of `/api/search`.
pub(crate) const API_MAX_LIMIT: usize = 100;
/// Longest query accepted, in bytes (trove-search's own cap).
const MAX_QUERY: usize = trove_search::MAX_QUERY_LEN;

/// A checked search request.
pub(crate) struct SearchRequest {
    pub(crate) query: String,
    pub(crate) opts: trove_search::SearchOptions,
}

fn number(
    name: &str,
    v: &Option<String>,
    default: usize,
    max: usize,
) -> std::result::Result<usize, String> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(t) => match t.parse::<usize>() {
            Ok(n) if n <= max => Ok(n),
            _ => Err(format!("{name}={t:?} is not a number from 0 to {max}")),
        },
    }
}

impl SearchQuery {
    /// Checks the parameters; `api` selects offset/limit paging, else `page`.
    pub(crate) fn request(&self, api: bool) -> std::result::Result<SearchRequest, String> {
        if self.q.len() > MAX_QUERY {
            return Err(format!(
                "the query is {} bytes long; at most {MAX_QUERY} are allowed",
                self.q.len()
            ));
        }
        let sort = match self.sort.as_deref().map(str::trim) {
            None | Some("") | Some("relevance") => trove_search::Sort::Relevance,
            Some("date") => trove_search::Sort::Date,
            Some(o) => return Err(format!("sort={o:?}: use relevance or date")),
        };
        let max_page = trove_search::MAX_WINDOW / PER_PAGE;
        let (offset, limit) = if api {
            let limit = number("limit", &self.limit, PER_PAGE, API_MAX_LIMIT)?;
            let offset = number("offset", &self.offset, 0, trove_search::MAX_WINDOW - limit)?;
            (offset, limit)
        } else {
            let page = number("page", &self.page, 1, max_page)?.max(1);
            ((page - 1) * PER_PAGE, PER_PAGE)
        };
        let facets = match self.facets.as_deref().map(str::trim) {
            None | Some("") | Some("true") | Some("1") => true,
            Some("false") | Some("0") => false,
            Some(o) => return Err(format!("facets={o:?}: use true or false")),
        };
        Ok(SearchRequest {
            query: self.q.clone(),
            opts: trove_search::SearchOptions {
                limit,
                offset,
                sort,
                snippet: true,
                facets,
                ..trove_search::SearchOptions::default()
            },
        })
    }
}

fn normalized<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    String::deserialize(d).map(|q| normalize_query(&q))
}

/// Outcome of one search: the results and the engine that answered, or why not.
pub(crate) type SearchOutcome =
    std::result::Result<(trove_search::SearchResults, Engine), SearchError>;

/// Runs a checked request off the async threads, within the site's time budget.
pub(crate) async fn run_search(
    s: &Site,
    m: &Arc<ReadModel>,
    mut req: SearchRequest,
) -> SearchOutcome {
    req.opts.time_budget = s.search_budget;
    let Ok(slot) = s.search_slots.clone().acquire_owned().await else {
        return Err(SearchError::Internal("search slots closed".into()));
    };
    s.searches.fetch_add(1, Ordering::Relaxed);
    let index = s.index.clone();
    let m = m.clone();
    // The slot goes with the search: it is freed when the search ends, even
    // if the request that started it was dropped.
    blocking(move || {
        let r = index.search(&m, &req.query, &req.opts);
        drop(slot);
        r
    })
    .await
    .unwrap_or_else(|| Err(SearchError::Internal("search task failed".into())))
}

/// The query as one cache key: ASCII whitespace outside quoted phrases
/// (which trove-search's lexer skips) trimmed at both ends and made single
/// spaces; quoted phrases are kept byte for byte. Pages and the API answer
/// with this form, so every spelling of one query gets the same bytes.
pub(crate) fn normalize_query(q: &str) -> String {
    let mut out = String::with_capacity(q.len());
    let (mut quoted, mut space) = (false, false);
    for c in q.chars() {
        if !quoted && c.is_ascii_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        if c == '"' {
            quoted = !quoted;
        }
        out.push(c);
    }
    out
}

/// What a search answer depends on within one publication state: the
/// normalised query, order, window, facets, and the format (page or JSON).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct SearchKey {
    json: bool,
    query: String,
    by_date: bool,
    offset: usize,
    limit: usize,
    facets: bool,
}

impl SearchKey {
    /// The key of a checked request answered as JSON (`json`) or as the HTML page.
    pub(crate) fn new(json: bool, req: &SearchRequest) -> SearchKey {
        SearchKey {
            json,
            query: req.query.clone(),
            by_date: req.opts.sort == trove_search::Sort::Date,
            offset: req.opts.offset,
            limit: req.opts.limit,
            facets: req.opts.facets,
        }
    }
}

impl KeyWeight for SearchKey {
    fn key_weight(&self) -> usize {
        self.query.len()
    }
}

/// A rendered search answer, before it is cached or shared.
pub(crate) struct SearchBody {
    pub(crate) status: StatusCode,
    pub(crate) body: String,
    /// From the full-text index and not cut short by the time budget.
    pub(crate) complete: bool,
}

/// A search answer as shared by the requests that waited for it.
#[derive(Debug)]
pub(crate) struct Answer {
    status: StatusCode,
    page: Arc<Page>,
    /// Final for this publication state (see [`search_response`]).
    final_: bool,
}

/// What the search page and `/api/search` share once a request is checked:
/// its key, the cache or one search for all identical requests (see
/// [`search_response`]), run with [`run_search`]; `render` makes the JSON
/// (`json`) or the page of the outcome for the query.
pub(crate) async fn answer_search<R>(
    s: &Site,
    json: bool,
    req: SearchRequest,
    headers: &HeaderMap,
    render: R,
) -> Response
where
    R: FnOnce(&Site, &ReadModel, &str, SearchOutcome) -> SearchBody,
{
    let key = SearchKey::new(json, &req);
    let content_type = if json {
        "application/json"
    } else {
        "text/html; charset=utf-8"
    };
    search_response(s, key, content_type, headers, |m| async move {
        let query = req.query.clone();
        let outcome = run_search(s, &m, req).await;
        render(s, &m, &query, outcome)
    })
    .await
}

/// Answers a search request: from the current state's search cache, or by
/// running `render` (the search and its page or JSON) once for every
/// concurrent identical request. An answer is kept, and served with an ETag
/// and `Cache-Control: no-cache` like a message page, only when it is final:
/// a 200 from the full-text index that held every message of this state
/// before and after the search, not cut short by the time budget. Anything
/// else (a timed-out partial result, answers while the index is built or
/// catches up with a new release, errors) is sent to the requests that asked
/// for it while it ran, with `Cache-Control: no-store`, and never kept: the
/// next request searches again.
pub(crate) async fn search_response<F, Fut>(
    s: &Site,
    key: SearchKey,
    content_type: &'static str,
    headers: &HeaderMap,
    render: F,
) -> Response
where
    F: FnOnce(Arc<ReadModel>) -> Fut,
    Fut: Future<Output = SearchBody>,
{
    let cur = s.current();
    let answer = match cur.searches.get(&key) {
        Some(page) => Arc::new(Answer {
            status: StatusCode::OK,
            page,
            final_: true,
        }),
        None => {
            cur.flights
                .run(&key, || async {
                    // Kept by a flight that ended since the lookup above.
                    if let Some(page) = cur.searches.get(&key) {
                        return Arc::new(Answer {
                            status: StatusCode::OK,
                            page,
                            final_: true,
                        });
                    }
                    let n = cur.model.items.len() as u64;
                    let before = s.index.indexed();
                    let r = render(cur.model.clone()).await;
                    let page = Arc::new(Page::with_type(r.body, content_type));
                    let final_ = r.status == StatusCode::OK
                        && r.complete
                        && before == n
                        && s.index.indexed() == n;
                    if final_ {
                        cur.searches.insert(key.clone(), page.clone());
                    }
                    Arc::new(Answer {
                        status: r.status,
                        page,
                        final_,
                    })
                })
                .await
        }
    };
    if answer.final_ {
        let c = cur.clone();
        return page_response(answer.page.clone(), headers, move |p, added| {
            c.searches.grew(&key, p, added)
        })
        .await;
    }
    let mut r = Response::new(Body::from(answer.page.body.clone()));
    *r.status_mut() = answer.status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, answer.page.content_type.clone());
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The search page: the form alone (`outcome` None), the results, or why
/// the search could not run.
fn render_search_page(
    s: &Site,
    m: &ReadModel,
    query: &str,
    sort: &str,
    page: usize,
    outcome: Option<SearchOutcome>,
) -> SearchBody {
    let name = &m.publication.descriptor().name;
    let mut view = html::SearchView {
        query,
        sort,
        page,
        engine: Engine::FullText.as_str(),
        indexed: s.index.indexed(),
        messages: m.items.len() as u64,
        results: None,
        error: None,
        model: m,
    };
    let Some(outcome) = outcome else {
        return SearchBody {
            status: StatusCode::OK,
            body: html::search_page(&view, name),
            complete: true,
        };
    };
    match outcome {
        Ok((res, engine)) => {
            view.engine = engine.as_str();
            view.results = Some(&res);
            SearchBody {
                status: StatusCode::OK,
                body: html::search_page(&view, name),
                complete: engine == Engine::FullText && !res.timed_out,
            }
        }
        Err(SearchError::BadQuery(e)) => {
            view.error = Some(&e);
            SearchBody {
                status: StatusCode::BAD_REQUEST,
                body: html::search_page(&view, name),
                complete: true,
            }
        }
        Err(SearchError::Internal(e)) => {
            tracing::error!("search {query:?}: {e}");
            let e = "the search index failed; try again later".to_string();
            view.error = Some(&e);
            SearchBody {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                body: html::search_page(&view, name),
                complete: false,
            }
        }
    }
}

async fn search(
    State(s): State<Site>,
    Query(q): Query<SearchQuery>,
    headers: HeaderMap,
) -> Response {
    // The empty form, or a request that could not be checked: cheap, not cached.
    // (A checked request's sort is exactly one of these two.)
    let sort = match q.sort.as_deref().map(str::trim) {
        Some("date") => "date",
        _ => "relevance",
    };
    let req = match (q.q.is_empty(), q.request(false)) {
        (false, Ok(req)) => req,
        (empty, checked) => {
            let m = s.model();
            let outcome = checked
                .err()
                .filter(|_| !empty)
                .map(|e| Err(SearchError::BadQuery(e)));
            let r = render_search_page(&s, &m, &q.q, sort, 1, outcome);
            return (r.status, Html(r.body)).into_response();
        }
    };
    let page = req.opts.offset / PER_PAGE + 1;
    answer_search(&s, false, req, &headers, |s, m, query, outcome| {
        render_search_page(s, m, query, sort, page, Some(outcome))
    })
    .await
}

async fn feed(State(s): State<Site>) -> Response {
    let m = s.model();
    (
        [(header::CONTENT_TYPE, layout::content_type::ATOM)],
        crate::api::atom(&m),
    )
        .into_response()
}

/// `/pub/PATH`: the publication's own files for mirrors. Only the layout's
/// paths, no dot segments, no listing.
pub fn pub_path_ok(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').collect();
    let seg_ok = |s: &&str| {
        !s.is_empty()
            && s.len() <= 128
            && !s.starts_with('.')
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    if !segs.iter().all(seg_ok) {
        return false;
    }
    match segs.as_slice() {
        [f] => [
            layout::DESCRIPTOR_PATH,
            layout::FRESHNESS_PATH,
            layout::FEED_PATH,
        ]
        .contains(f),
        [d, f] => *d == layout::RELEASES_DIR && layout::release_from_file_name(f).is_some(),
        [d, a, b] => {
            (*d == layout::BLOBS_DIR
                && a.len() == 2
                && b.len() == 62
                && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_hexdigit()))
                || (*d == layout::FILES_DIR
                    && a.bytes().all(|c| c.is_ascii_digit())
                    && layout::check_file_name(b).is_ok())
        }
        _ => false,
    }
}

async fn pub_file(State(s): State<Site>, Path(path): Path<String>, headers: HeaderMap) -> Response {
    if !pub_path_ok(&path) {
        return not_found();
    }
    let fs = layout::to_fs_path(&s.root, &path);
    let Ok(meta) = tokio::fs::symlink_metadata(&fs).await else {
        return not_found();
    };
    if !meta.is_file() {
        return not_found();
    }
    // Cheap validators, checked before the file is read: a blob's name is its
    // BLAKE3, so the path is the tag; other files get size and mtime.
    let blob = path.starts_with(layout::BLOBS_DIR);
    let immutable =
        blob || path.starts_with(layout::RELEASES_DIR) || path.starts_with(layout::FILES_DIR);
    let tag = if blob {
        format!("\"{}\"", path[layout::BLOBS_DIR.len()..].replace('/', ""))
    } else {
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        format!("\"{:x}-{mtime:x}\"", meta.len())
    };
    if let Some(r) = not_modified(&tag, &headers) {
        return r;
    }
    let Ok(bytes) = tokio::fs::read(&fs).await else {
        return not_found();
    };
    let mut r = file_response(bytes, layout::content_type_for(&path), None, None, &headers);
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    r
}

async fn protect(
    State(s): State<Site>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    if !s.allow(addr.ip(), req.uri().path().starts_with("/pub/")) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "Too many requests\n",
        )
            .into_response();
    }
    // Encoded slashes or dots never name anything here.
    let p = req.uri().path().to_ascii_lowercase();
    if p.contains("%2f")
        || p.contains("%2e")
        || p.contains("%5c")
        || p.contains("/../")
        || p.len() > 1024
    {
        return not_found();
    }
    next.run(req).await
}

/// The router of all pages, files and API routes over `site`, with
/// security headers on every response, compression, body limit,
/// timeout, concurrency limit and per-client rate limiting from `config`.
pub fn router(mut site: Site, config: &Config) -> Router {
    site.rate = config.rate_limit;
    site.pub_rate = config.pub_rate_limit;
    site.search_budget = config.search_time_budget;
    site.search_slots = Arc::new(tokio::sync::Semaphore::new(
        config.search_concurrency.max(1),
    ));
    if site.page_bytes != config.page_cache_bytes || site.search_bytes != config.search_cache_bytes
    {
        site.set_caches(config.page_cache_bytes, config.search_cache_bytes);
    }
    Router::new()
        .route("/", get(home))
        .route("/style.css", get(style))
        .route("/release/{r}", get(release))
        .route("/emailid/{id}", get(message))
        .route("/emailid/{id}/html", get(message_html))
        .route("/emailid/{id}/raw", get(raw))
        .route("/emailid/{id}/attachment/{k}", get(attachment))
        .route("/thread/{id}", get(thread))
        .route("/correspondent/{addr}", get(correspondent))
        .route("/search", get(search))
        .route("/feed.atom", get(feed))
        .route("/pub/{*path}", get(pub_file))
        .merge(crate::api::routes())
        .fallback(|| async { not_found() })
        .layer(middleware::from_fn_with_state(site.clone(), protect))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(16 * 1024))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(tower::limit::ConcurrencyLimitLayer::new(
            config.max_concurrency.max(1),
        ))
        .with_state(site)
}

/// Serves `site` on `listener` until `shutdown` completes (then finishes
/// the requests in flight), reloading the read model when a new release lands.
pub async fn serve(
    listener: tokio::net::TcpListener,
    site: Site,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let site = match &config.index_dir {
        Some(d) => site.with_index_dir(Some(d.clone())),
        None => site,
    };
    let reloader = site.clone();
    let interval = config.reload_interval;
    // The first index build runs in the background; searches fall back to
    // substrings until it is done. Each new release is then indexed incrementally.
    let first = site.clone();
    tokio::task::spawn_blocking(move || first.update_index());
    let task = tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let r = reloader.clone();
            let before = r.model().publication.latest_release();
            let now = tokio::task::spawn_blocking(move || r.reload())
                .await
                .unwrap_or(before);
            if now != before {
                let r = reloader.clone();
                tokio::task::spawn_blocking(move || r.update_index());
            }
        }
    });
    let app = router(site, &config).into_make_service_with_connect_info::<SocketAddr>();
    let res = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    task.abort();
    res.map_err(|source| Error::Io { addr, source })
}

/// Serves the publication in `dir` on `listen` until Ctrl-C or SIGTERM, on a
/// runtime of its own (for the `trove serve` command); `on_ready` gets the
/// bound address once the socket listens.
pub fn run(
    dir: &FsPath,
    listen: &str,
    config: Config,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<()> {
    let io = |source| Error::Io {
        addr: listen.to_string(),
        source,
    };
    let site = Site::open(dir)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(io)?;
    rt.block_on(async {
        let l = tokio::net::TcpListener::bind(listen).await.map_err(io)?;
        on_ready(l.local_addr().map_err(io)?);
        serve(l, site, config, shutdown_signal()).await
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = term.recv() => {} }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_normalise_outside_phrases_only() {
        assert_eq!(
            normalize_query("  io_uring \t\n sqpoll  "),
            "io_uring sqpoll"
        );
        assert_eq!(
            normalize_query("subject:\"zero   copy\"   from:axboe"),
            "subject:\"zero   copy\" from:axboe"
        );
        assert_eq!(normalize_query("a\"b  c\"  d"), "a\"b  c\" d");
        // An unbalanced quote keeps the rest as typed (the lexer rejects it anyway).
        assert_eq!(normalize_query("x  \"y   z"), "x \"y   z");
        assert_eq!(normalize_query(" \t "), "");
        // Only ASCII whitespace is the lexer's separator: other spaces stay.
        assert_eq!(normalize_query("a\u{a0}\u{a0}b"), "a\u{a0}\u{a0}b");
    }

    #[test]
    fn one_key_per_answer() {
        let q = |s: &str, page: Option<&str>, sort: Option<&str>| SearchQuery {
            q: normalize_query(s),
            page: page.map(String::from),
            offset: None,
            limit: None,
            sort: sort.map(String::from),
            facets: None,
        };
        let key = |x: SearchQuery, api| SearchKey::new(api, &x.request(api).expect("valid"));
        let k = key(q("fixed  buffers", None, None), false);
        assert_eq!(
            k,
            key(q(" fixed buffers ", Some("1"), Some("relevance")), false)
        );
        assert_eq!(k, key(q("fixed buffers", Some(""), Some(" ")), false));
        assert_ne!(k, key(q("fixed buffers", Some("2"), None), false));
        assert_ne!(k, key(q("fixed buffers", None, Some("date")), false));
        assert_ne!(k, key(q("fixed buffers", None, None), true), "page vs JSON");
        assert_ne!(k, key(q("\"fixed  buffers\"", None, None), false));
    }
}
