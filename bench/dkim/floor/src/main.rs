//! usage: dkim-floor PKCS8_DER SIZES_FILE SIGNED_MESSAGES [REPEAT]
//!        dkim-floor --signed-data FILE SIGNED_MESSAGES [REPEAT]
//!
//! `--signed-data`: the floor on trove's own data. FILE (from `verify_corpus --signed-data`)
//! holds, for every signature trove checked with a key, the real public key, signature,
//! canonicalised header block and canonicalised body. Per signature the floor hashes that
//! body and verifies that signature over that header block with that key (aws-lc-rs, each key
//! parsed once): exactly trove's cryptography on exactly trove's bytes, and nothing else.
//! The synthetic floors below stand in a 600-byte header block, one key and one body buffer
//! (always in cache) for those.
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
use aws_lc_rs::signature::ParsedPublicKey;
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

/// One signature of a `--signed-data` file: trove's own bytes for it.
struct Signed<'a> {
    algorithm: u8,
    key: usize,
    signature: &'a [u8],
    header_block: &'a [u8],
    body: &'a [u8],
}

/// Reads the records `verify_corpus --signed-data` writes (see its module doc); keys are
/// parsed once each, as trove parses each key record once.
fn read_signed(bytes: &[u8]) -> (Vec<Signed<'_>>, Vec<[ParsedPublicKey; 2]>) {
    fn take<'a>(rest: &mut &'a [u8], n: usize) -> &'a [u8] {
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        head
    }
    let mut rest = bytes;
    let mut keys: Vec<[ParsedPublicKey; 2]> = Vec::new();
    let mut key_index: std::collections::HashMap<&[u8], usize> = Default::default();
    let mut records = Vec::new();
    while !rest.is_empty() {
        let algorithm = take(&mut rest, 1)[0];
        let mut parts = [&[][..]; 4];
        for part in &mut parts {
            let len = u32::from_le_bytes(take(&mut rest, 4).try_into().expect("length")) as usize;
            *part = take(&mut rest, len);
        }
        let [key, signature, header_block, body] = parts;
        let key = *key_index.entry(key).or_insert_with(|| {
            let parse = |alg| ParsedPublicKey::new(alg, key).expect("public key parses");
            keys.push(if algorithm == 2 {
                [
                    parse(&aws_lc_rs::signature::ED25519),
                    parse(&aws_lc_rs::signature::ED25519),
                ]
            } else {
                [
                    parse(&aws_lc_rs::signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY),
                    parse(&aws_lc_rs::signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY),
                ]
            });
            keys.len() - 1
        });
        records.push(Signed {
            algorithm,
            key,
            signature,
            header_block,
            body,
        });
    }
    (records, keys)
}

/// One pass of the floor on trove's data: per signature, the body hash and the signature
/// verify, nothing else. Returns how many signatures did not verify.
#[inline(never)]
fn signed_pass(records: &[Signed<'_>], keys: &[[ParsedPublicKey; 2]], sink: &mut u8) -> usize {
    let mut failures = 0;
    for r in records {
        *sink ^= body_digest(r).as_ref()[0];
        if !signature_verifies(r, keys) {
            failures += 1;
        }
    }
    failures
}

fn body_digest(r: &Signed<'_>) -> digest::Digest {
    let alg = if r.algorithm == 1 {
        &digest::SHA1_FOR_LEGACY_USE_ONLY
    } else {
        &digest::SHA256
    };
    digest::digest(alg, r.body)
}

fn signature_verifies(r: &Signed<'_>, keys: &[[ParsedPublicKey; 2]]) -> bool {
    let key = &keys[r.key][usize::from(r.algorithm == 1)];
    if r.algorithm == 2 {
        // Ed25519 signs the SHA-256 of the header block (RFC 8463).
        let hash = digest::digest(&digest::SHA256, r.header_block);
        key.verify_sig(hash.as_ref(), r.signature).is_ok()
    } else {
        key.verify_sig(r.header_block, r.signature).is_ok()
    }
}

/// `--signed-data FILE MESSAGES [REPEAT]`: the floor on trove's own bytes (the real keys,
/// signatures, header blocks and canonical bodies of the signatures trove checked).
fn signed_data_floor(args: &[String]) {
    let bytes = std::fs::read(&args[2]).expect("signed data file");
    let messages: f64 = args[3].parse().expect("message count");
    let repeat: usize = args.get(4).map_or(1, |r| r.parse().expect("repeat")).max(1);
    let (records, keys) = read_signed(&bytes);
    let mut sink = 0u8;
    let mut best: Option<(f64, f64, usize)> = None;
    for _ in 0..repeat {
        let cpu_start = cpu_seconds();
        let start = Instant::now();
        let failures = signed_pass(&records, &keys, &mut sink);
        let seconds = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu_start;
        if best.is_none_or(|(s, _, _)| seconds < s) {
            best = Some((seconds, cpu, failures));
        }
    }
    let (seconds, cpu, failures) = best.expect("a pass");
    let t = Instant::now();
    for r in &records {
        std::hint::black_box(signature_verifies(r, &keys));
    }
    let rsa = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for r in &records {
        sink ^= body_digest(r).as_ref()[0];
    }
    let sha = t.elapsed().as_secs_f64();
    let n = records.len().max(1) as f64;
    let mean =
        |f: fn(&Signed<'_>) -> usize| records.iter().map(f).sum::<usize>() / records.len().max(1);
    println!(
        "{{\"tool\":\"floor\",\"real\":{{\"signatures\":{},\"keys\":{},\"failures\":{failures},\"seconds\":{seconds:.3},\"cpu_seconds\":{cpu:.2},\"messages_per_second\":{:.1},\"messages_per_cpu_second\":{:.1},\"us_per_signature\":{:.1},\"rsa_us\":{:.1},\"sha_us\":{:.1},\"mean_body\":{},\"mean_header_block\":{}}},\"sink\":{sink}}}",
        records.len(),
        keys.len(),
        messages / seconds.max(1e-9),
        messages / cpu.max(0.01),
        seconds * 1e6 / n,
        rsa * 1e6 / n,
        sha * 1e6 / n,
        mean(|r| r.body.len()),
        mean(|r| r.header_block.len()),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a == "--signed-data") && (4..=5).contains(&args.len()) {
        return signed_data_floor(&args);
    }
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
