//! Ingest of every supported input shape, on fixtures built here, plus the error cases.

mod common;

use std::fs;
use std::io::Write;

use common::*;
use trove_vault::{Error, IngestOptions, Limits, NoProgress, Vault};

fn new_vault(dir: &std::path::Path) -> Vault {
    Vault::init(dir.join("vault")).unwrap()
}

#[test]
fn mbox_bytes_are_exact_and_reingest_adds_nothing() {
    let t = tempfile::tempdir().unwrap();
    let mut v = new_vault(t.path());
    let mut msgs: Vec<String> = (1..=5).map(msg).collect();
    msgs[2] = msgs[2].replace("Body of", "From the start of a line\n>From quoted\nBody of");
    let mbox = t.path().join("a.mbox");
    fs::write(&mbox, mboxrd(&msgs)).unwrap();
    let r = ingest(&mut v, &[&mbox]).unwrap();
    assert_eq!(
        (r.seen, r.stored, r.duplicates, r.unparseable),
        (5, 5, 0, 0)
    );
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(
            v.raw(i as i64 + 1).unwrap(),
            m.as_bytes(),
            "message {}",
            i + 1
        );
    }
    let d = v.message(3).unwrap();
    assert_eq!(
        d.occurrences[0].envelope.as_deref(),
        Some("From sender@example.org Fri Oct  7 16:30:00 2016")
    );
    let again = ingest(&mut v, &[&mbox]).unwrap();
    assert_eq!(
        (
            again.seen,
            again.stored,
            again.duplicates,
            again.already_ingested
        ),
        (5, 0, 0, 5)
    );
    assert_eq!(v.stats().unwrap().messages, 5);
}

#[test]
fn crlf_mbox_and_duplicates_and_same_message_id() {
    let t = tempfile::tempdir().unwrap();
    let mut v = new_vault(t.path());
    let a = msg(1).replace('\n', "\r\n");
    let variant = msg(1).replace("Body of", "Edited body of");
    let text = mboxrd(&[msg(1), msg(1), variant.clone()]);
    let mbox = t.path().join("dups.mbox");
    fs::write(&mbox, &text).unwrap();
    let crlf = t.path().join("crlf.mbox");
    fs::write(
        &crlf,
        format!("From x@y Sat Jan  1 00:00:00 2000\r\n{a}\r\n"),
    )
    .unwrap();
    let r = ingest(&mut v, &[&mbox, &crlf]).unwrap();
    assert_eq!((r.seen, r.stored, r.duplicates), (4, 3, 1));
    assert_eq!(
        r.same_message_id, 2,
        "the variant and the CRLF copy share m1's Message-ID"
    );
    assert_eq!(v.raw(3).unwrap(), a.as_bytes());
    let d = v.message(1).unwrap();
    assert_eq!(d.occurrences.len(), 2, "duplicate linked to its source");
    assert_eq!(d.same_message_id, vec![2, 3]);
    let s = v.stats().unwrap();
    assert_eq!((s.messages, s.duplicates, s.shared_message_ids), (3, 1, 1));
}

#[test]
fn maildir_with_nested_folders_and_flags() {
    let t = tempfile::tempdir().unwrap();
    let md = t.path().join("Maildir");
    for f in ["", ".Sent", ".Archive.2016"] {
        for s in ["cur", "new", "tmp"] {
            fs::create_dir_all(md.join(f).join(s)).unwrap();
        }
    }
    fs::write(md.join("cur/100.a.host:2,RS"), msg(1)).unwrap();
    fs::write(md.join("new/101.b.host"), msg(2)).unwrap();
    fs::write(md.join(".Sent/cur/102.c.host;2,S"), msg(3)).unwrap();
    fs::write(md.join(".Archive.2016/cur/103.d.host:2,"), msg(4)).unwrap();
    fs::write(md.join("tmp/ignored-in-delivery"), msg(99)).unwrap();
    let mut v = new_vault(t.path());
    let r = ingest(&mut v, &[&md]).unwrap();
    assert_eq!(r.stored, 4);
    let by_subject = |s: &str| {
        let id = v
            .list(&Default::default())
            .unwrap()
            .into_iter()
            .find(|m| m.subject.as_deref() == Some(s))
            .unwrap()
            .id;
        v.message(id).unwrap().occurrences.remove(0)
    };
    assert_eq!(by_subject("message 1").flags.as_deref(), Some("RS"));
    assert_eq!(by_subject("message 2").flags, None);
    assert_eq!(by_subject("message 3").folder.as_deref(), Some("Sent"));
    assert_eq!(
        by_subject("message 4").folder.as_deref(),
        Some("Archive/2016")
    );
    // A flag change (message read) does not make it new.
    fs::rename(md.join("new/101.b.host"), md.join("cur/101.b.host:2,S")).unwrap();
    let again = ingest(&mut v, &[&md]).unwrap();
    assert_eq!(
        (again.stored, again.duplicates, again.already_ingested),
        (0, 0, 4)
    );
}

#[test]
fn archives_of_every_kind() {
    let t = tempfile::tempdir().unwrap();
    let mbox = mboxrd(&[msg(1), msg(2)]);
    let tar = tar_bytes(&[
        ("dump/inbox.mbox", mbox.as_bytes()),
        ("dump/one.eml", msg(3).as_bytes()),
        ("dump/Maildir/cur/1.x:2,S", msg(4).as_bytes()),
        ("dump/photo.jpg", b"\xff\xd8\xff\xe0 not mail"),
    ]);
    let zip = zip_bytes(&[
        ("export/a.eml", msg(5).as_bytes()),
        ("export/b.mbox", mboxrd(&[msg(6)]).as_bytes()),
    ]);
    fs::write(t.path().join("d.tar"), &tar).unwrap();
    fs::write(t.path().join("d.tar.gz"), {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&tar).unwrap();
        e.finish().unwrap()
    })
    .unwrap();
    fs::write(
        t.path().join("d.tar.zst"),
        zstd::encode_all(&tar[..], 1).unwrap(),
    )
    .unwrap();
    fs::write(t.path().join("e.zip"), &zip).unwrap();
    fs::write(
        t.path().join("f.mbox.zst"),
        zstd::encode_all(mboxrd(&[msg(7)]).as_bytes(), 1).unwrap(),
    )
    .unwrap();
    let mut v = new_vault(t.path());
    let names = ["d.tar", "d.tar.gz", "d.tar.zst", "e.zip", "f.mbox.zst"];
    let paths: Vec<_> = names.iter().map(|n| t.path().join(n)).collect();
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    let r = ingest(&mut v, &refs).unwrap();
    assert_eq!(r.stored, 7, "{r:?}");
    assert_eq!(
        r.duplicates, 8,
        "the tar's 4 messages again in .gz and .zst"
    );
    assert_eq!(r.skipped, 3, "the jpg in each tar");
    for i in 1..=7 {
        let found = v
            .list(&Default::default())
            .unwrap()
            .into_iter()
            .any(|m| m.subject.as_deref() == Some(&format!("message {i}")));
        assert!(found, "message {i}");
    }
    let md = v
        .list(&Default::default())
        .unwrap()
        .into_iter()
        .find(|m| m.subject.as_deref() == Some("message 4"))
        .unwrap();
    let occ = &v.message(md.id).unwrap().occurrences[0];
    assert_eq!(occ.flags.as_deref(), Some("S"));
    assert_eq!(occ.folder.as_deref(), Some("dump/Maildir"));
}

#[test]
fn loose_directory_lists_non_mail_files() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("dump");
    fs::create_dir_all(d.join("sub")).unwrap();
    fs::write(d.join("a.eml"), msg(1)).unwrap();
    fs::write(d.join("sub/b.eml"), msg(2)).unwrap();
    fs::write(d.join("notes.txt"), "just some notes, not an email\n").unwrap();
    fs::write(d.join("empty.eml"), "").unwrap();
    let mut v = new_vault(t.path());
    let r = ingest(&mut v, &[&d]).unwrap();
    assert_eq!((r.stored, r.skipped), (2, 2));
    let reasons: Vec<String> = v
        .connection()
        .prepare("SELECT locator || ': ' || reason FROM skipped ORDER BY locator")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert!(
        reasons[0].starts_with("empty.eml: empty file"),
        "{reasons:?}"
    );
    assert!(reasons[1].starts_with("notes.txt: not mail"), "{reasons:?}");
}

#[test]
fn unparseable_messages_are_stored_raw_and_flagged() {
    let t = tempfile::tempdir().unwrap();
    let md = t.path().join("md");
    fs::create_dir_all(md.join("cur")).unwrap();
    let garbage = b"\x00\x01binary junk that a mail client saved into the maildir\xff";
    fs::write(md.join("cur/1.x:2,"), garbage).unwrap();
    fs::write(md.join("cur/2.x:2,"), "Subject: no from, no date\n\nbody\n").unwrap();
    let mut v = new_vault(t.path());
    let r = ingest(&mut v, &[&md]).unwrap();
    assert_eq!(r.stored, 2);
    assert!(r.with_problems >= 2);
    let raw_ids: Vec<i64> = (1..=2).collect();
    let mut found_garbage = false;
    for id in raw_ids {
        let raw = v.raw(id).unwrap();
        if raw == garbage {
            found_garbage = true;
            let d = v.message(id).unwrap();
            assert!(
                d.problems
                    .iter()
                    .any(|(c, _)| c == "no_headers" || c == "unparseable"),
                "{:?}",
                d.problems
            );
        } else {
            let d = v.message(id).unwrap();
            let codes: Vec<&str> = d.problems.iter().map(|(c, _)| c.as_str()).collect();
            assert!(
                codes.contains(&"missing_from") && codes.contains(&"missing_date"),
                "{codes:?}"
            );
        }
    }
    assert!(found_garbage);
}

#[test]
fn attachments_nested_messages_and_tnef_are_stored() {
    let t = tempfile::tempdir().unwrap();
    let inner = msg(2);
    let raw = format!(
        "From: a@example.org\nTo: b@example.org\nSubject: fwd\nDate: Fri, 7 Oct 2016 10:00:00 +0000\nMessage-ID: <outer@example.org>\n\
         MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\nsee attached\n\
         --XX\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\"report.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQKJcfs\n\
         --XX\nContent-Type: message/rfc822\n\n{inner}\n--XX--\n"
    );
    let eml = t.path().join("fwd.eml");
    fs::write(&eml, &raw).unwrap();
    let mut v = new_vault(t.path());
    ingest(&mut v, &[&eml]).unwrap();
    let d = v.message(1).unwrap();
    assert_eq!(v.raw(1).unwrap(), raw.as_bytes());
    let pdf = d
        .attachments
        .iter()
        .find(|a| a.filename.as_deref() == Some("report.pdf"))
        .unwrap();
    assert_eq!(v.blobs().get(&pdf.hash).unwrap(), b"%PDF-1.4\n%\xc7\xec");
    assert!(d.attachments.iter().any(|a| a.origin == "rfc822"));
}

#[test]
fn bad_inputs_get_clear_errors_and_leave_nothing_half_written() {
    let t = tempfile::tempdir().unwrap();
    let mut v = new_vault(t.path());
    let err = |paths: &[&std::path::Path], limits: Limits, v: &mut Vault| {
        v.ingest(
            &IngestOptions {
                paths: paths.iter().map(|p| p.to_path_buf()).collect(),
                limits,
                no_fsync: false,
            },
            &NoProgress,
        )
        .unwrap_err()
        .to_string()
    };
    let missing = t.path().join("nope.mbox");
    assert!(err(&[&missing], Limits::default(), &mut v).contains("nope.mbox"));
    let png = t.path().join("x.png");
    fs::write(&png, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    let e = err(&[&png], Limits::default(), &mut v);
    assert!(e.contains("x.png") && e.contains("binary data"), "{e}");

    // Escaping entry: the whole archive is refused, nothing of it is stored.
    let evil = t.path().join("evil.tar");
    fs::write(
        &evil,
        tar_bytes(&[
            ("ok.eml", msg(1).as_bytes()),
            ("../../etc/cron.d/x.eml", msg(2).as_bytes()),
        ]),
    )
    .unwrap();
    let e = err(&[&evil], Limits::default(), &mut v);
    assert!(e.contains("evil.tar") && e.contains("escape"), "{e}");

    // Truncated archive.
    let mut tz = zstd::encode_all(
        &tar_bytes(&[(
            "a.mbox",
            mboxrd(&(1..50).map(msg).collect::<Vec<_>>()).as_bytes(),
        )])[..],
        3,
    )
    .unwrap();
    tz.truncate(tz.len() / 2);
    let trunc = t.path().join("cut.tar.zst");
    fs::write(&trunc, &tz).unwrap();
    let e = err(&[&trunc], Limits::default(), &mut v);
    assert!(e.contains("cut.tar.zst"), "{e}");

    // A bomb: 64 MiB of zeros in a tiny zstd frame, with a 16 MiB expansion cap.
    let bomb = t.path().join("bomb.mbox.zst");
    let mut enc = zstd::Encoder::new(Vec::new(), 19).unwrap();
    enc.write_all(b"From x\nSubject: bomb\n\n").unwrap();
    let zeros = vec![b'a'; 1 << 20];
    for _ in 0..64 {
        enc.write_all(&zeros).unwrap();
    }
    fs::write(&bomb, enc.finish().unwrap()).unwrap();
    let limits = Limits {
        max_expanded: 16 << 20,
        ..Limits::default()
    };
    let e = err(&[&bomb], limits, &mut v);
    assert!(e.contains("bomb.mbox.zst") && e.contains("limit"), "{e}");
    // Too many entries.
    let many = t.path().join("many.zip");
    let entries: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| (format!("{i}.eml"), msg(i).into_bytes()))
        .collect();
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    fs::write(&many, zip_bytes(&refs)).unwrap();
    let e = err(
        &[&many],
        Limits {
            max_entries: 10,
            ..Limits::default()
        },
        &mut v,
    );
    assert!(e.contains("many.zip") && e.contains("--max-entries"), "{e}");

    let s = v.stats().unwrap();
    assert_eq!(
        (s.messages, s.sources),
        (0, 0),
        "failed inputs left rows behind"
    );
    assert!(v.check().unwrap().is_empty());

    // Not a vault.
    let e = Vault::open(t.path()).err().unwrap();
    assert!(matches!(e, Error::NotAVault(_)));
    assert!(e.to_string().contains("trove init"));
}
