//! The vault's search index: fielded queries against an independent scan of the parsed
//! messages (real corpus, a subset of io-uring), phrase and date semantics, attachment text,
//! incremental updates, reindex, and the release: field. The generated-fixture test runs
//! without shared data.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use mail_parser::{MessageParser, PartType};
use trove_vault::release::{IdList, PublishOptions, Query};
use trove_vault::trove_search::{html_to_text, SearchOptions};
use trove_vault::{NoProgress, Vault};

/// The index's tokenizer rule, re-implemented: split on anything but letters and digits,
/// lower-case, drop tokens over 40 bytes.
fn tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty() && t.len() <= 40)
        .map(|t| t.to_lowercase())
        .collect()
}

fn has_seq(hay: &[String], needle: &[&str]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.iter().zip(needle).all(|(a, b)| a == b))
}

/// What the test knows about one message, computed from its raw bytes with mail-parser.
struct Scan {
    id: u64,
    from: Vec<String>,
    subject: Vec<String>,
    body: Vec<String>,
    date: Option<i64>,
}

fn scan(id: u64, raw: &[u8]) -> Scan {
    let parsed = std::panic::catch_unwind(|| {
        let m = MessageParser::default().parse(raw)?;
        let from = m
            .from()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.address().map(|s| s.trim().to_lowercase()))
                    .collect()
            })
            .unwrap_or_default();
        let mut body = String::new();
        for p in m.text_bodies() {
            match &p.body {
                PartType::Text(t) => body.push_str(t),
                PartType::Html(h) => body.push_str(&html_to_text(h)),
                _ => {}
            }
            body.push('\n');
        }
        Some(Scan {
            id,
            from,
            subject: tokens(m.subject().unwrap_or("")),
            body: tokens(&body),
            date: m.date().filter(|d| d.is_valid()).map(|d| d.to_timestamp()),
        })
    });
    match parsed {
        Ok(Some(s)) => s,
        _ => {
            // mail-parser panicked on the body: the vault indexes headers only.
            let m = MessageParser::default().parse_headers(raw);
            Scan {
                id,
                from: m
                    .as_ref()
                    .and_then(|m| m.from())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.address().map(|s| s.trim().to_lowercase()))
                            .collect()
                    })
                    .unwrap_or_default(),
                subject: tokens(m.as_ref().and_then(|m| m.subject()).unwrap_or("")),
                body: Vec::new(),
                date: m
                    .as_ref()
                    .and_then(|m| m.date())
                    .filter(|d| d.is_valid())
                    .map(|d| d.to_timestamp()),
            }
        }
    }
}

fn hits(v: &Vault, q: &str) -> BTreeSet<u64> {
    let idx = v.open_index().unwrap();
    let ids = idx.search_ids(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    // The paged search agrees on the total.
    let res = v
        .search(
            q,
            &SearchOptions {
                limit: 1,
                ..SearchOptions::default()
            },
        )
        .unwrap();
    assert_eq!(res.total, ids.len() as u64, "{q}: total vs ids");
    ids.into_iter().collect()
}

fn expect(scans: &[Scan], f: impl Fn(&Scan) -> bool) -> BTreeSet<u64> {
    scans.iter().filter(|s| f(s)).map(|s| s.id).collect()
}

/// The first `n` messages of an mboxrd file (split on the envelope line), as mboxrd text.
fn mbox_slice(text: &[u8], skip: usize, n: usize) -> Vec<u8> {
    let mut starts = vec![0usize];
    for (i, w) in text.windows(6).enumerate() {
        if w == b"\nFrom " {
            starts.push(i + 1);
        }
    }
    starts.push(text.len());
    let a = starts[skip.min(starts.len() - 1)];
    let b = starts[(skip + n).min(starts.len() - 1)];
    text[a..b].to_vec()
}

#[test]
fn corpus_fielded_queries_match_an_independent_scan() {
    let Some(data) = common::shared_data() else {
        return;
    };
    let zst = data.join("corpora/lore-io-uring.mbox.zst");
    if !zst.exists() {
        eprintln!("skipped: {} not found", zst.display());
        return;
    }
    let all = zstd::decode_all(std::fs::File::open(&zst).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first.mbox");
    let second = tmp.path().join("second.mbox");
    // A subset keeps the test quick: the first 1500 messages, then 300 more.
    std::fs::write(&first, mbox_slice(&all, 0, 1500)).unwrap();
    std::fs::write(&second, mbox_slice(&all, 1500, 300)).unwrap();
    drop(all);

    let mut v = Vault::init(tmp.path().join("vault")).unwrap();
    common::ingest(&mut v, &[&first]).unwrap();
    let r = v.update_index(&NoProgress).unwrap();
    assert!(r.created);
    assert_eq!(r.indexed, r.messages);
    let n1 = r.messages;
    assert!(n1 >= 1490, "{n1}");

    let scans: Vec<Scan> = (1..=n1 as i64)
        .map(|id| scan(id as u64, &v.raw(id).unwrap()))
        .collect();

    // from: with an address is exact, case-insensitive.
    let axboe = expect(&scans, |s| s.from.iter().any(|a| a == "axboe@kernel.dk"));
    assert!(axboe.len() > 50, "{}", axboe.len());
    assert_eq!(hits(&v, "from:axboe@kernel.dk"), axboe);
    assert_eq!(hits(&v, "from:AXBOE@Kernel.DK"), axboe);

    // A body word.
    let sqpoll = expect(&scans, |s| s.body.iter().any(|t| t == "sqpoll"));
    assert!(!sqpoll.is_empty());
    assert_eq!(hits(&v, "body:sqpoll"), sqpoll);

    // A subject phrase vs the same words anywhere in the subject.
    let phrase = expect(&scans, |s| has_seq(&s.subject, &["io", "uring"]));
    assert_eq!(hits(&v, r#"subject:"io uring""#), phrase);
    assert_eq!(
        hits(&v, "subject:io-uring"),
        phrase,
        "io-uring is the phrase io uring"
    );
    let both = expect(&scans, |s| {
        s.subject.iter().any(|t| t == "uring") && s.subject.iter().any(|t| t == "io")
    });
    assert_eq!(hits(&v, "subject:(io AND uring)"), both);
    // Phrase semantics in the body: adjacency and order matter.
    let sq = expect(&scans, |s| has_seq(&s.body, &["submission", "queue"]));
    let qs = expect(&scans, |s| has_seq(&s.body, &["queue", "submission"]));
    let words = expect(&scans, |s| {
        s.body.iter().any(|t| t == "submission") && s.body.iter().any(|t| t == "queue")
    });
    assert_eq!(hits(&v, r#"body:"submission queue""#), sq);
    assert_eq!(hits(&v, r#"body:"queue submission""#), qs);
    assert_eq!(hits(&v, "body:submission body:queue"), words);
    assert!(
        sq.len() < words.len(),
        "the phrase is stricter than the words"
    );

    // Date ranges: inclusive whole days, UTC; before: is strict, after: inclusive.
    let day =
        |y: i64, m: i64, d: i64| trove_vault::parse_date(&format!("{y:04}-{m:02}-{d:02}")).unwrap();
    let (a, b) = (day(2020, 2, 1), day(2020, 2, 15));
    let feb = expect(&scans, |s| s.date.is_some_and(|t| t >= a && t < b + 86_400));
    assert!(!feb.is_empty());
    assert_eq!(hits(&v, "date:2020-02-01..2020-02-15"), feb);
    assert_eq!(hits(&v, "after:2020-02-01 before:2020-02-16"), feb);
    let month = expect(&scans, |s| {
        s.date
            .is_some_and(|t| t >= day(2020, 3, 1) && t < day(2020, 4, 1))
    });
    assert_eq!(hits(&v, "date:2020-03"), month);

    // Boolean logic over fields.
    let axboe_no_patch: BTreeSet<u64> = expect(&scans, |s| {
        s.from.iter().any(|a| a == "axboe@kernel.dk") && !s.subject.iter().any(|t| t == "patch")
    });
    assert_eq!(
        hits(&v, "from:axboe@kernel.dk -subject:patch"),
        axboe_no_patch
    );
    assert_eq!(
        hits(&v, "from:axboe@kernel.dk AND NOT subject:patch"),
        axboe_no_patch
    );
    let either = expect(&scans, |s| {
        s.body.iter().any(|t| t == "sqpoll") || s.subject.iter().any(|t| t == "liburing")
    });
    assert_eq!(hits(&v, "body:sqpoll OR subject:liburing"), either);

    // Text found only in an attachment is found through it.
    let mut checked_attachment = false;
    'outer: for s in &scans {
        for a in v.attachment_texts(s.id as i64).unwrap() {
            let Some(text) = a.text else { continue };
            if let Some(t) = tokens(&text).into_iter().find(|t| {
                t.len() > 6
                    && t.chars().all(|c| c.is_ascii_lowercase())
                    && !s.body.contains(t)
                    && !s.subject.contains(t)
            }) {
                assert!(hits(&v, &format!("attachment:{t}")).contains(&s.id), "{t}");
                assert!(!hits(&v, &format!("body:{t}")).contains(&s.id), "{t}");
                checked_attachment = true;
                break 'outer;
            }
        }
    }
    assert!(checked_attachment, "no attachment with text in the subset");

    // Incremental update after a second ingest: only the new messages are indexed.
    common::ingest(&mut v, &[&second]).unwrap();
    let r2 = v.update_index(&NoProgress).unwrap();
    assert!(!r2.created);
    let n2 = r2.messages;
    assert!(n2 > n1);
    // Threads may be re-numbered by the new messages, so a few old ones can change.
    assert!(
        r2.indexed >= n2 - n1 && r2.unchanged + r2.indexed == n2,
        "{r2:?}"
    );
    assert!(r2.unchanged > n1 - 50, "{r2:?}");
    let scans2: Vec<Scan> = (1..=n2 as i64)
        .map(|id| scan(id as u64, &v.raw(id).unwrap()))
        .collect();
    assert_eq!(
        hits(&v, "from:axboe@kernel.dk"),
        expect(&scans2, |s| s.from.iter().any(|a| a == "axboe@kernel.dk"))
    );
    // A third update has nothing to do.
    let r3 = v.update_index(&NoProgress).unwrap();
    assert_eq!((r3.indexed, r3.unchanged), (0, n2));
}

fn fixture(dir: &Path) -> std::path::PathBuf {
    let mut msgs = Vec::new();
    for n in 1..=12 {
        msgs.push(common::msg(n));
    }
    // A message whose only mention of a word is inside an attached file (base64, so the raw
    // bytes do not contain it either).
    msgs.push(
        "From: Ann <ann@example.org>\nTo: bob@example.org\nSubject: the minutes\n\
         Date: Sat, 8 Oct 2016 10:00:00 +0000\nMessage-ID: <att@example.org>\n\
         MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n\
         --b\nContent-Type: text/plain\n\nSee the attached notes.\n\
         --b\nContent-Type: text/plain; name=\"notes.txt\"\n\
         Content-Disposition: attachment; filename=\"notes.txt\"\n\
         Content-Transfer-Encoding: base64\n\n\
         VGhlIHF1b2trYXphbnppYmFyIG1lZXRpbmcgaXMgb24gVHVlc2RheS4K\n--b--\n"
            .to_string(),
    );
    // An HTML-only message: its text is indexed, its markup is not.
    msgs.push(
        "From: Carl <carl@example.org>\nTo: bob@example.org\nSubject: html only\n\
         Date: Sun, 9 Oct 2016 10:00:00 +0000\nMessage-ID: <html@example.org>\n\
         MIME-Version: 1.0\nContent-Type: text/html\n\n\
         <html><body><p>The <b>marmalade</b> plan</p><script>evilscript()</script></body></html>\n"
            .to_string(),
    );
    let p = dir.join("fixture.mbox");
    std::fs::write(&p, common::mboxrd(&msgs)).unwrap();
    p
}

#[test]
fn fixture_fields_attachments_release_and_reindex() {
    let tmp = tempfile::tempdir().unwrap();
    let mut v = Vault::init(tmp.path().join("vault")).unwrap();
    common::ingest(&mut v, &[&fixture(tmp.path())]).unwrap();
    assert!(!v.has_index());
    let r = v.update_index(&NoProgress).unwrap();
    assert_eq!((r.messages, r.indexed, r.created), (14, 14, true));
    assert!(v.index_dir().starts_with(v.root()));

    let att = hits(&v, "quokkazanzibar");
    assert_eq!(att, BTreeSet::from([13]));
    assert_eq!(hits(&v, "attachment:quokkazanzibar"), att);
    assert!(hits(&v, "body:quokkazanzibar").is_empty());
    assert_eq!(hits(&v, "filename:notes"), att);
    assert_eq!(hits(&v, "has:attachment"), att);
    let texts = v.attachment_texts(13).unwrap();
    assert_eq!(texts.len(), 1);
    assert!(texts[0].text.as_deref().unwrap().contains("quokkazanzibar"));
    assert_eq!(v.search_doc(13).unwrap().attachments.len(), 1);

    assert_eq!(hits(&v, "body:marmalade"), BTreeSet::from([14]));
    assert!(hits(&v, "evilscript").is_empty());
    assert_eq!(hits(&v, "from:p3@example.org"), BTreeSet::from([3]));
    assert_eq!(hits(&v, r#""message 7""#), BTreeSet::from([7]));
    assert_eq!(
        hits(&v, "date:2016-10-08..2016-10-09"),
        BTreeSet::from([13, 14])
    );
    assert_eq!(hits(&v, "dkim:none").len(), 14);

    // Bad queries are errors that name the problem.
    for (q, want) in [
        ("subject:(x", "unbalanced"),
        ("nosuch:x", "nosuch"),
        ("date:2016-13-01", "2016-13-01"),
    ] {
        let e = v
            .search(q, &SearchOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{q}: {e}");
    }

    // release add --query selects through the index; publishing sets release:N.
    let (part, _) = v
        .add_part("one", &Query::parse("date:2016-10-08..2016-10-09").unwrap())
        .unwrap();
    assert_eq!(v.part_messages(part).unwrap(), vec![13, 14]);
    v.add_part("two", &IdList::parse("1-3").unwrap()).unwrap();
    let mut o = PublishOptions::new(1_700_000_000);
    o.fsync = false;
    v.publish_part(None, &tmp.path().join("pub"), &o).unwrap();
    assert!(hits(&v, "release:1").is_empty(), "not updated yet");
    let r = v.update_index(&NoProgress).unwrap();
    assert_eq!(
        (r.indexed, r.unchanged),
        (2, 12),
        "only the released messages change"
    );
    assert_eq!(hits(&v, "release:1"), BTreeSet::from([13, 14]));

    // Reindex: delete and rebuild gives the same answers.
    let r = v.reindex(&NoProgress).unwrap();
    assert_eq!((r.indexed, r.created), (14, true));
    assert_eq!(hits(&v, "release:1"), BTreeSet::from([13, 14]));
    assert_eq!(hits(&v, "quokkazanzibar"), BTreeSet::from([13]));
}
