//! The vault: opening, creating, and reading it back (stats, list, show).

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::ingest::IngestReport;
use crate::parse::HeaderSet;
use crate::store::blobs::BlobStore;
use crate::store::db;
use crate::thread::{self, ThreadInput};

pub(crate) const DB_FILE: &str = "vault.sqlite";
const SECRET_KEY_FILE: &str = "keys/publisher.secret";
const PUBLIC_KEY_FILE: &str = "keys/publisher.pub";

/// A private vault on disk: raw messages, their parsed metadata, and the publisher's key.
///
/// Layout: `vault.sqlite` (WAL), `blobs/` (content-addressed raw bytes), `tmp/` (partial
/// writes), `keys/publisher.secret` (ed25519 seed, hex, mode 0600) and `keys/publisher.pub`.
pub struct Vault {
    root: PathBuf,
    pub(crate) conn: Connection,
    pub(crate) blobs: BlobStore,
}

/// Counts over the whole vault (`trove stats`).
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Distinct messages stored.
    pub messages: i64,
    /// Extra occurrences of already-stored bytes.
    pub duplicates: i64,
    /// Messages mail-parser could not read (stored raw).
    pub unparseable: i64,
    /// Messages stored with at least one recorded problem.
    pub with_problems: i64,
    /// Attachments (including nested and TNEF-unpacked).
    pub attachments: i64,
    /// Threads.
    pub threads: i64,
    /// Message-IDs used by more than one distinct message.
    pub shared_message_ids: i64,
    /// Inputs read (files, maildir folders, directories).
    pub sources: i64,
    /// Files or entries skipped as not mail.
    pub skipped: i64,
    /// Total bytes of raw messages.
    pub bytes: i64,
    /// Earliest and latest Date.
    pub first_date: Option<i64>,
    /// Latest Date.
    pub last_date: Option<i64>,
}

/// One line of `trove list`.
#[derive(Debug, Clone, Serialize)]
pub struct MessageSummary {
    /// Vault id.
    pub id: i64,
    /// Message-ID.
    pub message_id: Option<String>,
    /// Date as RFC 3339 in UTC.
    pub date: Option<String>,
    /// From address.
    pub from: Option<String>,
    /// From display name.
    pub from_name: Option<String>,
    /// Subject.
    pub subject: Option<String>,
    /// Thread id.
    pub thread: Option<i64>,
    /// Number of attachments.
    pub attachments: i64,
}

/// Filters for `trove list`.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Any From address equal to this (case-insensitive).
    pub from: Option<String>,
    /// Date at or after (unix seconds).
    pub since: Option<i64>,
    /// Date before (unix seconds).
    pub until: Option<i64>,
    /// At most this many.
    pub limit: Option<u64>,
}

/// An attachment as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentInfo {
    /// Part path.
    pub part: String,
    /// mime, rfc822 or tnef.
    pub origin: String,
    /// Blob address.
    pub hash: String,
    /// Size in bytes.
    pub size: i64,
    /// File name.
    pub filename: Option<String>,
    /// Content type.
    pub content_type: Option<String>,
}

/// Where a message was seen.
#[derive(Debug, Clone, Serialize)]
pub struct Occurrence {
    /// The input (canonical path or stdin hash).
    pub source: String,
    /// Position in it.
    pub locator: String,
    /// mbox envelope line.
    pub envelope: Option<String>,
    /// Folder.
    pub folder: Option<String>,
    /// Maildir flags.
    pub flags: Option<String>,
}

/// Everything the vault knows about one message (`trove show`).
#[derive(Debug, Clone, Serialize)]
pub struct MessageDetail {
    /// Summary fields.
    #[serde(flatten)]
    pub summary: MessageSummary,
    /// BLAKE3 of the raw bytes.
    pub hash: String,
    /// Raw size.
    pub size: i64,
    /// Whether mail-parser could read it.
    pub parsed: bool,
    /// Sender's zone, minutes east of UTC.
    pub date_offset: Option<i64>,
    /// In-Reply-To.
    pub in_reply_to: Option<String>,
    /// List-Id.
    pub list_id: Option<String>,
    /// Address and reference headers.
    pub headers: HeaderSet,
    /// Attachments.
    pub attachments: Vec<AttachmentInfo>,
    /// Recorded problems as (code, detail).
    pub problems: Vec<(String, String)>,
    /// Every place it was seen (more than one: duplicates).
    pub occurrences: Vec<Occurrence>,
    /// Other messages with the same Message-ID but different bytes.
    pub same_message_id: Vec<i64>,
}

/// Formats unix seconds as RFC 3339 UTC (`2016-10-07T16:30:00Z`).
pub fn rfc3339(ts: i64) -> String {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ` (UTC) to unix seconds.
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = match s.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t.trim_end_matches('Z'))),
        None => (s, None),
    };
    let mut it = date.split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    if it.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let (yy, mm) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * (mm - 3) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let mut secs = 0;
    if let Some(t) = time {
        let mut p = t.split(':');
        let h: i64 = p.next()?.parse().ok()?;
        let mi: i64 = p.next().unwrap_or("0").parse().ok()?;
        let se: i64 = p.next().unwrap_or("0").parse().ok()?;
        secs = h * 3600 + mi * 60 + se;
    }
    Some(days * 86_400 + secs)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Vault {
    /// Creates a new vault in `dir` (created if missing; must be empty if present).
    pub fn init(dir: impl AsRef<Path>) -> Result<Vault> {
        let dir = dir.as_ref();
        if dir.exists() {
            let non_empty = fs::read_dir(dir)
                .map_err(|e| Error::io(dir, e))?
                .next()
                .is_some();
            if dir.join(DB_FILE).exists() {
                return Err(Error::InitRefused {
                    path: dir.into(),
                    reason: "already a trove vault".into(),
                });
            }
            if non_empty {
                return Err(Error::InitRefused {
                    path: dir.into(),
                    reason: "directory is not empty; give a new or empty directory".into(),
                });
            }
        }
        // Build in a sibling temporary directory and rename, so a failed init leaves nothing.
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let staging = parent.join(format!(
            ".{}.trove-init-{}",
            dir.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&staging);
        let build = || -> Result<()> {
            fs::create_dir_all(staging.join("keys")).map_err(|e| Error::io(&staging, e))?;
            BlobStore::open(staging.join("blobs"), staging.join("tmp"))?;
            let conn = db::connect(&staging.join(DB_FILE))?;
            db::create(&conn, now())?;
            drop(conn);
            write_keypair(&staging)?;
            fs::write(
                staging.join("README.txt"),
                "This is a private trove vault. Never serve or publish this directory:\n\
                 it holds unreleased messages and the publisher's secret key.\n\
                 Publish with `trove release publish`, which copies only released material.\n",
            )
            .map_err(|e| Error::io(&staging, e))?;
            Ok(())
        };
        if let Err(e) = build() {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
        if dir.exists() {
            fs::remove_dir(dir).map_err(|e| Error::io(dir, e))?;
        }
        fs::rename(&staging, dir).map_err(|e| Error::io(dir, e))?;
        Vault::open(dir)
    }

    /// Opens an existing vault.
    pub fn open(dir: impl AsRef<Path>) -> Result<Vault> {
        let root = dir.as_ref().to_path_buf();
        let db_path = root.join(DB_FILE);
        if !db_path.is_file() {
            return Err(Error::NotAVault(root));
        }
        let conn = db::connect(&db_path)?;
        let v = db::version(&conn).map_err(|_| Error::NotAVault(root.clone()))?;
        if v > db::SCHEMA_VERSION {
            return Err(Error::UnsupportedVersion {
                path: root,
                found: v,
                supported: db::SCHEMA_VERSION,
            });
        }
        db::migrate(&conn)?;
        let blobs = BlobStore::open(root.join("blobs"), root.join("tmp"))?;
        blobs.clean_tmp()?;
        Ok(Vault { root, conn, blobs })
    }

    /// The vault directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The publisher's public key (32 bytes, hex).
    pub fn public_key_hex(&self) -> Result<String> {
        let p = self.root.join(PUBLIC_KEY_FILE);
        Ok(fs::read_to_string(&p)
            .map_err(|e| Error::io(&p, e))?
            .trim()
            .to_string())
    }

    /// Path of the publisher's secret key file.
    pub fn secret_key_path(&self) -> PathBuf {
        self.root.join(SECRET_KEY_FILE)
    }

    /// The blob store.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// Direct read access to the database, for sibling modules and tests.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub(crate) fn begin_run(&mut self) -> Result<i64> {
        self.conn
            .execute("INSERT INTO runs(started_at) VALUES (?1)", [now()])?;
        Ok(self.conn.last_insert_rowid())
    }

    pub(crate) fn end_run(&mut self, run: i64, report: &IngestReport) -> Result<()> {
        let summary = serde_json::to_string(report).unwrap_or_default();
        self.conn.execute(
            "UPDATE runs SET finished_at = ?1, summary = ?2 WHERE id = ?3",
            params![now(), summary, run],
        )?;
        Ok(())
    }

    /// Recomputes every message's thread (JWZ) and the threads table.
    pub fn rethread(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        let mut inputs: Vec<ThreadInput> = Vec::new();
        {
            let mut st = tx.prepare("SELECT id, message_id, subject FROM messages ORDER BY id")?;
            let rows = st.query_map([], |r| {
                Ok(ThreadInput {
                    id: r.get(0)?,
                    message_id: r.get(1)?,
                    subject: r.get(2)?,
                    refs: Vec::new(),
                })
            })?;
            for r in rows {
                inputs.push(r?);
            }
            let index: std::collections::HashMap<i64, usize> =
                inputs.iter().enumerate().map(|(i, m)| (m.id, i)).collect();
            let mut st = tx.prepare("SELECT message, ref FROM refs ORDER BY message, position")?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                if let Some(&i) = index.get(&id) {
                    inputs[i].refs.push(r.get(1)?);
                }
            }
        }
        let threads = thread::thread(&inputs);
        {
            let mut up = tx.prepare(
                "UPDATE messages SET thread_id = ?1 WHERE id = ?2 AND thread_id IS NOT ?1",
            )?;
            for (id, t) in &threads {
                up.execute(params![t, id])?;
            }
        }
        tx.execute("DELETE FROM threads", [])?;
        tx.execute(
            "INSERT INTO threads(id, subject, message_count, first_date, last_date)
             SELECT thread_id, (SELECT subject FROM messages s WHERE s.id = m.thread_id),
                    COUNT(*), MIN(date), MAX(date)
             FROM messages m GROUP BY thread_id",
            [],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Counts over the whole vault.
    pub fn stats(&self) -> Result<Stats> {
        let c = &self.conn;
        let one = |sql: &str| -> Result<i64> { Ok(c.query_row(sql, [], |r| r.get(0))?) };
        let (first_date, last_date) =
            c.query_row("SELECT MIN(date), MAX(date) FROM messages", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        Ok(Stats {
            messages: one("SELECT COUNT(*) FROM messages")?,
            duplicates: one(
                "SELECT (SELECT COUNT(*) FROM occurrences) - (SELECT COUNT(*) FROM messages)",
            )?,
            unparseable: one("SELECT COUNT(*) FROM messages WHERE parsed = 0")?,
            with_problems: one("SELECT COUNT(DISTINCT message) FROM problems")?,
            attachments: one("SELECT COUNT(*) FROM attachments")?,
            threads: one("SELECT COUNT(*) FROM threads")?,
            shared_message_ids: one(
                "SELECT COUNT(*) FROM (SELECT message_id FROM messages WHERE message_id IS NOT NULL
                 GROUP BY message_id HAVING COUNT(*) > 1)",
            )?,
            sources: one("SELECT COUNT(*) FROM sources")?,
            skipped: one("SELECT COUNT(*) FROM skipped")?,
            bytes: one("SELECT COALESCE(SUM(size), 0) FROM messages")?,
            first_date,
            last_date,
        })
    }

    /// Messages matching `f`, in id order.
    pub fn list(&self, f: &ListFilter) -> Result<Vec<MessageSummary>> {
        let mut sql = String::from(
            "SELECT id, message_id, date, from_addr, from_name, subject, thread_id, attachment_count
             FROM messages m WHERE 1=1",
        );
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(from) = &f.from {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM addresses a WHERE a.message = m.id AND a.role = 'from' AND a.addr = ?)",
            );
            args.push(from.to_lowercase().into());
        }
        if let Some(s) = f.since {
            sql.push_str(" AND date >= ?");
            args.push(s.into());
        }
        if let Some(u) = f.until {
            sql.push_str(" AND date < ?");
            args.push(u.into());
        }
        sql.push_str(" ORDER BY id");
        if let Some(l) = f.limit {
            sql.push_str(&format!(" LIMIT {l}"));
        }
        let mut st = self.conn.prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args), summary_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The exact stored bytes of message `id`.
    pub fn raw(&self, id: i64) -> Result<Vec<u8>> {
        let hash: String = self
            .conn
            .query_row("SELECT hash FROM messages WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or(Error::NoSuchMessage(id))?;
        self.blobs.get(&hash)
    }

    /// Everything recorded about message `id`.
    pub fn message(&self, id: i64) -> Result<MessageDetail> {
        let c = &self.conn;
        let row = c
            .query_row(
                "SELECT id, message_id, date, from_addr, from_name, subject, thread_id, attachment_count,
                        hash, size, parsed, date_offset, in_reply_to, list_id, header_json
                 FROM messages m WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        summary_row(r)?,
                        r.get::<_, String>(8)?,
                        r.get::<_, i64>(9)?,
                        r.get::<_, bool>(10)?,
                        r.get::<_, Option<i64>>(11)?,
                        r.get::<_, Option<String>>(12)?,
                        r.get::<_, Option<String>>(13)?,
                        r.get::<_, String>(14)?,
                    ))
                },
            )
            .optional()?
            .ok_or(Error::NoSuchMessage(id))?;
        let (summary, hash, size, parsed, date_offset, in_reply_to, list_id, hj) = row;
        let headers: HeaderSet = serde_json::from_str(&hj).unwrap_or_default();
        let mut st = c.prepare(
            "SELECT part, origin, hash, size, filename, content_type FROM attachments WHERE message = ?1 ORDER BY position",
        )?;
        let attachments = st
            .query_map([id], |r| {
                Ok(AttachmentInfo {
                    part: r.get(0)?,
                    origin: r.get(1)?,
                    hash: r.get(2)?,
                    size: r.get(3)?,
                    filename: r.get(4)?,
                    content_type: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut st = c.prepare("SELECT code, detail FROM problems WHERE message = ?1")?;
        let problems = st
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut st = c.prepare(
            "SELECT s.path, o.locator, o.envelope, o.folder, o.flags FROM occurrences o
             JOIN sources s ON s.id = o.source WHERE o.message = ?1 ORDER BY o.source, o.rowid",
        )?;
        let occurrences = st
            .query_map([id], |r| {
                Ok(Occurrence {
                    source: r.get(0)?,
                    locator: r.get(1)?,
                    envelope: r.get(2)?,
                    folder: r.get(3)?,
                    flags: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let same_message_id = match &summary.message_id {
            Some(mid) => {
                let mut st = c.prepare(
                    "SELECT id FROM messages WHERE message_id = ?1 AND id != ?2 ORDER BY id",
                )?;
                let ids = st
                    .query_map(params![mid, id], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                ids
            }
            None => Vec::new(),
        };
        Ok(MessageDetail {
            summary,
            hash,
            size,
            parsed,
            date_offset,
            in_reply_to,
            list_id,
            headers,
            attachments,
            problems,
            occurrences,
            same_message_id,
        })
    }

    /// Checks that every message and attachment row points at a blob that exists and hashes
    /// right. Returns the problems found (empty when the vault is sound).
    pub fn check(&self) -> Result<Vec<String>> {
        let mut bad = Vec::new();
        let mut st = self
            .conn
            .prepare("SELECT hash FROM messages UNION SELECT hash FROM attachments")?;
        let hashes: Vec<String> = st
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for h in hashes {
            match self.blobs.get(&h) {
                Ok(bytes) if crate::store::blobs::hash_hex(&bytes) == h => {}
                Ok(_) => bad.push(format!("blob {h} does not match its hash")),
                Err(e) => bad.push(e.to_string()),
            }
        }
        Ok(bad)
    }
}

fn summary_row(r: &rusqlite::Row) -> rusqlite::Result<MessageSummary> {
    Ok(MessageSummary {
        id: r.get(0)?,
        message_id: r.get(1)?,
        date: r.get::<_, Option<i64>>(2)?.map(rfc3339),
        from: r.get(3)?,
        from_name: r.get(4)?,
        subject: r.get(5)?,
        thread: r.get(6)?,
        attachments: r.get(7)?,
    })
}

fn write_keypair(dir: &Path) -> Result<()> {
    let key = trove_publication::PublisherKey::generate().map_err(publication_error)?;
    let sp = dir.join(SECRET_KEY_FILE);
    key.save(&sp).map_err(publication_error)?;
    let pp = dir.join(PUBLIC_KEY_FILE);
    fs::write(&pp, format!("{}\n", key.public_key().to_hex())).map_err(|e| Error::io(&pp, e))?;
    Ok(())
}

fn publication_error(e: trove_publication::Error) -> Error {
    Error::Damaged(format!("publisher key: {e}"))
}

impl Vault {
    /// The publisher's secret signing key. Reads the `trove_publication` key file format, and
    /// the bare hex seed written by vaults created before it.
    pub fn publisher_key(&self) -> Result<trove_publication::PublisherKey> {
        let path = self.secret_key_path();
        match trove_publication::PublisherKey::load(&path) {
            Ok(k) => Ok(k),
            Err(e) => {
                let text = fs::read_to_string(&path).map_err(|io| Error::io(&path, io))?;
                let t = text.trim();
                let mut seed = [0u8; 32];
                if t.len() == 64 && t.is_ascii() {
                    for (i, b) in seed.iter_mut().enumerate() {
                        *b = u8::from_str_radix(&t[2 * i..2 * i + 2], 16)
                            .map_err(|_| publication_error(e.clone()))?;
                    }
                    Ok(trove_publication::PublisherKey::from_seed(seed))
                } else {
                    Err(publication_error(e))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1475872200), "2016-10-07T20:30:00Z");
        assert_eq!(parse_date("2016-10-07"), Some(1475798400));
        assert_eq!(parse_date("2016-10-07T20:30:00Z"), Some(1475872200));
        assert_eq!(parse_date("2016-13-07"), None);
        assert_eq!(parse_date("yesterday"), None);
        for ts in [-86_400 * 400, 0, 951_782_400, 1_700_000_000] {
            assert_eq!(parse_date(&rfc3339(ts)), Some(ts));
        }
    }
}
