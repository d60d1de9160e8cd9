//! Full-text search over real HTTP on 127.0.0.1: the search page and
//! `/api/search` against a generated publication (always) and one made from
//! a real corpus (when ../shared/data is present). Expected answers are
//! computed from the generated data or the corpus, never from the index.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use trove_publication::AttachmentEntry;
use trove_web::Config;

fn config() -> Config {
    Config {
        rate_limit: None,
        reload_interval: Duration::from_millis(100),
        ..Config::default()
    }
}

async fn json(addr: SocketAddr, path: &str) -> (u16, Value) {
    let r = get(addr, path, &[]).await;
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

const SENDERS: [&str; 4] = [
    "ann@alpha.example",
    "bob@beta.example",
    "cy@gamma.example",
    "di@delta.example",
];

/// One generated message: (raw, sender, recipient, month, words).
fn generated(i: usize) -> (Vec<u8>, &'static str, &'static str, String) {
    let from = SENDERS[i % 4];
    let to = SENDERS[(i * 7 + 1) % 4];
    let month = 1 + i % 3;
    let day = 1 + i % 27;
    // Every message says "budget"; every third "pipeline"; every fifth carries
    // hostile markup next to the word "zanzibar".
    let mut body = format!("Message {i} about the budget.\r\n");
    if i.is_multiple_of(3) {
        body.push_str("The pipeline statement is attached.\r\n");
    }
    if i.is_multiple_of(5) {
        body.push_str("<script>alert('x')</script> zanzibar & <b>bold</b>\r\n");
    }
    let raw = format!(
        "From: Person {i} <{from}>\r\nTo: <{to}>\r\nSubject: Report {i}\r\nDate: {day} {} 2016 10:00:00 +0000\r\nMessage-ID: <gen{i}@x.example>\r\n\r\n{body}",
        ["Jan", "Feb", "Mar"][month - 1]
    );
    (raw.into_bytes(), from, to, format!("2016-{month:02}"))
}

const N: usize = 90;

fn build(dir: &Path) {
    let mut w = writer(dir);
    let mut drafts = Vec::new();
    for i in 0..N {
        let (raw, ..) = generated(i);
        let att = if i == 42 {
            let b = w
                .put_blob(b"Minutes: the zebrafish committee met on Tuesday.")
                .expect("blob");
            vec![AttachmentEntry::new(
                b,
                Some("minutes.txt".into()),
                "text/plain",
            )]
        } else {
            vec![]
        };
        drafts.push(draft(&mut w, &raw, att, vec![]));
    }
    publish(&mut w, "Part 1", drafts, NOW);
}

fn ids(v: &Value) -> Vec<u64> {
    v["hits"]
        .as_array()
        .map(|a| a.iter().filter_map(|h| h["id"].as_u64()).collect())
        .unwrap_or_default()
}

fn files(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.display().to_string());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_page_and_api_on_a_generated_publication() {
    let tmp = tempfile::tempdir().expect("tmp");
    build(tmp.path());
    let before = files(tmp.path());
    let (addr, stop, h) = start(tmp.path(), config()).await;
    wait_indexed(addr, N as u64).await;

    // Counts, facets and months against the generated data.
    let (st, v) = json(addr, "/api/search?q=pipeline&limit=100").await;
    assert_eq!(st, 200);
    let expect: BTreeSet<u64> = (0..N)
        .filter(|i| i.is_multiple_of(3))
        .map(|i| i as u64 + 1)
        .collect();
    assert_eq!(v["total"].as_u64(), Some(expect.len() as u64));
    assert_eq!(ids(&v).into_iter().collect::<BTreeSet<_>>(), expect);
    let mut senders: BTreeMap<&str, u64> = BTreeMap::new();
    let mut recips: BTreeMap<&str, u64> = BTreeMap::new();
    let mut months: BTreeMap<String, u64> = BTreeMap::new();
    for i in (0..N).filter(|i| i.is_multiple_of(3)) {
        let (_, f, t, m) = generated(i);
        *senders.entry(f).or_default() += 1;
        *recips.entry(t).or_default() += 1;
        *months.entry(m).or_default() += 1;
    }
    let facet = |k: &str, name: &str| -> BTreeMap<String, u64> {
        v["facets"][k]
            .as_array()
            .expect("facet")
            .iter()
            .map(|f| {
                (
                    f[name].as_str().unwrap_or("").to_string(),
                    f["count"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    };
    let conv = |m: &BTreeMap<&str, u64>| -> BTreeMap<String, u64> {
        m.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    assert_eq!(facet("senders", "value"), conv(&senders));
    assert_eq!(facet("recipients", "value"), conv(&recips));
    assert_eq!(facet("months", "month"), months);

    // Snippets: highlighted, and the mail's own markup escaped.
    let (_, z) = json(addr, "/api/search?q=zanzibar&limit=100").await;
    assert_eq!(z["total"].as_u64(), Some(N.div_ceil(5) as u64));
    for hit in z["hits"].as_array().expect("hits") {
        let s = hit["snippet_html"].as_str().expect("snippet");
        assert!(s.contains("<mark>zanzibar</mark>"), "{s}");
        assert!(!s.contains("<script") && !s.contains("<b>"), "{s}");
    }
    let page = get(addr, "/search?q=zanzibar", &[]).await;
    assert_eq!(page.status, 200);
    let t = page.text();
    assert!(t.contains("<mark>zanzibar</mark>"), "{t}");
    assert!(
        t.contains("&lt;script&gt;") && !t.contains("<script"),
        "{t}"
    );
    assert!(t.contains("Top senders") && t.contains("Top recipients") && t.contains("By month"));
    // A facet link refines the query and the refined search agrees with the data.
    assert!(
        t.contains("/search?q=zanzibar%20from%3A%22ann@alpha.example%22"),
        "{t}"
    );
    let (_, f) = json(
        addr,
        "/api/search?q=zanzibar%20from%3A%22ann@alpha.example%22",
    )
    .await;
    let expect = (0..N)
        .filter(|i| i.is_multiple_of(5) && i.is_multiple_of(4))
        .count() as u64;
    assert_eq!(f["total"].as_u64(), Some(expect));
    let (_, d) = json(addr, "/api/search?q=budget%20date%3A2016-02&limit=100").await;
    assert_eq!(
        d["total"].as_u64(),
        Some((0..N).filter(|i| i % 3 == 1).count() as u64)
    );

    // Attachment text is searched.
    let (_, a) = json(addr, "/api/search?q=zebrafish").await;
    assert_eq!(ids(&a), vec![43]);

    // Paging: the API's pages together are every match, once; the page links work.
    let mut all = Vec::new();
    for off in (0..N).step_by(25) {
        let (_, p) = json(
            addr,
            &format!("/api/search?q=budget&offset={off}&limit=25&facets=false"),
        )
        .await;
        all.extend(ids(&p));
    }
    let set: BTreeSet<u64> = all.iter().copied().collect();
    assert_eq!((all.len(), set.len()), (N, N));
    let p1 = get(addr, "/search?q=budget", &[]).await.text();
    assert!(p1.contains("Page 1 of 5") && p1.contains("page=2"), "{p1}");
    let p5 = get(addr, "/search?q=budget&page=5", &[]).await.text();
    assert!(
        p5.contains("Page 5 of 5") && p5.contains("start=\"81\""),
        "{p5}"
    );
    // Newest first.
    let (_, s) = json(
        addr,
        "/api/search?q=budget&sort=date&limit=100&facets=false",
    )
    .await;
    let dates: Vec<String> = s["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["date"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "{dates:?}");

    // Bad queries and parameters: 400 with the message.
    let (st, e) = json(addr, "/api/search?q=subject%3A(budget").await;
    assert_eq!(st, 400);
    assert_eq!(
        e["error"],
        "unbalanced parenthesis: this ( is never closed (at byte 8)"
    );
    let r = get(addr, "/search?q=subject%3A(budget", &[]).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("unbalanced parenthesis"), "{}", r.text());
    for bad in [
        "/api/search?q=budget&limit=5000",
        "/api/search?q=budget&offset=x",
        "/api/search?q=budget&sort=random",
        "/api/search?q=",
        "/search?q=budget&page=99999",
        "/search?q=%22open",
    ] {
        assert_eq!(get(addr, bad, &[]).await.status, 400, "{bad}");
    }
    let long = format!("/api/search?q={}", "a%20".repeat(3000));
    assert_eq!(get(addr, &long, &[]).await.status, 400);
    // The empty search page shows the syntax.
    let empty = get(addr, "/search", &[]).await;
    assert_eq!(empty.status, 200);
    assert!(empty.text().contains("Query syntax"));

    // The index was not written into the publication.
    assert_eq!(files(tmp.path()), before);

    // A new release is indexed without a restart.
    let mut w = trove_publication::PublicationWriter::open(
        tmp.path(),
        trove_publication::PublisherKey::from_seed([7; 32]),
    )
    .expect("open writer");
    let raw = b"From: eve@epsilon.example\r\nTo: ann@alpha.example\r\nSubject: late\r\nDate: 1 Apr 2016 10:00:00 +0000\r\n\r\nThe quokka arrived.\r\n";
    let d = draft(&mut w, raw, vec![], vec![]);
    publish(&mut w, "Part 2", vec![d], NOW + 86_400);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, q) = json(addr, "/api/search?q=quokka").await;
        if ids(&q) == vec![N as u64 + 1] {
            break;
        }
        assert!(Instant::now() < deadline, "release 2 never searchable: {q}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop.send(());
    h.await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_dir_is_used_and_reused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let idx = tempfile::tempdir().expect("idx");
    build(tmp.path());
    let cfg = Config {
        index_dir: Some(idx.path().to_path_buf()),
        ..config()
    };
    let (addr, stop, h) = start(tmp.path(), cfg.clone()).await;
    wait_indexed(addr, N as u64).await;
    let (_, first) = json(addr, "/api/search?q=pipeline&limit=100").await;
    let _ = stop.send(());
    h.await.expect("shutdown");
    let sub: Vec<_> = std::fs::read_dir(idx.path())
        .expect("index dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(sub.len(), 1, "one directory per publication");
    assert!(sub[0].join("meta.json").is_file() && sub[0].join("trove-web-index.json").is_file());

    // Restarted: the same answers, and nothing re-indexed (the marker matches).
    let (addr, stop, h) = start(tmp.path(), cfg).await;
    wait_indexed(addr, N as u64).await;
    let (_, again) = json(addr, "/api/search?q=pipeline&limit=100").await;
    assert_eq!(first["hits"], again["hits"]);
    assert_eq!(first["total"], again["total"]);
    let _ = stop.send(());
    h.await.expect("shutdown");
}

/// Independent tokenizer: split on anything but letters and digits, lower-cased.
fn tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_on_a_real_corpus() {
    let Some(data) = data_dir() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let raws = mbox_messages(&data.join("corpora/lore-io-uring.mbox.zst"), 1500);
    let mut w = writer(tmp.path());
    let drafts: Vec<_> = raws
        .iter()
        .map(|r| draft(&mut w, r, vec![], vec![]))
        .collect();
    let summaries: Vec<_> = drafts.iter().map(|d| d.summary.clone()).collect();
    publish(&mut w, "Part 1", drafts, NOW);
    let (addr, stop, h) = start(tmp.path(), config()).await;
    wait_indexed(addr, raws.len() as u64).await;

    // subject:WORD equals an independent count over the published subjects.
    for word in ["liburing", "fix", "patch"] {
        let expect = summaries
            .iter()
            .filter(|s| {
                tokens(s.subject.as_deref().unwrap_or(""))
                    .iter()
                    .any(|t| t == word)
            })
            .count() as u64;
        assert!(expect > 0, "{word} occurs in the corpus");
        let (st, v) = json(
            addr,
            &format!("/api/search?q=subject%3A{word}&facets=false"),
        )
        .await;
        assert_eq!(st, 200);
        assert_eq!(v["total"].as_u64(), Some(expect), "subject:{word}");
    }
    // The busiest sender of subject:liburing: from:ADDR within it equals the
    // independent count, and it is the top sender facet.
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    for s in &summaries {
        if !tokens(s.subject.as_deref().unwrap_or(""))
            .iter()
            .any(|t| t == "liburing")
        {
            continue;
        }
        if let Some(f) = s.from.first() {
            let a = f
                .rsplit('<')
                .next()
                .unwrap_or(f)
                .trim_end_matches('>')
                .trim()
                .to_lowercase();
            *by.entry(a).or_default() += 1;
        }
    }
    let (top, n) = by
        .iter()
        .max_by_key(|(a, n)| (**n, std::cmp::Reverse((*a).clone())))
        .expect("senders");
    let (_, all) = json(addr, "/api/search?q=subject%3Aliburing").await;
    assert_eq!(
        all["facets"]["senders"][0]["value"].as_str(),
        Some(top.as_str()),
        "{}",
        all["facets"]
    );
    assert_eq!(all["facets"]["senders"][0]["count"].as_u64(), Some(*n));
    let q = pct(&format!("subject:liburing from:\"{top}\""));
    let (_, v) = json(addr, &format!("/api/search?q={q}")).await;
    assert_eq!(v["total"].as_u64(), Some(*n), "from:{top}");
    // The page renders hits with marks and facets.
    let page = get(addr, "/search?q=io_uring%20sqpoll", &[]).await;
    assert_eq!(page.status, 200);
    let t = page.text();
    assert!(
        t.contains("<mark>") && t.contains("Top senders") && t.contains("<svg"),
        "{t}"
    );
    assert!(!t.contains("<script"));
    let _ = stop.send(());
    h.await.expect("shutdown");
}

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The headers every search answer carries; `final_` answers are
/// revalidated with their ETag, the others are never stored.
fn check_search_headers(r: &Resp, final_: bool) {
    assert_eq!(r.header("content-security-policy"), Some(trove_web::CSP));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    if final_ {
        assert_eq!(r.header("cache-control"), Some("no-cache"));
        assert_eq!(r.header("vary"), Some("accept-encoding"));
        assert!(r.header("etag").is_some_and(|t| t.len() == 34));
    } else {
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("etag"), None);
    }
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(b), &mut out).expect("gunzip");
    out
}

/// Search answers from the cache are byte for byte what a server without a
/// search cache answers (pages and JSON, hits with snippets and facets, on a
/// real corpus), with the same ETag; a repeated or respelled query runs no
/// search; `If-None-Match` gets 304 and gzip is the same answer compressed;
/// concurrent identical misses run one search.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_search_answers_equal_fresh_ones() {
    let Some(data) = data_dir() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let raws = mbox_messages(&data.join("corpora/lore-io-uring.mbox.zst"), 400);
    let mut w = writer(tmp.path());
    publish_plain(&mut w, "Part 1", &raws, NOW);
    let (addr, site, stop, h) = start_site(tmp.path(), config()).await;
    let uncached = Config {
        search_cache_bytes: 0,
        ..config()
    };
    let (addr0, site0, stop0, h0) = start_site(tmp.path(), uncached).await;
    wait_indexed(addr, raws.len() as u64).await;
    wait_indexed(addr0, raws.len() as u64).await;

    for p in [
        "/api/search?q=io_uring%20sqpoll",
        "/search?q=io_uring+sqpoll",
        "/search?q=io_uring&sort=date&page=2",
        "/api/search?q=subject%3Apatch&offset=20&limit=5&sort=date",
        "/api/search?q=%22fixed%20buffers%22&facets=false",
        "/search?q=from%3Aaxboe%40kernel.dk",
    ] {
        let n = site.searches_run();
        let first = get(addr, p, &[]).await;
        assert_eq!(first.status, 200, "{p}");
        assert_eq!(site.searches_run(), n + 1, "{p}: one search");
        let again = get(addr, p, &[]).await;
        assert_eq!(site.searches_run(), n + 1, "{p}: answered from the cache");
        let n0 = site0.searches_run();
        let fresh = get(addr0, p, &[]).await;
        let fresh2 = get(addr0, p, &[]).await;
        assert_eq!(site0.searches_run(), n0 + 2, "{p}: no cache, two searches");
        for r in [&first, &again, &fresh, &fresh2] {
            check_search_headers(r, true);
        }
        assert_eq!(first.body, again.body, "{p}");
        assert_eq!(
            first.body, fresh.body,
            "{p}: cached answer differs from a fresh one"
        );
        assert_eq!(fresh.body, fresh2.body, "{p}");
        let tag = first.header("etag").expect("etag").to_string();
        assert_eq!(again.header("etag"), Some(tag.as_str()));
        assert_eq!(fresh.header("etag"), Some(tag.as_str()));
        let json = p.starts_with("/api/");
        assert_eq!(
            first.header("content-type"),
            Some(if json {
                "application/json"
            } else {
                "text/html; charset=utf-8"
            })
        );
        if json {
            let v: Value = serde_json::from_slice(&first.body).expect("json");
            assert!(v["total"].as_u64().is_some_and(|t| t > 0), "{p}: {v}");
            assert_eq!(v["timed_out"], false);
        } else {
            assert!(first.text().contains("<ol class=\"hits\""), "{p}");
        }
        let nm = get(addr, p, &[("If-None-Match", &tag)]).await;
        assert_eq!(nm.status, 304, "{p}");
        assert!(nm.body.is_empty());
        let z = get(addr, p, &[("Accept-Encoding", "gzip")]).await;
        assert_eq!(z.header("content-encoding"), Some("gzip"), "{p}");
        check_search_headers(&z, true);
        assert_eq!(gunzip(&z.body), first.body, "{p}: gzip is another answer");
        assert_eq!(
            site.searches_run(),
            n + 1,
            "{p}: 304 and gzip ran no search"
        );
    }

    // Another spelling of the same query (whitespace outside phrases) is the same answer.
    let n = site.searches_run();
    let a = get(addr, "/api/search?q=io_uring%20sqpoll", &[]).await;
    let b = get(addr, "/api/search?q=%20%20io_uring%09%20sqpoll%20", &[]).await;
    assert_eq!(a.body, b.body);
    assert_eq!(site.searches_run(), n);
    let v: Value = serde_json::from_slice(&b.body).expect("json");
    assert_eq!(v["query"], "io_uring sqpoll");
    // The page reads its query the same way (cached above as io_uring+sqpoll).
    let a = get(addr, "/search?q=io_uring%20sqpoll", &[]).await;
    let b = get(addr, "/search?q=%20%20io_uring%09%20sqpoll%20", &[]).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, b.body);
    assert_eq!(
        site.searches_run(),
        n,
        "both spellings answered from the cache"
    );
    // Inside a phrase, whitespace is the query's own: another key, another search.
    let c = get(
        addr,
        "/api/search?q=%22fixed%20%20buffers%22&facets=false",
        &[],
    )
    .await;
    assert_eq!(c.status, 200);
    assert_eq!(site.searches_run(), n + 1);

    // A flood of one new query: one search, one answer for all.
    let n = site.searches_run();
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            tokio::spawn(async move { get(addr, "/search?q=buffer+ring&sort=date", &[]).await })
        })
        .collect();
    let mut bodies = BTreeSet::new();
    for t in tasks {
        let r = t.await.expect("request");
        assert_eq!(r.status, 200);
        bodies.insert(r.body);
    }
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        site.searches_run(),
        n + 1,
        "concurrent identical misses ran one search"
    );

    let _ = (stop.send(()), stop0.send(()));
    h.await.expect("shutdown");
    h0.await.expect("shutdown");
}

/// A new release drops every cached search answer: the same query then
/// finds the new messages, with another ETag; while the index catches up
/// with the release, answers are not kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_release_replaces_cached_search_answers() {
    let tmp = tempfile::tempdir().expect("tmp");
    build(tmp.path());
    let (addr, site, stop, h) = start_site(tmp.path(), config()).await;
    wait_indexed(addr, N as u64).await;
    let paths = [
        "/api/search?q=budget&limit=100",
        "/search?q=budget&sort=date",
    ];
    let mut before = Vec::new();
    for p in paths {
        let r = get(addr, p, &[]).await;
        assert_eq!(r.status, 200);
        check_search_headers(&r, true);
        before.push(r);
    }
    let n = site.searches_run();
    for (p, b) in paths.iter().zip(&before) {
        assert_eq!(get(addr, p, &[]).await.body, b.body, "{p}");
    }
    assert_eq!(site.searches_run(), n, "cached");
    let v: Value = serde_json::from_slice(&before[0].body).expect("json");
    assert_eq!(v["total"].as_u64(), Some(N as u64));

    let mut w = trove_publication::PublicationWriter::open(
        tmp.path(),
        trove_publication::PublisherKey::from_seed([7; 32]),
    )
    .expect("open writer");
    let late: Vec<_> = (N..N + 10)
        .map(|i| draft(&mut w, &generated(i).0, vec![], vec![]))
        .collect();
    publish(&mut w, "Part 2", late, NOW + 86_400);
    // Until the index holds release 2, no answer about it is kept.
    let all = N as u64 + 10;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = get(addr, paths[0], &[]).await;
        let v: Value = serde_json::from_slice(&r.body).expect("json");
        if v["messages"].as_u64() == Some(all) && v["indexed"].as_u64() == Some(all) {
            break;
        }
        if v["messages"].as_u64() == Some(all) {
            check_search_headers(&r, false);
        }
        assert!(Instant::now() < deadline, "release 2 never searchable: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (p, b) in paths.iter().zip(&before) {
        let n = site.searches_run();
        let r = get(addr, p, &[]).await;
        assert_eq!(r.status, 200);
        check_search_headers(&r, true);
        assert_ne!(r.body, b.body, "{p}: stale answer served");
        assert_ne!(r.header("etag"), b.header("etag"), "{p}");
        let old = get(
            addr,
            p,
            &[("If-None-Match", b.header("etag").expect("etag"))],
        )
        .await;
        assert_eq!(old.status, 200, "{p}: the old ETag must not validate");
        assert_eq!(old.body, r.body);
        assert!(
            site.searches_run() <= n + 1,
            "{p}: the new answer is cached"
        );
    }
    let (_, v) = json(addr, paths[0]).await;
    assert_eq!(v["total"].as_u64(), Some(all));
    let page = get(addr, paths[1], &[]).await.text();
    assert!(page.contains(&format!("{all} results")), "{page}");
    let _ = stop.send(());
    h.await.expect("shutdown");
}

/// An answer cut short by the time budget says so and is never served from
/// the cache: each request searches again, and it is marked `no-store`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_out_answers_are_not_cached() {
    let tmp = tempfile::tempdir().expect("tmp");
    build(tmp.path());
    let cfg = Config {
        search_time_budget: Duration::ZERO,
        ..config()
    };
    let (addr, site, stop, h) = start_site(tmp.path(), cfg).await;
    wait_indexed(addr, N as u64).await;
    for p in ["/api/search?q=budget", "/search?q=budget"] {
        let n = site.searches_run();
        let a = get(addr, p, &[]).await;
        let b = get(addr, p, &[]).await;
        assert_eq!(
            site.searches_run(),
            n + 2,
            "{p}: a timed-out answer came from the cache"
        );
        for r in [&a, &b] {
            assert_eq!(r.status, 200, "{p}");
            check_search_headers(r, false);
        }
        if p.starts_with("/api/") {
            let v: Value = serde_json::from_slice(&a.body).expect("json");
            assert_eq!(v["timed_out"], true, "{v}");
            assert_eq!(v["engine"], "fulltext");
        } else {
            assert!(a.text().contains("the search ran out of time"));
        }
    }
    let _ = stop.send(());
    h.await.expect("shutdown");
}

/// The per-client rate limit applies before the cache: cached answers are
/// counted like any other request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_searches_are_rate_limited() {
    let tmp = tempfile::tempdir().expect("tmp");
    build(tmp.path());
    let cfg = Config {
        rate_limit: Some(5),
        ..config()
    };
    let (addr, site, stop, h) = start_site(tmp.path(), cfg).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while site.index().indexed() < N as u64 {
        assert!(Instant::now() < deadline, "never indexed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut codes = BTreeMap::new();
    for _ in 0..40 {
        *codes
            .entry(get(addr, "/api/search?q=pipeline", &[]).await.status)
            .or_insert(0) += 1;
    }
    let ok = codes.get(&200).copied().unwrap_or(0);
    assert!(
        (20..=25).contains(&ok),
        "burst of 20 plus refill: {codes:?}"
    );
    assert_eq!(ok + codes.get(&429).copied().unwrap_or(0), 40, "{codes:?}");
    assert_eq!(
        site.searches_run(),
        1,
        "one search, the rest from the cache"
    );
    let _ = stop.send(());
    h.await.expect("shutdown");
}
