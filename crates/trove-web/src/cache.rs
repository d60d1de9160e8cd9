//! Rendered answers kept in memory: message pages (the hot path of the site)
//! and search answers.
//!
//! Rendering a message page parses the raw source and runs ammonia over its
//! HTML body; a page depends only on the publication state it was rendered
//! from (previous/next links and thread lists change when a release lands).
//! So each publication state served by a [`crate::Site`] gets a cache of its
//! own, created with the read model and dropped with it when a new release is
//! picked up: a page rendered from an older state can never be served after
//! the swap, with no generation check on the hot path.
//!
//! The cache is bounded by bytes (the page plus its gzip variant, made once
//! on the first request that accepts gzip); when full, the least recently
//! used quarter is evicted in one pass. Each page carries a strong `ETag`
//! (BLAKE3 of the page) for `If-None-Match`.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::http::HeaderValue;

/// One rendered page (HTML or JSON) and its validators.
#[derive(Debug)]
pub(crate) struct Page {
    /// The body, as sent without compression.
    pub(crate) body: Bytes,
    /// Its `Content-Type`.
    pub(crate) content_type: HeaderValue,
    /// The gzip variant, made on first use (`None` inside: compression failed).
    gzip: OnceLock<Option<Bytes>>,
    /// `"…"`: the first 128 bits of the page's BLAKE3, in hex.
    pub(crate) etag: HeaderValue,
}

impl Page {
    /// An HTML page, with its ETag.
    pub(crate) fn new(html: String) -> Page {
        Page::with_type(html, "text/html; charset=utf-8")
    }

    /// A page of type `content_type`, with its ETag.
    pub(crate) fn with_type(body: String, content_type: &'static str) -> Page {
        let hash = blake3::hash(body.as_bytes());
        let etag = format!("\"{}\"", &hash.to_hex()[..32]);
        Page {
            body: Bytes::from(body),
            content_type: HeaderValue::from_static(content_type),
            gzip: OnceLock::new(),
            etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\"")),
        }
    }

    /// The gzip-compressed page (compressed once, then shared).
    pub(crate) fn gzip(&self) -> Option<Bytes> {
        self.gzip
            .get_or_init(|| {
                let mut e = flate2::write::GzEncoder::new(
                    Vec::with_capacity(self.body.len() / 3),
                    flate2::Compression::best(),
                );
                e.write_all(&self.body).ok()?;
                e.finish().ok().map(Bytes::from)
            })
            .clone()
    }

    /// True once the gzip variant has been made.
    pub(crate) fn has_gzip(&self) -> bool {
        self.gzip.get().is_some()
    }

    /// Bytes held: the page, and its gzip variant once made.
    fn weight(&self) -> usize {
        self.body.len()
            + self
                .gzip
                .get()
                .and_then(|g| g.as_ref())
                .map_or(0, Bytes::len)
            + 128
    }
}

/// What a cache key costs in memory besides its page.
pub(crate) trait KeyWeight {
    /// Bytes held by the key itself (beyond the fixed per-entry overhead).
    fn key_weight(&self) -> usize;
}

impl KeyWeight for u64 {
    fn key_weight(&self) -> usize {
        0
    }
}

/// A byte-bounded LRU of the rendered pages of one publication state, keyed
/// by message id (message pages) or by a normalised search request.
#[derive(Debug)]
pub(crate) struct PageCache<K = u64> {
    max_bytes: usize,
    inner: Mutex<Lru<K>>,
}

#[derive(Debug)]
struct Lru<K> {
    map: HashMap<K, (Arc<Page>, u64)>,
    tick: u64,
    bytes: usize,
}

fn weight<K: KeyWeight>(k: &K, p: &Page) -> usize {
    k.key_weight() + p.weight()
}

impl<K: Hash + Eq + Clone + KeyWeight> PageCache<K> {
    /// A cache holding at most `max_bytes` of pages (0: nothing is kept).
    pub(crate) fn new(max_bytes: usize) -> PageCache<K> {
        PageCache {
            max_bytes,
            inner: Mutex::new(Lru {
                map: HashMap::new(),
                tick: 0,
                bytes: 0,
            }),
        }
    }

    /// The cached page of `key`, marked as just used.
    pub(crate) fn get(&self, key: &K) -> Option<Arc<Page>> {
        if self.max_bytes == 0 {
            return None;
        }
        let mut g = self.inner.lock().ok()?;
        g.tick += 1;
        let t = g.tick;
        let e = g.map.get_mut(key)?;
        e.1 = t;
        Some(e.0.clone())
    }

    /// Keeps `page` as `key`'s page; pages larger than a sixteenth of the
    /// budget are not kept (one huge page must not empty the cache).
    pub(crate) fn insert(&self, key: K, page: Arc<Page>) {
        let w = weight(&key, &page);
        if w > self.max_bytes / 16 {
            return;
        }
        let Ok(mut g) = self.inner.lock() else { return };
        g.tick += 1;
        let t = g.tick;
        if let Some((old, _)) = g.map.insert(key.clone(), (page, t)) {
            let ow = weight(&key, &old);
            g.bytes -= ow.min(g.bytes);
        }
        g.bytes += w;
        if g.bytes > self.max_bytes {
            g.evict(self.max_bytes - self.max_bytes / 4);
        }
    }

    /// Counts the gzip variant of `page` (made after it was inserted) in the budget.
    pub(crate) fn grew(&self, key: &K, page: &Arc<Page>, added: usize) {
        let Ok(mut g) = self.inner.lock() else { return };
        if g.map.get(key).is_some_and(|(p, _)| Arc::ptr_eq(p, page)) {
            g.bytes += added;
            if g.bytes > self.max_bytes {
                g.evict(self.max_bytes - self.max_bytes / 4);
            }
        }
    }

    /// Pages held and their bytes.
    #[cfg(test)]
    pub(crate) fn stats(&self) -> (usize, usize) {
        self.inner
            .lock()
            .map(|g| (g.map.len(), g.bytes))
            .unwrap_or_default()
    }
}

impl<K: Hash + Eq + Clone + KeyWeight> Lru<K> {
    /// Drops the least recently used pages until at most `target` bytes are held.
    fn evict(&mut self, target: usize) {
        let mut by_age: Vec<(u64, &K, usize)> = self
            .map
            .iter()
            .map(|(k, (p, t))| (*t, k, weight(k, p)))
            .collect();
        // Ticks are unique: the order never compares keys.
        by_age.sort_unstable_by_key(|e| e.0);
        let mut drop = Vec::new();
        let mut bytes = self.bytes;
        for (_, k, w) in by_age {
            if bytes <= target {
                break;
            }
            drop.push(k.clone());
            bytes -= w.min(bytes);
        }
        for k in drop {
            self.map.remove(&k);
        }
        self.bytes = bytes;
    }
}

/// Concurrent identical computations made into one: while a computation for
/// a key runs, others asking for the same key wait for its value instead of
/// starting their own. Nothing is kept once it finished (that is the
/// cache's job): a later request computes again.
#[derive(Debug)]
pub(crate) struct Flights<K, V> {
    map: Mutex<HashMap<K, Arc<tokio::sync::OnceCell<V>>>>,
}

impl<K, V> Default for Flights<K, V> {
    fn default() -> Self {
        Flights {
            map: Mutex::new(HashMap::new()),
        }
    }
}

/// Takes a flight's entry out of the map when its value is there or nobody
/// else waits for it, also when the request that held it was dropped.
struct Leave<'a, K: Hash + Eq, V> {
    flights: &'a Flights<K, V>,
    key: &'a K,
    cell: Arc<tokio::sync::OnceCell<V>>,
}

impl<K: Hash + Eq, V> Drop for Leave<'_, K, V> {
    fn drop(&mut self) {
        let Ok(mut m) = self.flights.map.lock() else {
            return;
        };
        // Clones of the cell are only made under this lock: a count of 2
        // (the map and this guard) means nobody else waits on it.
        let mine = m.get(self.key).is_some_and(|c| Arc::ptr_eq(c, &self.cell));
        if mine && (self.cell.initialized() || Arc::strong_count(&self.cell) <= 2) {
            m.remove(self.key);
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Flights<K, V> {
    /// The value of `compute` for `key`, shared with every caller that asked
    /// for the same key while it ran. If the caller computing is dropped, one
    /// of the waiting callers computes instead.
    pub(crate) async fn run<F, Fut>(&self, key: &K, compute: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = {
            let mut m = match self.map.lock() {
                Ok(m) => m,
                Err(p) => p.into_inner(),
            };
            match m.get(key) {
                Some(c) if !c.initialized() => c.clone(),
                _ => {
                    let c = Arc::new(tokio::sync::OnceCell::new());
                    m.insert(key.clone(), c.clone());
                    c
                }
            }
        };
        let leave = Leave {
            flights: self,
            key,
            cell,
        };
        leave.cell.get_or_init(compute).await.clone()
    }

    /// Keys with a computation in flight.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: usize, c: char) -> Arc<Page> {
        Arc::new(Page::new(std::iter::repeat_n(c, n).collect()))
    }

    #[test]
    fn bounded_and_least_recently_used_goes_first() {
        let c: PageCache = PageCache::new(16 * 1128);
        for id in 1..=16u64 {
            c.insert(id, page(1000, 'a'));
        }
        // Touch 1 so that 2 is now the oldest.
        assert!(c.get(&1).is_some());
        c.insert(17, page(1000, 'b'));
        let (n, bytes) = c.stats();
        assert!(bytes <= 16 * 1128, "{bytes}");
        assert!(n < 17);
        assert!(c.get(&1).is_some(), "recently used page evicted");
        assert!(c.get(&2).is_none(), "oldest page kept");
        assert!(c.get(&17).is_some());
    }

    #[test]
    fn huge_pages_and_zero_budget_are_not_kept() {
        let c = PageCache::new(16_000);
        c.insert(1u64, page(2_000, 'x'));
        assert!(c.get(&1).is_none());
        let z = PageCache::new(0);
        z.insert(1u64, page(10, 'x'));
        assert!(z.get(&1).is_none());
    }

    #[derive(Clone, PartialEq, Eq, Hash)]
    struct Text(String);

    impl KeyWeight for Text {
        fn key_weight(&self) -> usize {
            self.0.len()
        }
    }

    #[test]
    fn long_keys_count_in_the_budget() {
        let c = PageCache::new(16 * 2000);
        let long = Text("k".repeat(900));
        c.insert(long.clone(), page(10, 'x'));
        assert_eq!(c.stats().1, 900 + 10 + 128);
        c.insert(long.clone(), page(20, 'y'));
        assert_eq!(c.stats(), (1, 900 + 20 + 128), "replaced, not added");
        for i in 0..40 {
            c.insert(Text(format!("{i}{}", "k".repeat(800))), page(10, 'z'));
        }
        assert!(c.stats().1 <= 16 * 2000, "{:?}", c.stats());
        assert!(
            c.stats().0 < 40,
            "evicted by key and page bytes: {:?}",
            c.stats()
        );
        // A key over a sixteenth of the budget is not kept, however small its page.
        c.insert(Text("k".repeat(2100)), page(1, 'w'));
        assert!(c.get(&Text("k".repeat(2100))).is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_identical_misses_compute_once() {
        let f = Arc::new(Flights::<u64, u64>::default());
        let runs = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (f, runs) = (f.clone(), runs.clone());
            tasks.push(tokio::spawn(async move {
                f.run(&7, || async {
                    runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                    42
                })
                .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.expect("task"), 42);
        }
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(f.in_flight(), 0, "finished flights are not kept");
        // Finished: the next caller computes again (caching is not its job).
        assert_eq!(f.run(&7, || async { 43 }).await, 43);
        // Another key is another computation.
        assert_eq!(f.run(&8, || async { 44 }).await, 44);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_computer_hands_over_to_a_waiter() {
        let f = Arc::new(Flights::<u64, u64>::default());
        let f1 = f.clone();
        let first = tokio::spawn(async move {
            f1.run(&1, || async {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                1
            })
            .await
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let f2 = f.clone();
        let second = tokio::spawn(async move { f2.run(&1, || async { 2 }).await });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        first.abort();
        let v = tokio::time::timeout(std::time::Duration::from_secs(5), second)
            .await
            .expect("the waiter computed")
            .expect("task");
        assert_eq!(v, 2);
        assert_eq!(f.in_flight(), 0);
        // An abandoned flight with no waiter leaves nothing behind.
        let f3 = f.clone();
        let lone = tokio::spawn(async move {
            f3.run(&9, || async {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                9
            })
            .await
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(f.in_flight(), 1);
        lone.abort();
        let _ = lone.await;
        assert_eq!(f.in_flight(), 0);
    }

    #[test]
    fn gzip_round_trips_and_etag_follows_content() {
        let p = Page::new("<p>hello hello hello hello</p>".repeat(50));
        let gz = p.gzip().expect("gzip");
        assert!(gz.len() < p.body.len() / 4);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out)
            .expect("gunzip");
        assert_eq!(out, p.body);
        assert_eq!(
            p.etag,
            Page::new("<p>hello hello hello hello</p>".repeat(50)).etag
        );
        assert_ne!(p.etag, Page::new("<p>other</p>".into()).etag);
    }
}
