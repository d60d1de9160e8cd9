//! The vault's SQLite database: schema, migrations and connection settings.
//!
//! The database holds everything derived from the raw bytes that is expensive to recompute
//! (parsed headers, attachment lists, where each message came from) plus what is not derived
//! at all (ingest runs, later: verification results, redaction decisions, the release plan).
//! Message bodies are not copied here: they are re-parsed from the blob when needed.

use std::path::Path;

use rusqlite::Connection;

use crate::error::Result;

/// A dynamically typed SQLite value, for callers (and tests) that read rows generically.
pub use rusqlite::types::Value;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 2;

const SCHEMA_V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- One row per distinct raw message (distinct bytes). `id` is the stable vault id.
CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    hash         TEXT NOT NULL UNIQUE,      -- BLAKE3 of the raw bytes (the blob address)
    size         INTEGER NOT NULL,
    parsed       INTEGER NOT NULL,          -- 1 when mail-parser produced a message
    message_id   TEXT,                      -- without angle brackets
    date         INTEGER,                   -- unix seconds, UTC
    date_offset  INTEGER,                   -- the sender's zone, minutes east of UTC
    from_name    TEXT,
    from_addr    TEXT,                      -- lower-cased
    subject      TEXT,
    in_reply_to  TEXT,
    list_id      TEXT,
    header_json  TEXT NOT NULL,             -- to/cc/bcc/reply-to/sender/references/date text
    attachment_count INTEGER NOT NULL DEFAULT 0,
    thread_id    INTEGER,
    run          INTEGER NOT NULL           -- ingest run that first stored it
);
CREATE INDEX messages_message_id ON messages(message_id);
CREATE INDEX messages_date ON messages(date);
CREATE INDEX messages_from ON messages(from_addr);
CREATE INDEX messages_thread ON messages(thread_id);

-- Every address of every message, for `list --from`, correspondents and search.
CREATE TABLE addresses (
    message  INTEGER NOT NULL REFERENCES messages(id),
    role     TEXT NOT NULL,                 -- from, to, cc, bcc, reply_to, sender
    position INTEGER NOT NULL,
    name     TEXT,
    addr     TEXT
);
CREATE INDEX addresses_addr ON addresses(addr, role);
CREATE INDEX addresses_message ON addresses(message);

-- References and In-Reply-To ids in header order, for threading.
CREATE TABLE refs (
    message  INTEGER NOT NULL REFERENCES messages(id),
    position INTEGER NOT NULL,
    ref      TEXT NOT NULL
);
CREATE INDEX refs_message ON refs(message);

-- Attachments, including parts of nested message/rfc822 and files unpacked from TNEF.
CREATE TABLE attachments (
    message      INTEGER NOT NULL REFERENCES messages(id),
    position     INTEGER NOT NULL,          -- order within the message
    part         TEXT NOT NULL,             -- MIME part path, e.g. "2", "2.1", "3/tnef:1"
    origin       TEXT NOT NULL,             -- mime, rfc822, tnef
    hash         TEXT NOT NULL,             -- blob address of the decoded bytes
    size         INTEGER NOT NULL,
    filename     TEXT,
    content_type TEXT,
    PRIMARY KEY (message, position)
);
CREATE INDEX attachments_hash ON attachments(hash);

-- Problems found while parsing: the message is stored all the same.
CREATE TABLE problems (
    message INTEGER NOT NULL REFERENCES messages(id),
    code    TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX problems_message ON problems(message);

-- Every input the vault has read: a file, or a maildir/directory of loose messages.
CREATE TABLE sources (
    id    INTEGER PRIMARY KEY,
    path  TEXT NOT NULL UNIQUE,
    kind  TEXT NOT NULL,
    run   INTEGER NOT NULL
);

-- Every place a message was seen: duplicates are extra rows pointing at the same message.
CREATE TABLE occurrences (
    source   INTEGER NOT NULL REFERENCES sources(id),
    locator  TEXT NOT NULL,                 -- index in an mbox, entry or file name
    message  INTEGER NOT NULL REFERENCES messages(id),
    envelope TEXT,                          -- the mbox `From ` line, without line ending
    folder   TEXT,                          -- maildir folder or archive directory
    flags    TEXT,                          -- maildir flags (e.g. "RS")
    PRIMARY KEY (source, locator)
);
CREATE INDEX occurrences_message ON occurrences(message);

-- Files inside inputs that are not mail (images, summaries…): listed, never silently dropped.
CREATE TABLE skipped (
    source  INTEGER NOT NULL REFERENCES sources(id),
    locator TEXT NOT NULL,
    reason  TEXT NOT NULL,
    PRIMARY KEY (source, locator)
);

CREATE TABLE threads (
    id            INTEGER PRIMARY KEY,      -- the smallest message id in the thread
    subject       TEXT,
    message_count INTEGER NOT NULL,
    first_date    INTEGER,
    last_date     INTEGER
);

CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    summary     TEXT                        -- JSON of the ingest report
);
"#;

// Version 2: the release plan (`trove_vault::release`). Applied by `create` and, for vaults
// made by version 1, by `migrate` when the vault is opened.
const SCHEMA_V2: &str = r#"
-- One row per planned part, numbered in the order parts are added.
CREATE TABLE IF NOT EXISTS release_parts (
    part          INTEGER PRIMARY KEY,
    title         TEXT NOT NULL,
    selection     TEXT NOT NULL,            -- how it was defined (query, id list, plan)
    state         TEXT NOT NULL DEFAULT 'planned', -- planned | published
    release       INTEGER,                  -- the publication's release number once published
    published_at  INTEGER,
    publication   TEXT                      -- the publication directory it went to
);
-- Each vault message belongs to at most one part: a message never goes out twice.
CREATE TABLE IF NOT EXISTS release_messages (
    part           INTEGER NOT NULL REFERENCES release_parts(part),
    position       INTEGER NOT NULL,
    message        INTEGER NOT NULL UNIQUE REFERENCES messages(id),
    publication_id INTEGER UNIQUE,          -- emailid/N, assigned when the part is published
    PRIMARY KEY (part, position)
);
-- The daily schedule of `trove release run` (at most one row).
CREATE TABLE IF NOT EXISTS release_schedule (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    minute      INTEGER NOT NULL,           -- minutes after 00:00 UTC
    publication TEXT NOT NULL,              -- where `run` publishes
    last_slot   INTEGER                     -- the last scheduled time that was served
);
"#;

/// Brings a database made by an older build up to [`SCHEMA_VERSION`]; a no-op when current.
pub fn migrate(conn: &Connection) -> Result<()> {
    if version(conn)? < 2 {
        conn.execute_batch(SCHEMA_V2)?;
        conn.execute(
            "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
            [],
        )?;
    }
    Ok(())
}

/// Opens the database at `path` with the settings trove relies on (WAL, foreign keys).
pub fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    Ok(conn)
}

/// Creates the schema in an empty database.
pub fn create(conn: &Connection, created_at: i64) -> Result<()> {
    conn.execute_batch(SCHEMA_V1)?;
    conn.execute_batch(SCHEMA_V2)?;
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('schema_version', ?1), ('created_at', ?2)",
        (SCHEMA_VERSION.to_string(), created_at.to_string()),
    )?;
    Ok(())
}

/// The schema version recorded in the database.
pub fn version(conn: &Connection) -> Result<i64> {
    let v: String = conn.query_row(
        "SELECT value FROM meta WHERE key = 'schema_version'",
        [],
        |r| r.get(0),
    )?;
    Ok(v.parse().unwrap_or(0))
}
