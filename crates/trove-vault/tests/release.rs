//! Releases: plan, publish, idempotence, chain, tamper detection, schedule and the embargo.

use std::fs;
use std::path::{Path, PathBuf};

use trove_vault::release::{verify_dir, IdList, PlanBy, PublishOptions, Query, VerifyOptions};
use trove_vault::{IngestOptions, NoProgress, Vault};

const NOW: u64 = 1_700_000_000;

fn shared_data() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if p.is_dir() {
        Some(p)
    } else {
        println!("skipped: ../shared/data not found");
        None
    }
}

/// 40 synthetic messages over 10 days; every 7th has an attachment; bodies hold a `From `
/// line (mboxrd quoting) and a unique secret line.
fn corpus(dir: &Path) -> PathBuf {
    let mut m = String::new();
    for n in 0..40 {
        let day = 1 + n / 4;
        m.push_str(&format!(
            "From p{n}@example.org Sat Oct  1 00:00:00 2016\nFrom: Person {n} <p{n}@example.org>\n\
             To: list@example.org\nSubject: synthetic subject zq{n}x\nDate: {day} Oct 2016 12:{:02}:00 +0000\n\
             Message-ID: <msg{n}.zq@example.org>\nMIME-Version: 1.0\n",
            n % 60
        ));
        if n % 7 == 0 {
            m.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\n\
                 secret body line number {n} kq\n>From the archive\n--b\nContent-Type: application/octet-stream\n\
                 Content-Disposition: attachment; filename=\"a{n}.bin\"\nContent-Transfer-Encoding: base64\n\n\
                 YXR0YWNobWVudCB7bn0gZGF0YQ==\n--b--\n"
            ));
        } else {
            m.push_str(&format!(
                "\nsecret body line number {n} kq\n>From the archive\n"
            ));
        }
    }
    let p = dir.join("dump.mbox");
    fs::write(&p, m).unwrap();
    p
}

fn vault_with(dir: &Path, input: PathBuf) -> Vault {
    let mut v = Vault::init(dir.join("vault")).unwrap();
    v.ingest(
        &IngestOptions {
            paths: vec![input],
            ..Default::default()
        },
        &NoProgress,
    )
    .unwrap();
    v
}

fn opts(now: u64) -> PublishOptions {
    let mut o = PublishOptions::new(now);
    o.fsync = false;
    o
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            fs::copy(e.path(), &t).unwrap();
        }
    }
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn publish_is_idempotent_chains_and_keeps_raw_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut v = vault_with(tmp.path(), corpus(tmp.path()));
    let pubdir = tmp.path().join("pub");
    assert_eq!(v.plan_parts(3, PlanBy::Count).unwrap(), vec![1, 2, 3]);
    let r1 = v.publish_part(None, &pubdir, &opts(NOW)).unwrap();
    assert_eq!(
        (r1.part, r1.release, r1.first_id, r1.status.as_str()),
        (1, 1, 1, "new")
    );
    let files_before = {
        let mut f = Vec::new();
        all_files(&pubdir, &mut f);
        f.sort();
        f.iter()
            .map(|p| (p.clone(), fs::read(p).unwrap()))
            .collect::<Vec<_>>()
    };
    // Publishing part 1 again is a no-op: same release, not one byte changed.
    let again = v.publish_part(Some(1), &pubdir, &opts(NOW + 60)).unwrap();
    assert_eq!((again.release, again.status.as_str()), (1, "already"));
    let mut f = Vec::new();
    all_files(&pubdir, &mut f);
    f.sort();
    let after: Vec<_> = f
        .iter()
        .map(|p| (p.clone(), fs::read(p).unwrap()))
        .collect();
    assert_eq!(files_before, after);

    let r2 = v.publish_part(None, &pubdir, &opts(NOW + 86_400)).unwrap();
    assert_eq!((r2.part, r2.release, r2.first_id), (2, 2, 1 + r1.messages));
    let p = trove_publication::Publication::open(&pubdir).unwrap();
    assert_eq!(p.manifest(2).unwrap().previous, p.manifest_hash(1));
    // Every published message is byte-identical to the vault's, with its mapped id.
    let mut checked: u64 = 0;
    for part in [1, 2] {
        for vid in v.part_messages(part).unwrap() {
            let pid = v.publication_id(vid).unwrap().unwrap() as u64;
            let (_, e) = p.message(pid).unwrap();
            assert_eq!(p.read_blob(&e.blob, e.size).unwrap(), v.raw(vid).unwrap());
            checked += 1;
        }
    }
    assert_eq!(checked, r1.messages + r2.messages);
    // Part 3 is untouched.
    for vid in v.part_messages(3).unwrap() {
        assert_eq!(v.publication_id(vid).unwrap(), None);
    }
    let parts = v.parts().unwrap();
    assert_eq!(parts[2].state, "planned");
    let report = verify_dir(&pubdir, &VerifyOptions::new(NOW + 86_400 + 10));
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        (report.release, report.messages, report.files),
        (2, checked, 4)
    );
    assert!(fs::read_to_string(pubdir.join("feed.atom"))
        .unwrap()
        .contains("<title>Part 2</title>"));
    // A message never goes out twice: a new part cannot take already-planned messages.
    assert!(v
        .add_part("again", &IdList::parse("1-40").unwrap())
        .is_err());
}

#[test]
fn tampering_is_caught_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    let mut v = vault_with(tmp.path(), corpus(tmp.path()));
    let pubdir = tmp.path().join("pub");
    v.plan_parts(2, PlanBy::Date).unwrap();
    v.publish_part(None, &pubdir, &opts(NOW)).unwrap();
    v.publish_part(None, &pubdir, &opts(NOW + 100)).unwrap();
    let at = VerifyOptions::new(NOW + 200);
    assert!(verify_dir(&pubdir, &at).is_ok());
    let p = trove_publication::Publication::open(&pubdir).unwrap();
    let (_, e) = p.message(3).unwrap();
    let blob_rel = trove_publication::layout::blob_path(&e.blob);
    type Damage<'a> = Box<dyn Fn(&Path) + 'a>;
    let cases: Vec<(&str, Damage, String)> = vec![
        (
            "edit a blob",
            Box::new(move |d: &Path| {
                let f = d.join(trove_publication::layout::blob_path(&e.blob));
                let mut b = fs::read(&f).unwrap();
                b[0] ^= 1;
                fs::write(&f, b).unwrap();
            }),
            blob_rel.clone(),
        ),
        (
            "remove a release",
            Box::new(|d: &Path| fs::remove_file(d.join("releases/000001.json")).unwrap()),
            "releases/000001.json".into(),
        ),
        (
            "reorder releases",
            Box::new(|d: &Path| {
                let a = fs::read(d.join("releases/000001.json")).unwrap();
                let b = fs::read(d.join("releases/000002.json")).unwrap();
                fs::write(d.join("releases/000001.json"), b).unwrap();
                fs::write(d.join("releases/000002.json"), a).unwrap();
            }),
            "releases/00000".into(),
        ),
        (
            "edit a release",
            Box::new(|d: &Path| {
                let f = d.join("releases/000001.json");
                let s = fs::read_to_string(&f)
                    .unwrap()
                    .replacen("Part 1", "Part X", 1);
                fs::write(&f, s).unwrap();
            }),
            "releases/000001.json".into(),
        ),
        (
            "edit the pointer",
            Box::new(|d: &Path| {
                let f = d.join("freshness.json");
                let mut b = fs::read(&f).unwrap();
                let i = b.len() / 2;
                b[i] = if b[i] == b'1' { b'2' } else { b'1' };
                fs::write(&f, b).unwrap();
            }),
            "freshness.json".into(),
        ),
        (
            "remove a bulk file",
            Box::new(|d: &Path| fs::remove_file(d.join("files/000002/part-0002.mbox")).unwrap()),
            "files/000002/part-0002.mbox".into(),
        ),
    ];
    for (i, (what, damage, named)) in cases.iter().enumerate() {
        let copy = tmp.path().join(format!("copy{i}"));
        copy_dir(&pubdir, &copy);
        damage(&copy);
        let r = verify_dir(&copy, &at);
        assert!(!r.is_ok(), "{what}: not caught");
        let text = r.to_string();
        assert!(
            text.contains(named.as_str()),
            "{what}: {named} not named in {text}"
        );
    }
}

#[test]
fn queries_pick_parts_and_schedule_publishes_once_a_day() {
    let tmp = tempfile::tempdir().unwrap();
    let mut v = vault_with(tmp.path(), corpus(tmp.path()));
    let pubdir = tmp.path().join("pub");
    let (p1, _) = v
        .add_part(
            "Days 1-2",
            &Query::parse("date:2016-10-01..2016-10-02").unwrap(),
        )
        .unwrap();
    assert_eq!(v.part_messages(p1).unwrap().len(), 8);
    let (p2, _) = v
        .add_part("One sender", &Query::parse("from:P20@example.org").unwrap())
        .unwrap();
    assert_eq!(v.part_messages(p2).unwrap().len(), 1);
    let (p3, skipped) = v
        .add_part("Ids", &IdList::parse("1-3,30-31").unwrap())
        .unwrap();
    assert_eq!((v.part_messages(p3).unwrap().len(), skipped), (2, 3));
    // Schedule at 09:00 UTC, set at 10:00: nothing until tomorrow 09:00.
    let day: i64 = 1_699_920_000; // a midnight UTC
    v.set_schedule("09:00", &pubdir, (day + 10 * 3600) as u64)
        .unwrap();
    assert!(v
        .run_due(&opts((day + 11 * 3600) as u64))
        .unwrap()
        .is_none());
    let r = v
        .run_due(&opts((day + 86_400 + 9 * 3600) as u64))
        .unwrap()
        .unwrap();
    assert_eq!(r.part, 1);
    assert!(v
        .run_due(&opts((day + 86_400 + 20 * 3600) as u64))
        .unwrap()
        .is_none());
    // Three days missed: one part, not a backlog.
    let r = v
        .run_due(&opts((day + 4 * 86_400 + 9 * 3600) as u64))
        .unwrap()
        .unwrap();
    assert_eq!(r.part, 2);
    assert!(v
        .run_due(&opts((day + 4 * 86_400 + 9 * 3600 + 1) as u64))
        .unwrap()
        .is_none());
}

/// Scans every file under `pubdir` for each unreleased message's raw hash (always), and its
/// Message-ID, subject and a distinctive body line when those do not occur in released mail.
fn assert_embargo(
    v: &Vault,
    pubdir: &Path,
    unreleased_parts: &[i64],
    released_parts: &[i64],
) -> (usize, usize) {
    let mut files = Vec::new();
    all_files(pubdir, &mut files);
    let blobs: Vec<Vec<u8>> = files.iter().map(|f| fs::read(f).unwrap()).collect();
    let mut released = Vec::new();
    for &p in released_parts {
        for id in v.part_messages(p).unwrap() {
            released.extend(v.raw(id).unwrap());
            // The decoded, unfolded subject is public too (a reply in the same thread).
            if let Some(s) = v.message(id).unwrap().summary.subject {
                released.extend(s.into_bytes());
                released.push(0);
            }
        }
    }
    let finder = |needle: &[u8], hay: &[u8]| memchr_find(hay, needle);
    let (mut checked, mut needles) = (0, 0);
    for &p in unreleased_parts {
        for id in v.part_messages(p).unwrap() {
            let raw = v.raw(id).unwrap();
            let d = v.message(id).unwrap();
            let mut probes: Vec<Vec<u8>> = vec![d.hash.clone().into_bytes()];
            if let Some(mid) = &d.summary.message_id {
                probes.push(mid.clone().into_bytes());
            }
            if let Some(s) = d.summary.subject.as_ref().filter(|s| s.len() >= 12) {
                probes.push(s.clone().into_bytes());
            }
            let body_start = raw.windows(2).position(|w| w == b"\n\n").unwrap_or(0);
            if let Some(line) = raw[body_start..]
                .split(|&b| b == b'\n')
                .find(|l| l.len() >= 25 && !l.starts_with(b">") && !finder(l, &released))
            {
                probes.push(line.to_vec());
            }
            for (i, probe) in probes.iter().enumerate() {
                // The hash is always checked; texts only when no released message contains them
                // (a released reply legitimately quotes its parent's Message-ID and subject).
                if i > 0 && finder(probe, &released) {
                    continue;
                }
                needles += 1;
                for (f, b) in files.iter().zip(&blobs) {
                    assert!(
                        !finder(probe, b),
                        "unreleased message {id}: {:?} found in {}",
                        String::from_utf8_lossy(probe),
                        f.display()
                    );
                }
            }
            checked += 1;
        }
    }
    (checked, needles)
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memchr::memmem::find(hay, needle).is_some()
}

#[test]
fn embargo_synthetic() {
    let tmp = tempfile::tempdir().unwrap();
    let mut v = vault_with(tmp.path(), corpus(tmp.path()));
    let pubdir = tmp.path().join("pub");
    v.plan_parts(4, PlanBy::Count).unwrap();
    v.publish_part(None, &pubdir, &opts(NOW)).unwrap();
    v.publish_part(None, &pubdir, &opts(NOW + 1)).unwrap();
    let (checked, needles) = assert_embargo(&v, &pubdir, &[3, 4], &[1, 2]);
    assert_eq!(checked, 20);
    assert!(needles >= 80, "{needles}");
}

#[test]
fn embargo_kasan_dev() {
    let Some(data) = shared_data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut v = Vault::init(tmp.path().join("vault")).unwrap();
    let mut o = IngestOptions {
        paths: vec![data.join("corpora/lore-kasan-dev-2022-2023.mbox.zst")],
        ..Default::default()
    };
    o.no_fsync = true;
    v.ingest(&o, &NoProgress).unwrap();
    let pubdir = tmp.path().join("pub");
    v.plan_parts(6, PlanBy::Count).unwrap();
    v.publish_part(None, &pubdir, &opts(NOW)).unwrap();
    v.publish_part(None, &pubdir, &opts(NOW + 1)).unwrap();
    let r = verify_dir(&pubdir, &VerifyOptions::new(NOW + 2));
    assert!(r.is_ok(), "{r}");
    // Scan for part 3 (the next one, the likeliest to leak) to keep the test quick.
    let (checked, needles) = assert_embargo(&v, &pubdir, &[3], &[1, 2]);
    println!(
        "kasan-dev: {} published, {checked} unreleased messages, {needles} probes: none found",
        r.messages
    );
    assert!(checked > 800, "{checked}");
}
