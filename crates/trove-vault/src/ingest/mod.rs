//! `trove ingest`: reading dumps into the vault.
//!
//! Inputs are expanded into units ([`input::expand`]); each unit is read as a stream and
//! committed in one SQLite transaction, so a unit is in the vault whole or not at all. Within a
//! unit, messages are processed in batches: hashed and parsed in parallel, then their blobs
//! are written (each fsynced before the transaction that refers to it commits) and their rows
//! inserted in input order, which makes vault ids deterministic. Killed at any point, a re-run
//! skips the units already committed (their occurrences are recorded) and redoes the rest, so
//! the vault ends identical to an uninterrupted run.

pub mod input;
pub mod mbox;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::parse::{self, ParsedMessage};
use crate::store::blobs::hash_hex;
use crate::Vault;
pub use input::{Item, Limits, RawMessage, Unit, UnitKind};

/// What to ingest and how.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Files and directories; `-` means standard input.
    pub paths: Vec<PathBuf>,
    /// Safety limits.
    pub limits: Limits,
    /// Skip fsync of blobs (faster, for throwaway vaults and benchmarks of the floor).
    pub no_fsync: bool,
}

/// Receives progress while ingesting (the binary draws a progress bar with it).
pub trait Progress: Sync {
    /// Called once, with the total input bytes on disk.
    fn start(&self, _total_bytes: u64) {}
    /// Called after every batch: bytes consumed so far and messages seen so far.
    fn update(&self, _bytes: u64, _messages: u64) {}
    /// Called once at the end.
    fn finish(&self) {}
}

/// A progress sink that ignores everything.
pub struct NoProgress;
impl Progress for NoProgress {}

/// One problem worth showing in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemNote {
    /// Vault id of the message, if it was stored.
    pub id: Option<i64>,
    /// Where it came from (`source` + locator).
    pub input: String,
    /// Problem code.
    pub code: String,
    /// Detail.
    pub detail: String,
}

/// The outcome of one ingest run (printed as the summary and as `--json`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    /// Messages found in the inputs this run (every occurrence).
    pub seen: u64,
    /// New distinct messages stored.
    pub stored: u64,
    /// Occurrences whose bytes were already stored (same dump, or earlier runs from other sources).
    pub duplicates: u64,
    /// Occurrences already recorded by an earlier run of the same source (re-ingest).
    pub already_ingested: u64,
    /// New messages mail-parser could not read at all (stored raw and flagged).
    pub unparseable: u64,
    /// New messages stored with at least one problem (missing header, bad date…).
    pub with_problems: u64,
    /// New attachments stored (including nested and TNEF-unpacked ones).
    pub attachments: u64,
    /// Bytes of new raw messages stored.
    pub bytes: u64,
    /// Files or entries that are not mail, listed and skipped.
    pub skipped: u64,
    /// Units (files, maildir folders, directories) read.
    pub units: u64,
    /// New messages whose Message-ID was already used by a different message.
    pub same_message_id: u64,
    /// First problems and skips, for the summary.
    pub notes: Vec<ProblemNote>,
    /// Vault ids of the new messages (first and last), if any.
    pub id_range: Option<(i64, i64)>,
    /// Wall time in seconds.
    pub seconds: f64,
}

const MAX_NOTES: usize = 20;
const BATCH_MESSAGES: usize = 512;
const BATCH_BYTES: usize = 48 << 20;

enum Status {
    AlreadyIngested,
    Duplicate(i64),
    New,
}

struct Prepared {
    item: RawMessage,
    hash: String,
    status: Status,
    parsed: Option<ParsedMessage>,
}

impl Vault {
    /// Ingests `opts.paths` into the vault. See the module docs for the guarantees.
    pub fn ingest(
        &mut self,
        opts: &IngestOptions,
        progress: &dyn Progress,
    ) -> Result<IngestReport> {
        let started = Instant::now();
        let mut units = Vec::new();
        let mut spools = Vec::new();
        let mut files = Vec::new();
        for p in &opts.paths {
            if p.as_os_str() == "-" {
                let spool = self
                    .tmp_dir()
                    .join(format!("stdin-{}.spool", std::process::id()));
                let hash = input::spool_stdin(&spool)?;
                units.push(input::stdin_unit(&spool, &hash)?);
                spools.push(spool);
            } else {
                files.push(p.clone());
            }
        }
        if files.is_empty() && units.is_empty() {
            return Err(Error::bad_input("trove ingest", "no input paths given"));
        }
        units.splice(0..0, input::expand(&files)?);
        let total: u64 = units.iter().map(|u| u.size).sum();
        progress.start(total);

        let run = self.begin_run()?;
        let consumed = Arc::new(AtomicU64::new(0));
        let mut report = IngestReport::default();
        let result = (|| {
            for unit in &units {
                self.ingest_unit(unit, run, opts, &consumed, &mut report, progress)?;
                report.units += 1;
            }
            self.rethread()?;
            Ok(())
        })();
        for s in spools {
            let _ = std::fs::remove_file(s);
        }
        progress.finish();
        report.seconds = started.elapsed().as_secs_f64();
        self.end_run(run, &report)?;
        result.map(|()| report)
    }

    fn ingest_unit(
        &mut self,
        unit: &Unit,
        run: i64,
        opts: &IngestOptions,
        consumed: &Arc<AtomicU64>,
        report: &mut IngestReport,
        progress: &dyn Progress,
    ) -> Result<()> {
        let blobs = self.blobs.clone();
        let durable = !opts.no_fsync;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let source = upsert_source(&tx, unit, run)?;
        let mut state = UnitState {
            tx: &tx,
            source,
            source_label: unit.path.display().to_string(),
            run,
            batch: Vec::new(),
            batch_bytes: 0,
            locators: HashSet::new(),
            report,
            blobs: &blobs,
            durable,
        };
        let before = consumed.load(Ordering::Relaxed);
        input::read_unit(unit, &opts.limits, consumed.clone(), &mut |item| {
            state.push(item)?;
            if state.batch.len() >= BATCH_MESSAGES || state.batch_bytes >= BATCH_BYTES {
                state.flush()?;
                progress.update(consumed.load(Ordering::Relaxed), state.report.seen);
            }
            Ok(())
        })?;
        state.flush()?;
        // Account for the whole unit even where the reader stopped early (directory units).
        let read = consumed.load(Ordering::Relaxed) - before;
        if read < unit.size {
            consumed.fetch_add(unit.size - read, Ordering::Relaxed);
        }
        progress.update(consumed.load(Ordering::Relaxed), state.report.seen);
        drop(state);
        tx.commit()?;
        Ok(())
    }
}

struct UnitState<'a, 't> {
    tx: &'a Transaction<'t>,
    source: i64,
    source_label: String,
    run: i64,
    batch: Vec<RawMessage>,
    batch_bytes: usize,
    locators: HashSet<String>,
    report: &'a mut IngestReport,
    blobs: &'a crate::store::blobs::BlobStore,
    durable: bool,
}

impl UnitState<'_, '_> {
    fn unique_locator(&mut self, loc: String) -> String {
        if self.locators.insert(loc.clone()) {
            return loc;
        }
        // The same entry name twice in one archive: keep both, numbered.
        let mut k = 2;
        loop {
            let l = format!("{loc}~{k}");
            if self.locators.insert(l.clone()) {
                return l;
            }
            k += 1;
        }
    }

    fn push(&mut self, item: Item) -> Result<()> {
        match item {
            Item::Message(mut m) => {
                m.locator = self.unique_locator(std::mem::take(&mut m.locator));
                self.batch_bytes += m.bytes.len();
                self.batch.push(m);
            }
            Item::Skipped { locator, reason } => {
                let locator = self.unique_locator(locator);
                let n = self.tx.execute(
                    "INSERT OR IGNORE INTO skipped(source, locator, reason) VALUES (?1, ?2, ?3)",
                    params![self.source, locator, reason],
                )?;
                if n > 0 {
                    self.report.skipped += 1;
                    if self.report.notes.len() < MAX_NOTES {
                        self.report.notes.push(ProblemNote {
                            id: None,
                            input: format!("{} {locator}", self.source_label),
                            code: "skipped".into(),
                            detail: reason,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        self.report.seen += batch.len() as u64;

        // 1. Hash in parallel.
        let hashes: Vec<String> = batch.par_iter().map(|m| hash_hex(&m.bytes)).collect();

        // 2. Classify in order: re-ingested occurrence, duplicate, or new.
        let mut in_batch: HashMap<&str, usize> = HashMap::new();
        let mut statuses = Vec::with_capacity(batch.len());
        {
            let mut seen_occ = self
                .tx
                .prepare_cached("SELECT 1 FROM occurrences WHERE source = ?1 AND locator = ?2")?;
            let mut by_hash = self
                .tx
                .prepare_cached("SELECT id FROM messages WHERE hash = ?1")?;
            for (i, m) in batch.iter().enumerate() {
                let st = if seen_occ.exists(params![self.source, m.locator])? {
                    Status::AlreadyIngested
                } else if let Some(id) = by_hash
                    .query_row([&hashes[i]], |r| r.get::<_, i64>(0))
                    .optional()?
                {
                    Status::Duplicate(id)
                } else if in_batch.contains_key(hashes[i].as_str()) {
                    Status::Duplicate(-1) // resolved after the first copy is inserted
                } else {
                    in_batch.insert(hashes[i].as_str(), i);
                    Status::New
                };
                statuses.push(st);
            }
        }

        // 3. Parse the new ones in parallel, 4. write their blobs in parallel.
        let mut prepared: Vec<Prepared> = batch
            .into_iter()
            .zip(hashes)
            .zip(statuses)
            .map(|((item, hash), status)| Prepared {
                item,
                hash,
                status,
                parsed: None,
            })
            .collect();
        prepared.par_iter_mut().for_each(|p| {
            if matches!(p.status, Status::New) {
                p.parsed = Some(parse::parse(&p.item.bytes));
            }
        });
        let blobs = self.blobs;
        let durable = self.durable;
        // Blob writes wait on the disk (fsync), not the CPU: a wide pool lets the kernel
        // fold many fsyncs into one journal commit.
        io_pool().install(|| {
            prepared
                .par_iter()
                .filter(|p| matches!(p.status, Status::New))
                .try_for_each(|p| -> Result<()> {
                    blobs.put(&p.hash, &p.item.bytes, durable)?;
                    if let Some(parsed) = &p.parsed {
                        for a in &parsed.attachments {
                            blobs.put(&hash_hex(&a.data), &a.data, durable)?;
                        }
                    }
                    Ok(())
                })
        })?;

        // 5. Insert rows in input order.
        for p in &prepared {
            match p.status {
                Status::AlreadyIngested => self.report.already_ingested += 1,
                Status::Duplicate(id) => {
                    let id = if id >= 0 {
                        id
                    } else {
                        self.tx.query_row(
                            "SELECT id FROM messages WHERE hash = ?1",
                            [&p.hash],
                            |r| r.get(0),
                        )?
                    };
                    insert_occurrence(self.tx, self.source, &p.item, id)?;
                    self.report.duplicates += 1;
                }
                Status::New => {
                    let parsed = p.parsed.as_ref().ok_or_else(|| {
                        Error::Damaged("internal: new message was not parsed".into())
                    })?;
                    let id = insert_message(self.tx, self.run, &p.hash, &p.item.bytes, parsed)?;
                    insert_occurrence(self.tx, self.source, &p.item, id)?;
                    let r = &mut *self.report;
                    r.stored += 1;
                    r.bytes += p.item.bytes.len() as u64;
                    r.attachments += parsed.attachments.len() as u64;
                    r.id_range = Some(match r.id_range {
                        Some((a, _)) => (a, id),
                        None => (id, id),
                    });
                    if !parsed.parsed {
                        r.unparseable += 1;
                    }
                    if !parsed.problems.is_empty() {
                        r.with_problems += 1;
                    }
                    if let Some(mid) = &parsed.message_id {
                        let n: i64 = self.tx.query_row(
                            "SELECT COUNT(*) FROM messages WHERE message_id = ?1",
                            [mid],
                            |r| r.get(0),
                        )?;
                        if n > 1 {
                            r.same_message_id += 1;
                        }
                    }
                    for pr in &parsed.problems {
                        // Missing headers are common and dull; keep the notes for real trouble.
                        let dull =
                            matches!(pr.code.as_str(), "missing_message_id" | "missing_date");
                        if r.notes.len() < MAX_NOTES && !dull {
                            r.notes.push(ProblemNote {
                                id: Some(id),
                                input: format!("{} {}", self.source_label, p.item.locator),
                                code: pr.code.clone(),
                                detail: pr.detail.clone(),
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// The thread pool for blob writes (I/O bound, so wider than the CPU count).
fn io_pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(32)
            .thread_name(|i| format!("trove-blob-{i}"))
            .build()
            .unwrap_or_else(|_| {
                rayon::ThreadPoolBuilder::new()
                    .build()
                    .expect("a thread pool")
            })
    })
}

fn upsert_source(tx: &Transaction, unit: &Unit, run: i64) -> Result<i64> {
    if let Some(id) = tx
        .query_row("SELECT id FROM sources WHERE path = ?1", [&unit.key], |r| {
            r.get(0)
        })
        .optional()?
    {
        return Ok(id);
    }
    tx.execute(
        "INSERT INTO sources(path, kind, run) VALUES (?1, ?2, ?3)",
        params![unit.key, unit.kind.as_str(), run],
    )?;
    Ok(tx.last_insert_rowid())
}

fn insert_occurrence(tx: &Transaction, source: i64, m: &RawMessage, id: i64) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO occurrences(source, locator, message, envelope, folder, flags)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        source, m.locator, id, m.envelope, m.folder, m.flags
    ])?;
    Ok(())
}

fn insert_message(
    tx: &Transaction,
    run: i64,
    hash: &str,
    raw: &[u8],
    p: &ParsedMessage,
) -> Result<i64> {
    let id: i64 = tx.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM messages", [], |r| {
        r.get(0)
    })?;
    let from = p.from();
    let header_json = serde_json::to_string(&p.headers)
        .map_err(|e| Error::Damaged(format!("cannot encode headers: {e}")))?;
    tx.prepare_cached(
        "INSERT INTO messages(id, hash, size, parsed, message_id, date, date_offset, from_name,
            from_addr, subject, in_reply_to, list_id, header_json, attachment_count, run)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        id,
        hash,
        raw.len() as i64,
        p.parsed,
        p.message_id,
        p.date,
        p.date_offset,
        from.and_then(|f| f.name.as_deref()),
        from.and_then(|f| f.addr.as_deref()).map(str::to_lowercase),
        p.subject,
        p.in_reply_to,
        p.list_id,
        header_json,
        p.attachments.len() as i64,
        run,
    ])?;
    {
        let mut st = tx.prepare_cached(
            "INSERT INTO addresses(message, role, position, name, addr) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let h = &p.headers;
        for (role, list) in [
            ("from", &h.from),
            ("to", &h.to),
            ("cc", &h.cc),
            ("bcc", &h.bcc),
            ("reply_to", &h.reply_to),
            ("sender", &h.sender),
        ] {
            for (i, mb) in list.iter().enumerate() {
                st.execute(params![
                    id,
                    role,
                    i as i64,
                    mb.name,
                    mb.addr.as_deref().map(str::to_lowercase)
                ])?;
            }
        }
    }
    {
        let mut st =
            tx.prepare_cached("INSERT INTO refs(message, position, ref) VALUES (?1, ?2, ?3)")?;
        let mut refs: Vec<&str> = p.headers.references.iter().map(String::as_str).collect();
        if let Some(irt) = &p.in_reply_to {
            if refs.last() != Some(&irt.as_str()) {
                refs.push(irt);
            }
        }
        for (i, r) in refs.iter().enumerate() {
            st.execute(params![id, i as i64, r])?;
        }
    }
    {
        let mut st = tx.prepare_cached(
            "INSERT INTO attachments(message, position, part, origin, hash, size, filename, content_type)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for (i, a) in p.attachments.iter().enumerate() {
            st.execute(params![
                id,
                i as i64,
                a.part,
                a.origin,
                hash_hex(&a.data),
                a.data.len() as i64,
                a.filename,
                a.content_type
            ])?;
        }
    }
    {
        let mut st =
            tx.prepare_cached("INSERT INTO problems(message, code, detail) VALUES (?1, ?2, ?3)")?;
        for pr in &p.problems {
            st.execute(params![id, pr.code, pr.detail])?;
        }
    }
    Ok(id)
}
