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
        /// Write into DIR the exact bytes each signature checked with a key covered (header
        /// block, signature, canonical body, public key), and print the openssl commands that
        /// check them without trove.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["raw", "json"])]
        signed_data: Option<std::path::PathBuf>,
    },
    /// Build a demo vault from a synthetic corpus (every message marked as synthetic),
    /// publish two releases of it and serve them at http://127.0.0.1:8080.
    ///
    /// Example: trove demo --dir /tmp/trove-demo  (or --no-serve, --listen 127.0.0.1:0)
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
    /// Verify every DKIM signature (and ARC chain) in the vault, offline, against the key store.
    ///
    /// Parallel and resumable: only messages not yet checked are verified (all with --all);
    /// adding a key re-opens the messages that lacked it. Expiry (x=) is judged at each
    /// signature's own time (t=) unless --now or --at is given, and never hides the
    /// cryptographic verdict. Results: pass, fail, no_key, key_revoked, key_malformed,
    /// unsupported, malformed, legacy. Exit 0 when nothing is wrong; 1 when a signature is
    /// fail, malformed, key_malformed or key_revoked (no_key, unsupported and legacy are not
    /// problems, only unknowns); 2 on error.
    ///
    /// Example: trove keys import historic_public_keys.txt && trove verify --report
    Verify(VerifyArgs),
    /// The historic DKIM key store: add, import and list public keys with their provenance.
    ///
    /// Example: trove keys import keys/historic_public_keys.txt
    #[command(subcommand)]
    Keys(KeysCommand),
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
    /// Mirror a publication from any HTTP source into DIR, verifying everything first.
    ///
    /// Pulls from a `trove serve` node (its root or /pub/ URL), another mirror, or any static
    /// host serving a publication folder. The descriptor, every signature, the chain of
    /// manifests, every blob hash and the freshness pointer are checked before anything becomes
    /// visible; the switch to the new state is atomic; an interrupted sync resumes. The
    /// publisher key is pinned at first contact (or given with --key). Exit 0: mirror up to
    /// date; 1: an origin was rejected or unreachable (the last good state is kept); 2: error.
    ///
    /// Example: trove mirror https://leaks.example.org/ ./mirror --from https://m2.example.net/ --follow
    Mirror(MirrorArgs),
    /// Render a publication for hosts that serve only files.
    ///
    /// Example: trove export static ./publication ./site
    #[command(subcommand)]
    Export(ExportCommand),
}

/// `trove export …`.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Render a publication directory as a static website: the pages of `trove serve`
    /// with relative links (works from any static host, under any sub-path), a search
    /// that runs in the browser (and a browse page without JavaScript), and the
    /// publication's own files under pub/ so `trove mirror` can pull from the copy.
    ///
    /// Writes OUT.tmp, verifies the copy, then replaces OUT; a re-run reuses what did
    /// not change. OUT must be new, empty, or an earlier export.
    ///
    /// Example: trove export static ./publication ./site && rsync -a ./site/ host:/var/www/leak/
    Static(ExportStaticArgs),
}

/// Arguments of `trove export static`.
#[derive(Debug, Args)]
pub struct ExportStaticArgs {
    /// The publication directory (never a vault).
    pub pubdir: PathBuf,
    /// The folder to write the website into.
    pub out: PathBuf,
    /// Render everything again, ignoring the earlier export in OUT.
    #[arg(long)]
    pub full: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Verify the copy as of this Unix time instead of the clock.
    #[arg(long, hide = true, value_name = "UNIX")]
    pub now: Option<u64>,
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

/// Arguments of `trove mirror`.
#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// Base URL of the publication (http:// or https://).
    pub url: String,
    /// The mirror directory (created when missing); serve it with `trove serve DIR`.
    pub dir: PathBuf,
    /// Another origin of the same publication to fall over to (repeat for more).
    #[arg(long = "from", value_name = "URL")]
    pub from: Vec<String>,
    /// The publisher's public key (hex); default: trust the key seen first and pin it.
    #[arg(long, value_name = "HEX")]
    pub key: Option<String>,
    /// Keep the mirror current: sync every --interval seconds, backing off while origins fail.
    #[arg(long)]
    pub follow: bool,
    /// Seconds between polls with --follow.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub interval: u64,
    #[command(flatten)]
    pub limits: MirrorLimits,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print one JSON object per sync instead of the summary.
    #[arg(long)]
    pub json: bool,
}

/// Download bounds and tuning shared by `trove mirror` and `trove serve --mirror-of`.
#[derive(Debug, Args, Clone)]
pub struct MirrorLimits {
    /// Seconds allowed to connect, to get response headers, and per read; slower bodies
    /// are cut off.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub timeout: u64,
    /// Parallel downloads.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub workers: usize,
    /// Largest blob or bulk file accepted (suffixes K, M, G, T).
    #[arg(long, default_value = "4G", value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: u64,
    /// Most bytes one sync may download.
    #[arg(long, default_value = "1T", value_name = "SIZE", value_parser = parse_size)]
    pub max_sync_size: u64,
    /// Longest one sync may take, in seconds.
    #[arg(long, default_value_t = 86_400, value_name = "SECONDS")]
    pub max_sync_time: u64,
    /// Do not fsync (throwaway copies, benchmarks).
    #[arg(long)]
    pub no_fsync: bool,
    /// Fetch every message blob on its own instead of from the release zips.
    #[arg(long)]
    pub no_bulk: bool,
    /// Check freshness as of this Unix time instead of the clock (tests).
    #[arg(long, hide = true, value_name = "UNIX")]
    pub now: Option<u64>,
}

/// `trove publication …`.
#[derive(Debug, Subcommand)]
pub enum PublicationCommand {
    /// Verify a publication directory or URL; names each bad file. Exit 0 ok, 1 problems.
    ///
    /// A URL is downloaded into a temporary directory by the mirror's verifying sync (every
    /// signature and hash checked as it arrives), then checked whole.
    ///
    /// Example: trove publication verify ./pub --key 3b6a…
    /// Example: trove publication verify https://leaks.example.org/pub/
    Verify {
        /// The publication directory, or its base URL.
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
    /// Stop after publishing instead of serving the demo publication.
    #[arg(long)]
    pub no_serve: bool,
    /// Where to serve the demo publication (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub listen: String,
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
    /// With --json: leave the facets out (they are counted over every match, which costs
    /// time on broad queries).
    #[arg(long, requires = "json")]
    pub no_facets: bool,
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
    /// Mirror these origins into DIR and serve it, following them (poll interval:
    /// TROVE_MIRROR_INTERVAL seconds, default 60). DIR may start empty.
    #[arg(long, value_name = "URL", num_args = 1..)]
    pub mirror_of: Vec<String>,
    /// With --mirror-of: the publisher's public key (hex); default: trust on first use.
    #[arg(long, value_name = "HEX", requires = "mirror_of")]
    pub mirror_key: Option<String>,
    /// With --mirror-of: seconds between polls.
    #[arg(
        long,
        env = "TROVE_MIRROR_INTERVAL",
        default_value_t = 60,
        value_name = "SECONDS"
    )]
    pub mirror_interval: u64,
    /// Requests per second per client IP under /pub/ (mirrors); 0: unlimited.
    #[arg(long, default_value_t = 2000, value_name = "N")]
    pub pub_rate_limit: u32,
    /// Directory for the derived full-text index (default: RAM for small
    /// publications, else ~/.cache/trove/web-index); never inside DIR unless given.
    #[arg(long, value_name = "DIR")]
    pub index_dir: Option<PathBuf>,
}

/// Arguments of `trove verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Verify every message again, not only those not yet checked.
    #[arg(long)]
    pub all: bool,
    /// Judge signature expiry (x=) at the current time instead of each signature's t=.
    #[arg(long, conflicts_with = "at")]
    pub now: bool,
    /// Judge signature expiry (x=) at this Unix time.
    #[arg(long, value_name = "UNIX")]
    pub at: Option<u64>,
    /// Look keys missing from the store up in live DNS; answers are stored with the date.
    #[arg(long)]
    pub dns: bool,
    /// The DNS server to ask (ADDR or ADDR:PORT; default: the system resolver).
    #[arg(long, value_name = "ADDR", requires = "dns")]
    pub dns_server: Option<String>,
    /// Seconds to wait for each DNS answer.
    #[arg(long, value_name = "SECS", default_value_t = 5, requires = "dns")]
    pub dns_timeout: u64,
    /// Print the full table: every signing domain with its counts, reasons and warnings.
    #[arg(long, conflicts_with_all = ["json", "jsonl"])]
    pub report: bool,
    /// Print one JSON object: {"signatures": N, "results": {"pass": N, …}, "domains": {…}, …}.
    #[arg(long, conflicts_with = "jsonl")]
    pub json: bool,
    /// Print one JSON line per signature (id, message_id, sig_index, domain, selector, result,
    /// reason, warnings, key provenance …).
    #[arg(long)]
    pub jsonl: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `trove keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add one public key for a selector and domain, given as PEM, base64 or DNS TXT text.
    ///
    /// Example: trove keys add --domain gmail.com --selector 20120113 --txt "v=DKIM1; k=rsa; p=MIIB…"
    #[command(group(clap::ArgGroup::new("key").required(true).args(["pem", "base64", "txt"])))]
    Add {
        /// Signing domain (d=).
        #[arg(long, value_name = "D")]
        domain: String,
        /// Selector (s=).
        #[arg(long, value_name = "S")]
        selector: String,
        /// A PEM file holding the public key.
        #[arg(long, value_name = "FILE")]
        pem: Option<PathBuf>,
        /// The public key as base64 (SubjectPublicKeyInfo, PKCS#1 RSA or raw Ed25519).
        #[arg(long, value_name = "B64")]
        base64: Option<String>,
        /// The DNS TXT record text, e.g. "v=DKIM1; k=rsa; p=MIIB…".
        #[arg(long, value_name = "TXT")]
        txt: Option<String>,
        /// Where the key came from (recorded as its provenance).
        #[arg(long, value_name = "TEXT")]
        source: Option<String>,
    },
    /// Import a key file: lines `<selector>._domainkey.<domain> <TXT record>` (# comments).
    ///
    /// Example: trove keys import ../shared/data/dkim/keys/historic_public_keys.txt
    Import {
        /// The key file.
        file: PathBuf,
        /// Where the keys came from (default: "imported from FILE").
        #[arg(long, value_name = "TEXT")]
        source: Option<String>,
    },
    /// List the stored keys with type, fingerprint, provenance and when they were added.
    ///
    /// Example: trove keys list --json
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}
