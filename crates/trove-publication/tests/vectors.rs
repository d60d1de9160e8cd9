//! Test vectors: a tiny complete publication built deterministically from a
//! fixed key seed, and one broken copy per rejection rule, all checked in
//! under `tests/vectors/`. `regenerated_vectors_match_checked_in` rebuilds
//! them and compares byte for byte, so they cannot drift silently; set
//! `TROVE_REGENERATE_VECTORS=1` to rewrite them after a deliberate change
//! and review the diff.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use trove_publication::{
    layout, seal, seal_object, verify_dir, AttachmentEntry, DkimAttestation, FileDraft,
    FreshnessPointer, Hash, Manifest, MessageDraft, MessageSummary, ObjectKind, Problem,
    PublicationWriter, PublisherKey, ReleaseDraft, TrustedState, VerifyOptions,
};

/// Seed of the vectors' publisher key (bytes 0, 1, 2, … 31).
const SEED: [u8; 32] = {
    let mut s = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        s[i] = i as u8;
        i += 1;
    }
    s
};
/// Seed of an attacker's key.
const ATTACKER_SEED: [u8; 32] = [0xee; 32];
/// 2023-11-14T22:13:20Z.
const T0: u64 = 1_700_000_000;
const DAY: u64 = 86_400;
/// The time at which every vector is verified.
const NOW: u64 = T0 + 2 * DAY;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

const MSG1: &[u8] = b"From: Alice Example <alice@example.org>\r\n\
To: bob@example.net\r\n\
Subject: Quarterly numbers\r\n\
Date: Fri, 07 Oct 2016 10:00:00 -0400\r\n\
Message-ID: <1@example.org>\r\n\
\r\n\
Bob, the numbers are in.\r\n";

const MSG2: &[u8] = b"From: Bob Example <bob@example.net>\r\n\
To: Alice Example <alice@example.org>\r\n\
Cc: carol@example.com\r\n\
Subject: Re: Quarterly numbers\r\n\
Date: Fri, 07 Oct 2016 11:30:00 -0400\r\n\
Message-ID: <2@example.net>\r\n\
In-Reply-To: <1@example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain\r\n\
\r\n\
Notes attached.\r\n\
--b1\r\n\
Content-Type: text/plain; name=\"notes.txt\"\r\n\
Content-Disposition: attachment; filename=\"notes.txt\"\r\n\
\r\n\
revenue up, costs down\r\n\
--b1--\r\n";

const ATTACHMENT2: &[u8] = b"revenue up, costs down";

const MSG3: &[u8] = b"From: Carol Example <carol@example.com>\r\n\
To: alice@example.org\r\n\
Subject: Lunch?\r\n\
Date: Sat, 08 Oct 2016 09:00:00 -0400\r\n\
Message-ID: <3@example.com>\r\n\
\r\n\
Tomorrow at noon.\r\n";

fn mbox(messages: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        out.extend_from_slice(b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n");
        out.extend_from_slice(m);
        out.extend_from_slice(b"\n");
    }
    out
}

fn summary(id: &str, date: &str, from: &str, to: &[&str], subject: &str) -> MessageSummary {
    MessageSummary {
        message_id: Some(id.into()),
        date: Some(date.into()),
        from: vec![from.into()],
        to: to.iter().map(|s| s.to_string()).collect(),
        cc: vec![],
        subject: Some(subject.into()),
        in_reply_to: None,
        thread: Some("1@example.org".into()),
    }
}

fn dkim(result: &str, reason: Option<&str>) -> Vec<DkimAttestation> {
    vec![DkimAttestation {
        domain: "example.org".into(),
        selector: "s2016".into(),
        algorithm: "rsa-sha256".into(),
        result: result.into(),
        reason: reason.map(str::to_owned),
    }]
}

/// Builds the good publication in `dir` with `seed` and `name`; returns the
/// freshness pointer file as it was after release 1 (for the rollback case).
fn build(dir: &Path, seed: [u8; 32], name: &str) -> Vec<u8> {
    let key = PublisherKey::from_seed(seed);
    let mut w = PublicationWriter::create(
        dir,
        key,
        name,
        "Test vectors of the trove publication format.",
        T0,
    )
    .unwrap();
    w.set_fsync(false);

    let b1 = w.put_blob(MSG1).unwrap();
    let b2 = w.put_blob(MSG2).unwrap();
    let a2 = w.put_blob(ATTACHMENT2).unwrap();
    let f1 = w.put_blob(&mbox(&[MSG1, MSG2])).unwrap();
    let mut s2 = summary(
        "2@example.net",
        "2016-10-07T11:30:00-04:00",
        "Bob Example <bob@example.net>",
        &["Alice Example <alice@example.org>"],
        "Re: Quarterly numbers",
    );
    s2.cc = vec!["carol@example.com".into()];
    s2.in_reply_to = Some("1@example.org".into());
    let part1 = ReleaseDraft {
        title: "Part 1".into(),
        messages: vec![
            MessageDraft {
                blob: b1,
                attachments: vec![],
                summary: summary(
                    "1@example.org",
                    "2016-10-07T10:00:00-04:00",
                    "Alice Example <alice@example.org>",
                    &["bob@example.net"],
                    "Quarterly numbers",
                ),
                dkim: dkim("pass", None),
            },
            MessageDraft {
                blob: b2,
                attachments: vec![AttachmentEntry {
                    blob: a2.hash,
                    size: a2.size,
                    file_name: Some("notes.txt".into()),
                    content_type: "text/plain".into(),
                }],
                summary: s2,
                dkim: dkim("fail", Some("body hash mismatch")),
            },
        ],
        files: vec![FileDraft {
            name: "part-1.mbox".into(),
            content_type: layout::content_type::MBOX.into(),
            blob: f1,
        }],
    };
    w.publish(&part1, T0 + 3600, T0 + 3600 + 30 * DAY).unwrap();
    let pointer1 = fs::read(dir.join(layout::FRESHNESS_PATH)).unwrap();

    let b3 = w.put_blob(MSG3).unwrap();
    let f2 = w.put_blob(&mbox(&[MSG3])).unwrap();
    let mut s3 = summary(
        "3@example.com",
        "2016-10-08T09:00:00-04:00",
        "Carol Example <carol@example.com>",
        &["alice@example.org"],
        "Lunch?",
    );
    s3.thread = Some("3@example.com".into());
    let part2 = ReleaseDraft {
        title: "Part 2".into(),
        messages: vec![MessageDraft {
            blob: b3,
            attachments: vec![],
            summary: s3,
            dkim: vec![],
        }],
        files: vec![FileDraft {
            name: "part-2.mbox".into(),
            content_type: layout::content_type::MBOX.into(),
            blob: f2,
        }],
    };
    w.publish(&part2, T0 + DAY, T0 + DAY + 30 * DAY).unwrap();
    pointer1
}

fn key() -> PublisherKey {
    PublisherKey::from_seed(SEED)
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Every file below `dir` (dot files included), by relative path.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(root, &e.path(), out);
            } else {
                let rel = e
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, fs::read(e.path()).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

/// The signed object inside a signed file.
fn signed_of(path: &Path) -> Value {
    let v: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    v["signed"].clone()
}

fn read_manifest(dir: &Path, release: u64) -> Manifest {
    serde_json::from_value(signed_of(&layout::to_fs_path(
        dir,
        &layout::manifest_path(release),
    )))
    .unwrap()
}

/// Re-signs manifest `release` after `edit`, and the pointer to follow it
/// when it is the latest, as a publisher (or a thief of its key) could.
fn resign_manifest(dir: &Path, release: u64, edit: impl FnOnce(&mut Manifest)) {
    let mut m = read_manifest(dir, release);
    edit(&mut m);
    let sealed = seal(&key(), ObjectKind::Manifest, &m).unwrap();
    fs::write(
        layout::to_fs_path(dir, &layout::manifest_path(release)),
        &sealed.bytes,
    )
    .unwrap();
    resign_pointer(dir, |p| {
        if p.release == release {
            p.manifest = sealed.hash;
        }
    });
}

fn resign_pointer(dir: &Path, edit: impl FnOnce(&mut FreshnessPointer)) {
    let path = dir.join(layout::FRESHNESS_PATH);
    let mut p: FreshnessPointer = serde_json::from_value(signed_of(&path)).unwrap();
    edit(&mut p);
    fs::write(path, seal(&key(), ObjectKind::Freshness, &p).unwrap().bytes).unwrap();
}

/// How a broken case is verified and what it must report.
struct Case {
    name: &'static str,
    about: &'static str,
    pinned: bool,
    trusted: bool,
    now: u64,
    expected: Vec<Problem>,
}

fn good_state(good: &Path) -> TrustedState {
    verify_dir(good, &VerifyOptions::new(NOW)).state.unwrap()
}

fn options(case: &Case, good: &Path) -> VerifyOptions {
    let mut o = VerifyOptions::new(case.now);
    if case.pinned {
        o.pinned_key = Some(key().public_key());
    }
    if case.trusted {
        o.trusted = Some(good_state(good));
    }
    o
}

/// Builds every vector below `out` and returns the broken cases.
fn generate(out: &Path) -> Vec<Case> {
    let good = out.join("good");
    let pointer1 = build(&good, SEED, "trove test vectors");
    let m1 = read_manifest(&good, 1);
    let m2 = read_manifest(&good, 2);
    let pub_id = m1.publication;
    let m1_hash = Hash::from_hex(&good_state_hex(&good, 1)).unwrap();
    let mut cases = Vec::new();
    let broken = |name: &str| {
        let d = out.join("broken").join(name);
        copy_tree(&good, &d);
        d
    };
    let blob1 = layout::blob_path(&m1.messages[0].blob);

    // A byte of a message changed.
    let d = broken("tampered-blob");
    let p = layout::to_fs_path(&d, &blob1);
    let mut bytes = fs::read(&p).unwrap();
    bytes[6] ^= 0x20;
    fs::write(&p, &bytes).unwrap();
    cases.push(Case {
        name: "tampered-blob",
        about: "one byte of message 1's raw source flipped",
        pinned: true,
        trusted: false,
        now: NOW,
        expected: vec![Problem::BadHash {
            path: blob1.clone(),
            expected: m1.messages[0].blob,
            actual: Hash::of(&bytes),
        }],
    });

    // A manifest edited without re-signing.
    let d = broken("tampered-manifest");
    let p = layout::to_fs_path(&d, &layout::manifest_path(1));
    let text = String::from_utf8(fs::read(&p).unwrap())
        .unwrap()
        .replace("Part 1", "Part X");
    fs::write(&p, text).unwrap();
    cases.push(Case {
        name: "tampered-manifest",
        about: "release 1's title changed from \"Part 1\" to \"Part X\" without re-signing",
        pinned: true,
        trusted: false,
        now: NOW,
        expected: vec![Problem::BadSignature {
            path: layout::manifest_path(1),
        }],
    });

    // A manifest signed by someone else's key.
    let d = broken("forged-signature");
    let p = layout::to_fs_path(&d, &layout::manifest_path(2));
    let forged = seal(
        &PublisherKey::from_seed(ATTACKER_SEED),
        ObjectKind::Manifest,
        &m2,
    )
    .unwrap();
    fs::write(&p, &forged.bytes).unwrap();
    cases.push(Case {
        name: "forged-signature",
        about: "release 2's manifest re-signed by an attacker's key (seed 0xee * 32)",
        pinned: true,
        trusted: false,
        now: NOW,
        expected: vec![Problem::BadSignature {
            path: layout::manifest_path(2),
        }],
    });

    // A whole publication by another publisher, verified with the real key pinned.
    let d = out.join("broken").join("other-publisher");
    build(&d, ATTACKER_SEED, "trove test vectors");
    cases.push(Case {
        name: "other-publisher",
        about: "the same content published by another key; the reader pinned the real key",
        pinned: true,
        trusted: false,
        now: NOW,
        expected: vec![Problem::KeyMismatch {
            path: layout::DESCRIPTOR_PATH.into(),
            expected: key().public_key(),
            actual: PublisherKey::from_seed(ATTACKER_SEED).public_key(),
        }],
    });

    // Release 1 removed.
    let d = broken("removed-release");
    fs::remove_file(layout::to_fs_path(&d, &layout::manifest_path(1))).unwrap();
    cases.push(Case {
        name: "removed-release",
        about: "releases/000001.json deleted",
        pinned: true,
        trusted: false,
        now: NOW,
        expected: vec![Problem::Missing {
            path: layout::manifest_path(1),
        }],
    });

    // Releases 1 and 2 swapped.
    let d = broken("reordered-releases");
    let p1 = layout::to_fs_path(&d, &layout::manifest_path(1));
    let p2 = layout::to_fs_path(&d, &layout::manifest_path(2));
    let (a, b) = (fs::read(&p1).unwrap(), fs::read(&p2).unwrap());
    fs::write(&p1, b).unwrap();
    fs::write(&p2, a).unwrap();
    cases.push(Case {
        name: "reordered-releases",
        about: "releases/000001.json and releases/000002.json swapped",
        pinned: true,
        trusted: false,
        now: NOW,
        expected: vec![
            Problem::WrongRelease {
                path: layout::manifest_path(1),
                expected: 1,
                found: 2,
            },
            Problem::WrongRelease {
                path: layout::manifest_path(2),
                expected: 2,
                found: 1,
            },
        ],
    });

    // The genuine, still unexpired pointer of release 1, replayed to a reader that trusts release 2.
    let d = broken("rollback");
    fs::write(d.join(layout::FRESHNESS_PATH), &pointer1).unwrap();
    cases.push(Case {
        name: "rollback",
        about: "freshness.json replaced by the genuine pointer issued at release 1; the reader trusts the good state (release 2)",
        pinned: true,
        trusted: true,
        now: NOW,
        expected: vec![Problem::Rollback {
            path: layout::FRESHNESS_PATH.into(),
            trusted: 2,
            offered: 1,
            trusted_issued_at: T0 + DAY,
            offered_issued_at: T0 + 3600,
        }],
    });

    // A pointer that expired: the origin is frozen.
    let d = broken("expired-pointer");
    resign_pointer(&d, |p| p.expires_at = T0 + DAY + 3600);
    cases.push(Case {
        name: "expired-pointer",
        about: "freshness.json re-signed with expires_at one hour after issued_at, long before now",
        pinned: true,
        trusted: false,
        now: NOW,
        expected: vec![Problem::Expired {
            path: layout::FRESHNESS_PATH.into(),
            expires_at: T0 + DAY + 3600,
            now: NOW,
        }],
    });

    // Release 2 of another publication by the same key.
    let other = out.join("scratch-other");
    build(&other, SEED, "another publication by the same key");
    let other_m2 = read_manifest(&other, 2);
    let d = broken("mix-and-match");
    fs::copy(
        layout::to_fs_path(&other, &layout::manifest_path(2)),
        layout::to_fs_path(&d, &layout::manifest_path(2)),
    )
    .unwrap();
    fs::remove_dir_all(&other).unwrap();
    cases.push(Case {
        name: "mix-and-match",
        about: "releases/000002.json taken from another publication signed by the same key",
        pinned: true,
        trusted: false,
        now: NOW,
        expected: vec![Problem::WrongPublication {
            path: layout::manifest_path(2),
            expected: pub_id,
            actual: other_m2.publication,
        }],
    });

    // A blob longer than declared (endless data).
    let d = broken("oversized-blob");
    let p = layout::to_fs_path(&d, &blob1);
    let mut bytes = fs::read(&p).unwrap();
    bytes.extend_from_slice(&[b'x'; 4096]);
    fs::write(&p, &bytes).unwrap();
    cases.push(Case {
        name: "oversized-blob",
        about: "4096 bytes appended to message 1's blob",
        pinned: true,
        trusted: false,
        now: NOW,
        expected: vec![Problem::SizeMismatch {
            path: blob1.clone(),
            expected: m1.messages[0].size,
            actual: m1.messages[0].size + 4096,
        }],
    });

    // Validly signed, but release 2 does not link to release 1.
    let d = broken("broken-chain");
    resign_manifest(&d, 2, |m| m.previous = Some(Hash::of(b"not release 1")));
    cases.push(Case {
        name: "broken-chain",
        about: "release 2 re-signed with previous = BLAKE3(\"not release 1\")",
        pinned: true,
        trusted: false,
        now: NOW,
        expected: vec![Problem::BrokenChain {
            path: layout::manifest_path(2),
            expected: Some(m1_hash),
            found: Some(Hash::of(b"not release 1")),
        }],
    });

    // Validly signed, but ids skip one.
    let d = broken("id-gap");
    resign_manifest(&d, 2, |m| {
        m.first_id = 4;
        m.messages[0].id = 4;
    });
    cases.push(Case {
        name: "id-gap",
        about: "release 2 re-signed with its message as emailid/4 instead of emailid/3",
        pinned: true,
        trusted: false,
        now: NOW,
        expected: vec![Problem::BadMessageId {
            path: layout::manifest_path(2),
            expected: 3,
            found: 4,
        }],
    });

    // The pointer names a manifest hash that is not release 2's.
    let d = broken("pointer-mismatch");
    resign_pointer(&d, |p| p.manifest = m1_hash);
    cases.push(Case {
        name: "pointer-mismatch",
        about: "freshness.json re-signed naming release 2 with release 1's manifest hash",
        pinned: true,
        trusted: false,
        now: NOW,
        expected: vec![Problem::PointerMismatch {
            path: layout::FRESHNESS_PATH.into(),
            release: 2,
            expected: m1_hash,
            actual: good_state(&good).manifest,
        }],
    });

    // Same JSON, pretty-printed.
    let d = broken("not-canonical");
    let p = d.join(layout::DESCRIPTOR_PATH);
    let v: Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
    fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    cases.push(Case {
        name: "not-canonical",
        about: "descriptor.json pretty-printed (same content, not canonical bytes)",
        pinned: true,
        trusted: false,
        now: NOW,
        expected: vec![Problem::NotCanonical {
            path: layout::DESCRIPTOR_PATH.into(),
        }],
    });

    // A future major version.
    let d = broken("unknown-version");
    let p = d.join(layout::DESCRIPTOR_PATH);
    let mut obj = signed_of(&p);
    obj["version"] = json!(2);
    fs::write(
        &p,
        seal_object(&key(), ObjectKind::Descriptor, obj)
            .unwrap()
            .bytes,
    )
    .unwrap();
    cases.push(Case {
        name: "unknown-version",
        about: "descriptor.json re-signed with \"version\": 2",
        pinned: true,
        trusted: false,
        now: NOW,
        expected: vec![Problem::UnsupportedVersion {
            path: layout::DESCRIPTOR_PATH.into(),
            found: "2".into(),
        }],
    });

    // A critical extension this reader does not implement.
    let d = broken("unknown-extension");
    resign_manifest(&d, 2, |m| m.requires = vec!["sealed-v1".into()]);
    cases.push(Case {
        name: "unknown-extension",
        about: "release 2 re-signed with \"requires\": [\"sealed-v1\"]",
        pinned: true,
        trusted: false,
        now: NOW,
        expected: vec![Problem::UnsupportedExtension {
            path: layout::manifest_path(2),
            feature: "sealed-v1".into(),
        }],
    });

    // A bulk file path that escapes files/.
    let d = broken("bad-path");
    resign_manifest(&d, 2, |m| {
        m.files[0].path = "files/000002/../../descriptor.json".into()
    });
    cases.push(Case {
        name: "bad-path",
        about: "release 2 re-signed with a file path files/000002/../../descriptor.json",
        pinned: true,
        trusted: false,
        now: NOW,
        expected: vec![Problem::BadPath {
            path: layout::manifest_path(2),
            file: "files/000002/../../descriptor.json".into(),
            reason: "must start with a letter or digit".into(),
        }],
    });

    // Expected results, for implementers in other languages.
    for case in &cases {
        let d = out.join("broken").join(case.name);
        let o = options(case, &good);
        let expected = json!({
            "about": case.about,
            "now": case.now,
            "pinned_key": o.pinned_key.map(|k| k.to_hex()),
            "trusted": o.trusted,
            "problems": case.expected.iter().map(|p| json!({
                "kind": p.kind(), "path": p.path(), "message": p.to_string(),
            })).collect::<Vec<_>>(),
        });
        fs::write(
            d.join("..").join(format!("{}.expected.json", case.name)),
            serde_json::to_vec_pretty(&expected).unwrap(),
        )
        .unwrap();
    }
    write_good_expectations(&good, &out.join("good.expected.json"));
    cases
}

/// Hash of manifest `release` in hex, read from the good publication.
fn good_state_hex(good: &Path, release: u64) -> String {
    let m2 = read_manifest(good, 2);
    if release == 1 {
        m2.previous.unwrap().to_hex()
    } else {
        good_state(good).manifest.to_hex()
    }
}

fn write_good_expectations(good: &Path, path: &Path) {
    let r = verify_dir(good, &VerifyOptions::new(NOW));
    assert!(r.is_ok(), "{:?}", r.problems);
    let key = key();
    let manifests: Vec<Value> = (1..=2)
        .map(|n| {
            let m = read_manifest(good, n);
            json!({
                "path": layout::manifest_path(n),
                "hash": good_state_hex(good, n),
                "messages": m.messages.iter().map(|e| json!({
                    "id": e.id, "blob": e.blob, "size": e.size, "path": layout::blob_path(&e.blob),
                })).collect::<Vec<_>>(),
                "files": m.files,
            })
        })
        .collect();
    let expected = json!({
        "about": "The good publication: verify it at `now` with the key pinned; it must pass.",
        "secret_key_seed": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "public_key": key.public_key().to_hex(),
        "publication_id": r.publication.unwrap().to_hex(),
        "now": NOW,
        "manifests": manifests,
        "state": r.state,
    });
    fs::write(path, serde_json::to_vec_pretty(&expected).unwrap()).unwrap();
}

#[test]
fn regenerated_vectors_match_checked_in() {
    let tmp = tempfile::tempdir().unwrap();
    generate(tmp.path());
    let fresh = tree(tmp.path());
    let dir = vectors_dir();
    if std::env::var_os("TROVE_REGENERATE_VECTORS").is_some() {
        for sub in ["good", "broken"] {
            let _ = fs::remove_dir_all(dir.join(sub));
        }
        let _ = fs::remove_file(dir.join("good.expected.json"));
        for (rel, bytes) in &fresh {
            let p = dir.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, bytes).unwrap();
        }
    }
    let mut checked_in = tree(&dir);
    checked_in.retain(|k, _| k != "README.md");
    let fresh_names: Vec<_> = fresh.keys().collect();
    let checked_names: Vec<_> = checked_in.keys().collect();
    assert_eq!(
        fresh_names, checked_names,
        "vector files differ; run with TROVE_REGENERATE_VECTORS=1 and review the diff"
    );
    for (rel, bytes) in &fresh {
        assert!(
            checked_in[rel] == *bytes,
            "{rel} differs from the checked-in vector; run with TROVE_REGENERATE_VECTORS=1 and review the diff"
        );
    }
}

#[test]
fn good_vector_verifies() {
    let good = vectors_dir().join("good");
    let mut o = VerifyOptions::new(NOW);
    o.pinned_key = Some(key().public_key());
    let r = verify_dir(&good, &o);
    assert!(r.is_ok(), "{:?}", r.problems);
    assert_eq!((r.release, r.manifests, r.messages), (2, 2, 3));
    assert_eq!((r.blobs, r.files), (4, 2));
    assert!(r.pending.is_empty());
    assert!(r.unlisted.is_empty(), "{:?}", r.unlisted);
    assert_eq!(r.public_key, Some(key().public_key()));
}

#[test]
fn each_broken_vector_is_rejected_with_the_exact_problem() {
    // Cases are rebuilt in a temp dir (to get the expected values), then the
    // checked-in copies are verified.
    let tmp = tempfile::tempdir().unwrap();
    let cases = generate(tmp.path());
    assert!(cases.len() >= 16);
    let good = vectors_dir().join("good");
    for case in &cases {
        let dir = vectors_dir().join("broken").join(case.name);
        let report = verify_dir(&dir, &options(case, &good));
        assert_eq!(report.problems, case.expected, "case {}", case.name);
        assert!(report.state.is_none(), "case {}", case.name);
    }
}
