//! trove-mirror: keeps a verified copy of a trove publication pulled from any
//! HTTP source — a `trove serve` node's `/pub/`, another mirror, or any
//! static host serving a publication folder (nginx, `python -m http.server`,
//! an object-store website).
//!
//! One [`Mirror::sync`]:
//! 1. asks every origin for its descriptor and freshness pointer and checks
//!    them (signature, pinned publisher key, same publication, not expired,
//!    not older than what the mirror already holds);
//! 2. takes the newest valid offer and fetches the new manifests, verified
//!    as a chain against the local latest release
//!    ([`trove_publication::verify_update`]);
//! 3. downloads every blob and bulk file they list into the replica's
//!    private staging area, each checked against its BLAKE3 hash and size as
//!    it streams ([`trove_publication::Replica::put`]); message blobs are taken
//!    from a release's bulk zip when it has one (one request instead of one
//!    per message), each entry hash-checked like a download;
//! 4. makes the new state visible with [`trove_publication::Replica::apply`]:
//!    one flush of the file system (`syncfs`, not one fsync per file), files
//!    renamed to their public paths, a second flush, then the manifests, the
//!    freshness pointer last.
//!
//! Nothing unverified ever reaches a public path. Every download is bounded
//! in size (the manifest's declared size, [`Options::max_file_size`],
//! [`Options::max_metadata_size`], [`Options::max_sync_bytes`]) and in time
//! ([`Options::timeout`], a minimum speed, [`Options::max_sync_time`]), so a
//! hostile origin can neither fill the disk nor hang the mirror. An
//! interrupted sync keeps what it staged and resumes; whatever it finds
//! (staged, or at a public path but not yet listed) is re-hashed before it is
//! reused, and fetched again when it does not match. The publisher key is
//! pinned at first contact (trust on first use) or given with
//! [`Options::key`], and kept in `DIR/.trove-mirror/pin`.
//!
//! Several origins fall over to one another: an origin that is down, slow,
//! serves an older state or anything that fails verification is skipped
//! (and named in [`SyncReport::skipped`]). [`Mirror::follow`] polls with
//! backoff.
//!
//! This crate knows nothing of the vault: it only reads what a publication
//! makes public.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bulk;
mod error;
mod follow;
mod http;
mod pin;
mod sync;

pub use error::{Error, OriginFailure, Result};
pub use follow::{FollowEvent, FollowOptions};
pub use pin::PIN_PATH;
pub use sync::{Mirror, Options, Outcome, Progress, SyncReport};
pub use trove_publication::{unix_now, verify_dir, Problem, PublicKey, Publication, VerifyOptions};

/// The mirror's private directory inside DIR (never part of the publication:
/// paths starting with `.` are not served).
pub const PRIVATE_DIR: &str = ".trove-mirror";

/// Normalises an origin: an `http://` or `https://` URL without a trailing `/`.
pub fn parse_origin(url: &str) -> Result<String> {
    let u = url.trim();
    let rest = u
        .strip_prefix("http://")
        .or_else(|| u.strip_prefix("https://"))
        .ok_or_else(|| Error::BadUrl(url.to_string()))?;
    if rest.is_empty() || rest.starts_with('/') || u.contains(['?', '#', ' ']) {
        return Err(Error::BadUrl(url.to_string()));
    }
    Ok(u.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            parse_origin("http://127.0.0.1:8080/pub/").unwrap(),
            "http://127.0.0.1:8080/pub"
        );
        assert_eq!(parse_origin("https://a.org").unwrap(), "https://a.org");
        for bad in [
            "ftp://a",
            "a.org",
            "http://",
            "http:///x",
            "http://a/?q",
            "",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }
}
