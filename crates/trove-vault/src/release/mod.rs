//! Releases: the plan of parts in the vault, and publishing a part into a publication.
//!
//! A **part** is a set of vault messages with a title, numbered in the order parts are added
//! (`plan`, `add`). Each vault message belongs to at most one part (`release_messages.message`
//! is UNIQUE), so a message never goes out twice. **Publishing** a part copies its messages'
//! raw bytes (see [`rendition`]), attachments, a metadata summary and bulk downloads (mboxrd
//! and a zip of `.eml`) into a `trove_publication` release, then records in the vault which
//! release it became and which publication id (`emailid/N`) each message got.
//!
//! # Crash safety
//! The publication is written first (the writer is idempotent and crash-safe: pointer last);
//! the vault records the part as published only after the release exists. A re-run after a
//! crash either completes the pending release (the draft is rebuilt byte for byte: bulk files
//! are deterministic) or finds the release already there (its messages' blobs match the
//! part's) and only records it. `release.lock` in the vault serialises release commands.
//!
//! # Seams left for later issues
//! - Queries: [`Selector`] (the full language comes from `trove-search`).
//! - DKIM: [`dkim_attestations`] reads a `dkim_results` table when one exists.
//! - Redaction: [`rendition`] returns the bytes to publish for a message (today: raw).

mod bundle;
mod error;
mod feed;
mod select;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use trove_publication::{
    AttachmentEntry, DkimAttestation, FileDraft, MessageDraft, MessageSummary, PublicationWriter,
    PublishStatus, ReleaseDraft,
};

pub use error::{ReleaseError, Result};
pub use feed::atom;
pub use select::{IdList, Query, Selector};
pub use trove_publication::{unix_now, verify_dir, PublicKey, Report, VerifyOptions};

use crate::{rfc3339, Vault};

/// How `plan` splits the unplanned messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanBy {
    /// N equal spans of time between the first and last date (empty spans are dropped).
    Date,
    /// N parts of (nearly) equal message counts, in date order.
    Count,
}

/// One part of the plan (`trove release list`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Part {
    /// Part number (order of adding).
    pub part: i64,
    /// Title, e.g. "Part 3".
    pub title: String,
    /// How it was defined.
    pub selection: String,
    /// `planned` or `published`.
    pub state: String,
    /// Messages in it.
    pub messages: i64,
    /// Earliest and latest message date (RFC 3339).
    pub first_date: Option<String>,
    /// Latest message date.
    pub last_date: Option<String>,
    /// The publication's release number, once published.
    pub release: Option<i64>,
    /// First and last publication id (`emailid/N`), once published.
    pub first_id: Option<i64>,
    /// Last publication id.
    pub last_id: Option<i64>,
    /// When it was published (RFC 3339).
    pub published_at: Option<String>,
}

/// Settings of a publish.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// The time of publishing (Unix seconds); tests pass a fixed one.
    pub now: u64,
    /// How long the freshness pointer stays valid (seconds).
    pub expires_in: u64,
    /// Publication name (used when the publication is created).
    pub name: String,
    /// Publication description (used when the publication is created).
    pub description: String,
    /// fsync writes (default true; off only for throwaway data).
    pub fsync: bool,
}

impl PublishOptions {
    /// Defaults at time `now`: a 7-day pointer, fsync on.
    pub fn new(now: u64) -> PublishOptions {
        PublishOptions {
            now,
            expires_in: 7 * 86_400,
            name: "trove publication".into(),
            description: "Released in parts with trove".into(),
            fsync: true,
        }
    }
}

/// What a publish did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PublishReport {
    /// The part.
    pub part: i64,
    /// The publication's release number.
    pub release: u64,
    /// `new`, `resumed` (an interrupted publish completed) or `already` (nothing to do).
    pub status: String,
    /// Messages in the release.
    pub messages: u64,
    /// First publication id.
    pub first_id: u64,
    /// The publication directory.
    pub publication: PathBuf,
}

/// The bytes published for vault message `id` whose stored bytes are `raw`.
///
/// Redaction (a later issue) plugs in here: it will return a redacted rendition and the
/// manifest will carry the publisher's attestation of the original. Today: the raw bytes,
/// unchanged, so anyone can re-verify DKIM.
pub fn rendition(_vault: &Vault, _id: i64, raw: Vec<u8>) -> Result<Vec<u8>> {
    Ok(raw)
}

/// The publisher's DKIM attestations for vault message `id`.
///
/// The DKIM verifier (another crate, in progress) stores its verdicts in a `dkim_results`
/// table with columns `message, sig_index, domain, selector, algorithm, result, reason`.
/// When that table is absent (or shaped differently) this returns no attestations.
pub fn dkim_attestations(vault: &Vault, id: i64) -> Result<Vec<DkimAttestation>> {
    let exists: bool = vault.conn.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'dkim_results'",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(Vec::new());
    }
    let Ok(mut st) = vault.conn.prepare(
        "SELECT domain, selector, algorithm, result, reason FROM dkim_results
         WHERE message = ?1 ORDER BY sig_index",
    ) else {
        return Ok(Vec::new());
    };
    let rows = st.query_map([id], |r| {
        Ok(DkimAttestation {
            domain: r.get(0)?,
            selector: r.get(1)?,
            algorithm: r.get(2)?,
            result: r.get(3)?,
            reason: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Holds `release.lock` in the vault for the life of the value: an exclusive transaction on
/// a tiny SQLite file, so the operating system releases it if the process dies.
struct Lock(#[allow(dead_code)] rusqlite::Connection);

impl Lock {
    fn take(vault: &Vault) -> Result<Lock> {
        let path = vault.root().join("release.lock");
        let conn = rusqlite::Connection::open(&path)?;
        conn.busy_timeout(std::time::Duration::from_millis(0))?;
        match conn.execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;") {
            Ok(()) => Ok(Lock(conn)),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    || e.code == rusqlite::ErrorCode::DatabaseLocked =>
            {
                Err(ReleaseError::Locked(path))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Date as RFC 3339 with the sender's offset.
fn local_date(date: i64, offset_min: Option<i64>) -> String {
    let off = offset_min.unwrap_or(0);
    let s = rfc3339(date + off * 60);
    if off == 0 {
        return s;
    }
    let sign = if off < 0 { '-' } else { '+' };
    let a = off.abs();
    format!(
        "{}{sign}{:02}:{:02}",
        s.trim_end_matches('Z'),
        a / 60,
        a % 60
    )
}

struct Row {
    id: i64,
    hash: String,
    from_addr: Option<String>,
    date: Option<i64>,
    summary: MessageSummary,
}

impl Vault {
    /// Messages not yet in any part, in date order (undated last), then id.
    fn unplanned(&self) -> Result<Vec<(i64, Option<i64>)>> {
        let mut st = self.conn.prepare(
            "SELECT id, date FROM messages
             WHERE id NOT IN (SELECT message FROM release_messages)
             ORDER BY date IS NULL, date, id",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn insert_part(
        tx: &rusqlite::Transaction,
        title: Option<&str>,
        selection: &str,
        ids: &[i64],
    ) -> Result<i64> {
        let next: i64 = tx.query_row(
            "SELECT COALESCE(MAX(part), 0) + 1 FROM release_parts",
            [],
            |r| r.get(0),
        )?;
        let title = title
            .map(str::to_string)
            .unwrap_or_else(|| format!("Part {next}"));
        tx.execute(
            "INSERT INTO release_parts(part, title, selection) VALUES (?1, ?2, ?3)",
            params![next, title, selection],
        )?;
        let mut st = tx
            .prepare("INSERT INTO release_messages(part, position, message) VALUES (?1, ?2, ?3)")?;
        for (i, id) in ids.iter().enumerate() {
            st.execute(params![next, i as i64, id])?;
        }
        Ok(next)
    }

    /// Splits every message not yet in a part into `n` new parts ("Part K"). Returns the new
    /// part numbers (fewer than `n` when there are fewer messages or, by date, empty spans).
    pub fn plan_parts(&mut self, n: usize, by: PlanBy) -> Result<Vec<i64>> {
        let msgs = self.unplanned()?;
        if n == 0 || msgs.is_empty() {
            return Err(ReleaseError::EmptySelection(format!("plan --parts {n}")));
        }
        let mut groups: Vec<Vec<i64>> = vec![Vec::new(); n];
        match by {
            PlanBy::Count => {
                let len = msgs.len();
                for (i, (id, _)) in msgs.iter().enumerate() {
                    groups[i * n / len].push(*id);
                }
            }
            PlanBy::Date => {
                let dated: Vec<i64> = msgs.iter().filter_map(|m| m.1).collect();
                let (lo, hi) = (
                    dated.first().copied().unwrap_or(0),
                    dated.last().copied().unwrap_or(0),
                );
                let span = (hi - lo).max(1) as i128;
                for (id, d) in &msgs {
                    let g = match d {
                        Some(d) => {
                            (((*d - lo) as i128 * n as i128 / (span + 1)) as usize).min(n - 1)
                        }
                        None => n - 1,
                    };
                    groups[g].push(*id);
                }
            }
        }
        let how = match by {
            PlanBy::Date => "date",
            PlanBy::Count => "count",
        };
        let tx = self.conn.transaction()?;
        let mut parts = Vec::new();
        for (i, g) in groups.iter().filter(|g| !g.is_empty()).enumerate() {
            parts.push(Self::insert_part(
                &tx,
                None,
                &format!("plan --by {how}, {} of {n}", i + 1),
                g,
            )?);
        }
        tx.commit()?;
        Ok(parts)
    }

    /// Adds a part holding the messages `selector` picks that are not already in a part.
    /// Returns the part number and how many selected messages were left out because another
    /// part already holds them.
    pub fn add_part(&mut self, title: &str, selector: &dyn Selector) -> Result<(i64, usize)> {
        let picked: HashSet<i64> = selector.select(self)?.into_iter().collect();
        let ids: Vec<i64> = self
            .unplanned()?
            .into_iter()
            .map(|m| m.0)
            .filter(|id| picked.contains(id))
            .collect();
        if ids.is_empty() {
            return Err(ReleaseError::EmptySelection(selector.describe()));
        }
        let tx = self.conn.transaction()?;
        let part = Self::insert_part(&tx, Some(title), &selector.describe(), &ids)?;
        tx.commit()?;
        Ok((part, picked.len() - ids.len()))
    }

    /// Every part, in order.
    pub fn parts(&self) -> Result<Vec<Part>> {
        let mut st = self.conn.prepare(
            "SELECT p.part, p.title, p.selection, p.state, p.release, p.published_at,
                    COUNT(rm.message), MIN(m.date), MAX(m.date),
                    MIN(rm.publication_id), MAX(rm.publication_id)
             FROM release_parts p
             LEFT JOIN release_messages rm ON rm.part = p.part
             LEFT JOIN messages m ON m.id = rm.message
             GROUP BY p.part ORDER BY p.part",
        )?;
        let rows = st.query_map([], |r| {
            Ok(Part {
                part: r.get(0)?,
                title: r.get(1)?,
                selection: r.get(2)?,
                state: r.get(3)?,
                release: r.get(4)?,
                published_at: r.get::<_, Option<i64>>(5)?.map(rfc3339),
                messages: r.get(6)?,
                first_date: r.get::<_, Option<i64>>(7)?.map(rfc3339),
                last_date: r.get::<_, Option<i64>>(8)?.map(rfc3339),
                first_id: r.get(9)?,
                last_id: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Vault ids of a part's messages, in publication order.
    pub fn part_messages(&self, part: i64) -> Result<Vec<i64>> {
        let mut st = self
            .conn
            .prepare("SELECT message FROM release_messages WHERE part = ?1 ORDER BY position")?;
        let rows = st.query_map([part], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The publication id (`emailid/N`) vault message `id` got, if it is published.
    pub fn publication_id(&self, id: i64) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT publication_id FROM release_messages WHERE message = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// Publishes `part` (or the lowest-numbered planned part) into the publication at `to`
    /// (created when missing). Idempotent and crash-safe (see the module docs).
    pub fn publish_part(
        &mut self,
        part: Option<i64>,
        to: &Path,
        opts: &PublishOptions,
    ) -> Result<PublishReport> {
        let _lock = Lock::take(self)?;
        self.publish_locked(part, to, opts)
    }

    fn publish_locked(
        &mut self,
        part: Option<i64>,
        to: &Path,
        opts: &PublishOptions,
    ) -> Result<PublishReport> {
        let part = match part {
            Some(p) => p,
            None => self
                .conn
                .query_row(
                    "SELECT MIN(part) FROM release_parts WHERE state = 'planned'",
                    [],
                    |r| r.get::<_, Option<i64>>(0),
                )?
                .ok_or(ReleaseError::NothingPlanned)?,
        };
        let (title, state, release): (String, String, Option<i64>) = self
            .conn
            .query_row(
                "SELECT title, state, release FROM release_parts WHERE part = ?1",
                [part],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or(ReleaseError::NoSuchPart(part))?;
        let key = self.publisher_key()?;
        let mut w = if to.join(trove_publication::layout::DESCRIPTOR_PATH).exists() {
            PublicationWriter::open(to, key)?
        } else {
            PublicationWriter::create(to, key, &opts.name, &opts.description, opts.now)?
        };
        w.set_fsync(opts.fsync);
        if state == "published" {
            let release = release.unwrap_or(0) as u64;
            let m = w.publication().manifest(release).ok_or_else(|| ReleaseError::Mismatch {
                publication: to.into(),
                reason: format!("part {part} is recorded as release {release}, which this publication does not have"),
            })?;
            let report = PublishReport {
                part,
                release,
                status: "already".into(),
                messages: m.messages.len() as u64,
                first_id: m.first_id,
                publication: to.into(),
            };
            w.write_feed(&atom(w.publication()))?;
            return Ok(report);
        }
        let rows = self.part_rows(part, w.publication().id())?;
        let mut raws = Vec::with_capacity(rows.len());
        for r in &rows {
            let raw = self.blobs.get(&r.hash)?;
            raws.push(rendition(self, r.id, raw)?);
        }
        // Already in the publication (crash after the release, before the vault recorded it)?
        let first_hash = raws.first().map(|b| trove_publication::Hash::of(b));
        let existing = first_hash.and_then(|h| {
            w.publication()
                .messages()
                .find(|(_, e)| e.blob == h)
                .map(|(m, _)| m.clone())
        });
        if let Some(m) = existing {
            let same = m.messages.len() == raws.len()
                && m.messages
                    .iter()
                    .zip(&raws)
                    .all(|(e, b)| e.blob == trove_publication::Hash::of(b));
            if !same {
                return Err(ReleaseError::Mismatch {
                    publication: to.into(),
                    reason: format!(
                        "release {} holds some of part {part}'s messages but not exactly them",
                        m.release
                    ),
                });
            }
            self.record(part, to, m.release, m.first_id, m.published_at, rows.len())?;
            w.write_feed(&atom(w.publication()))?;
            return Ok(PublishReport {
                part,
                release: m.release,
                status: "already".into(),
                messages: m.messages.len() as u64,
                first_id: m.first_id,
                publication: to.into(),
            });
        }
        let first_id = w.publication().message_count() + 1;
        let mut draft = ReleaseDraft {
            title,
            messages: Vec::with_capacity(rows.len()),
            files: Vec::new(),
        };
        for (r, raw) in rows.iter().zip(&raws) {
            let blob = w.put_blob(raw)?;
            let mut attachments = Vec::new();
            let mut st = self.conn.prepare_cached(
                "SELECT hash, filename, content_type FROM attachments WHERE message = ?1 ORDER BY position",
            )?;
            let atts = st
                .query_map([r.id], |x| {
                    Ok((
                        x.get::<_, String>(0)?,
                        x.get::<_, Option<String>>(1)?,
                        x.get::<_, Option<String>>(2)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for (hash, name, ct) in atts {
                let bytes = self.blobs.get(&hash)?;
                let b = w.put_blob(&bytes)?;
                attachments.push(AttachmentEntry::new(
                    b,
                    name,
                    ct.unwrap_or_else(|| "application/octet-stream".into()),
                ));
            }
            draft.messages.push(MessageDraft {
                blob,
                attachments,
                summary: r.summary.clone(),
                dkim: dkim_attestations(self, r.id)?,
            });
        }
        let items: Vec<bundle::BundleItem> = rows
            .iter()
            .zip(&raws)
            .enumerate()
            .map(|(i, (r, raw))| bundle::BundleItem {
                publication_id: first_id + i as u64,
                from_addr: r.from_addr.as_deref(),
                date: r.date,
                raw,
            })
            .collect();
        let mbox = bundle::mbox(&items);
        let zip = bundle::eml_zip(&items)?;
        for (name, ct, bytes) in [
            (
                format!("part-{part:04}.mbox"),
                trove_publication::layout::content_type::MBOX,
                &mbox,
            ),
            (
                format!("part-{part:04}-eml.zip"),
                trove_publication::layout::content_type::ZIP,
                &zip,
            ),
        ] {
            let blob = w.put_blob(bytes)?;
            draft.files.push(FileDraft {
                name,
                content_type: ct.into(),
                blob,
            });
        }
        drop((mbox, zip, items));
        let out = w.publish(&draft, opts.now, opts.now + opts.expires_in)?;
        let published_at = w
            .publication()
            .manifest(out.release)
            .map(|m| m.published_at)
            .unwrap_or(opts.now);
        self.record(
            part,
            to,
            out.release,
            out.first_id,
            published_at,
            rows.len(),
        )?;
        w.write_feed(&atom(w.publication()))?;
        Ok(PublishReport {
            part,
            release: out.release,
            status: match out.status {
                PublishStatus::New => "new",
                PublishStatus::Resumed => "resumed",
                PublishStatus::AlreadyPublished => "already",
            }
            .into(),
            messages: out.messages,
            first_id: out.first_id,
            publication: to.into(),
        })
    }

    fn record(
        &mut self,
        part: i64,
        to: &Path,
        release: u64,
        first_id: u64,
        published_at: u64,
        count: usize,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE release_parts SET state = 'published', release = ?2, published_at = ?3,
                    publication = ?4 WHERE part = ?1",
            params![
                part,
                release as i64,
                published_at as i64,
                to.to_string_lossy()
            ],
        )?;
        tx.execute(
            "UPDATE release_messages SET publication_id = ?2 + position WHERE part = ?1",
            params![part, first_id as i64],
        )?;
        let n: i64 = tx.query_row(
            "SELECT COUNT(*) FROM release_messages WHERE part = ?1",
            [part],
            |r| r.get(0),
        )?;
        if n as usize != count {
            return Err(ReleaseError::Mismatch {
                publication: to.into(),
                reason: format!("part {part} changed while publishing"),
            });
        }
        tx.commit()?;
        Ok(())
    }

    fn part_rows(&self, part: i64, publication: trove_publication::Hash) -> Result<Vec<Row>> {
        let mut st = self.conn.prepare(
            "SELECT m.id, m.hash, m.from_addr, m.from_name, m.date, m.date_offset, m.message_id,
                    m.subject, m.in_reply_to, m.thread_id
             FROM release_messages rm JOIN messages m ON m.id = rm.message
             WHERE rm.part = ?1 ORDER BY rm.position",
        )?;
        let mut addrs = self.conn.prepare(
            "SELECT role, name, addr FROM addresses WHERE message = ?1 AND role IN ('to', 'cc')
             ORDER BY role, position",
        )?;
        let mut out = Vec::new();
        let mut q = st.query([part])?;
        while let Some(r) = q.next()? {
            let id: i64 = r.get(0)?;
            let from_addr: Option<String> = r.get(2)?;
            let from_name: Option<String> = r.get(3)?;
            let date: Option<i64> = r.get(4)?;
            let offset: Option<i64> = r.get(5)?;
            let thread: Option<i64> = r.get(9)?;
            let fmt = |name: Option<String>, addr: Option<String>| match (name, addr) {
                (Some(n), Some(a)) if !n.is_empty() => Some(format!("{n} <{a}>")),
                (_, Some(a)) => Some(a),
                (Some(n), None) => Some(n),
                (None, None) => None,
            };
            let mut summary = MessageSummary {
                message_id: r.get(6)?,
                date: date.map(|d| local_date(d, offset)),
                from: fmt(from_name, from_addr.clone()).into_iter().collect(),
                subject: r.get(7)?,
                in_reply_to: r.get(8)?,
                // An opaque key: a vault id or a root's Message-ID could reveal unreleased mail.
                thread: thread.map(|t| {
                    let mut h = blake3::Hasher::new();
                    h.update(publication.to_hex().as_bytes());
                    h.update(format!(":thread:{t}").as_bytes());
                    h.finalize().to_hex()[..16].to_string()
                }),
                ..Default::default()
            };
            let list = addrs.query_map([id], |a| {
                Ok((
                    a.get::<_, String>(0)?,
                    a.get::<_, Option<String>>(1)?,
                    a.get::<_, Option<String>>(2)?,
                ))
            })?;
            for a in list {
                let (role, name, addr) = a?;
                if let Some(s) = fmt(name, addr) {
                    if role == "to" {
                        summary.to.push(s);
                    } else {
                        summary.cc.push(s);
                    }
                }
            }
            out.push(Row {
                id,
                hash: r.get(1)?,
                from_addr,
                date,
                summary,
            });
        }
        Ok(out)
    }

    /// Sets the daily schedule of [`Vault::run_due`]: one part a day at `hh:mm` UTC into `to`.
    /// The first publish happens at the next such time after `now`.
    pub fn set_schedule(&mut self, hhmm: &str, to: &Path, now: u64) -> Result<()> {
        let minute = parse_hhmm(hhmm).ok_or_else(|| ReleaseError::BadTime(hhmm.into()))?;
        self.conn.execute(
            "INSERT INTO release_schedule(id, minute, publication, last_slot) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT(id) DO UPDATE SET minute = ?1, publication = ?2, last_slot = ?3",
            params![
                minute,
                to.to_string_lossy(),
                latest_slot(now as i64, minute)
            ],
        )?;
        Ok(())
    }

    /// The schedule: (`HH:MM`, publication directory), if set.
    pub fn schedule(&self) -> Result<Option<(String, PathBuf)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT minute, publication FROM release_schedule WHERE id = 1",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?
            .map(|(m, p)| (format!("{:02}:{:02}", m / 60, m % 60), PathBuf::from(p))))
    }

    /// Publishes the next planned part if a scheduled time has passed since the last run
    /// (given `opts.now`); at most one part per call. Safe from cron: a lock keeps two runs
    /// from publishing at once (the second fails with [`ReleaseError::Locked`]), and a missed
    /// day publishes one part, not a backlog. `None` when nothing is due.
    pub fn run_due(&mut self, opts: &PublishOptions) -> Result<Option<PublishReport>> {
        let _lock = Lock::take(self)?;
        let (minute, to, last): (i64, String, Option<i64>) = self
            .conn
            .query_row(
                "SELECT minute, publication, last_slot FROM release_schedule WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or(ReleaseError::NoSchedule)?;
        let slot = latest_slot(opts.now as i64, minute);
        if last.is_some_and(|l| l >= slot) {
            return Ok(None);
        }
        let planned: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM release_parts WHERE state = 'planned'",
            [],
            |r| r.get(0),
        )?;
        if planned == 0 {
            return Ok(None);
        }
        let report = self.publish_locked(None, Path::new(&to), opts)?;
        self.conn.execute(
            "UPDATE release_schedule SET last_slot = ?1 WHERE id = 1",
            [slot],
        )?;
        Ok(Some(report))
    }
}

/// `HH:MM` to minutes after midnight.
fn parse_hhmm(s: &str) -> Option<i64> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

/// The latest time at `minute` after midnight UTC that is not after `now`.
fn latest_slot(now: i64, minute: i64) -> i64 {
    let today = now.div_euclid(86_400) * 86_400 + minute * 60;
    if today > now {
        today - 86_400
    } else {
        today
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_and_times() {
        assert_eq!(parse_hhmm("09:30"), Some(570));
        assert_eq!(parse_hhmm("24:00"), None);
        let day = 1_475_798_400; // 2016-10-07T00:00Z
        assert_eq!(latest_slot(day + 600 * 60, 570), day + 570 * 60);
        assert_eq!(latest_slot(day + 500 * 60, 570), day + 570 * 60 - 86_400);
        assert_eq!(
            local_date(1_475_872_200, Some(-240)),
            "2016-10-07T16:30:00-04:00"
        );
    }
}
