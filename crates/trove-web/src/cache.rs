//! Rendered message pages kept in memory: the hot path of the site.
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
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::http::HeaderValue;

/// One rendered page and its validators.
#[derive(Debug)]
pub(crate) struct Page {
    /// The HTML, as sent without compression.
    pub(crate) html: Bytes,
    /// The gzip variant, made on first use (`None` inside: compression failed).
    gzip: OnceLock<Option<Bytes>>,
    /// `"…"`: the first 128 bits of the page's BLAKE3, in hex.
    pub(crate) etag: HeaderValue,
}

impl Page {
    /// A page for `html`, with its ETag.
    pub(crate) fn new(html: String) -> Page {
        let hash = blake3::hash(html.as_bytes());
        let etag = format!("\"{}\"", &hash.to_hex()[..32]);
        Page {
            html: Bytes::from(html),
            gzip: OnceLock::new(),
            etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\"")),
        }
    }

    /// The gzip-compressed page (compressed once, then shared).
    pub(crate) fn gzip(&self) -> Option<Bytes> {
        self.gzip
            .get_or_init(|| {
                let mut e = flate2::write::GzEncoder::new(
                    Vec::with_capacity(self.html.len() / 3),
                    flate2::Compression::best(),
                );
                e.write_all(&self.html).ok()?;
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
        self.html.len()
            + self
                .gzip
                .get()
                .and_then(|g| g.as_ref())
                .map_or(0, Bytes::len)
            + 128
    }
}

/// A byte-bounded LRU of the rendered pages of one publication state.
#[derive(Debug)]
pub(crate) struct PageCache {
    max_bytes: usize,
    inner: Mutex<Lru>,
}

#[derive(Debug, Default)]
struct Lru {
    map: HashMap<u64, (Arc<Page>, u64)>,
    tick: u64,
    bytes: usize,
}

impl PageCache {
    /// A cache holding at most `max_bytes` of pages (0: nothing is kept).
    pub(crate) fn new(max_bytes: usize) -> PageCache {
        PageCache {
            max_bytes,
            inner: Mutex::new(Lru::default()),
        }
    }

    /// The cached page of message `id`, marked as just used.
    pub(crate) fn get(&self, id: u64) -> Option<Arc<Page>> {
        if self.max_bytes == 0 {
            return None;
        }
        let mut g = self.inner.lock().ok()?;
        g.tick += 1;
        let t = g.tick;
        let e = g.map.get_mut(&id)?;
        e.1 = t;
        Some(e.0.clone())
    }

    /// Keeps `page` as message `id`'s page; pages larger than a sixteenth of
    /// the budget are not kept (one huge message must not empty the cache).
    pub(crate) fn insert(&self, id: u64, page: Arc<Page>) {
        let w = page.weight();
        if w > self.max_bytes / 16 {
            return;
        }
        let Ok(mut g) = self.inner.lock() else { return };
        g.tick += 1;
        let t = g.tick;
        if let Some((old, _)) = g.map.insert(id, (page, t)) {
            g.bytes -= old.weight().min(g.bytes);
        }
        g.bytes += w;
        if g.bytes > self.max_bytes {
            g.evict(self.max_bytes - self.max_bytes / 4);
        }
    }

    /// Counts the gzip variant of `page` (made after it was inserted) in the budget.
    pub(crate) fn grew(&self, id: u64, page: &Arc<Page>, added: usize) {
        let Ok(mut g) = self.inner.lock() else { return };
        if g.map.get(&id).is_some_and(|(p, _)| Arc::ptr_eq(p, page)) {
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

impl Lru {
    /// Drops the least recently used pages until at most `target` bytes are held.
    fn evict(&mut self, target: usize) {
        let mut by_age: Vec<(u64, u64, usize)> = self
            .map
            .iter()
            .map(|(id, (p, t))| (*t, *id, p.weight()))
            .collect();
        by_age.sort_unstable();
        for (_, id, w) in by_age {
            if self.bytes <= target {
                break;
            }
            self.map.remove(&id);
            self.bytes -= w.min(self.bytes);
        }
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
        let c = PageCache::new(16 * 1128);
        for id in 1..=16 {
            c.insert(id, page(1000, 'a'));
        }
        // Touch 1 so that 2 is now the oldest.
        assert!(c.get(1).is_some());
        c.insert(17, page(1000, 'b'));
        let (n, bytes) = c.stats();
        assert!(bytes <= 16 * 1128, "{bytes}");
        assert!(n < 17);
        assert!(c.get(1).is_some(), "recently used page evicted");
        assert!(c.get(2).is_none(), "oldest page kept");
        assert!(c.get(17).is_some());
    }

    #[test]
    fn huge_pages_and_zero_budget_are_not_kept() {
        let c = PageCache::new(16_000);
        c.insert(1, page(2_000, 'x'));
        assert!(c.get(1).is_none());
        let z = PageCache::new(0);
        z.insert(1, page(10, 'x'));
        assert!(z.get(1).is_none());
    }

    #[test]
    fn gzip_round_trips_and_etag_follows_content() {
        let p = Page::new("<p>hello hello hello hello</p>".repeat(50));
        let gz = p.gzip().expect("gzip");
        assert!(gz.len() < p.html.len() / 4);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out)
            .expect("gunzip");
        assert_eq!(out, p.html);
        assert_eq!(
            p.etag,
            Page::new("<p>hello hello hello hello</p>".repeat(50)).etag
        );
        assert_ne!(p.etag, Page::new("<p>other</p>".into()).etag);
    }
}
