//! The vault's error type: every variant names the input or vault path a user must look at.

use std::path::PathBuf;

/// Why a vault operation could not go on.
///
/// Per-message problems (an unparseable message, a bad date) are *not* errors: they are
/// recorded in the vault and reported in the ingest summary. `Err` means the operation itself
/// stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The directory given as `--vault` is not a trove vault.
    #[error("{path}: not a trove vault (no vault.sqlite inside); create one with `trove init {path}`", path = .0.display())]
    NotAVault(PathBuf),
    /// `trove init` was pointed at a directory that already holds a vault or other files.
    #[error("{}: {reason}", path.display())]
    InitRefused {
        /// The directory given.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// The vault was written by a newer trove.
    #[error("{}: vault format {found} is newer than this trove understands ({supported}); upgrade trove", path.display())]
    UnsupportedVersion {
        /// The vault directory.
        path: PathBuf,
        /// Version recorded in the vault.
        found: i64,
        /// Highest version this build reads.
        supported: i64,
    },
    /// An input path could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An input is not something trove can read as mail.
    #[error("{input}: {reason}")]
    BadInput {
        /// The input (path, or path plus archive entry).
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An archive exceeded a configured safety limit (zip/tar bomb protection).
    #[error("{input}: {what} exceeds the limit of {limit} (raise it with {flag} if this archive is genuine)")]
    LimitExceeded {
        /// The archive (and entry) being read.
        input: String,
        /// What was being counted.
        what: String,
        /// The limit that was hit.
        limit: u64,
        /// The command-line flag that raises it.
        flag: &'static str,
    },
    /// SQLite failed.
    #[error("vault database: {0}")]
    Db(#[from] rusqlite::Error),
    /// A message asked for by id does not exist.
    #[error("no message with id {0} in this vault")]
    NoSuchMessage(i64),
    /// The search index failed, or a query could not be understood.
    #[error("{0}")]
    Search(#[from] trove_search::Error),
    /// The vault is inconsistent (a row points at a missing blob, …).
    #[error("vault is damaged: {0}")]
    Damaged(String),
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A `BadInput` for `input` with `reason`.
    pub fn bad_input(input: impl std::fmt::Display, reason: impl Into<String>) -> Self {
        Error::BadInput {
            input: input.to_string(),
            reason: reason.into(),
        }
    }
}

/// The vault's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
