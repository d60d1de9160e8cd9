//! The crate's one error type. Verification verdicts are values ([`crate::SignatureVerdict`]),
//! never errors: errors are only for input the caller asked us to accept and that is unusable
//! (a malformed key file line, a key that cannot be parsed when a user adds it by hand).

/// Everything that can go wrong while reading keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A line of a key file (`<selector>._domainkey.<domain> <TXT record>`) could not be read.
    #[error("key file line {line}: {message}: {text:?}")]
    KeyFileLine {
        /// 1-based line number in the file.
        line: usize,
        /// What is wrong with it.
        message: String,
        /// The offending line (truncated to 120 characters).
        text: String,
    },
    /// A key given by a user (PEM, base64 or TXT text) is not a usable DKIM public key.
    #[error("invalid key for {selector}._domainkey.{domain}: {message}")]
    InvalidKey {
        /// Selector the key was meant for.
        selector: String,
        /// Domain the key was meant for.
        domain: String,
        /// Why it was rejected.
        message: String,
    },
    /// A DNS name is not of the form `<selector>._domainkey.<domain>`.
    #[error("not a DKIM key name (expected <selector>._domainkey.<domain>): {0:?}")]
    KeyName(String),
    /// The DNS resolver could not be set up (bad system configuration, no runtime).
    #[error("DNS resolver: {0}")]
    Dns(String),
    /// An inline test file (DNS records, blank line, message) has no blank line.
    #[error("inline file has no blank line separating DNS records from the message")]
    NoInlineSeparator,
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;
