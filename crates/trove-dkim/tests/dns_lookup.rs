//! `DnsKeyFetcher` against a DNS server we run on 127.0.0.1 (dnsmasq from Debian): a key is
//! fetched with provenance and time, a missing name is NXDOMAIN, and the fetched key verifies
//! a real message. Skipped when dnsmasq is not installed.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use trove_dkim::{
    verify_message, DnsKeyFetcher, KeyStatus, KeyStore, LookupFailure, SignatureResult,
    VerifyOptions,
};

const KEY: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

struct Dnsmasq(Child);

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_dnsmasq(port: u16) -> Option<Dnsmasq> {
    let exe = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(exe) = exe else {
        println!("skipped: dnsmasq not installed");
        return None;
    };
    // TXT strings are at most 255 bytes: split the record into chunks, as DNS publishes it.
    let txt = format!("v=DKIM1; k=rsa; p={KEY}");
    let chunks: Vec<String> = txt
        .as_bytes()
        .chunks(200)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    let child = Command::new(exe)
        .args([
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            "--user=root",
            "--pid-file",
            &format!("--port={port}"),
            &format!(
                "--txt-record=test._domainkey.football.example.com,{}",
                chunks.join(",")
            ),
            "--address=/example.com/",
            "--local=/example.com/",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    std::thread::sleep(Duration::from_millis(300));
    Some(Dnsmasq(child))
}

#[test]
fn keys_are_fetched_from_a_local_dns_server() {
    let port = free_port();
    let Some(_server) = start_dnsmasq(port) else {
        return;
    };
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let fetcher = DnsKeyFetcher::new(&[addr], Duration::from_secs(2)).unwrap();

    let record = fetcher
        .fetch("test", "football.example.com", 1_764_000_000)
        .expect("TXT answer");
    assert_eq!(record.status, KeyStatus::Usable);
    assert_eq!(record.bits, Some(1024));
    assert_eq!(record.added_at, 1_764_000_000);
    assert_eq!(record.provenance, format!("dns lookup via {addr}"));
    assert_eq!(record.txt, format!("v=DKIM1; k=rsa; p={KEY}"));

    assert_eq!(
        fetcher
            .fetch("missing", "football.example.com", 0)
            .unwrap_err(),
        LookupFailure::NxDomain
    );

    // The fetched key verifies RFC 8463's RSA signature.
    let Some(data) = common::data_dir() else {
        return;
    };
    let mut keys = KeyStore::new();
    keys.insert(record);
    let raw = std::fs::read(data.join("dkim/mimekit/rfc8463-example.msg")).unwrap();
    let verdict = verify_message(&raw, &keys, &VerifyOptions::default());
    let rsa = verdict
        .signatures
        .iter()
        .find(|s| s.selector == "test")
        .unwrap();
    assert_eq!(rsa.result, SignatureResult::Pass);
    assert_eq!(
        rsa.key_provenance.as_deref(),
        Some(format!("dns lookup via {addr}").as_str())
    );
}
