use crate::util::*;

#[test]
fn json_shapes_and_raw_bytes() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("v");
    let init = trove().arg("init").arg(&vault).output().unwrap();
    assert!(init.status.success());
    // Secret key is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(vault.join("keys/publisher.secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let mbox = t.path().join("a.mbox");
    write_mbox(&mbox, 0..30);
    let out = run_ok(&vault, &["ingest", "--json", mbox.to_str().unwrap()], 0);
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    for k in ["seen", "stored", "duplicates", "unparseable"] {
        assert!(j[k].is_u64(), "ingest --json lacks {k}: {out}");
    }
    assert_eq!(j["stored"], 30);

    // --vault after the subcommand works too.
    let out = run_ok(
        t.path(),
        &["stats", "--json", "--vault", vault.to_str().unwrap()],
        0,
    );
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    for k in [
        "messages",
        "duplicates",
        "unparseable",
        "attachments",
        "threads",
    ] {
        assert!(s[k].is_i64(), "stats --json lacks {k}: {out}");
    }
    assert_eq!(s["messages"], 30);
    assert_eq!(s["threads"], 6);
    assert_eq!(s["attachments"], 5);

    let out = run_ok(&vault, &["list", "--json", "--from", "P3@example.org"], 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    for l in &lines {
        for k in ["id", "message_id", "date", "from", "subject"] {
            assert!(!l[k].is_null(), "list --json lacks {k}");
        }
        assert_eq!(l["from"], "p3@example.org");
    }
    let out = run_ok(
        &vault,
        &[
            "list",
            "--json",
            "--since",
            "2016-10-08",
            "--until",
            "2016-10-09",
        ],
        0,
    );
    assert_eq!(out.lines().count(), 30);
    let out = run_ok(&vault, &["list", "--json", "--since", "2016-10-10"], 0);
    assert_eq!(out.lines().count(), 0);

    let raw = trove()
        .arg("--vault")
        .arg(&vault)
        .args(["show", "8", "--raw"])
        .output()
        .unwrap();
    assert_eq!(raw.stdout, message(7).as_bytes());
    let shown = run_ok(&vault, &["show", "8"], 0);
    assert!(
        shown.contains("f7.bin") && shown.contains("topic 1"),
        "{shown}"
    );

    // Errors name the input and exit 2.
    let o = run(&vault, &["show", "999"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("999"));
    let o = run(&vault, &["ingest", "/nonexistent/dump.mbox"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/dump.mbox"));
    let o = run(t.path(), &["stats"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a trove vault"));
}

#[test]
fn stdin_ingest_is_idempotent() {
    use std::io::Write;
    use std::process::Stdio;
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("v");
    assert!(trove().arg("init").arg(&vault).status().unwrap().success());
    let mbox = t.path().join("a.mbox");
    write_mbox(&mbox, 0..10);
    let bytes = std::fs::read(&mbox).unwrap();
    for expected in [10, 0] {
        let mut child = trove()
            .arg("--vault")
            .arg(&vault)
            .args(["ingest", "--json", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(j["stored"], expected);
    }
}
