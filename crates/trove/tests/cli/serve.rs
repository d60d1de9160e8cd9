//! `trove serve`: refuses what is not a publication, with a clear error.

use crate::util::trove;

#[test]
fn serve_refuses_a_directory_that_is_not_a_publication() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = trove()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg(tmp.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open publication"), "{err}");
}

#[test]
fn serve_is_listed_in_help() {
    let out = trove().arg("--help").output().expect("runs");
    assert!(String::from_utf8_lossy(&out.stdout).contains("serve"));
}
