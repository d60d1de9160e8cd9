//! The attack suite (TUF's threat list) and the mirror's normal life, each
//! against a real HTTP server on 127.0.0.1. Every attack must be rejected
//! with an error naming what failed, and the mirror's visible files must stay
//! exactly its last good state.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::*;
use trove_mirror::{Error, Mirror, Options, Outcome, SyncReport};
use trove_publication::{
    layout, seal, verify_dir, FreshnessPointer, ObjectKind, Publication, PublisherKey,
    VerifyOptions,
};

/// A moment when parts 1 and 2 (published at T0+1d, T0+2d, valid 7 days) are fresh.
const NOW: u64 = T0 + 2 * DAY + 3600;

fn options() -> Options {
    Options {
        now: Some(NOW),
        fsync: false,
        workers: 4,
        timeout: Duration::from_secs(2),
        min_speed: 2_000,
        ..Options::default()
    }
}

fn sync(dir: &Path, origins: &[String], opts: Options) -> Result<SyncReport, Error> {
    Mirror::new(dir, origins, opts)?.sync(&())
}

/// The mirror verifies completely (every blob hashed) at release `release`.
fn assert_holds(dir: &Path, release: u64) {
    let mut o = VerifyOptions::new(NOW);
    o.pinned_key = Some(PublisherKey::from_seed(SEED).public_key());
    let r = verify_dir(dir, &o);
    assert!(r.is_ok(), "mirror does not verify: {:?}", r.problems);
    assert_eq!(r.release, release);
    assert!(r.unlisted.is_empty(), "unlisted files: {:?}", r.unlisted);
}

/// Origin with part 1, a mirror of it, then part 2 published at the origin.
struct Scene {
    _tmp: tempfile::TempDir,
    origin: std::path::PathBuf,
    mirror: std::path::PathBuf,
    server: Server,
    before: std::collections::HashMap<String, Vec<u8>>,
}

fn scene() -> Scene {
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("origin");
    let mirror = tmp.path().join("mirror");
    let mut w = writer(&origin, SEED, "origin");
    publish_part(&mut w, 1);
    let server = Server::start(&origin);
    let r = sync(&mirror, &[server.url()], options()).unwrap();
    assert_eq!(r.outcome, Outcome::Updated { from: 0 });
    assert_holds(&mirror, 1);
    publish_part(&mut w, 2);
    let before = tree(&mirror);
    Scene {
        _tmp: tmp,
        origin,
        mirror,
        server,
        before,
    }
}

impl Scene {
    /// The attack was refused: error names `what`, mirror unchanged.
    fn refused(&self, result: Result<SyncReport, Error>, what: &[&str]) -> Error {
        let e = match result {
            Ok(r) => panic!("attack accepted: {r:?}"),
            Err(e) => e,
        };
        let text = e.to_string();
        for w in what {
            assert!(text.contains(w), "error {text:?} does not name {w:?}");
        }
        assert!(tree(&self.mirror) == self.before, "visible files changed");
        assert_holds(&self.mirror, 1);
        e
    }

    fn url(&self) -> String {
        self.server.url()
    }

    fn release2(&self) -> trove_publication::Manifest {
        Publication::open(&self.origin)
            .unwrap()
            .manifest(2)
            .unwrap()
            .clone()
    }
}

#[test]
fn first_sync_incremental_sync_and_refresh() {
    let s = scene();
    // Part 1 arrived with the message blobs taken out of the zip.
    let m2 = s.release2();
    let r = sync(&s.mirror, &[s.url()], options()).unwrap();
    assert_eq!(r.outcome, Outcome::Updated { from: 1 });
    assert_eq!((r.release, r.messages), (2, 10));
    assert_eq!(r.extracted, 5, "message blobs from the bulk zip");
    // Zip, mbox and the attachment downloaded; no per-message requests.
    assert_eq!(r.downloaded, 3, "{r:?}");
    let msg_requests = s
        .server
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|p| {
            m2.messages
                .iter()
                .any(|e| p.ends_with(&e.blob.to_hex()[2..]))
        })
        .count();
    assert_eq!(msg_requests, 0);
    assert_holds(&s.mirror, 2);
    for (path, bytes) in tree(&s.origin) {
        assert_eq!(tree(&s.mirror).get(&path), Some(&bytes), "{path}");
    }
    // Nothing new: up to date, no download.
    let r = sync(&s.mirror, &[s.url()], options()).unwrap();
    assert_eq!(r.outcome, Outcome::UpToDate);
    // The publisher refreshes the pointer: the mirror takes it.
    let mut w = writer(&s.origin, SEED, "origin");
    w.refresh(NOW, NOW + 7 * DAY).unwrap();
    let r = sync(&s.mirror, &[s.url()], options()).unwrap();
    assert_eq!(r.outcome, Outcome::Refreshed);
    assert_eq!(
        read(&s.mirror, "freshness.json"),
        read(&s.origin, "freshness.json")
    );
    // The pin was taken at first contact.
    let pin = std::fs::read_to_string(s.mirror.join(trove_mirror::PIN_PATH)).unwrap();
    assert_eq!(
        pin.trim(),
        PublisherKey::from_seed(SEED).public_key().to_hex()
    );
}

#[test]
fn without_bulk_files_every_blob_is_fetched() {
    let s = scene();
    let opts = Options {
        bulk: false,
        ..options()
    };
    let r = sync(&s.mirror, &[s.url()], opts).unwrap();
    assert_eq!((r.extracted, r.downloaded), (0, 8));
    assert_holds(&s.mirror, 2);
}

#[test]
fn tampered_blob_is_rejected() {
    let s = scene();
    let m2 = s.release2();
    // The attachment (no bulk file carries it) with one byte changed.
    let att = m2.messages[2].attachments[0].blob;
    let path = layout::blob_path(&att);
    let mut bad = read(&s.origin, &path);
    bad[10] ^= 1;
    let p = path.clone();
    s.server
        .rule(move |q| (q == p).then(|| Reply::Bytes(bad.clone())));
    let e = s.refused(sync(&s.mirror, &[s.url()], options()), &[&path, "BLAKE3"]);
    assert!(e.is_rejection());
    // A message blob when bulk zips are not used (a new mirror: the first
    // attempt staged the good copy out of the zip).
    let s = scene();
    let m2 = s.release2();
    let msg = layout::blob_path(&m2.messages[0].blob);
    let mut bad = read(&s.origin, &msg);
    bad[0] ^= 0x20;
    let p = msg.clone();
    s.server
        .rule(move |q| (q == p).then(|| Reply::Bytes(bad.clone())));
    let opts = Options {
        bulk: false,
        ..options()
    };
    s.refused(sync(&s.mirror, &[s.url()], opts), &[&msg, "BLAKE3"]);
    // The bytes never reached a public path (checked by `refused`), and
    // the origin fixed: the next sync completes.
    s.server.clear_rules();
    sync(&s.mirror, &[s.url()], options()).unwrap();
    assert_holds(&s.mirror, 2);
}

#[test]
fn tampered_manifest_is_rejected() {
    let s = scene();
    let path = layout::manifest_path(2);
    let text = String::from_utf8(read(&s.origin, &path)).unwrap();
    let bad = text.replace("Part 2", "Part X").into_bytes();
    assert_ne!(bad, text.as_bytes());
    let p = path.clone();
    s.server
        .rule(move |q| (q == p).then(|| Reply::Bytes(bad.clone())));
    s.refused(
        sync(&s.mirror, &[s.url()], options()),
        &[&path, "bad signature"],
    );
}

#[test]
fn forged_signature_is_rejected() {
    let s = scene();
    // An attacker re-signs a changed manifest and a pointer to it with its own key.
    let attacker = PublisherKey::from_seed([9; 32]);
    let mut m2 = s.release2();
    m2.messages.truncate(1);
    let forged = seal(&attacker, ObjectKind::Manifest, &m2).unwrap();
    let p = Publication::open(&s.origin).unwrap();
    let pointer = FreshnessPointer {
        publication: p.id(),
        release: 2,
        manifest: forged.hash,
        issued_at: NOW - 60,
        expires_at: NOW + DAY,
    };
    let fptr = seal(&attacker, ObjectKind::Freshness, &pointer)
        .unwrap()
        .bytes;
    let mbytes = forged.bytes;
    let mp = layout::manifest_path(2);
    s.server.rule(move |q| {
        if q == "freshness.json" {
            Some(Reply::Bytes(fptr.clone()))
        } else if q == mp {
            Some(Reply::Bytes(mbytes.clone()))
        } else {
            None
        }
    });
    s.refused(
        sync(&s.mirror, &[s.url()], options()),
        &["freshness.json", "bad signature"],
    );
}

#[test]
fn different_publisher_key_is_rejected() {
    let s = scene();
    // The origin now serves another publisher's publication.
    let other = s.mirror.parent().unwrap().join("other");
    let mut w = writer(&other, [7; 32], "origin");
    publish_part(&mut w, 1);
    publish_part(&mut w, 2);
    s.server.set_root(&other);
    s.refused(
        sync(&s.mirror, &[s.url()], options()),
        &["descriptor.json", "is not the pinned key"],
    );
    // A fresh mirror given --key refuses it too, and pins nothing else.
    let fresh = s.mirror.parent().unwrap().join("fresh");
    let opts = Options {
        key: Some(PublisherKey::from_seed(SEED).public_key()),
        ..options()
    };
    let e = sync(&fresh, &[s.url()], opts).unwrap_err();
    assert!(e.to_string().contains("is not the pinned key"), "{e}");
    assert!(!fresh.join("descriptor.json").exists());
    // A key given that contradicts the pin is a usage error.
    let opts = Options {
        key: Some(PublisherKey::from_seed([7; 32]).public_key()),
        ..options()
    };
    let e = sync(&s.mirror, &[s.url()], opts).unwrap_err();
    assert!(matches!(e, Error::PinMismatch { .. }), "{e}");
}

#[test]
fn rollback_to_an_older_release_is_rejected() {
    let s = scene();
    // Keep a copy of the origin at release 1, let the mirror reach release 2…
    let old = s.mirror.parent().unwrap().join("old");
    let mut w = writer(&old, SEED, "origin");
    publish_part(&mut w, 1);
    sync(&s.mirror, &[s.url()], options()).unwrap();
    assert_holds(&s.mirror, 2);
    // …then the origin serves release 1 again (valid signatures, not expired).
    s.server.set_root(&old);
    let before = tree(&s.mirror);
    let e = sync(&s.mirror, &[s.url()], options()).unwrap_err();
    assert!(e.to_string().contains("rollback"), "{e}");
    assert!(e.to_string().contains("freshness.json"), "{e}");
    assert!(tree(&s.mirror) == before);
    assert_holds(&s.mirror, 2);
}

#[test]
fn freeze_with_an_expired_pointer_is_rejected() {
    let s = scene();
    // A week after part 2 the origin still offers the same pointer: frozen.
    let late = Options {
        now: Some(T0 + 9 * DAY + 1),
        ..options()
    };
    s.refused(
        sync(&s.mirror, &[s.url()], late),
        &["freshness.json", "expired"],
    );
}

#[test]
fn mix_and_match_of_two_publications_is_rejected() {
    let s = scene();
    // Same publisher key, another publication: its release 2 manifest is
    // validly signed but belongs elsewhere.
    let other = s.mirror.parent().unwrap().join("other");
    let mut w = writer(&other, SEED, "another");
    publish_part(&mut w, 1);
    publish_part(&mut w, 2);
    let foreign = read(&other, &layout::manifest_path(2));
    let mp = layout::manifest_path(2);
    s.server
        .rule(move |q| (q == mp).then(|| Reply::Bytes(foreign.clone())));
    s.refused(
        sync(&s.mirror, &[s.url()], options()),
        &["releases/000002.json", "belongs to publication"],
    );
    // And the other publication's pointer with ours: refused at the pointer.
    s.server.clear_rules();
    let fptr = read(&other, "freshness.json");
    s.server
        .rule(move |q| (q == "freshness.json").then(|| Reply::Bytes(fptr.clone())));
    s.refused(
        sync(&s.mirror, &[s.url()], options()),
        &["freshness.json", "belongs to publication"],
    );
}

#[test]
fn endless_data_is_cut_at_the_declared_size() {
    let s = scene();
    let m2 = s.release2();
    let zip = m2.files.iter().find(|f| f.path.ends_with(".zip")).unwrap();
    let zpath = zip.path.clone();
    s.server
        .rule(move |q| (q == zpath).then_some(Reply::Endless));
    let started = Instant::now();
    s.refused(
        sync(&s.mirror, &[s.url()], options()),
        &[&zip.path, &format!("the manifest declares {}", zip.size)],
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    // Endless metadata: cut at the metadata limit.
    s.server.clear_rules();
    s.server
        .rule(|q| (q == "releases/000002.json").then_some(Reply::Endless));
    let opts = Options {
        max_metadata_size: 1 << 20,
        ..options()
    };
    s.refused(
        sync(&s.mirror, &[s.url()], opts),
        &[
            "releases/000002.json",
            "larger than the limit of 1048576 bytes",
        ],
    );
}

#[test]
fn slowloris_origin_times_out() {
    let s = scene();
    let m2 = s.release2();
    let mbox = m2.files.iter().find(|f| f.path.ends_with(".mbox")).unwrap();
    let bytes = read(&s.origin, &mbox.path);
    let p = mbox.path.clone();
    s.server
        .rule(move |q| (q == p).then(|| Reply::Drip(bytes.clone(), Duration::from_millis(300))));
    let started = Instant::now();
    s.refused(
        sync(&s.mirror, &[s.url()], options()),
        &[&mbox.path, "timed out"],
    );
    // Bounded by the timeout (2 s) and minimum speed, not by the origin.
    assert!(started.elapsed() < Duration::from_secs(30));
    // A pointer dripped byte by byte is cut off too.
    s.server.clear_rules();
    let ptr = read(&s.origin, "freshness.json");
    s.server.rule(move |q| {
        (q == "freshness.json").then(|| Reply::Drip(ptr.clone(), Duration::from_millis(500)))
    });
    s.refused(
        sync(&s.mirror, &[s.url()], options()),
        &["freshness.json", "timed out"],
    );
}

/// With fsync on, staged files are written to disk while the download goes
/// on (`Options::flush_every`), not all at the switch; with fsync off, never.
/// Either way the mirror ends in the same verified state. One attachment is
/// sent a byte at a time so that the download lasts long enough for the
/// flusher to see the other files staged.
#[test]
fn staged_files_are_flushed_while_downloading() {
    for fsync in [true, false] {
        let s = scene();
        let m2 = s.release2();
        let att = m2
            .messages
            .iter()
            .flat_map(|e| &e.attachments)
            .next()
            .unwrap();
        let path = layout::blob_path(&att.blob);
        let bytes = read(&s.origin, &path);
        assert!(
            bytes.len() < 2_000,
            "the drip must finish within the minimum speed"
        );
        s.server.rule(move |q| {
            (q == path).then(|| Reply::Drip(bytes.clone(), Duration::from_millis(1)))
        });
        let opts = Options {
            fsync,
            flush_every: 1,
            ..options()
        };
        let r = sync(&s.mirror, &[s.url()], opts).unwrap();
        assert_eq!(r.outcome, Outcome::Updated { from: 1 });
        if fsync && cfg!(target_os = "linux") {
            assert!(r.early_flushes >= 1, "{r:?}");
        } else {
            assert_eq!(r.early_flushes, 0, "{r:?}");
        }
        assert_holds(&s.mirror, 2);
        for (path, bytes) in tree(&s.origin) {
            assert_eq!(tree(&s.mirror).get(&path), Some(&bytes), "{path}");
        }
    }
}

#[test]
fn falls_over_across_origins() {
    let s = scene();
    let base = s.mirror.parent().unwrap().to_path_buf();
    // Down: a port nobody listens on.
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    // Older: a faithful copy still at release 1.
    let old = base.join("old");
    let mut w = writer(&old, SEED, "origin");
    publish_part(&mut w, 1);
    let older = Server::start(&old);
    // Slow: the current state, but every blob is dripped.
    let slow = Server::start(&s.origin);
    slow.rule(|q| {
        q.starts_with("blobs/")
            .then(|| Reply::Drip(vec![0; 4000], Duration::from_millis(200)))
    });
    // Hostile: the current state, but blobs and files are garbage.
    let hostile = Server::start(&s.origin);
    hostile.rule(|q| {
        (q.starts_with("blobs/") || q.starts_with("files/")).then(|| Reply::Bytes(vec![1; 100]))
    });
    let good = &s.server;
    let origins = [
        down.clone(),
        hostile.url(),
        older.url(),
        slow.url(),
        good.url(),
    ];
    let r = sync(&s.mirror, &origins, options()).unwrap();
    assert_eq!((r.outcome, r.release), (Outcome::Updated { from: 1 }, 2));
    assert_holds(&s.mirror, 2);
    let skipped: String = r.skipped.iter().map(|f| format!("{f}\n")).collect();
    assert!(skipped.contains(&down), "{skipped}");
    assert!(skipped.contains(&hostile.url()), "{skipped}");
    assert!(r.saw_rejection());
    // The hostile origin's garbage never reached a public path (assert_holds hashed every file).

    // Every origin down or bad: the error lists each.
    let mut w = writer(&s.origin, SEED, "origin");
    publish_part(&mut w, 3);
    let opts = Options {
        now: Some(T0 + 3 * DAY + 60),
        ..options()
    };
    let before = tree(&s.mirror);
    let e = sync(&s.mirror, &[down.clone(), hostile.url()], opts).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains(&down) && text.contains(&hostile.url()),
        "{text}"
    );
    assert!(tree(&s.mirror) == before);
}

#[test]
fn interrupted_sync_resumes_without_refetching() {
    let s = scene();
    let m2 = s.release2();
    // The origin dies after serving the zip: the mbox and attachment fail.
    let zip = m2
        .files
        .iter()
        .find(|f| f.path.ends_with(".zip"))
        .unwrap()
        .path
        .clone();
    let z = zip.clone();
    s.server.rule(move |q| {
        (q != z && (q.starts_with("files/") || q.starts_with("blobs/"))).then_some(Reply::Close)
    });
    let opts = Options {
        workers: 1,
        ..options()
    };
    s.refused(sync(&s.mirror, &[s.url()], opts.clone()), &[]);
    // Back up: only what was missing is fetched.
    s.server.clear_rules();
    let served_before = s.server.log.lock().unwrap().len();
    let r = sync(&s.mirror, &[s.url()], opts).unwrap();
    assert_eq!(r.release, 2);
    assert!(r.reused >= 6, "zip and its 5 messages were staged: {r:?}");
    let log = s.server.log.lock().unwrap()[served_before..].to_vec();
    assert!(!log.contains(&zip), "zip fetched again: {log:?}");
    assert_holds(&s.mirror, 2);
}

#[test]
fn busy_origin_is_asked_again() {
    let s = scene();
    // Every file answers 429 twice before serving (a rate-limited node).
    let counts = std::sync::Mutex::new(std::collections::HashMap::<String, u32>::new());
    s.server.rule(move |q| {
        if !(q.starts_with("files/") || q.starts_with("blobs/")) {
            return None;
        }
        let mut c = counts.lock().unwrap();
        let n = c.entry(q.to_string()).or_default();
        *n += 1;
        (*n <= 2).then_some(Reply::Status(429))
    });
    let r = sync(&s.mirror, &[s.url()], options()).unwrap();
    assert_eq!(r.release, 2);
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    assert_holds(&s.mirror, 2);
}

/// A sync that died after moving release 2's files to their public paths but
/// before the switch (the pointer still says release 1): with fsync on, the
/// next sync re-hashes what it finds there, keeps the good copies without
/// fetching them again, replaces a corrupt one with a verified download, and
/// only then switches.
#[test]
fn files_left_at_public_paths_are_rehashed_not_trusted() {
    let s = scene();
    let m2 = s.release2();
    let zip = m2.files.iter().find(|f| f.path.ends_with(".zip")).unwrap();
    let mbox = m2.files.iter().find(|f| f.path.ends_with(".mbox")).unwrap();
    let bad_blob = layout::blob_path(&m2.messages[3].blob);
    // Left behind: the zip and the mbox intact, one message blob corrupt.
    for (path, corrupt) in [(&zip.path, false), (&mbox.path, false), (&bad_blob, true)] {
        let mut bytes = read(&s.origin, path);
        if corrupt {
            bytes[5] ^= 0x40;
        }
        let dest = layout::to_fs_path(&s.mirror, path);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::write(dest, bytes).unwrap();
    }
    assert_holds_release(&s.mirror, 1);
    let opts = Options {
        fsync: true,
        ..options()
    };
    let r = sync(&s.mirror, &[s.url()], opts).unwrap();
    assert_eq!(r.release, 2);
    assert_eq!(r.reused, 2, "zip and mbox kept: {r:?}");
    let log = s.server.log.lock().unwrap().clone();
    assert!(
        !log.contains(&zip.path) && !log.contains(&mbox.path),
        "fetched again: {log:?}"
    );
    // The corrupt blob was replaced with the right bytes, taken with the
    // other messages out of the kept zip (no per-message request).
    assert_eq!(r.extracted, 5, "{r:?}");
    assert!(!log.iter().any(|p| p == &bad_blob), "{log:?}");
    assert_eq!(read(&s.mirror, &bad_blob), read(&s.origin, &bad_blob));
    assert_holds(&s.mirror, 2);
    for (path, bytes) in tree(&s.origin) {
        assert_eq!(tree(&s.mirror).get(&path), Some(&bytes), "{path}");
    }
}

/// The mirror still serves release 1 (blobs left unlisted at public paths do not count).
fn assert_holds_release(dir: &Path, release: u64) {
    let p = Publication::open(dir).unwrap();
    assert_eq!(p.latest_release(), release);
}
