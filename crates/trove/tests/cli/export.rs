//! `trove export static`: vault → publication → static site whose `pub/`
//! copy verifies with `trove publication verify`; re-runs are incremental;
//! bad inputs exit 2 with a clear error.

use std::path::Path;

use crate::util::*;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn export_static_end_to_end() {
    let tmp = tempfile::tempdir().expect("tmp");
    let vault = tmp.path().join("vault");
    let mbox = tmp.path().join("dump.mbox");
    write_mbox(&mbox, 0..60);
    run_ok(&vault, &["init", s(&vault)], 0);
    run_ok(&vault, &["ingest", "-q", s(&mbox)], 0);
    run_ok(
        &vault,
        &["release", "plan", "--parts", "2", "--by", "count"],
        0,
    );
    let pubdir = tmp.path().join("pub");
    for _ in 0..2 {
        run_ok(&vault, &["release", "publish", "--to", s(&pubdir)], 0);
    }
    let site = tmp.path().join("site");
    let args = ["export", "static", s(&pubdir), s(&site), "-q"];
    let out = run_ok(&vault, &args, 0);
    assert!(out.contains("Exported 60 messages in 2 releases"), "{out}");
    assert!(
        out.contains("publication copy:") && out.contains("search index:"),
        "{out}"
    );
    assert!(site.join("index.html").is_file());
    assert!(site.join("emailid/60/index.html").is_file());
    assert!(site.join("search/meta.json").is_file());
    let v = run_ok(&vault, &["publication", "verify", s(&site.join("pub"))], 0);
    assert!(v.contains("60 messages") && v.contains("OK"), "{v}");
    // Again: nothing new, so every message page is reused.
    let out = run_ok(&vault, &args, 0);
    assert!(out.contains("(incremental)"), "{out}");
    assert!(out.contains("reused"), "{out}");
    mirror_from_static_host(&site, tmp.path());
}

/// `trove mirror` pulls the export from a plain static host (python's http.server).
fn mirror_from_static_host(site: &Path, tmp: &Path) {
    use std::process::{Command, Stdio};
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let Ok(mut server) = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .arg("--directory")
        .arg(site)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        println!("skipped: python3 not found (mirror from a static host)");
        return;
    };
    let addr = format!("127.0.0.1:{port}");
    let t0 = std::time::Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(t0.elapsed().as_secs() < 30, "http.server did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let m = tmp.join("mirror");
    let out = trove()
        .args(["mirror", "-q", "--no-fsync", &format!("http://{addr}/")])
        .arg(&m)
        .output()
        .expect("runs");
    let _ = server.kill();
    let _ = server.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("60 messages"), "{text}");
}

#[test]
fn export_static_errors_and_help() {
    let tmp = tempfile::tempdir().expect("tmp");
    let o = trove()
        .args(["export", "static"])
        .arg(tmp.path())
        .arg(tmp.path().join("site"))
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot open publication"), "{err}");
    let h = trove()
        .args(["export", "static", "--help"])
        .output()
        .expect("runs");
    let h = String::from_utf8_lossy(&h.stdout);
    assert!(h.contains("Example: trove export static"), "{h}");
}
