//! Errors of the release workflow.

use std::path::PathBuf;

/// What can stop a release command. Per-message facts are values, not errors.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The vault failed (database, blobs, missing message).
    #[error(transparent)]
    Vault(#[from] crate::Error),
    /// The publication refused or failed (signing, writing, a damaged publication).
    #[error("publication: {0}")]
    Publication(#[from] trove_publication::Error),
    /// A query or id list that cannot be understood.
    #[error("bad selection {input:?}: {reason}")]
    BadSelection {
        /// What the user wrote.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// No part with this number.
    #[error("no release part {0}; see `trove release list`")]
    NoSuchPart(i64),
    /// Every part is already published (or none is planned).
    #[error("nothing to publish: no planned part left; add one with `trove release add`")]
    NothingPlanned,
    /// The selection matched no unplanned message.
    #[error("the selection {0:?} matches no message that is not already in a part")]
    EmptySelection(String),
    /// The vault's record and the publication disagree (another publication, a rewritten one).
    #[error("{publication}: {reason}")]
    Mismatch {
        /// The publication directory.
        publication: PathBuf,
        /// What disagrees.
        reason: String,
    },
    /// Another `trove release` holds the vault's release lock.
    #[error("{}: another trove release command is running", .0.display())]
    Locked(PathBuf),
    /// A bad schedule time.
    #[error("bad time {0:?}: use HH:MM (24 h, UTC)")]
    BadTime(String),
    /// No schedule set but `run` was called.
    #[error("no schedule: set one with `trove release schedule --daily HH:MM --to PUBDIR`")]
    NoSchedule,
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl From<rusqlite::Error> for ReleaseError {
    fn from(e: rusqlite::Error) -> Self {
        ReleaseError::Vault(crate::Error::Db(e))
    }
}

/// Result of release operations.
pub type Result<T> = std::result::Result<T, ReleaseError>;
