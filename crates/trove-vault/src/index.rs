//! The vault's search index: a `trove-search` (tantivy) index in `<vault>/index`, derived
//! from the stored messages and rebuildable at any time.
//!
//! [`Vault::update_index`] is incremental: every message has a *stamp* (a hash of its raw
//! bytes' address, thread, DKIM verdict summary and release number, plus the document format
//! version), stored with its document; only messages whose stamp changed (new messages, a new
//! DKIM verdict, a published release, a re-threading) are re-read and re-indexed. Attachment
//! text extraction results (text, or the reason it failed) are cached per attachment blob in
//! the `attachment_text` table, so a rebuild does not extract twice.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use mail_parser::{MessageParser, PartType};
use rayon::prelude::*;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use trove_search::{
    extract_text, html_to_text, Address, AttachmentDoc, DkimSummary, Index, SearchDoc,
    SearchOptions, SearchResults, DEFAULT_MAX_CHARS,
};

use crate::error::{Error, Result};
use crate::ingest::Progress;
use crate::parse::{HeaderSet, Mailbox};
use crate::store::blobs::BlobStore;
use crate::Vault;

/// The index directory's name inside the vault.
pub const INDEX_DIR: &str = "index";

/// Version of the way a [`SearchDoc`] is built from the vault; part of every stamp, so
/// changing the mapping re-indexes every message at the next update.
const DOC_VERSION: u64 = 1;
/// Messages read and indexed per batch (the extraction runs in parallel within a batch).
const BATCH: usize = 256;
/// Commit after this many messages, so an interrupted update keeps its progress.
const COMMIT_EVERY: usize = 8192;

const SCHEMA: &str = r#"
-- Attachment text extraction results, by attachment blob (derived data, a cache).
CREATE TABLE IF NOT EXISTS attachment_text (
    hash    TEXT PRIMARY KEY,      -- blob address of the decoded attachment
    text    TEXT,                  -- extracted text, NULL when extraction failed
    error   TEXT,                  -- why extraction failed (unsupported type, damaged file…)
    version INTEGER NOT NULL       -- extractor generation that produced the row
);
"#;

/// What [`Vault::update_index`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexReport {
    /// Messages in the vault.
    pub messages: u64,
    /// Messages (re)indexed this time: new or changed.
    pub indexed: u64,
    /// Messages whose document was already current.
    pub unchanged: u64,
    /// Documents removed because their message is no longer in the vault.
    pub removed: u64,
    /// Attachments whose text was extracted this time (the rest came from the cache).
    pub extracted: u64,
    /// Attachments whose extraction failed this time (reason kept in the vault).
    pub extract_failures: u64,
    /// True when the index was (re)created from nothing.
    pub created: bool,
    /// Index size on disk after the update, in bytes.
    pub index_bytes: u64,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// One attachment's text as the index sees it (`trove show`, tests).
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentText {
    /// Position within the message (as in `attachments`).
    pub position: i64,
    /// File name, if any.
    pub filename: Option<String>,
    /// MIME type, if known.
    pub content_type: Option<String>,
    /// Extracted text, when extraction succeeded.
    pub text: Option<String>,
    /// Why extraction failed, when it did.
    pub error: Option<String>,
}

/// Current stamp and the data that goes into a document, per message.
struct MessageRow {
    id: i64,
    hash: String,
    message_id: Option<String>,
    date: Option<i64>,
    subject: Option<String>,
    list_id: Option<String>,
    header_json: String,
    attachment_count: i64,
    thread: Option<i64>,
}

struct AttRow {
    position: i64,
    hash: String,
    filename: Option<String>,
    content_type: Option<String>,
    cached: Option<(Option<String>, Option<String>)>,
}

/// A document with the attachment extraction results that were not cached (hash, text, error).
type Built = (SearchDoc, Vec<(String, Option<String>, Option<String>)>);

/// A message ready to become a document (filled in parallel).
struct Pending {
    row: MessageRow,
    dkim: DkimSummary,
    release: Option<u32>,
    stamp: u64,
    atts: Vec<AttRow>,
}

fn stamp_of(hash: &str, thread: Option<i64>, dkim: DkimSummary, release: Option<u32>) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(&DOC_VERSION.to_le_bytes());
    h.update(hash.as_bytes());
    h.update(&thread.unwrap_or(-1).to_le_bytes());
    h.update(dkim.as_str().as_bytes());
    h.update(&release.map_or(-1, i64::from).to_le_bytes());
    let b = h.finalize();
    u64::from_le_bytes(b.as_bytes()[..8].try_into().expect("8 bytes"))
}

fn addresses(list: &[Mailbox]) -> Vec<Address> {
    list.iter()
        .filter(|m| m.addr.is_some() || m.name.is_some())
        .map(|m| Address {
            name: m.name.clone(),
            addr: m.addr.clone().unwrap_or_default(),
        })
        .collect()
}

/// Plain-text body of a raw message: every text body part, HTML ones converted to text.
/// Never panics (mail-parser panics on some malformed multiparts are caught).
pub fn body_text(raw: &[u8]) -> String {
    std::panic::catch_unwind(|| {
        let Some(msg) = MessageParser::default().parse(raw) else {
            return String::new();
        };
        let mut out = String::new();
        for part in msg.text_bodies() {
            let text = match &part.body {
                PartType::Text(t) => t.to_string(),
                PartType::Html(h) => html_to_text(h),
                _ => continue,
            };
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&text);
        }
        out
    })
    .unwrap_or_default()
}

/// Opens the search index of the vault in `dir` for searching, without opening the vault
/// itself (its database, migrations, temporary-file cleanup): the fast path of a one-off
/// `trove search`. `Ok(None)` when the vault has no index yet (open the [`Vault`] and
/// [`Vault::update_index`]); [`Error::NotAVault`] when `dir` is not a vault.
pub fn open_search_index(dir: &Path) -> Result<Option<Index>> {
    if !dir.join(crate::vault::DB_FILE).is_file() {
        return Err(Error::NotAVault(dir.to_path_buf()));
    }
    let index_dir = dir.join(INDEX_DIR);
    if !index_dir.join("meta.json").exists() {
        return Ok(None);
    }
    Ok(Some(Index::open(&index_dir)?))
}

impl Vault {
    /// Where the search index lives (`<vault>/index`).
    pub fn index_dir(&self) -> PathBuf {
        self.root().join(INDEX_DIR)
    }

    /// True when a search index has been built.
    pub fn has_index(&self) -> bool {
        self.index_dir().join("meta.json").exists()
    }

    /// Opens the search index (it must exist: see [`Vault::update_index`]).
    pub fn open_index(&self) -> Result<Index> {
        Ok(Index::open(&self.index_dir())?)
    }

    /// Runs a query in the search-index language over the vault (the index must exist).
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<SearchResults> {
        Ok(self.open_index()?.search(query, opts)?)
    }

    /// Deletes the search index and builds it again from the vault.
    pub fn reindex(&self, progress: &dyn Progress) -> Result<IndexReport> {
        Index::destroy(&self.index_dir())?;
        self.update_index(progress)
    }

    /// Brings the search index up to date: indexes new and changed messages, removes
    /// documents of messages that are gone. Creates the index when there is none (or when it
    /// was built by an incompatible trove). `progress` gets message counts.
    pub fn update_index(&self, progress: &dyn Progress) -> Result<IndexReport> {
        let started = Instant::now();
        self.conn.execute_batch(SCHEMA)?;
        crate::dkim::ensure_schema(&self.conn)?;
        let dir = self.index_dir();
        let mut report = IndexReport {
            created: !self.has_index(),
            ..IndexReport::default()
        };
        let index = match Index::open_or_create(&dir) {
            Err(trove_search::Error::IncompatibleIndex { .. }) => {
                tracing::info!("search index built by another trove version: rebuilding");
                report.created = true;
                Index::destroy(&dir)?;
                Index::open_or_create(&dir)?
            }
            other => other?,
        };
        let indexed = index.stamps()?;
        let dkim = self.dkim_summaries()?;
        let releases = self.release_numbers()?;

        // Which messages need a (new) document.
        let mut todo: Vec<(i64, String, Option<i64>)> = Vec::new();
        let mut present = std::collections::HashSet::new();
        {
            let mut st = self
                .conn
                .prepare("SELECT id, hash, thread_id FROM messages ORDER BY id")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                let hash: String = r.get(1)?;
                let thread: Option<i64> = r.get(2)?;
                report.messages += 1;
                present.insert(id as u64);
                let s = stamp_of(
                    &hash,
                    thread,
                    dkim.get(&id).copied().unwrap_or_default(),
                    releases.get(&id).copied(),
                );
                if indexed.get(&(id as u64)) == Some(&s) {
                    report.unchanged += 1;
                } else {
                    todo.push((id, hash, thread));
                }
            }
        }
        let stale: Vec<u64> = indexed
            .keys()
            .filter(|id| !present.contains(id))
            .copied()
            .collect();
        if todo.is_empty() && stale.is_empty() {
            report.index_bytes = index.size_on_disk();
            report.seconds = started.elapsed().as_secs_f64();
            return Ok(report);
        }

        let mut writer = index.writer()?;
        for id in &stale {
            writer.delete(*id);
        }
        report.removed = stale.len() as u64;
        progress.start(todo.len() as u64);
        let mut since_commit = 0usize;
        for chunk in todo.chunks(BATCH) {
            let mut pending = Vec::with_capacity(chunk.len());
            for (id, _, _) in chunk {
                let row = self.message_row(*id)?;
                let d = dkim.get(id).copied().unwrap_or_default();
                let rel = releases.get(id).copied();
                pending.push(Pending {
                    stamp: stamp_of(&row.hash, row.thread, d, rel),
                    atts: self.attachment_rows(*id)?,
                    row,
                    dkim: d,
                    release: rel,
                });
            }
            let built: Vec<Result<Built>> = {
                let blobs = &self.blobs;
                pending
                    .into_par_iter()
                    .map(|p| build_doc(blobs, p))
                    .collect()
            };
            let tx = self.conn.unchecked_transaction()?;
            for b in built {
                let (doc, fresh) = b?;
                for (hash, text, error) in fresh {
                    if text.is_some() {
                        report.extracted += 1;
                    } else {
                        report.extract_failures += 1;
                    }
                    tx.execute(
                        "INSERT OR REPLACE INTO attachment_text(hash, text, error, version) VALUES (?1, ?2, ?3, ?4)",
                        params![hash, text, error, DOC_VERSION as i64],
                    )?;
                }
                writer.add(&doc)?;
                report.indexed += 1;
            }
            tx.commit()?;
            since_commit += chunk.len();
            if since_commit >= COMMIT_EVERY {
                writer.commit()?;
                since_commit = 0;
            }
            progress.update(report.indexed, report.indexed);
        }
        // A full build is merged into one segment (faster queries); incremental updates
        // leave merging to tantivy's policy.
        if report.created {
            writer.finish_compact()?;
        } else {
            writer.finish()?;
        }
        progress.finish();
        report.index_bytes = index.size_on_disk();
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// The document the index holds (or would hold) for message `id`.
    pub fn search_doc(&self, id: i64) -> Result<SearchDoc> {
        self.conn.execute_batch(SCHEMA)?;
        crate::dkim::ensure_schema(&self.conn)?;
        let row = self.message_row(id)?;
        let dkim = self.dkim_summaries()?.get(&id).copied().unwrap_or_default();
        let release = self.release_numbers()?.get(&id).copied();
        let p = Pending {
            stamp: stamp_of(&row.hash, row.thread, dkim, release),
            atts: self.attachment_rows(id)?,
            row,
            dkim,
            release,
        };
        Ok(build_doc(&self.blobs, p)?.0)
    }

    /// Text extracted from each attachment of message `id` (from the cache, or extracted now
    /// without storing it), with the reason when extraction failed.
    pub fn attachment_texts(&self, id: i64) -> Result<Vec<AttachmentText>> {
        self.conn.execute_batch(SCHEMA)?;
        self.message_row(id)?;
        let mut out = Vec::new();
        for a in self.attachment_rows(id)? {
            let (text, error) = match a.cached {
                Some(c) => c,
                None => extract(&self.blobs, &a),
            };
            out.push(AttachmentText {
                position: a.position,
                filename: a.filename,
                content_type: a.content_type,
                text,
                error,
            });
        }
        Ok(out)
    }

    fn message_row(&self, id: i64) -> Result<MessageRow> {
        self.conn
            .prepare_cached(
                "SELECT id, hash, message_id, date, subject, list_id, header_json, attachment_count, thread_id
                 FROM messages WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(MessageRow {
                    id: r.get(0)?,
                    hash: r.get(1)?,
                    message_id: r.get(2)?,
                    date: r.get(3)?,
                    subject: r.get(4)?,
                    list_id: r.get(5)?,
                    header_json: r.get(6)?,
                    attachment_count: r.get(7)?,
                    thread: r.get(8)?,
                })
            })
            .optional()?
            .ok_or(Error::NoSuchMessage(id))
    }

    fn attachment_rows(&self, id: i64) -> Result<Vec<AttRow>> {
        let mut st = self.conn.prepare_cached(
            "SELECT a.position, a.hash, a.filename, a.content_type, t.hash IS NOT NULL, t.text, t.error
             FROM attachments a LEFT JOIN attachment_text t ON t.hash = a.hash AND t.version = ?2
             WHERE a.message = ?1 ORDER BY a.position",
        )?;
        let rows = st.query_map(params![id, DOC_VERSION as i64], |r| {
            let cached: bool = r.get(4)?;
            Ok(AttRow {
                position: r.get(0)?,
                hash: r.get(1)?,
                filename: r.get(2)?,
                content_type: r.get(3)?,
                cached: if cached {
                    Some((r.get(5)?, r.get(6)?))
                } else {
                    None
                },
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// DKIM verdict summary per checked message: pass when a signature verified, fail when
    /// one failed cryptographically and none passed; anything else (no key, unsigned) is none.
    fn dkim_summaries(&self) -> Result<HashMap<i64, DkimSummary>> {
        let mut st = self.conn.prepare(
            "SELECT message, MAX(result = 'pass'), MAX(result = 'fail') FROM dkim_results GROUP BY message",
        )?;
        let rows = st.query_map([], |r| {
            let pass: bool = r.get(1)?;
            let fail: bool = r.get(2)?;
            Ok((
                r.get::<_, i64>(0)?,
                if pass {
                    DkimSummary::Pass
                } else if fail {
                    DkimSummary::Fail
                } else {
                    DkimSummary::None
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Release number of every published message.
    fn release_numbers(&self) -> Result<HashMap<i64, u32>> {
        let mut st = self.conn.prepare(
            "SELECT m.message, p.release FROM release_messages m JOIN release_parts p ON p.part = m.part
             WHERE p.state = 'published' AND p.release IS NOT NULL",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?.clamp(0, u32::MAX as i64) as u32,
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

fn extract(blobs: &BlobStore, a: &AttRow) -> (Option<String>, Option<String>) {
    match blobs.get(&a.hash) {
        Err(e) => (None, Some(format!("attachment blob unreadable: {e}"))),
        Ok(bytes) => match extract_text(
            &bytes,
            a.content_type.as_deref(),
            a.filename.as_deref(),
            DEFAULT_MAX_CHARS,
        ) {
            Ok(t) => (Some(t), None),
            Err(e) => (None, Some(e.to_string())),
        },
    }
}

/// Builds one document; returns it with the extraction results that were not cached.
fn build_doc(blobs: &BlobStore, p: Pending) -> Result<Built> {
    let raw = blobs.get(&p.row.hash)?;
    let headers: HeaderSet = serde_json::from_str(&p.row.header_json).map_err(|e| {
        Error::Damaged(format!("message {}: header_json unreadable: {e}", p.row.id))
    })?;
    let mut fresh = Vec::new();
    let mut attachments = Vec::with_capacity(p.atts.len());
    for a in &p.atts {
        let text = match &a.cached {
            Some((t, _)) => t.clone(),
            None => {
                let (t, e) = extract(blobs, a);
                fresh.push((a.hash.clone(), t.clone(), e));
                t
            }
        };
        attachments.push(AttachmentDoc {
            filename: a.filename.clone().unwrap_or_default(),
            content_type: a.content_type.clone().unwrap_or_default(),
            text,
        });
    }
    let doc = SearchDoc {
        id: p.row.id as u64,
        message_id: p.row.message_id.unwrap_or_default(),
        from: addresses(&headers.from),
        to: addresses(&headers.to),
        cc: addresses(&headers.cc),
        subject: p.row.subject.unwrap_or_default(),
        body_text: body_text(&raw),
        body_html: None,
        has_attachment: p.row.attachment_count > 0 || !attachments.is_empty(),
        attachments,
        date: p.row.date,
        thread: p.row.thread.unwrap_or(p.row.id) as u64,
        list: p.row.list_id,
        dkim: p.dkim,
        release: p.release,
        stamp: p.stamp,
    };
    Ok((doc, fresh))
}
