//! usage: dkim-floor PKCS8_DER SIZES_FILE SIGNED_MESSAGES
//! For each line of SIZES_FILE (canonical body length of one signature trove checked
//! cryptographically), hash that many bytes with SHA-256 and verify one RSA-2048 signature over
//! a 600-byte header block (what DKIM signs). Prints the time and messages/s for
//! SIGNED_MESSAGES messages. The whole body buffer is real corpus-sized data.
use ring::{digest, rand, signature};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let der = std::fs::read(&args[1]).expect("pkcs8 der");
    let sizes: Vec<usize> = std::fs::read_to_string(&args[2])
        .expect("sizes")
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let messages: f64 = args[3].parse().expect("message count");
    let pair = signature::RsaKeyPair::from_pkcs8(&der).expect("rsa key");
    let headers = vec![b'h'; 600];
    let mut sig = vec![0u8; pair.public().modulus_len()];
    pair.sign(&signature::RSA_PKCS1_SHA256, &rand::SystemRandom::new(), &headers, &mut sig)
        .expect("sign");
    let public = signature::UnparsedPublicKey::new(
        &signature::RSA_PKCS1_2048_8192_SHA256,
        pair.public().as_ref().to_vec(),
    );
    let max = sizes.iter().copied().max().unwrap_or(0);
    let body: Vec<u8> = (0..max).map(|i| (i % 251) as u8).collect();
    let mut sink = 0u8;
    let cpu_start = cpu_seconds();
    let start = Instant::now();
    for &n in &sizes {
        let d = digest::digest(&digest::SHA256, &body[..n]);
        sink ^= d.as_ref()[0];
        public.verify(&headers, &sig).expect("verify");
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    // The two halves alone, for the report.
    let t = Instant::now();
    for _ in &sizes {
        public.verify(&headers, &sig).expect("verify");
    }
    let rsa = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for &n in &sizes {
        sink ^= digest::digest(&digest::SHA256, &body[..n]).as_ref()[0];
    }
    let sha = t.elapsed().as_secs_f64();
    let count = sizes.len().max(1) as f64;
    let mean = sizes.iter().sum::<usize>() / sizes.len().max(1);
    println!(
        "{{\"tool\":\"floor-ring\",\"signatures\":{},\"seconds\":{secs:.3},\"cpu_seconds\":{cpu:.2},\"messages_per_cpu_second\":{:.1},\"us_per_signature\":{:.1},\"rsa_us\":{:.1},\"sha_us\":{:.1},\"mean_body\":{mean},\"messages_per_second\":{:.1},\"sink\":{sink}}}",
        sizes.len(),
        messages / cpu.max(0.01),
        secs * 1e6 / count,
        rsa * 1e6 / count,
        sha * 1e6 / count,
        messages / secs
    );
}

/// User + system CPU time of this process (Linux `/proc/self/stat`, 100 ticks per second).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}
