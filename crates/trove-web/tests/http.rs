//! The server over real HTTP on 127.0.0.1: pages from real mail, hostile
//! HTML, odd paths, headers, raw and attachments, rate limiting, hot reload.

mod common;

use std::path::Path;

use common::*;
use trove_publication::{AttachmentEntry, DkimAttestation};
use trove_web::Config;

fn no_limit() -> Config {
    Config {
        rate_limit: None,
        reload_interval: std::time::Duration::from_millis(100),
        ..Config::default()
    }
}

/// Waits (20 s at most) until the server at `addr` lists the release titled `title`.
async fn wait_for_release(addr: std::net::SocketAddr, title: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !get(addr, "/api/publication", &[])
        .await
        .text()
        .contains(title)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{title} not picked up by {addr}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Release 1: the leaked real messages (with a DKIM attestation), the hostile set,
/// a message with a hostile attachment, and up to 300 kasan-dev messages.
fn build(dir: &Path) -> usize {
    let mut w = writer(dir);
    let mut drafts = Vec::new();
    if let Some(data) = data_dir() {
        for f in [
            "dkim/leaked-real/hunter-dkim/Meeting for coffee.eml",
            "dkim/leaked-real/turkstream-roadmap/Message14960479880043215677.eml",
        ] {
            let raw = std::fs::read(data.join(f)).expect("eml");
            let att = DkimAttestation {
                domain: "gmail.com".into(),
                selector: "20120113".into(),
                algorithm: "rsa-sha256".into(),
                result: "pass".into(),
                reason: Some("key from historic archive".into()),
            };
            drafts.push(draft(&mut w, &raw, vec![], vec![att]));
        }
    }
    for raw in hostile("http://127.0.0.1:9/beacon") {
        drafts.push(draft(&mut w, &raw, vec![], vec![]));
    }
    let evil = w
        .put_blob(b"<html><script>alert(1)</script></html>")
        .expect("blob");
    let att = vec![AttachmentEntry::new(
        evil,
        Some("../../etc/passwd\r\n.html".into()),
        "text/html",
    )];
    let raw = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: with attachment\r\nDate: Mon, 2 Oct 2023 11:00:00 +0000\r\n\r\nsee attached\r\n";
    drafts.push(draft(&mut w, raw, att, vec![]));
    if let Some(data) = data_dir() {
        for raw in mbox_messages(&data.join("corpora/lore-kasan-dev-2022-2023.mbox.zst"), 300) {
            drafts.push(draft(&mut w, &raw, vec![], vec![]));
        }
    }
    let n = drafts.len();
    publish(&mut w, "Part 1", drafts, NOW);
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_files_and_security() {
    let tmp = tempfile::tempdir().expect("tmp");
    let n = build(tmp.path());
    let (addr, stop, h) = start(tmp.path(), no_limit()).await;

    let home = get(addr, "/", &[]).await;
    assert_eq!(home.status, 200);
    let t = home.text();
    assert!(
        t.contains("Messages for &lt;tests&gt; &amp; checks"),
        "description escaped"
    );
    assert!(t.contains(&format!("{n} messages in 1 releases")), "{t}");
    assert!(t.contains("<svg") && t.contains("/feed.atom"));
    for (k, v) in [
        ("content-security-policy", trove_web::CSP),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(home.header(k), Some(v), "{k}");
    }
    assert!(!t.contains("<script"), "no scripts on our pages");

    // Every message page renders; hostile subjects and bodies stay escaped.
    let mut pages = 0;
    for id in 1..=n as u64 {
        let r = get(addr, &format!("/emailid/{id}"), &[]).await;
        assert_eq!(r.status, 200, "emailid {id}");
        assert!(!r.text().to_lowercase().contains("<script"), "emailid {id}");
        pages += 1;
    }
    assert_eq!(pages, n);
    if data_dir().is_some() {
        let r = get(addr, "/emailid/1", &[]).await;
        let t = r.text();
        assert!(
            t.contains("key from historic archive") && t.contains("badge pass"),
            "DKIM badge"
        );
        let raw = get(addr, "/emailid/1/raw", &[]).await;
        assert_eq!(raw.header("content-type"), Some("message/rfc822"));
        assert_eq!(
            raw.header("content-disposition"),
            Some("attachment; filename=\"1.eml\"")
        );
        assert!(raw
            .header("cache-control")
            .unwrap_or("")
            .contains("immutable"));
        let etag = raw.header("etag").expect("etag").to_string();
        assert_eq!(
            get(addr, "/emailid/1/raw", &[("If-None-Match", &etag)])
                .await
                .status,
            304
        );
        // Threads from the kasan-dev corpus: some thread has more than one message.
        let api: serde_json::Value =
            serde_json::from_slice(&get(addr, "/api/publication", &[]).await.body).expect("json");
        assert!(
            api["threads"].as_u64().expect("threads") < n as u64,
            "replies joined threads"
        );
    }

    // Hostile HTML: the page frames it sandboxed; the frame's document is clean.
    let first_hostile = if data_dir().is_some() { 3 } else { 1 };
    for id in first_hostile..first_hostile + 9 {
        let page = get(addr, &format!("/emailid/{id}"), &[]).await.text();
        assert!(page.contains(&format!("<iframe sandbox=\"\" title=\"HTML body of message {id}\" src=\"/emailid/{id}/html\">")), "{page}");
        let r = get(addr, &format!("/emailid/{id}/html"), &[]).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("content-security-policy"),
            Some(trove_web::CSP_MAIL)
        );
        let doc = r.text().to_lowercase();
        let b = doc
            .split_once("<body>")
            .map(|x| x.1.to_string())
            .unwrap_or_default();
        for bad in [
            "<script",
            "onerror",
            "onclick",
            "onload",
            "javascript:",
            "expression",
            "url(",
            "<meta",
            "<form",
            "127.0.0.1:9",
            "198.51.100.7",
            "<object",
            "<embed",
            "<link",
            "<base",
            "<style",
        ] {
            assert!(!b.contains(bad), "emailid {id} html keeps {bad}: {b}");
        }
    }

    // The hostile attachment: downloaded, never HTML, with a safe name.
    let a = get(
        addr,
        &format!("/emailid/{}/attachment/1", first_hostile + 9),
        &[],
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("application/octet-stream"));
    assert_eq!(
        a.header("content-disposition"),
        Some("attachment; filename=\"etc_passwd__.html\"")
    );
    assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        a.header("content-security-policy"),
        Some(trove_web::CSP_FILE)
    );

    // Other pages and API.
    for p in [
        "/release/1",
        "/thread/1",
        "/correspondent/victim@example.org",
        "/search?q=hostile",
        "/feed.atom",
        "/api/openapi.json",
        "/api/messages/1",
        "/api/releases/1",
        "/api/threads/1",
        "/api/search?q=hostile",
        "/api/correspondents/victim@example.org",
        "/pub/descriptor.json",
        "/pub/freshness.json",
        "/pub/releases/000001.json",
        "/style.css",
    ] {
        assert_eq!(get(addr, p, &[]).await.status, 200, "{p}");
    }
    let s: serde_json::Value =
        serde_json::from_slice(&get(addr, "/api/search?q=hostile", &[]).await.body).expect("json");
    assert_eq!(s["total"], 9);
    let c: serde_json::Value = serde_json::from_slice(
        &get(addr, "/api/correspondents/victim@example.org", &[])
            .await
            .body,
    )
    .expect("json");
    assert_eq!(c["received"].as_array().map(Vec::len), Some(9));
    let api: serde_json::Value =
        serde_json::from_slice(&get(addr, "/api/openapi.json", &[]).await.body).expect("json");
    assert_eq!(api["openapi"], "3.1.0");
    let m: serde_json::Value =
        serde_json::from_slice(&get(addr, "/api/messages/1", &[]).await.body).expect("json");
    let blob = m["blob"].as_str().expect("blob").to_string();
    let b = get(
        addr,
        &format!("/pub/blobs/{}/{}", &blob[..2], &blob[2..]),
        &[],
    )
    .await;
    assert_eq!(b.status, 200);
    assert_eq!(b.header("content-type"), Some("application/octet-stream"));
    assert!(b
        .header("cache-control")
        .unwrap_or("")
        .contains("immutable"));
    // Compression when asked for.
    let z = get(addr, "/release/1", &[("Accept-Encoding", "gzip")]).await;
    assert_eq!(z.header("content-encoding"), Some("gzip"));

    // Odd paths: 404, and never a file from outside the publication.
    std::fs::write(tmp.path().join(".staging-secret"), "secret").ok();
    let odd = [
        "/emailid/-1",
        "/emailid/0",
        "/emailid/99999999999",
        "/emailid/+1",
        "/emailid/1.0",
        "/emailid/123456789012345678901234567890",
        &format!("/emailid/{}", "9".repeat(5000)),
        "/emailid/1/attachment/0",
        "/emailid/1/attachment/99",
        "/emailid/1/attachment/-1",
        "/pub/",
        "/pub/blobs/",
        "/pub/releases/",
        "/pub/.staging",
        "/pub/.staging-secret",
        "/pub/../Cargo.toml",
        "/pub/%2e%2e/%2e%2e/etc/passwd",
        "/pub/blobs%2f..%2f..%2fetc%2fpasswd",
        "/pub/releases/..%2F..%2Fdescriptor.json",
        "/pub/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/pub/blobs/../descriptor.json",
        "/pub/releases/1.json",
        "/..%2f..%2fetc%2fpasswd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/static/../../etc/passwd",
        "/release/0",
        "/release/2",
        "/thread/0",
        "/correspondent/nobody@nowhere",
        "/api/messages/0",
        "/api/messages/abc",
        "/emailid/1%2fraw",
        "/pub/descriptor.json%00",
        "/emailid/1/raw/extra",
    ];
    for p in odd {
        let r = get(addr, p, &[]).await;
        assert!(r.status == 404 || r.status == 400, "{p}: {}", r.status);
        assert!(
            !r.text().contains("root:")
                && !r.text().contains("secret")
                && !r.text().contains("[package]"),
            "{p}"
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{p}");
    }

    let _ = stop.send(());
    h.await.expect("graceful shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut w = writer(tmp.path());
    let d = draft(
        &mut w,
        b"From: a@x.org\r\nSubject: s\r\n\r\nb\r\n",
        vec![],
        vec![],
    );
    let d_hash = d.blob.hash.to_hex();
    publish(&mut w, "Part 1", vec![d], NOW);
    let (addr, stop, h) = start(
        tmp.path(),
        Config {
            rate_limit: Some(5),
            ..no_limit()
        },
    )
    .await;
    let mut codes = Vec::new();
    for _ in 0..40 {
        codes.push(get(addr, "/api/publication", &[]).await.status);
    }
    let ok = codes.iter().filter(|c| **c == 200).count();
    let limited = codes.iter().filter(|c| **c == 429).count();
    assert_eq!(ok + limited, 40);
    assert!((20..=25).contains(&ok), "burst of 20 plus refill: {ok}");
    // Mirrors are not held to the page budget: /pub/ has its own, larger one.
    let m: serde_json::Value =
        serde_json::from_slice(&get(addr, "/pub/releases/000001.json", &[]).await.body)
            .expect("manifest json");
    assert!(m.is_object());
    let blob = d_hash.clone();
    let path = format!("/pub/blobs/{}/{}", &blob[..2], &blob[2..]);
    for _ in 0..40 {
        let r = get(addr, &path, &[]).await;
        assert_eq!(r.status, 200, "/pub/ limited with the page budget");
        assert_eq!(r.header("etag"), Some(format!("\"{blob}\"").as_str()));
    }
    // The blob's tag is its hash (cheap: from the path); others are size and mtime.
    let tag = format!("\"{blob}\"");
    assert_eq!(
        get(addr, &path, &[("If-None-Match", &tag)]).await.status,
        304
    );
    let f = get(addr, "/pub/freshness.json", &[]).await;
    assert_eq!(f.header("cache-control"), Some("no-cache"));
    let ft = f.header("etag").expect("etag").to_string();
    assert_eq!(
        get(addr, "/pub/freshness.json", &[("If-None-Match", &ft)])
            .await
            .status,
        304
    );
    let _ = stop.send(());
    h.await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_release_is_picked_up_without_a_failed_request() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut w = writer(tmp.path());
    let msgs: Vec<_> = (0..50)
        .map(|i| {
            format!("From: p{i}@x.org\r\nSubject: first {i}\r\nMessage-ID: <m{i}@x>\r\n\r\nb\r\n")
                .into_bytes()
        })
        .collect();
    publish_plain(&mut w, "Part 1", &msgs, NOW);
    let (addr, stop, h) = start(tmp.path(), no_limit()).await;

    let client = tokio::spawn(async move {
        let (mut ok, mut failed, mut saw_2) = (0, 0, false);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            for p in ["/", "/emailid/25", "/api/publication", "/emailid/50/raw"] {
                let r = get(addr, p, &[]).await;
                if r.status == 200 {
                    ok += 1
                } else {
                    failed += 1
                }
                if p == "/api/publication" && r.text().contains("Part 2") {
                    saw_2 = true;
                }
            }
            if saw_2 && get(addr, "/emailid/75", &[]).await.status == 200 {
                break;
            }
        }
        (ok, failed, saw_2)
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let more: Vec<_> = (50..100)
        .map(|i| {
            format!(
                "From: p{i}@x.org\r\nSubject: second {i}\r\nIn-Reply-To: <m{}@x>\r\n\r\nb\r\n",
                i - 50
            )
            .into_bytes()
        })
        .collect();
    tokio::task::spawn_blocking(move || publish_plain(&mut w, "Part 2", &more, NOW + 86_400))
        .await
        .expect("publish 2");
    let (ok, failed, saw_2) = client.await.expect("client");
    println!("hot reload: {ok} requests ok, {failed} failed");
    assert!(saw_2, "release 2 picked up");
    assert_eq!(failed, 0);
    assert!(ok > 8);
    let t: serde_json::Value =
        serde_json::from_slice(&get(addr, "/api/threads/75", &[]).await.body).expect("json");
    assert_eq!(
        t["messages"].as_array().map(Vec::len),
        Some(2),
        "reply joined its release-1 parent"
    );
    let _ = stop.send(());
    h.await.expect("shutdown");
}

/// The message page cache: repeated requests get the same bytes and ETag as a
/// server that renders every time, `If-None-Match` gets 304, gzip is the same
/// page compressed, security headers stay on every variant, and a new release
/// replaces the cached page (its "Next" link and ETag change).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_message_pages_follow_new_releases() {
    let Some(data) = data_dir() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let msgs = mbox_messages(&data.join("corpora/lore-io-uring.mbox.zst"), 50);
    assert_eq!(msgs.len(), 50);
    let mut w = writer(tmp.path());
    publish_plain(&mut w, "Part 1", &msgs[..40], NOW);
    let (addr, stop, h) = start(tmp.path(), no_limit()).await;
    let uncached = Config {
        page_cache_bytes: 0,
        ..no_limit()
    };
    let (addr0, stop0, h0) = start(tmp.path(), uncached).await;

    let check_headers = |r: &Resp| {
        assert_eq!(r.header("content-security-policy"), Some(trove_web::CSP));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert_eq!(r.header("vary"), Some("accept-encoding"));
    };
    let first = get(addr, "/emailid/40", &[]).await;
    let second = get(addr, "/emailid/40", &[]).await;
    let fresh = get(addr0, "/emailid/40", &[]).await;
    assert_eq!(first.status, 200);
    check_headers(&first);
    check_headers(&second);
    assert_eq!(
        first.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(first.body, second.body);
    assert_eq!(
        first.body, fresh.body,
        "cached page differs from a fresh render"
    );
    let tag = first.header("etag").expect("etag").to_string();
    assert_eq!(second.header("etag"), Some(tag.as_str()));
    assert_eq!(fresh.header("etag"), Some(tag.as_str()));
    let page1 = first.text();
    assert!(!page1.contains("rel=\"next\""), "last message has no next");
    assert!(page1.contains("rel=\"prev\""));

    let nm = get(addr, "/emailid/40", &[("If-None-Match", &tag)]).await;
    assert_eq!(nm.status, 304);
    assert!(nm.body.is_empty());
    assert_eq!(nm.header("etag"), Some(tag.as_str()));
    check_headers(&nm);

    for ae in ["gzip", "br;q=1.0, gzip;q=0.8", "*"] {
        let z = get(addr, "/emailid/40", &[("Accept-Encoding", ae)]).await;
        assert_eq!(z.status, 200);
        assert_eq!(z.header("content-encoding"), Some("gzip"), "{ae}");
        check_headers(&z);
        assert!(z.body.len() < first.body.len());
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&z.body[..]), &mut out)
            .expect("gunzip");
        assert_eq!(out, first.body, "gzip variant is another page");
    }
    let no = get(addr, "/emailid/40", &[("Accept-Encoding", "gzip;q=0")]).await;
    assert_eq!(no.header("content-encoding"), None);
    assert_eq!(no.body, first.body);
    // Unknown and odd ids are still 404 with the cache in front.
    for p in ["/emailid/41", "/emailid/0", "/emailid/99999999999999999999"] {
        assert_eq!(get(addr, p, &[]).await.status, 404, "{p}");
    }

    // Release 2 lands: the cached page of 40 must not be served any more.
    tokio::task::spawn_blocking(move || publish_plain(&mut w, "Part 2", &msgs[40..], NOW + 86_400))
        .await
        .expect("publish 2");
    wait_for_release(addr, "Part 2").await;
    let after = get(addr, "/emailid/40", &[]).await;
    assert_eq!(after.status, 200);
    assert!(after.text().contains("rel=\"next\""), "stale page served");
    assert_ne!(after.header("etag"), Some(tag.as_str()));
    let old = get(addr, "/emailid/40", &[("If-None-Match", &tag)]).await;
    assert_eq!(old.status, 200, "old ETag still validates");
    assert_eq!(get(addr, "/emailid/50", &[]).await.status, 200);
    // The uncached server agrees byte for byte once it has reloaded too.
    wait_for_release(addr0, "Part 2").await;
    assert_eq!(get(addr0, "/emailid/40", &[]).await.body, after.body);

    let _ = (stop.send(()), stop0.send(()));
    h.await.expect("shutdown");
    h0.await.expect("shutdown");
}
