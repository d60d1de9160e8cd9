//! Errors (an operation could not go on) and problems (a verification verdict).

use std::path::PathBuf;

use crate::{Hash, PublicKey};

/// Result of an operation of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An operation (create, put, publish, open, key handling) could not go on.
///
/// A publication that fails verification is reported as a [`Problem`]; it is
/// wrapped in [`Error::Invalid`] only when an operation needs a valid
/// publication to proceed (opening one to serve or to append to it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Reading or writing `path` failed (the OS message is kept as text so
    /// that errors stay `Clone` and comparable in tests).
    #[error("{path}: {message}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// The publication on disk does not verify.
    #[error("invalid publication: {0}")]
    Invalid(#[from] Problem),
    /// A secret key file is not in the expected format.
    #[error("{path}: not a trove secret key file: {reason}")]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A secret key file can be read by other users; fix with `chmod 600`.
    #[error("{path}: secret key file has mode {mode:o}, readable by others; run chmod 600")]
    InsecureKeyFile {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The signing key does not belong to this publication.
    #[error("signing key {actual} is not this publication's key {expected}")]
    KeyMismatch {
        /// The key in the descriptor.
        expected: PublicKey,
        /// The key that was offered.
        actual: PublicKey,
    },
    /// Refusing to overwrite something that exists with other content.
    #[error("{path} already exists with different content")]
    AlreadyExists {
        /// The existing file or directory.
        path: PathBuf,
    },
    /// A release draft names a blob that was never put into the publication.
    #[error("blob {hash} is referenced by the release but was never put")]
    BlobMissing {
        /// The blob's hash.
        hash: Hash,
    },
    /// A draft's blob reference does not match the blob's real size.
    #[error("blob {hash} has {actual} bytes, the release says {expected}")]
    BlobSize {
        /// The blob's hash.
        hash: Hash,
        /// Size the draft claims.
        expected: u64,
        /// Size on disk.
        actual: u64,
    },
    /// The message was already published under a publication id; ids are never reused.
    #[error("message blob {blob} is already published as emailid/{id}")]
    MessageAlreadyPublished {
        /// Its existing publication id.
        id: u64,
        /// The message's blob hash.
        blob: Hash,
    },
    /// The same message (same raw bytes) appears twice in one release draft.
    #[error("message blob {blob} appears twice in the release")]
    DuplicateMessage {
        /// The message's blob hash.
        blob: Hash,
    },
    /// A bulk-download file name is not allowed (see the layout rules).
    #[error("file name {name:?} is not allowed: {reason}")]
    BadFileName {
        /// The name given.
        name: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// `now` is earlier than the time in the current freshness pointer or
    /// manifest; signing with it would look like a rollback to mirrors.
    #[error("clock went backwards: now {now} is before {previous}")]
    ClockWentBackwards {
        /// Time already signed.
        previous: u64,
        /// The `now` passed in.
        now: u64,
    },
    /// `expires_at` must be after `now`.
    #[error("expiry {expires_at} is not after now {now}")]
    BadExpiry {
        /// The `now` passed in.
        now: u64,
        /// The expiry asked for.
        expires_at: u64,
    },
    /// The operation needs at least one release.
    #[error("the publication has no release yet")]
    NoRelease,
    /// A value cannot be encoded canonically (a float, a huge integer).
    #[error("cannot encode canonically: {0}")]
    Encoding(String),
    /// A blob is larger than the limit given.
    #[error("{path}: larger than the limit of {limit} bytes")]
    TooLarge {
        /// Where the data came from.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, err: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            message: err.to_string(),
        }
    }
}

/// What is wrong with one file of a publication: the verdict of verification.
///
/// Every variant names the file by its path inside the publication
/// (`releases/000002.json`, `blobs/ab/cd…`), which is also its URL path below
/// the publication's base URL. A mirror that gets any problem keeps serving its
/// last good state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The file could not be read (it may exist).
    #[error("{path}: cannot read: {message}")]
    Io {
        /// Path inside the publication.
        path: String,
        /// The operating system's message.
        message: String,
    },
    /// A required file is absent.
    #[error("{path}: missing")]
    Missing {
        /// Path inside the publication.
        path: String,
    },
    /// The file is larger than the reader's limit (or the manifest declares a
    /// size above it); nothing past the limit was read.
    #[error("{path}: larger than the limit of {limit} bytes")]
    TooLarge {
        /// Path inside the publication.
        path: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file's size differs from the size the manifest declares.
    #[error("{path}: {actual} bytes, the manifest declares {expected}")]
    SizeMismatch {
        /// Path inside the publication.
        path: String,
        /// Declared size.
        expected: u64,
        /// Size found (for a file that is too long: at least this).
        actual: u64,
    },
    /// The file's BLAKE3 hash differs from the one the manifest declares.
    #[error("{path}: BLAKE3 is {actual}, expected {expected}")]
    BadHash {
        /// Path inside the publication.
        path: String,
        /// Declared hash.
        expected: Hash,
        /// Hash of the bytes found.
        actual: Hash,
    },
    /// Not JSON, or JSON that does not have the fields the object needs.
    #[error("{path}: malformed: {reason}")]
    Malformed {
        /// Path inside the publication.
        path: String,
        /// What the parser said.
        reason: String,
    },
    /// Valid JSON that is not in canonical form (whitespace, key order,
    /// escapes, duplicate keys): each signed file has exactly one valid byte form.
    #[error("{path}: not in canonical JSON form")]
    NotCanonical {
        /// Path inside the publication.
        path: String,
    },
    /// The object's `type` is not the one expected at this path.
    #[error("{path}: is a {found:?} object, expected {expected:?}")]
    WrongType {
        /// Path inside the publication.
        path: String,
        /// Type expected.
        expected: String,
        /// Type found.
        found: String,
    },
    /// The object's major `version` is not one this reader knows; it refuses
    /// rather than guesses.
    #[error("{path}: format version {found} is not supported (this reader knows 1)")]
    UnsupportedVersion {
        /// Path inside the publication.
        path: String,
        /// Version found.
        found: String,
    },
    /// The manifest `requires` an extension this reader does not implement.
    #[error("{path}: requires extension {feature:?}, which this reader does not implement")]
    UnsupportedExtension {
        /// Path inside the publication.
        path: String,
        /// The extension's name.
        feature: String,
    },
    /// The Ed25519 signature does not verify with the publisher's key.
    #[error("{path}: bad signature")]
    BadSignature {
        /// Path inside the publication.
        path: String,
    },
    /// The descriptor's key is not the key the reader pinned (a different publisher).
    #[error("{path}: publisher key {actual} is not the pinned key {expected}")]
    KeyMismatch {
        /// Path inside the publication.
        path: String,
        /// The pinned key.
        expected: PublicKey,
        /// The key in the descriptor.
        actual: PublicKey,
    },
    /// The object belongs to another publication (mix-and-match).
    #[error("{path}: belongs to publication {actual}, not {expected}")]
    WrongPublication {
        /// Path inside the publication.
        path: String,
        /// This publication's id.
        expected: Hash,
        /// The id in the object.
        actual: Hash,
    },
    /// A manifest at this path carries another release number (removed,
    /// reordered or renamed releases).
    #[error("{path}: holds release {found}, expected release {expected}")]
    WrongRelease {
        /// Path inside the publication.
        path: String,
        /// Release expected at this path.
        expected: u64,
        /// Release in the manifest.
        found: u64,
    },
    /// The manifest's `previous` is not the hash of the previous manifest.
    #[error("{path}: previous manifest hash is {found:?}, expected {expected:?}")]
    BrokenChain {
        /// Path inside the publication.
        path: String,
        /// Hash of the previous verified manifest (`None` for release 1).
        expected: Option<Hash>,
        /// Value in the manifest.
        found: Option<Hash>,
    },
    /// Publication ids are not the continuation 1, 2, 3… of the previous release.
    #[error("{path}: publication id {found}, expected {expected}")]
    BadMessageId {
        /// Path inside the publication.
        path: String,
        /// The next id expected.
        expected: u64,
        /// The id found.
        found: u64,
    },
    /// A path in the manifest's `files` breaks the layout rules.
    #[error("{path}: file path {file:?} is not allowed: {reason}")]
    BadPath {
        /// Path of the manifest.
        path: String,
        /// The offending file path.
        file: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// The freshness pointer names a manifest hash that is not the manifest's.
    #[error("{path}: points at release {release} with hash {expected}, but that manifest hashes to {actual}")]
    PointerMismatch {
        /// Path of the pointer.
        path: String,
        /// Release it points at.
        release: u64,
        /// Hash in the pointer.
        expected: Hash,
        /// Hash of the manifest found.
        actual: Hash,
    },
    /// Older than the state the reader already trusts (rollback or replay).
    #[error("{path}: rollback: offers release {offered} issued at {offered_issued_at}, already trusted release {trusted} issued at {trusted_issued_at}")]
    Rollback {
        /// Path of the pointer.
        path: String,
        /// Release trusted.
        trusted: u64,
        /// Release offered.
        offered: u64,
        /// Issue time of the trusted pointer.
        trusted_issued_at: u64,
        /// Issue time of the offered pointer.
        offered_issued_at: u64,
    },
    /// Same release number as the trusted state but another manifest (a fork).
    #[error("{path}: release {release} has manifest {offered}, but {trusted} is trusted")]
    Fork {
        /// Path of the pointer.
        path: String,
        /// The release.
        release: u64,
        /// Manifest hash trusted.
        trusted: Hash,
        /// Manifest hash offered.
        offered: Hash,
    },
    /// The freshness pointer has expired: the origin may be frozen.
    #[error("{path}: expired at {expires_at}, now is {now}")]
    Expired {
        /// Path of the pointer.
        path: String,
        /// Its expiry.
        expires_at: u64,
        /// The `now` used.
        now: u64,
    },
    /// The freshness pointer claims to be issued in the future (beyond the allowed clock skew),
    /// or expires before it was issued.
    #[error("{path}: issued at {issued_at}, expires at {expires_at}, now is {now}: not a valid time window")]
    BadTimes {
        /// Path of the pointer.
        path: String,
        /// Its issue time.
        issued_at: u64,
        /// Its expiry.
        expires_at: u64,
        /// The `now` used.
        now: u64,
    },
}

impl Problem {
    /// The publication path this problem is about.
    pub fn path(&self) -> &str {
        match self {
            Problem::Io { path, .. }
            | Problem::Missing { path }
            | Problem::TooLarge { path, .. }
            | Problem::SizeMismatch { path, .. }
            | Problem::BadHash { path, .. }
            | Problem::Malformed { path, .. }
            | Problem::NotCanonical { path }
            | Problem::WrongType { path, .. }
            | Problem::UnsupportedVersion { path, .. }
            | Problem::UnsupportedExtension { path, .. }
            | Problem::BadSignature { path }
            | Problem::KeyMismatch { path, .. }
            | Problem::WrongPublication { path, .. }
            | Problem::WrongRelease { path, .. }
            | Problem::BrokenChain { path, .. }
            | Problem::BadMessageId { path, .. }
            | Problem::BadPath { path, .. }
            | Problem::PointerMismatch { path, .. }
            | Problem::Rollback { path, .. }
            | Problem::Fork { path, .. }
            | Problem::Expired { path, .. }
            | Problem::BadTimes { path, .. } => path,
        }
    }

    /// A short stable name for the kind of problem (`bad-signature`,
    /// `rollback`…), used in the test vectors' `expected.json`.
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::Io { .. } => "io",
            Problem::Missing { .. } => "missing",
            Problem::TooLarge { .. } => "too-large",
            Problem::SizeMismatch { .. } => "size-mismatch",
            Problem::BadHash { .. } => "bad-hash",
            Problem::Malformed { .. } => "malformed",
            Problem::NotCanonical { .. } => "not-canonical",
            Problem::WrongType { .. } => "wrong-type",
            Problem::UnsupportedVersion { .. } => "unsupported-version",
            Problem::UnsupportedExtension { .. } => "unsupported-extension",
            Problem::BadSignature { .. } => "bad-signature",
            Problem::KeyMismatch { .. } => "key-mismatch",
            Problem::WrongPublication { .. } => "wrong-publication",
            Problem::WrongRelease { .. } => "wrong-release",
            Problem::BrokenChain { .. } => "broken-chain",
            Problem::BadMessageId { .. } => "bad-message-id",
            Problem::BadPath { .. } => "bad-path",
            Problem::PointerMismatch { .. } => "pointer-mismatch",
            Problem::Rollback { .. } => "rollback",
            Problem::Fork { .. } => "fork",
            Problem::Expired { .. } => "expired",
            Problem::BadTimes { .. } => "bad-times",
        }
    }
}
