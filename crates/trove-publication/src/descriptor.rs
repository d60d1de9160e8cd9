//! The descriptor: the publication's name and its publisher's key.

use serde::{Deserialize, Serialize};

use crate::PublicKey;

/// `descriptor.json`: names the publication and carries the publisher's
/// public key. Signed by that key (proof that the publisher holds it).
/// Immutable: its hash is the publication id that every manifest and
/// freshness pointer repeats, so changing it starts a new publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    /// Short human name ("The Podesta Emails").
    pub name: String,
    /// Free text: what this is, who publishes it, how to verify it.
    pub description: String,
    /// The publisher's Ed25519 public key; signs everything in the publication.
    pub public_key: PublicKey,
    /// When the publication was created, Unix seconds (UTC).
    pub created_at: u64,
}
