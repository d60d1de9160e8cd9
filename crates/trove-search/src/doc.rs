//! The input type: what the vault (or a publication reader) hands to the index
//! for one message. Plain data, no dependency on the vault.

/// One mailbox in a `From`, `To` or `Cc` header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// Display name, if the header had one (`Jens Axboe`).
    pub name: Option<String>,
    /// The address itself (`axboe@kernel.dk`); compared case-insensitively.
    pub addr: String,
}

impl Address {
    /// Convenience constructor.
    pub fn new(name: Option<&str>, addr: &str) -> Self {
        Address {
            name: name.map(str::to_string),
            addr: addr.to_string(),
        }
    }

    /// `Name <addr>` or just `addr`: the form shown in hits.
    pub fn display(&self) -> String {
        match self.name.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() => format!("{n} <{}>", self.addr),
            _ => self.addr.clone(),
        }
    }
}

/// One attachment of a message, with its text if the caller extracted it
/// (see [`crate::extract_text`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachmentDoc {
    /// File name as given in the message (may be empty).
    pub filename: String,
    /// MIME type (`application/pdf`).
    pub content_type: String,
    /// Extracted text, or `None` when extraction failed or was not attempted.
    pub text: Option<String>,
}

/// Summary of a message's DKIM verdict, as the index sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum DkimSummary {
    /// At least one signature verified.
    Pass,
    /// Signatures were present but none verified.
    Fail,
    /// No signature (or none that could be checked).
    #[default]
    None,
}

impl DkimSummary {
    /// The lower-case word used in the index and in `dkim:` queries.
    pub fn as_str(self) -> &'static str {
        match self {
            DkimSummary::Pass => "pass",
            DkimSummary::Fail => "fail",
            DkimSummary::None => "none",
        }
    }
}

/// Everything the index needs to know about one message.
///
/// `id` is the caller's stable message id: adding a doc with an id that is
/// already indexed replaces the old one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchDoc {
    /// Stable message id (vault id or publication `emailid`).
    pub id: u64,
    /// The `Message-ID` header, without angle brackets.
    pub message_id: String,
    /// `From` mailboxes.
    pub from: Vec<Address>,
    /// `To` mailboxes.
    pub to: Vec<Address>,
    /// `Cc` mailboxes.
    pub cc: Vec<Address>,
    /// Decoded subject.
    pub subject: String,
    /// Plain-text body (all text/plain parts, decoded).
    pub body_text: String,
    /// HTML body, used (converted to text) when `body_text` is empty.
    pub body_html: Option<String>,
    /// Attachments with their extracted text.
    pub attachments: Vec<AttachmentDoc>,
    /// Date as Unix seconds (UTC), if the message had a usable date.
    pub date: Option<i64>,
    /// Thread id (the vault's thread numbering).
    pub thread: u64,
    /// `List-Id` value, if any.
    pub list: Option<String>,
    /// DKIM verdict summary.
    pub dkim: DkimSummary,
    /// Release number the message was published in, if any.
    pub release: Option<u32>,
    /// True when the message has attachments (also true whenever `attachments` is non-empty).
    pub has_attachment: bool,
    /// The caller's version of this document (any number that changes when the message's
    /// indexed data changes, e.g. a hash of its DKIM verdict and release). Stored, not
    /// searched; read back with [`crate::Index::stamps`] to update an index incrementally.
    pub stamp: u64,
}
