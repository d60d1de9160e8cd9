//! usage: dkim-floor PKCS8_DER SIZES_FILE SIGNED_MESSAGES [REPEAT]
//!
//! With REPEAT, each floor is measured REPEAT times and the fastest pass is reported (as
//! trove's driver does with `--repeat`: the machine is shared).
//!
//! SIZES_FILE has one line per DKIM signature of the corpus: `<body bytes> <keyed>`, where
//! `<body bytes>` is the length of the body that signature covers (CRLF form, limited by `l=`)
//! and `<keyed>` is 1 when trove found its key (so checked it cryptographically: pass or
//! fail) and 0 otherwise (no key, malformed, ...). For each line the floor hashes that many
//! bytes with SHA-256 and verifies one RSA-2048 PKCS#1 v1.5 signature over a 600-byte header
//! block (what DKIM signs). Two floors are reported, both over the same SIGNED_MESSAGES:
//! `all` (every signature, what the "per signature" says) and `keyed` (only the
//! signatures trove can check; stricter, since signatures without a key cost trove no RSA).
//!
//! Each floor is measured with two RSA implementations: ring 0.17 (whose API parses the
//! public key again on every verify) and aws-lc-rs with a `ParsedPublicKey` built once (key
//! parsed once, Montgomery constants cached: the fastest RSA verify that builds here with
//! only a C compiler). trove verifies with the same aws-lc-rs call, so `aws_lc` is the honest
//! floor; `ring` is kept to compare with earlier runs. SHA-256 is ring's in both (trove
//! hashes bodies with ring).
use ring::{digest, rand, signature};
use std::time::Instant;

struct Floor {
    signatures: usize,
    seconds: f64,
    cpu: f64,
    rsa_us: f64,
    sha_us: f64,
    mean_body: usize,
}

/// One floor pass: SHA-256 of each body size, one RSA verify each. Not inlined, so that
/// `valgrind --tool=callgrind --toggle-collect='*floor_pass*'` counts exactly its
/// instructions (bench/dkim/instructions.sh).
#[inline(never)]
fn floor_pass(verify: &dyn Fn(), sizes: &[usize], body: &[u8], sink: &mut u8) {
    for &n in sizes {
        let d = digest::digest(&digest::SHA256, &body[..n]);
        *sink ^= d.as_ref()[0];
        verify();
    }
}

fn measure(verify: &dyn Fn(), sizes: &[usize], body: &[u8], sink: &mut u8) -> Floor {
    let cpu_start = cpu_seconds();
    let start = Instant::now();
    floor_pass(verify, sizes, body, sink);
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    // The two halves alone, for the report.
    let t = Instant::now();
    for _ in sizes {
        verify();
    }
    let rsa = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for &n in sizes {
        *sink ^= digest::digest(&digest::SHA256, &body[..n]).as_ref()[0];
    }
    let sha = t.elapsed().as_secs_f64();
    let count = sizes.len().max(1) as f64;
    Floor {
        signatures: sizes.len(),
        seconds,
        cpu,
        rsa_us: rsa * 1e6 / count,
        sha_us: sha * 1e6 / count,
        mean_body: sizes.iter().sum::<usize>() / sizes.len().max(1),
    }
}

fn json(name: &str, f: &Floor, messages: f64) -> String {
    format!(
        "\"{name}\":{{\"signatures\":{},\"seconds\":{:.3},\"cpu_seconds\":{:.2},\"messages_per_second\":{:.1},\"messages_per_cpu_second\":{:.1},\"us_per_signature\":{:.1},\"rsa_us\":{:.1},\"sha_us\":{:.1},\"mean_body\":{}}}",
        f.signatures,
        f.seconds,
        f.cpu,
        messages / f.seconds.max(1e-9),
        messages / f.cpu.max(0.01),
        f.seconds * 1e6 / f.signatures.max(1) as f64,
        f.rsa_us,
        f.sha_us,
        f.mean_body
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 && args.len() != 5 {
        eprintln!("usage: dkim-floor PKCS8_DER SIZES_FILE SIGNED_MESSAGES [REPEAT]");
        std::process::exit(2);
    }
    let der = std::fs::read(&args[1]).expect("pkcs8 der");
    let mut all = Vec::new();
    let mut keyed = Vec::new();
    for line in std::fs::read_to_string(&args[2]).expect("sizes").lines() {
        let mut fields = line.split_whitespace();
        let (Some(n), Some(k)) = (fields.next(), fields.next()) else {
            continue;
        };
        let n: usize = n.parse().expect("body size");
        all.push(n);
        if k == "1" {
            keyed.push(n);
        }
    }
    let messages: f64 = args[3].parse().expect("message count");
    let repeat: usize = args
        .get(4)
        .map_or(1, |r| r.parse().expect("repeat count"))
        .max(1);
    let pair = signature::RsaKeyPair::from_pkcs8(&der).expect("rsa key");
    let headers = vec![b'h'; 600];
    let mut sig = vec![0u8; pair.public().modulus_len()];
    pair.sign(
        &signature::RSA_PKCS1_SHA256,
        &rand::SystemRandom::new(),
        &headers,
        &mut sig,
    )
    .expect("sign");
    // The algorithms trove uses for RSA keys of 1024..8192 bits.
    let pkcs1 = pair.public().as_ref().to_vec();
    let ring_key = signature::UnparsedPublicKey::new(
        &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        pkcs1.clone(),
    );
    let ring_verify = || ring_key.verify(&headers, &sig).expect("ring verify");
    let aws_key = aws_lc_rs::signature::ParsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        &pkcs1,
    )
    .expect("aws-lc-rs key");
    let aws_verify = || {
        aws_key
            .verify_sig(&headers, &sig)
            .expect("aws-lc-rs verify")
    };
    let max = all.iter().copied().max().unwrap_or(0);
    let body: Vec<u8> = (0..max).map(|i| (i % 251) as u8).collect();
    let mut sink = 0u8;
    // DKIM_FLOOR_ONE_PASS=1: one aws-lc-rs pass over the keyed sizes and nothing else (for
    // instruction counts under callgrind).
    if std::env::var_os("DKIM_FLOOR_ONE_PASS").is_some() {
        floor_pass(&aws_verify, &keyed, &body, &mut sink);
        println!(
            "{{\"tool\":\"floor\",\"one_pass\":{},\"sink\":{sink}}}",
            keyed.len()
        );
        return;
    }
    let mut parts = Vec::new();
    for (name, verify) in [
        ("aws_lc", &aws_verify as &dyn Fn()),
        ("ring", &ring_verify as &dyn Fn()),
    ] {
        let fastest = |sizes: &[usize], sink: &mut u8| {
            (0..repeat)
                .map(|_| measure(verify, sizes, &body, sink))
                .min_by(|a, b| a.seconds.total_cmp(&b.seconds))
                .expect("at least one pass")
        };
        let keyed_floor = fastest(&keyed, &mut sink);
        let all_floor = fastest(&all, &mut sink);
        parts.push(format!(
            "\"{name}\":{{{},{}}}",
            json("keyed", &keyed_floor, messages),
            json("all", &all_floor, messages)
        ));
    }
    println!("{{\"tool\":\"floor\",{},\"sink\":{sink}}}", parts.join(","));
}

/// User + system CPU time of this process (Linux `/proc/self/stat`, 100 ticks per second).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
