//! Publishes an mbox as N releases and verifies the result, printing timings:
//! a rough measure of the format's own cost (no mail parsing, no index).
//!
//! ```text
//! zstd -dc ../shared/data/corpora/lore-io-uring.mbox.zst > /tmp/io-uring.mbox
//! cargo run --release -p trove-publication --example publish_mbox -- /tmp/io-uring.mbox /tmp/pub 30 [--no-fsync]
//! ```

use std::path::PathBuf;
use std::time::Instant;

use trove_publication::{
    layout, verify_dir, FileDraft, MessageDraft, MessageSummary, PublicationWriter, PublisherKey,
    ReleaseDraft, VerifyOptions,
};

/// Splits an mbox at `From ` lines that start a message (file start or after a newline).
fn split_mbox(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    if data.starts_with(b"From ") {
        starts.push(0);
    }
    for i in memchr_iter(data) {
        if data[i + 1..].starts_with(b"From ") {
            starts.push(i + 1);
        }
    }
    starts.push(data.len());
    starts
        .windows(2)
        .map(|w| {
            let m = &data[w[0]..w[1]];
            // Drop the envelope line; keep the message as stored.
            match m.iter().position(|b| *b == b'\n') {
                Some(nl) => &m[nl + 1..],
                None => &m[m.len()..],
            }
        })
        .collect()
}

fn memchr_iter(data: &[u8]) -> impl Iterator<Item = usize> + '_ {
    data.iter()
        .enumerate()
        .filter(|(i, b)| **b == b'\n' && i + 1 < data.len())
        .map(|(i, _)| i)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: publish_mbox MBOX OUTDIR PARTS [--no-fsync]");
        std::process::exit(2);
    }
    let mbox = PathBuf::from(&args[1]);
    let out = PathBuf::from(&args[2]);
    let parts: usize = args[3].parse()?;
    let fsync = !args.iter().any(|a| a == "--no-fsync");
    let data = std::fs::read(&mbox)?;
    let messages = split_mbox(&data);
    let now = 1_800_000_000;
    println!("{} messages, {} bytes", messages.len(), data.len());

    let t = Instant::now();
    let key = PublisherKey::from_seed([3; 32]);
    let public = key.public_key();
    let mut w = PublicationWriter::create(&out, key, "bench", "publish_mbox example", now)?;
    w.set_fsync(fsync);
    let per = messages.len().div_ceil(parts.max(1));
    for (i, chunk) in messages.chunks(per.max(1)).enumerate() {
        let mut drafts = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for raw in chunk {
            let blob = w.put_blob(raw)?;
            if !seen.insert(blob.hash) {
                continue; // identical bytes twice in the dump: one message
            }
            drafts.push(MessageDraft {
                blob,
                attachments: vec![],
                summary: MessageSummary::default(),
                dkim: vec![],
            });
        }
        let part: Vec<u8> = chunk.concat();
        let file = w.put_blob(&part)?;
        let draft = ReleaseDraft {
            title: format!("Part {}", i + 1),
            messages: drafts,
            files: vec![FileDraft {
                name: format!("part-{}.mbox", i + 1),
                content_type: layout::content_type::MBOX.into(),
                blob: file,
            }],
        };
        match w.publish(&draft, now + i as u64, now + 7 * 86_400) {
            Ok(_) => {}
            Err(trove_publication::Error::MessageAlreadyPublished { id, .. }) => {
                eprintln!("part {}: a message repeats emailid/{id}; skipped", i + 1);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let publish = t.elapsed();
    println!(
        "published {} releases, {} messages in {:.2?} (fsync {fsync})",
        w.publication().latest_release(),
        w.publication().message_count(),
        publish
    );

    let t = Instant::now();
    let mut opts = VerifyOptions::new(now + 3_600);
    opts.pinned_key = Some(public);
    let report = verify_dir(&out, &opts);
    println!(
        "verified in {:.2?}: {} manifests, {} blobs, {} files, {} bytes hashed, {} problems",
        t.elapsed(),
        report.manifests,
        report.blobs,
        report.files,
        report.bytes,
        report.problems.len()
    );
    for p in report.problems.iter().take(10) {
        println!("  {p}");
    }
    Ok(())
}
