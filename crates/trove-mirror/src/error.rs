//! Why a sync could not finish. Every variant names the origin or file concerned;
//! whatever the error, the mirror's visible state is still its last good one.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use trove_publication::{Problem, PublicKey};

/// Result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A sync (or setting a mirror up) failed; nothing unverified became visible.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not an `http://` or `https://` URL.
    #[error("{0:?} is not an http:// or https:// URL of a publication")]
    BadUrl(String),
    /// The origin offered something that failed verification.
    #[error("{origin}: rejected: {problem}")]
    Rejected {
        /// The origin's base URL.
        origin: String,
        /// What failed, naming the file.
        problem: Box<Problem>,
    },
    /// A download failed (network, HTTP status, time or size bound).
    #[error("{url}: {reason}")]
    Fetch {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// Several origins were tried and none could be used.
    #[error("no origin offered a usable state:{}", list(.0))]
    NoOrigin(Vec<OriginFailure>),
    /// The mirror directory is pinned to another publisher key than the one given.
    #[error("{dir}: this mirror is pinned to publisher key {pinned}, not {given}; use another directory to mirror another publication")]
    PinMismatch {
        /// The mirror directory.
        dir: PathBuf,
        /// The key pinned at first contact.
        pinned: PublicKey,
        /// The key given (or found in the local publication).
        given: PublicKey,
    },
    /// The pin file exists but is not a key.
    #[error("{path}: not a publisher key pin: {reason}")]
    BadPin {
        /// The pin file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The update would download more than the per-sync limit.
    #[error("the update from {origin} needs {needed} bytes, more than the limit of {limit} bytes per sync (raise --max-sync-size)")]
    SyncTooLarge {
        /// The origin offering it.
        origin: String,
        /// Bytes needed.
        needed: u64,
        /// The limit.
        limit: u64,
    },
    /// The sync ran past its time limit.
    #[error("the sync ran past its limit of {0:?}; what was fetched is staged and the next sync resumes")]
    SyncTimeout(Duration),
    /// A local file operation (staging, switching, opening the replica) failed.
    #[error(transparent)]
    Local(#[from] trove_publication::Error),
}

impl Error {
    /// True when an origin offered data that failed verification (an attack or
    /// corruption), as opposed to being unreachable.
    pub fn is_rejection(&self) -> bool {
        match self {
            Error::Rejected { .. } => true,
            Error::NoOrigin(list) => list.iter().any(|f| f.problem.is_some()),
            _ => false,
        }
    }
}

/// Why one origin was not used (or not used for everything).
#[derive(Debug, Clone)]
pub struct OriginFailure {
    /// The origin's base URL.
    pub origin: String,
    /// The verification problem, when it offered bad data.
    pub problem: Option<Box<Problem>>,
    /// Human-readable reason (includes the problem).
    pub reason: String,
}

impl OriginFailure {
    pub(crate) fn rejected(origin: &str, problem: Problem) -> OriginFailure {
        OriginFailure {
            origin: origin.to_string(),
            reason: format!("rejected: {problem}"),
            problem: Some(Box::new(problem)),
        }
    }

    pub(crate) fn down(origin: &str, reason: String) -> OriginFailure {
        OriginFailure {
            origin: origin.to_string(),
            problem: None,
            reason,
        }
    }

    /// The error this failure is when it is the only one.
    pub(crate) fn into_error(self) -> Error {
        match self.problem {
            Some(problem) => Error::Rejected {
                origin: self.origin,
                problem,
            },
            None => Error::Fetch {
                url: self.origin,
                reason: self.reason,
            },
        }
    }
}

impl fmt::Display for OriginFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.reason)
    }
}

fn list(failures: &[OriginFailure]) -> String {
    failures.iter().map(|f| format!("\n  {f}")).collect()
}
