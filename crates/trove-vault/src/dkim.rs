//! DKIM and ARC verdicts in the vault: the historic key store and `trove verify`.
//!
//! The cryptography lives in `trove-dkim`; this module persists what it needs and what it
//! says. Keys are kept with their provenance and the date they were added (`dkim_keys`);
//! negative DNS answers too (`dkim_key_failures`). Verification is resumable: messages
//! already checked are skipped (`dkim_checked`), results are written per batch, and adding a
//! key re-opens exactly the messages that had no key for it. The tables are owned by this
//! module and created on first use.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use trove_dkim::{
    verify_message, DnsKeyFetcher, KeyFileEntry, KeyRecord, KeyStore, LookupFailure,
    MessageVerdict, SignatureResult, VerifyOptions,
};

use crate::error::Result;
use crate::ingest::Progress;
use crate::Vault;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS dkim_keys (
    selector    TEXT NOT NULL,
    domain      TEXT NOT NULL,
    txt         TEXT NOT NULL,
    provenance  TEXT NOT NULL,
    added_at    INTEGER NOT NULL,
    fingerprint TEXT,
    PRIMARY KEY (selector, domain, txt)
);
CREATE TABLE IF NOT EXISTS dkim_key_failures (
    selector   TEXT NOT NULL,
    domain     TEXT NOT NULL,
    failure    TEXT NOT NULL,
    provenance TEXT NOT NULL,
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (selector, domain)
);
CREATE TABLE IF NOT EXISTS dkim_results (
    message         INTEGER NOT NULL REFERENCES messages(id),
    sig_index       INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    domain          TEXT NOT NULL,
    selector        TEXT NOT NULL,
    algorithm       TEXT NOT NULL,
    canonicalization TEXT NOT NULL,
    signed_headers  TEXT NOT NULL,
    body_length     INTEGER,
    timestamp       INTEGER,
    expiration      INTEGER,
    result          TEXT NOT NULL,
    reason          TEXT NOT NULL,
    expired         INTEGER NOT NULL,
    key_fingerprint TEXT,
    key_provenance  TEXT,
    key_bits        INTEGER,
    warnings        TEXT NOT NULL,
    PRIMARY KEY (message, sig_index)
);
CREATE INDEX IF NOT EXISTS dkim_results_key ON dkim_results(selector, domain, result);
CREATE TABLE IF NOT EXISTS dkim_checked (
    message       INTEGER PRIMARY KEY REFERENCES messages(id),
    checked_at    INTEGER NOT NULL,
    arc_result    TEXT,
    arc_reason    TEXT,
    arc_instances INTEGER,
    arc_seal_keys TEXT
);
"#;

pub(crate) fn ensure_schema(conn: &Connection) -> Result<()> {
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

/// One stored key, as listed by `trove keys list`.
#[derive(Debug, Clone, Serialize)]
pub struct StoredKey {
    /// Selector.
    pub selector: String,
    /// Domain.
    pub domain: String,
    /// Key type and size, e.g. `rsa-2048`, or the key's status when unusable.
    pub kind: String,
    /// SHA-256 fingerprint of the key.
    pub fingerprint: Option<String>,
    /// Where it came from.
    pub provenance: String,
    /// When it was added (unix seconds).
    pub added_at: i64,
}

/// How to run `trove verify`.
#[derive(Default)]
pub struct VerifyRun {
    /// Re-verify every message, not only those not yet checked.
    pub all: bool,
    /// Judge `x=` expiry at this time instead of each signature's own `t=`.
    pub now: Option<u64>,
    /// Look keys missing from the store up in DNS (and store them with the lookup date);
    /// messages that lacked a key are re-opened for this.
    pub dns: Option<DnsKeyFetcher>,
    /// Time stamp for results and DNS-fetched keys.
    pub checked_at: u64,
}

/// The outcome of `trove verify`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Messages verified in this run.
    pub checked: u64,
    /// Keys fetched from DNS in this run.
    pub keys_fetched: u64,
    /// Totals over the whole vault.
    #[serde(flatten)]
    pub totals: DkimTotals,
}

/// Counts over every stored signature verdict: `{"signatures", "results", "domains", …}`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DkimTotals {
    /// Messages checked.
    pub messages: u64,
    /// Messages with no signature at all.
    pub unsigned: u64,
    /// Signatures.
    pub signatures: u64,
    /// Count per result word (pass, fail, no_key, …).
    pub results: BTreeMap<String, u64>,
    /// Per signing domain, count per result word.
    pub domains: BTreeMap<String, BTreeMap<String, u64>>,
    /// Count per reason (body_hash_mismatch, …).
    pub reasons: BTreeMap<String, u64>,
    /// Count per warning.
    pub warnings: BTreeMap<String, u64>,
    /// Signatures that pass but whose `x=` had passed.
    pub expired: u64,
    /// Count per ARC result (messages with ARC headers).
    pub arc: BTreeMap<String, u64>,
}

/// One row of `trove verify --jsonl`.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureRow {
    /// Vault id.
    pub id: i64,
    /// Message-ID.
    pub message_id: Option<String>,
    /// Position of the signature header, top first, from 0.
    pub sig_index: i64,
    /// `dkim` or `domainkeys`.
    pub kind: String,
    /// `d=`.
    pub domain: String,
    /// `s=`.
    pub selector: String,
    /// `a=`.
    pub algorithm: String,
    /// `header/body` canonicalisation.
    pub canonicalization: String,
    /// `h=` (lower case, in order).
    pub signed_headers: Vec<String>,
    /// `l=`.
    pub body_length: Option<i64>,
    /// `t=`.
    pub timestamp: Option<i64>,
    /// `x=`.
    pub expiration: Option<i64>,
    /// pass, fail, no_key, key_revoked, key_malformed, unsupported, malformed, legacy.
    pub result: String,
    /// body_hash_mismatch, signature_mismatch, expired, …
    pub reason: String,
    /// `x=` had passed at the judgement time.
    pub expired: bool,
    /// Fingerprint of the key used.
    pub key_fingerprint: Option<String>,
    /// Provenance of the key used.
    pub key_provenance: Option<String>,
    /// Key size.
    pub key_bits: Option<i64>,
    /// Warnings for the reader.
    pub warnings: Vec<String>,
}

fn failure_word(f: &LookupFailure) -> &'static str {
    match f {
        LookupFailure::NxDomain => "nxdomain",
        LookupFailure::Timeout => "timeout",
        LookupFailure::ServFail => "servfail",
    }
}

fn failure_from(word: &str) -> LookupFailure {
    match word {
        "timeout" => LookupFailure::Timeout,
        "servfail" => LookupFailure::ServFail,
        _ => LookupFailure::NxDomain,
    }
}

impl Vault {
    /// The key store as saved in the vault.
    pub fn dkim_keys(&self) -> Result<KeyStore> {
        ensure_schema(&self.conn)?;
        let mut store = KeyStore::new();
        let mut st = self.conn.prepare(
            "SELECT selector, domain, txt, provenance, added_at FROM dkim_keys ORDER BY rowid",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        for row in rows {
            let (s, d, txt, prov, at) = row?;
            store.insert(KeyRecord::from_txt(&s, &d, &txt, &prov, at.max(0) as u64));
        }
        let mut st = self
            .conn
            .prepare("SELECT selector, domain, failure FROM dkim_key_failures")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (s, d, f) = row?;
            if store.get(&s, &d).is_empty() {
                store.insert_failure(&s, &d, failure_from(&f));
            }
        }
        Ok(store)
    }

    /// Adds keys (and remembered negative answers) to the store. Returns how many were new.
    /// Messages that had no key for a newly added selector/domain are re-opened for `verify`.
    pub fn add_dkim_keys(&mut self, entries: Vec<KeyFileEntry>) -> Result<u64> {
        ensure_schema(&self.conn)?;
        let tx = self.conn.transaction()?;
        let mut added = 0;
        let mut touched = BTreeSet::new();
        for e in entries {
            match e {
                KeyFileEntry::Key(k) => {
                    let n = tx.execute(
                        "INSERT OR IGNORE INTO dkim_keys(selector, domain, txt, provenance, added_at, fingerprint)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![k.selector, k.domain, k.txt, k.provenance, k.added_at as i64, k.fingerprint],
                    )?;
                    if n > 0 {
                        added += 1;
                        touched.insert((k.selector.clone(), k.domain.clone()));
                    }
                }
                KeyFileEntry::Failure {
                    selector,
                    domain,
                    failure,
                } => {
                    added += tx.execute(
                        "INSERT OR IGNORE INTO dkim_key_failures(selector, domain, failure, provenance, added_at)
                         VALUES (?1, ?2, ?3, 'key file', 0)",
                        params![selector, domain, failure_word(&failure)],
                    )? as u64;
                }
            }
        }
        for (s, d) in touched {
            tx.execute(
                "DELETE FROM dkim_checked WHERE message IN (
                    SELECT message FROM dkim_results WHERE selector = ?1 AND domain = ?2
                    AND result IN ('no_key', 'key_malformed', 'key_revoked'))",
                params![s, d],
            )?;
        }
        tx.commit()?;
        Ok(added)
    }

    /// Every stored key, for `trove keys list`.
    pub fn list_dkim_keys(&self) -> Result<Vec<StoredKey>> {
        let store = self.dkim_keys()?;
        let mut out: Vec<StoredKey> = store
            .records()
            .into_iter()
            .map(|k| StoredKey {
                selector: k.selector.clone(),
                domain: k.domain.clone(),
                kind: match &k.status {
                    trove_dkim::KeyStatus::Usable => format!(
                        "{}-{}",
                        format!("{:?}", k.key_type).to_lowercase(),
                        k.bits.map(|b| b.to_string()).unwrap_or_else(|| "?".into())
                    ),
                    other => format!("{other:?}").to_lowercase(),
                },
                fingerprint: k.fingerprint.clone(),
                provenance: k.provenance.clone(),
                added_at: k.added_at as i64,
            })
            .collect();
        out.sort_by(|a, b| (&a.domain, &a.selector).cmp(&(&b.domain, &b.selector)));
        Ok(out)
    }

    /// Verifies every DKIM signature and ARC chain of the messages not yet checked (or of all
    /// of them with `run.all`), in parallel and in batches that commit as they go.
    pub fn verify_dkim(
        &mut self,
        run: &VerifyRun,
        progress: &dyn Progress,
    ) -> Result<VerifyReport> {
        ensure_schema(&self.conn)?;
        if run.all {
            self.conn.execute("DELETE FROM dkim_checked", [])?;
        } else if run.dns.is_some() {
            // Asked to look missing keys up: re-open the messages that lacked a key, unless DNS
            // already said the name does not exist.
            self.conn.execute(
                "DELETE FROM dkim_checked WHERE message IN (
                    SELECT r.message FROM dkim_results r WHERE r.result = 'no_key'
                    AND NOT EXISTS (SELECT 1 FROM dkim_key_failures f
                                    WHERE f.selector = r.selector AND f.domain = r.domain))",
                [],
            )?;
        }
        let mut keys = self.dkim_keys()?;
        let todo: Vec<(i64, String)> = {
            let mut st = self.conn.prepare(
                "SELECT id, hash FROM messages WHERE id NOT IN (SELECT message FROM dkim_checked) ORDER BY id",
            )?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        progress.start(todo.len() as u64);
        let opts = VerifyOptions {
            now: run.now,
            ..VerifyOptions::default()
        };
        let mut checked = 0u64;
        let mut keys_fetched = 0u64;
        let mut asked: BTreeSet<(String, String)> = BTreeSet::new();
        for chunk in todo.chunks(2000) {
            let blobs = &self.blobs;
            let mut verdicts: Vec<(i64, MessageVerdict)> = chunk
                .par_iter()
                .map(|(id, hash)| -> Result<(i64, MessageVerdict)> {
                    let raw = blobs.get(hash)?;
                    Ok((*id, verify_message(&raw, &keys, &opts)))
                })
                .collect::<Result<_>>()?;
            if let Some(dns) = &run.dns {
                // Look up each missing key once, store it, and verify its messages again.
                let mut missing = BTreeSet::new();
                for (_, v) in &verdicts {
                    for s in &v.signatures {
                        if s.result == SignatureResult::NoKey
                            && !s.domain.is_empty()
                            && !s.selector.is_empty()
                        {
                            let k = (s.selector.clone(), s.domain.clone());
                            if keys.failure(&k.0, &k.1).is_none() && asked.insert(k.clone()) {
                                missing.insert(k);
                            }
                        }
                    }
                }
                if !missing.is_empty() {
                    let mut entries = Vec::new();
                    let mut nxdomains = Vec::new();
                    for (s, d) in &missing {
                        match dns.fetch(s, d, run.checked_at) {
                            Ok(record) => {
                                keys_fetched += 1;
                                entries.push(KeyFileEntry::Key(record));
                            }
                            // A name that does not exist is remembered (with the date), so later
                            // runs do not ask again; timeouts and server failures are transient
                            // and are not stored: the next `--dns` run asks again.
                            Err(LookupFailure::NxDomain) => nxdomains.push((s.clone(), d.clone())),
                            Err(_) => {}
                        }
                    }
                    self.add_dkim_keys(entries)?;
                    for (s, d) in nxdomains {
                        self.conn.execute(
                            "INSERT OR IGNORE INTO dkim_key_failures(selector, domain, failure, provenance, added_at)
                             VALUES (?1, ?2, 'nxdomain', 'dns lookup', ?3)",
                            params![s, d, run.checked_at as i64],
                        )?;
                    }
                    keys = self.dkim_keys()?;
                    let blobs = &self.blobs;
                    verdicts = chunk
                        .par_iter()
                        .map(|(id, hash)| -> Result<(i64, MessageVerdict)> {
                            let raw = blobs.get(hash)?;
                            Ok((*id, verify_message(&raw, &keys, &opts)))
                        })
                        .collect::<Result<_>>()?;
                }
            }
            self.store_verdicts(&verdicts, run.checked_at)?;
            checked += verdicts.len() as u64;
            progress.update(checked, checked);
        }
        progress.finish();
        Ok(VerifyReport {
            checked,
            keys_fetched,
            totals: self.dkim_totals()?,
        })
    }

    fn store_verdicts(&mut self, verdicts: &[(i64, MessageVerdict)], at: u64) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut del = tx.prepare_cached("DELETE FROM dkim_results WHERE message = ?1")?;
            let mut ins = tx.prepare_cached(
                "INSERT INTO dkim_results(message, sig_index, kind, domain, selector, algorithm, canonicalization,
                    signed_headers, body_length, timestamp, expiration, result, reason, expired,
                    key_fingerprint, key_provenance, key_bits, warnings)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            )?;
            let mut done = tx.prepare_cached(
                "INSERT OR REPLACE INTO dkim_checked(message, checked_at, arc_result, arc_reason, arc_instances, arc_seal_keys)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (id, v) in verdicts {
                del.execute([id])?;
                for s in &v.signatures {
                    let warnings: Vec<&str> = s.warnings.iter().map(|w| w.as_str()).collect();
                    ins.execute(params![
                        id,
                        s.sig_index as i64,
                        format!("{:?}", s.kind).to_lowercase(),
                        s.domain,
                        s.selector,
                        s.algorithm,
                        format!("{}/{}", s.header_canonicalization, s.body_canonicalization),
                        json(&s.signed_headers),
                        s.body_length.map(|x| x as i64),
                        s.timestamp.map(|x| x as i64),
                        s.expiration.map(|x| x as i64),
                        s.result.as_str(),
                        s.reason,
                        s.expired,
                        s.key_fingerprint,
                        s.key_provenance,
                        s.key_bits.map(i64::from),
                        json(&warnings),
                    ])?;
                }
                let arc = v.arc.as_ref();
                done.execute(params![
                    id,
                    at as i64,
                    arc.map(|a| a.result.as_str()),
                    arc.map(|a| a.reason.clone()),
                    arc.map(|a| a.instances as i64),
                    arc.map(|a| json(&a.seal_keys)),
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Totals over every stored verdict.
    pub fn dkim_totals(&self) -> Result<DkimTotals> {
        ensure_schema(&self.conn)?;
        let c = &self.conn;
        let mut t = DkimTotals {
            messages: count(c, "SELECT COUNT(*) FROM dkim_checked")?,
            unsigned: count(
                c,
                "SELECT COUNT(*) FROM dkim_checked WHERE message NOT IN (SELECT message FROM dkim_results)",
            )?,
            expired: count(
                c,
                "SELECT COUNT(*) FROM dkim_results WHERE expired = 1 AND result = 'pass'",
            )?,
            // Every result word is present (0 when unseen), so scripts can rely on the keys.
            results: trove_dkim::SignatureResult::ALL
                .iter()
                .map(|r| (r.as_str().to_string(), 0))
                .collect(),
            ..Default::default()
        };
        let mut st = c.prepare("SELECT domain, result, reason, warnings FROM dkim_results")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let domain: String = r.get(0)?;
            let result: String = r.get(1)?;
            let reason: String = r.get(2)?;
            let warnings: String = r.get(3)?;
            t.signatures += 1;
            *t.results.entry(result.clone()).or_default() += 1;
            let d = if domain.is_empty() {
                "-".to_string()
            } else {
                domain
            };
            *t.domains.entry(d).or_default().entry(result).or_default() += 1;
            if !reason.is_empty() {
                *t.reasons.entry(reason).or_default() += 1;
            }
            for w in serde_json::from_str::<Vec<String>>(&warnings).unwrap_or_default() {
                *t.warnings.entry(w).or_default() += 1;
            }
        }
        let mut st = c.prepare(
            "SELECT arc_result, COUNT(*) FROM dkim_checked WHERE arc_result IS NOT NULL GROUP BY arc_result",
        )?;
        for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (k, n) = row?;
            t.arc.insert(k, n.max(0) as u64);
        }
        Ok(t)
    }

    /// Every stored signature verdict (of one message, or all), for `--jsonl` and `show`.
    pub fn dkim_rows(&self, message: Option<i64>) -> Result<Vec<SignatureRow>> {
        ensure_schema(&self.conn)?;
        let mut st = self.conn.prepare(
            "SELECT r.message, m.message_id, r.sig_index, r.kind, r.domain, r.selector, r.algorithm,
                    r.canonicalization, r.signed_headers, r.body_length, r.timestamp, r.expiration,
                    r.result, r.reason, r.expired, r.key_fingerprint, r.key_provenance, r.key_bits, r.warnings
             FROM dkim_results r JOIN messages m ON m.id = r.message
             WHERE ?1 IS NULL OR r.message = ?1 ORDER BY r.message, r.sig_index",
        )?;
        let rows = st.query_map([message], |r| {
            Ok(SignatureRow {
                id: r.get(0)?,
                message_id: r.get(1)?,
                sig_index: r.get(2)?,
                kind: r.get(3)?,
                domain: r.get(4)?,
                selector: r.get(5)?,
                algorithm: r.get(6)?,
                canonicalization: r.get(7)?,
                signed_headers: serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or_default(),
                body_length: r.get(9)?,
                timestamp: r.get(10)?,
                expiration: r.get(11)?,
                result: r.get(12)?,
                reason: r.get(13)?,
                expired: r.get(14)?,
                key_fingerprint: r.get(15)?,
                key_provenance: r.get(16)?,
                key_bits: r.get(17)?,
                warnings: serde_json::from_str(&r.get::<_, String>(18)?).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether `trove verify` has checked this message (its verdicts are stored).
    pub fn dkim_checked(&self, message: i64) -> Result<bool> {
        ensure_schema(&self.conn)?;
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM dkim_checked WHERE message = ?1",
                [message],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// The ARC result of one message, if it has ARC headers and was checked.
    pub fn arc_result(&self, message: i64) -> Result<Option<(String, String)>> {
        ensure_schema(&self.conn)?;
        Ok(self
            .conn
            .query_row(
                "SELECT arc_result, arc_reason FROM dkim_checked WHERE message = ?1 AND arc_result IS NOT NULL",
                [message],
                |r| Ok((r.get(0)?, r.get::<_, Option<String>>(1)?.unwrap_or_default())),
            )
            .optional()?)
    }
}

/// JSON text of a small list stored in one column.
fn json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// One `COUNT(*)` as u64 (SQLite integers are i64).
fn count(c: &rusqlite::Connection, sql: &str) -> rusqlite::Result<u64> {
    c.query_row(sql, [], |r| r.get::<_, i64>(0))
        .map(|n| n.max(0) as u64)
}
