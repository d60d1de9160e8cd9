//! The freshness pointer: which release is the latest, and until when that claim holds.

use serde::{Deserialize, Serialize};

use crate::Hash;

/// `freshness.json`: the latest release and its manifest hash, re-signed
/// regularly with a short expiry so that a mirror can tell a frozen origin
/// (pointer expired) from a quiet one (pointer refreshed, no new release).
/// Written last when publishing: a release exists once the pointer names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreshnessPointer {
    /// The publication id (hash of the descriptor).
    pub publication: Hash,
    /// Number of the latest release (1 or more).
    pub release: u64,
    /// Hash of that release's manifest.
    pub manifest: Hash,
    /// When the pointer was signed, Unix seconds (UTC).
    pub issued_at: u64,
    /// After this instant (Unix seconds) readers must treat the pointer as
    /// stale and keep their last good state.
    pub expires_at: u64,
}
