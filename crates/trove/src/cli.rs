//! Command-line arguments (clap). These types only validate; `cmd/` does the work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// trove publishes leaked email archives: verified, searchable, released in stages, hard to
/// take down.
#[derive(Debug, Parser)]
#[command(name = "trove", version, propagate_version = true)]
#[command(after_help = "Start with `trove demo` to see a whole publication built and served.")]
pub struct Cli {
    /// The vault directory (default: the current directory, like git).
    #[arg(long, global = true, env = "TROVE_VAULT", value_name = "DIR")]
    pub vault: Option<PathBuf>,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new vault: SQLite database, blob store and the publisher's key pair.
    ///
    /// Example: trove init ./leak-vault
    Init {
        /// Directory to create (must be new or empty).
        dir: PathBuf,
    },
    /// Read mail dumps into the vault (mbox, maildir, .eml, directories, zip/tar/gz/zst).
    ///
    /// Every message is stored with its exact bytes; exact duplicates are counted and linked;
    /// unparseable messages are stored raw and flagged; files that are not mail are listed.
    /// Re-running on the same inputs adds nothing; a killed run can simply be re-run.
    ///
    /// Example: trove --vault ./leak-vault ingest dump.mbox maildir/ archive.tar.zst
    Ingest(IngestArgs),
    /// Counts over the whole vault.
    ///
    /// Example: trove stats --json
    Stats {
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// List messages, optionally filtered.
    ///
    /// Example: trove list --from alice@example.org --since 2016-10-01 --json
    List {
        /// Only messages with this From address.
        #[arg(long, value_name = "ADDR")]
        from: Option<String>,
        /// Only messages dated on or after this day (YYYY-MM-DD, UTC).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Only messages dated on or before this day (YYYY-MM-DD, UTC; the whole day counts).
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// At most N messages.
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Show one message: headers, attachments, where it came from, problems.
    ///
    /// Example: trove show 42 --raw > 42.eml
    Show {
        /// The message's vault id.
        id: i64,
        /// Write exactly the stored raw bytes to standard output.
        #[arg(long, conflicts_with = "json")]
        raw: bool,
        /// Print everything as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Build a demo vault from a synthetic corpus (every message marked as synthetic).
    ///
    /// Example: trove demo --dir /tmp/trove-demo
    Demo(DemoArgs),
    /// Plan and publish releases: parts of the vault going out one by one, signed.
    ///
    /// Example: trove release plan --parts 3 --by date && trove release publish --to ./pub
    #[command(subcommand)]
    Release(ReleaseCommand),
    /// Check a publication: every signature, chain link, blob hash and the freshness pointer.
    ///
    /// Example: trove publication verify ./pub
    #[command(subcommand)]
    Publication(PublicationCommand),
    /// Search the vault: fielded full-text search over messages and attachment text.
    ///
    /// Uses the vault's search index (built on first use, kept current by `ingest` and
    /// `release`). Prints hits newest first or best first, with snippets; `--json` prints
    /// {"total":N,"hits":[{"id","score","date","from","subject","snippet"}],"facets":{…}}.
    /// Exit 0 with hits, 1 without, 2 on a bad query.
    ///
    /// Example: trove search 'from:axboe@kernel.dk "io_uring_enter" date:2020-01..2020-03' --sort date
    #[command(after_long_help = trove_vault::trove_search::QUERY_SYNTAX)]
    Search(SearchArgs),
    /// Delete the vault's search index and build it again from the stored messages.
    ///
    /// The index is derived data; `ingest` and `release` update it incrementally, so this is
    /// only needed after a crash, an upgrade, or to reclaim space.
    ///
    /// Example: trove --vault ./leak-vault reindex
    Reindex {
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Serve a publication directory (never a vault) as a website, JSON API and mirror source.
    ///
    /// Example: trove serve ./publication --listen 127.0.0.1:8080
    Serve(ServeArgs),
}

/// `trove release …`.
#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Split every message not yet in a part into N new parts.
    ///
    /// Example: trove release plan --parts 30 --by count
    Plan {
        /// How many parts.
        #[arg(long, value_name = "N")]
        parts: usize,
        /// `date`: equal spans of time; `count`: equal numbers of messages (in date order).
        #[arg(long, value_name = "date|count", default_value = "count")]
        by: String,
    },
    /// Add one part: the messages a query or id list selects (those not already in a part).
    ///
    /// Example: trove release add --title "Part 2" --query "date:2016-10-07..2016-10-09"
    Add {
        /// Title of the part.
        #[arg(long)]
        title: String,
        /// A search query selecting the messages (the `trove search` language, e.g.
        /// 'date:2016-10-07..2016-10-09 from:podesta'); see `trove search --help`.
        #[arg(long, conflicts_with = "ids", required_unless_present = "ids")]
        query: Option<String>,
        /// Id list such as 1,2,5-9.
        #[arg(long)]
        ids: Option<String>,
    },
    /// List the parts and their state.
    ///
    /// Example: trove release list --json
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Publish the next planned part (or PART) into the publication directory.
    ///
    /// Example: trove release publish --to ./pub
    Publish {
        /// The part number (default: the lowest planned one).
        part: Option<i64>,
        /// The publication directory (created when missing).
        #[arg(long, value_name = "PUBDIR")]
        to: PathBuf,
        #[command(flatten)]
        common: PublishFlags,
    },
    /// Publish one part a day at HH:MM UTC (with `trove release run` from cron or systemd).
    ///
    /// Example: trove release schedule --daily 09:00 --to /srv/pub
    Schedule {
        /// Time of day, HH:MM UTC.
        #[arg(long, value_name = "HH:MM")]
        daily: String,
        /// The publication directory.
        #[arg(long, value_name = "PUBDIR")]
        to: PathBuf,
    },
    /// Publish whatever the schedule says is due now (at most one part); safe to call often.
    ///
    /// Example: trove --vault /srv/vault release run
    Run {
        #[command(flatten)]
        common: PublishFlags,
    },
}

/// Options shared by `publish` and `run`.
#[derive(Debug, Args)]
pub struct PublishFlags {
    /// Name of the publication (when it is created).
    #[arg(long, default_value = "trove publication")]
    pub name: String,
    /// How long the signed freshness pointer stays valid, in days.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub valid_days: u64,
    /// Do not fsync (throwaway publications only).
    #[arg(long)]
    pub no_fsync: bool,
    /// Publish as of this Unix time instead of the clock (reproducible runs, tests).
    #[arg(long, hide = true, value_name = "UNIX")]
    pub now: Option<u64>,
}

/// `trove publication …`.
#[derive(Debug, Subcommand)]
pub enum PublicationCommand {
    /// Verify a publication directory; names each bad file. Exit 0 ok, 1 problems.
    ///
    /// Example: trove publication verify ./pub --key 3b6a…
    Verify {
        /// The publication directory.
        target: String,
        /// Pin the publisher's public key (hex).
        #[arg(long, value_name = "HEX")]
        key: Option<String>,
        /// Check as of this Unix time instead of the clock.
        #[arg(long, hide = true, value_name = "UNIX")]
        now: Option<u64>,
    },
}

/// Arguments of `trove ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files or directories to read; `-` reads standard input.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print one JSON object (seen, stored, duplicates, unparseable, …) instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Largest single message, in bytes (suffixes K, M, G accepted).
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = parse_size)]
    pub max_message_size: u64,
    /// Most bytes expanded from one archive or compressed file.
    #[arg(long, value_name = "SIZE", default_value = "1T", value_parser = parse_size)]
    pub max_expanded: u64,
    /// Most entries read from one archive.
    #[arg(long, value_name = "N", default_value_t = 10_000_000)]
    pub max_entries: u64,
    /// Largest expansion ratio once an archive has produced more than 1 GiB.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub max_ratio: u64,
    /// Do not fsync blobs (faster; for throwaway vaults only).
    #[arg(long)]
    pub no_fsync: bool,
}

/// Arguments of `trove demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to build the demo (default: a fresh temporary directory).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Parses sizes such as `512`, `64K`, `256M`, `1G`, `1T`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown size suffix in {s:?} (use K, M, G or T)")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (examples: 512, 64K, 256M, 1G)"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// Arguments of `trove search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The query (quote it for the shell); the language is described below.
    #[arg(value_name = "QUERY")]
    pub query: String,
    /// Print one JSON object: total, hits, facets.
    #[arg(long)]
    pub json: bool,
    /// Hits to show (at most 1000).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
    /// Hits to skip (paging; offset + limit at most 10000).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub offset: usize,
    /// Order: `relevance` (best first) or `date` (newest first).
    #[arg(long, value_name = "date|relevance", default_value = "relevance")]
    pub sort: String,
}

/// Arguments of `trove serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The publication directory.
    pub dir: PathBuf,
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub listen: String,
    /// Requests per second allowed per client IP; 0 turns rate limiting off.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub rate_limit: u32,
}
