use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::*;

/// Everything that must be equal between two vaults, as text (run numbers and times excluded).
fn snapshot(vault: &Path) -> String {
    let v = trove_vault::Vault::open(vault).unwrap();
    assert!(
        v.check().unwrap().is_empty(),
        "a row points at a missing or wrong blob"
    );
    let c = v.connection();
    let mut out = String::new();
    for sql in [
        "SELECT id, hash, size, parsed, message_id, date, from_addr, subject, thread_id, attachment_count FROM messages ORDER BY id",
        "SELECT s.path, s.kind, o.locator, o.message, o.envelope, o.folder, o.flags FROM occurrences o JOIN sources s ON s.id = o.source ORDER BY s.path, o.locator",
        "SELECT message, position, part, hash, size, filename FROM attachments ORDER BY message, position",
        "SELECT message, position, ref FROM refs ORDER BY message, position",
        "SELECT message, role, position, addr FROM addresses ORDER BY message, role, position",
        "SELECT message, code, detail FROM problems ORDER BY message, code",
        "SELECT id, subject, message_count FROM threads ORDER BY id",
        "SELECT COUNT(*) FROM sources",
    ] {
        let mut st = c.prepare(sql).unwrap();
        let n = st.column_count();
        let mut rows = st.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            for i in 0..n {
                let v: rusqlite_value::Value = r.get(i).unwrap();
                out.push_str(&format!("{v:?}|"));
            }
            out.push('\n');
        }
    }
    out.push_str(&v.blobs().list().unwrap().join("\n"));
    out
}

// rusqlite is reached through trove-vault's public connection; name its Value type here.
mod rusqlite_value {
    pub use trove_vault::store::db::Value;
}

fn make_corpus(dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let mut paths = Vec::new();
    for k in 0..12 {
        let p = dir.join(format!("part{k:02}.mbox"));
        write_mbox(&p, k * 500..(k + 1) * 500);
        paths.push(p.to_string_lossy().into_owned());
    }
    // An exact duplicate of one part, and a maildir.
    let dup = dir.join("copy-of-part03.mbox");
    std::fs::copy(dir.join("part03.mbox"), &dup).unwrap();
    paths.push(dup.to_string_lossy().into_owned());
    let md = dir.join("Maildir");
    std::fs::create_dir_all(md.join("cur")).unwrap();
    for n in 6000..6400 {
        std::fs::write(md.join(format!("cur/{n}.host:2,S")), message(n)).unwrap();
    }
    paths.push(md.to_string_lossy().into_owned());
    paths
}

fn ingest_args(paths: &[String]) -> Vec<&str> {
    let mut a = vec!["ingest", "--quiet"];
    a.extend(paths.iter().map(String::as_str));
    a
}

#[test]
fn killed_ingest_rerun_equals_uninterrupted_run() {
    let t = tempfile::tempdir().unwrap();
    let paths = make_corpus(&t.path().join("dump"));
    let reference = t.path().join("ref");
    assert!(trove()
        .arg("init")
        .arg(&reference)
        .status()
        .unwrap()
        .success());
    let start = Instant::now();
    run_ok(&reference, &ingest_args(&paths), 0);
    let mut full = start.elapsed();
    // The kill points are fractions of an uninterrupted run's time; a first run slowed by a
    // cold cache or a busy machine would put them past the end of later runs, so time a
    // second run too and take the faster.
    let second = t.path().join("ref2");
    assert!(trove().arg("init").arg(&second).status().unwrap().success());
    let start = Instant::now();
    run_ok(&second, &ingest_args(&paths), 0);
    full = full.min(start.elapsed());
    let want = snapshot(&reference);
    assert!(want.len() > 1000);

    let mut interrupted = 0;
    for (i, frac) in [0.05, 0.2, 0.4, 0.6, 0.8, 0.95].iter().enumerate() {
        let vault = t.path().join(format!("v{i}"));
        assert!(trove().arg("init").arg(&vault).status().unwrap().success());
        // Kill it twice at the same point, then let it finish.
        for _ in 0..2 {
            let mut child = trove()
                .arg("--vault")
                .arg(&vault)
                .args(ingest_args(&paths))
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_secs_f64(full.as_secs_f64() * frac));
            let finished = child.try_wait().unwrap().is_some();
            child.kill().ok(); // SIGKILL
            child.wait().unwrap();
            if !finished {
                interrupted += 1;
            }
        }
        run_ok(&vault, &ingest_args(&paths), 0);
        let got = snapshot(&vault);
        assert!(
            got == want,
            "vault after kill at {frac} of the run differs from the uninterrupted one"
        );
        let s: serde_json::Value =
            serde_json::from_str(&run_ok(&vault, &["stats", "--json"], 0)).unwrap();
        assert_eq!(s["messages"], 6400);
        assert_eq!(s["duplicates"], 500);
    }
    assert!(
        interrupted >= 6,
        "only {interrupted} runs were really interrupted"
    );
    // Re-ingesting the finished vault adds nothing.
    let out = run_ok(
        &reference,
        &{
            let mut a = vec!["ingest", "--json"];
            a.extend(paths.iter().map(String::as_str));
            a
        },
        0,
    );
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (j["stored"].as_u64(), j["duplicates"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(snapshot(&reference), want);
}
