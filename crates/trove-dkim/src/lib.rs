//! Offline DKIM and ARC verification of raw message bytes against a historic key store.
//!
//! A leak is only as credible as its proof: a DKIM signature shows that a message left the
//! signing domain's servers with exactly these bytes. Keys rotate and vanish from DNS, so
//! trove verifies against a [`KeyStore`] of keys collected with their provenance (imported
//! from archived key files, added by hand, looked up once), never against live DNS.
//!
//! [`verify_message`] returns a [`MessageVerdict`]: one [`SignatureVerdict`] per
//! DKIM-Signature header (top first), with a result word ([`SignatureResult`]: `pass`, `fail`,
//! `no_key`, `key_revoked`, `key_malformed`, `unsupported`, `malformed`, `legacy`), a reason
//! (`body_hash_mismatch`, `signature_mismatch`, `key_not_found`, …), the key used (fingerprint,
//! provenance, size), whether `x=` had passed, and [`Warning`]s a reader must be told (an `l=`
//! limit, From not signed, SHA-1, a key under 1024 bits, a signing domain unrelated to From);
//! plus the ARC chain result when ARC headers exist. [`Summary`] aggregates verdicts for
//! reports.
//!
//! Expiry is judged at each signature's own `t=` by default (an archive checks years later)
//! and never replaces the cryptographic verdict: an expired signature that verifies is `pass`
//! with `expired = true`. RSA keys under 1024 bits are verified for real and flagged.
//! Pre-RFC 6376 drafts (`v=0.5`, no `v=`) and DomainKeys signatures are reported as `legacy`.
//! A signature whose key is not in the store is `no_key`, never `fail`; likewise an ARC chain
//! that needs a key the store lacks is [`ArcResult::NoKey`].
//!
//! Built on mail-auth 0.13.3's public pieces (signature parsing, simple header
//! canonicalisation, ARC parsing, rust-crypto keys; the header split, selection and relaxed
//! canonicalisation are ports kept byte-identical) rather than its `verify_dkim`, which
//! reads the clock and skips the cryptography of expired signatures. trove canonicalises
//! bodies itself (mail-auth 0.13.3 mishandles a whitespace-only last line) and verifies RSA
//! keys of 1024 bits and more with aws-lc-rs (each key parsed once), keeping rust-crypto for
//! smaller keys and Ed25519.
//!
//! This crate deliberately does not store anything (the vault persists key records and
//! verdicts) and reads no clock (pass [`VerifyOptions::now`] to judge expiry at a given time).
//! Verification never touches the network; [`DnsKeyFetcher`] is the one, separate, way to
//! look a missing key up live, and the caller decides whether to store what it returns.
//!
//! # Example
//! ```
//! # fn main() -> trove_dkim::Result<()> {
//! use trove_dkim::{verify_message, KeyStore, SignatureResult, VerifyOptions};
//!
//! let mut keys = KeyStore::new();
//! keys.import_key_file(
//!     "brisbane._domainkey.football.example.com v=DKIM1; k=ed25519; \
//!      p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
//!     "RFC 8463 appendix A",
//!     1_700_000_000,
//! )?;
//! let raw = include_bytes!("../tests/data/rfc8463-ed25519.eml");
//! let verdict = verify_message(raw, &keys, &VerifyOptions::default());
//! let sig = &verdict.signatures[0];
//! assert_eq!(sig.result, SignatureResult::Pass);
//! assert_eq!(sig.domain, "football.example.com");
//! assert_eq!(sig.key_provenance.as_deref(), Some("RFC 8463 appendix A"));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod arc;
mod body;
mod crypto;
mod dns;
mod domain;
mod error;
mod headers;
mod keys;
mod sigcheck;
mod strip;
mod swar;
mod tags;
mod verdict;
mod verify;

pub use dns::DnsKeyFetcher;
pub use domain::{domains_related, organizational_domain};
pub use error::{Error, Result};
pub use keys::{
    normalize_txt, parse_key_file, parse_key_name, split_inline_records, KeyFileEntry, KeyRecord,
    KeyStatus, KeyStore, KeyType, LookupFailure,
};
pub use verdict::{
    ArcResult, ArcVerdict, MessageVerdict, SignatureKind, SignatureResult, SignatureVerdict,
    Summary, Warning, Word,
};
pub use verify::{signed_data, verify_message, SignedData, VerifyOptions};
