//! Full-text search for trove: a tantivy index of messages, trove's own query
//! language, snippets and facets, and text extraction from attachments.
//!
//! The index is **derived data**: it is built from [`SearchDoc`]s that the
//! caller (the vault, or the web server reading a publication) fills in, and
//! it can be deleted and rebuilt at any time ([`Index::destroy`]). Updates are
//! incremental: [`Writer::add`] replaces a message with the same id, and one
//! [`Writer::commit`] per batch makes the batch visible.
//!
//! This crate deliberately knows nothing of the vault, SQLite, MIME parsing or
//! HTTP; it never exposes tantivy's own query syntax; and every query does
//! bounded work (length, clause, nesting and wildcard-expansion caps, plus a
//! time budget after which results are returned with `timed_out: true`).
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use trove_search::{Address, Index, SearchDoc, SearchOptions, Sort};
//! let dir = tempfile::tempdir()?;
//! let index = Index::open_or_create(&dir.path().join("search"))?;
//! let mut writer = index.writer_with_heap(50_000_000)?;
//! writer.add(&SearchDoc {
//!     id: 1,
//!     from: vec![Address::new(Some("John Podesta"), "john.podesta@gmail.com")],
//!     subject: "Re: dinner on Friday".into(),
//!     body_text: "See you at the usual place.".into(),
//!     date: Some(1_475_798_400), // 2016-10-07
//!     ..SearchDoc::default()
//! })?;
//! writer.commit()?;
//!
//! let opts = SearchOptions { sort: Sort::Date, facets: true, ..SearchOptions::default() };
//! let res = index.search(r#"from:podesta "usual place" date:2016-10-01..2016-10-31"#, &opts)?;
//! assert_eq!(res.total, 1);
//! assert_eq!(res.hits[0].id, 1);
//! assert_eq!(res.hits[0].snippet, "See you at the <b>usual</b> <b>place</b>");
//! assert_eq!(res.facets.unwrap().months[0].month, "2016-10");
//!
//! // Mistakes are typed errors with a position.
//! let err = index.search("subject:(dinner", &opts).unwrap_err();
//! assert_eq!(err.to_string(), "unbalanced parenthesis: this ( is never closed (at byte 8)");
//! # Ok(()) }
//! ```
//!
//! # Query language
//!
//! | syntax | meaning |
//! |---|---|
//! | `word word` | both words (implicit AND), in any default field |
//! | `"a phrase"` | the words adjacent, in order |
//! | `a OR b`, `a AND b`, `NOT a`, `-a`, `( … )` | boolean logic; AND binds tighter than OR; operators are upper case |
//! | `uring*` | words starting with `uring` (at least 2 characters; at most 1000 expansions) |
//! | `from:` `to:` `cc:` | names and addresses; a value with `@` matches the address exactly (case-insensitive) |
//! | `subject:` `body:` `attachment:` `filename:` `list:` | text in that field; `field:"phrase"`, `field:(a OR b)` |
//! | `date:2016-10-07..2016-10-20` | inclusive days, UTC; `YYYY` and `YYYY-MM` too; open ends `date:..2016-10-20`, `date:2016..` |
//! | `before:D` / `after:D` | strictly before day D / on or after day D (as Gmail) |
//! | `has:attachment` | messages with attachments |
//! | `dkim:pass` `dkim:fail` `dkim:none` | DKIM verdict summary |
//! | `release:N` `id:N` `thread:N` | exact numbers |
//!
//! Default fields (a word without `field:`) are from, to, cc, subject, body,
//! attachment text and file names (not the list id, which on a list archive
//! is on every message: use `list:`). Text is split on anything that is
//! not a letter or digit and lower-cased (no stemming, no accent folding), so
//! `io-uring` is the phrase `"io uring"`. Limits: [`MAX_QUERY_LEN`] bytes,
//! [`MAX_CLAUSES`] terms, [`MAX_DEPTH`] nesting levels.
//!
//! # Attachments
//!
//! [`extract_text`] turns PDF, DOCX, XLSX, PPTX, ODT/ODS/ODP, RTF, HTML and
//! plain text (and, heuristically, legacy Word `.doc`) into text for
//! [`AttachmentDoc::text`]. It fails with an [`ExtractError`] that says why,
//! never panics, and caps input size, decompressed size and output length.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod collect;
mod date;
mod doc;
mod error;
mod extract;
mod html;
mod index;
mod query;
mod schema;
mod search;

pub use doc::{Address, AttachmentDoc, DkimSummary, SearchDoc};
pub use error::{Error, ExtractError, QueryError, QueryErrorKind, Result};
pub use extract::{extract_text, DEFAULT_MAX_CHARS};
pub use html::html_to_text;
pub use index::{Index, Writer, DEFAULT_WRITER_HEAP};
pub use query::compile::MAX_PREFIX_EXPANSIONS;
pub use query::parse::{MAX_CLAUSES, MAX_DEPTH, MAX_QUERY_LEN};
pub use query::QUERY_SYNTAX;
pub use schema::{analyzer, body_text, MAX_TOKEN_BYTES};
pub use search::{
    FacetCount, Facets, Hit, MonthCount, SearchOptions, SearchResults, Sort, FACET_TOP, MAX_LIMIT,
    MAX_WINDOW,
};
