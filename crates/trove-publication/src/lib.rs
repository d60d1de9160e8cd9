//! The trove publication format: what a newsroom publishes and what anyone
//! can verify with nothing but the files.
//!
//! A publication is a directory (equally, a base URL) holding a signed
//! [`Descriptor`] with the publisher's Ed25519 key, one signed [`Manifest`]
//! per release chained by the previous manifest's BLAKE3 [`Hash`](struct@Hash), a signed
//! [`FreshnessPointer`] naming the latest release until an expiry, and
//! content-addressed blobs (raw messages, attachments). The exact format, for
//! implementers in any language, is in [`spec`] (`docs/publication-format.md`).
//!
//! This crate knows nothing of SQLite, tantivy, HTTP servers, mail parsing or
//! the vault: it writes and checks files. Time is always a parameter (`now`,
//! Unix seconds); the library never reads the clock.
//!
//! # Example
//!
//! ```
//! use trove_publication::{
//!     verify_dir, MessageDraft, MessageSummary, PublicationWriter, PublisherKey,
//!     ReleaseDraft, VerifyOptions,
//! };
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let tmp = tempfile::tempdir()?;
//! # let dir = tmp.path();
//! let now = 1_475_848_800; // 2016-10-07T14:00:00Z
//! let key = PublisherKey::from_seed([42; 32]); // real publishers: PublisherKey::generate()?
//! let public = key.public_key();
//! let mut w = PublicationWriter::create(dir, key, "Example", "A test publication", now)?;
//!
//! // Put the raw message, then publish a release listing it.
//! let raw = b"From: a@example.org\r\nSubject: hello\r\n\r\nbody\r\n";
//! let blob = w.put_blob(raw)?;
//! let draft = ReleaseDraft {
//!     title: "Part 1".into(),
//!     messages: vec![MessageDraft {
//!         blob,
//!         attachments: vec![],
//!         summary: MessageSummary { subject: Some("hello".into()), ..Default::default() },
//!         dkim: vec![],
//!     }],
//!     files: vec![],
//! };
//! let out = w.publish(&draft, now, now + 7 * 86_400)?;
//! assert_eq!((out.release, out.first_id), (1, 1)); // emailid/1
//! // Publishing the same content again changes nothing.
//! assert_eq!(w.publish(&draft, now + 60, now + 8 * 86_400)?.release, 1);
//!
//! // Anyone can verify it, pinning the key they were given.
//! let mut opts = VerifyOptions::new(now + 3_600);
//! opts.pinned_key = Some(public);
//! let report = verify_dir(dir, &opts);
//! assert!(report.is_ok(), "{:?}", report.problems);
//! assert_eq!((report.release, report.messages), (1, 1));
//!
//! // A week later without a refresh, the pointer has expired: a mirror would
//! // keep its last good state.
//! let late = verify_dir(dir, &VerifyOptions::new(now + 8 * 86_400));
//! assert_eq!(late.problems[0].kind(), "expired");
//! # Ok(())
//! # }
//! ```
//!
//! # Writing
//!
//! [`PublisherKey`] generates, saves (mode 0600) and loads the secret key.
//! [`PublicationWriter`] creates the descriptor, stages blobs
//! ([`PublicationWriter::put_blob`]), publishes a [`ReleaseDraft`]
//! ([`PublicationWriter::publish`]: idempotent, crash-safe, pointer written
//! last) and refreshes the pointer ([`PublicationWriter::refresh`]).
//!
//! # Reading and verifying
//!
//! [`Publication::open`] checks the signed metadata and gives access to
//! manifests, messages by publication id, and blob paths, for serving.
//! [`verify_dir`] checks everything, including every blob's hash, and returns a
//! [`Report`] listing each [`Problem`] with the file it concerns. A mirror that
//! fetches files one by one uses [`verify_descriptor`], [`verify_manifest`],
//! [`verify_freshness`], [`check_pointer_target`], [`verify_blob`] and
//! [`BlobCheck`], and keeps a [`TrustedState`] to refuse rollbacks.
//!
//! # Mirroring
//!
//! [`verify_update`] checks an origin's descriptor, pointer and new manifests
//! against a local [`Replica`]; [`Replica::put`] streams each
//! [`NeededFile`] into staging, checked as it arrives; [`Replica::apply`]
//! makes the new state visible, pointer last. Nothing unverified ever reaches
//! a public path of the replica.
//!
//! # Layout
//!
//! The [`layout`] module names every path (`descriptor.json`,
//! `releases/000001.json`, `freshness.json`, `blobs/ab/cdef…`,
//! `files/000001/NAME`) and its HTTP content type.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod canonical;
mod descriptor;
mod envelope;
mod error;
mod freshness;
mod fsutil;
mod hash;
mod hex;
mod keys;
pub mod layout;
mod manifest;
mod reader;
mod replica;
mod time;
mod verify;
mod writer;

#[doc = include_str!("../../../docs/publication-format.md")]
pub mod spec {}

pub use canonical::MAX_INTEGER;
pub use descriptor::Descriptor;
pub use envelope::{seal, seal_object, ObjectKind, Sealed, FORMAT_VERSION};
pub use error::{Error, Problem, Result};
pub use freshness::FreshnessPointer;
pub use hash::{Hash, Hasher, ParseHashError};
pub use keys::{ParseKeyError, PublicKey, PublisherKey};
pub use manifest::{
    AttachmentEntry, DkimAttestation, FileEntry, Manifest, MessageEntry, MessageSummary,
};
pub use reader::Publication;
pub use replica::{verify_update, NeededFile, Replica, VerifiedUpdate};
pub use time::unix_now;
pub use verify::{
    check_pointer_target, verify_blob, verify_descriptor, verify_dir, verify_freshness,
    verify_manifest, BlobCheck, Report, TrustedState, VerifiedDescriptor, VerifiedFreshness,
    VerifiedManifest, VerifyOptions, SUPPORTED_EXTENSIONS,
};
pub use writer::{
    BlobRef, FileDraft, MessageDraft, PublicationWriter, PublishOutcome, PublishStatus,
    ReleaseDraft,
};
