//! Small file-system helpers: bounded reads, atomic writes (temp + fsync + rename).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Problem, Result};

/// Prefix of temporary files; a leading dot keeps them out of the publication.
pub(crate) const TEMP_PREFIX: &str = ".tmp-";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary file name in `dir`.
pub(crate) fn temp_path(dir: &Path) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("{TEMP_PREFIX}{}-{n}", std::process::id()))
}

/// Reads publication file `path` (below `root`), refusing more than `limit` bytes.
pub(crate) fn read_bounded(root: &Path, path: &str, limit: u64) -> Result<Vec<u8>, Problem> {
    let fs_path = crate::layout::to_fs_path(root, path);
    let file = File::open(&fs_path).map_err(|e| io_problem(path, e))?;
    let len = file.metadata().map_err(|e| io_problem(path, e))?.len();
    if len > limit {
        return Err(Problem::TooLarge {
            path: path.into(),
            limit,
        });
    }
    let mut buf = Vec::with_capacity(len as usize);
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| io_problem(path, e))?;
    if buf.len() as u64 > limit {
        return Err(Problem::TooLarge {
            path: path.into(),
            limit,
        });
    }
    Ok(buf)
}

/// `Missing` for a file that does not exist, `Io` for anything else.
pub(crate) fn io_problem(path: &str, e: io::Error) -> Problem {
    if e.kind() == io::ErrorKind::NotFound {
        Problem::Missing { path: path.into() }
    } else {
        Problem::Io {
            path: path.into(),
            message: e.to_string(),
        }
    }
}

/// Creates `dir` and its parents.
pub(crate) fn create_dir_all(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}

/// Flushes a directory's entries (renames into it) to disk.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// Writes `bytes` to `dest` atomically: a temp file in the same directory,
/// fsync (when `fsync`), rename over `dest`, fsync the directory. A crash
/// leaves either the old file or the new one, never a mix.
pub(crate) fn write_atomic(dest: &Path, bytes: &[u8], fsync: bool) -> Result<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    create_dir_all(dir)?;
    let tmp = temp_path(dir);
    let result = (|| {
        let mut f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
        if fsync {
            f.sync_all().map_err(|e| Error::io(&tmp, e))?;
        }
        fs::rename(&tmp, dest).map_err(|e| Error::io(dest, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    if fsync {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Removes temporary files a crashed writer left in `dir` (not recursive).
pub(crate) fn remove_temp_files(dir: &Path) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let p = entry.path();
            fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
        }
    }
    Ok(())
}

/// A handle on the file system that holds a directory, for whole-file-system
/// flushes (`syncfs(2)` on Linux: data and metadata of every file, in one call).
///
/// Open it once, at the start of the work whose writes it must cover, and flush
/// through it every time: Linux reports a write-back error to `syncfs` only on
/// handles opened before the error happened (each handle remembers which errors
/// it has seen), so a handle opened just for one flush would miss an error from
/// the writes before it, and their data could be lost unreported.
///
/// One call instead of one `fsync` per file: with tens of thousands of files,
/// per-file flushes cost a journal commit each and dominate a mirror's bring-up.
#[derive(Debug)]
pub(crate) struct FsFlush {
    #[cfg(target_os = "linux")]
    handle: File,
}

impl FsFlush {
    /// Opens the handle on the file system holding `dir`.
    pub(crate) fn open(dir: &Path) -> Result<FsFlush> {
        #[cfg(target_os = "linux")]
        {
            let handle = File::open(dir).map_err(|e| Error::io(dir, e))?;
            Ok(FsFlush { handle })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = dir;
            Ok(FsFlush {})
        }
    }

    /// Flushes everything written to the file system, failing when a write-back
    /// error happened since the handle was opened (and was not reported by an
    /// earlier flush through it). `dir` only names the error. Returns `false`
    /// where there is no such call (not Linux): the caller then flushes file by file.
    pub(crate) fn flush(&self, dir: &Path) -> Result<bool> {
        #[cfg(target_os = "linux")]
        {
            rustix::fs::syncfs(&self.handle).map_err(|e| Error::io(dir, e.into()))?;
            Ok(true)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = dir;
            Ok(false)
        }
    }
}

/// Moves files into a publication: each `(src, dest, rename)` is renamed when `rename`,
/// otherwise copied to a temp name beside `dest` first (copies run before any rename, so one
/// source can feed several copies and one rename). With `fsync`, all file contents are
/// flushed before the first rename and the renames after the last, so a crash leaves either
/// the old name or the complete new file, never a name pointing at unflushed data.
/// On Linux both flushes are one `syncfs` each (see [`FsFlush`], opened here before the
/// first copy); elsewhere files are flushed in parallel one by one, then the touched
/// directories (plus `blobs/` and `files/`).
pub(crate) fn place_files(
    root: &Path,
    moves: Vec<(PathBuf, PathBuf, bool)>,
    fsync: bool,
) -> Result<()> {
    let flush = if fsync {
        Some(FsFlush::open(root)?)
    } else {
        None
    };
    place_files_then(root, moves, &[], flush.as_ref())
}

/// [`place_files`], plus `writes`: small files (`dest`, bytes) written to a temp name
/// beside `dest` before the first flush and renamed with the moves, so that they are
/// covered by the same two flushes instead of two fsyncs each (a mirror's manifests).
/// The renames run on a few threads: they are independent (every name is final only once
/// the caller writes the file that lists it). `flush` is `None` for no flushing at all,
/// else the caller's handle, opened before the data it must cover was written.
pub(crate) fn place_files_then(
    root: &Path,
    moves: Vec<(PathBuf, PathBuf, bool)>,
    writes: &[(PathBuf, &[u8])],
    flush: Option<&FsFlush>,
) -> Result<()> {
    let mut ready: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(moves.len() + writes.len());
    let mut dirs = std::collections::BTreeSet::new();
    let mut ensure_dir = |dir: PathBuf| -> Result<()> {
        if !dirs.contains(&dir) {
            create_dir_all(&dir)?;
            dirs.insert(dir);
        }
        Ok(())
    };
    let result = (|| -> Result<()> {
        for (src, dest, rename) in moves {
            let dir = dest.parent().unwrap_or(root).to_path_buf();
            ensure_dir(dir.clone())?;
            if rename {
                ready.push((src, dest));
            } else {
                let tmp = temp_path(&dir);
                fs::copy(&src, &tmp).map_err(|e| Error::io(&tmp, e))?;
                ready.push((tmp, dest));
            }
        }
        for (dest, bytes) in writes {
            let dir = dest.parent().unwrap_or(root).to_path_buf();
            ensure_dir(dir.clone())?;
            let tmp = temp_path(&dir);
            ready.push((tmp.clone(), dest.clone()));
            fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        for (src, _) in &ready {
            if src
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(TEMP_PREFIX))
            {
                let _ = fs::remove_file(src);
            }
        }
        return Err(e);
    }
    if let Some(flush) = flush {
        if !flush.flush(root)? {
            crate::writer::parallel(&ready, |(src, _)| {
                File::open(src)
                    .and_then(|f| f.sync_all())
                    .map_err(|e| Error::io(src, e))
            })?;
        }
    }
    crate::writer::parallel(&ready, |(src, dest)| {
        fs::rename(src, dest).map_err(|e| Error::io(dest, e))
    })?;
    if let Some(flush) = flush {
        if !flush.flush(root)? {
            for d in [crate::layout::BLOBS_DIR, crate::layout::FILES_DIR] {
                dirs.insert(root.join(d));
            }
            let dirs: Vec<PathBuf> = dirs.into_iter().filter(|d| d.exists()).collect();
            crate::writer::parallel(&dirs, |d| sync_dir(d))?;
        }
    }
    Ok(())
}
