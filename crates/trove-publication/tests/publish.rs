//! Publishing through the public API: idempotency, crash safety (a publish
//! cut at each step leaves the previous state valid and a re-run completes
//! it, byte-identical to an uninterrupted run), and real leaked mail as blobs.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use trove_publication::{
    layout, verify_dir, DkimAttestation, Error, FileDraft, Hash, MessageDraft, MessageSummary,
    Problem, Publication, PublicationWriter, PublishStatus, PublisherKey, ReleaseDraft,
    VerifyOptions,
};

const T0: u64 = 1_475_848_800; // 2016-10-07T14:00:00Z
const DAY: u64 = 86_400;
const SEED: [u8; 32] = [9; 32];

fn writer(dir: &Path) -> PublicationWriter {
    let mut w = PublicationWriter::create(
        dir,
        PublisherKey::from_seed(SEED),
        "crash test",
        "publications that get interrupted",
        T0,
    )
    .unwrap();
    w.set_fsync(false);
    w
}

fn reopen(dir: &Path) -> PublicationWriter {
    let mut w = PublicationWriter::open(dir, PublisherKey::from_seed(SEED)).unwrap();
    w.set_fsync(false);
    w
}

fn message(n: u32) -> Vec<u8> {
    format!(
        "From: sender{n}@example.org\r\nSubject: message {n}\r\nMessage-ID: <{n}@example.org>\r\n\r\nbody {n}\r\n"
    )
    .into_bytes()
}

/// Puts messages `range` and a bulk file, returns the draft.
fn draft(w: &mut PublicationWriter, title: &str, range: std::ops::Range<u32>) -> ReleaseDraft {
    let mut messages = Vec::new();
    let mut all = Vec::new();
    for n in range {
        let raw = message(n);
        all.extend_from_slice(&raw);
        messages.push(MessageDraft {
            blob: w.put_blob(&raw).unwrap(),
            attachments: vec![],
            summary: MessageSummary {
                message_id: Some(format!("{n}@example.org")),
                subject: Some(format!("message {n}")),
                ..Default::default()
            },
            dkim: vec![],
        });
    }
    let file = w.put_blob(&all).unwrap();
    ReleaseDraft {
        title: title.into(),
        messages,
        files: vec![FileDraft {
            name: format!("{}.mbox", title.replace(' ', "-")),
            content_type: layout::content_type::MBOX.into(),
            blob: file,
        }],
    }
}

fn verify(dir: &Path, now: u64) -> trove_publication::Report {
    let mut o = VerifyOptions::new(now);
    o.pinned_key = Some(PublisherKey::from_seed(SEED).public_key());
    verify_dir(dir, &o)
}

fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(root, &e.path(), out);
            } else {
                out.insert(
                    e.path().strip_prefix(root).unwrap().to_path_buf(),
                    fs::read(e.path()).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The reference: two releases published without interruption.
fn uninterrupted(dir: &Path) {
    let mut w = writer(dir);
    let d1 = draft(&mut w, "Part 1", 1..4);
    w.publish(&d1, T0, T0 + 7 * DAY).unwrap();
    let d2 = draft(&mut w, "Part 2", 4..6);
    w.publish(&d2, T0 + DAY, T0 + 8 * DAY).unwrap();
}

#[test]
fn publishing_twice_is_a_no_op_and_ids_continue() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut w = writer(dir);
    let d1 = draft(&mut w, "Part 1", 1..4);
    let first = w.publish(&d1, T0, T0 + 7 * DAY).unwrap();
    assert_eq!(first.status, PublishStatus::New);
    assert_eq!((first.release, first.first_id, first.messages), (1, 1, 3));
    let before = tree(dir);
    let again = w.publish(&d1, T0 + 100, T0 + 9 * DAY).unwrap();
    assert_eq!(again.status, PublishStatus::AlreadyPublished);
    assert_eq!((again.release, again.manifest), (1, first.manifest));
    assert_eq!(
        tree(dir),
        before,
        "a repeated publish must not write anything"
    );

    let d2 = draft(&mut w, "Part 2", 4..6);
    let second = w.publish(&d2, T0 + DAY, T0 + 8 * DAY).unwrap();
    assert_eq!(
        (second.release, second.first_id, second.messages),
        (2, 4, 2)
    );
    // Re-publishing release 1 after release 2 is still a no-op, also from a fresh writer.
    let mut w = reopen(dir);
    let d1 = draft(&mut w, "Part 1", 1..4);
    assert_eq!(
        w.publish(&d1, T0 + 2 * DAY, T0 + 9 * DAY).unwrap().status,
        PublishStatus::AlreadyPublished
    );
    // A message cannot be published under a second id.
    let dup = draft(&mut w, "Part 3", 5..7);
    assert!(matches!(
        w.publish(&dup, T0 + 2 * DAY, T0 + 9 * DAY),
        Err(Error::MessageAlreadyPublished { id: 5, .. })
    ));

    let mut twice = draft(&mut w, "Part 3", 6..7);
    twice.messages.push(twice.messages[0].clone());
    assert!(matches!(
        w.publish(&twice, T0 + 2 * DAY, T0 + 9 * DAY),
        Err(Error::DuplicateMessage { .. })
    ));

    let r = verify(dir, T0 + DAY + 1);
    assert!(r.is_ok(), "{:?}", r.problems);
    let p = Publication::open(dir).unwrap();
    assert_eq!(p.message_count(), 5);
    let (m, e) = p.message(4).unwrap();
    assert_eq!((m.release, e.blob), (2, Hash::of(&message(4))));
    assert!(p.message(6).is_none() && p.message(0).is_none());
    assert_eq!(p.read_blob(&e.blob, e.size).unwrap(), message(4));
}

#[test]
fn crash_after_manifest_before_pointer_keeps_old_state_and_rerun_completes() {
    let reference = tempfile::tempdir().unwrap();
    uninterrupted(reference.path());

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut w = writer(dir);
    let d1 = draft(&mut w, "Part 1", 1..4);
    w.publish(&d1, T0, T0 + 7 * DAY).unwrap();
    let pointer1 = fs::read(dir.join(layout::FRESHNESS_PATH)).unwrap();
    let d2 = draft(&mut w, "Part 2", 4..6);
    w.publish(&d2, T0 + DAY, T0 + 8 * DAY).unwrap();
    drop(w);
    // The crash: the new pointer never reached the disk; a temp file is left over.
    fs::write(dir.join(layout::FRESHNESS_PATH), &pointer1).unwrap();
    fs::write(dir.join(".tmp-999-0"), b"half a pointer").unwrap();

    let r = verify(dir, T0 + DAY + 60);
    assert!(r.is_ok(), "{:?}", r.problems);
    assert_eq!((r.release, r.messages), (1, 3));
    assert_eq!(r.pending, vec![2]);
    // Release 2's blobs and file are reachable but not published: reported.
    assert!(r.unlisted.iter().any(|p| p.starts_with("blobs/")));
    assert!(r.unlisted.contains(&"files/000002/Part-2.mbox".to_string()));
    assert_eq!(Publication::open(dir).unwrap().latest_release(), 1);

    // The re-run finds the pending manifest, keeps it and writes the pointer.
    let mut w = reopen(dir);
    let d2 = draft(&mut w, "Part 2", 4..6);
    let out = w.publish(&d2, T0 + DAY, T0 + 8 * DAY).unwrap();
    assert_eq!((out.status, out.release), (PublishStatus::Resumed, 2));
    let r = verify(dir, T0 + DAY + 60);
    assert!(r.is_ok(), "{:?}", r.problems);
    assert!(r.pending.is_empty() && r.unlisted.is_empty());
    assert_eq!(tree(dir), tree(reference.path()));
}

#[test]
fn crash_after_staging_or_mid_move_leaves_old_state_and_rerun_completes() {
    let reference = tempfile::tempdir().unwrap();
    uninterrupted(reference.path());

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut w = writer(dir);
    let d1 = draft(&mut w, "Part 1", 1..4);
    w.publish(&d1, T0, T0 + 7 * DAY).unwrap();
    // Crash 1: release 2's blobs staged, nothing else. Nothing public changed.
    let d2 = draft(&mut w, "Part 2", 4..6);
    drop(w);
    let r = verify(dir, T0 + DAY);
    assert!(
        r.is_ok() && r.unlisted.is_empty() && r.pending.is_empty(),
        "{r:?}"
    );
    // Crash 2: one blob already moved to its public path, a temp manifest left behind.
    let one = d2.messages[0].blob.hash;
    let public = layout::to_fs_path(dir, &layout::blob_path(&one));
    fs::create_dir_all(public.parent().unwrap()).unwrap();
    fs::rename(dir.join(layout::STAGING_DIR).join(one.to_hex()), &public).unwrap();
    fs::write(dir.join("releases/.tmp-1-1"), b"{\"signature\":").unwrap();
    let r = verify(dir, T0 + DAY);
    assert!(r.is_ok(), "{:?}", r.problems);
    assert_eq!(r.unlisted, vec![layout::blob_path(&one)]);

    let mut w = reopen(dir);
    assert!(
        !dir.join("releases/.tmp-1-1").exists(),
        "open removes temp files"
    );
    let d2 = draft(&mut w, "Part 2", 4..6);
    let out = w.publish(&d2, T0 + DAY, T0 + 8 * DAY).unwrap();
    assert_eq!((out.status, out.release), (PublishStatus::New, 2));
    assert!(verify(dir, T0 + DAY).is_ok());
    assert_eq!(tree(dir), tree(reference.path()));
}

#[test]
fn a_torn_or_abandoned_pending_manifest_is_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut w = writer(dir);
    let d1 = draft(&mut w, "Part 1", 1..4);
    w.publish(&d1, T0, T0 + 7 * DAY).unwrap();
    drop(w);
    // Garbage where release 2 would go (cannot happen with rename, but disks lie).
    fs::write(dir.join("releases/000002.json"), b"{\"signature\":\"00").unwrap();
    let r = verify(dir, T0 + 10);
    assert!(r.is_ok(), "{:?}", r.problems);
    assert_eq!(r.pending, vec![2]);
    let mut w = reopen(dir);
    let d2 = draft(&mut w, "Part 2 revised", 4..5);
    let out = w.publish(&d2, T0 + DAY, T0 + 8 * DAY).unwrap();
    assert_eq!(
        (out.status, out.release, out.first_id),
        (PublishStatus::New, 2, 4)
    );
    assert!(verify(dir, T0 + DAY).is_ok());
}

#[test]
fn refresh_extends_the_pointer_without_a_release() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut w = writer(dir);
    assert_eq!(w.refresh(T0, T0 + DAY), Err(Error::NoRelease));
    let d1 = draft(&mut w, "Part 1", 1..2);
    w.publish(&d1, T0, T0 + DAY).unwrap();
    let trusted = verify(dir, T0 + 10).state.unwrap();
    assert_eq!(verify(dir, T0 + 2 * DAY).problems[0].kind(), "expired");
    let p = w.refresh(T0 + DAY - 60, T0 + 3 * DAY).unwrap();
    assert_eq!((p.release, p.issued_at), (1, T0 + DAY - 60));
    let mut o = VerifyOptions::new(T0 + 2 * DAY);
    o.trusted = Some(trusted.clone());
    let r = verify_dir(dir, &o);
    assert!(r.is_ok(), "{:?}", r.problems);
    assert_eq!(r.state.unwrap().issued_at, T0 + DAY - 60);
    // Signing with a clock earlier than the last pointer is refused.
    assert!(matches!(
        w.refresh(T0, T0 + 5 * DAY),
        Err(Error::ClockWentBackwards { .. })
    ));
    assert!(matches!(
        w.refresh(T0 + 2 * DAY, T0 + 2 * DAY),
        Err(Error::BadExpiry { .. })
    ));
}

#[test]
fn bad_drafts_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut w = writer(dir);
    let mut d = draft(&mut w, "Part 1", 1..3);
    d.files[0].name = "../escape.mbox".into();
    assert!(matches!(
        w.publish(&d, T0, T0 + DAY),
        Err(Error::BadFileName { .. })
    ));
    let mut d = draft(&mut w, "Part 1", 1..3);
    d.messages[0].blob.hash = Hash::of(b"never put");
    assert!(matches!(
        w.publish(&d, T0, T0 + DAY),
        Err(Error::BlobMissing { .. })
    ));
    assert!(!dir.join(layout::FRESHNESS_PATH).exists());
    assert!(!dir.join("releases/000001.json").exists());
    let r = verify(dir, T0);
    assert!(r.is_ok() && r.release == 0, "{r:?}");
}

#[test]
fn key_must_match_the_descriptor() {
    let tmp = tempfile::tempdir().unwrap();
    writer(tmp.path());
    assert!(matches!(
        PublicationWriter::open(tmp.path(), PublisherKey::from_seed([1; 32])),
        Err(Error::KeyMismatch { .. })
    ));
    assert!(matches!(
        PublicationWriter::create(
            tmp.path(),
            PublisherKey::from_seed(SEED),
            "another name",
            "x",
            T0
        ),
        Err(Error::AlreadyExists { .. })
    ));
}

#[test]
fn streamed_blobs_are_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = writer(tmp.path());
    let data = vec![7u8; 300_000];
    let b = w.put_blob_from(&data[..], 300_000).unwrap();
    assert_eq!((b.hash, b.size), (Hash::of(&data), 300_000));
    assert!(matches!(
        w.put_blob_from(&data[..], 299_999),
        Err(Error::TooLarge { limit: 299_999, .. })
    ));
    let staged: Vec<_> = fs::read_dir(tmp.path().join(layout::STAGING_DIR))
        .unwrap()
        .collect();
    assert_eq!(staged.len(), 1, "the refused blob left nothing behind");
}

#[test]
fn a_mirror_verifies_incrementally_before_showing_anything() {
    use trove_publication::{
        check_pointer_target, verify_blob, verify_descriptor, verify_freshness, verify_manifest,
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    uninterrupted(dir);
    let read = |p: &str| fs::read(layout::to_fs_path(dir, p)).unwrap();
    let key = PublisherKey::from_seed(SEED).public_key();
    let d = verify_descriptor(
        layout::DESCRIPTOR_PATH,
        &read(layout::DESCRIPTOR_PATH),
        Some(&key),
    )
    .unwrap();
    let f = verify_freshness(
        layout::FRESHNESS_PATH,
        &read(layout::FRESHNESS_PATH),
        &d,
        T0 + DAY,
        300,
        None,
    )
    .unwrap();
    let mut prev = None;
    for n in 1..=f.pointer().release {
        let path = layout::manifest_path(n);
        let m = verify_manifest(&path, &read(&path), &d, prev.as_ref(), 1 << 20).unwrap();
        for e in &m.manifest().messages {
            let bp = layout::blob_path(&e.blob);
            verify_blob(&bp, &read(&bp), &e.blob, e.size).unwrap();
        }
        prev = Some(m);
    }
    let last = prev.unwrap();
    check_pointer_target(layout::FRESHNESS_PATH, &f, &last).unwrap();
    // A mirror holding release 1 locally chains release 2 to it.
    let local = Publication::open(dir).unwrap();
    let m1 = local.verified_manifest(1).unwrap();
    let path2 = layout::manifest_path(2);
    let v2 = verify_manifest(
        &path2,
        &read(&path2),
        &local.verified_descriptor(),
        Some(&m1),
        1 << 20,
    )
    .unwrap();
    assert_eq!(v2.hash(), last.hash());
    // Manifest 2 offered without manifest 1 as its predecessor: refused.
    let m2 = read(&layout::manifest_path(2));
    assert!(matches!(
        verify_manifest("releases/000002.json", &m2, &d, None, 1 << 20),
        Err(Problem::WrongRelease {
            expected: 1,
            found: 2,
            ..
        })
    ));
    // A blob streamed in chunks stops at the first byte past the declared size.
    let e = &last.manifest().messages[0];
    let mut check = trove_publication::BlobCheck::new("b", e.blob, e.size, 1 << 20).unwrap();
    let mut body = message(4);
    body.push(b'!');
    let (a, b) = body.split_at(10);
    check.update(a).unwrap();
    assert!(matches!(check.update(b), Err(Problem::SizeMismatch { .. })));
}

fn shared_data() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    p.is_dir().then_some(p)
}

#[test]
fn real_leaked_mail_is_published_byte_identical() {
    let Some(data) = shared_data() else {
        println!("skipped: ../shared/data not found");
        return;
    };
    let leaked = data.join("dkim/leaked-real");
    let mut emls = Vec::new();
    for sub in fs::read_dir(&leaked).unwrap() {
        for f in fs::read_dir(sub.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e == "eml") {
                emls.push(p);
            }
        }
    }
    emls.sort();
    assert!(emls.len() >= 4, "{emls:?}");

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut w = writer(dir);
    let mut messages = Vec::new();
    for p in &emls {
        let raw = fs::read(p).unwrap();
        messages.push(MessageDraft {
            blob: w.put_blob(&raw).unwrap(),
            attachments: vec![],
            summary: MessageSummary {
                subject: Some(p.file_stem().unwrap().to_string_lossy().into_owned()),
                ..Default::default()
            },
            // What the data's README says was measured with dkimpy.
            dkim: vec![DkimAttestation {
                domain: "gmail.com".into(),
                selector: if p.to_string_lossy().contains("turkstream") {
                    "20161025".into()
                } else {
                    "20120113".into()
                },
                algorithm: "rsa-sha256".into(),
                result: "pass".into(),
                reason: Some("historic key".into()),
            }],
        });
    }
    let draft = ReleaseDraft {
        title: "Leaked".into(),
        messages,
        files: vec![],
    };
    let out = w.publish(&draft, T0, T0 + DAY).unwrap();
    assert_eq!(out.messages, emls.len() as u64);
    let r = verify(dir, T0 + 1);
    assert!(r.is_ok(), "{:?}", r.problems);
    let p = Publication::open(dir).unwrap();
    let mut total = 0;
    for (i, path) in emls.iter().enumerate() {
        let raw = fs::read(path).unwrap();
        let (_, e) = p.message(i as u64 + 1).unwrap();
        assert_eq!(e.blob, Hash::of(&raw));
        // The public file is the raw source, byte for byte.
        assert_eq!(fs::read(p.blob_path(&e.blob)).unwrap(), raw, "{path:?}");
        total += raw.len();
    }
    assert_eq!(r.bytes, total as u64);
    println!(
        "{} real messages, {} bytes, published and verified",
        emls.len(),
        total
    );
}

#[test]
fn rewritten_history_is_a_fork_even_with_the_real_key() {
    // Mirror trusts A (releases 1, 2). B has the same descriptor (same key,
    // same publication id) but another release 2 and a release 3: what a
    // thief of the key would serve.
    let a = tempfile::tempdir().unwrap();
    uninterrupted(a.path());
    let trusted = verify(a.path(), T0 + DAY).state.unwrap();
    let b = tempfile::tempdir().unwrap();
    let mut w = writer(b.path());
    let d1 = draft(&mut w, "Part 1", 1..4);
    w.publish(&d1, T0, T0 + 7 * DAY).unwrap();
    let d2 = draft(&mut w, "Part 2", 4..5);
    w.publish(&d2, T0 + DAY, T0 + 8 * DAY).unwrap();
    let d3 = draft(&mut w, "Part 3", 5..7);
    w.publish(&d3, T0 + DAY + 60, T0 + 8 * DAY).unwrap();
    assert!(verify(b.path(), T0 + DAY + 120).is_ok());

    let mut o = VerifyOptions::new(T0 + DAY + 120);
    o.trusted = Some(trusted.clone());
    let r = verify_dir(b.path(), &o);
    let offered = Publication::open(b.path())
        .unwrap()
        .manifest_hash(2)
        .unwrap();
    assert_eq!(
        r.problems,
        vec![Problem::Fork {
            path: "releases/000002.json".into(),
            release: 2,
            trusted: trusted.manifest,
            offered,
        }]
    );
    assert!(r.state.is_none());
}

#[test]
fn a_file_may_repeat_a_blob_or_another_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut w = writer(dir);
    let mut d = draft(&mut w, "Part 1", 1..2);
    let same = d.messages[0].blob;
    for name in ["a.eml", "b.eml"] {
        d.files.push(FileDraft {
            name: name.into(),
            content_type: "message/rfc822".into(),
            blob: same,
        });
    }
    w.publish(&d, T0, T0 + DAY).unwrap();
    let r = verify(dir, T0 + 1);
    assert!(r.is_ok(), "{:?}", r.problems);
    assert_eq!(r.files, 3);
    assert_eq!(
        fs::read(dir.join("files/000001/b.eml")).unwrap(),
        message(1)
    );
}

#[test]
fn a_signed_pointer_far_beyond_the_manifests_is_one_problem() {
    use trove_publication::{seal, FreshnessPointer, ObjectKind};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut w = writer(dir);
    let d1 = draft(&mut w, "Part 1", 1..2);
    let out = w.publish(&d1, T0, T0 + DAY).unwrap();
    w.write_feed(b"<feed/>").unwrap();
    let p = FreshnessPointer {
        publication: w.publication().id(),
        release: u64::MAX >> 12,
        manifest: out.manifest,
        issued_at: T0 + 10,
        expires_at: T0 + DAY,
    };
    let sealed = seal(&PublisherKey::from_seed(SEED), ObjectKind::Freshness, &p).unwrap();
    fs::write(dir.join(layout::FRESHNESS_PATH), sealed.bytes).unwrap();
    let r = verify(dir, T0 + 20);
    assert_eq!(
        r.problems,
        vec![Problem::Missing {
            path: format!("releases/{:06}.json", 2)
        }]
    );
}

/// The first `n` messages of a corpus mbox, through the `zstd` tool (skipped
/// when it or the data is missing), envelope lines dropped.
fn corpus_prefix(name: &str, n: usize) -> Option<Vec<Vec<u8>>> {
    use std::io::{BufRead, BufReader};
    let path = shared_data()?.join("corpora").join(name);
    let mut child = std::process::Command::new("zstd")
        .arg("-dc")
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let mut reader = BufReader::new(child.stdout.take()?);
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).ok()? == 0 {
            break;
        }
        if line.starts_with(b"From ") {
            if out.len() == n {
                break;
            }
            out.push(Vec::new());
        } else if let Some(m) = out.last_mut() {
            m.extend_from_slice(&line);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    Some(out)
}

#[test]
fn two_thousand_real_messages_in_four_releases() {
    let Some(messages) = corpus_prefix("lore-io-uring.mbox.zst", 2000) else {
        println!("skipped: ../shared/data not found (or no zstd tool)");
        return;
    };
    assert_eq!(messages.len(), 2000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut w = writer(dir);
    let mut seen = std::collections::HashSet::new();
    let mut published = Vec::new();
    for (part, chunk) in messages.chunks(500).enumerate() {
        let mut drafts = Vec::new();
        for raw in chunk {
            let blob = w.put_blob(raw).unwrap();
            if seen.insert(blob.hash) {
                drafts.push(MessageDraft {
                    blob,
                    attachments: vec![],
                    summary: MessageSummary::default(),
                    dkim: vec![],
                });
                published.push(raw);
            }
        }
        let d = ReleaseDraft {
            title: format!("Part {}", part + 1),
            messages: drafts,
            files: vec![],
        };
        let at = T0 + part as u64 * DAY;
        w.publish(&d, at, at + 7 * DAY).unwrap();
    }
    let now = T0 + 3 * DAY + 1;
    let r = verify(dir, now);
    assert!(r.is_ok(), "{r}");
    assert_eq!((r.release, r.messages), (4, published.len() as u64));
    let total: usize = published.iter().map(|m| m.len()).sum();
    assert_eq!(r.bytes, total as u64);
    // Ids follow release order and each public blob is the raw source.
    let p = Publication::open(dir).unwrap();
    for (i, raw) in published.iter().enumerate().step_by(97) {
        let (_, e) = p.message(i as u64 + 1).unwrap();
        assert_eq!(&fs::read(p.blob_path(&e.blob)).unwrap(), *raw);
    }
    // One flipped byte in one real message is found and named.
    let (_, e) = p.message(1234).unwrap();
    let path = p.blob_path(&e.blob);
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    fs::write(&path, &bytes).unwrap();
    let r = verify(dir, now);
    assert_eq!(r.problems.len(), 1, "{r}");
    assert_eq!(r.problems[0].path(), layout::blob_path(&e.blob));
    assert_eq!(r.problems[0].kind(), "bad-hash");
    println!(
        "{} real io-uring messages ({} bytes) in 4 releases verified; tampering found",
        published.len(),
        total
    );
}
