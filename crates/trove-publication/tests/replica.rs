//! A mirror's replica: first sync, incremental sync, refresh, and the attacks
//! it must refuse while keeping its last good state (issue 7's list).

use std::fs;
use std::path::Path;

use trove_publication::{
    layout, verify_dir, verify_update, Error, MessageDraft, MessageSummary, Problem, Publication,
    PublicationWriter, PublisherKey, ReleaseDraft, Replica, VerifyOptions,
};

const T0: u64 = 1_475_848_800;
const DAY: u64 = 86_400;
const SEED: [u8; 32] = [4; 32];

fn origin(dir: &Path, parts: std::ops::Range<u32>) -> PublicationWriter {
    let mut w =
        PublicationWriter::create(dir, PublisherKey::from_seed(SEED), "o", "origin", T0).unwrap();
    w.set_fsync(false);
    for p in parts {
        publish_part(&mut w, p);
    }
    w
}

fn publish_part(w: &mut PublicationWriter, p: u32) {
    let mut messages = Vec::new();
    for n in 0..3 {
        let raw = format!("Subject: part {p} message {n}\r\n\r\nbody\r\n");
        messages.push(MessageDraft {
            blob: w.put_blob(raw.as_bytes()).unwrap(),
            attachments: vec![],
            summary: MessageSummary::default(),
            dkim: vec![],
        });
    }
    let at = T0 + u64::from(p) * DAY;
    let draft = ReleaseDraft {
        title: format!("Part {p}"),
        messages,
        files: vec![],
    };
    w.publish(&draft, at, at + 7 * DAY).unwrap();
}

fn read(dir: &Path, path: &str) -> Vec<u8> {
    fs::read(layout::to_fs_path(dir, path)).unwrap()
}

fn options(now: u64) -> VerifyOptions {
    let mut o = VerifyOptions::new(now);
    o.pinned_key = Some(PublisherKey::from_seed(SEED).public_key());
    o
}

/// One sync from the origin directory `from` (standing in for HTTP).
fn sync(replica: &mut Replica, from: &Path, now: u64) -> Result<(), Error> {
    let local = replica.publication().cloned();
    let latest = local.as_ref().map_or(0, |p| p.latest_release());
    let pointer = read(from, layout::FRESHNESS_PATH);
    let target = Publication::open(from).unwrap().latest_release();
    let manifests = (latest + 1..=target)
        .map(|r| read(from, &layout::manifest_path(r)))
        .collect();
    let update = verify_update(
        local.as_ref(),
        &read(from, layout::DESCRIPTOR_PATH),
        &pointer,
        manifests,
        &options(now),
    )?;
    for f in update.needed() {
        if !replica.has(&f)? {
            let bytes = read(from, &f.path);
            replica.put(&f, &bytes[..])?;
        }
    }
    replica.apply(update)?;
    Ok(())
}

fn served(replica: &Replica) -> u64 {
    replica.publication().map_or(0, |p| p.latest_release())
}

/// An origin directory with `parts` published, its writer, and an empty
/// replica in a directory of its own, flushing or not as `fsync` says.
struct Fixture {
    o: tempfile::TempDir,
    m: tempfile::TempDir,
    w: PublicationWriter,
    r: Replica,
}

fn fixture(parts: std::ops::Range<u32>, fsync: bool) -> Fixture {
    let o = tempfile::tempdir().unwrap();
    let m = tempfile::tempdir().unwrap();
    let w = origin(o.path(), parts);
    let mut r = Replica::open(m.path()).unwrap();
    r.set_fsync(fsync);
    Fixture { o, m, w, r }
}

#[test]
fn first_sync_then_incremental_then_refresh() {
    let Fixture { o, m, mut w, mut r } = fixture(1..3, false);
    sync(&mut r, o.path(), T0 + 2 * DAY + 10).unwrap();
    assert_eq!(served(&r), 2);
    let report = verify_dir(m.path(), &options(T0 + 2 * DAY + 10));
    assert!(report.is_ok() && report.unlisted.is_empty(), "{report}");

    publish_part(&mut w, 3);
    sync(&mut r, o.path(), T0 + 3 * DAY + 10).unwrap();
    assert_eq!(served(&r), 3);
    w.refresh(T0 + 6 * DAY, T0 + 12 * DAY).unwrap();
    sync(&mut r, o.path(), T0 + 11 * DAY).unwrap();
    assert!(verify_dir(m.path(), &options(T0 + 11 * DAY)).is_ok());
    // Byte-identical copy of the origin.
    for (a, b) in [(o.path(), m.path())] {
        for p in [
            layout::DESCRIPTOR_PATH,
            layout::FRESHNESS_PATH,
            "releases/000003.json",
        ] {
            assert_eq!(read(a, p), read(b, p), "{p}");
        }
    }
}

#[test]
fn attacks_are_refused_and_the_last_good_state_keeps_serving() {
    let Fixture { o, m, mut w, mut r } = fixture(1..3, false);
    let now = T0 + 2 * DAY + 10;
    sync(&mut r, o.path(), now).unwrap();
    let pointer2 = read(o.path(), layout::FRESHNESS_PATH);
    publish_part(&mut w, 3);
    let pointer3 = read(o.path(), layout::FRESHNESS_PATH);
    let now = T0 + 3 * DAY + 10;
    let local = r.publication().cloned().unwrap();
    // An offer to the replica at release 2: the descriptor in `from`, a pointer, manifests.
    let offer = |from: &Path, pointer: &[u8], manifests: Vec<Vec<u8>>, opts: &VerifyOptions| {
        let descriptor = read(from, layout::DESCRIPTOR_PATH);
        verify_update(Some(&local), &descriptor, pointer, manifests, opts)
    };

    // Tampered blob: refused while streaming, nothing staged under its name.
    let m3 = read(o.path(), &layout::manifest_path(3));
    let update = offer(o.path(), &pointer3, vec![m3.clone()], &options(now)).unwrap();
    let f = &update.needed()[0];
    let mut evil = read(o.path(), &f.path);
    evil[0] ^= 1;
    assert!(matches!(
        r.put(f, &evil[..]),
        Err(Error::Invalid(Problem::BadHash { .. }))
    ));
    // Endless data: stops after size + 1 bytes.
    let endless = std::io::repeat(b'x');
    assert!(matches!(
        r.put(f, endless),
        Err(Error::Invalid(Problem::SizeMismatch { .. }))
    ));
    assert!(!r.has(f).unwrap());
    // Applying without the blobs is refused; the old state stays.
    assert!(matches!(
        r.apply(update.clone()),
        Err(Error::BlobMissing { .. })
    ));
    assert_eq!(served(&r), 2);

    // Rollback: the origin serves the release-2 pointer again.
    let rollback = offer(o.path(), &pointer2, vec![], &options(now));
    assert!(
        rollback.is_ok(),
        "same state is not a rollback: {rollback:?}"
    );
    let mut trusted = verify_dir(o.path(), &options(now)).state.unwrap();
    trusted.publication = local.id();
    let mut opts = options(now);
    opts.trusted = Some(trusted);
    assert!(matches!(
        offer(o.path(), &pointer2, vec![], &opts),
        Err(Problem::Rollback { .. })
    ));

    // Freeze: a pointer past its expiry.
    assert!(matches!(
        offer(
            o.path(),
            &pointer3,
            vec![m3.clone()],
            &options(T0 + 30 * DAY)
        ),
        Err(Problem::Expired { .. })
    ));

    // Another publisher's descriptor, or a manifest of another publication.
    let other = tempfile::tempdir().unwrap();
    let mut ow =
        PublicationWriter::create(other.path(), PublisherKey::from_seed(SEED), "x", "y", T0)
            .unwrap();
    ow.set_fsync(false);
    for p in 1..4 {
        publish_part(&mut ow, p);
    }
    let other_m3 = read(other.path(), &layout::manifest_path(3));
    assert!(matches!(
        offer(
            other.path(),
            &read(other.path(), layout::FRESHNESS_PATH),
            vec![other_m3.clone()],
            &options(now)
        ),
        Err(Problem::WrongPublication { .. })
    ));
    assert!(matches!(
        offer(o.path(), &pointer3, vec![other_m3], &options(now)),
        Err(Problem::WrongPublication { .. })
    ));
    let mut pinned_other = options(now);
    pinned_other.pinned_key = Some(PublisherKey::from_seed([8; 32]).public_key());
    assert!(matches!(
        offer(o.path(), &pointer3, vec![m3.clone()], &pinned_other),
        Err(Problem::KeyMismatch { .. })
    ));
    // A missing manifest in the offer.
    assert!(matches!(
        offer(o.path(), &pointer3, vec![], &options(now)),
        Err(Problem::Missing { .. })
    ));

    // Through all of it the replica served release 2, verified.
    assert_eq!(served(&r), 2);
    let report = verify_dir(m.path(), &options(T0 + 2 * DAY + 20));
    assert!(report.is_ok(), "{report}");
    // And the genuine update still goes through.
    sync(&mut r, o.path(), now).unwrap();
    assert_eq!(served(&r), 3);
}

/// The verified update a fresh mirror needs for releases 1–3 of the origin at `dir`.
fn first_update(dir: &Path, now: u64) -> trove_publication::VerifiedUpdate {
    verify_update(
        None,
        &read(dir, layout::DESCRIPTOR_PATH),
        &read(dir, layout::FRESHNESS_PATH),
        (1..=3)
            .map(|n| read(dir, &layout::manifest_path(n)))
            .collect(),
        &options(now),
    )
    .unwrap()
}

#[test]
fn an_interrupted_sync_resumes() {
    let Fixture { o, m, r, .. } = fixture(1..4, false);
    let now = T0 + 3 * DAY + 10;
    let update = first_update(o.path(), now);
    let needed = update.needed();
    assert_eq!(needed.len(), 9);
    for f in &needed[..4] {
        r.put(f, &read(o.path(), &f.path)[..]).unwrap();
    }
    drop(r); // the mirror dies
    let mut r = Replica::open(m.path()).unwrap();
    r.set_fsync(false);
    assert!(r.publication().is_none());
    assert_eq!(
        needed.iter().filter(|f| r.has(f).unwrap()).count(),
        4,
        "staged files survive"
    );
    sync(&mut r, o.path(), now).unwrap();
    assert_eq!(served(&r), 3);
    assert!(verify_dir(m.path(), &options(now)).is_ok());
}

/// Staged data is not flushed file by file (one `syncfs` before the switch
/// instead), so a crash can leave a staged file with the right size and the
/// wrong bytes. The resumed sync re-hashes what it finds in staging, fetches
/// the torn file again, and the switch (with fsync on) leaves a mirror whose
/// every blob verifies.
#[test]
fn a_torn_staged_file_is_fetched_again() {
    let Fixture { o, m, r, .. } = fixture(1..4, true);
    let now = T0 + 3 * DAY + 10;
    let update = first_update(o.path(), now);
    let needed = update.needed();
    for f in &needed[..4] {
        r.put(f, &read(o.path(), &f.path)[..]).unwrap();
    }
    drop(r); // the machine dies before anything was flushed
    let torn = m
        .path()
        .join(layout::STAGING_DIR)
        .join(needed[1].hash.to_hex());
    let mut bytes = fs::read(&torn).unwrap();
    bytes.iter_mut().for_each(|b| *b = 0);
    fs::write(&torn, &bytes).unwrap();

    let mut r = Replica::open(m.path()).unwrap();
    let present: Vec<bool> = needed[..4].iter().map(|f| r.has(f).unwrap()).collect();
    assert_eq!(
        present,
        [true, false, true, true],
        "the torn file is not trusted"
    );
    sync(&mut r, o.path(), now).unwrap();
    assert_eq!(served(&r), 3);
    let report = verify_dir(m.path(), &options(now));
    assert!(report.is_ok() && report.unlisted.is_empty(), "{report}");
    assert!(
        !m.path().join(layout::STAGING_DIR).exists(),
        "staging emptied"
    );
}

/// A sync interrupted after it moved files to their public paths but before
/// the switch leaves them there, unlisted by the state the mirror serves.
/// The next sync re-hashes each: a good copy is kept (not fetched again), a
/// corrupt one (same size, wrong bytes) is replaced by a verified download.
#[test]
fn files_at_public_paths_are_rehashed_before_reuse() {
    let Fixture { o, m, mut w, mut r } = fixture(1..3, true);
    sync(&mut r, o.path(), T0 + 2 * DAY + 10).unwrap();
    publish_part(&mut w, 3);
    let now = T0 + 3 * DAY + 10;
    let m3 = Publication::open(o.path())
        .unwrap()
        .manifest(3)
        .unwrap()
        .clone();
    let good = layout::blob_path(&m3.messages[0].blob);
    let bad = layout::blob_path(&m3.messages[1].blob);
    for (path, corrupt) in [(&good, false), (&bad, true)] {
        let mut bytes = read(o.path(), path);
        if corrupt {
            bytes[0] ^= 1;
        }
        let dest = layout::to_fs_path(m.path(), path);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::write(dest, bytes).unwrap();
    }
    let blob = |path: &str, i: usize| trove_publication::NeededFile {
        path: path.to_string(),
        hash: m3.messages[i].blob,
        size: m3.messages[i].size,
    };
    assert!(r.has(&blob(&good, 0)).unwrap());
    assert!(!r.has(&blob(&bad, 1)).unwrap());
    sync(&mut r, o.path(), now).unwrap();
    assert_eq!(served(&r), 3);
    assert_eq!(read(m.path(), &bad), read(o.path(), &bad));
    let report = verify_dir(m.path(), &options(now));
    assert!(report.is_ok() && report.unlisted.is_empty(), "{report}");
}

/// `put` counts the bytes it accepted (and not the ones it refused), and
/// `flush_staged` writes staging to disk early only when the replica flushes
/// at all (on Linux, one `syncfs`); the switch afterwards is unchanged: every
/// file verifies and the manifests (flushed with the files, not each on its
/// own) and the pointer are in place.
#[test]
fn staged_bytes_are_counted_and_can_be_flushed_early() {
    let Fixture { o, m, mut r, .. } = fixture(1..4, false);
    let now = T0 + 3 * DAY + 10;
    assert!(
        !r.flush_staged().unwrap(),
        "nothing to flush with fsync off"
    );
    r.set_fsync(true);
    let update = first_update(o.path(), now);
    let needed = update.needed();
    let bad = &needed[0];
    let mut wrong = read(o.path(), &bad.path);
    wrong[0] ^= 1;
    assert!(r.put(bad, &wrong[..]).is_err());
    assert_eq!(r.staged_bytes(), 0, "refused bytes are not counted");
    let mut total = 0;
    for (i, f) in needed.iter().enumerate() {
        r.put(f, &read(o.path(), &f.path)[..]).unwrap();
        total += f.size;
        assert_eq!(r.staged_bytes(), total);
        if i == 1 {
            assert_eq!(r.flush_staged().unwrap(), cfg!(target_os = "linux"));
        }
    }
    r.apply(update).unwrap();
    assert_eq!(served(&r), 3);
    // The state kept in memory after the switch is the one on disk.
    let on_disk = Publication::open(m.path()).unwrap();
    let held = r.publication().unwrap();
    assert_eq!(held.id(), on_disk.id());
    assert_eq!(held.pointer(), on_disk.pointer());
    assert_eq!(held.message_count(), on_disk.message_count());
    for rel in 1..=3 {
        assert_eq!(held.manifest(rel), on_disk.manifest(rel));
        assert_eq!(held.manifest_hash(rel), on_disk.manifest_hash(rel));
    }
    for rel in 1..=3 {
        let path = layout::manifest_path(rel);
        assert_eq!(read(m.path(), &path), read(o.path(), &path), "{path}");
    }
    let report = verify_dir(m.path(), &options(now));
    assert!(report.is_ok() && report.unlisted.is_empty(), "{report}");
    let leftovers: Vec<_> = fs::read_dir(m.path().join(layout::RELEASES_DIR))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

/// Every whole-file-system flush goes through the one handle opened with the
/// replica, before anything was staged: Linux reports a write-back error to
/// `syncfs` only on handles opened before the error, so a handle opened for
/// each flush could miss an error in data staged earlier. (A real write-back
/// error needs a failing block device; instead this shows which handle is
/// used.) The replica's directory is moved away after `open`: a flush that
/// opened its own handle by path would fail, the replica's own handle still
/// reaches the file system. Moved back, a sync with fsync on completes.
#[cfg(target_os = "linux")]
#[test]
fn flushes_go_through_the_handle_opened_with_the_replica() {
    let Fixture { o, m, mut r, .. } = fixture(1..4, true);
    let now = T0 + 3 * DAY + 10;
    let away = m.path().with_extension("moved");
    fs::rename(m.path(), &away).unwrap();
    assert!(!m.path().exists());
    let flushed = r.flush_staged();
    fs::rename(&away, m.path()).unwrap();
    assert!(
        flushed.unwrap(),
        "flushed through the handle opened with the replica, not by path"
    );
    sync(&mut r, o.path(), now).unwrap();
    assert_eq!(served(&r), 3);
    let report = verify_dir(m.path(), &options(now));
    assert!(report.is_ok() && report.unlisted.is_empty(), "{report}");
}
