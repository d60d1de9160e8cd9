//! trove-web: a publication served as a fast, safe website and JSON API.
//!
//! [`Site::open`] opens a publication directory (never a vault: this crate
//! does not depend on trove-vault, so unreleased mail cannot reach it),
//! builds an in-memory [`ReadModel`] (threads, correspondents, months), and
//! [`router`] / [`serve`] answer HTTP: the home page, releases,
//! `/emailid/N` with headers, bodies (HTML sanitised by ammonia, shown in a
//! sandboxed frame), DKIM attestations and attachments, raw sources,
//! threads, correspondents, search, the Atom feed, a JSON API under `/api/`
//! with `/api/openapi.json`, and the publication's own files under `/pub/`
//! for mirrors. Every response carries a strict Content-Security-Policy,
//! `nosniff` and `no-referrer`. A new release landing in the folder is picked
//! up by [`Site::reload`] (polled by [`serve`]) with one atomic swap.
//!
//! Search is full text with trove-search (tantivy): [`SearchIndex`] is built
//! from the publication's raw blobs in the background at start and extended
//! on each reload, in RAM for small publications or in a cache directory
//! (never inside the publication unless asked); [`SubstringSearch`] answers
//! until the first build is done.
//!
//! # Example
//!
//! ```
//! use trove_publication::{MessageDraft, MessageSummary, PublicationWriter, PublisherKey, ReleaseDraft};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let tmp = tempfile::tempdir()?;
//! # let dir = tmp.path();
//! let mut w = PublicationWriter::create(dir, PublisherKey::from_seed([1; 32]), "Demo", "A demo", 1_000)?;
//! let blob = w.put_blob(b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n")?;
//! let summary = MessageSummary { subject: Some("hi".into()), ..Default::default() };
//! let msg = MessageDraft { blob, attachments: vec![], summary, dkim: vec![] };
//! w.publish(&ReleaseDraft { title: "Part 1".into(), messages: vec![msg], files: vec![] }, 1_000, 9_000)?;
//!
//! let site = trove_web::Site::open(dir)?;
//! assert_eq!(site.model().items[0].subject, "hi");
//! let _app = trove_web::router(site, &trove_web::Config::default()); // hand to axum::serve
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api;
mod cache;
mod error;
pub mod export;
mod html;
mod mail;
mod model;
mod search;
mod server;

pub use api::openapi;
pub use error::{Error, Result};
pub use html::Links;
pub use mail::{render, sanitize, Rendered};
pub use model::{Item, ReadModel};
pub use search::{
    default_cache_dir, safe_snippet, to_doc, Engine, IndexLocation, Search, SearchError,
    SearchIndex, SubstringSearch, RAM_INDEX_LIMIT,
};
pub use server::{
    parse_id, pub_path_ok, router, run, safe_name, serve, Config, Site, CSP, CSP_FILE, CSP_MAIL,
};
