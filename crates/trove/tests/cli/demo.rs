use crate::util::*;

#[test]
fn demo_builds_a_marked_synthetic_vault() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("demo");
    let o = trove().args(["demo", "--dir"]).arg(&dir).output().unwrap();
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
