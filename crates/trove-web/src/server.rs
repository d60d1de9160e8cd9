//! The router, its handlers, the protective middleware, hot reload and serving.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path as FsPath, PathBuf};
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

use crate::error::{Error, Result};
use crate::html;
use crate::model::{address, Item, ReadModel};
use crate::search::{Search, SubstringSearch};

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
    pub rate_limit: Option<u32>,
    /// Requests handled at once across all clients; more wait in line.
    pub max_concurrency: usize,
    /// Longest a request may take before it is answered 408.
    pub request_timeout: Duration,
    /// How often the freshness pointer is checked for a new release.
    pub reload_interval: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            rate_limit: Some(50),
            max_concurrency: 512,
            request_timeout: Duration::from_secs(10),
            reload_interval: Duration::from_secs(2),
        }
    }
}

/// The served state: the current read model (swapped whole on a new
/// release), the search engine, and the rate limiter's buckets.
#[derive(Clone)]
pub struct Site {
    model: Arc<RwLock<Arc<ReadModel>>>,
    pub(crate) search: Arc<dyn Search>,
    root: PathBuf,
    buckets: Arc<Mutex<HashMap<IpAddr, (f64, Instant)>>>,
    rate: Option<u32>,
}

impl Site {
    /// Opens the publication in `root` and builds its read model.
    pub fn open(root: &FsPath) -> Result<Site> {
        let p = Publication::open(root).map_err(|source| Error::Publication {
            path: root.to_path_buf(),
            source: Box::new(source),
        })?;
        Ok(Site {
            model: Arc::new(RwLock::new(Arc::new(ReadModel::build(p)))),
            search: Arc::new(SubstringSearch),
            root: root.to_path_buf(),
            buckets: Arc::default(),
            rate: None,
        })
    }

    /// Replaces the search engine (the default is [`SubstringSearch`]).
    pub fn with_search(mut self, search: Arc<dyn Search>) -> Site {
        self.search = search;
        self
    }

    /// The current read model.
    pub fn model(&self) -> Arc<ReadModel> {
        match self.model.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
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
                let m = Arc::new(ReadModel::build(p));
                match self.model.write() {
                    Ok(mut g) => *g = m,
                    Err(p) => *p.into_inner() = m,
                }
                r
            }
            _ => now,
        }
    }

    fn allow(&self, ip: IpAddr) -> bool {
        let Some(rate) = self.rate else { return true };
        let rate = f64::from(rate.max(1));
        let burst = rate * 4.0;
        let now = Instant::now();
        let Ok(mut b) = self.buckets.lock() else {
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
        html::STYLE,
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

async fn message(State(s): State<Site>, Path(id): Path<String>) -> Response {
    let m = s.model();
    let Some(id) = parse_id(&id) else {
        return not_found();
    };
    let Some(e) = m.entry(id).cloned() else {
        return not_found();
    };
    let m2 = m.clone();
    let Some(Some(page)) = blocking(move || {
        let raw = m2.publication.read_blob(&e.blob, e.size).ok()?;
        html::message(&m2, id, &crate::mail::render(&raw))
    })
    .await
    else {
        return not_found();
    };
    Html(page).into_response()
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

fn file_response(
    bytes: Vec<u8>,
    ctype: &str,
    disposition: Option<String>,
    etag: Option<String>,
    headers: &HeaderMap,
) -> Response {
    if let (Some(tag), Some(inm)) = (&etag, headers.get(header::IF_NONE_MATCH)) {
        if inm.as_bytes() == tag.as_bytes() {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            if let Ok(v) = HeaderValue::from_str(tag) {
                r.headers_mut().insert(header::ETAG, v);
            }
            return r;
        }
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

/// Query string of the search page and API.
#[derive(Debug, Deserialize)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    pub(crate) q: String,
}

async fn search(State(s): State<Site>, Query(q): Query<SearchQuery>) -> Response {
    let m = s.model();
    let query: String = q.q.chars().take(500).collect();
    let (ids, total) = s.search.search(&m, &query, 100);
    let items: Vec<&Item> = ids.iter().filter_map(|i| m.item(*i)).collect();
    let body = if query.trim().is_empty() {
        "<h1>Search</h1><p>Words to find in subjects and senders.</p>".to_string()
    } else {
        format!(
            "<h1>Search: {}</h1><p>{total} results.</p>{}",
            html::esc(&query),
            html::list(&items)
        )
    };
    Html(html::page(
        "Search",
        &m.publication.descriptor().name,
        &body,
    ))
    .into_response()
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
    let Ok(bytes) = tokio::fs::read(&fs).await else {
        return not_found();
    };
    let immutable = path.starts_with(layout::BLOBS_DIR)
        || path.starts_with(layout::RELEASES_DIR)
        || path.starts_with(layout::FILES_DIR);
    let tag = immutable.then(|| format!("\"{}\"", trove_publication::Hash::of(&bytes).to_hex()));
    file_response(bytes, layout::content_type_for(&path), None, tag, &headers)
}

async fn protect(
    State(s): State<Site>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    if !s.allow(addr.ip()) {
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
    let reloader = site.clone();
    let interval = config.reload_interval;
    let task = tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let r = reloader.clone();
            let _ = tokio::task::spawn_blocking(move || r.reload()).await;
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
