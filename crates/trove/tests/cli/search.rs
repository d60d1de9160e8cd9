use std::collections::BTreeSet;

use crate::util::*;

fn ids(json: &serde_json::Value) -> BTreeSet<u64> {
    json["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_u64().unwrap())
        .collect()
}

fn search(vault: &std::path::Path, args: &[&str], code: i32) -> serde_json::Value {
    let mut a = vec!["search", "--json", "--limit", "1000"];
    a.extend_from_slice(args);
    serde_json::from_str(&run_ok(vault, &a, code)).unwrap()
}

/// Vault ids (1-based, input order) of the generated messages `range` matching `f`.
fn expected(range: std::ops::Range<usize>, f: impl Fn(usize) -> bool) -> BTreeSet<u64> {
    range.filter(|&n| f(n)).map(|n| n as u64 + 1).collect()
}

#[test]
fn search_json_paging_sort_errors_and_incremental_index() {
    let t = tempfile::tempdir().unwrap();
    let vault = t.path().join("v");
    assert!(trove().arg("init").arg(&vault).status().unwrap().success());
    let a = t.path().join("a.mbox");
    write_mbox(&a, 0..30);
    run_ok(&vault, &["ingest", "--quiet", a.to_str().unwrap()], 0);
    assert!(
        vault.join("index/meta.json").exists(),
        "ingest builds the index"
    );

    // Fielded search: exactly the generated senders.
    let j = search(&vault, &["from:p3@example.org"], 0);
    let want = expected(0..30, |n| n % 17 == 3);
    assert_eq!(ids(&j), want);
    assert_eq!(j["total"], want.len());
    let hit = &j["hits"][0];
    for k in ["id", "score", "date", "from", "subject", "snippet"] {
        assert!(hit.get(k).is_some(), "hit lacks {k}: {hit}");
    }
    assert_eq!(hit.as_object().unwrap().len(), 6, "{hit}");
    assert!(hit["from"].as_str().unwrap().contains("p3@example.org"));
    for k in ["senders", "recipients", "months"] {
        assert!(
            j["facets"][k].is_array(),
            "facets lack {k}: {}",
            j["facets"]
        );
    }
    assert_eq!(j["facets"]["senders"][0]["value"], "p3@example.org");
    // --no-facets: the same total and hits, no facets.
    let nf = search(&vault, &["--no-facets", "from:p3@example.org"], 0);
    assert!(nf.get("facets").is_none(), "{nf}");
    assert_eq!((&nf["total"], &nf["hits"]), (&j["total"], &j["hits"]));
    // Searching a directory that is not a vault (searches open only the index) says so.
    let o = run(t.path(), &["search", "x"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not a trove vault"), "{err}");

    // Dates are UTC: a -0400 message late on the 8th is on the 9th.
    let j = search(&vault, &["date:2016-10-09"], 0);
    assert_eq!(ids(&j), expected(0..30, |n| n % 24 + 4 >= 24));
    // Words in the body, phrase, boolean.
    let j = search(&vault, &[r#""message 12""#], 0);
    assert_eq!(ids(&j), BTreeSet::from([13]));
    let j = search(&vault, &["lorem -from:p1@example.org"], 0);
    assert_eq!(
        ids(&j),
        expected(0..30, |n| n % 7 != 0 && n % 40 > 0 && n % 17 != 1)
    );
    let j = search(&vault, &["has:attachment"], 0);
    assert_eq!(ids(&j), expected(0..30, |n| n % 7 == 0));

    // Sort by date (newest first) and paging.
    let all = search(&vault, &["list", "--sort", "date"], 0);
    let dates: Vec<i64> = all["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["date"].as_i64().unwrap())
        .collect();
    assert_eq!(dates.len(), 30);
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "{dates:?}");
    let page: serde_json::Value = serde_json::from_str(&run_ok(
        &vault,
        &[
            "search", "--json", "list", "--sort", "date", "--limit", "3", "--offset", "2",
        ],
        0,
    ))
    .unwrap();
    assert_eq!(page["total"], 30);
    assert_eq!(
        page["hits"].as_array().unwrap(),
        &all["hits"].as_array().unwrap()[2..5]
    );

    // Text output and no hits (exit 1).
    let out = run_ok(&vault, &["search", "from:p3@example.org"], 0);
    assert!(
        out.contains("p3@example.org") && out.contains("2 matches"),
        "{out}"
    );
    let j = search(&vault, &["nosuchwordanywhere"], 1);
    assert_eq!(j["total"], 0);

    // Bad queries: exit 2, the problem named.
    for (q, want) in [
        ("subject:(dinner", "unbalanced parenthesis"),
        ("\"open quote", "quote"),
        ("colour:red", "colour"),
        ("date:2016-02-31", "2016-02-31"),
    ] {
        let o = run(&vault, &["search", q]);
        assert_eq!(o.status.code(), Some(2), "{q}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{q}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let o = run(&vault, &["search", "x", "--sort", "size"]);
    assert_eq!(o.status.code(), Some(2));

    // A second ingest updates the index incrementally.
    let b = t.path().join("b.mbox");
    write_mbox(&b, 30..40);
    let out = run_ok(&vault, &["ingest", b.to_str().unwrap()], 0);
    assert!(
        out.contains("Search index updated: 10 messages indexed"),
        "{out}"
    );
    let j = search(&vault, &["from:p3@example.org"], 0);
    assert_eq!(ids(&j), expected(0..40, |n| n % 17 == 3));

    // Reindex rebuilds everything.
    let r: serde_json::Value =
        serde_json::from_str(&run_ok(&vault, &["reindex", "--json"], 0)).unwrap();
    assert_eq!(r["indexed"], 40);
    assert_eq!(r["created"], true);
    assert_eq!(
        ids(&search(&vault, &["from:p3@example.org"], 0)),
        expected(0..40, |n| n % 17 == 3)
    );

    // An index left by an older trove (another schema: here a renamed field) is rebuilt by
    // `trove search` itself instead of failing.
    let meta = vault.join("index/meta.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    let fields = m["schema"].as_array_mut().expect("meta.json has a schema");
    let all = fields.iter_mut().find(|f| f["name"] == "all").unwrap();
    all["name"] = "all_before".into();
    std::fs::write(&meta, m.to_string()).unwrap();
    assert_eq!(
        ids(&search(&vault, &["from:p3@example.org"], 0)),
        expected(0..40, |n| n % 17 == 3)
    );
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    assert!(
        m["schema"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "all"),
        "the index was not rebuilt with the current schema"
    );

    // release add --query uses the same language.
    let out = run_ok(
        &vault,
        &[
            "release",
            "add",
            "--title",
            "P3",
            "--query",
            "from:p3@example.org OR from:p4@example.org",
        ],
        0,
    );
    let n = expected(0..40, |n| n % 17 == 3 || n % 17 == 4).len();
    assert!(out.contains(&format!("{n} messages")), "{out}");
    let o = run(
        &vault,
        &["release", "add", "--title", "bad", "--query", "from:(x"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unbalanced"));
}

#[test]
fn search_help_documents_the_language() {
    let o = trove().args(["search", "--help"]).output().unwrap();
    let help = String::from_utf8(o.stdout).unwrap();
    for s in [
        "date:2016-10-07..2016-10-20",
        "has:attachment",
        "dkim:pass",
        "Example: trove search",
        "--sort",
    ] {
        assert!(help.contains(s), "search --help lacks {s}");
    }
    let o = trove().args(["release", "add", "--help"]).output().unwrap();
    let help = String::from_utf8(o.stdout).unwrap();
    assert!(help.contains("trove search --help"), "{help}");
}
