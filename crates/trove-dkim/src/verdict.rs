//! Verdict types: what trove says about each signature and each message, and the summary the
//! `trove verify --json` report prints. All are plain values (`serde::Serialize`) so the vault
//! can store them and publication readers can re-derive them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::keys::KeyType;

/// A word from a small vocabulary: a signed header name, an algorithm, a canonicalisation.
/// Borrowed from a static table when it is one of the common ones and owned otherwise, so a
/// signature's verdict needs no allocation for them (13.5 header names per signature on
/// io-uring, 99.9% of them from 35 names).
pub type Word = Cow<'static, str>;

/// The lower-cased form of `text` (whitespace already removed) as a [`Word`], borrowed when it
/// is one of `known` (lower case, most frequent first).
pub(crate) fn word(text: &str, known: &[&'static str]) -> Word {
    let mut buf = [0u8; 32];
    if let Some(lower) = buf.get_mut(..text.len()) {
        lower.copy_from_slice(text.as_bytes());
        lower.make_ascii_lowercase();
        if let Some(k) = known_word(lower, known) {
            return Cow::Borrowed(k);
        }
    }
    Cow::Owned(text.to_ascii_lowercase())
}

/// The entry of `known` equal to `lower` (length and first byte compared before the bytes).
pub(crate) fn known_word(lower: &[u8], known: &[&'static str]) -> Option<&'static str> {
    known
        .iter()
        .find(|k| {
            k.len() == lower.len() && k.as_bytes().first() == lower.first() && k.as_bytes() == lower
        })
        .copied()
}

/// The entry of `known` (lower case) equal to `name` ignoring ASCII case, without copying it.
pub(crate) fn known_word_ignoring_case(
    name: &[u8],
    known: &[&'static str],
) -> Option<&'static str> {
    let first = name.first()?.to_ascii_lowercase();
    known
        .iter()
        .find(|k| {
            k.len() == name.len()
                && k.as_bytes().first() == Some(&first)
                && k.as_bytes().eq_ignore_ascii_case(name)
        })
        .copied()
}

/// Header names signers list in `h=`, most frequent first (counted on io-uring's 31,204
/// signatures; anything else is kept as an owned string).
pub(crate) const HEADER_NAMES: [&str; 35] = [
    "from",
    "date",
    "to",
    "subject",
    "message-id",
    "cc",
    "mime-version",
    "in-reply-to",
    "references",
    "content-transfer-encoding",
    "reply-to",
    "content-type",
    "user-agent",
    "content-language",
    "sender",
    "content-id",
    "content-description",
    "autocrypt",
    "content-disposition",
    "feedback-id",
    "received",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-subscribe",
    "list-post",
    "list-help",
    "list-owner",
    "list-archive",
    "resent-date",
    "resent-from",
    "resent-to",
    "resent-cc",
    "resent-message-id",
    "x-mailer",
];

/// Algorithm and canonicalisation names.
pub(crate) const ALGORITHMS: [&str; 3] = ["rsa-sha256", "rsa-sha1", "ed25519-sha256"];
/// Canonicalisation names.
pub(crate) const CANONICALIZATIONS: [&str; 2] = ["relaxed", "simple"];

/// The verdict class of one signature. The text forms ([`SignatureResult::as_str`]) are the
/// words stored in the vault and printed by `trove verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureResult {
    /// The signature verifies: these headers and this body were signed by the key's owner.
    Pass,
    /// The signature does not verify (body or signed headers changed, or forged); see reason.
    Fail,
    /// No key for `s=`/`d=` in the store (nor a remembered DNS answer): cannot be checked.
    NoKey,
    /// The key record has an empty `p=`: the domain revoked the selector.
    KeyRevoked,
    /// The key record is broken (bad base64/DER, wrong `v=`, no `p=`).
    KeyMalformed,
    /// Well-formed but uses something trove does not implement (algorithm, canonicalisation,
    /// query method, key type) or a key restriction (`s=`, `h=`) excludes it.
    Unsupported,
    /// The signature header itself is broken (syntax, missing tags, bad `d=`/`i=`).
    Malformed,
    /// A pre-RFC 6376 signature: a draft DKIM signature (`v=0.5`, or no `v=`) or a DomainKeys
    /// (RFC 4870) `DomainKey-Signature`. Reported as its own class, never as a failure.
    Legacy,
}

impl SignatureResult {
    /// The exact word: pass, fail, no_key, key_revoked, key_malformed, unsupported, malformed,
    /// legacy.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureResult::Pass => "pass",
            SignatureResult::Fail => "fail",
            SignatureResult::NoKey => "no_key",
            SignatureResult::KeyRevoked => "key_revoked",
            SignatureResult::KeyMalformed => "key_malformed",
            SignatureResult::Unsupported => "unsupported",
            SignatureResult::Malformed => "malformed",
            SignatureResult::Legacy => "legacy",
        }
    }

    /// All results, in report order.
    pub const ALL: [SignatureResult; 8] = [
        SignatureResult::Pass,
        SignatureResult::Fail,
        SignatureResult::NoKey,
        SignatureResult::KeyRevoked,
        SignatureResult::KeyMalformed,
        SignatureResult::Unsupported,
        SignatureResult::Malformed,
        SignatureResult::Legacy,
    ];
}

impl std::str::FromStr for SignatureResult {
    type Err = String;

    /// Parses the word written by [`SignatureResult::as_str`] (for reading stored verdicts).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SignatureResult::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown signature result {s:?}"))
    }
}

impl fmt::Display for SignatureResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which header carried the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureKind {
    /// `DKIM-Signature` (RFC 6376 and its drafts).
    Dkim,
    /// `DomainKey-Signature` (RFC 4870, DomainKeys, 2004–2008).
    DomainKeys,
}

/// Something a journalist must be told even when a signature passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    /// `l=` limits the signed body: content may have been appended after signing.
    BodyLengthLimit,
    /// `l=` is present and the body is longer than `l=`: there IS unsigned content at the end.
    UnsignedBodyContent,
    /// `h=` does not include From: the visible sender is not covered by the signature.
    FromNotSigned,
    /// rsa-sha1: SHA-1 is broken for collision resistance.
    Sha1,
    /// RSA key under 1024 bits: factorable (Gmail used 512 bits until 2012).
    WeakKey,
    /// The signing domain `d=` and the visible From domain have different organisational
    /// domains (see [`organizational_domain`](crate::organizational_domain)).
    DomainUnrelatedToFrom,
    /// The key record says `t=y` (the domain was testing DKIM).
    TestingKey,
    /// A header that should occur once (From, Subject, Date, To…) occurs more often than `h=`
    /// lists it: one instance is not covered and a mail client may show that one.
    UnsignedDuplicateHeader,
    /// `t=` lies in the future of the verification time given in [`crate::VerifyOptions::now`].
    TimestampInFuture,
}

impl Warning {
    /// The code word (same as the serde form).
    pub fn as_str(self) -> &'static str {
        match self {
            Warning::BodyLengthLimit => "body_length_limit",
            Warning::UnsignedBodyContent => "unsigned_body_content",
            Warning::FromNotSigned => "from_not_signed",
            Warning::Sha1 => "sha1",
            Warning::WeakKey => "weak_key",
            Warning::DomainUnrelatedToFrom => "domain_unrelated_to_from",
            Warning::TestingKey => "testing_key",
            Warning::UnsignedDuplicateHeader => "unsigned_duplicate_header",
            Warning::TimestampInFuture => "timestamp_in_future",
        }
    }

    /// One sentence for a reader.
    pub fn message(self) -> &'static str {
        match self {
            Warning::BodyLengthLimit => "the signature covers only the first l= bytes of the body; content may have been appended",
            Warning::UnsignedBodyContent => "the body is longer than the signed length: the end of the message is not covered",
            Warning::FromNotSigned => "the From header is not covered by the signature",
            Warning::Sha1 => "signed with SHA-1, which is no longer collision resistant",
            Warning::WeakKey => "the RSA key is shorter than 1024 bits and can be factored",
            Warning::DomainUnrelatedToFrom => "the signing domain is unrelated to the visible From domain",
            Warning::TestingKey => "the key was published in testing mode (t=y)",
            Warning::UnsignedDuplicateHeader => "a header that should appear once appears again outside the signature",
            Warning::TimestampInFuture => "the signature timestamp is later than the verification time",
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict on one signature header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureVerdict {
    /// Position among the message's DKIM-Signature headers, top first, from 0. DomainKeys
    /// signatures come after all DKIM ones and continue the numbering.
    pub sig_index: usize,
    /// DKIM-Signature or DomainKey-Signature.
    pub kind: SignatureKind,
    /// `d=` (lower case), empty when missing.
    pub domain: String,
    /// `s=`, empty when missing.
    pub selector: String,
    /// `a=` as written (e.g. `rsa-sha256`), empty when missing.
    pub algorithm: Word,
    /// Header canonicalisation (`simple`/`relaxed`, or what was written).
    pub header_canonicalization: Word,
    /// Body canonicalisation.
    pub body_canonicalization: Word,
    /// `h=`, in order, lower case.
    pub signed_headers: Vec<Word>,
    /// `l=` body length limit.
    pub body_length: Option<u64>,
    /// `t=` signing time (unix seconds).
    pub timestamp: Option<u64>,
    /// `x=` expiry (unix seconds).
    pub expiration: Option<u64>,
    /// `i=` agent identifier (decoded), if present.
    pub identity: Option<String>,
    /// The verdict class.
    pub result: SignatureResult,
    /// Why: `body_hash_mismatch`, `signature_mismatch`, `key_not_found`, `expired`, … (empty for
    /// a plain pass).
    pub reason: String,
    /// `x=` lies before the judgement time (the signature's own `t=` plus tolerance by default,
    /// or [`crate::VerifyOptions::now`]). Independent of the cryptographic result.
    pub expired: bool,
    /// Fingerprint of the key the verdict was reached with (see [`crate::KeyRecord::fingerprint`]).
    pub key_fingerprint: Option<String>,
    /// Provenance of that key.
    pub key_provenance: Option<String>,
    /// Type of that key.
    pub key_type: Option<KeyType>,
    /// Size of that key in bits.
    pub key_bits: Option<u32>,
    /// What a reader must be told, even on a pass.
    pub warnings: Vec<Warning>,
}

impl SignatureVerdict {
    pub(crate) fn empty(sig_index: usize, kind: SignatureKind) -> SignatureVerdict {
        SignatureVerdict {
            sig_index,
            kind,
            domain: String::new(),
            selector: String::new(),
            algorithm: Word::Borrowed(""),
            header_canonicalization: Word::Borrowed(""),
            body_canonicalization: Word::Borrowed(""),
            signed_headers: Vec::new(),
            body_length: None,
            timestamp: None,
            expiration: None,
            identity: None,
            result: SignatureResult::Malformed,
            reason: String::new(),
            expired: false,
            key_fingerprint: None,
            key_provenance: None,
            key_type: None,
            key_bits: None,
            warnings: Vec::new(),
        }
    }
}

/// Result of ARC chain validation (RFC 8617) for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArcResult {
    /// Every seal and the newest ARC-Message-Signature verify.
    Pass,
    /// The chain is broken or a signature does not verify.
    Fail,
    /// No ARC headers.
    None,
    /// A seal or message signature needs a key the store does not have: cannot be checked
    /// offline (not a failure).
    NoKey,
}

impl ArcResult {
    /// The exact word: pass, fail, none, no_key.
    pub fn as_str(self) -> &'static str {
        match self {
            ArcResult::Pass => "pass",
            ArcResult::Fail => "fail",
            ArcResult::None => "none",
            ArcResult::NoKey => "no_key",
        }
    }
}

impl std::str::FromStr for ArcResult {
    type Err = String;

    /// Parses the word written by [`ArcResult::as_str`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            ArcResult::Pass,
            ArcResult::Fail,
            ArcResult::None,
            ArcResult::NoKey,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
        .ok_or_else(|| format!("unknown ARC result {s:?}"))
    }
}

impl fmt::Display for ArcResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The ARC verdict on a message that has ARC headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArcVerdict {
    /// Chain result.
    pub result: ArcResult,
    /// Why (`ams_signature_mismatch`, `seal_signature_mismatch`, `broken_chain`, …; empty on pass).
    pub reason: String,
    /// Number of ARC sets (highest `i=`).
    pub instances: usize,
    /// Key names of the seals, oldest first (`<s>._domainkey.<d>`).
    pub seal_keys: Vec<String>,
}

/// Everything trove says about one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct MessageVerdict {
    /// One verdict per signature header: DKIM-Signature in order (top first), then any
    /// DomainKey-Signature.
    pub signatures: Vec<SignatureVerdict>,
    /// ARC chain result, when the message has ARC headers.
    pub arc: Option<ArcVerdict>,
    /// Domain of the first From address (lower case), used for the relatedness warning.
    pub from_domain: Option<String>,
}

impl MessageVerdict {
    /// True when at least one signature passes.
    pub fn any_pass(&self) -> bool {
        self.signatures
            .iter()
            .any(|s| s.result == SignatureResult::Pass)
    }
}

/// Adds one to `map[word]`; allocates the key only the first time it is seen (this runs
/// for every signature of a corpus).
fn count(map: &mut BTreeMap<String, u64>, word: &str) {
    match map.get_mut(word) {
        Some(n) => *n += 1,
        None => {
            map.insert(word.to_string(), 1);
        }
    }
}

/// Aggregate of many verdicts, serialised as
/// `{"messages": N, "signatures": N, "results": {"pass": N, …}, "domains": {"d": {"pass": N}},
/// "warnings": {…}, "arc": {…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Summary {
    /// Messages added.
    pub messages: u64,
    /// Signatures seen.
    pub signatures: u64,
    /// Count per result word.
    pub results: BTreeMap<String, u64>,
    /// Per signing domain, count per result word.
    pub domains: BTreeMap<String, BTreeMap<String, u64>>,
    /// Count per warning word.
    pub warnings: BTreeMap<String, u64>,
    /// Count per ARC result word (messages with ARC headers only).
    pub arc: BTreeMap<String, u64>,
}

impl Summary {
    /// An empty summary.
    pub fn new() -> Summary {
        Summary::default()
    }

    /// Counts one message's verdict.
    pub fn add(&mut self, verdict: &MessageVerdict) {
        self.messages += 1;
        for sig in &verdict.signatures {
            self.signatures += 1;
            let word = sig.result.as_str();
            count(&mut self.results, word);
            let domain = if sig.domain.is_empty() {
                "-"
            } else {
                sig.domain.as_str()
            };
            match self.domains.get_mut(domain) {
                Some(results) => count(results, word),
                None => {
                    let mut results = BTreeMap::new();
                    count(&mut results, word);
                    self.domains.insert(domain.to_string(), results);
                }
            }
            for w in &sig.warnings {
                count(&mut self.warnings, w.as_str());
            }
        }
        if let Some(arc) = &verdict.arc {
            count(&mut self.arc, arc.result.as_str());
        }
    }

    /// Adds another summary into this one (for parallel runs).
    pub fn merge(&mut self, other: &Summary) {
        self.messages += other.messages;
        self.signatures += other.signatures;
        for (k, v) in &other.results {
            *self.results.entry(k.clone()).or_default() += v;
        }
        for (d, m) in &other.domains {
            let mine = self.domains.entry(d.clone()).or_default();
            for (k, v) in m {
                *mine.entry(k.clone()).or_default() += v;
            }
        }
        for (k, v) in &other.warnings {
            *self.warnings.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.arc {
            *self.arc.entry(k.clone()).or_default() += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_words_round_trip() {
        for r in SignatureResult::ALL {
            assert_eq!(r.as_str().parse::<SignatureResult>(), Ok(r));
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.as_str())
            );
        }
        let words: Vec<&str> = SignatureResult::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            words,
            [
                "pass",
                "fail",
                "no_key",
                "key_revoked",
                "key_malformed",
                "unsupported",
                "malformed",
                "legacy"
            ]
        );
        assert_eq!("no_key".parse::<ArcResult>(), Ok(ArcResult::NoKey));
        assert!("bogus".parse::<SignatureResult>().is_err());
        assert_eq!(
            serde_json::to_string(&Warning::FromNotSigned).unwrap(),
            "\"from_not_signed\""
        );
    }
}
