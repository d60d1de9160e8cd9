//! One sync: survey the origins, verify the newest offer, download into
//! staging, switch atomically.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use trove_publication::layout::{self, manifest_path};
use trove_publication::{
    unix_now, verify_descriptor, verify_freshness, verify_update, Hash, Manifest, NeededFile,
    PublicKey, Publication, Replica, TrustedState, VerifiedUpdate, VerifyOptions,
};

use crate::error::{Error, OriginFailure, Result};
use crate::http::{Client, FetchError, Limits};
use crate::{bulk, parse_origin, pin};

/// Largest descriptor or freshness pointer accepted (both are a few hundred bytes).
const MAX_SMALL_METADATA: u64 = 1 << 20;
/// Network failures after which an origin is left out for the rest of a sync.
const STRIKES: u32 = 3;

/// How a mirror fetches and what it accepts.
#[derive(Debug, Clone)]
pub struct Options {
    /// The publisher key to require; `None` trusts the first descriptor seen
    /// (and pins it).
    pub key: Option<PublicKey>,
    /// Parallel downloads.
    pub workers: usize,
    /// Connecting, waiting for response headers and each read may take at
    /// most this long; past it, a body must also keep up [`Options::min_speed`].
    pub timeout: Duration,
    /// Slowest acceptable download, bytes per second, averaged after `timeout`.
    pub min_speed: u64,
    /// Largest blob or bulk file accepted, bytes.
    pub max_file_size: u64,
    /// Largest manifest accepted, bytes.
    pub max_metadata_size: u64,
    /// Most bytes one sync may download (manifests, blobs, files).
    pub max_sync_bytes: u64,
    /// Longest one sync may take.
    pub max_sync_time: Duration,
    /// Flush every file to disk before the switch (off only for throwaway copies).
    pub fsync: bool,
    /// With `fsync`: start writing staged files to disk while downloads go
    /// on, each time this many more bytes are staged (0: only at the switch).
    /// The switch still flushes everything before the first rename; this only
    /// leaves it less to wait for.
    pub flush_every: u64,
    /// Take message blobs out of each release's bulk zip when it has one.
    pub bulk: bool,
    /// Check freshness as of this Unix time instead of the clock (tests).
    pub now: Option<u64>,
    /// How far in the future a pointer's issue time may be, seconds.
    pub max_clock_skew: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            key: None,
            workers: 8,
            timeout: Duration::from_secs(30),
            min_speed: 16 * 1024,
            max_file_size: 4 << 30,
            max_metadata_size: 256 << 20,
            max_sync_bytes: 1 << 40,
            max_sync_time: Duration::from_secs(24 * 3600),
            fsync: true,
            flush_every: 32 << 20,
            bulk: true,
            now: None,
            max_clock_skew: 300,
        }
    }
}

/// Receives progress of a sync (from several threads at once).
pub trait Progress: Sync {
    /// The update is verified: `files` files of `bytes` bytes are to be fetched.
    fn planned(&self, _files: u64, _bytes: u64) {}
    /// `files` more files (`bytes` bytes) are staged and verified.
    fn fetched(&self, _files: u64, _bytes: u64) {}
    /// Something worth telling the operator (an origin skipped…).
    fn note(&self, _text: &str) {}
}

/// No progress output.
impl Progress for () {}

/// What a successful sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The mirror already had the newest valid state offered.
    UpToDate,
    /// Same release, newer freshness pointer.
    Refreshed,
    /// New releases arrived; the mirror had release `from` (0: it was empty).
    Updated {
        /// Release held before.
        from: u64,
    },
}

/// The result of [`Mirror::sync`].
#[derive(Debug, Clone)]
pub struct SyncReport {
    /// What happened.
    pub outcome: Outcome,
    /// The release the mirror now serves.
    pub release: u64,
    /// Messages it now serves.
    pub messages: u64,
    /// The trusted state now held.
    pub state: Option<TrustedState>,
    /// The origin whose state was taken (`None` when up to date).
    pub origin: Option<String>,
    /// Files downloaded one by one.
    pub downloaded: u64,
    /// Message blobs taken out of bulk zips.
    pub extracted: u64,
    /// Needed files already present or staged (a resumed sync).
    pub reused: u64,
    /// HTTP body bytes received.
    pub bytes: u64,
    /// HTTP requests made.
    pub requests: u64,
    /// Flushes of staged data made while downloading ([`Options::flush_every`]).
    pub early_flushes: u64,
    /// Origins not used, or that served something bad, and why.
    pub skipped: Vec<OriginFailure>,
    /// Wall time.
    pub elapsed: Duration,
}

impl SyncReport {
    /// True when some origin offered data that failed verification.
    pub fn saw_rejection(&self) -> bool {
        self.skipped.iter().any(|f| f.problem.is_some())
    }
}

/// A verified offer: an origin's descriptor and freshness pointer.
struct Offer {
    origin: String,
    base: String,
    descriptor: Vec<u8>,
    pointer: Vec<u8>,
    id: Hash,
    release: u64,
    issued_at: u64,
}

/// Per-origin backoff across syncs (for [`Mirror::follow`]).
#[derive(Default, Clone, Copy)]
pub(crate) struct Health {
    pub failures: u32,
    pub retry_at: Option<Instant>,
}

/// A mirror directory and its origins.
pub struct Mirror {
    dir: PathBuf,
    origins: Vec<String>,
    options: Options,
    client: Client,
    bases: Mutex<HashMap<String, String>>,
    pub(crate) health: Mutex<HashMap<String, Health>>,
}

/// Per-sync state shared by the download workers.
struct Run<'a> {
    replica: &'a Replica,
    deadline: Instant,
    strikes: Mutex<HashMap<String, u32>>,
    dead: Mutex<HashSet<String>>,
    incidents: Mutex<Vec<OriginFailure>>,
    downloaded: AtomicU64,
    extracted: AtomicU64,
    early_flushes: AtomicU64,
    progress: &'a dyn Progress,
}

impl Mirror {
    /// A mirror of `origins` (tried in this order when equal) kept in `dir`.
    pub fn new(dir: &Path, origins: &[String], options: Options) -> Result<Mirror> {
        if origins.is_empty() {
            return Err(Error::BadUrl(String::new()));
        }
        let origins = origins
            .iter()
            .map(|o| parse_origin(o))
            .collect::<Result<Vec<_>>>()?;
        let client = Client::new(
            Limits {
                timeout: options.timeout,
                min_speed: options.min_speed,
            },
            options.workers.max(1),
        );
        Ok(Mirror {
            dir: dir.to_path_buf(),
            origins,
            options,
            client,
            bases: Mutex::default(),
            health: Mutex::default(),
        })
    }

    /// The mirror directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The origins, normalised.
    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    /// Brings the mirror to the newest valid state its origins offer, or
    /// leaves it exactly as it was and says why.
    pub fn sync(&self, progress: &dyn Progress) -> Result<SyncReport> {
        let start = Instant::now();
        let deadline = start + self.options.max_sync_time;
        let bytes0 = self.client.bytes.load(Ordering::Relaxed);
        let requests0 = self.client.requests.load(Ordering::Relaxed);
        let now = self.options.now.unwrap_or_else(unix_now);
        let mut replica = Replica::open(&self.dir)?;
        replica.set_fsync(self.options.fsync);
        let local = replica.publication().cloned();
        let pinned = self.pin(local.as_ref())?;

        let (mut offers, mut failures, current) =
            self.survey(local.as_ref(), pinned.as_ref(), now, deadline);
        if pinned.is_none() {
            // Trust on first use: the publication of the first origin (in the
            // order given) that offered a valid state; others must match it.
            if let Some(first) = offers.first() {
                let id = first.id;
                let key = trove_publication::verify_descriptor(
                    layout::DESCRIPTOR_PATH,
                    &first.descriptor,
                    None,
                )
                .map(|d| d.public_key());
                if let Ok(key) = key {
                    pin::save(&self.dir, &key)?;
                    progress.note(&format!("pinned publisher key {key} (trust on first use)"));
                }
                offers.retain(|o| {
                    if o.id == id {
                        return true;
                    }
                    failures.push(OriginFailure::rejected(
                        &o.origin,
                        trove_publication::Problem::WrongPublication {
                            path: layout::DESCRIPTOR_PATH.into(),
                            expected: id,
                            actual: o.id,
                        },
                    ));
                    false
                });
            }
        }
        offers.sort_by_key(|o| Reverse((o.release, o.issued_at)));
        for f in &failures {
            progress.note(&f.to_string());
        }

        let before = local.as_ref().map_or(0, Publication::latest_release);
        let run = Run {
            replica: &replica,
            deadline,
            strikes: Mutex::default(),
            dead: Mutex::default(),
            incidents: Mutex::default(),
            downloaded: AtomicU64::new(0),
            extracted: AtomicU64::new(0),
            early_flushes: AtomicU64::new(0),
            progress,
        };
        let mut taken: Option<(usize, VerifiedUpdate, u64)> = None;
        for i in 0..offers.len() {
            match self.prepare(&run, local.as_ref(), pinned, &offers, i, now) {
                Ok((update, reused)) => {
                    taken = Some((i, update, reused));
                    break;
                }
                Err(e @ (Error::Local(_) | Error::SyncTimeout(_) | Error::SyncTooLarge { .. })) => {
                    return Err(e)
                }
                Err(e) => {
                    let f = failure_of(&offers[i].origin, e);
                    progress.note(&f.to_string());
                    failures.push(f);
                }
            }
        }
        let mut skipped = failures;
        skipped.append(&mut lock(&run.incidents));
        let downloaded = run.downloaded.load(Ordering::Relaxed);
        let extracted = run.extracted.load(Ordering::Relaxed);
        let early_flushes = run.early_flushes.load(Ordering::Relaxed);
        drop(run);
        let (outcome, origin, reused) = match taken {
            None if !current.is_empty() => (Outcome::UpToDate, None, 0),
            None => {
                return Err(if skipped.len() == 1 {
                    skipped.remove(0).into_error()
                } else {
                    Error::NoOrigin(skipped)
                })
            }
            Some((i, update, reused)) => {
                let refresh = update.manifests().next().is_none();
                replica.apply(update)?;
                let outcome = if refresh {
                    Outcome::Refreshed
                } else {
                    Outcome::Updated { from: before }
                };
                (outcome, Some(offers[i].origin.clone()), reused)
            }
        };
        let publication = replica.publication();
        Ok(SyncReport {
            outcome,
            release: publication.map_or(0, Publication::latest_release),
            messages: publication.map_or(0, Publication::message_count),
            state: publication.and_then(state_of),
            origin,
            downloaded,
            extracted,
            reused,
            bytes: self.client.bytes.load(Ordering::Relaxed) - bytes0,
            requests: self.client.requests.load(Ordering::Relaxed) - requests0,
            early_flushes,
            skipped,
            elapsed: start.elapsed(),
        })
    }

    /// The pinned key: the pin file, else `--key` (then pinned), checked
    /// against each other and the local publication.
    fn pin(&self, local: Option<&Publication>) -> Result<Option<PublicKey>> {
        let stored = pin::load(&self.dir)?;
        let mut key = match (stored, self.options.key) {
            (Some(p), Some(k)) if p != k => {
                return Err(Error::PinMismatch {
                    dir: self.dir.clone(),
                    pinned: p,
                    given: k,
                })
            }
            (Some(p), _) => Some(p),
            (None, Some(k)) => {
                pin::save(&self.dir, &k)?;
                Some(k)
            }
            (None, None) => None,
        };
        if let Some(l) = local {
            match key {
                Some(k) if k != l.public_key() => {
                    return Err(Error::PinMismatch {
                        dir: self.dir.clone(),
                        pinned: k,
                        given: l.public_key(),
                    })
                }
                Some(_) => {}
                None => {
                    pin::save(&self.dir, &l.public_key())?;
                    key = Some(l.public_key());
                }
            }
        }
        Ok(key)
    }

    fn base_of(&self, origin: &str) -> String {
        lock(&self.bases)
            .get(origin)
            .cloned()
            .unwrap_or_else(|| origin.to_string())
    }

    fn budget(&self, deadline: Instant, size: u64) -> Result<Duration> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::SyncTimeout(self.options.max_sync_time));
        }
        let speed = self.options.min_speed.max(1);
        let per_file = self.options.timeout * 2 + Duration::from_secs(size / speed);
        Ok(per_file.min(left))
    }

    /// Asks every origin (in parallel) for its descriptor and pointer.
    /// Returns the valid offers newer than `local`, the failures, and the
    /// origins that are exactly at the local state.
    fn survey(
        &self,
        local: Option<&Publication>,
        pinned: Option<&PublicKey>,
        now: u64,
        deadline: Instant,
    ) -> (Vec<Offer>, Vec<OriginFailure>, Vec<String>) {
        let trusted = local.and_then(state_of);
        let waiting: Vec<&String> = {
            let health = lock(&self.health);
            let t = Instant::now();
            let ready: Vec<&String> = self
                .origins
                .iter()
                .filter(|o| {
                    health
                        .get(*o)
                        .and_then(|h| h.retry_at)
                        .is_none_or(|at| at <= t)
                })
                .collect();
            if ready.is_empty() {
                self.origins.iter().collect()
            } else {
                ready
            }
        };
        let results: Vec<(String, std::result::Result<Option<Offer>, OriginFailure>)> =
            std::thread::scope(|s| {
                let handles: Vec<_> = waiting
                    .iter()
                    .map(|o| {
                        let trusted = trusted.clone();
                        s.spawn(move || {
                            let r = self.offer(o, local, pinned, trusted.as_ref(), now, deadline);
                            ((*o).clone(), r)
                        })
                    })
                    .collect();
                handles.into_iter().filter_map(|h| h.join().ok()).collect()
            });
        let mut offers = Vec::new();
        let mut failures = Vec::new();
        let mut current = Vec::new();
        let mut health = lock(&self.health);
        for (origin, r) in results {
            let h = health.entry(origin.clone()).or_default();
            match r {
                Ok(Some(o)) => {
                    *h = Health::default();
                    offers.push(o);
                }
                Ok(None) => {
                    *h = Health::default();
                    current.push(origin);
                }
                Err(f) => {
                    h.failures += 1;
                    let wait = self.options.timeout.min(Duration::from_secs(60))
                        * 2u32.saturating_pow(h.failures.min(10));
                    h.retry_at = Some(Instant::now() + wait.min(Duration::from_secs(3600)));
                    failures.push(f);
                }
            }
        }
        (offers, failures, current)
    }

    /// One origin's offer; `Ok(None)` when it is at exactly the local state.
    fn offer(
        &self,
        origin: &str,
        local: Option<&Publication>,
        pinned: Option<&PublicKey>,
        trusted: Option<&TrustedState>,
        now: u64,
        deadline: Instant,
    ) -> std::result::Result<Option<Offer>, OriginFailure> {
        let down = |path: &str, e: FetchError| OriginFailure::down(origin, format!("{path}: {e}"));
        let budget = self
            .budget(deadline, MAX_SMALL_METADATA)
            .map_err(|e| OriginFailure::down(origin, e.to_string()))?;
        let dpath = layout::DESCRIPTOR_PATH;
        let mut base = self.base_of(origin);
        let descriptor = match self.client.get_bounded(
            &format!("{base}/{dpath}"),
            MAX_SMALL_METADATA,
            budget,
            true,
        ) {
            // A `trove serve` node given by its root URL: the files are under /pub/.
            Err(FetchError::Status(404)) if !base.ends_with("/pub") => {
                let alt = format!("{base}/pub");
                let d = self
                    .client
                    .get_bounded(&format!("{alt}/{dpath}"), MAX_SMALL_METADATA, budget, true)
                    .map_err(|e| down(dpath, e))?;
                lock(&self.bases).insert(origin.to_string(), alt.clone());
                base = alt;
                d
            }
            r => r.map_err(|e| down(dpath, e))?,
        };
        let vd = verify_descriptor(dpath, &descriptor, pinned)
            .map_err(|p| OriginFailure::rejected(origin, p))?;
        if let Some(l) = local {
            if l.id() != vd.id() {
                return Err(OriginFailure::rejected(
                    origin,
                    trove_publication::Problem::WrongPublication {
                        path: dpath.into(),
                        expected: l.id(),
                        actual: vd.id(),
                    },
                ));
            }
        }
        let fpath = layout::FRESHNESS_PATH;
        let pointer = self
            .client
            .get_bounded(&format!("{base}/{fpath}"), MAX_SMALL_METADATA, budget, true)
            .map_err(|e| down(fpath, e))?;
        let vf = verify_freshness(
            fpath,
            &pointer,
            &vd,
            now,
            self.options.max_clock_skew,
            trusted,
        )
        .map_err(|p| OriginFailure::rejected(origin, p))?;
        let p = vf.pointer();
        if trusted.is_some_and(|t| t.release == p.release && t.issued_at == p.issued_at) {
            return Ok(None);
        }
        Ok(Some(Offer {
            origin: origin.to_string(),
            base,
            descriptor,
            id: vd.id(),
            release: p.release,
            issued_at: p.issued_at,
            pointer,
        }))
    }

    /// Fetches and verifies offer `i`'s manifests, then stages every file
    /// they need. Returns the verified update (ready to apply) and how many
    /// needed files were already there.
    fn prepare(
        &self,
        run: &Run<'_>,
        local: Option<&Publication>,
        pinned: Option<PublicKey>,
        offers: &[Offer],
        i: usize,
        now: u64,
    ) -> Result<(VerifiedUpdate, u64)> {
        let chosen = &offers[i];
        // The chosen origin first, then the others, newest first.
        let order: Vec<&Offer> = std::iter::once(chosen)
            .chain(
                offers
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, o)| o),
            )
            .collect();
        let latest = local.map_or(0, Publication::latest_release);
        let mut manifests = Vec::new();
        let mut sources = Vec::new();
        let mut meta_bytes = 0u64;
        for r in latest + 1..=chosen.release {
            let path = manifest_path(r);
            let from: Vec<&Offer> = order.iter().copied().filter(|o| o.release >= r).collect();
            let (bytes, origin) = self.fetch_meta(run, &from, &path)?;
            meta_bytes += bytes.len() as u64;
            if meta_bytes > self.options.max_sync_bytes {
                return Err(Error::SyncTooLarge {
                    origin: chosen.origin.clone(),
                    needed: meta_bytes,
                    limit: self.options.max_sync_bytes,
                });
            }
            manifests.push(bytes);
            sources.push(origin);
        }
        let mut opts = VerifyOptions::new(now);
        opts.pinned_key = pinned;
        opts.max_file_size = self.options.max_file_size;
        opts.max_metadata_size = self.options.max_metadata_size;
        opts.max_clock_skew = self.options.max_clock_skew;
        let update = verify_update(local, &chosen.descriptor, &chosen.pointer, manifests, &opts)
            .map_err(|problem| {
                // Name the origin that served the bad file.
                let origin = (latest + 1..=chosen.release)
                    .position(|r| manifest_path(r) == problem.path())
                    .and_then(|k| sources.get(k).cloned())
                    .unwrap_or_else(|| chosen.origin.clone());
                Error::Rejected {
                    origin,
                    problem: Box::new(problem),
                }
            })?;

        let mut needed = Vec::new();
        let mut reused = 0;
        for f in update.needed() {
            if run.replica.has(&f)? {
                reused += 1;
            } else {
                needed.push(f);
            }
        }
        let total: u64 = needed.iter().map(|f| f.size).sum::<u64>() + meta_bytes;
        if total > self.options.max_sync_bytes {
            return Err(Error::SyncTooLarge {
                origin: chosen.origin.clone(),
                needed: total,
                limit: self.options.max_sync_bytes,
            });
        }
        run.progress
            .planned(needed.len() as u64, total - meta_bytes);
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            let flusher = (self.options.fsync && self.options.flush_every > 0)
                .then(|| s.spawn(|| self.flush_while_downloading(run, &done)));
            let downloaded = self.download(run, &update, &needed, &order);
            done.store(true, Ordering::Relaxed);
            let flushed = flusher.map_or(Ok(()), |h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Local(flush_panicked(&self.dir))))
            });
            downloaded.and(flushed)
        })?;
        Ok((update, reused))
    }

    /// Runs beside the download workers: each time [`Options::flush_every`]
    /// more bytes are staged, flushes staging to disk, so that the disk writes
    /// overlap the downloads instead of all waiting for the switch. Ends when
    /// `done` is set (the switch flushes the rest). A failed flush fails the
    /// sync: the disk could not keep staged data, and a later flush would not
    /// report it again.
    fn flush_while_downloading(&self, run: &Run<'_>, done: &AtomicBool) -> Result<()> {
        let mut flushed = run.replica.staged_bytes();
        while !done.load(Ordering::Relaxed) {
            let staged = run.replica.staged_bytes();
            if staged.saturating_sub(flushed) < self.options.flush_every {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            if !run.replica.flush_staged()? {
                return Ok(()); // nothing to do early on this system
            }
            run.early_flushes.fetch_add(1, Ordering::Relaxed);
            flushed = staged;
        }
        Ok(())
    }

    /// Fetches a manifest from the first origin that has it.
    fn fetch_meta(&self, run: &Run<'_>, from: &[&Offer], path: &str) -> Result<(Vec<u8>, String)> {
        let mut fails = Vec::new();
        for o in from {
            if lock(&run.dead).contains(&o.origin) {
                continue;
            }
            let budget = self.budget(run.deadline, self.options.max_metadata_size)?;
            let url = format!("{}/{path}", o.base);
            match self
                .client
                .get_bounded(&url, self.options.max_metadata_size, budget, false)
            {
                Ok(b) => return Ok((b, o.origin.clone())),
                Err(e) => {
                    if !matches!(e, FetchError::Status(_)) {
                        self.strike(run, &o.origin);
                    }
                    fails.push(OriginFailure::down(&o.origin, format!("{path}: {e}")));
                }
            }
        }
        Err(collapse(fails))
    }

    fn strike(&self, run: &Run<'_>, origin: &str) {
        let mut s = lock(&run.strikes);
        let n = s.entry(origin.to_string()).or_default();
        *n += 1;
        if *n >= STRIKES {
            lock(&run.dead).insert(origin.to_string());
        }
    }

    /// Stages every needed file: bulk zips first (their entries are message
    /// blobs), then everything no zip covers, then whatever the zips did not give.
    fn download(
        &self,
        run: &Run<'_>,
        update: &VerifiedUpdate,
        needed: &[NeededFile],
        order: &[&Offer],
    ) -> Result<()> {
        let needed_paths: HashSet<&str> = needed.iter().map(|f| f.path.as_str()).collect();
        let wanted: HashSet<Hash> = needed.iter().map(|f| f.hash).collect();
        let mut zips: Vec<(NeededFile, &Manifest, bool)> = Vec::new();
        let mut covered: HashSet<Hash> = HashSet::new();
        if self.options.bulk {
            for v in update.manifests() {
                let m = v.manifest();
                let Some(z) = m.files.iter().find(|f| f.path.ends_with(".zip")) else {
                    continue;
                };
                let file = NeededFile {
                    path: z.path.clone(),
                    hash: z.hash,
                    size: z.size,
                };
                let fetch = needed_paths.contains(z.path.as_str());
                if !fetch && !m.messages.iter().any(|e| wanted.contains(&e.blob)) {
                    continue; // already here, and so are its blobs
                }
                covered.extend(m.messages.iter().map(|e| e.blob));
                zips.push((file, m, fetch));
            }
        }
        enum Job<'m> {
            Zip(NeededFile, &'m Manifest, bool),
            File(NeededFile),
        }
        let zip_paths: HashSet<String> = zips.iter().map(|(f, _, _)| f.path.clone()).collect();
        let zip_paths: HashSet<&str> = zip_paths.iter().map(String::as_str).collect();
        let mut jobs: Vec<Job> = zips
            .into_iter()
            .map(|(f, m, fetch)| Job::Zip(f, m, fetch))
            .collect();
        jobs.extend(
            needed
                .iter()
                .filter(|f| !(covered.contains(&f.hash) && f.path.starts_with(layout::BLOBS_DIR)))
                .filter(|f| !zip_paths.contains(f.path.as_str()))
                .cloned()
                .map(Job::File),
        );
        pool(self.options.workers, &jobs, |job| match job {
            Job::File(f) => self.fetch_file(run, f, order),
            Job::Zip(f, m, fetch) => {
                if *fetch {
                    self.fetch_file(run, f, order)?;
                }
                // Staged by this sync, or left (staged or public) by an
                // interrupted one; every entry taken out is hash-checked anyway.
                if let Some(path) = run.replica.local_copy(f)? {
                    let n = bulk::extract(run.replica, &path, m, &wanted, run.progress);
                    run.extracted.fetch_add(n, Ordering::Relaxed);
                }
                Ok(())
            }
        })?;
        // Whatever the zips did not provide (or an odd zip), one by one. Every
        // file in `needed` was absent when the sync began, so what is staged now
        // was staged (hash-checked) by this sync: a size check is enough.
        let mut rest = Vec::new();
        for f in needed {
            if covered.contains(&f.hash) && run.replica.staged(f)?.is_none() {
                rest.push(f.clone());
            }
        }
        pool(self.options.workers, &rest, |f| {
            self.fetch_file(run, f, order)
        })
    }

    /// Downloads one file into staging from the first origin that serves it correctly.
    fn fetch_file(&self, run: &Run<'_>, f: &NeededFile, order: &[&Offer]) -> Result<()> {
        let mut fails = Vec::new();
        for o in order {
            if lock(&run.dead).contains(&o.origin) {
                continue;
            }
            let budget = self.budget(run.deadline, f.size)?;
            let url = format!("{}/{}", o.base, f.path);
            let mut body = match self.client.get(&url, budget, false) {
                Ok(b) => b,
                Err(e) => {
                    if !matches!(e, FetchError::Status(404 | 410)) {
                        self.strike(run, &o.origin);
                    }
                    fails.push(OriginFailure::down(&o.origin, format!("{}: {e}", f.path)));
                    continue;
                }
            };
            match run.replica.put(f, &mut body) {
                Ok(()) => {
                    run.downloaded.fetch_add(1, Ordering::Relaxed);
                    run.progress.fetched(1, f.size);
                    return Ok(());
                }
                Err(_) if body.error.is_some() => {
                    let e = body
                        .error
                        .take()
                        .unwrap_or(FetchError::Network(String::new()));
                    self.strike(run, &o.origin);
                    fails.push(OriginFailure::down(&o.origin, format!("{}: {e}", f.path)));
                }
                Err(trove_publication::Error::Invalid(problem)) => {
                    // Bad bytes: this origin is not used again in this sync.
                    lock(&run.dead).insert(o.origin.clone());
                    let failure = OriginFailure::rejected(&o.origin, problem);
                    run.progress.note(&failure.to_string());
                    lock(&run.incidents).push(failure.clone());
                    fails.push(failure);
                }
                Err(e) => return Err(e.into()),
            }
        }
        if fails.is_empty() {
            fails.push(OriginFailure::down(
                "every origin",
                format!("{}: no origin left to try", f.path),
            ));
        }
        // Prefer naming a rejection over a plain failure.
        if let Some(k) = fails.iter().position(|x| x.problem.is_some()) {
            if fails.len() == 1 || order.len() == 1 {
                return Err(fails.swap_remove(k).into_error());
            }
        }
        Err(collapse(fails))
    }
}

/// Runs `f` over `items` on `workers` threads; the first error stops the others.
fn pool<T: Sync>(workers: usize, items: &[T], f: impl Fn(&T) -> Result<()> + Sync) -> Result<()> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let first: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            s.spawn(|| loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                if let Err(e) = f(item) {
                    stop.store(true, Ordering::Relaxed);
                    lock(&first).get_or_insert(e);
                    break;
                }
            });
        }
    });
    match first
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn flush_panicked(dir: &Path) -> trove_publication::Error {
    trove_publication::Error::Io {
        path: dir.to_path_buf(),
        message: "the thread flushing staged files panicked".into(),
    }
}

fn collapse(mut fails: Vec<OriginFailure>) -> Error {
    if fails.len() == 1 {
        fails.remove(0).into_error()
    } else {
        Error::NoOrigin(fails)
    }
}

fn failure_of(origin: &str, e: Error) -> OriginFailure {
    match e {
        Error::Rejected { origin, problem } => OriginFailure::rejected(&origin, *problem),
        Error::Fetch { url, reason } => OriginFailure::down(origin, format!("{url}: {reason}")),
        other => OriginFailure::down(origin, other.to_string()),
    }
}

fn state_of(p: &Publication) -> Option<TrustedState> {
    let ptr = p.pointer()?;
    Some(TrustedState {
        publication: p.id(),
        public_key: p.public_key(),
        release: ptr.release,
        manifest: ptr.manifest,
        issued_at: ptr.issued_at,
    })
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
