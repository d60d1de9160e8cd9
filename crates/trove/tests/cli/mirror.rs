//! Multi-node: an origin and three mirrors (one mirroring another), each a separate `trove`
//! process on its own port on 127.0.0.1. The origin is SIGKILLed in the middle of a fresh
//! mirror's sync, a release is published while one mirror is down, and at the end every
//! mirror serves the same verified state; no mirror ever served a pointer the origin did not
//! publish, and every mirror directory verifies completely.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::util::*;

/// A `trove serve` process and the address it listens on.
struct Node {
    child: Child,
    addr: String,
}

impl Node {
    /// Starts `trove serve DIR ARGS…` and waits for its "Serving … at http://ADDR/" line.
    fn start(dir: &Path, listen: &str, extra: &[&str]) -> Node {
        let mut c = trove();
        c.arg("serve")
            .arg(dir)
            .args(["--listen", listen, "--rate-limit", "0"])
            .args(extra)
            .env("TROVE_MIRROR_INTERVAL", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = c.spawn().expect("trove serve starts");
        let out = child.stdout.take().unwrap();
        let mut lines = BufReader::new(out).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            assert!(Instant::now() < deadline, "trove serve did not start");
            let line = lines
                .next()
                .expect("trove serve exited before serving")
                .unwrap();
            if let Some(rest) = line.split(" at http://").nth(1) {
                break rest.split('/').next().unwrap().to_string();
            }
        };
        // Keep draining stdout so the process never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Node { child, addr }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// GET over a fresh connection; `None` when the node is unreachable.
fn get(addr: &str, path: &str) -> Option<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Some((status, dechunk(&body)));
    }
    Some((status, body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(p) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..p]).trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[p + 2..p + 2 + n]);
        b = &b[p + 4 + n..];
    }
    out
}

fn pointer(node: &Node) -> Option<Vec<u8>> {
    match get(&node.addr, "/pub/freshness.json")? {
        (200, b) => Some(b),
        _ => None,
    }
}

fn wait_for(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn publish(vault: &Path, pubdir: &Path) -> Vec<u8> {
    run_ok(
        vault,
        &[
            "release",
            "publish",
            "--no-fsync",
            "--to",
            pubdir.to_str().unwrap(),
        ],
        0,
    );
    std::fs::read(pubdir.join("freshness.json")).unwrap()
}

fn verify(dir: &Path) -> String {
    let out = trove()
        .args(["publication", "verify"])
        .arg(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{}: {text}", dir.display());
    text
}

#[test]
fn origin_and_three_mirrors_converge_on_the_same_verified_state() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let vault = t.join("vault");
    let mbox = t.join("dump.mbox");
    write_mbox(&mbox, 0..900);
    run_ok(&vault, &["init", vault.to_str().unwrap()], 0);
    run_ok(&vault, &["ingest", "-q", mbox.to_str().unwrap()], 0);
    run_ok(&vault, &["release", "plan", "--parts", "3"], 0);
    let pubdir = t.join("pub");
    let published = Arc::new(Mutex::new(HashSet::new()));
    published.lock().unwrap().insert(publish(&vault, &pubdir));

    let mut origin = Node::start(&pubdir, "127.0.0.1:0", &[]);
    let origin_addr = origin.addr.clone();
    let dir = |n: &str| -> PathBuf { t.join(n) };
    let a = Node::start(&dir("a"), "127.0.0.1:0", &["--mirror-of", &origin.url()]);
    let mut b = Node::start(&dir("b"), "127.0.0.1:0", &["--mirror-of", &origin.url()]);
    // C mirrors A's /pub/.
    let c = Node::start(
        &dir("c"),
        "127.0.0.1:0",
        &["--mirror-of", &format!("{}/pub/", a.url())],
    );

    // A watcher records every pointer any mirror serves.
    let seen = Arc::new(Mutex::new(Vec::<Vec<u8>>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (seen, stop) = (seen.clone(), stop.clone());
        let addrs = vec![a.addr.clone(), b.addr.clone(), c.addr.clone()];
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for addr in &addrs {
                    if let Some((200, body)) = get(addr, "/pub/freshness.json") {
                        seen.lock().unwrap().push(body);
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    let p1 = std::fs::read(pubdir.join("freshness.json")).unwrap();
    for n in [&a, &b, &c] {
        wait_for("release 1 on every mirror", 60, || {
            pointer(n).as_deref() == Some(&p1[..])
        });
    }

    // B goes down; release 2 is published; A and C follow, B catches up when back.
    b.kill();
    let p2 = publish(&vault, &pubdir);
    published.lock().unwrap().insert(p2.clone());
    for n in [&a, &c] {
        wait_for("release 2 on A and C", 60, || {
            pointer(n).as_deref() == Some(&p2[..])
        });
    }
    let b_url = origin.url();
    b = Node::start(&dir("b"), "127.0.0.1:0", &["--mirror-of", &b_url]);
    wait_for("release 2 on B", 60, || {
        pointer(&b).as_deref() == Some(&p2[..])
    });

    // A fresh mirror D syncs one blob at a time; the origin is SIGKILLed mid-sync.
    let d = dir("d");
    let mut sync = trove()
        .args([
            "mirror",
            "-q",
            "--no-bulk",
            "--workers",
            "1",
            "--no-fsync",
            "--timeout",
            "2",
        ])
        .arg(origin.url())
        .arg(&d)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("D to stage some blobs", 60, || {
        std::fs::read_dir(d.join(".staging")).is_ok_and(|e| e.count() >= 20)
    });
    origin.kill();
    let status = sync.wait().unwrap();
    let mut err = String::new();
    sync.stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(1), "D should fail mid-sync: {err}");
    assert!(err.contains(&origin_addr), "error names the origin: {err}");
    assert!(
        !d.join("freshness.json").exists() && !d.join("descriptor.json").exists(),
        "an interrupted first sync made something visible"
    );

    // The origin comes back on the same port with release 3.
    let p3 = publish(&vault, &pubdir);
    published.lock().unwrap().insert(p3.clone());
    let mut tries = 0;
    origin = loop {
        // The port can take a moment to be free again.
        let probe = std::net::TcpListener::bind(&origin_addr);
        if probe.is_ok() || tries > 50 {
            drop(probe);
            break Node::start(&pubdir, &origin_addr, &[]);
        }
        tries += 1;
        std::thread::sleep(Duration::from_millis(100));
    };
    for n in [&a, &b, &c] {
        wait_for("release 3 on every mirror", 90, || {
            pointer(n).as_deref() == Some(&p3[..])
        });
    }
    // D resumes (falling over to A when the origin is busy) and keeps what it staged.
    let out = trove()
        .args(["mirror", "--json", "--no-fsync"])
        .arg(origin.url())
        .arg(&d)
        .args(["--from", &a.url()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(v["release"], 3);
    assert!(v["reused"].as_u64().unwrap() >= 20, "resumed: {v}");

    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    // Every pointer any mirror ever served is one the origin published.
    let published = published.lock().unwrap();
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty());
    for s in seen.iter() {
        assert!(
            published.contains(s),
            "a mirror served a pointer the origin never published"
        );
    }
    // Same state everywhere, each directory verifies completely, pages serve.
    // (Pages follow the pointer at the web server's next reload, within seconds.)
    let page = |n: &Node| get(&n.addr, "/emailid/900").is_some_and(|r| r.0 == 200);
    wait_for("the origin's page of the last message", 30, || {
        page(&origin)
    });
    for (n, name) in [(&a, "a"), (&b, "b"), (&c, "c")] {
        assert_eq!(pointer(n).unwrap(), p3);
        wait_for("the mirror's page of the last message", 30, || page(n));
        assert!(verify(&dir(name)).contains("900"));
    }
    assert!(verify(&d).contains("900"));
    for name in ["a", "b", "c", "d"] {
        assert_eq!(
            std::fs::read(dir(name).join("freshness.json")).unwrap(),
            p3,
            "{name}"
        );
    }
}

#[test]
fn mirror_rejects_bad_urls_and_keys_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = trove()
        .args(["mirror", "ftp://example.org/"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an http:// or https:// URL"));
    let out = trove()
        .args(["mirror", "http://127.0.0.1:9/", "--key", "zz"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--key"));
    // Nothing listens on port 9: exit 1 (ran, origin unreachable), nothing written.
    let out = trove()
        .args(["mirror", "-q", "--timeout", "2", "http://127.0.0.1:9/"])
        .arg(tmp.path().join("m"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("127.0.0.1:9"));
    assert!(!tmp.path().join("m/descriptor.json").exists());
}

#[test]
fn publication_verify_over_http_names_a_tampered_blob() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let vault = t.join("vault");
    let mbox = t.join("dump.mbox");
    write_mbox(&mbox, 0..60);
    run_ok(&vault, &["init", vault.to_str().unwrap()], 0);
    run_ok(&vault, &["ingest", "-q", mbox.to_str().unwrap()], 0);
    run_ok(&vault, &["release", "plan", "--parts", "1"], 0);
    let pubdir = t.join("pub");
    publish(&vault, &pubdir);
    let node = Node::start(&pubdir, "127.0.0.1:0", &[]);
    let out = trove()
        .args(["publication", "verify", &format!("{}/pub/", node.url())])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    // Damage one attachment blob (no bulk file carries it) and verify again.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pubdir.join("releases/000001.json")).unwrap())
            .unwrap();
    let hash = manifest["signed"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|m| m["attachments"].as_array()?.first()?["blob"].as_str())
        .expect("the fixture has attachments")
        .to_string();
    let victim = pubdir.join("blobs").join(&hash[..2]).join(&hash[2..]);
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&victim, bytes).unwrap();
    let out = trove()
        .args(["publication", "verify", &node.url()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&hash[2..]) && text.contains("BLAKE3"),
        "{text}"
    );
}

#[test]
fn mirror_pulls_from_a_plain_static_file_server() {
    // Any static host of the publication folder will do; python's is everywhere.
    if Command::new("python3").arg("--version").output().is_err() {
        println!("skipped: python3 not found");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let vault = t.join("vault");
    let mbox = t.join("dump.mbox");
    write_mbox(&mbox, 0..100);
    run_ok(&vault, &["init", vault.to_str().unwrap()], 0);
    run_ok(&vault, &["ingest", "-q", mbox.to_str().unwrap()], 0);
    run_ok(&vault, &["release", "plan", "--parts", "2"], 0);
    // The static host serves the site root; the publication is its pub/ folder.
    let site = t.join("site");
    let pubdir = site.join("pub");
    publish(&vault, &pubdir);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .arg("--directory")
        .arg(&site)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    wait_for("python http.server", 30, || {
        TcpStream::connect(&addr).is_ok()
    });
    let m = t.join("m");
    // The site root is given: the mirror finds the publication under /pub/.
    let out = trove()
        .args(["mirror", "-q", "--no-fsync", &format!("http://{addr}/")])
        .arg(&m)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("release 0 -> 1 (50 messages)"), "{text}");
    // A second release appears on the static host; the next sync takes only it.
    publish(&vault, &pubdir);
    let out = trove()
        .args([
            "mirror",
            "--json",
            "--no-fsync",
            &format!("http://{addr}/pub"),
        ])
        .arg(&m)
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["outcome"].as_str(), v["release"].as_u64()),
        (Some("updated"), Some(2))
    );
    assert!(verify(&m).contains("100 messages"));
    assert_eq!(
        std::fs::read(m.join("freshness.json")).unwrap(),
        std::fs::read(pubdir.join("freshness.json")).unwrap()
    );
}
