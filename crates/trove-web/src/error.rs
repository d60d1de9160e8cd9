//! Errors of the server: opening the publication, binding the socket.

use std::path::PathBuf;

/// What can stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The publication directory did not open or verify.
    #[error("cannot open publication {path}: {source}")]
    Publication {
        /// The publication directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<trove_publication::Error>,
    },
    /// Binding or serving on the socket failed.
    #[error("cannot serve on {addr}: {source}")]
    Io {
        /// The listen address.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
