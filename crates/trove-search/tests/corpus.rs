//! Real-corpus test: the kasan-dev 2022–2023 archive (5,332 messages) is
//! parsed with mail-parser, indexed, and for a set of fielded, phrase, date and
//! boolean queries the ids the index returns must equal the ids an independent
//! scan of the parsed messages finds. Skipped when ../shared/data is absent.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use common::{data_dir, read_mbox, to_doc, tokens};
use trove_search::{body_text, Index, SearchDoc, SearchOptions, Sort};

/// Token ids per field for one message (interned to keep memory small).
struct Scan {
    from: Vec<u32>,
    to: Vec<u32>,
    cc: Vec<u32>,
    subject: Vec<u32>,
    body: Vec<u32>,
    attachment: Vec<u32>,
    filename: Vec<u32>,
    list: Vec<u32>,
    from_addrs: Vec<String>,
    to_addrs: Vec<String>,
    date: Option<i64>,
    has_attachment: bool,
}

#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    words: Vec<String>,
}

impl Interner {
    fn toks(&mut self, s: &str) -> Vec<u32> {
        tokens(s)
            .into_iter()
            .map(|t| {
                let n = self.ids.len() as u32;
                *self.ids.entry(t.clone()).or_insert_with(|| {
                    self.words.push(t);
                    n
                })
            })
            .collect()
    }
    fn seq(&self, s: &str) -> Option<Vec<u32>> {
        tokens(s).iter().map(|t| self.ids.get(t).copied()).collect()
    }
}

fn scan(d: &SearchDoc, it: &mut Interner) -> Scan {
    let addrs = |v: &[trove_search::Address], it: &mut Interner| {
        let mut out = Vec::new();
        for a in v {
            out.extend(it.toks(&format!("{} {}", a.name.as_deref().unwrap_or(""), a.addr)));
        }
        out
    };
    let att: Vec<&str> = d
        .attachments
        .iter()
        .filter_map(|a| a.text.as_deref())
        .collect();
    let names: Vec<&str> = d.attachments.iter().map(|a| a.filename.as_str()).collect();
    Scan {
        from: addrs(&d.from, it),
        to: addrs(&d.to, it),
        cc: addrs(&d.cc, it),
        subject: it.toks(&d.subject),
        body: it.toks(&body_text(d)),
        attachment: it.toks(&att.join(" ")),
        filename: it.toks(&names.join(" ")),
        list: it.toks(d.list.as_deref().unwrap_or("")),
        from_addrs: d.from.iter().map(|a| a.addr.to_lowercase()).collect(),
        to_addrs: d.to.iter().map(|a| a.addr.to_lowercase()).collect(),
        date: d.date,
        has_attachment: d.has_attachment,
    }
}

fn has(hay: &[u32], word: u32) -> bool {
    hay.contains(&word)
}

fn all_ids(ix: &Index, q: &str) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    let mut offset = 0;
    loop {
        let opts = SearchOptions {
            limit: 1000,
            offset,
            snippet: false,
            sort: Sort::Date,
            ..SearchOptions::default()
        };
        let r = ix.search(q, &opts).unwrap_or_else(|e| panic!("{q}: {e}"));
        assert!(!r.timed_out, "{q} timed out");
        out.extend(r.hits.iter().map(|h| h.id));
        offset += 1000;
        if offset as u64 >= r.total {
            assert_eq!(out.len() as u64, r.total, "{q}: paging lost hits");
            return out;
        }
    }
}

fn day(s: &str) -> i64 {
    // Independent of the crate's date code: days from a fixed anchor.
    let (y, rest) = s.split_at(4);
    let y: i64 = y.parse().unwrap();
    let m: i64 = rest[1..3].parse().unwrap();
    let d: i64 = rest[4..6].parse().unwrap();
    let mut days = 0;
    for yy in 1970..y {
        days += if (yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0 {
            366
        } else {
            365
        };
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mdays = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    days += mdays[..(m - 1) as usize].iter().sum::<i64>();
    (days + d - 1) * 86_400
}

#[test]
fn kasan_fielded_queries_match_an_independent_scan() {
    let Some(data) = data_dir() else { return };
    let path = data.join("corpora/lore-kasan-dev-2022-2023.mbox.zst");
    let t = Instant::now();
    let raws = read_mbox(&path);
    assert_eq!(raws.len(), 5332);
    let docs: Vec<SearchDoc> = raws
        .iter()
        .enumerate()
        .map(|(i, r)| to_doc(i as u64 + 1, r))
        .collect();
    drop(raws);
    let parsed = t.elapsed();

    let dir = tempfile::tempdir().unwrap();
    let ix = Index::open_or_create(&dir.path().join("idx")).unwrap();
    let t = Instant::now();
    let mut w = ix.writer_with_heap(200_000_000).unwrap();
    for d in &docs {
        w.add(d).unwrap();
    }
    w.commit().unwrap();
    let indexed = t.elapsed();
    assert_eq!(ix.num_docs(), 5332);

    let mut it = Interner::default();
    let scans: Vec<Scan> = docs.iter().map(|d| scan(d, &mut it)).collect();
    println!(
        "parsed in {parsed:?}, indexed in {indexed:?}, {} distinct words",
        it.words.len()
    );

    // The most frequent sender, and a word of their name.
    let mut senders: HashMap<&str, usize> = HashMap::new();
    for s in &scans {
        for a in &s.from_addrs {
            *senders.entry(a).or_default() += 1;
        }
    }
    let mut top: Vec<(&str, usize)> = senders.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    // Google Groups rewrites some From headers to the list; take a person.
    let top_sender = top
        .iter()
        .find(|(a, _)| !a.contains("googlegroups"))
        .unwrap()
        .0
        .to_string();
    let local = top_sender.split('@').next().unwrap().to_string();

    let w = |s: &str| it.ids.get(s).copied().unwrap_or(u32::MAX);
    let seq = |s: &str| it.seq(s).unwrap_or_default();
    let (kasan, re, kfence, kmsan, kcsan, syzbot) = (
        w("kasan"),
        w("re"),
        w("kfence"),
        w("kmsan"),
        w("kcsan"),
        w("syzbot"),
    );
    let uaf = seq("use after free");
    let npd = seq("null pointer dereference");
    let kasan_dev = seq("kasan-dev");
    let local_seq = seq(&local);
    let kfen: Vec<u32> = it
        .words
        .iter()
        .enumerate()
        .filter(|(_, t)| t.starts_with("kfen"))
        .map(|(i, _)| i as u32)
        .collect();
    let (mar1, mar16) = (day("2022-03-01"), day("2022-03-16"));
    let (feb1_22, dec1_23, y2023, y2024) = (
        day("2022-02-01"),
        day("2023-12-01"),
        day("2023-01-01"),
        day("2024-01-01"),
    );

    type Pred<'a> = Box<dyn Fn(&Scan) -> bool + 'a>;
    let cases: Vec<(String, Pred)> = vec![
        (
            format!("from:{top_sender}"),
            Box::new(|s: &Scan| s.from_addrs.contains(&top_sender)),
        ),
        (
            format!("from:{local}"),
            Box::new(|s: &Scan| contains_seq_u(&s.from, &local_seq)),
        ),
        (
            "subject:kasan".into(),
            Box::new(|s: &Scan| has(&s.subject, kasan)),
        ),
        (
            "subject:\"use after free\"".into(),
            Box::new(|s: &Scan| contains_seq_u(&s.subject, &uaf)),
        ),
        (
            "body:\"null pointer dereference\"".into(),
            Box::new(|s: &Scan| contains_seq_u(&s.body, &npd)),
        ),
        (
            "date:2022-03-01..2022-03-15".into(),
            Box::new(|s: &Scan| s.date.is_some_and(|d| d >= mar1 && d < mar16)),
        ),
        (
            "before:2022-02-01".into(),
            Box::new(|s: &Scan| s.date.is_some_and(|d| d < feb1_22)),
        ),
        (
            "after:2023-12-01".into(),
            Box::new(|s: &Scan| s.date.is_some_and(|d| d >= dec1_23)),
        ),
        (
            "subject:kfence OR subject:kmsan".into(),
            Box::new(|s: &Scan| has(&s.subject, kfence) || has(&s.subject, kmsan)),
        ),
        (
            "subject:kasan -subject:re".into(),
            Box::new(|s: &Scan| has(&s.subject, kasan) && !has(&s.subject, re)),
        ),
        (
            "(subject:kcsan OR subject:kmsan) date:2023".into(),
            Box::new(|s: &Scan| {
                (has(&s.subject, kcsan) || has(&s.subject, kmsan))
                    && s.date.is_some_and(|d| d >= y2023 && d < y2024)
            }),
        ),
        (
            "syzbot".into(),
            Box::new(|s: &Scan| default_fields(s).iter().any(|f| has(f, syzbot))),
        ),
        (
            "NOT syzbot".into(),
            Box::new(|s: &Scan| !default_fields(s).iter().any(|f| has(f, syzbot))),
        ),
        (
            "kfence AND NOT subject:kasan".into(),
            Box::new(|s: &Scan| {
                default_fields(s).iter().any(|f| has(f, kfence)) && !has(&s.subject, kasan)
            }),
        ),
        (
            "has:attachment".into(),
            Box::new(|s: &Scan| s.has_attachment),
        ),
        (
            "\"use after free\"".into(),
            Box::new(|s: &Scan| default_fields(s).iter().any(|f| contains_seq_u(f, &uaf))),
        ),
        (
            "kfence kcsan".into(),
            Box::new(|s: &Scan| {
                default_fields(s).iter().any(|f| has(f, kfence))
                    && default_fields(s).iter().any(|f| has(f, kcsan))
            }),
        ),
        (
            "kmsan OR kcsan".into(),
            Box::new(|s: &Scan| {
                default_fields(s)
                    .iter()
                    .any(|f| has(f, kmsan) || has(f, kcsan))
            }),
        ),
        (
            "subject:kfen*".into(),
            Box::new(|s: &Scan| s.subject.iter().any(|t| kfen.contains(t))),
        ),
        (
            "to:kasan-dev@googlegroups.com".into(),
            Box::new(|s: &Scan| s.to_addrs.iter().any(|a| a == "kasan-dev@googlegroups.com")),
        ),
        (
            "list:kasan-dev".into(),
            Box::new(|s: &Scan| contains_seq_u(&s.list, &kasan_dev)),
        ),
    ];
    for (q, pred) in &cases {
        let t = Instant::now();
        let got = all_ids(&ix, q);
        let took = t.elapsed();
        let want: BTreeSet<u64> = scans
            .iter()
            .zip(&docs)
            .filter(|(s, _)| pred(s))
            .map(|(_, d)| d.id)
            .collect();
        println!("{q:45} {:5} hits  {took:?}", got.len());
        assert!(
            !want.is_empty(),
            "{q}: the scan finds nothing, pick another query"
        );
        let missing: Vec<_> = want.difference(&got).take(5).collect();
        let extra: Vec<_> = got.difference(&want).take(5).collect();
        assert_eq!(got, want, "{q}: missing {missing:?}, extra {extra:?}");
        same_top_both_ways(&ix, q, want.len() as u64);
    }
}

/// A relevance search without facets takes the pruning path (block-max WAND plus a
/// separate count) when the query allows it; with facets it takes the full scan. Both
/// must give the same total and the same best hits (equal scores up to float rounding:
/// the two paths may sum a union's term scores in another order).
fn same_top_both_ways(ix: &Index, q: &str, want_total: u64) {
    let run = |facets| {
        let opts = SearchOptions {
            limit: 20,
            snippet: false,
            facets,
            ..SearchOptions::default()
        };
        ix.search(q, &opts).unwrap_or_else(|e| panic!("{q}: {e}"))
    };
    let (pruned, full) = (run(false), run(true));
    assert_eq!(pruned.total, want_total, "{q}: total without facets");
    assert_eq!(full.total, want_total, "{q}: total with facets");
    assert_eq!(pruned.hits.len(), full.hits.len(), "{q}: page size");
    for (i, (a, b)) in pruned.hits.iter().zip(&full.hits).enumerate() {
        assert!(
            (a.score - b.score).abs() <= 1e-4 * b.score.abs().max(1.0),
            "{q}: hit {i} scores {} (pruned, id {}) vs {} (full, id {})",
            a.score,
            a.id,
            b.score,
            b.id
        );
    }
}

/// What a word without `field:` searches: everything but the list id.
fn default_fields(s: &Scan) -> [&Vec<u32>; 7] {
    [
        &s.from,
        &s.to,
        &s.cc,
        &s.subject,
        &s.body,
        &s.attachment,
        &s.filename,
    ]
}

fn contains_seq_u(hay: &[u32], needle: &[u32]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}
