//! The publisher key a mirror trusts: pinned at first contact (trust on first
//! use) or given by the operator, kept in `DIR/.trove-mirror/pin`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use trove_publication::PublicKey;

use crate::error::{Error, Result};

/// Path of the pin file below the mirror directory.
pub const PIN_PATH: &str = ".trove-mirror/pin";

fn pin_path(dir: &Path) -> PathBuf {
    dir.join(PIN_PATH)
}

/// The pinned key, if any.
pub(crate) fn load(dir: &Path) -> Result<Option<PublicKey>> {
    let path = pin_path(dir);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::BadPin {
                path,
                reason: e.to_string(),
            })
        }
    };
    PublicKey::from_hex(text.trim())
        .map(Some)
        .ok_or_else(|| Error::BadPin {
            path,
            reason: "expected 64 lowercase hex digits".into(),
        })
}

/// Pins `key` (write to a temp file, fsync, rename).
pub(crate) fn save(dir: &Path, key: &PublicKey) -> Result<()> {
    let path = pin_path(dir);
    let io = |e: std::io::Error| {
        Error::Local(trove_publication::Error::Io {
            path: path.clone(),
            message: e.to_string(),
        })
    };
    let parent = path.parent().unwrap_or(dir);
    fs::create_dir_all(parent).map_err(io)?;
    let tmp = parent.join(format!(".pin-{}", std::process::id()));
    let mut f = fs::File::create(&tmp).map_err(io)?;
    f.write_all(format!("{}\n", key.to_hex()).as_bytes())
        .map_err(io)?;
    f.sync_all().map_err(io)?;
    fs::rename(&tmp, &path).map_err(io)
}
