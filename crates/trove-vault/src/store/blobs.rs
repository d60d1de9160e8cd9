//! The content-addressed blob store: raw bytes under their BLAKE3 hash.
//!
//! Layout: `blobs/<first two hex digits>/<remaining 62 hex digits>`. A blob is written to a
//! temporary file in `tmp/`, synced, then renamed into place, so a reader never sees a partial
//! blob and a crash leaves at most an orphan temporary file (removed at the next open).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// BLAKE3 of `bytes` as 64 lower-case hex digits: the address of a blob.
pub fn hash_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// A directory of immutable blobs addressed by BLAKE3.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    tmp: PathBuf,
}

impl BlobStore {
    /// Opens (creating if needed) the store at `root`, using `tmp` for partial writes.
    pub fn open(root: impl Into<PathBuf>, tmp: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let tmp = tmp.into();
        fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        Ok(BlobStore { root, tmp })
    }

    /// Where the blob with this hex hash lives (whether or not it exists).
    pub fn path_of(&self, hash: &str) -> PathBuf {
        let (dir, rest) = hash.split_at(2.min(hash.len()));
        self.root.join(dir).join(rest)
    }

    /// True when the blob is present.
    pub fn contains(&self, hash: &str) -> bool {
        self.path_of(hash).is_file()
    }

    /// Stores `bytes` under `hash` (which must be `hash_hex(bytes)`); a no-op when present.
    ///
    /// With `durable`, the file is fsynced before it is renamed into place, so that a
    /// database row committed afterwards never points at a blob lost in a power cut.
    pub fn put(&self, hash: &str, bytes: &[u8], durable: bool) -> Result<()> {
        let dest = self.path_of(hash);
        if dest.is_file() {
            return Ok(());
        }
        let dir = dest.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let tmp = self.tmp.join(format!(
            "{hash}.{}.{:?}.part",
            std::process::id(),
            std::thread::current().id()
        ));
        let mut f = fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
        if durable {
            f.sync_data().map_err(|e| Error::io(&tmp, e))?;
        }
        drop(f);
        fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
        Ok(())
    }

    /// Reads a whole blob.
    pub fn get(&self, hash: &str) -> Result<Vec<u8>> {
        let p = self.path_of(hash);
        fs::read(&p).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Damaged(format!("blob {hash} is missing ({})", p.display()))
            } else {
                Error::io(&p, e)
            }
        })
    }

    /// Removes leftovers of interrupted writes.
    pub fn clean_tmp(&self) -> Result<()> {
        let entries = match fs::read_dir(&self.tmp) {
            Ok(e) => e,
            Err(e) => return Err(Error::io(&self.tmp, e)),
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "part") {
                let _ = fs::remove_file(&p);
            }
        }
        Ok(())
    }

    /// Every blob hash in the store (for consistency checks and tests).
    pub fn list(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let rd = fs::read_dir(&self.root).map_err(|e| Error::io(&self.root, e))?;
        for d in rd.flatten() {
            let dp = d.path();
            if !dp.is_dir() {
                continue;
            }
            let prefix = d.file_name().to_string_lossy().into_owned();
            for f in fs::read_dir(&dp).map_err(|e| Error::io(&dp, e))?.flatten() {
                out.push(format!("{prefix}{}", f.file_name().to_string_lossy()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_content_addressed_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path().join("blobs"), dir.path().join("tmp")).unwrap();
        let h = hash_hex(b"hello");
        store.put(&h, b"hello", true).unwrap();
        store.put(&h, b"hello", true).unwrap();
        assert_eq!(store.get(&h).unwrap(), b"hello");
        assert_eq!(store.list().unwrap(), vec![h.clone()]);
        assert_eq!(
            h,
            "ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f"
        );
        assert!(matches!(store.get(&hash_hex(b"x")), Err(Error::Damaged(_))));
    }
}
