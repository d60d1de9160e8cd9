//! `trove mirror`, `trove serve --mirror-of` and `trove publication verify URL`: wiring to
//! trove-mirror.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::ProgressBar;
use trove_mirror::{
    Error, FollowEvent, FollowOptions, Mirror, Options, Outcome, Progress, PublicKey, SyncReport,
};

use crate::cli::{MirrorArgs, MirrorLimits};
use crate::ui;

/// Mirror options from the command line.
pub fn options(limits: &MirrorLimits, key: Option<&str>) -> Result<Options> {
    let key = key
        .map(|k| {
            PublicKey::from_hex(k.trim())
                .with_context(|| format!("--key {k:?} is not a 32-byte hex public key"))
        })
        .transpose()?;
    Ok(Options {
        key,
        workers: limits.workers.max(1),
        timeout: Duration::from_secs(limits.timeout.max(1)),
        max_file_size: limits.max_file_size,
        max_sync_bytes: limits.max_sync_size,
        max_sync_time: Duration::from_secs(limits.max_sync_time.max(1)),
        fsync: !limits.no_fsync,
        bulk: !limits.no_bulk,
        now: limits.now,
        ..Options::default()
    })
}

/// `trove mirror URL DIR`. Exit 0: up to date; 1: rejected or unreachable; 2: usage error.
pub fn run(args: MirrorArgs) -> Result<i32> {
    let mut origins = vec![args.url.clone()];
    origins.extend(args.from.iter().cloned());
    let opts = options(&args.limits, args.key.as_deref())?;
    let mirror = Mirror::new(&args.dir, &origins, opts)?;
    let bar = Bar::new(args.quiet || args.json);
    if !args.follow {
        let result = mirror.sync(&bar);
        bar.done();
        return finish(&mirror, result, args.json);
    }
    let follow = FollowOptions {
        interval: Duration::from_secs(args.interval.max(1)),
        ..FollowOptions::default()
    };
    let stop = AtomicBool::new(false);
    let mut fatal = None;
    mirror.follow(&follow, &stop, &bar, &mut |event| {
        bar.done();
        match event {
            FollowEvent::Synced(r, next) => {
                report(&mirror, r, args.json);
                if !args.json {
                    println!("  next poll in {} s", next.as_secs());
                }
            }
            FollowEvent::Failed(e, next) => {
                eprintln!("trove: mirror: {e}");
                eprintln!(
                    "  kept {}; next try in {} s",
                    held(mirror.dir()),
                    next.as_secs()
                );
                if is_fatal(e) {
                    fatal = Some(e.to_string());
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
    });
    match fatal {
        Some(e) => anyhow::bail!("{e}"),
        None => Ok(0),
    }
}

/// Errors that no retry can fix (the operator must act).
fn is_fatal(e: &Error) -> bool {
    matches!(
        e,
        Error::PinMismatch { .. } | Error::BadPin { .. } | Error::BadUrl(_)
    )
}

fn finish(mirror: &Mirror, result: Result<SyncReport, Error>, json: bool) -> Result<i32> {
    match result {
        Ok(r) => {
            report(mirror, &r, json);
            Ok(if r.saw_rejection() { 1 } else { 0 })
        }
        Err(e) if is_fatal(&e) || matches!(e, Error::Local(_)) => Err(e.into()),
        Err(e) => {
            eprintln!("trove: mirror: {e}");
            eprintln!("  kept {}", held(mirror.dir()));
            if json {
                println!(
                    "{}",
                    serde_json::json!({"outcome": "failed", "error": e.to_string(), "rejected": e.is_rejection()})
                );
            }
            Ok(1)
        }
    }
}

/// What the mirror directory serves now, in words.
fn held(dir: &Path) -> String {
    match trove_mirror::Publication::open(dir) {
        Ok(p) => format!(
            "release {} ({} messages) as the last good state",
            p.latest_release(),
            p.message_count()
        ),
        Err(_) => "nothing (the mirror is still empty)".into(),
    }
}

fn report(mirror: &Mirror, r: &SyncReport, json: bool) {
    if json {
        let outcome = match r.outcome {
            Outcome::UpToDate => "up-to-date",
            Outcome::Refreshed => "refreshed",
            Outcome::Updated { .. } => "updated",
        };
        let skipped: Vec<_> = r
            .skipped
            .iter()
            .map(|f| serde_json::json!({"origin": f.origin, "reason": f.reason, "rejected": f.problem.is_some()}))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "outcome": outcome,
                "from": match r.outcome { Outcome::Updated { from } => Some(from), _ => None },
                "release": r.release,
                "messages": r.messages,
                "origin": r.origin,
                "downloaded": r.downloaded,
                "extracted": r.extracted,
                "reused": r.reused,
                "bytes": r.bytes,
                "requests": r.requests,
                "seconds": r.elapsed.as_secs_f64(),
                "skipped": skipped,
            })
        );
        return;
    }
    let dir = mirror.dir().display();
    match r.outcome {
        Outcome::UpToDate => println!(
            "Mirror {dir} is up to date: release {} ({} messages).",
            r.release, r.messages
        ),
        Outcome::Refreshed => println!(
            "Mirror {dir}: release {} ({} messages), freshness pointer renewed from {}.",
            r.release,
            r.messages,
            r.origin.as_deref().unwrap_or("?")
        ),
        Outcome::Updated { from } => {
            println!(
                "Mirror {dir}: release {from} -> {} ({} messages), verified, from {}.",
                r.release,
                r.messages,
                r.origin.as_deref().unwrap_or("?")
            );
            println!(
                "  {} files downloaded, {} messages from bulk zips, {} already here; {} in {} requests, {:.1} s",
                r.downloaded,
                r.extracted,
                r.reused,
                ui::bytes(r.bytes),
                r.requests,
                r.elapsed.as_secs_f64()
            );
        }
    }
    for f in &r.skipped {
        println!("  skipped {f}");
    }
}

/// The progress bar of a sync (bytes of files staged and verified).
struct Bar {
    bar: ProgressBar,
    files: std::sync::atomic::AtomicU64,
    total: std::sync::atomic::AtomicU64,
}

impl Bar {
    fn new(quiet: bool) -> Bar {
        Bar {
            bar: crate::ui::bytes_bar(quiet),
            files: Default::default(),
            total: Default::default(),
        }
    }

    fn done(&self) {
        self.bar.finish_and_clear();
        self.bar.reset();
    }
}

impl Progress for Bar {
    fn planned(&self, files: u64, bytes: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.bar.reset();
        self.bar.set_length(bytes);
        self.files.store(0, Relaxed);
        self.total.store(files, Relaxed);
        self.bar.set_message(format!("0/{files} files"));
    }
    fn fetched(&self, files: u64, bytes: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let done = self.files.fetch_add(files, Relaxed) + files;
        self.bar.inc(bytes);
        self.bar
            .set_message(format!("{done}/{} files", self.total.load(Relaxed)));
    }
    fn note(&self, text: &str) {
        self.bar.suspend(|| eprintln!("  {text}"));
    }
}

/// `trove publication verify URL`: a verifying sync into a temporary directory, then the
/// whole-directory check. Exit 0 ok, 1 problems.
pub fn verify_url(url: &str, key: Option<&str>, now: Option<u64>) -> Result<i32> {
    let tmp = tempfile::Builder::new()
        .prefix("trove-verify-")
        .tempdir()
        .context("creating a temporary directory")?;
    let limits = MirrorLimits {
        timeout: 30,
        workers: 8,
        max_file_size: 4 << 30,
        max_sync_size: 1 << 40,
        max_sync_time: 86_400,
        no_fsync: true,
        no_bulk: false,
        now,
    };
    let opts = options(&limits, key)?;
    let pinned = opts.key;
    let mirror = Mirror::new(tmp.path(), &[url.to_string()], opts)?;
    let bar = Bar::new(false);
    let result = mirror.sync(&bar);
    bar.done();
    let r = match result {
        Ok(r) => r,
        Err(e) if is_fatal(&e) || matches!(e, Error::Local(_)) => return Err(e.into()),
        Err(e) => {
            println!("{url}: {e}");
            return Ok(1);
        }
    };
    let mut o = trove_mirror::VerifyOptions::new(now.unwrap_or_else(trove_mirror::unix_now));
    o.pinned_key = pinned;
    let report = trove_mirror::verify_dir(tmp.path(), &o);
    println!("{report}");
    println!(
        "  ({} downloaded from {url} in {:.1} s)",
        ui::bytes(r.bytes),
        r.elapsed.as_secs_f64()
    );
    Ok(if report.is_ok() { 0 } else { 1 })
}

/// `trove serve DIR --mirror-of URL…`: sync once (waiting until DIR holds a publication),
/// then follow in the background while serving.
pub fn start_following(
    dir: &Path,
    origins: &[String],
    key: Option<&str>,
    interval: u64,
) -> Result<()> {
    let limits = MirrorLimits {
        timeout: 30,
        workers: 8,
        max_file_size: 4 << 30,
        max_sync_size: 1 << 40,
        max_sync_time: 86_400,
        no_fsync: false,
        no_bulk: false,
        now: None,
    };
    let mirror = Mirror::new(dir, origins, options(&limits, key)?)?;
    let interval = Duration::from_secs(interval.max(1));
    let mut wait = interval;
    loop {
        match mirror.sync(&()) {
            Ok(r) => {
                report(&mirror, &r, false);
                break;
            }
            Err(e) if is_fatal(&e) || matches!(e, Error::Local(_)) => return Err(e.into()),
            Err(e) => {
                eprintln!("trove: mirror: {e}");
                if trove_mirror::Publication::open(dir).is_ok() {
                    eprintln!("  serving {}", held(dir));
                    break;
                }
                eprintln!("  nothing to serve yet; next try in {} s", wait.as_secs());
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(3600));
            }
        }
    }
    std::thread::spawn(move || {
        let stop = AtomicBool::new(false);
        let follow = FollowOptions {
            interval,
            ..FollowOptions::default()
        };
        mirror.follow(&follow, &stop, &(), &mut |event| match event {
            FollowEvent::Synced(r, _) if r.outcome != Outcome::UpToDate => {
                report(&mirror, r, false)
            }
            FollowEvent::Synced(r, _) => {
                for f in &r.skipped {
                    eprintln!("trove: mirror: skipped {f}");
                }
            }
            FollowEvent::Failed(e, next) => {
                eprintln!("trove: mirror: {e}; next try in {} s", next.as_secs())
            }
        });
    });
    Ok(())
}
