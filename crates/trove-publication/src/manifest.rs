//! The manifest: one signed, chained description of everything a release adds.

use serde::{Deserialize, Serialize};

use crate::Hash;

/// `releases/NNNNNN.json`: one release. Lists every message it publishes
/// (with its publication id, the BLAKE3 of its raw source and of each
/// attachment, a metadata summary and the publisher's DKIM attestation) and
/// every bulk-download file, and links to the previous release's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The publication id (hash of the descriptor): binds the manifest to
    /// one publication so that it cannot be mixed into another.
    pub publication: Hash,
    /// Release number: 1 for the first, then +1 each time, no gaps.
    pub release: u64,
    /// Human title ("Part 3").
    pub title: String,
    /// When the release was published, Unix seconds (UTC).
    pub published_at: u64,
    /// Hash of the previous release's manifest; `None` (JSON `null`) for release 1.
    pub previous: Option<Hash>,
    /// Publication id of this release's first message: 1 for release 1,
    /// then the previous release's `first_id` plus its number of messages.
    pub first_id: u64,
    /// The messages, in id order: `first_id`, `first_id + 1`, …
    pub messages: Vec<MessageEntry>,
    /// Bulk downloads of this release (mbox, zip…), under `files/NNNNNN/`.
    pub files: Vec<FileEntry>,
    /// Extensions a reader must implement to understand this manifest; a
    /// reader that does not know one of them must refuse the manifest.
    /// Empty (and omitted) in version 1.0.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
}

impl Manifest {
    /// The id the next release's first message gets.
    pub fn next_id(&self) -> u64 {
        self.first_id + self.messages.len() as u64
    }

    /// The message with publication id `id`, when this release holds it.
    pub fn message(&self, id: u64) -> Option<&MessageEntry> {
        let index = id.checked_sub(self.first_id)?;
        self.messages
            .get(usize::try_from(index).ok()?)
            .filter(|m| m.id == id)
    }
}

/// One published message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageEntry {
    /// Publication id: the message is `emailid/<id>` forever.
    pub id: u64,
    /// BLAKE3 of the raw source (RFC 5322 bytes exactly as received).
    pub blob: Hash,
    /// Size of the raw source in bytes.
    pub size: u64,
    /// Attachments, decoded, each stored as its own blob.
    pub attachments: Vec<AttachmentEntry>,
    /// Metadata the publisher extracted, for listings and search.
    pub summary: MessageSummary,
    /// DKIM results as the publisher attests them (one per signature).
    pub dkim: Vec<DkimAttestation>,
}

/// One attachment of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentEntry {
    /// BLAKE3 of the decoded attachment bytes.
    pub blob: Hash,
    /// Size in bytes.
    pub size: u64,
    /// File name as given in the message (untrusted text: never use it as a path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// MIME type as given in the message (`application/pdf`).
    pub content_type: String,
}

impl AttachmentEntry {
    /// An entry for an attachment whose bytes were put as `blob`.
    pub fn new(
        blob: crate::BlobRef,
        file_name: Option<String>,
        content_type: impl Into<String>,
    ) -> AttachmentEntry {
        AttachmentEntry {
            blob: blob.hash,
            size: blob.size,
            file_name,
            content_type: content_type.into(),
        }
    }
}

/// Compact metadata of a message. Every field is the publisher's reading of
/// the raw source, which stays the authority.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSummary {
    /// `Message-ID` without angle brackets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// `Date` as RFC 3339 with the sender's offset (`2016-10-07T14:03:00-04:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// `From` addresses, each `Name <addr>` or `addr`.
    #[serde(default)]
    pub from: Vec<String>,
    /// `To` addresses.
    #[serde(default)]
    pub to: Vec<String>,
    /// `Cc` addresses.
    #[serde(default)]
    pub cc: Vec<String>,
    /// `Subject`, decoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// `In-Reply-To` message id without angle brackets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// The publisher's thread key: messages with the same key form one thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
}

/// The publisher's attestation of one DKIM signature's verdict. Anyone can
/// re-check it from the raw source and the key; this records what the
/// publisher found and with which key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DkimAttestation {
    /// Signing domain (`d=`).
    pub domain: String,
    /// Selector (`s=`).
    pub selector: String,
    /// Algorithm (`a=`: `rsa-sha256`, `ed25519-sha256`…).
    pub algorithm: String,
    /// Verdict, in RFC 8601 words (`pass`, `fail`, `neutral`, `none`,
    /// `temperror`, `permerror`) or trove's `expired` (cryptographically valid
    /// past its `x=`). Readers must not treat an unknown word as `pass`.
    pub result: String,
    /// Why (`body hash mismatch`, `key from historic archive`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One bulk-download file of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path inside the publication: `files/NNNNNN/NAME` (see the layout rules).
    pub path: String,
    /// BLAKE3 of the file.
    pub hash: Hash,
    /// Size in bytes.
    pub size: u64,
    /// MIME type to serve it with (`application/mbox`, `application/zip`).
    pub content_type: String,
}
