//! Headless Chromium against the real server: pages load and render
//! (screenshots in the target dir), and hostile HTML mail runs no script and
//! makes no request: a counting listener on 127.0.0.1 is both the mails'
//! beacon and Chromium's proxy, so any request to it or beyond 127.0.0.1 counts.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;

/// The last id published: the hostile set, then 100 kasan-dev messages when the corpus is there.
fn last_id(n_hostile: u64) -> u64 {
    n_hostile + if data_dir().is_some() { 100 } else { 0 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_and_hostile_mail_runs_nothing() {
    if !Path::new(CHROMIUM).exists() {
        println!("skipped: {CHROMIUM} not found (apt-get install chromium)");
        return;
    }
    // The counter: every connection made to it is a failure of containment.
    let counter = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let caddr = counter.local_addr().expect("addr");
    let hits = Arc::new(AtomicUsize::new(0));
    let h2 = hits.clone();
    tokio::spawn(async move {
        while let Ok((_s, _)) = counter.accept().await {
            h2.fetch_add(1, Ordering::SeqCst);
        }
    });

    // The proxy: every request for a host other than 127.0.0.1 arrives here;
    // its first line (CONNECT host / GET url) is recorded, never forwarded.
    let proxy_l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let paddr = proxy_l.local_addr().expect("addr");
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = proxy_l.accept().await {
            let seen = seen2.clone();
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut b = vec![0; 512];
                let n = s.read(&mut b).await.unwrap_or(0);
                let line = String::from_utf8_lossy(&b[..n])
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                // A connection closed before sending a byte (Chromium's speculative
                // preconnects do this under load) names no host and fetches nothing.
                if line.is_empty() {
                    return;
                }
                if let Ok(mut v) = seen.lock() {
                    v.push(line);
                }
            });
        }
    });

    let tmp = tempfile::tempdir().expect("tmp");
    let mut w = writer(tmp.path());
    let mut drafts: Vec<_> = hostile(&format!("http://{caddr}"))
        .iter()
        .map(|m| draft(&mut w, m, vec![], vec![]))
        .collect();
    let n_hostile = drafts.len() as u64;
    if let Some(data) = data_dir() {
        for raw in mbox_messages(&data.join("corpora/lore-kasan-dev-2022-2023.mbox.zst"), 100) {
            drafts.push(draft(&mut w, &raw, vec![], vec![]));
        }
    }
    publish(&mut w, "Part 1", drafts, NOW);
    let (addr, stop, h) = start(
        tmp.path(),
        trove_web::Config {
            rate_limit: None,
            ..Default::default()
        },
    )
    .await;
    wait_indexed(addr, last_id(n_hostile)).await;
    let base = format!("http://{addr}");
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("trove-web-screenshots");
    std::fs::create_dir_all(&shots).expect("dir");
    let profile = tempfile::tempdir().expect("profile");
    let proxy = paddr.to_string();

    let run = |args: Vec<String>| {
        let p = profile.path().to_path_buf();
        let proxy = proxy.clone();
        tokio::task::spawn_blocking(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            chromium(&p, &proxy, &a)
        })
    };

    // Pages load and render.
    let last = last_id(n_hostile);
    for (name, path, expect) in [
        ("home", "/".to_string(), "Releases"),
        (
            "search",
            "/search?q=from%3Aattacker.example".to_string(),
            "9 results",
        ),
        (
            "search-facets",
            "/search?q=from%3Aattacker.example%20hostile".to_string(),
            "Top recipients",
        ),
        ("message", format!("/emailid/{last}"), "Raw source"),
        ("thread", format!("/thread/{last}"), "Thread:"),
        ("hostile-message", "/emailid/1".to_string(), "sandboxed"),
    ] {
        let dom = run(vec!["--dump-dom".into(), format!("{base}{path}")])
            .await
            .expect("chromium");
        let expect = if name == "hostile-message" {
            "iframe sandbox=\"\""
        } else {
            expect
        };
        assert!(dom.contains(expect), "{name}: {expect} not in {dom}");
        if name == "search-facets" {
            // Facets rendered by the browser: senders, recipients, months, with refine links.
            for want in [
                "Top senders",
                "evil0@attacker.example",
                "victim@example.org",
                "By month",
                "2023-10",
                "cc%3A%22victim@example.org%22",
            ] {
                assert!(dom.contains(want), "search facets: {want} not in {dom}");
            }
        }
        let png = shots.join(format!("{name}.png"));
        run(vec![
            format!("--screenshot={}", png.display()),
            format!("{base}{path}"),
        ])
        .await
        .expect("chromium");
        let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
        assert!(size > 5_000, "{name}: screenshot {size} bytes");
        println!("screenshot {}", png.display());
    }

    // Each hostile body opened directly (no iframe to protect it) and inside its page.
    for id in 1..=n_hostile {
        for path in [format!("/emailid/{id}/html"), format!("/emailid/{id}")] {
            let dom = run(vec!["--dump-dom".into(), format!("{base}{path}")])
                .await
                .expect("chromium");
            assert!(!dom.contains("PWNED"), "{path}: script ran: {dom}");
            assert!(dom.contains("</html>"), "{path}: rendered");
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "a hostile mail reached its beacon"
    );
    let seen = seen.lock().map(|v| v.clone()).unwrap_or_default();
    let from_pages: Vec<&String> = seen
        .iter()
        .filter(|l| l.contains("198.51.100.7") || l.contains(&caddr.to_string()))
        .collect();
    assert!(
        from_pages.is_empty(),
        "requests beyond 127.0.0.1 from the pages: {from_pages:?}"
    );
    // Whatever did reach the proxy is Chromium's own background traffic to
    // Google (update checks, field trials), never a host named by a page.
    let chromium_own = [
        "google.com",
        "googleapis.com",
        "gstatic.com",
        "gvt1.com",
        "gvt2.com",
    ];
    let foreign: Vec<&String> = seen
        .iter()
        .filter(|l| {
            let target = l.split_whitespace().nth(1).unwrap_or("");
            let host = target
                .trim_start_matches("http://")
                .trim_start_matches("https://")
                .split(['/', ':'])
                .next()
                .unwrap_or("");
            !chromium_own
                .iter()
                .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        })
        .collect();
    assert!(
        foreign.is_empty(),
        "requests to hosts no page may name: {foreign:?}"
    );
    println!(
        "hostile: {n_hostile} messages x 2 views, 0 scripts, 0 beacon hits, 0 page requests beyond 127.0.0.1 ({} requests of Chromium's own caught by the proxy: {:?})",
        seen.len(), seen.iter().take(3).collect::<Vec<_>>()
    );
    let _ = stop.send(());
    h.await.expect("shutdown");
}
