//! The verdict trove must give for each row of ../shared/data/dkim/EXPECTED.tsv, shared by
//! trove-dkim's `expected_samples` test and the CLI test `crates/trove/tests/cli/dkim.rs`
//! (included there with `#[path]`), so the decisions live in one place. Where the upstream
//! suite (Mail::DKIM) and dkimpy disagree, trove follows RFC 6376; each such choice is listed
//! in `trove_expectation` with its reason. Results are the words `trove verify` prints.
#![allow(dead_code)]

use std::path::Path;

/// One row of EXPECTED.tsv.
pub struct Row {
    /// Column `path`.
    pub path: String,
    /// Column `sig_index`.
    pub sig_index: Option<usize>,
    /// Column `d`.
    pub d: String,
    /// Column `s`.
    pub s: String,
    /// Column `key_source`.
    pub key_source: String,
    /// Column `upstream`.
    pub upstream: String,
    /// Column `dkimpy`.
    pub dkimpy: String,
    /// Column `verify_time`.
    pub verify_time: Option<u64>,
}

/// Every row of `data/dkim/EXPECTED.tsv`.
pub fn rows(data: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(data.join("dkim/EXPECTED.tsv")).expect("EXPECTED.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Row {
                path: f[0].to_string(),
                sig_index: f[1].parse().ok(),
                d: f[2].to_string(),
                s: f[3].to_string(),
                key_source: f[4].to_string(),
                upstream: f[5].to_string(),
                dkimpy: f[6].to_string(),
                verify_time: f.get(7).and_then(|t| t.parse().ok()),
            }
        })
        .collect()
}

/// The (result, reason) trove must give for a row. `None` reason = any reason.
pub fn trove_expectation(row: &Row) -> (&'static str, Option<&'static str>) {
    let file = row.path.rsplit('/').next().unwrap_or_default();
    // Explicit decisions where a plain reading of the dkimpy column would be wrong for an
    // archive (each is RFC 6376's answer, which Mail::DKIM's expectation agrees with, or trove's
    // own class for pre-RFC signatures).
    let decided: Option<(&'static str, Option<&'static str>)> = match (file, row.sig_index) {
        // DomainKeys (RFC 4870) messages: dkimpy sees "no DKIM-Signature"; trove reports the
        // DomainKey-Signature as legacy (Mail::DKIM checks them: pass/invalid, per the class).
        (f, None) if f.contains("dk_") => Some(("legacy", Some("domainkeys"))),
        // q= is a colon-separated list (RFC 6376 §3.5 / §3.6.2.1): "foo/bar:dns/txt:exam/ple"
        // contains dns/txt, so the signature is checkable; dkimpy rejects the whole value.
        // Mail::DKIM: pass. trove: pass.
        ("good_83176.txt", Some(0)) => Some(("pass", None)),
        // i= is dkim-quoted-printable (RFC 6376 §3.5): "jlong@messiah=2Eedu" decodes to
        // "jlong@messiah.edu", inside d=. dkimpy compares undecoded; Mail::DKIM: pass.
        ("good_qp_2.txt" | "good_qp_3.txt", Some(0)) => Some(("pass", None)),
        // Key t=s (RFC 6376 §3.6.1): i= must be exactly d=, here i=@subdomain.messiah.edu.
        // dkimpy ignores t=s and passes; Mail::DKIM: invalid. trove: fail, and says why.
        ("badkey_10.txt", Some(0)) => Some(("fail", Some("key_requires_exact_domain"))),
        // badkey_11: an rsa-sha256 signature, but key test2 says h=md5:sha1. RFC 6376 §6.1.2
        // step 6: the key does not allow this hash, PERMFAIL. Not "fail" (nothing was forged):
        // unsupported, with the reason. Mail::DKIM: invalid; dkimpy choked on the key's tags.
        ("badkey_11.txt", Some(0)) => Some(("unsupported", Some("key_disallows_hash"))),
        // The key test2 lists h=md5:sha1 and s=email:web:fine: a sha1 signature may use it.
        // goodkey_2: Mail::DKIM pass; dkimpy raised UnknownKeyTypeError on the key's odd tags.
        ("goodkey_2.txt", Some(0)) => Some(("pass", None)),
        // test3 key has the obsolete g= tag (RFC 4871) which RFC 6376 removed: ignored.
        // badkey_12/13: i= does not match g=jl*g under RFC 4871; under RFC 6376 they pass (dkimpy agrees).
        ("badkey_12.txt" | "badkey_13.txt", Some(0)) => Some(("pass", None)),
        // test4 key g= (empty): RFC 4871 said "no user may sign"; RFC 6376 dropped g=. dkimpy: pass.
        ("badkey_9.txt", Some(0)) => Some(("pass", None)),
        // testbad8 g=*poe: likewise ignored under RFC 6376; dkimpy: pass.
        ("badkey_8.txt", Some(0)) => Some(("pass", None)),
        // Key names answered NXDOMAIN / timeout / SERVFAIL in the table: no key, never fail.
        ("badkey_1.txt", Some(0)) => Some(("legacy", None)),
        ("badkey_14.txt", Some(0)) => Some(("no_key", Some("dns_timeout"))),
        ("badkey_15.txt", Some(0)) => Some(("no_key", Some("dns_servfail"))),
        ("badkey4_ed25519.txt", Some(0)) => Some(("no_key", Some("key_not_found"))),
        // badkey1: p= holds an SPKI-wrapped Ed25519 key (44 bytes); RFC 8463 wants the raw 32.
        ("badkey1_ed25519.txt", Some(0)) => Some(("key_malformed", None)),
        // badkey5: the TXT record is empty (no p=).
        ("badkey5_ed25519.txt", Some(0)) => Some(("key_malformed", None)),
        // ignore_*: Mail::DKIM "invalid" = the signature cannot be used; dkimpy "fail".
        // ignore_1: v=5 is neither RFC 6376 nor a draft: unsupported version.
        ("ignore_1.txt", Some(0)) => Some(("unsupported", Some("unsupported_version"))),
        // ignore_2/3/4: v=0.5 drafts (with a=rsa-md5, a=dsa-sha1, q=dns): the version decides
        // first, so they are legacy like every other draft signature.
        ("ignore_2.txt" | "ignore_3.txt" | "ignore_4.txt", Some(0)) => {
            Some(("legacy", Some("draft_version")))
        }
        // ignore_5/6: v=1 with an unknown query method (q=http, q=dns/special).
        ("ignore_5.txt" | "ignore_6.txt", Some(0)) => {
            Some(("unsupported", Some("unsupported_query_method")))
        }
        // ignore_7: x=1193229946 (Oct 2007) and no t=. Both verifiers reject it for being
        // expired *now*; trove separates expiry from cryptography: the signature verifies, and
        // with no t= the default (judge at the signature's own time) cannot call it expired.
        // `ignore_7_is_expired_at_a_given_time` below checks expiry with an explicit `now`.
        ("ignore_7.txt", Some(0)) => Some(("pass", None)),
        // ignore_8: i=jon@example.org outside d=messiah.edu.
        ("ignore_8.txt", Some(0)) => Some(("malformed", Some("identity_not_in_domain"))),
        // multiple_2: c=foobar (unsupported), a corrupted b= (fail), "synerr" (malformed).
        ("multiple_2.txt", Some(0)) => Some(("unsupported", Some("unsupported_canonicalization"))),
        ("multiple_2.txt", Some(2)) => Some(("fail", Some("signature_mismatch"))),
        ("multiple_2.txt", Some(3)) => Some(("malformed", Some("tag_syntax"))),
        // test.message.baddomain: d=legitimate.com(.attacker.com is not a domain name.
        ("test.message.baddomain", Some(0)) => Some(("malformed", Some("invalid_domain"))),
        _ => None,
    };
    if let Some(d) = decided {
        return d;
    }
    let dkimpy = row.dkimpy.as_str();
    // Pre-RFC 6376 drafts (Mail::DKIM corpus): dkimpy fails them for the version alone; they
    // are their own class in trove.
    if dkimpy.contains("missing b'v'=") || dkimpy.contains("v= value is not 1") {
        return ("legacy", None);
    }
    if dkimpy == "pass" {
        return ("pass", None);
    }
    if dkimpy.contains("body hash mismatch") {
        return ("fail", Some("body_hash_mismatch"));
    }
    if dkimpy == "fail" {
        // dkimpy's bare "fail" is a signature that did not verify.
        return ("fail", None);
    }
    panic!(
        "no expectation decided for {} sig {:?}: {}",
        row.path, row.sig_index, row.dkimpy
    );
}
