//! [`Publication`]: a publication directory opened for reading (serving, exporting, appending).

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::layout;
use crate::verify::{load, VerifiedDescriptor, VerifiedManifest};
use crate::{Descriptor, FreshnessPointer, Hash, Manifest, MessageEntry, PublicKey};

/// Largest descriptor, manifest or pointer [`Publication::open`] reads.
const MAX_METADATA: u64 = 1 << 30;

/// A publication directory whose signed metadata verified: descriptor,
/// freshness pointer (signature only: serving does not stop when it
/// expires), and manifests 1 to the pointer's release, chained.
/// Blobs are not hashed on open; use [`crate::verify_dir`] for that.
#[derive(Debug, Clone)]
pub struct Publication {
    root: PathBuf,
    descriptor: Descriptor,
    id: Hash,
    pointer: Option<FreshnessPointer>,
    manifests: Vec<Manifest>,
    hashes: Vec<Hash>,
    pub(crate) pending: Option<VerifiedManifest>,
}

impl Publication {
    /// Opens and checks the publication in `root`. Fails with
    /// [`Error::Invalid`] naming the first file that does not verify.
    /// Manifests beyond the pointer (an unfinished publish) are not part of it.
    pub fn open(root: &Path) -> Result<Publication> {
        let loaded = load(root, MAX_METADATA)?;
        Ok(Publication {
            root: root.to_path_buf(),
            id: loaded.descriptor.id(),
            descriptor: loaded.descriptor.descriptor().clone(),
            pointer: loaded.pointer.map(|p| p.pointer().clone()),
            hashes: loaded.manifests.iter().map(|m| m.hash()).collect(),
            manifests: loaded
                .manifests
                .into_iter()
                .map(VerifiedManifest::into_manifest)
                .collect(),
            pending: loaded.pending,
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The descriptor.
    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    /// The publication id (hash of the descriptor).
    pub fn id(&self) -> Hash {
        self.id
    }

    /// The publisher's key.
    pub fn public_key(&self) -> PublicKey {
        self.descriptor.public_key
    }

    /// The descriptor as a verified value, for continuing verification
    /// (a mirror checking new manifests against its local copy).
    pub fn verified_descriptor(&self) -> VerifiedDescriptor {
        VerifiedDescriptor::new(self.descriptor.clone(), self.id)
    }

    /// Manifest `release` as a verified value: a mirror chains the next
    /// release it downloads to its local latest with
    /// [`crate::verify_manifest`]`(…, Some(&pub.verified_manifest(pub.latest_release())?), …)`.
    pub fn verified_manifest(&self, release: u64) -> Option<VerifiedManifest> {
        Some(VerifiedManifest::new(
            self.manifest(release)?.clone(),
            self.manifest_hash(release)?,
        ))
    }

    /// The freshness pointer; `None` before the first release.
    pub fn pointer(&self) -> Option<&FreshnessPointer> {
        self.pointer.as_ref()
    }

    /// True when the pointer exists and has not expired at `now`.
    pub fn is_fresh(&self, now: u64) -> bool {
        self.pointer.as_ref().is_some_and(|p| now < p.expires_at)
    }

    /// All published manifests, release 1 first.
    pub fn manifests(&self) -> &[Manifest] {
        &self.manifests
    }

    /// The manifest of `release` (1-based).
    pub fn manifest(&self, release: u64) -> Option<&Manifest> {
        self.manifests
            .get(usize::try_from(release.checked_sub(1)?).ok()?)
    }

    /// The hash of `release`'s manifest.
    pub fn manifest_hash(&self, release: u64) -> Option<Hash> {
        self.hashes
            .get(usize::try_from(release.checked_sub(1)?).ok()?)
            .copied()
    }

    /// Number of the latest release, 0 when none.
    pub fn latest_release(&self) -> u64 {
        self.manifests.len() as u64
    }

    /// Number of published messages (the highest publication id).
    pub fn message_count(&self) -> u64 {
        self.manifests.last().map_or(0, |m| m.next_id() - 1)
    }

    /// Publication id `id`'s message and the manifest that published it.
    pub fn message(&self, id: u64) -> Option<(&Manifest, &MessageEntry)> {
        let i = self.manifests.partition_point(|m| m.first_id <= id);
        let m = self.manifests.get(i.checked_sub(1)?)?;
        Some((m, m.message(id)?))
    }

    /// Every published message with its release, in id order.
    pub fn messages(&self) -> impl Iterator<Item = (&Manifest, &MessageEntry)> {
        self.manifests
            .iter()
            .flat_map(|m| m.messages.iter().map(move |e| (m, e)))
    }

    /// Where blob `hash` lives on disk (whether or not it is published).
    pub fn blob_path(&self, hash: &Hash) -> PathBuf {
        layout::to_fs_path(&self.root, &layout::blob_path(hash))
    }

    /// Opens blob `hash` for reading. The bytes are not re-hashed here.
    pub fn open_blob(&self, hash: &Hash) -> Result<File> {
        let p = self.blob_path(hash);
        File::open(&p).map_err(|e| Error::io(p, e))
    }

    /// Reads blob `hash` whole and checks it against the hash and `size`
    /// (refusing more than `size` bytes).
    pub fn read_blob(&self, hash: &Hash, size: u64) -> Result<Vec<u8>> {
        let path = layout::blob_path(hash);
        let bytes = crate::fsutil::read_bounded(&self.root, &path, size)?;
        crate::verify::verify_blob(&path, &bytes, hash, size)?;
        Ok(bytes)
    }

    /// A publication with `descriptor` and no release yet, for a replica
    /// that adds the releases it verified ([`crate::Replica::apply`]).
    pub(crate) fn from_verified(root: &Path, descriptor: &VerifiedDescriptor) -> Publication {
        Publication {
            root: root.to_path_buf(),
            descriptor: descriptor.descriptor().clone(),
            id: descriptor.id(),
            pointer: None,
            manifests: Vec::new(),
            hashes: Vec::new(),
            pending: None,
        }
    }

    pub(crate) fn push(&mut self, manifest: Manifest, hash: Hash, pointer: FreshnessPointer) {
        self.manifests.push(manifest);
        self.hashes.push(hash);
        self.pointer = Some(pointer);
        self.pending = None;
    }

    pub(crate) fn set_pointer(&mut self, pointer: FreshnessPointer) {
        self.pointer = Some(pointer);
    }
}
