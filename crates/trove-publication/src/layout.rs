//! Where each object lives inside a publication and how it is served over HTTP.
//!
//! Paths are `/`-separated, relative to the publication's root directory or
//! base URL, and are the same on disk and on the wire.

use std::path::{Path, PathBuf};

use crate::Hash;

/// The descriptor.
pub const DESCRIPTOR_PATH: &str = "descriptor.json";
/// The freshness pointer.
pub const FRESHNESS_PATH: &str = "freshness.json";
/// Directory of manifests.
pub const RELEASES_DIR: &str = "releases";
/// Directory of content-addressed blobs.
pub const BLOBS_DIR: &str = "blobs";
/// Directory of bulk-download files.
pub const FILES_DIR: &str = "files";
/// The Atom feed: derived from the manifests, not signed, not verified.
pub const FEED_PATH: &str = "feed.atom";
/// The writer's private staging area. Paths starting with `.` are never
/// part of a publication and must not be served.
pub const STAGING_DIR: &str = ".staging";
/// Longest allowed bulk-download file name, in bytes.
pub const MAX_FILE_NAME: usize = 128;

/// HTTP content types, one per kind of file.
pub mod content_type {
    /// Descriptor, manifests and freshness pointer.
    pub const JSON: &str = "application/json";
    /// Blobs (raw messages, attachments): always served as opaque bytes, with
    /// `X-Content-Type-Options: nosniff`, so no browser renders hostile mail.
    pub const BLOB: &str = "application/octet-stream";
    /// The Atom feed.
    pub const ATOM: &str = "application/atom+xml";
    /// An mbox bulk download (RFC 4155).
    pub const MBOX: &str = "application/mbox";
    /// A zip bulk download.
    pub const ZIP: &str = "application/zip";
}

/// Path of release `release`'s manifest: `releases/000001.json` (decimal,
/// zero-padded to at least 6 digits).
pub fn manifest_path(release: u64) -> String {
    format!("{RELEASES_DIR}/{release:06}.json")
}

/// Parses a manifest file name (`000001.json`) back to its release number.
pub fn release_from_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".json")?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    (manifest_path(n) == format!("{RELEASES_DIR}/{name}")).then_some(n)
}

/// Path of a blob: `blobs/` + first 2 hex digits + `/` + the other 62.
pub fn blob_path(hash: &Hash) -> String {
    let hex = hash.to_hex();
    format!("{BLOBS_DIR}/{}/{}", &hex[..2], &hex[2..])
}

/// Path of a bulk-download file of `release`: `files/000001/NAME`.
/// Fails when `name` breaks [`check_file_name`].
pub fn file_path(release: u64, name: &str) -> Result<String, String> {
    check_file_name(name)?;
    Ok(format!("{FILES_DIR}/{release:06}/{name}"))
}

/// A bulk-download file name is 1 to 128 bytes of `A-Z a-z 0-9 . _ -`,
/// starting with a letter or digit (so no `.`/`..`, no hidden files, no
/// separators, nothing that needs escaping in a URL).
pub fn check_file_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_FILE_NAME {
        return Err(format!("must be 1 to {MAX_FILE_NAME} bytes"));
    }
    let b = name.as_bytes();
    if !b[0].is_ascii_alphanumeric() {
        return Err("must start with a letter or digit".into());
    }
    if !b
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
    {
        return Err("only A-Z a-z 0-9 . _ - are allowed".into());
    }
    Ok(())
}

/// Checks that a manifest's file path is `files/<its release, 6+ digits>/<valid name>`.
pub fn check_file_path(path: &str, release: u64) -> Result<(), String> {
    let prefix = format!("{FILES_DIR}/{release:06}/");
    let name = path
        .strip_prefix(&prefix)
        .ok_or_else(|| format!("must start with {prefix:?}"))?;
    check_file_name(name)
}

/// The content type to serve a publication path with.
pub fn content_type_for(path: &str) -> &'static str {
    if path.ends_with(".json") && !path.starts_with(FILES_DIR) {
        content_type::JSON
    } else if path == FEED_PATH {
        content_type::ATOM
    } else if path.starts_with(FILES_DIR) && path.ends_with(".mbox") {
        content_type::MBOX
    } else if path.starts_with(FILES_DIR) && path.ends_with(".zip") {
        content_type::ZIP
    } else {
        content_type::BLOB
    }
}

/// Joins a publication path onto the publication's root directory.
/// Only for paths built by this module or checked by it.
pub fn to_fs_path(root: &Path, path: &str) -> PathBuf {
    let mut p = root.to_path_buf();
    for seg in path.split('/') {
        p.push(seg);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(manifest_path(1), "releases/000001.json");
        assert_eq!(manifest_path(1234567), "releases/1234567.json");
        assert_eq!(release_from_file_name("000042.json"), Some(42));
        assert_eq!(release_from_file_name("1234567.json"), Some(1234567));
        assert_eq!(release_from_file_name("42.json"), None);
        assert_eq!(release_from_file_name("0000042.json"), None);
        let h = Hash::of(b"");
        assert_eq!(
            blob_path(&h),
            "blobs/af/1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn file_names() {
        assert!(file_path(3, "part-3.mbox").is_ok());
        for bad in ["", "..", ".hidden", "a/b", "a\\b", "é.mbox", "a b"] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_file_path("files/000002/x.zip", 2).is_ok());
        assert!(check_file_path("files/000001/x.zip", 2).is_err());
        assert!(check_file_path("files/000002/../x", 2).is_err());
    }
}
