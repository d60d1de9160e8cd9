//! Verification: source-agnostic checks of single objects (for a mirror that
//! fetches over HTTP and must verify before anything becomes visible), and
//! [`verify_dir`], which checks a whole publication directory.

use std::collections::{BTreeSet, HashSet};
use std::fs::{self, File};
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::envelope::{open, ObjectKind};
use crate::error::Problem;
use crate::fsutil::{io_problem, read_bounded};
use crate::layout::{self, blob_path, check_file_path, manifest_path};
use crate::{Descriptor, FreshnessPointer, Hash, Hasher, Manifest, PublicKey};

/// Extensions (values of a manifest's `requires`) this reader implements. None yet.
pub const SUPPORTED_EXTENSIONS: &[&str] = &[];

/// A descriptor whose signature checked out (and whose key matched the pin, if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDescriptor {
    descriptor: Descriptor,
    id: Hash,
}

impl VerifiedDescriptor {
    pub(crate) fn new(descriptor: Descriptor, id: Hash) -> VerifiedDescriptor {
        VerifiedDescriptor { descriptor, id }
    }
    /// The descriptor's fields.
    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
    /// The publication id: the descriptor's hash.
    pub fn id(&self) -> Hash {
        self.id
    }
    /// The publisher's key.
    pub fn public_key(&self) -> PublicKey {
        self.descriptor.public_key
    }
}

/// A manifest whose signature, publication id, release number, chain link and
/// publication ids checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedManifest {
    manifest: Manifest,
    hash: Hash,
}

impl VerifiedManifest {
    pub(crate) fn new(manifest: Manifest, hash: Hash) -> VerifiedManifest {
        VerifiedManifest { manifest, hash }
    }
    /// The manifest's fields.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    /// Its hash (what the next manifest's `previous` and the pointer name).
    pub fn hash(&self) -> Hash {
        self.hash
    }
    /// Takes the manifest out.
    pub fn into_manifest(self) -> Manifest {
        self.manifest
    }
}

/// A freshness pointer whose signature and publication id checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedFreshness {
    pointer: FreshnessPointer,
    hash: Hash,
}

impl VerifiedFreshness {
    /// The pointer's fields.
    pub fn pointer(&self) -> &FreshnessPointer {
        &self.pointer
    }
    /// The pointer's hash.
    pub fn hash(&self) -> Hash {
        self.hash
    }
}

/// What a reader already trusts, from its last successful verification. A
/// mirror stores it (it is serde-serialisable) and passes it back next time
/// so that older states are refused (rollback, replay of an old pointer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedState {
    /// The publication id.
    pub publication: Hash,
    /// The publisher's key.
    pub public_key: PublicKey,
    /// The latest release trusted.
    pub release: u64,
    /// Its manifest hash.
    pub manifest: Hash,
    /// Issue time of the freshness pointer trusted.
    pub issued_at: u64,
}

impl TrustedState {
    /// The state a verified descriptor and pointer establish.
    pub fn new(descriptor: &VerifiedDescriptor, pointer: &VerifiedFreshness) -> TrustedState {
        TrustedState {
            publication: descriptor.id,
            public_key: descriptor.public_key(),
            release: pointer.pointer.release,
            manifest: pointer.pointer.manifest,
            issued_at: pointer.pointer.issued_at,
        }
    }
}

/// Verifies descriptor bytes fetched from `path` (any label; used in problems).
/// With `pinned_key`, a descriptor signed by another key is refused.
pub fn verify_descriptor(
    path: &str,
    bytes: &[u8],
    pinned_key: Option<&PublicKey>,
) -> Result<VerifiedDescriptor, Problem> {
    let opened = open(path, bytes, ObjectKind::Descriptor)?;
    let descriptor: Descriptor = opened.parse(path)?;
    opened.verify(path, &descriptor.public_key)?;
    if let Some(pinned) = pinned_key {
        if *pinned != descriptor.public_key {
            return Err(Problem::KeyMismatch {
                path: path.into(),
                expected: *pinned,
                actual: descriptor.public_key,
            });
        }
    }
    Ok(VerifiedDescriptor {
        descriptor,
        id: opened.hash,
    })
}

/// Verifies manifest bytes given the publication and the previous verified
/// manifest (`None` for release 1): signature, publication id, release number
/// (previous + 1), chain link, publication ids continuing without gaps, file
/// paths, and declared sizes against `max_file_size`.
pub fn verify_manifest(
    path: &str,
    bytes: &[u8],
    descriptor: &VerifiedDescriptor,
    previous: Option<&VerifiedManifest>,
    max_file_size: u64,
) -> Result<VerifiedManifest, Problem> {
    let expected_release = previous.map_or(1, |p| p.manifest.release + 1);
    let link = Link {
        previous: previous.map(|p| p.hash),
        next_id: previous.map_or(1, |p| p.manifest.next_id()),
    };
    check_manifest(
        path,
        bytes,
        descriptor,
        expected_release,
        Some(link),
        max_file_size,
    )
}

/// The chain position a manifest must continue.
#[derive(Clone, Copy)]
struct Link {
    previous: Option<Hash>,
    next_id: u64,
}

fn check_manifest(
    path: &str,
    bytes: &[u8],
    descriptor: &VerifiedDescriptor,
    expected_release: u64,
    link: Option<Link>,
    max_file_size: u64,
) -> Result<VerifiedManifest, Problem> {
    let opened = open(path, bytes, ObjectKind::Manifest)?;
    opened.verify(path, &descriptor.public_key())?;
    let manifest: Manifest = opened.parse(path)?;
    if let Some(feature) = manifest
        .requires
        .iter()
        .find(|f| !SUPPORTED_EXTENSIONS.contains(&f.as_str()))
    {
        return Err(Problem::UnsupportedExtension {
            path: path.into(),
            feature: feature.clone(),
        });
    }
    if manifest.publication != descriptor.id {
        return Err(Problem::WrongPublication {
            path: path.into(),
            expected: descriptor.id,
            actual: manifest.publication,
        });
    }
    if manifest.release != expected_release {
        return Err(Problem::WrongRelease {
            path: path.into(),
            expected: expected_release,
            found: manifest.release,
        });
    }
    let mut next_id = manifest.first_id;
    if let Some(link) = link {
        if manifest.previous != link.previous {
            return Err(Problem::BrokenChain {
                path: path.into(),
                expected: link.previous,
                found: manifest.previous,
            });
        }
        next_id = link.next_id;
    } else if manifest.first_id == 0 {
        next_id = 1;
    }
    if manifest.first_id != next_id {
        return Err(Problem::BadMessageId {
            path: path.into(),
            expected: next_id,
            found: manifest.first_id,
        });
    }
    for m in &manifest.messages {
        if m.id != next_id {
            return Err(Problem::BadMessageId {
                path: path.into(),
                expected: next_id,
                found: m.id,
            });
        }
        next_id += 1;
        let sizes =
            std::iter::once((m.blob, m.size)).chain(m.attachments.iter().map(|a| (a.blob, a.size)));
        for (hash, size) in sizes {
            if size > max_file_size {
                return Err(Problem::TooLarge {
                    path: blob_path(&hash),
                    limit: max_file_size,
                });
            }
        }
    }
    let mut seen = HashSet::new();
    for f in &manifest.files {
        let bad = |reason: String| Problem::BadPath {
            path: path.into(),
            file: f.path.clone(),
            reason,
        };
        check_file_path(&f.path, manifest.release).map_err(bad)?;
        if !seen.insert(f.path.as_str()) {
            return Err(bad("listed twice".into()));
        }
        if f.size > max_file_size {
            return Err(Problem::TooLarge {
                path: f.path.clone(),
                limit: max_file_size,
            });
        }
    }
    Ok(VerifiedManifest {
        manifest,
        hash: opened.hash,
    })
}

/// Verifies freshness-pointer bytes: signature, publication id, time window
/// at `now` (not issued more than `max_clock_skew` seconds in the future, not
/// expired), and no rollback against `trusted`.
pub fn verify_freshness(
    path: &str,
    bytes: &[u8],
    descriptor: &VerifiedDescriptor,
    now: u64,
    max_clock_skew: u64,
    trusted: Option<&TrustedState>,
) -> Result<VerifiedFreshness, Problem> {
    let v = open_freshness(path, bytes, descriptor)?;
    check_freshness(path, &v, now, max_clock_skew, trusted)?;
    Ok(v)
}

/// Signature and publication id only (no clock): what serving a publication needs.
fn open_freshness(
    path: &str,
    bytes: &[u8],
    descriptor: &VerifiedDescriptor,
) -> Result<VerifiedFreshness, Problem> {
    let opened = open(path, bytes, ObjectKind::Freshness)?;
    opened.verify(path, &descriptor.public_key())?;
    let pointer: FreshnessPointer = opened.parse(path)?;
    if pointer.publication != descriptor.id {
        return Err(Problem::WrongPublication {
            path: path.into(),
            expected: descriptor.id,
            actual: pointer.publication,
        });
    }
    if pointer.release == 0 {
        return Err(Problem::Malformed {
            path: path.into(),
            reason: "release must be 1 or more".into(),
        });
    }
    Ok(VerifiedFreshness {
        pointer,
        hash: opened.hash,
    })
}

fn check_freshness(
    path: &str,
    v: &VerifiedFreshness,
    now: u64,
    max_clock_skew: u64,
    trusted: Option<&TrustedState>,
) -> Result<(), Problem> {
    let p = &v.pointer;
    if let Some(t) = trusted {
        if t.publication != p.publication {
            return Err(Problem::WrongPublication {
                path: path.into(),
                expected: t.publication,
                actual: p.publication,
            });
        }
        if p.release < t.release || p.issued_at < t.issued_at {
            return Err(Problem::Rollback {
                path: path.into(),
                trusted: t.release,
                offered: p.release,
                trusted_issued_at: t.issued_at,
                offered_issued_at: p.issued_at,
            });
        }
        if p.release == t.release && p.manifest != t.manifest {
            return Err(Problem::Fork {
                path: path.into(),
                release: p.release,
                trusted: t.manifest,
                offered: p.manifest,
            });
        }
    }
    if p.expires_at <= p.issued_at || p.issued_at > now.saturating_add(max_clock_skew) {
        return Err(Problem::BadTimes {
            path: path.into(),
            issued_at: p.issued_at,
            expires_at: p.expires_at,
            now,
        });
    }
    if now >= p.expires_at {
        return Err(Problem::Expired {
            path: path.into(),
            expires_at: p.expires_at,
            now,
        });
    }
    Ok(())
}

/// Checks that the pointer names this manifest (same release, same hash).
pub fn check_pointer_target(
    path: &str,
    pointer: &VerifiedFreshness,
    manifest: &VerifiedManifest,
) -> Result<(), Problem> {
    if pointer.pointer.release != manifest.manifest.release
        || pointer.pointer.manifest != manifest.hash
    {
        return Err(Problem::PointerMismatch {
            path: path.into(),
            release: pointer.pointer.release,
            expected: pointer.pointer.manifest,
            actual: manifest.hash,
        });
    }
    Ok(())
}

/// Verifies a whole blob held in memory against its declared hash and size.
pub fn verify_blob(path: &str, bytes: &[u8], expected: &Hash, size: u64) -> Result<(), Problem> {
    let mut check = BlobCheck::new(path, *expected, size, u64::MAX)?;
    check.update(bytes)?;
    check.finish()
}

/// Streaming check of a blob or file as it downloads: fails as soon as more
/// bytes arrive than declared, so a hostile origin cannot make a reader store
/// or hash more than the manifest promised.
#[derive(Clone)]
pub struct BlobCheck {
    path: String,
    expected: Hash,
    size: u64,
    hasher: Hasher,
}

impl BlobCheck {
    /// Starts checking data declared as `size` bytes hashing to `expected`;
    /// refuses at once when `size` exceeds `limit`.
    pub fn new(path: &str, expected: Hash, size: u64, limit: u64) -> Result<BlobCheck, Problem> {
        if size > limit {
            return Err(Problem::TooLarge {
                path: path.into(),
                limit,
            });
        }
        Ok(BlobCheck {
            path: path.into(),
            expected,
            size,
            hasher: Hasher::new(),
        })
    }

    /// Feeds the next chunk.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), Problem> {
        let total = self.hasher.len() + chunk.len() as u64;
        if total > self.size {
            return Err(Problem::SizeMismatch {
                path: self.path.clone(),
                expected: self.size,
                actual: total,
            });
        }
        self.hasher.update(chunk);
        Ok(())
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.hasher.len()
    }

    /// True when nothing was fed yet.
    pub fn is_empty(&self) -> bool {
        self.hasher.is_empty()
    }

    /// Checks the size and the hash once all data has arrived.
    pub fn finish(self) -> Result<(), Problem> {
        if self.hasher.len() != self.size {
            return Err(Problem::SizeMismatch {
                path: self.path,
                expected: self.size,
                actual: self.hasher.len(),
            });
        }
        let actual = self.hasher.finalize();
        if actual != self.expected {
            return Err(Problem::BadHash {
                path: self.path,
                expected: self.expected,
                actual,
            });
        }
        Ok(())
    }
}

/// Settings for [`verify_dir`].
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The current time, Unix seconds (the library never reads the clock).
    pub now: u64,
    /// Refuse a descriptor signed by any other key.
    pub pinned_key: Option<PublicKey>,
    /// Refuse anything older than this state.
    pub trusted: Option<TrustedState>,
    /// Largest blob or bulk file accepted, in bytes.
    pub max_file_size: u64,
    /// Largest descriptor, manifest or pointer accepted, in bytes.
    pub max_metadata_size: u64,
    /// How far in the future a pointer's `issued_at` may be, in seconds.
    pub max_clock_skew: u64,
    /// Hash every blob and bulk file (false checks only the signed metadata).
    pub check_blobs: bool,
}

impl VerifyOptions {
    /// Defaults: no pin, nothing trusted, 4 GiB files, 256 MiB metadata,
    /// 5 minutes of clock skew, blobs checked.
    pub fn new(now: u64) -> VerifyOptions {
        VerifyOptions {
            now,
            pinned_key: None,
            trusted: None,
            max_file_size: 4 << 30,
            max_metadata_size: 256 << 20,
            max_clock_skew: 300,
            check_blobs: true,
        }
    }
}

/// The outcome of [`verify_dir`]: counts, and every problem found, each naming its file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The publication id, when the descriptor verified.
    pub publication: Option<Hash>,
    /// The publisher's key, when the descriptor verified.
    pub public_key: Option<PublicKey>,
    /// The latest release (the one the freshness pointer names), 0 when none.
    pub release: u64,
    /// Manifests that verified.
    pub manifests: u64,
    /// Messages listed in verified manifests.
    pub messages: u64,
    /// Distinct blobs hashed.
    pub blobs: u64,
    /// Bulk-download files hashed.
    pub files: u64,
    /// Bytes hashed.
    pub bytes: u64,
    /// Manifests present beyond the pointer's release (an unfinished publish):
    /// not part of the publication yet, not verified.
    pub pending: Vec<u64>,
    /// Files under `releases/`, `blobs/` and `files/` that no verified
    /// manifest lists (staged material of an unfinished publish, or litter).
    /// Not an error, but they are reachable by URL: check them for embargoed data.
    pub unlisted: Vec<String>,
    /// Everything that failed. Empty means the publication verifies.
    pub problems: Vec<Problem>,
    /// The state to trust from now on; `Some` only when there are no problems
    /// and at least one release.
    pub state: Option<TrustedState>,
}

impl Report {
    /// True when no problem was found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A human summary: one line of counts, then one line per problem.
impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.publication, &self.public_key) {
            (Some(id), Some(key)) => write!(f, "publication {id}, key {key}: ")?,
            _ => write!(f, "publication (descriptor not verified): ")?,
        }
        write!(
            f,
            "release {}, {} manifests, {} messages, {} blobs and {} files ({} bytes) checked",
            self.release, self.manifests, self.messages, self.blobs, self.files, self.bytes
        )?;
        if !self.pending.is_empty() {
            write!(f, "; unfinished releases {:?} ignored", self.pending)?;
        }
        if !self.unlisted.is_empty() {
            write!(f, "; {} unlisted files", self.unlisted.len())?;
        }
        if self.problems.is_empty() {
            write!(f, "; OK")
        } else {
            write!(f, "; {} problems:", self.problems.len())?;
            for p in &self.problems {
                write!(f, "\n  {p}")?;
            }
            Ok(())
        }
    }
}

/// Verifies the publication in directory `dir`: every signature, chain link,
/// publication id, blob and file hash, and the freshness pointer at
/// `options.now`. Never stops at the first problem: each wrong file is named.
pub fn verify_dir(dir: &Path, options: &VerifyOptions) -> Report {
    let mut report = Report::default();
    let meta_limit = options.max_metadata_size;

    // 1. Descriptor.
    let descriptor = match read_bounded(dir, layout::DESCRIPTOR_PATH, meta_limit)
        .and_then(|b| verify_descriptor(layout::DESCRIPTOR_PATH, &b, options.pinned_key.as_ref()))
    {
        Ok(d) => d,
        Err(p) => {
            report.problems.push(p);
            return report;
        }
    };
    if let Some(t) = &options.trusted {
        if t.publication != descriptor.id {
            report.problems.push(Problem::WrongPublication {
                path: layout::DESCRIPTOR_PATH.into(),
                expected: t.publication,
                actual: descriptor.id,
            });
            return report;
        }
    }
    report.publication = Some(descriptor.id);
    report.public_key = Some(descriptor.public_key());

    // 2. Freshness pointer.
    let present = list_releases(dir, &mut report);
    let fresh_path = layout::FRESHNESS_PATH;
    let pointer = match read_bounded(dir, fresh_path, meta_limit) {
        Err(Problem::Missing { .. }) if options.trusted.is_none() => None,
        Err(p) => {
            report.problems.push(p);
            None
        }
        Ok(bytes) => match open_freshness(fresh_path, &bytes, &descriptor) {
            Ok(v) => {
                if let Err(p) = check_freshness(
                    fresh_path,
                    &v,
                    options.now,
                    options.max_clock_skew,
                    options.trusted.as_ref(),
                ) {
                    report.problems.push(p);
                }
                Some(v)
            }
            Err(p) => {
                report.problems.push(p);
                None
            }
        },
    };
    // Without a usable pointer, still check every manifest present to name wrong files.
    let pointer_ok = pointer.is_some() || report.problems.is_empty();
    let last = match &pointer {
        Some(v) => v.pointer.release,
        None if pointer_ok => 0,
        None => present.iter().next_back().copied().unwrap_or(0),
    };
    report.release = pointer.as_ref().map_or(0, |v| v.pointer.release);
    report.pending = present.iter().copied().filter(|r| *r > last).collect();

    // 3. Manifests 1..=last, each chained to the one before.
    let mut verified: Vec<VerifiedManifest> = Vec::new();
    let mut previous: Option<VerifiedManifest> = None;
    let max_present = present.iter().next_back().copied().unwrap_or(0);
    for release in 1..=last {
        let path = manifest_path(release);
        if release > max_present {
            // A (validly signed) pointer far beyond the last file: one
            // problem, not one per missing number.
            report.problems.push(Problem::Missing { path });
            break;
        }
        let link = if release == 1 {
            Some(Link {
                previous: None,
                next_id: 1,
            })
        } else {
            previous.as_ref().map(|p| Link {
                previous: Some(p.hash),
                next_id: p.manifest.next_id(),
            })
        };
        let result = read_bounded(dir, &path, meta_limit).and_then(|b| {
            check_manifest(&path, &b, &descriptor, release, link, options.max_file_size)
        });
        match result {
            Ok(v) => {
                previous = Some(v.clone());
                verified.push(v);
            }
            Err(p) => {
                report.problems.push(p);
                previous = None;
            }
        }
    }
    report.manifests = verified.len() as u64;
    report.messages = verified
        .iter()
        .map(|v| v.manifest.messages.len() as u64)
        .sum();

    // A trusted manifest must still be the same: history is never rewritten.
    if let Some(t) = &options.trusted {
        if let Some(v) = verified.iter().find(|v| v.manifest.release == t.release) {
            if v.hash != t.manifest {
                report.problems.push(Problem::Fork {
                    path: manifest_path(t.release),
                    release: t.release,
                    trusted: t.manifest,
                    offered: v.hash,
                });
            }
        }
    }

    // 4. The pointer names the last manifest.
    if let (Some(p), Some(m)) = (&pointer, verified.last()) {
        if m.manifest.release == p.pointer.release {
            if let Err(problem) = check_pointer_target(fresh_path, p, m) {
                report.problems.push(problem);
            }
        }
    }

    // 5. Blobs and files.
    let mut listed: HashSet<String> = HashSet::new();
    for v in &verified {
        listed.insert(manifest_path(v.manifest.release));
        for m in &v.manifest.messages {
            let blobs = std::iter::once((m.blob, m.size))
                .chain(m.attachments.iter().map(|a| (a.blob, a.size)));
            for (hash, size) in blobs {
                let path = blob_path(&hash);
                if listed.insert(path.clone()) && options.check_blobs {
                    check_file(dir, &path, hash, size, options, &mut report);
                    report.blobs += 1;
                }
            }
        }
        for f in &v.manifest.files {
            if listed.insert(f.path.clone()) && options.check_blobs {
                check_file(dir, &f.path, f.hash, f.size, options, &mut report);
                report.files += 1;
            }
        }
    }

    // 6. Anything else reachable.
    if verified.len() as u64 == last {
        for p in pending_paths(&report.pending) {
            listed.insert(p);
        }
        report.unlisted = unlisted_files(dir, &listed);
    }

    if report.problems.is_empty() {
        report.state = pointer.as_ref().map(|p| TrustedState::new(&descriptor, p));
    }
    report
}

fn pending_paths(pending: &[u64]) -> Vec<String> {
    pending.iter().map(|r| manifest_path(*r)).collect()
}

/// Release numbers of the manifest files in `releases/`.
fn list_releases(dir: &Path, report: &mut Report) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    let rdir = dir.join(layout::RELEASES_DIR);
    match fs::read_dir(&rdir) {
        Ok(entries) => {
            for e in entries.flatten() {
                if let Some(n) = e
                    .file_name()
                    .to_str()
                    .and_then(layout::release_from_file_name)
                {
                    out.insert(n);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => report.problems.push(io_problem(layout::RELEASES_DIR, e)),
    }
    out
}

fn check_file(
    dir: &Path,
    path: &str,
    hash: Hash,
    size: u64,
    options: &VerifyOptions,
    report: &mut Report,
) {
    if let Err(p) = check_file_inner(dir, path, hash, size, options.max_file_size, report) {
        report.problems.push(p);
    }
}

fn check_file_inner(
    dir: &Path,
    path: &str,
    hash: Hash,
    size: u64,
    limit: u64,
    report: &mut Report,
) -> Result<(), Problem> {
    let mut check = BlobCheck::new(path, hash, size, limit)?;
    let file = File::open(layout::to_fs_path(dir, path)).map_err(|e| io_problem(path, e))?;
    let len = file.metadata().map_err(|e| io_problem(path, e))?.len();
    if len != size {
        return Err(Problem::SizeMismatch {
            path: path.into(),
            expected: size,
            actual: len,
        });
    }
    let mut reader = file.take(size + 1);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_problem(path, e)),
        };
        check.update(&buf[..n])?;
        report.bytes += n as u64;
    }
    check.finish()
}

/// Files below `releases/`, `blobs/` and `files/` (two levels, dot files
/// skipped) that are not in `listed`.
fn unlisted_files(dir: &Path, listed: &HashSet<String>) -> Vec<String> {
    let mut out = Vec::new();
    for top in [layout::RELEASES_DIR, layout::BLOBS_DIR, layout::FILES_DIR] {
        walk(dir, top, 0, listed, &mut out);
    }
    out.sort();
    out
}

fn walk(root: &Path, rel: &str, depth: u32, listed: &HashSet<String>, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(layout::to_fs_path(root, rel)) else {
        return;
    };
    for e in entries.flatten() {
        let Some(name) = e.file_name().to_str().map(str::to_owned) else {
            out.push(format!("{rel}/{}", e.file_name().to_string_lossy()));
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let path = format!("{rel}/{name}");
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir && depth < 2 {
            walk(root, &path, depth + 1, listed, out);
        } else if !listed.contains(&path) {
            out.push(path);
        }
    }
}

/// Loads a publication's signed metadata without the clock: the descriptor,
/// the pointer (signature only) and manifests 1..=pointer, chained. Returns
/// the first problem. Also returns the next manifest if one is present and valid
/// (an unfinished publish).
pub(crate) struct Loaded {
    pub(crate) descriptor: VerifiedDescriptor,
    pub(crate) pointer: Option<VerifiedFreshness>,
    pub(crate) manifests: Vec<VerifiedManifest>,
    pub(crate) pending: Option<VerifiedManifest>,
}

pub(crate) fn load(dir: &Path, max_metadata_size: u64) -> Result<Loaded, Problem> {
    let bytes = read_bounded(dir, layout::DESCRIPTOR_PATH, max_metadata_size)?;
    let descriptor = verify_descriptor(layout::DESCRIPTOR_PATH, &bytes, None)?;
    let pointer = match read_bounded(dir, layout::FRESHNESS_PATH, max_metadata_size) {
        Err(Problem::Missing { .. }) => None,
        Err(p) => return Err(p),
        Ok(b) => Some(open_freshness(layout::FRESHNESS_PATH, &b, &descriptor)?),
    };
    let last = pointer.as_ref().map_or(0, |p| p.pointer.release);
    let mut manifests: Vec<VerifiedManifest> = Vec::new();
    for release in 1..=last {
        let path = manifest_path(release);
        let b = read_bounded(dir, &path, max_metadata_size)?;
        let v = verify_manifest(&path, &b, &descriptor, manifests.last(), u64::MAX)?;
        manifests.push(v);
    }
    if let (Some(p), Some(m)) = (&pointer, manifests.last()) {
        check_pointer_target(layout::FRESHNESS_PATH, p, m)?;
    }
    let next = manifest_path(last + 1);
    let pending = read_bounded(dir, &next, max_metadata_size)
        .ok()
        .and_then(|b| verify_manifest(&next, &b, &descriptor, manifests.last(), u64::MAX).ok());
    Ok(Loaded {
        descriptor,
        pointer,
        manifests,
        pending,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::seal;
    use crate::PublisherKey;

    fn setup() -> (PublisherKey, VerifiedDescriptor) {
        let key = PublisherKey::from_seed([5; 32]);
        let d = Descriptor {
            name: "n".into(),
            description: "d".into(),
            public_key: key.public_key(),
            created_at: 1,
        };
        let bytes = seal(&key, ObjectKind::Descriptor, &d).unwrap().bytes;
        let v = verify_descriptor("descriptor.json", &bytes, Some(&key.public_key())).unwrap();
        (key, v)
    }

    fn pointer(
        key: &PublisherKey,
        d: &VerifiedDescriptor,
        release: u64,
        issued: u64,
        expires: u64,
    ) -> Vec<u8> {
        let p = FreshnessPointer {
            publication: d.id(),
            release,
            manifest: Hash::of(&release.to_le_bytes()),
            issued_at: issued,
            expires_at: expires,
        };
        seal(key, ObjectKind::Freshness, &p).unwrap().bytes
    }

    #[test]
    fn freshness_time_window() {
        let (key, d) = setup();
        let ok = pointer(&key, &d, 1, 1000, 2000);
        assert!(verify_freshness("f", &ok, &d, 1500, 0, None).is_ok());
        assert!(matches!(
            verify_freshness("f", &ok, &d, 2000, 0, None),
            Err(Problem::Expired {
                expires_at: 2000,
                now: 2000,
                ..
            })
        ));
        // Issued in the future beyond the skew.
        assert!(matches!(
            verify_freshness("f", &ok, &d, 600, 300, None),
            Err(Problem::BadTimes { .. })
        ));
        assert!(verify_freshness("f", &ok, &d, 700, 300, None).is_ok());
        let backwards = pointer(&key, &d, 1, 1000, 1000);
        assert!(matches!(
            verify_freshness("f", &backwards, &d, 900, 300, None),
            Err(Problem::BadTimes { .. })
        ));
    }

    #[test]
    fn freshness_against_trusted_state() {
        let (key, d) = setup();
        let t = TrustedState {
            publication: d.id(),
            public_key: d.public_key(),
            release: 2,
            manifest: Hash::of(&2u64.to_le_bytes()),
            issued_at: 1000,
        };
        // Same release and manifest, refreshed later: fine.
        let refreshed = pointer(&key, &d, 2, 1100, 5000);
        assert!(verify_freshness("f", &refreshed, &d, 1200, 0, Some(&t)).is_ok());
        // An older but unexpired pointer of the same release: replay.
        let replay = pointer(&key, &d, 2, 900, 5000);
        assert!(matches!(
            verify_freshness("f", &replay, &d, 1200, 0, Some(&t)),
            Err(Problem::Rollback { .. })
        ));
        // Same release, other manifest: fork.
        let mut other = TrustedState { ..t.clone() };
        other.manifest = Hash::of(b"x");
        assert!(matches!(
            verify_freshness("f", &refreshed, &d, 1200, 0, Some(&other)),
            Err(Problem::Fork { release: 2, .. })
        ));
        // Another publication's state.
        let mut foreign = t.clone();
        foreign.publication = Hash::of(b"other");
        assert!(matches!(
            verify_freshness("f", &refreshed, &d, 1200, 0, Some(&foreign)),
            Err(Problem::WrongPublication { .. })
        ));
    }

    #[test]
    fn blob_check_streams_and_bounds() {
        let data = b"hello world";
        let h = Hash::of(data);
        assert!(verify_blob("b", data, &h, 11).is_ok());
        assert!(matches!(
            verify_blob("b", data, &h, 10),
            Err(Problem::SizeMismatch { .. })
        ));
        assert!(matches!(
            verify_blob("b", &data[..10], &h, 11),
            Err(Problem::SizeMismatch { .. })
        ));
        assert!(matches!(
            verify_blob("b", b"hello_world", &h, 11),
            Err(Problem::BadHash { .. })
        ));
        assert!(matches!(
            BlobCheck::new("b", h, 11, 10),
            Err(Problem::TooLarge { limit: 10, .. })
        ));
    }
}
