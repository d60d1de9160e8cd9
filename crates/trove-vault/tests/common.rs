//! Shared helpers for the vault's tests: fixture builders and the shared-data locator.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use trove_vault::{IngestOptions, IngestReport, NoProgress, Vault};

/// `../shared/data` beside the repository, if present.
pub fn shared_data() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipped: ../shared/data not found");
        None
    }
}

/// A small valid message with a distinctive number.
pub fn msg(n: usize) -> String {
    format!(
        "From: Person {n} <p{n}@example.org>\nTo: list@example.org\nSubject: message {n}\n\
         Date: Fri, 7 Oct 2016 {:02}:{:02}:00 +0000\nMessage-ID: <m{n}@example.org>\n\n\
         Body of message {n}.\n",
        n % 24,
        n % 60
    )
}

/// An mboxrd text of the given messages (quoting body `From ` lines).
pub fn mboxrd(msgs: &[String]) -> String {
    let mut out = String::new();
    for m in msgs {
        out.push_str("From sender@example.org Fri Oct  7 16:30:00 2016\n");
        for line in m.split_inclusive('\n') {
            let stripped = line.trim_start_matches('>');
            if stripped.starts_with("From ") {
                out.push('>');
            }
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Ingests `paths` into `vault` with default options.
pub fn ingest(vault: &mut Vault, paths: &[&Path]) -> trove_vault::Result<IngestReport> {
    vault.ingest(
        &IngestOptions {
            paths: paths.iter().map(|p| p.to_path_buf()).collect(),
            ..Default::default()
        },
        &NoProgress,
    )
}

/// Writes a tar archive with `(name, bytes)` entries (names written raw, unchecked).
pub fn tar_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in entries {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[108..115].copy_from_slice(b"0000000");
        h[116..123].copy_from_slice(b"0000000");
        let size = format!("{:011o}", data.len());
        h[124..135].copy_from_slice(size.as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| b as u32).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// Writes a zip archive (stored, or deflated) with `(name, bytes)` entries.
pub fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut cur = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut cur);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            z.start_file(*name, opts).unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
    }
    cur.into_inner()
}
