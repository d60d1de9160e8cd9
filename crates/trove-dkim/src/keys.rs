//! The historic key store: DKIM public keys kept with where they came from and when.
//!
//! Keys rotate and old ones disappear from DNS, so an archive verifies against keys it has
//! collected itself. A [`KeyRecord`] is the TXT record text plus provenance; everything else
//! (key type, size, fingerprint, constraints) is derived from the text, so the vault only needs
//! to persist `selector, domain, txt, provenance, added_at` and can rebuild a record with
//! [`KeyRecord::from_txt`]. The store also remembers negative answers (`NXDOMAIN`, timeouts),
//! which the Mail::DKIM test table uses, so that they are reported as "no key", never "fail".

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use mail_auth::common::crypto::VerifyingKey;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_parser::decoders::base64::base64_decode;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::tags::{strip_ws, TagList};

/// The algorithm family of a public key (`k=` tag).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyType {
    /// RSA (`k=rsa`, the default when `k=` is absent).
    Rsa,
    /// Ed25519 (`k=ed25519`, RFC 8463).
    Ed25519,
    /// Any other `k=` value; such keys cannot verify anything.
    Other(String),
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyType::Rsa => f.write_str("rsa"),
            KeyType::Ed25519 => f.write_str("ed25519"),
            KeyType::Other(s) => f.write_str(s),
        }
    }
}

/// Whether a key record can be used to verify signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum KeyStatus {
    /// A public key that parsed; signatures can be checked against it.
    Usable,
    /// `p=` is empty: the domain revoked this selector (RFC 6376 §3.6.1).
    Revoked,
    /// The record is broken (bad base64, bad DER, wrong `v=`, no `p=` …); the text says how.
    Malformed(String),
    /// The record is well formed but uses a key type trove cannot verify (`k=foobar`).
    Unsupported(String),
}

/// A negative DNS answer remembered in place of a key (Mail::DKIM's `FAKE_DNS.dat` has these).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupFailure {
    /// The name does not exist.
    NxDomain,
    /// The query timed out.
    Timeout,
    /// The server failed (SERVFAIL) or another temporary error.
    ServFail,
}

impl LookupFailure {
    /// The reason word used in verdicts.
    pub fn reason(&self) -> &'static str {
        match self {
            LookupFailure::NxDomain => "nxdomain",
            LookupFailure::Timeout => "dns_timeout",
            LookupFailure::ServFail => "dns_servfail",
        }
    }
}

/// One DKIM public key with its history: the unit the vault persists.
#[derive(Clone, Serialize)]
pub struct KeyRecord {
    /// Selector (`s=`), lower case.
    pub selector: String,
    /// Signing domain (`d=`), lower case, no trailing dot.
    pub domain: String,
    /// The TXT record text, with DNS quoting and string splits removed.
    pub txt: String,
    /// Where the key came from, free text: "imported from FILE", "dns lookup", "manual".
    pub provenance: String,
    /// When it was added to the store (unix seconds, given by the caller).
    pub added_at: u64,
    /// Lower-case hex SHA-256 of the decoded `p=` bytes (the SubjectPublicKeyInfo DER for RSA,
    /// the raw 32-byte key for Ed25519); `None` when there is no decodable key.
    pub fingerprint: Option<String>,
    /// Key algorithm family.
    pub key_type: KeyType,
    /// Key size in bits (RSA modulus size; 256 for Ed25519); `None` when unknown.
    pub bits: Option<u32>,
    /// Whether the key is usable, revoked, malformed or unsupported.
    pub status: KeyStatus,
    /// `t=y`: the domain was testing DKIM with this key.
    pub testing: bool,
    /// `t=s`: the `i=` domain of signatures must equal `d=` exactly.
    pub strict_domain: bool,
    /// `h=`: hash algorithms the key may be used with (`None` = any).
    pub hash_algorithms: Option<Vec<String>>,
    /// `s=`: service types (`None` = any); must contain `email` or `*` to verify mail.
    pub services: Option<Vec<String>>,
    #[serde(skip)]
    pub(crate) verifier: Option<Arc<DomainKey>>,
    /// The key parsed once for the fast RSA path (keys of 1024..=8192 bits only; see
    /// crypto.rs).
    #[serde(skip)]
    pub(crate) fast_rsa: Option<Arc<crate::crypto::FastRsa>>,
}

impl fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRecord")
            .field("selector", &self.selector)
            .field("domain", &self.domain)
            .field("key_type", &self.key_type)
            .field("bits", &self.bits)
            .field("status", &self.status)
            .field("fingerprint", &self.fingerprint)
            .field("provenance", &self.provenance)
            .field("added_at", &self.added_at)
            .finish_non_exhaustive()
    }
}

impl KeyRecord {
    /// Builds a record from TXT record text (quotes and split strings allowed). Never fails:
    /// a broken record is kept with [`KeyStatus::Malformed`] so that signatures made with it are
    /// reported as `key_malformed` rather than `no_key`.
    pub fn from_txt(
        selector: &str,
        domain: &str,
        txt: &str,
        provenance: &str,
        added_at: u64,
    ) -> KeyRecord {
        let txt = normalize_txt(txt);
        let mut record = KeyRecord {
            selector: selector.trim().to_ascii_lowercase(),
            domain: domain.trim().trim_end_matches('.').to_ascii_lowercase(),
            txt,
            provenance: provenance.to_string(),
            added_at,
            fingerprint: None,
            key_type: KeyType::Rsa,
            bits: None,
            status: KeyStatus::Usable,
            testing: false,
            strict_domain: false,
            hash_algorithms: None,
            services: None,
            verifier: None,
            fast_rsa: None,
        };
        record.status = record.analyse();
        record
    }

    /// Builds a record from what a user typed for `trove keys add`: a PEM public key, bare
    /// base64 (SubjectPublicKeyInfo DER, PKCS#1 RSA, or a raw 32-byte Ed25519 key) or DNS TXT
    /// record text. Unlike [`KeyRecord::from_txt`] this refuses anything that is not a usable key.
    pub fn from_user_input(
        selector: &str,
        domain: &str,
        input: &str,
        provenance: &str,
        added_at: u64,
    ) -> Result<KeyRecord> {
        let invalid = |message: String| Error::InvalidKey {
            selector: selector.to_string(),
            domain: domain.to_string(),
            message,
        };
        let input = input.trim();
        let txt = if input.contains("-----BEGIN") {
            let body: String = input
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .map(str::trim)
                .collect();
            if !input.contains("PUBLIC KEY-----") || input.contains("PRIVATE KEY") {
                return Err(invalid("PEM block is not a PUBLIC KEY".into()));
            }
            txt_from_der(&body).map_err(invalid)?
        } else if normalize_txt(input).contains("p=") {
            normalize_txt(input)
        } else {
            txt_from_der(&strip_ws(input)).map_err(invalid)?
        };
        let record = KeyRecord::from_txt(selector, domain, &txt, provenance, added_at);
        match &record.status {
            KeyStatus::Usable => Ok(record),
            KeyStatus::Revoked => Err(invalid("p= is empty (revoked key)".into())),
            KeyStatus::Malformed(m) | KeyStatus::Unsupported(m) => Err(invalid(m.clone())),
        }
    }

    /// The DNS name the key lives at: `<selector>._domainkey.<domain>`.
    pub fn dns_name(&self) -> String {
        format!("{}._domainkey.{}", self.selector, self.domain)
    }

    /// The decoded `p=` bytes: the SubjectPublicKeyInfo DER of an RSA key, the raw 32 bytes of
    /// an Ed25519 key (what [`KeyRecord::fingerprint`] is the SHA-256 of). `None` when the
    /// record has no decodable key. With [`crate::signed_data`], anyone can check a verdict
    /// with another tool (e.g. `openssl`).
    pub fn public_key(&self) -> Option<Vec<u8>> {
        let tags = TagList::parse(self.txt.as_bytes()).ok()?;
        let p = strip_ws(tags.get("p")?);
        if p.is_empty() {
            return None;
        }
        base64_decode(p.as_bytes())
    }

    /// Parses the tags, fills in the derived fields and returns the status.
    fn analyse(&mut self) -> KeyStatus {
        let tags = match TagList::parse(self.txt.as_bytes()) {
            Ok(tags) => tags,
            Err(e) => return KeyStatus::Malformed(e.to_string()),
        };
        if let Some(v) = tags.get("v") {
            if v != "DKIM1" {
                return KeyStatus::Malformed(format!("v={v} (expected DKIM1)"));
            }
        }
        self.key_type = match tags.get("k").map(|k| k.to_ascii_lowercase()) {
            None => KeyType::Rsa,
            Some(k) if k == "rsa" => KeyType::Rsa,
            Some(k) if k == "ed25519" => KeyType::Ed25519,
            Some(k) => KeyType::Other(k),
        };
        let list = |v: &str| -> Vec<String> {
            strip_ws(v)
                .split(':')
                .filter(|s| !s.is_empty())
                .map(|s| s.to_ascii_lowercase())
                .collect()
        };
        if let Some(t) = tags.get("t") {
            let flags = list(t);
            self.testing = flags.iter().any(|f| f == "y");
            self.strict_domain = flags.iter().any(|f| f == "s");
        }
        self.hash_algorithms = tags.get("h").map(list);
        self.services = tags.get("s").map(list);
        let Some(p) = tags.get("p") else {
            return KeyStatus::Malformed("no p= tag".into());
        };
        let p = strip_ws(p);
        if p.is_empty() {
            return KeyStatus::Revoked;
        }
        let Some(der) = base64_decode(p.as_bytes()) else {
            return KeyStatus::Malformed("p= is not valid base64".into());
        };
        self.fingerprint = Some(hex(&Sha256::digest(&der)));
        if let KeyType::Other(k) = &self.key_type {
            return KeyStatus::Unsupported(format!("key type k={k}"));
        }
        match DomainKey::parse(self.txt.as_bytes()) {
            Ok(key) => {
                self.bits = Some(match self.key_type {
                    KeyType::Ed25519 => 256,
                    _ => u32::try_from(key.p.public_key_bits()).unwrap_or(u32::MAX),
                });
                self.verifier = Some(Arc::new(key));
                if self.key_type == KeyType::Rsa
                    && self.bits.is_some_and(|b| (1024..=8192).contains(&b))
                {
                    self.fast_rsa = crate::crypto::FastRsa::new(&der).map(Arc::new);
                }
                KeyStatus::Usable
            }
            Err(e) => KeyStatus::Malformed(format!("public key does not parse: {e}")),
        }
    }

    /// The parsed verifier, if the key is usable.
    pub(crate) fn verifying_key(&self) -> Option<&(dyn VerifyingKey + Send + Sync)> {
        self.verifier.as_deref().map(|k| &*k.p)
    }
}

/// Turns base64 DER (SPKI or PKCS#1 RSA, SPKI or raw Ed25519) into TXT record text.
fn txt_from_der(b64: &str) -> std::result::Result<String, String> {
    let der = base64_decode(b64.as_bytes()).ok_or("not valid base64")?;
    // SubjectPublicKeyInfo for Ed25519 = fixed 12-byte prefix + 32-byte key (RFC 8410).
    const ED25519_SPKI: [u8; 12] = [
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    if der.len() == 44 && der.starts_with(&ED25519_SPKI) {
        return Ok(format!(
            "v=DKIM1; k=ed25519; p={}",
            base64_encode(&der[12..])
        ));
    }
    if der.len() == 32 {
        return Ok(format!("v=DKIM1; k=ed25519; p={b64}"));
    }
    Ok(format!("v=DKIM1; k=rsa; p={b64}"))
}

/// Removes DNS presentation quoting: `"v=DKIM1; k=rsa; " "p=MIIB…"` becomes one string.
/// Text without quotes is returned trimmed. `""` (an empty TXT string) becomes empty.
pub fn normalize_txt(text: &str) -> String {
    let text = text.trim();
    if !text.starts_with('"') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut in_quotes = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => in_quotes = !in_quotes,
            '\\' if in_quotes => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            c if in_quotes => out.push(c),
            _ => {} // whitespace between strings
        }
    }
    out
}

/// Splits `<selector>._domainkey.<domain>[.]` into lower-case (selector, domain).
pub fn parse_key_name(name: &str) -> Result<(String, String)> {
    let lower = name.trim().trim_end_matches('.').to_ascii_lowercase();
    match lower.split_once("._domainkey.") {
        Some((s, d)) if !s.is_empty() && !d.is_empty() => Ok((s.to_string(), d.to_string())),
        _ => Err(Error::KeyName(name.to_string())),
    }
}

/// One line of a key file: a key, or a remembered negative DNS answer.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // a handful per file; boxing would only complicate callers
pub enum KeyFileEntry {
    /// A TXT record (usable or not: see [`KeyRecord::status`]).
    Key(KeyRecord),
    /// `NXDOMAIN`, `~~Query timed out~~` or `~~SERVFAIL~~` for this name.
    Failure {
        /// Selector, lower case.
        selector: String,
        /// Domain, lower case.
        domain: String,
        /// Which negative answer.
        failure: LookupFailure,
    },
}

/// Reads the historic key file format: `<selector>._domainkey.<domain> <TXT record>` one per
/// line; `#` comments and blank lines are skipped; the TXT part may be quoted/split; the
/// special values `NXDOMAIN`, `~~Query timed out~~` and `~~SERVFAIL~~` (Mail::DKIM's
/// `FAKE_DNS.dat`) become [`KeyFileEntry::Failure`]. Errors name the 1-based line number.
pub fn parse_key_file(text: &str, provenance: &str, added_at: u64) -> Result<Vec<KeyFileEntry>> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let err = |message: &str| Error::KeyFileLine {
            line: index + 1,
            message: message.to_string(),
            text: trimmed.chars().take(120).collect(),
        };
        let (name, record) = trimmed
            .split_once(char::is_whitespace)
            .ok_or_else(|| err("expected '<selector>._domainkey.<domain> <TXT record>'"))?;
        let (selector, domain) = parse_key_name(name).map_err(|_| err("bad key name"))?;
        let record = record.trim();
        if record.is_empty() {
            return Err(err("missing TXT record after the name"));
        }
        let failure = match record.to_ascii_uppercase().as_str() {
            "NXDOMAIN" => Some(LookupFailure::NxDomain),
            "~~QUERY TIMED OUT~~" => Some(LookupFailure::Timeout),
            "~~SERVFAIL~~" => Some(LookupFailure::ServFail),
            _ => None,
        };
        entries.push(match failure {
            Some(failure) => KeyFileEntry::Failure {
                selector,
                domain,
                failure,
            },
            None => KeyFileEntry::Key(KeyRecord::from_txt(
                &selector, &domain, record, provenance, added_at,
            )),
        });
    }
    Ok(entries)
}

/// Splits a file in the Stalwart mail-auth test format (DNS records in the key file format, a
/// blank line, then the message) into its key entries and the message bytes.
pub fn split_inline_records<'a>(
    file: &'a [u8],
    provenance: &str,
    added_at: u64,
) -> Result<(Vec<KeyFileEntry>, &'a [u8])> {
    let pos = find_blank_line(file).ok_or(Error::NoInlineSeparator)?;
    let (head, rest) = file.split_at(pos.0);
    let entries = parse_key_file(&String::from_utf8_lossy(head), provenance, added_at)?;
    Ok((entries, &rest[pos.1..]))
}

/// Position of the first blank line: (end of records, length of the separator).
fn find_blank_line(file: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i < file.len() {
        if file[i] == b'\n' {
            match file.get(i + 1..) {
                Some([b'\n', ..]) => return Some((i + 1, 1)),
                Some([b'\r', b'\n', ..]) => return Some((i + 1, 2)),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// The in-memory key store consulted by [`crate::verify_message`]. Several records may exist
/// for one name (a selector re-used with a new key years later): verification tries each.
#[derive(Debug, Clone, Default)]
pub struct KeyStore {
    /// domain → selector → records. Nested so that a lookup borrows the names it is given
    /// (no allocation when they are lower case already, as they are during verification).
    keys: HashMap<String, HashMap<String, Vec<KeyRecord>>>,
    /// domain → selector → remembered negative answer.
    failures: HashMap<String, HashMap<String, LookupFailure>>,
}

/// `name` lower-cased, borrowed when it is lower case already.
fn lower(name: &str) -> std::borrow::Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        name.to_ascii_lowercase().into()
    } else {
        name.into()
    }
}

impl KeyStore {
    /// An empty store.
    pub fn new() -> KeyStore {
        KeyStore::default()
    }

    /// Adds a record. A record with the same TXT text as one already stored for the name is
    /// ignored (the earlier one keeps its provenance); returns whether it was added.
    pub fn insert(&mut self, record: KeyRecord) -> bool {
        if let Some(selectors) = self.failures.get_mut(&record.domain) {
            selectors.remove(&record.selector);
        }
        let list = self
            .keys
            .entry(record.domain.clone())
            .or_default()
            .entry(record.selector.clone())
            .or_default();
        if list.iter().any(|r| r.txt == record.txt) {
            return false;
        }
        list.push(record);
        true
    }

    /// Remembers a negative DNS answer for a name that has no key.
    pub fn insert_failure(&mut self, selector: &str, domain: &str, failure: LookupFailure) {
        let (selector, domain) = (selector.to_ascii_lowercase(), domain.to_ascii_lowercase());
        let has_key = self
            .keys
            .get(&domain)
            .is_some_and(|selectors| selectors.contains_key(&selector));
        if !has_key {
            self.failures
                .entry(domain)
                .or_default()
                .insert(selector, failure);
        }
    }

    /// Adds every entry of a parsed key file; returns how many keys were added.
    pub fn extend(&mut self, entries: impl IntoIterator<Item = KeyFileEntry>) -> usize {
        let mut added = 0;
        for entry in entries {
            match entry {
                KeyFileEntry::Key(record) => added += usize::from(self.insert(record)),
                KeyFileEntry::Failure {
                    selector,
                    domain,
                    failure,
                } => self.insert_failure(&selector, &domain, failure),
            }
        }
        added
    }

    /// Parses a key file (see [`parse_key_file`]) and adds it; returns how many keys were added.
    pub fn import_key_file(
        &mut self,
        text: &str,
        provenance: &str,
        added_at: u64,
    ) -> Result<usize> {
        Ok(self.extend(parse_key_file(text, provenance, added_at)?))
    }

    /// The records stored for a selector and domain (case-insensitive).
    pub fn get(&self, selector: &str, domain: &str) -> &[KeyRecord] {
        self.keys
            .get(lower(domain.trim_end_matches('.')).as_ref())
            .and_then(|selectors| selectors.get(lower(selector).as_ref()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The remembered negative answer for a name, if any.
    pub fn failure(&self, selector: &str, domain: &str) -> Option<&LookupFailure> {
        self.failures
            .get(lower(domain.trim_end_matches('.')).as_ref())
            .and_then(|selectors| selectors.get(lower(selector).as_ref()))
    }

    /// Every stored record, sorted by domain then selector then time added.
    pub fn records(&self) -> Vec<&KeyRecord> {
        let mut all: Vec<&KeyRecord> = self
            .keys
            .values()
            .flat_map(HashMap::values)
            .flatten()
            .collect();
        all.sort_by(|a, b| {
            (&a.domain, &a.selector, a.added_at).cmp(&(&b.domain, &b.selector, b.added_at))
        });
        all
    }

    /// Number of stored key records.
    pub fn len(&self) -> usize {
        self.keys
            .values()
            .flat_map(HashMap::values)
            .map(Vec::len)
            .sum()
    }

    /// True when no key is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(T[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA1024: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

    #[test]
    fn txt_quoting_and_splits() {
        assert_eq!(
            normalize_txt(r#""v=DKIM1; k=rsa; " "p=AB" "CD""#),
            "v=DKIM1; k=rsa; p=ABCD"
        );
        assert_eq!(normalize_txt(" k=rsa; p=x "), "k=rsa; p=x");
        assert_eq!(normalize_txt(r#""""#), "");
    }

    #[test]
    fn rsa_record_is_analysed() {
        let r = KeyRecord::from_txt(
            "Test",
            "Example.COM.",
            &format!("v=DKIM1; k=rsa; t=y:s; p={RSA1024}"),
            "manual",
            7,
        );
        assert_eq!(r.status, KeyStatus::Usable);
        assert_eq!(
            (r.selector.as_str(), r.domain.as_str()),
            ("test", "example.com")
        );
        assert_eq!(r.bits, Some(1024));
        assert!(r.testing && r.strict_domain);
        assert_eq!(r.fingerprint.as_ref().map(String::len), Some(64));
        // 1024 bits and up take ring's fast path; smaller keys stay on rust-crypto.
        assert!(r.fast_rsa.is_some());
        let small = KeyRecord::from_txt("s", "d", "p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBALgSoqXVSEmfcIsOzw7oRuCCOwsmtX/SJnTWxYyj2leFxfS/AVJ+dYfY+hXqMsT7l+MZvvh/R1WzN4MO/kI/7XsCAwEAAQ==", "m", 0);
        assert_eq!((small.bits, small.fast_rsa.is_none()), (Some(512), true));
    }

    #[test]
    fn revoked_malformed_unsupported() {
        assert_eq!(
            KeyRecord::from_txt("s", "d", "k=rsa; p=", "m", 0).status,
            KeyStatus::Revoked
        );
        assert!(matches!(
            KeyRecord::from_txt("s", "d", "v=DKIM3; p=AAAA", "m", 0).status,
            KeyStatus::Malformed(_)
        ));
        assert!(matches!(
            KeyRecord::from_txt("s", "d", "", "m", 0).status,
            KeyStatus::Malformed(_)
        ));
        assert!(matches!(
            KeyRecord::from_txt("s", "d", &format!("k=foobar; p={RSA1024}"), "m", 0).status,
            KeyStatus::Unsupported(_)
        ));
        assert!(matches!(
            KeyRecord::from_txt("s", "d", "p=!!!!", "m", 0).status,
            KeyStatus::Malformed(_)
        ));
    }

    #[test]
    fn user_input_forms_agree() {
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----\n",
            &RSA1024[..64],
            &RSA1024[64..]
        );
        let a = KeyRecord::from_user_input("s", "d", &pem, "manual", 0).unwrap();
        let b = KeyRecord::from_user_input("s", "d", RSA1024, "manual", 0).unwrap();
        let c = KeyRecord::from_user_input(
            "s",
            "d",
            &format!("\"k=rsa; \" \"p={RSA1024}\""),
            "manual",
            0,
        )
        .unwrap();
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(b.fingerprint, c.fingerprint);
        assert!(KeyRecord::from_user_input("s", "d", "p=", "manual", 0).is_err());
        assert!(KeyRecord::from_user_input("s", "d", "not a key", "manual", 0).is_err());
        // Ed25519 given as SPKI (RFC 8410) is reduced to the raw key DKIM uses.
        let e = KeyRecord::from_user_input(
            "s",
            "d",
            "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
            "manual",
            0,
        )
        .unwrap();
        assert_eq!(e.key_type, KeyType::Ed25519);
        assert_eq!(
            e.txt,
            "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
        );
    }

    #[test]
    fn key_file_lines_and_errors() {
        let text = format!("# comment\n\nsel._domainkey.example.org k=rsa; p={RSA1024}\nnx._domainkey.example.org NXDOMAIN\nto._domainkey.example.org ~~Query timed out~~\n");
        let entries = parse_key_file(&text, "imported", 1).unwrap();
        assert_eq!(entries.len(), 3);
        let mut store = KeyStore::new();
        assert_eq!(store.extend(entries), 1);
        assert_eq!(store.get("SEL", "example.org").len(), 1);
        assert_eq!(
            store.failure("nx", "example.org"),
            Some(&LookupFailure::NxDomain)
        );
        let err = parse_key_file("ok._domainkey.a.b p=\nbogus-line-without-record\n", "x", 0)
            .unwrap_err();
        assert!(matches!(err, Error::KeyFileLine { line: 2, .. }), "{err}");
        let err = parse_key_file("example.org p=abc\n", "x", 0).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn base64_roundtrip() {
        assert_eq!(base64_encode(b"abcd"), "YWJjZA==");
        assert_eq!(base64_encode(b"abc"), "YWJj");
    }
}
