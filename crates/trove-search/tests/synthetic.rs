//! Public-API tests on small documents built here: every query feature, the
//! index lifecycle (replace, delete, reopen, rebuild), result shape and errors.
//! These always run (no shared data needed).

use std::collections::BTreeSet;
use std::time::Duration;

use trove_search::{
    Address, AttachmentDoc, DkimSummary, Error, Index, QueryErrorKind, SearchDoc, SearchOptions,
    Sort,
};

const DAY: i64 = 86_400;
/// 2016-10-07T00:00:00Z
const OCT7: i64 = 1_475_798_400;

fn docs() -> Vec<SearchDoc> {
    vec![
        SearchDoc {
            id: 1,
            message_id: "a1@example.org".into(),
            from: vec![Address::new(Some("John Podesta"), "john.podesta@gmail.com")],
            to: vec![Address::new(Some("Neera Tanden"), "neera@example.org")],
            subject: "Dinner on Friday".into(),
            body_text: "The usual place at eight. Bring the draft speech.".into(),
            date: Some(OCT7 + 3600),
            thread: 10,
            dkim: DkimSummary::Pass,
            release: Some(1),
            ..SearchDoc::default()
        },
        SearchDoc {
            id: 2,
            from: vec![Address::new(Some("Neera Tanden"), "neera@example.org")],
            to: vec![Address::new(None, "john.podesta@gmail.com")],
            cc: vec![Address::new(Some("Jennifer Palmieri"), "jpalmieri@example.org")],
            subject: "Re: Dinner on Friday".into(),
            body_text: "Place is fine. The speech draft is attached.".into(),
            attachments: vec![AttachmentDoc {
                filename: "speech-draft.pdf".into(),
                content_type: "application/pdf".into(),
                text: Some("Remarks on infrastructure and the zebra crossing budget".into()),
            }],
            date: Some(OCT7 + DAY + 60),
            thread: 10,
            dkim: DkimSummary::Fail,
            release: Some(1),
            ..SearchDoc::default()
        },
        SearchDoc {
            id: 3,
            from: vec![Address::new(Some("Mailing List Bot"), "bot@lists.example.org")],
            to: vec![Address::new(None, "announce@lists.example.org")],
            subject: "Weekly digest".into(),
            body_html: Some("<html><body><p>Top story: <b>budget</b> talks</p><script>x()</script></body></html>".into()),
            date: Some(OCT7 + 20 * DAY),
            list: Some("announce.lists.example.org".into()),
            release: Some(2),
            ..SearchDoc::default()
        },
        SearchDoc {
            id: 4,
            from: vec![Address::new(None, "unknown@example.net")],
            subject: "no date here".into(),
            body_text: "place speech".into(),
            date: None,
            ..SearchDoc::default()
        },
    ]
}

fn index() -> Index {
    let index = Index::create_in_ram().unwrap();
    let mut w = index.writer_with_heap(20_000_000).unwrap();
    for d in docs() {
        w.add(&d).unwrap();
    }
    w.commit().unwrap();
    index
}

fn ids(index: &Index, q: &str) -> BTreeSet<u64> {
    let opts = SearchOptions {
        limit: 100,
        ..SearchOptions::default()
    };
    let r = index
        .search(q, &opts)
        .unwrap_or_else(|e| panic!("{q}: {e}"));
    assert_eq!(r.total as usize, r.hits.len(), "{q}");
    r.hits.iter().map(|h| h.id).collect()
}

fn set(v: &[u64]) -> BTreeSet<u64> {
    v.iter().copied().collect()
}

#[test]
fn query_language() {
    let ix = index();
    let cases: &[(&str, &[u64])] = &[
        ("speech", &[1, 2, 4]),
        ("speech place", &[1, 2, 4]),
        ("\"draft speech\"", &[1]),
        ("\"speech draft\"", &[2]),
        ("speech -draft", &[4]),
        ("speech NOT draft", &[4]),
        ("speech AND NOT draft", &[4]),
        ("NOT speech", &[3]),
        ("zebra", &[2]),
        ("attachment:zebra", &[2]),
        ("body:zebra", &[]),
        ("filename:speech", &[2]),
        ("filename:\"speech draft\"", &[2]),
        ("budget", &[2, 3]),
        ("body:budget", &[3]),
        ("x", &[]),
        ("from:podesta", &[1]),
        ("from:john.podesta@gmail.com", &[1]),
        ("from:JOHN.PODESTA@GMAIL.COM", &[1]),
        ("to:john.podesta@gmail.com", &[2]),
        ("to:podesta", &[2]),
        ("podesta", &[1, 2]),
        ("cc:palmieri", &[2]),
        ("cc:jpalmieri@example.org", &[2]),
        ("from:\"neera tanden\"", &[2]),
        ("from:gmail.com", &[1]),
        ("subject:dinner", &[1, 2]),
        ("subject:(dinner OR digest)", &[1, 2, 3]),
        ("subject:dinner -subject:re", &[1]),
        ("(subject:digest OR from:neera) AND budget", &[2, 3]),
        ("subject:digest OR from:neera budget", &[2, 3]),
        ("list:announce", &[3]),
        ("list:announce.lists.example.org", &[3]),
        ("date:2016-10-07", &[1]),
        ("date:2016-10-07..2016-10-08", &[1, 2]),
        ("date:2016-10-08..2016-10-27", &[2, 3]),
        ("date:2016-10", &[1, 2, 3]),
        ("date:..2016-10-07", &[1]),
        ("date:2016-10-08..", &[2, 3]),
        ("date:2016-10-27..2016-10-08", &[]),
        ("before:2016-10-08", &[1]),
        ("after:2016-10-08", &[2, 3]),
        ("has:attachment", &[2]),
        ("-has:attachment", &[1, 3, 4]),
        ("dkim:pass", &[1]),
        ("dkim:fail", &[2]),
        ("dkim:none", &[3, 4]),
        ("release:1", &[1, 2]),
        ("release:2 OR id:4", &[3, 4]),
        ("thread:10", &[1, 2]),
        ("spee*", &[1, 2, 4]),
        ("subject:din*", &[1, 2]),
        ("io-uring", &[]),
        ("-- speech", &[1, 2, 4]),
        ("script", &[]),
    ];
    for (q, want) in cases {
        assert_eq!(ids(&ix, q), set(want), "query {q}");
    }
}

#[test]
fn sorting_paging_and_shape() {
    let ix = index();
    let by_date = SearchOptions {
        sort: Sort::Date,
        limit: 2,
        ..SearchOptions::default()
    };
    let r = ix.search("speech OR budget", &by_date).unwrap();
    assert_eq!(r.total, 4);
    assert_eq!(r.hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![3, 2]);
    let page2 = ix
        .search(
            "speech OR budget",
            &SearchOptions {
                offset: 2,
                ..by_date.clone()
            },
        )
        .unwrap();
    // Messages without a date come last.
    assert_eq!(
        page2.hits.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![1, 4]
    );
    let page3 = ix
        .search(
            "speech OR budget",
            &SearchOptions {
                offset: 4,
                ..by_date.clone()
            },
        )
        .unwrap();
    assert!(page3.hits.is_empty());
    assert_eq!(page3.total, 4);

    // Relevance: the subject match outranks a body-only match.
    let r = ix.search("dinner", &SearchOptions::default()).unwrap();
    assert_eq!(r.hits[0].id, 1);
    assert!(r.hits[0].score >= r.hits[1].score && r.hits[1].score > 0.0);

    let r = ix
        .search(
            "\"draft speech\"",
            &SearchOptions {
                facets: true,
                ..SearchOptions::default()
            },
        )
        .unwrap();
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "total": 1,
            "hits": [{
                "id": 1,
                "score": r.hits[0].score,
                "date": OCT7 + 3600,
                "from": "John Podesta <john.podesta@gmail.com>",
                "subject": "Dinner on Friday",
                "snippet": "The usual place at eight. Bring the <b>draft</b> <b>speech</b>",
            }],
            "facets": {
                "senders": [{"value": "john.podesta@gmail.com", "count": 1}],
                "recipients": [{"value": "neera@example.org", "count": 1}],
                "months": [{"month": "2016-10", "count": 1}],
            }
        })
    );
    assert_eq!(
        r.hits[0].snippet_text,
        "The usual place at eight. Bring the draft speech"
    );
}

#[test]
fn snippets_escape_html_and_fall_back_to_attachments() {
    let ix = Index::create_in_ram().unwrap();
    let mut w = ix.writer_with_heap(20_000_000).unwrap();
    w.add(&SearchDoc {
        id: 9,
        body_text: "if (a < b && c > d) { <script>alert(1)</script> }".into(),
        attachments: vec![AttachmentDoc {
            text: Some("the quarterly <ledger> figures".into()),
            ..AttachmentDoc::default()
        }],
        ..SearchDoc::default()
    })
    .unwrap();
    w.commit().unwrap();
    let r = ix.search("script", &SearchOptions::default()).unwrap();
    assert_eq!(
        r.hits[0].snippet,
        "if (a &lt; b &amp;&amp; c &gt; d) { &lt;<b>script</b>&gt;alert(1)&lt;/<b>script</b>"
    );
    let r = ix.search("ledger", &SearchOptions::default()).unwrap();
    assert_eq!(
        r.hits[0].snippet,
        "the quarterly &lt;<b>ledger</b>&gt; figures"
    );
    let r = ix.search("id:9", &SearchOptions::default()).unwrap();
    // No text match: the start of the body, escaped.
    assert!(
        r.hits[0].snippet.starts_with("if (a &lt; b &amp;&amp;"),
        "{}",
        r.hits[0].snippet
    );
}

#[test]
fn facets_cover_all_matches_not_just_the_page() {
    let ix = index();
    let r = ix
        .search(
            "speech OR budget",
            &SearchOptions {
                limit: 1,
                facets: true,
                ..SearchOptions::default()
            },
        )
        .unwrap();
    assert_eq!(r.hits.len(), 1);
    let f = r.facets.unwrap();
    let senders: Vec<(&str, u64)> = f
        .senders
        .iter()
        .map(|c| (c.value.as_str(), c.count))
        .collect();
    assert_eq!(
        senders,
        vec![
            ("bot@lists.example.org", 1),
            ("john.podesta@gmail.com", 1),
            ("neera@example.org", 1),
            ("unknown@example.net", 1)
        ]
    );
    let recipients: Vec<(&str, u64)> = f
        .recipients
        .iter()
        .map(|c| (c.value.as_str(), c.count))
        .collect();
    assert_eq!(
        recipients,
        vec![
            ("announce@lists.example.org", 1),
            ("john.podesta@gmail.com", 1),
            ("jpalmieri@example.org", 1),
            ("neera@example.org", 1)
        ]
    );
    let months: Vec<(&str, u64)> = f
        .months
        .iter()
        .map(|c| (c.month.as_str(), c.count))
        .collect();
    assert_eq!(months, vec![("2016-10", 3)]);
}

#[test]
fn replace_delete_reopen_and_rebuild_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("search");
    assert!(matches!(Index::open(&path), Err(Error::NotFound { .. })));
    {
        let ix = Index::open_or_create(&path).unwrap();
        let mut w = ix.writer_with_heap(20_000_000).unwrap();
        for d in docs() {
            w.add(&d).unwrap();
        }
        w.commit().unwrap();
        assert_eq!(ix.num_docs(), 4);
        // A second writer is refused while the first lives.
        assert!(matches!(
            ix.writer_with_heap(20_000_000),
            Err(Error::Locked { .. })
        ));
        // Replace doc 1 by id: the old text disappears.
        let mut d1 = docs().remove(0);
        d1.subject = "Lunch on Saturday".into();
        w.add(&d1).unwrap();
        w.commit().unwrap();
        assert_eq!(ix.num_docs(), 4);
        assert_eq!(ids(&ix, "subject:dinner"), set(&[2]));
        assert_eq!(ids(&ix, "subject:lunch"), set(&[1]));
        // Incremental add.
        w.add(&SearchDoc {
            id: 5,
            subject: "late addition".into(),
            ..SearchDoc::default()
        })
        .unwrap();
        w.delete(3);
        w.finish().unwrap();
        assert_eq!(ix.num_docs(), 4);
        assert_eq!(ids(&ix, "addition OR digest"), set(&[5]));
        assert!(ix.size_on_disk() > 0);
    }
    let ix = Index::open(&path).unwrap();
    assert_eq!(ids(&ix, "subject:lunch OR addition"), set(&[1, 5]));
    drop(ix);
    Index::destroy(&path).unwrap();
    assert!(!path.exists());
    let ix = Index::open_or_create(&path).unwrap();
    assert_eq!(ix.num_docs(), 0);
}

#[test]
fn time_budget_reports_timeout() {
    let ix = index();
    let r = ix
        .search(
            "speech",
            &SearchOptions {
                time_budget: Duration::ZERO,
                ..SearchOptions::default()
            },
        )
        .unwrap();
    assert!(r.timed_out);
    assert_eq!(serde_json::to_value(&r).unwrap()["timed_out"], true);
    let r = ix.search("speech", &SearchOptions::default()).unwrap();
    assert!(!r.timed_out);
    assert!(serde_json::to_value(&r).unwrap().get("timed_out").is_none());
}

#[test]
fn bad_queries_and_options_are_typed_errors() {
    let ix = index();
    let kind = |q: &str| match ix.search(q, &SearchOptions::default()) {
        Err(Error::Query(e)) => (e.position, e.kind),
        other => panic!("{q}: expected a query error, got {other:?}"),
    };
    assert_eq!(kind(""), (0, QueryErrorKind::Empty));
    assert_eq!(kind("--- ..."), (0, QueryErrorKind::Empty));
    assert_eq!(kind("say \"hello"), (4, QueryErrorKind::UnbalancedQuote));
    assert_eq!(kind("(a OR b"), (0, QueryErrorKind::UnclosedParen));
    assert_eq!(kind("a OR b)"), (6, QueryErrorKind::UnexpectedCloseParen));
    assert_eq!(
        kind("sender:bob"),
        (
            0,
            QueryErrorKind::UnknownField {
                field: "sender".into()
            }
        )
    );
    assert_eq!(
        kind("date:2016-02-30"),
        (
            5,
            QueryErrorKind::InvalidDate {
                value: "2016-02-30".into()
            }
        )
    );
    assert_eq!(kind("*ing"), (0, QueryErrorKind::BadWildcard { min: 2 }));
    assert!(matches!(kind("s*").1, QueryErrorKind::BadWildcard { .. }));
    let e = ix
        .search("sender:bob", &SearchOptions::default())
        .unwrap_err();
    assert!(e.to_string().starts_with("unknown field \"sender\""), "{e}");
    let opts = SearchOptions {
        limit: 100_000,
        ..SearchOptions::default()
    };
    assert!(matches!(ix.search("a", &opts), Err(Error::Options(_))));
}

#[test]
fn prefix_expansion_is_capped() {
    let ix = Index::create_in_ram().unwrap();
    let mut w = ix.writer_with_heap(20_000_000).unwrap();
    let words: Vec<String> = (0..1500).map(|i| format!("zz{i}")).collect();
    w.add(&SearchDoc {
        id: 1,
        body_text: words.join(" "),
        ..SearchDoc::default()
    })
    .unwrap();
    w.commit().unwrap();
    match ix.search("zz*", &SearchOptions::default()) {
        Err(Error::Query(e)) => assert!(matches!(
            e.kind,
            QueryErrorKind::TooManyExpansions { limit: 1000, .. }
        )),
        other => panic!("expected TooManyExpansions, got {other:?}"),
    }
    assert_eq!(
        ix.search("zz14*", &SearchOptions::default()).unwrap().total,
        1
    );
}

#[test]
fn hostile_queries_never_panic_and_stay_bounded() {
    let ix = index();
    let atoms = [
        "(",
        ")",
        "\"",
        "-",
        "NOT",
        "AND",
        "OR",
        "from:",
        "subject:(",
        "date:..",
        "date:2016-10-07..",
        "*",
        "sp*",
        "speech",
        "x:y",
        "has:attachment",
        "release:99999999999999999999",
        "id:1",
        "\u{0}",
        "é",
        "--",
        "()",
        ":",
        "to:\"",
        "from:a@b",
        "date:9999-12-31",
        "date:0000-01-01",
        "-(",
        "NOT(",
    ];
    // Deterministic pseudo-random combinations (xorshift).
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..3000 {
        let mut q = String::new();
        for _ in 0..(state % 7 + 1) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            q.push_str(atoms[(state % atoms.len() as u64) as usize]);
            if !state.is_multiple_of(3) {
                q.push(' ');
            }
        }
        match ix.search(&q, &SearchOptions::default()) {
            Ok(r) => assert!(r.hits.len() as u64 <= r.total, "{q}"),
            Err(Error::Query(e)) => assert!(e.position <= q.len(), "{q}: {e}"),
            Err(e) => panic!("{q}: unexpected error {e}"),
        }
    }
    // Very deep nesting and very long queries are refused, not recursed into.
    let deep = "(".repeat(10_000) + "a" + &")".repeat(10_000);
    assert!(matches!(
        ix.search(&deep, &SearchOptions::default()),
        Err(Error::Query(_))
    ));
    assert!(trove_search::QUERY_SYNTAX.contains("date:2016-10-07..2016-10-20"));
}

#[test]
fn index_with_another_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = tantivy::schema::Schema::builder();
    b.add_text_field("something_else", tantivy::schema::TEXT);
    tantivy::Index::create_in_dir(dir.path(), b.build()).unwrap();
    let e = Index::open(dir.path()).unwrap_err();
    assert!(matches!(e, Error::IncompatibleIndex { .. }), "{e}");
    assert!(
        e.to_string().contains("delete the directory and rebuild"),
        "{e}"
    );
}

#[test]
fn index_can_be_shared_across_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Index>();
    let ix = std::sync::Arc::new(index());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let ix = ix.clone();
            std::thread::spawn(move || {
                ix.search("speech", &SearchOptions::default())
                    .unwrap()
                    .total
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 3);
    }
}
