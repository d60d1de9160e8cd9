use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::util::*;

const NOW: &str = "1700000000";

fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().into(), fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            fs::copy(e.path(), &t).unwrap();
        }
    }
}

/// A vault with 600 messages planned as 3 parts.
fn planned_vault(dir: &Path) -> PathBuf {
    let vault = dir.join("vault");
    let mbox = dir.join("dump.mbox");
    write_mbox(&mbox, 0..600);
    run_ok(&vault, &["init", vault.to_str().unwrap()], 0);
    run_ok(&vault, &["ingest", "-q", mbox.to_str().unwrap()], 0);
    let out = run_ok(
        &vault,
        &["release", "plan", "--parts", "3", "--by", "count"],
        0,
    );
    assert!(out.contains("Planned 3 parts"), "{out}");
    vault
}

fn publish_args(pubdir: &Path) -> Vec<String> {
    [
        "release",
        "publish",
        "--to",
        pubdir.to_str().unwrap(),
        "--now",
        NOW,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn publish_list_verify_and_tamper() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = planned_vault(tmp.path());
    let pubdir = tmp.path().join("pub");
    let args = publish_args(&pubdir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_ok(&vault, &args, 0);
    assert!(
        out.contains("Published part 1 as release 1 (200 messages, emailid 1–200)"),
        "{out}"
    );
    let out = run_ok(
        &vault,
        &[
            "release",
            "publish",
            "1",
            "--to",
            pubdir.to_str().unwrap(),
            "--now",
            NOW,
        ],
        0,
    );
    assert!(out.contains("Already published: part 1"), "{out}");
    let list = run_ok(&vault, &["release", "list", "--json"], 0);
    let parts: Vec<serde_json::Value> = list
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[0]["state"], "published");
    assert_eq!(parts[1]["state"], "planned");
    let verify = |d: &Path, code| {
        run_ok(
            &vault,
            &[
                "publication",
                "verify",
                d.to_str().unwrap(),
                "--now",
                "1700000100",
            ],
            code,
        )
    };
    assert!(verify(&pubdir, 0).contains("OK"));
    // Edit one blob: exit 1 and the file is named.
    let bad = tmp.path().join("bad");
    copy_dir(&pubdir, &bad);
    let (name, _) = tree(&bad)
        .into_iter()
        .find(|(p, _)| p.starts_with("blobs"))
        .unwrap();
    let f = bad.join(&name);
    let mut b = fs::read(&f).unwrap();
    b.push(b'x');
    fs::write(&f, b).unwrap();
    let out = verify(&bad, 1);
    let shown = name.to_string_lossy().replace('\\', "/");
    assert!(out.contains(&shown), "{shown} not named: {out}");
    // Release queries and ids from the CLI.
    let out = run_ok(
        &vault,
        &["release", "add", "--title", "none", "--ids", "1-5"],
        2,
    );
    assert!(out.is_empty());
}

#[test]
fn killed_publish_rerun_equals_uninterrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let base = planned_vault(tmp.path());
    // Uninterrupted run, timed.
    let a = tmp.path().join("a");
    copy_dir(&base, &a.join("vault"));
    let pub_a = a.join("pub");
    let start = Instant::now();
    for _ in 0..3 {
        let args = publish_args(&pub_a);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_ok(&a.join("vault"), &args, 0);
    }
    let full = start.elapsed() / 3;
    assert!(run_ok(
        &a.join("vault"),
        &[
            "publication",
            "verify",
            pub_a.to_str().unwrap(),
            "--now",
            NOW
        ],
        0
    )
    .contains("OK"));
    let expected = tree(&pub_a);
    for (i, frac) in [0.15, 0.35, 0.55, 0.75, 0.95].into_iter().enumerate() {
        let b = tmp.path().join(format!("b{i}"));
        copy_dir(&base, &b.join("vault"));
        let pub_b = b.join("pub");
        // Kill the publish of each part once, at `frac` of its measured duration.
        for part in ["1", "2", "3"] {
            let mut child = trove()
                .arg("--vault")
                .arg(b.join("vault"))
                .args(publish_args(&pub_b))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_secs_f64(full.as_secs_f64() * frac));
            child.kill().ok(); // SIGKILL
            child.wait().unwrap();
            // Re-run naming the part: a no-op when the killed run had finished it.
            let mut args = publish_args(&pub_b);
            args.insert(2, part.to_string());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_ok(&b.join("vault"), &args, 0);
        }
        let out = run_ok(
            &b.join("vault"),
            &[
                "publication",
                "verify",
                pub_b.to_str().unwrap(),
                "--now",
                NOW,
            ],
            0,
        );
        assert!(out.contains("OK"), "{out}");
        let got = tree(&pub_b);
        let names_a: Vec<_> = expected.keys().collect();
        let names_b: Vec<_> = got.keys().collect();
        assert_eq!(names_a, names_b, "kill at {frac}: file lists differ");
        assert!(
            expected == got,
            "kill at {frac}: publication differs from the uninterrupted one"
        );
        let list = run_ok(&b.join("vault"), &["release", "list", "--json"], 0);
        assert_eq!(list.matches("\"published\"").count(), 3, "{list}");
    }
}
