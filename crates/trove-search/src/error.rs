//! Errors of the search crate: index errors, query errors (with the byte
//! position in the query where the problem is) and attachment extraction errors.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop an index or search operation.
///
/// A query the user typed wrong is [`Error::Query`]; everything else means the
/// index itself could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The query string could not be understood (see [`QueryError`]).
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The search options were out of range (limit, offset).
    #[error("invalid search options: {0}")]
    Options(String),
    /// A file-system operation on the index directory failed.
    #[error("index directory {path}: {source}")]
    Io {
        /// Directory or file concerned.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The directory holds an index built with another schema (an older or
    /// newer trove). The index is derived data: delete the directory and rebuild.
    #[error("index at {path} was built with a different schema; delete the directory and rebuild the index")]
    IncompatibleIndex {
        /// Index directory.
        path: PathBuf,
    },
    /// No index exists at this directory.
    #[error("no search index at {path}")]
    NotFound {
        /// Index directory.
        path: PathBuf,
    },
    /// Another process (or writer) holds the index write lock.
    #[error("search index at {path} is locked by another writer")]
    Locked {
        /// Index directory.
        path: PathBuf,
    },
    /// An error reported by tantivy (corrupt segment files, I/O inside the index).
    #[error("search engine: {0}")]
    Engine(#[from] tantivy::TantivyError),
}

/// A query that could not be parsed or would do unbounded work.
///
/// `position` is the byte offset in the query string where the problem starts,
/// so a caller can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (at byte {position})")]
pub struct QueryError {
    /// Byte offset in the query string.
    pub position: usize,
    /// What is wrong.
    pub kind: QueryErrorKind,
}

/// The kinds of query mistakes, each with what the user needs to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryErrorKind {
    /// The query has nothing to search for (empty, only spaces or punctuation).
    #[error("empty query")]
    Empty,
    /// A `"` has no closing `"`.
    #[error("unbalanced quote: this \" is never closed")]
    UnbalancedQuote,
    /// A `(` has no closing `)`.
    #[error("unbalanced parenthesis: this ( is never closed")]
    UnclosedParen,
    /// A `)` has no opening `(`.
    #[error("unbalanced parenthesis: this ) has no matching (")]
    UnexpectedCloseParen,
    /// `name:` where `name` is not a known field.
    #[error("unknown field {field:?} (known: from to cc subject body attachment filename list date before after has dkim release id thread)")]
    UnknownField {
        /// The field name as typed.
        field: String,
    },
    /// A date that is not `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, or a range that is not `A..B`.
    #[error("invalid date {value:?}: use YYYY-MM-DD, YYYY-MM or YYYY, and A..B for ranges")]
    InvalidDate {
        /// The date as typed.
        value: String,
    },
    /// A value that is not allowed for this field (`has:foo`, `dkim:maybe`, `release:x`).
    #[error("invalid value {value:?} for {field}: expected {expected}")]
    InvalidValue {
        /// Field name.
        field: String,
        /// The value as typed.
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// An operator (`AND`, `OR`, `NOT`, `-`) or field with nothing after it.
    #[error("{operator} is missing a term to apply to")]
    MissingOperand {
        /// The operator or field.
        operator: String,
    },
    /// A wildcard at the start of a word (`*foo`) or in its middle.
    #[error("wildcards are only allowed at the end of a word of at least {min} characters (foo*)")]
    BadWildcard {
        /// Minimum prefix length.
        min: usize,
    },
    /// A prefix (`ab*`) that matches too many distinct words.
    #[error("{prefix}* matches more than {limit} words; make it longer")]
    TooManyExpansions {
        /// The prefix.
        prefix: String,
        /// The limit.
        limit: usize,
    },
    /// The query is longer than the allowed number of bytes.
    #[error("query is {len} bytes long; the limit is {max}")]
    TooLong {
        /// Length of the query.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// The query has too many terms and operators, or nests too deeply.
    #[error("query is too complex: more than {max} terms or nesting levels")]
    TooComplex {
        /// Limit.
        max: usize,
    },
}

/// Why text could not be extracted from an attachment. Not fatal for indexing:
/// the caller records the reason and indexes the message without that text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// No extractor for this kind of file (images, archives, unknown binary).
    #[error("no text extractor for {kind}")]
    Unsupported {
        /// Content type or detected kind.
        kind: String,
    },
    /// The input is larger than the extractor accepts.
    #[error("attachment is {size} bytes; the extractor limit is {max}")]
    TooLarge {
        /// Input size in bytes.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// The file is damaged or not what its type says.
    #[error("malformed {format}: {reason}")]
    Malformed {
        /// Format name (pdf, docx, rtf…).
        format: &'static str,
        /// What the parser reported.
        reason: String,
    },
    /// A third-party parser panicked on this input (caught; the input is hostile or broken).
    #[error("the {format} parser crashed on this file: {reason}")]
    Panicked {
        /// Format name.
        format: &'static str,
        /// Panic message, if any.
        reason: String,
    },
    /// Extraction took longer than its time budget and was abandoned.
    #[error("{format} extraction took longer than {seconds} s and was abandoned")]
    Timeout {
        /// Format name.
        format: &'static str,
        /// Budget in seconds.
        seconds: u64,
    },
}
