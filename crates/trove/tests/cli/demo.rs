use crate::util::*;

#[test]
fn demo_builds_a_marked_synthetic_vault() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("demo");
    let o = trove()
        .args(["demo", "--no-serve", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let vault = dir.join("vault");
    let s: serde_json::Value =
        serde_json::from_str(&run_ok(&vault, &["stats", "--json"], 0)).unwrap();
    assert!(s["messages"].as_i64().unwrap() >= 20);
    assert_eq!(s["duplicates"], 1);
    assert!(s["attachments"].as_i64().unwrap() >= 1);
    let n = s["messages"].as_i64().unwrap();
    for id in 1..=n {
        let raw = run_ok(&vault, &["show", &id.to_string(), "--raw"], 0);
        assert!(
            raw.contains("X-Trove-Demo: synthetic") && raw.contains("SYNTHETIC"),
            "message {id} not marked"
        );
    }
}

/// One `GET` over a plain TCP socket: (status, body).
fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let t = String::from_utf8_lossy(&buf).into_owned();
    let status = t
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = t
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn demo_serves_its_publication_over_http() {
    use std::io::BufRead;
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("demo");
    let mut child = trove()
        .args(["demo", "--listen", "127.0.0.1:0", "--dir"])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut url = None;
    for line in std::io::BufReader::new(out).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("Serving the demo publication at http://") {
            url = rest.split('/').next().map(str::to_string);
            break;
        }
    }
    let Some(addr) = url else {
        let _ = child.kill();
        panic!("demo never printed its URL");
    };
    let check = || {
        let (s, home) = http_get(&addr, "/");
        assert_eq!(s, 200);
        assert!(home.contains("trove demo (synthetic)"), "{home}");
        assert!(home.contains("2 releases"), "{home}");
        assert_eq!(http_get(&addr, "/emailid/1").0, 200);
        assert_eq!(http_get(&addr, "/emailid/1/raw").0, 200);
        assert_eq!(http_get(&addr, "/pub/descriptor.json").0, 200);
        assert_eq!(
            http_get(&addr, "/release/3").0,
            404,
            "part 3 is not published"
        );
        // Search answers (full text once the small index is built).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let (s, body) = http_get(&addr, "/api/search?q=synthetic");
            assert_eq!(s, 200, "{body}");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            if v["engine"] == "fulltext" {
                assert!(v["total"].as_u64().unwrap() > 0, "{v}");
                break;
            }
            assert!(std::time::Instant::now() < deadline, "index never ready");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let (s, page) = http_get(&addr, "/search?q=synthetic");
        assert_eq!(s, 200);
        assert!(page.contains("<mark>"), "{page}");
    };
    let r = std::panic::catch_unwind(check);
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = r {
        std::panic::resume_unwind(e);
    }
}
