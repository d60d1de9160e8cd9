//! The private vault: where a dump goes in whole and nothing is ever lost.
//!
//! `trove-vault` ingests mail dumps (mbox in its variants, maildir, `.eml` files, directories,
//! zip/tar/gzip/zstd archives of any of these) into a vault directory: every message's exact
//! raw bytes in a content-addressed blob store (BLAKE3), its parsed headers, attachments,
//! threads and provenance in SQLite, and the publisher's ed25519 key pair. It never serves
//! anything: publication (`trove-publication`) is the only way material leaves the vault.
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let tmp = tempfile::tempdir()?;
//! # let dump = tmp.path().join("dump.mbox");
//! # std::fs::write(&dump, "From a@example.org Fri Oct  7 16:30:00 2016\nFrom: a@example.org\nSubject: hi\nMessage-ID: <1@example.org>\n\nhello\n")?;
//! use trove_vault::{IngestOptions, NoProgress, Vault};
//! let mut vault = Vault::init(tmp.path().join("vault"))?;
//! let report = vault.ingest(&IngestOptions { paths: vec![dump.clone()], ..Default::default() }, &NoProgress)?;
//! assert_eq!(report.stored, 1);
//! // Ingest is idempotent: the same source adds nothing.
//! let again = vault.ingest(&IngestOptions { paths: vec![dump], ..Default::default() }, &NoProgress)?;
//! assert_eq!(again.stored, 0);
//! assert!(vault.raw(1)?.starts_with(b"From: a@example.org\n"));
//! # Ok(()) }
//! ```
//!
//! # Guarantees
//! - Raw bytes are stored exactly (after removing only the mbox envelope line and `>From `
//!   quoting, which belong to the mbox, not the message) and never change.
//! - Ingest loses nothing: every message is stored (unparseable ones raw and flagged), every
//!   non-mail file is listed as skipped, or the command fails with an error naming the input.
//! - Ingest is idempotent and resumable: each input unit commits atomically, ids are assigned
//!   in input order, so a killed run followed by a re-run equals an uninterrupted run.
//!
//! # Standards
//! RFC 5322 (message format), RFC 2045–2049 (MIME), RFC 2231 (parameter encoding),
//! RFC 4155 (mbox), the maildir and Maildir++ conventions, [MS-OXTNEF] (winmail.dat),
//! and JWZ's threading algorithm.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dkim;
mod error;
pub mod index;
pub mod ingest;
pub mod parse;
pub mod release;
pub mod store;
pub mod thread;
pub mod tnef;
mod vault;

pub use dkim::{DkimTotals, SignatureRow, StoredKey, VerifyReport, VerifyRun};
pub use error::{Error, Result};
pub use index::{open_search_index, AttachmentText, IndexReport, INDEX_DIR};
pub use ingest::{IngestOptions, IngestReport, Limits, NoProgress, Progress};
/// The DKIM verifier, re-exported so callers need not depend on it separately.
pub use trove_dkim;
/// The search crate, re-exported (query options, results, documents).
pub use trove_search;
pub use vault::{
    parse_date, rfc3339, AttachmentInfo, ListFilter, MessageDetail, MessageSummary, Occurrence,
    Stats, Vault,
};
