//! Message blobs out of a release's bulk zip (`files/NNNNNN/*.zip`, entries
//! `NNNNNN.eml` named by publication id): one download instead of one request
//! per message. The zip itself was verified against the signed manifest; each
//! entry is still checked against the message's hash and size as it is
//! staged, and anything that does not match is simply fetched on its own.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek};
use std::path::Path;

use trove_publication::layout::blob_path;
use trove_publication::{Hash, Manifest, NeededFile, Replica};

use crate::sync::Progress;

/// Zips up to this size are read whole (one read instead of a seek and
/// small reads per entry); larger ones are read from the file.
const READ_WHOLE: u64 = 256 << 20;

/// Stages every message of `manifest` found in the zip at `zip` whose blob is
/// in `wanted`; returns how many.
pub(crate) fn extract(
    replica: &Replica,
    zip: &Path,
    manifest: &Manifest,
    wanted: &HashSet<Hash>,
    progress: &dyn Progress,
) -> u64 {
    let Ok(file) = File::open(zip) else { return 0 };
    let small = file.metadata().is_ok_and(|m| m.len() <= READ_WHOLE);
    if small {
        let mut bytes = Vec::new();
        if (&file).take(READ_WHOLE).read_to_end(&mut bytes).is_err() {
            return 0;
        }
        extract_from(replica, Cursor::new(bytes), manifest, wanted, progress)
    } else {
        let reader = BufReader::with_capacity(1 << 20, file);
        extract_from(replica, reader, manifest, wanted, progress)
    }
}

fn extract_from(
    replica: &Replica,
    reader: impl Read + Seek,
    manifest: &Manifest,
    wanted: &HashSet<Hash>,
    progress: &dyn Progress,
) -> u64 {
    let Ok(mut archive) = zip::ZipArchive::new(reader) else {
        return 0;
    };
    let mut staged = 0;
    for i in 0..archive.len() {
        let Ok(entry) = archive.by_index(i) else {
            continue;
        };
        let id = entry.name().ok().and_then(|n| id_of(&n));
        let Some(message) = id.and_then(|id| manifest.message(id)) else {
            continue;
        };
        if entry.size() != message.size {
            continue;
        }
        let file = NeededFile {
            path: blob_path(&message.blob),
            hash: message.blob,
            size: message.size,
        };
        if !wanted.contains(&file.hash) {
            continue;
        }
        if replica.put(&file, entry).is_ok() {
            staged += 1;
            progress.fetched(1, message.size);
        }
    }
    staged
}

/// `000042.eml` (possibly in a folder) → 42.
fn id_of(name: &str) -> Option<u64> {
    let base = name.rsplit('/').next()?;
    let digits = base.strip_suffix(".eml")?;
    if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn entry_names() {
        assert_eq!(super::id_of("000042.eml"), Some(42));
        assert_eq!(super::id_of("part/7.eml"), Some(7));
        for bad in ["x.eml", ".eml", "42.txt", "../42", "-1.eml"] {
            assert_eq!(super::id_of(bad), None, "{bad}");
        }
    }
}
