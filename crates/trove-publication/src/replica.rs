//! [`Replica`]: a mirror's copy of a publication, advanced crash-safely and
//! only with verified bytes.
//!
//! A mirror fetches the origin's descriptor, freshness pointer and new
//! manifests, checks them with [`verify_update`], downloads each file
//! [`VerifiedUpdate::needed`] names into the replica's staging area with
//! [`Replica::put`] (each checked against its hash and size as it streams),
//! then [`Replica::apply`]s the update: the file system is flushed once
//! (staged data is never flushed file by file), files move to their public
//! paths, the renames are flushed, the manifests are written, and the
//! freshness pointer last. Until that final rename, readers of the replica see
//! the previous state; an interrupted sync keeps what it staged and resumes,
//! re-hashing ([`Replica::has`]) whatever it finds before reusing it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::{Error, Problem, Result};
use crate::fsutil::{
    create_dir_all, place_files_then, remove_temp_files, sync_dir, temp_path, write_atomic, FsFlush,
};
use crate::layout::{self, blob_path, manifest_path, to_fs_path};
use crate::verify::{
    check_pointer_target, verify_descriptor, verify_freshness, verify_manifest, BlobCheck,
    TrustedState, VerifiedDescriptor, VerifiedFreshness, VerifiedManifest, VerifyOptions,
};
use crate::writer::{file_matches, staged_matches};
use crate::{BlobRef, Hash, Publication};

/// A file a new state lists, to be fetched from `path` below the origin's base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeededFile {
    /// Path inside the publication (`blobs/ab/…` or `files/000003/part-3.mbox`).
    pub path: String,
    /// Its BLAKE3 hash.
    pub hash: Hash,
    /// Its size in bytes.
    pub size: u64,
}

/// A new state whose descriptor, pointer and manifests all verified against
/// the replica's current state. Only [`verify_update`] makes one.
#[derive(Debug, Clone)]
pub struct VerifiedUpdate {
    descriptor_bytes: Vec<u8>,
    descriptor: VerifiedDescriptor,
    manifests: Vec<(VerifiedManifest, Vec<u8>)>,
    pointer_bytes: Vec<u8>,
    pointer: VerifiedFreshness,
}

impl VerifiedUpdate {
    /// The state the replica will trust once the update is applied.
    pub fn state(&self) -> TrustedState {
        TrustedState::new(&self.descriptor, &self.pointer)
    }

    /// The new manifests, in release order.
    pub fn manifests(&self) -> impl Iterator<Item = &VerifiedManifest> {
        self.manifests.iter().map(|(m, _)| m)
    }

    /// Every blob and file the new manifests list (each once).
    pub fn needed(&self) -> Vec<NeededFile> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (v, _) in &self.manifests {
            let m = v.manifest();
            for e in &m.messages {
                let blobs = std::iter::once((e.blob, e.size))
                    .chain(e.attachments.iter().map(|a| (a.blob, a.size)));
                for (hash, size) in blobs {
                    let path = blob_path(&hash);
                    if seen.insert(path.clone()) {
                        out.push(NeededFile { path, hash, size });
                    }
                }
            }
            for f in &m.files {
                if seen.insert(f.path.clone()) {
                    out.push(NeededFile {
                        path: f.path.clone(),
                        hash: f.hash,
                        size: f.size,
                    });
                }
            }
        }
        out
    }
}

/// Verifies an origin's offer against the replica's current state
/// (`local`, `None` for an empty replica): the descriptor (same publication,
/// pinned key), the pointer (fresh at `options.now`, no rollback against
/// `options.trusted` or else the local pointer), and `manifests`, which must
/// be exactly the releases after the local latest up to the pointer's, chained
/// to the local latest. Blobs are checked later, as they stream into
/// [`Replica::put`].
pub fn verify_update(
    local: Option<&Publication>,
    descriptor: &[u8],
    pointer: &[u8],
    manifests: Vec<Vec<u8>>,
    options: &VerifyOptions,
) -> Result<VerifiedUpdate, Problem> {
    let desc = verify_descriptor(
        layout::DESCRIPTOR_PATH,
        descriptor,
        options.pinned_key.as_ref(),
    )?;
    let local_state = local.and_then(|p| {
        let ptr = p.pointer()?;
        Some(TrustedState {
            publication: p.id(),
            public_key: p.public_key(),
            release: ptr.release,
            manifest: ptr.manifest,
            issued_at: ptr.issued_at,
        })
    });
    let expected_id = options
        .trusted
        .as_ref()
        .map(|t| t.publication)
        .or(local.map(|p| p.id()));
    if let Some(expected) = expected_id {
        if expected != desc.id() {
            return Err(Problem::WrongPublication {
                path: layout::DESCRIPTOR_PATH.into(),
                expected,
                actual: desc.id(),
            });
        }
    }
    let trusted = options.trusted.clone().or(local_state);
    let fresh = verify_freshness(
        layout::FRESHNESS_PATH,
        pointer,
        &desc,
        options.now,
        options.max_clock_skew,
        trusted.as_ref(),
    )?;
    let latest = local.map_or(0, |p| p.latest_release());
    let mut previous = local.and_then(|p| p.verified_manifest(latest));
    let target = fresh.pointer().release;
    let count = target.saturating_sub(latest);
    if manifests.len() as u64 != count {
        let first_missing = latest + manifests.len() as u64 + 1;
        return Err(Problem::Missing {
            path: manifest_path(first_missing.min(target.max(latest + 1))),
        });
    }
    let mut verified = Vec::with_capacity(manifests.len());
    for bytes in manifests {
        let release = previous.as_ref().map_or(1, |p| p.manifest().release + 1);
        let path = manifest_path(release);
        let v = verify_manifest(
            &path,
            &bytes,
            &desc,
            previous.as_ref(),
            options.max_file_size,
        )?;
        previous = Some(v.clone());
        verified.push((v, bytes));
    }
    match &previous {
        Some(last) => check_pointer_target(layout::FRESHNESS_PATH, &fresh, last)?,
        None => {
            return Err(Problem::Missing {
                path: manifest_path(1),
            })
        }
    }
    Ok(VerifiedUpdate {
        descriptor_bytes: descriptor.to_vec(),
        descriptor: desc,
        manifests: verified,
        pointer_bytes: pointer.to_vec(),
        pointer: fresh,
    })
}

/// A mirror's local copy of a publication.
#[derive(Debug)]
pub struct Replica {
    root: PathBuf,
    publication: Option<Publication>,
    fsync: bool,
    /// The handle every whole-file-system flush goes through, opened with the
    /// replica, before anything is staged: a write-back error in any staged
    /// byte is reported by the next flush (a handle opened later would miss it).
    flush: FsFlush,
    /// The staging directory exists (created by the first [`Replica::put`]).
    staging_ready: AtomicBool,
    /// Bytes [`Replica::put`] accepted since the replica was opened.
    staged_bytes: AtomicU64,
}

impl Replica {
    /// Opens the replica in `root`, creating the directory when needed. An
    /// empty directory is an empty replica; otherwise its publication must verify.
    /// Open it at the start of each sync: its flushes report every write-back
    /// error on the file system since it was opened, and only those.
    pub fn open(root: &Path) -> Result<Replica> {
        create_dir_all(root)?;
        let flush = FsFlush::open(root)?;
        let publication = if root.join(layout::DESCRIPTOR_PATH).exists() {
            Some(Publication::open(root)?)
        } else {
            None
        };
        for dir in [
            root.to_path_buf(),
            root.join(layout::RELEASES_DIR),
            root.join(layout::STAGING_DIR),
        ] {
            remove_temp_files(&dir)?;
        }
        Ok(Replica {
            root: root.to_path_buf(),
            publication,
            fsync: true,
            flush,
            staging_ready: AtomicBool::new(false),
            staged_bytes: AtomicU64::new(0),
        })
    }

    /// Turns fsync off (tests) or on (the default).
    pub fn set_fsync(&mut self, fsync: bool) {
        self.fsync = fsync;
    }

    /// The verified publication currently served, `None` when empty.
    pub fn publication(&self) -> Option<&Publication> {
        self.publication.as_ref()
    }

    fn staged_path(&self, hash: &Hash) -> PathBuf {
        self.root.join(layout::STAGING_DIR).join(hash.to_hex())
    }

    /// True when `file` is already at its public path or staged, and its bytes
    /// hash to `file.hash`: no need to fetch it. Both copies are re-hashed, as
    /// they may come from an interrupted sync (staged data is not flushed one
    /// file at a time, so a crash can leave a staged file torn) or from
    /// anything else that wrote there; a copy that does not match is fetched again.
    pub fn has(&self, file: &NeededFile) -> Result<bool> {
        let blob = BlobRef {
            hash: file.hash,
            size: file.size,
        };
        Ok(file_matches(&self.staged_path(&file.hash), &blob)?
            || file_matches(&to_fs_path(&self.root, &file.path), &blob)?)
    }

    /// Where `file` waits in staging once [`Replica::put`] accepted it: `Some`
    /// when it is staged with its declared size (staged files were hash-checked
    /// on the way in), for reading it before it is applied (a bulk file whose
    /// entries are other needed blobs).
    pub fn staged(&self, file: &NeededFile) -> Result<Option<PathBuf>> {
        let path = self.staged_path(&file.hash);
        let blob = BlobRef {
            hash: file.hash,
            size: file.size,
        };
        Ok(staged_matches(&path, &blob)?.then_some(path))
    }

    /// A local copy of `file` with its declared size, staged or at its public
    /// path, for reading data that is checked again on its way out (a bulk
    /// zip whose entries are staged with [`Replica::put`]): the copy's own
    /// bytes are not re-hashed here.
    pub fn local_copy(&self, file: &NeededFile) -> Result<Option<PathBuf>> {
        let blob = BlobRef {
            hash: file.hash,
            size: file.size,
        };
        let staged = self.staged_path(&file.hash);
        if staged_matches(&staged, &blob)? {
            return Ok(Some(staged));
        }
        let public = to_fs_path(&self.root, &file.path);
        Ok(staged_matches(&public, &blob)?.then_some(public))
    }

    /// Streams `file`'s bytes from `reader` into staging, checking size and
    /// hash as they arrive: at most `size + 1` bytes are read, and a mismatch
    /// leaves nothing behind ([`Error::Invalid`] names the problem).
    /// Takes `&self`, so several downloads can stream into staging at once.
    pub fn put(&self, file: &NeededFile, reader: impl Read) -> Result<()> {
        let dir = self.root.join(layout::STAGING_DIR);
        if !self.staging_ready.load(Ordering::Relaxed) {
            create_dir_all(&dir)?;
            self.staging_ready.store(true, Ordering::Relaxed);
        }
        let tmp = temp_path(&dir);
        let mut check = BlobCheck::new(&file.path, file.hash, file.size, u64::MAX)?;
        let result = (|| -> Result<()> {
            let mut f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            let mut r = reader.take(file.size.saturating_add(1));
            // Most blobs are a few KiB: no need to allocate (and zero) 256 KiB for each.
            let cap = file.size.saturating_add(1).clamp(8 * 1024, 256 * 1024);
            let mut buf = vec![0u8; cap as usize];
            loop {
                let n = match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(Error::io(&tmp, e)),
                };
                check.update(&buf[..n])?;
                f.write_all(&buf[..n]).map_err(|e| Error::io(&tmp, e))?;
            }
            check.clone().finish()?;
            let dest = self.staged_path(&file.hash);
            fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        } else {
            self.staged_bytes.fetch_add(file.size, Ordering::Relaxed);
        }
        result
    }

    /// Bytes [`Replica::put`] accepted into staging since the replica was opened.
    pub fn staged_bytes(&self) -> u64 {
        self.staged_bytes.load(Ordering::Relaxed)
    }

    /// Writes what is staged so far to disk now, while downloads go on, so
    /// that the flush [`Replica::apply`] makes before its first rename has
    /// little left to wait for. It only starts the disk writes earlier:
    /// `apply` still flushes everything before any public name points at new
    /// data, and that flush alone makes the guarantee. Both go through the
    /// handle opened with the replica, so they report any write-back error since
    /// then. An error here (the disk failed to write staged data) must fail the
    /// sync: a later flush does not report it again. Returns `false` when there is nothing to do early
    /// (fsync off, or no whole-file-system flush on this system).
    pub fn flush_staged(&self) -> Result<bool> {
        if !self.fsync {
            return Ok(false);
        }
        self.flush.flush(&self.root)
    }

    /// Makes `update` the replica's state: every needed file must be staged
    /// (or already public). Files move to their public paths (all their data
    /// flushed first, with one `syncfs` on Linux through the handle opened with
    /// the replica, and the renames flushed after),
    /// then the descriptor (if new), the manifests, and the pointer last.
    /// Returns the new trusted state.
    pub fn apply(&mut self, update: VerifiedUpdate) -> Result<TrustedState> {
        let needed = update.needed();
        // (hash, staged source, destination, rename rather than copy)
        let mut moves: Vec<(Hash, PathBuf, PathBuf, bool)> = Vec::new();
        let mut by_hash: BTreeMap<Hash, usize> = BTreeMap::new();
        for f in &needed {
            let blob = BlobRef {
                hash: f.hash,
                size: f.size,
            };
            let dest = to_fs_path(&self.root, &f.path);
            if file_matches(&dest, &blob)? {
                continue;
            }
            let staged = self.staged_path(&f.hash);
            if !staged_matches(&staged, &blob)? {
                return Err(Error::BlobMissing { hash: f.hash });
            }
            *by_hash.entry(f.hash).or_default() += 1;
            moves.push((f.hash, staged, dest, false));
        }
        // The last user of a staged file renames it, the others copy.
        // Copies all run before any rename, so the source is still there.
        for m in moves.iter_mut().rev() {
            let n = by_hash.get_mut(&m.0).map(std::mem::take);
            m.3 = n.is_some_and(|n| n > 0);
        }
        let moves = moves
            .into_iter()
            .map(|(_, src, dest, rename)| (src, dest, rename));
        // The descriptor (for a new replica) and the manifests are flushed
        // with the files (no fsync of their own) and get their names in the
        // same pass; the pointer, which names them, comes last.
        let mut metadata: Vec<(PathBuf, &[u8])> = Vec::new();
        if self.publication.is_none() {
            metadata.push((
                self.root.join(layout::DESCRIPTOR_PATH),
                &update.descriptor_bytes,
            ));
        }
        for (v, bytes) in &update.manifests {
            let path = to_fs_path(&self.root, &manifest_path(v.manifest().release));
            metadata.push((path, bytes));
        }
        let flush = self.fsync.then_some(&self.flush);
        place_files_then(&self.root, moves.collect(), &metadata, flush)?;
        write_atomic(
            &self.root.join(layout::FRESHNESS_PATH),
            &update.pointer_bytes,
            self.fsync,
        )?;
        // The new state is what was just verified and written: built from
        // it, not read back and verified again (for a fresh mirror of a large
        // publication, checking every manifest's signature twice cost as much
        // as the first check).
        let state = update.state();
        let pointer = update.pointer.pointer().clone();
        let mut publication = self
            .publication
            .take()
            .unwrap_or_else(|| Publication::from_verified(&self.root, &update.descriptor));
        for (v, _) in update.manifests {
            let hash = v.hash();
            publication.push(v.into_manifest(), hash, pointer.clone());
        }
        publication.set_pointer(pointer);
        self.publication = Some(publication);
        let _ = fs::remove_dir(self.root.join(layout::STAGING_DIR));
        self.staging_ready.store(false, Ordering::Relaxed);
        if self.fsync {
            sync_dir(&self.root)?;
        }
        Ok(state)
    }
}
