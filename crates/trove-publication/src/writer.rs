//! [`PublicationWriter`]: creating a publication, putting blobs, publishing
//! releases and refreshing the freshness pointer, crash-safely.
//!
//! Order of writes when publishing release N (each file written to a temp
//! name, fsynced, renamed): staged blobs and files move to their final
//! paths, then `releases/N.json`, then `freshness.json`. Until the pointer is
//! renamed, readers see release N-1; a re-run with the same draft finds the
//! pending manifest, keeps it, and finishes.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::envelope::{seal, ObjectKind};
use crate::error::{Error, Result};
use crate::fsutil::{create_dir_all, place_files, remove_temp_files, temp_path, write_atomic};
use crate::layout::{self, blob_path, check_file_name, file_path, manifest_path, to_fs_path};
use crate::manifest::{AttachmentEntry, DkimAttestation, FileEntry, MessageEntry, MessageSummary};
use crate::{Descriptor, FreshnessPointer, Hash, Hasher, Manifest, Publication, PublisherKey};

/// A blob put into the publication (staged until a release lists it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlobRef {
    /// BLAKE3 of the bytes.
    pub hash: Hash,
    /// Size in bytes.
    pub size: u64,
}

/// One message of a release being prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageDraft {
    /// The raw source, already put with [`PublicationWriter::put_blob`].
    pub blob: BlobRef,
    /// Its attachments (their blobs put too).
    pub attachments: Vec<AttachmentEntry>,
    /// Metadata summary.
    pub summary: MessageSummary,
    /// The publisher's DKIM attestation.
    pub dkim: Vec<DkimAttestation>,
}

/// One bulk-download file of a release being prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDraft {
    /// File name (see [`layout::check_file_name`]); it lands at `files/NNNNNN/NAME`.
    pub name: String,
    /// MIME type to serve it with.
    pub content_type: String,
    /// Its bytes, already put with [`PublicationWriter::put_blob`].
    pub blob: BlobRef,
}

/// Everything a release adds, before it gets its number, ids and signature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseDraft {
    /// Title ("Part 2").
    pub title: String,
    /// Messages in the order they get publication ids.
    pub messages: Vec<MessageDraft>,
    /// Bulk downloads.
    pub files: Vec<FileDraft>,
}

/// What [`PublicationWriter::publish`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishStatus {
    /// A new release was written.
    New,
    /// An unfinished publish of this same release was completed.
    Resumed,
    /// This content was already published; nothing was written.
    AlreadyPublished,
}

/// Result of [`PublicationWriter::publish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishOutcome {
    /// What happened.
    pub status: PublishStatus,
    /// The release number.
    pub release: u64,
    /// Its manifest hash.
    pub manifest: Hash,
    /// The publication id of its first message.
    pub first_id: u64,
    /// How many messages it holds (ids `first_id .. first_id + messages`).
    pub messages: u64,
}

/// Writes a publication: the only code that signs. Holds the secret key.
/// One writer per directory at a time.
#[derive(Debug)]
pub struct PublicationWriter {
    key: PublisherKey,
    publication: Publication,
    fsync: bool,
}

impl PublicationWriter {
    /// Creates a publication in `root` (created if needed) with a signed
    /// descriptor. When `root` already holds a publication with the same
    /// key, name and description, opens it instead (so the call is idempotent);
    /// any other existing descriptor is an error.
    pub fn create(
        root: &Path,
        key: PublisherKey,
        name: &str,
        description: &str,
        created_at: u64,
    ) -> Result<PublicationWriter> {
        let desc_path = root.join(layout::DESCRIPTOR_PATH);
        if desc_path.exists() {
            let w = PublicationWriter::open(root, key)?;
            let d = w.publication.descriptor();
            if d.name != name || d.description != description {
                return Err(Error::AlreadyExists { path: desc_path });
            }
            return Ok(w);
        }
        create_dir_all(root)?;
        let descriptor = Descriptor {
            name: name.into(),
            description: description.into(),
            public_key: key.public_key(),
            created_at,
        };
        let sealed = seal(&key, ObjectKind::Descriptor, &descriptor)?;
        write_atomic(&desc_path, &sealed.bytes, true)?;
        PublicationWriter::open(root, key)
    }

    /// Opens an existing publication for appending. `key` must be the one in its descriptor.
    pub fn open(root: &Path, key: PublisherKey) -> Result<PublicationWriter> {
        let publication = Publication::open(root)?;
        if publication.public_key() != key.public_key() {
            return Err(Error::KeyMismatch {
                expected: publication.public_key(),
                actual: key.public_key(),
            });
        }
        let mut dirs = vec![
            root.to_path_buf(),
            root.join(layout::RELEASES_DIR),
            root.join(layout::STAGING_DIR),
        ];
        if let Ok(entries) = fs::read_dir(root.join(layout::FILES_DIR)) {
            dirs.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
        }
        for dir in dirs {
            remove_temp_files(&dir)?;
        }
        Ok(PublicationWriter {
            key,
            publication,
            fsync: true,
        })
    }

    /// Turns fsync off (tests, benchmarks on throwaway data) or on (the default).
    /// Without fsync a power loss can lose or tear recent writes.
    pub fn set_fsync(&mut self, fsync: bool) {
        self.fsync = fsync;
    }

    /// The publication as written so far.
    pub fn publication(&self) -> &Publication {
        &self.publication
    }

    /// The number the next new release will get.
    pub fn next_release(&self) -> u64 {
        self.publication.latest_release() + 1
    }

    /// Puts a blob: content-addressed, idempotent. Until a published release
    /// lists it, it waits in the private staging area (`.staging/`), so an
    /// unreleased message is never at a public path.
    pub fn put_blob(&mut self, bytes: &[u8]) -> Result<BlobRef> {
        let blob = BlobRef {
            hash: Hash::of(bytes),
            size: bytes.len() as u64,
        };
        if self.has_blob(&blob)? {
            return Ok(blob);
        }
        let dir = self.staging_dir();
        create_dir_all(&dir)?;
        let tmp = temp_path(&dir);
        let write = || -> io::Result<()> {
            // Not fsynced here: staged data is flushed in one parallel batch
            // when a release moves it to its public path.
            File::create(&tmp)?.write_all(bytes)
        };
        write().map_err(|e| Error::io(&tmp, e))?;
        self.finish_staging(&tmp, &blob)?;
        Ok(blob)
    }

    /// Puts a blob read from `reader` (streamed, for large attachments and
    /// bulk files), refusing more than `limit` bytes.
    pub fn put_blob_from(&mut self, reader: impl Read, limit: u64) -> Result<BlobRef> {
        let dir = self.staging_dir();
        create_dir_all(&dir)?;
        let tmp = temp_path(&dir);
        let mut hasher = Hasher::new();
        let copy = || -> io::Result<bool> {
            let mut f = File::create(&tmp)?;
            let mut r = reader.take(limit.saturating_add(1));
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                hasher.update(&buf[..n]);
                if hasher.len() > limit {
                    return Ok(false);
                }
                f.write_all(&buf[..n])?;
            }
            Ok(true)
        };
        let within = copy().map_err(|e| Error::io(&tmp, e));
        if !matches!(within, Ok(true)) {
            let _ = fs::remove_file(&tmp);
            within?;
            return Err(Error::TooLarge { path: tmp, limit });
        }
        let blob = BlobRef {
            hash: hasher.finalize(),
            size: hasher.len(),
        };
        if self.has_blob(&blob)? {
            let _ = fs::remove_file(&tmp);
            return Ok(blob);
        }
        self.finish_staging(&tmp, &blob)?;
        Ok(blob)
    }

    fn staging_dir(&self) -> PathBuf {
        self.publication.root().join(layout::STAGING_DIR)
    }

    fn staged_path(&self, hash: &Hash) -> PathBuf {
        self.staging_dir().join(hash.to_hex())
    }

    fn finish_staging(&self, tmp: &Path, blob: &BlobRef) -> Result<()> {
        // Nothing in staging is fsynced: a staged blob lost in a crash is
        // put again by the re-run. Data is flushed before it moves to its
        // public path (see `place_blobs`).
        let dest = self.staged_path(&blob.hash);
        fs::rename(tmp, &dest).map_err(|e| Error::io(&dest, e))
    }

    /// True when the blob is already published or staged with the right
    /// size and hash (a damaged copy is replaced).
    fn has_blob(&self, blob: &BlobRef) -> Result<bool> {
        Ok(file_matches(
            &to_fs_path(self.publication.root(), &blob_path(&blob.hash)),
            blob,
        )? || staged_matches(&self.staged_path(&blob.hash), blob)?)
    }

    /// Builds the manifest `draft` would become at position (`release`,
    /// `first_id`, `previous`) and time `published_at`.
    fn manifest_for(
        &self,
        draft: &ReleaseDraft,
        release: u64,
        first_id: u64,
        previous: Option<Hash>,
        published_at: u64,
    ) -> Result<Manifest> {
        let messages = draft
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| MessageEntry {
                id: first_id + i as u64,
                blob: m.blob.hash,
                size: m.blob.size,
                attachments: m.attachments.clone(),
                summary: m.summary.clone(),
                dkim: m.dkim.clone(),
            })
            .collect();
        let files = draft
            .files
            .iter()
            .map(|f| {
                Ok(FileEntry {
                    path: file_path(release, &f.name).map_err(|reason| Error::BadFileName {
                        name: f.name.clone(),
                        reason,
                    })?,
                    hash: f.blob.hash,
                    size: f.blob.size,
                    content_type: f.content_type.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Manifest {
            publication: self.publication.id(),
            release,
            title: draft.title.clone(),
            published_at,
            previous,
            first_id,
            messages,
            files,
            requires: Vec::new(),
        })
    }

    /// Publishes `draft` as the next release, signed at `now`, with a
    /// freshness pointer valid until `expires_at`.
    ///
    /// Idempotent: if a published release already has exactly this content
    /// (title, messages, attachments, summaries, DKIM, files), nothing is
    /// written and its number is returned. If an unfinished publish of the
    /// same content is found, it is completed. A message already published in
    /// another release is refused: publication ids are never reused.
    pub fn publish(
        &mut self,
        draft: &ReleaseDraft,
        now: u64,
        expires_at: u64,
    ) -> Result<PublishOutcome> {
        let mut names = BTreeSet::new();
        for f in &draft.files {
            check_file_name(&f.name).map_err(|reason| Error::BadFileName {
                name: f.name.clone(),
                reason,
            })?;
            if !names.insert(f.name.as_str()) {
                return Err(Error::BadFileName {
                    name: f.name.clone(),
                    reason: "listed twice".into(),
                });
            }
        }
        // Already published?
        for m in self.publication.manifests() {
            if m.title != draft.title || m.messages.len() != draft.messages.len() {
                continue;
            }
            let candidate =
                self.manifest_for(draft, m.release, m.first_id, m.previous, m.published_at)?;
            if &candidate == m {
                return Ok(PublishOutcome {
                    status: PublishStatus::AlreadyPublished,
                    release: m.release,
                    manifest: self
                        .publication
                        .manifest_hash(m.release)
                        .ok_or(Error::NoRelease)?,
                    first_id: m.first_id,
                    messages: m.messages.len() as u64,
                });
            }
        }
        self.check_times(now, expires_at)?;
        // Ids are never reused: refuse messages already published.
        let published: HashMap<Hash, u64> = self
            .publication
            .messages()
            .map(|(_, e)| (e.blob, e.id))
            .collect();
        let release = self.next_release();
        let first_id = self.publication.message_count() + 1;
        let previous = self.publication.manifest_hash(release - 1);
        let mut in_draft = std::collections::HashSet::new();
        for m in &draft.messages {
            if let Some(&id) = published.get(&m.blob.hash) {
                return Err(Error::MessageAlreadyPublished {
                    id,
                    blob: m.blob.hash,
                });
            }
            if !in_draft.insert(m.blob.hash) {
                return Err(Error::DuplicateMessage { blob: m.blob.hash });
            }
        }
        // An unfinished publish of the same content keeps its bytes (and time).
        let pending = self.publication.pending.take();
        let (manifest, status) = match pending {
            Some(p)
                if self.manifest_for(
                    draft,
                    release,
                    first_id,
                    previous,
                    p.manifest().published_at,
                )? == *p.manifest() =>
            {
                (p.into_manifest(), PublishStatus::Resumed)
            }
            _ => (
                self.manifest_for(draft, release, first_id, previous, now)?,
                PublishStatus::New,
            ),
        };
        self.place_blobs(&manifest, draft)?;
        let sealed = seal(&self.key, ObjectKind::Manifest, &manifest)?;
        let mpath = to_fs_path(self.publication.root(), &manifest_path(release));
        let same_on_disk = status == PublishStatus::Resumed
            && fs::read(&mpath).map(|b| b == sealed.bytes).unwrap_or(false);
        if !same_on_disk {
            write_atomic(&mpath, &sealed.bytes, self.fsync)?;
        }
        let pointer = FreshnessPointer {
            publication: self.publication.id(),
            release,
            manifest: sealed.hash,
            issued_at: now,
            expires_at,
        };
        self.write_pointer(&pointer)?;
        let outcome = PublishOutcome {
            status,
            release,
            manifest: sealed.hash,
            first_id,
            messages: manifest.messages.len() as u64,
        };
        self.publication.push(manifest, sealed.hash, pointer);
        self.clean_staging(draft);
        Ok(outcome)
    }

    /// Re-signs the freshness pointer for the latest release with a new
    /// expiry (the origin is alive; nothing new is published).
    pub fn refresh(&mut self, now: u64, expires_at: u64) -> Result<FreshnessPointer> {
        let release = self.publication.latest_release();
        let manifest = self
            .publication
            .manifest_hash(release)
            .ok_or(Error::NoRelease)?;
        self.check_times(now, expires_at)?;
        let pointer = FreshnessPointer {
            publication: self.publication.id(),
            release,
            manifest,
            issued_at: now,
            expires_at,
        };
        self.write_pointer(&pointer)?;
        self.publication.set_pointer(pointer.clone());
        Ok(pointer)
    }

    /// Writes the Atom feed (`feed.atom`) atomically. The feed is derived from
    /// the manifests and is not signed; write it after [`Self::publish`].
    pub fn write_feed(&self, atom: &[u8]) -> Result<()> {
        let path = self.publication.root().join(layout::FEED_PATH);
        write_atomic(&path, atom, self.fsync)
    }

    /// Removes everything staged that no release published (blobs put for
    /// a draft that was abandoned).
    pub fn clear_staging(&mut self) -> Result<()> {
        let dir = self.staging_dir();
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io(dir, e)),
            _ => Ok(()),
        }
    }

    fn check_times(&self, now: u64, expires_at: u64) -> Result<()> {
        if expires_at <= now {
            return Err(Error::BadExpiry { now, expires_at });
        }
        let previous = self.publication.pointer().map_or(0, |p| p.issued_at).max(
            self.publication
                .manifests()
                .last()
                .map_or(0, |m| m.published_at),
        );
        if now < previous {
            return Err(Error::ClockWentBackwards { previous, now });
        }
        Ok(())
    }

    fn write_pointer(&self, pointer: &FreshnessPointer) -> Result<()> {
        let sealed = seal(&self.key, ObjectKind::Freshness, pointer)?;
        let path = self.publication.root().join(layout::FRESHNESS_PATH);
        write_atomic(&path, &sealed.bytes, self.fsync)
    }

    /// Moves every blob and file the manifest lists to its public path:
    /// flushes the data (see `place_files`: one `syncfs` on Linux), renames,
    /// then flushes the renames.
    fn place_blobs(&self, manifest: &Manifest, draft: &ReleaseDraft) -> Result<()> {
        let root = self.publication.root().to_path_buf();
        // (source, destination, rename (true) or copy (false))
        let mut moves: Vec<(PathBuf, PathBuf, bool)> = Vec::new();
        let mut planned = BTreeSet::new();
        let blobs = manifest.messages.iter().flat_map(|m| {
            std::iter::once(BlobRef {
                hash: m.blob,
                size: m.size,
            })
            .chain(m.attachments.iter().map(|a| BlobRef {
                hash: a.blob,
                size: a.size,
            }))
        });
        let mut renamed = BTreeSet::new();
        for blob in blobs {
            if !planned.insert(blob.hash) {
                continue;
            }
            let dest = to_fs_path(&root, &blob_path(&blob.hash));
            if file_matches(&dest, &blob)? {
                continue;
            }
            let staged = self.staged_path(&blob.hash);
            if !staged_matches(&staged, &blob)? {
                return Err(self.missing(&blob));
            }
            renamed.insert(blob.hash);
            moves.push((staged, dest, true));
        }
        // Files are copied when the same bytes are also a blob being renamed.
        for (entry, f) in manifest.files.iter().zip(&draft.files) {
            let dest = to_fs_path(&root, &entry.path);
            if file_matches(&dest, &f.blob)? {
                continue;
            }
            let src = self.find_blob(&f.blob)?;
            // Copies run before renames, so one staged source can feed any
            // number of copies and at most one rename.
            let rename = src.starts_with(self.staging_dir()) && renamed.insert(f.blob.hash);
            moves.push((src, dest, rename));
        }
        if moves.is_empty() {
            return Ok(());
        }
        place_files(&root, moves, self.fsync)
    }

    /// A published or staged copy of `blob`.
    fn find_blob(&self, blob: &BlobRef) -> Result<PathBuf> {
        let staged = self.staged_path(&blob.hash);
        if staged_matches(&staged, blob)? {
            return Ok(staged);
        }
        let public = to_fs_path(self.publication.root(), &blob_path(&blob.hash));
        if file_matches(&public, blob)? {
            return Ok(public);
        }
        Err(self.missing(blob))
    }

    fn missing(&self, blob: &BlobRef) -> Error {
        for p in [
            self.staged_path(&blob.hash),
            to_fs_path(self.publication.root(), &blob_path(&blob.hash)),
        ] {
            if let Ok(m) = fs::metadata(&p) {
                if m.len() != blob.size {
                    return Error::BlobSize {
                        hash: blob.hash,
                        expected: blob.size,
                        actual: m.len(),
                    };
                }
            }
        }
        Error::BlobMissing { hash: blob.hash }
    }

    /// Best effort: staged copies of the draft's files are no longer needed.
    fn clean_staging(&self, draft: &ReleaseDraft) {
        for f in &draft.files {
            let _ = fs::remove_file(self.staged_path(&f.blob.hash));
        }
        let _ = fs::remove_dir(self.staging_dir());
    }
}

/// True when the staged copy of `blob` exists with its size. Staged files
/// get their hash name only after being written completely (temp + rename),
/// so the size check suffices and the bytes are not read a second time.
pub(crate) fn staged_matches(path: &Path, blob: &BlobRef) -> Result<bool> {
    match fs::metadata(path) {
        Ok(m) => Ok(m.len() == blob.size),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Runs `f` over `items` on a few threads; the first error wins.
pub(crate) fn parallel<T: Sync>(items: &[T], f: impl Fn(&T) -> Result<()> + Sync) -> Result<()> {
    const THREADS: usize = 8;
    let chunk = items.len().div_ceil(THREADS).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().try_for_each(&f)))
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join().unwrap_or(Err(Error::Io {
                path: PathBuf::new(),
                message: "fsync thread panicked".into(),
            }))
        })
    })
}

/// True when `path` exists with exactly `blob`'s size and hash.
pub(crate) fn file_matches(path: &Path, blob: &BlobRef) -> Result<bool> {
    match fs::metadata(path) {
        Ok(m) if m.len() == blob.size => {}
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(path, e)),
    }
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let (hash, len) = Hash::from_reader(f.take(blob.size + 1)).map_err(|e| Error::io(path, e))?;
    Ok(hash == blob.hash && len == blob.size)
}
