//! The HTTP side: one pooled ureq agent, bounded reads, a minimum speed.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Why a download failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FetchError {
    /// The server answered with this status.
    Status(u16),
    /// A time bound was hit.
    Timeout(String),
    /// More bytes than allowed.
    TooLarge(u64),
    /// Connection refused, reset, DNS, TLS…
    Network(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Status(s) => write!(f, "HTTP status {s}"),
            FetchError::Timeout(t) => write!(f, "timed out: {t}"),
            FetchError::TooLarge(l) => write!(f, "larger than the limit of {l} bytes"),
            FetchError::Network(m) => write!(f, "{m}"),
        }
    }
}

impl FetchError {
    fn from_ureq(e: ureq::Error) -> FetchError {
        match e {
            ureq::Error::StatusCode(s) => FetchError::Status(s),
            ureq::Error::Timeout(t) => FetchError::Timeout(t.to_string()),
            ureq::Error::BodyExceedsLimit(l) => FetchError::TooLarge(l),
            ureq::Error::Io(io) => FetchError::from_io(io),
            other => FetchError::Network(other.to_string()),
        }
    }

    fn from_io(e: io::Error) -> FetchError {
        if e.kind() == io::ErrorKind::TimedOut {
            return FetchError::Timeout(e.to_string());
        }
        if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<ureq::Error>()) {
            if let ureq::Error::Timeout(t) = inner {
                return FetchError::Timeout(t.to_string());
            }
            return FetchError::Network(inner.to_string());
        }
        FetchError::Network(e.to_string())
    }
}

/// Limits of one client.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// Connect, response headers, each read: each at most this long.
    pub timeout: Duration,
    /// After `timeout`, a body must average at least this many bytes per second.
    pub min_speed: u64,
}

/// A pooled HTTP client counting the body bytes it receives.
pub(crate) struct Client {
    agent: ureq::Agent,
    limits: Limits,
    /// Body bytes received.
    pub bytes: AtomicU64,
    /// Requests made.
    pub requests: AtomicU64,
}

impl Client {
    pub(crate) fn new(limits: Limits, workers: usize) -> Client {
        let t = Some(limits.timeout);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(t)
            .timeout_recv_response(t)
            .timeout_per_read(t)
            .timeout_send_request(t)
            .max_redirects(5)
            .max_idle_connections(workers * 4 + 8)
            .max_idle_connections_per_host(workers * 2 + 2)
            .user_agent(concat!("trove-mirror/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client {
            agent,
            limits,
            bytes: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        }
    }

    /// GETs `url`; the whole exchange (body included) must end within `budget`.
    /// `fresh` asks caches not to answer from a stale copy (the pointer).
    /// A busy origin (429, 503) is asked again a few times, waiting a little longer each time.
    pub(crate) fn get(
        &self,
        url: &str,
        budget: Duration,
        fresh: bool,
    ) -> Result<Body<'_>, FetchError> {
        let start = Instant::now();
        let mut attempt = 0u32;
        loop {
            let left = budget.saturating_sub(start.elapsed());
            match self.get_once(url, left, fresh) {
                Err(FetchError::Status(429 | 503)) if attempt < 4 => {
                    attempt += 1;
                    let wait = Duration::from_millis(500 * u64::from(attempt));
                    if wait >= budget.saturating_sub(start.elapsed()) {
                        return Err(FetchError::Status(429));
                    }
                    std::thread::sleep(wait);
                }
                r => return r,
            }
        }
    }

    fn get_once(&self, url: &str, budget: Duration, fresh: bool) -> Result<Body<'_>, FetchError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut req = self
            .agent
            .get(url)
            .config()
            .timeout_global(Some(budget.max(Duration::from_millis(1))))
            .build();
        if fresh {
            req = req.header("Cache-Control", "no-cache");
        }
        let resp = req.call().map_err(FetchError::from_ureq)?;
        Ok(Body {
            inner: resp.into_body().into_reader(),
            client: self,
            start: Instant::now(),
            read: 0,
            error: None,
        })
    }

    /// GETs `url` whole into memory, refusing more than `limit` bytes.
    pub(crate) fn get_bounded(
        &self,
        url: &str,
        limit: u64,
        budget: Duration,
        fresh: bool,
    ) -> Result<Vec<u8>, FetchError> {
        let mut body = self.get(url, budget, fresh)?;
        let mut out = Vec::new();
        let r = (&mut body)
            .take(limit.saturating_add(1))
            .read_to_end(&mut out);
        if let Some(e) = body.error.take() {
            return Err(e);
        }
        r.map_err(FetchError::from_io)?;
        if out.len() as u64 > limit {
            return Err(FetchError::TooLarge(limit));
        }
        Ok(out)
    }
}

/// A response body being read: counts bytes, enforces the minimum speed,
/// and keeps the first network error (so that it is not mistaken for a local one).
pub(crate) struct Body<'a> {
    inner: ureq::BodyReader<'static>,
    client: &'a Client,
    start: Instant,
    read: u64,
    /// The first error the network side gave.
    pub error: Option<FetchError>,
}

impl Read for Body<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.error.is_some() {
            return Err(io::Error::other("download already failed"));
        }
        match self.inner.read(buf) {
            Ok(n) => {
                self.read += n as u64;
                self.client.bytes.fetch_add(n as u64, Ordering::Relaxed);
                let l = &self.client.limits;
                let elapsed = self.start.elapsed();
                if n > 0 && elapsed > l.timeout {
                    let over = (elapsed - l.timeout).as_secs_f64();
                    if (self.read as f64) < over * l.min_speed as f64 {
                        let e = FetchError::Timeout(format!(
                            "only {} bytes in {:.1} s, slower than {} bytes/s",
                            self.read,
                            elapsed.as_secs_f64(),
                            l.min_speed
                        ));
                        self.error = Some(e.clone());
                        return Err(io::Error::new(io::ErrorKind::TimedOut, e.to_string()));
                    }
                }
                Ok(n)
            }
            Err(e) => {
                let f = FetchError::from_io(e);
                self.error = Some(f.clone());
                Err(io::Error::other(f.to_string()))
            }
        }
    }
}
