//! DKIM verification of one message against the key store.
//!
//! # Why trove drives verification itself instead of calling `verify_dkim`
//! mail-auth 0.13.3's `MessageAuthenticator::verify_dkim` (a) reads the wall clock and returns
//! `Neutral(SignatureExpired)` for a signature past `x=` *without checking its cryptography*
//! (every Gmail signature since 2023 has a one-week `x=`, so an archive would learn nothing),
//! (b) is async and wants a DNS resolver, and (c) hides why a signature is unusable (legacy
//! draft versions, unknown `q=`, bad `i=`). Its *pieces* are public and correct, so trove uses
//! them: `dkim::Signature::parse` (for signatures with a usable key; sigcheck.rs reaches its
//! verdict for the others without building the signature), simple header canonicalisation,
//! the rust-crypto `VerifyingKey` (which verifies RSA keys under 1024 bits) and, for messages
//! with ARC headers, `AuthenticatedMessage::parse_with_opts`. The header split and bottom-up
//! header selection are ports of mail-auth's (headers.rs: its full message parse was a large
//! share of the time for work trove does not use), and so is relaxed header canonicalisation
//! (`relaxed_header`, same bytes with fewer copies); bodies are canonicalised by trove
//! (body.rs); RSA keys of 1024 bits and more go through aws-lc-rs, parsed once per key
//! (crypto.rs). trove adds: its own tag-level classification
//! (tags.rs), key restrictions (`t=s`, `h=`, `s=`), expiry judged at the signature's own time
//! and reported separately, and the warnings a reader needs.

use std::sync::LazyLock;

use mail_auth::common::crypto::{Algorithm, HashAlgorithm};
use mail_auth::dkim::{Canonicalization, Signature};
use mail_auth::AuthenticatedMessage;
use memchr::memmem::Finder;

use crate::arc::ArcCheck;
use crate::body::{body_hash, BodyCache};
use crate::crypto::{header_block, verify_headers, CryptoFailure};
use crate::domain::{domains_related, valid_domain};
use crate::headers::{has_arc_headers, is_arc_name, signed_headers, split_headers, RawHeader};
use crate::keys::{KeyRecord, KeyStatus, KeyStore, KeyType};
use crate::sigcheck::{check_signature, Decoded, SigError, SigFields};
use crate::strip::strip_signature;
use crate::tags::{strip_ws, TagList};
use crate::verdict::{
    known_word_ignoring_case, word, MessageVerdict, SignatureKind, SignatureResult,
    SignatureVerdict, Warning, Word, ALGORITHMS, CANONICALIZATIONS, HEADER_NAMES,
};

/// How to verify. `Default` is what an archive wants: judge expiry at each signature's own
/// time, normalise bare LF line endings to CRLF, validate ARC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Time at which to judge `x=` expiry (unix seconds). `None`: each signature is judged at
    /// its own `t=` plus [`VerifyOptions::tolerance`] (an archive checks years later; what
    /// matters is that the signature was valid when made). Never affects the cryptographic
    /// verdict, only [`SignatureVerdict::expired`]. A signature with `x=` but no `t=` can only
    /// be judged when `now` is given.
    pub now: Option<u64>,
    /// Seconds added to `t=` when `now` is `None` (clock skew allowance). Default 60.
    pub tolerance: u64,
    /// Convert bare LF line endings in the header section to CRLF before verifying (mbox and
    /// maildir files usually store LF; signatures were made over CRLF). Default true. Body
    /// lines may end in CRLF or LF either way: body canonicalisation ends every line in CRLF.
    pub normalize_line_endings: bool,
    /// Validate ARC chains. Default true.
    pub verify_arc: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            now: None,
            tolerance: 60,
            normalize_line_endings: true,
            verify_arc: true,
        }
    }
}

/// Headers that RFC 5322 allows once: an extra, unsigned instance is what a mail client may
/// show, so a signed message with one is flagged ([`Warning::UnsignedDuplicateHeader`]).
const SINGLETON_HEADERS: [&str; 12] = [
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "content-type",
    "mime-version",
];

/// Verifies every DKIM-Signature (and reports every DomainKey-Signature) of a raw message, and
/// its ARC chain when present. Never panics, never touches the network or the clock.
pub fn verify_message(raw: &[u8], keys: &KeyStore, opts: &VerifyOptions) -> MessageVerdict {
    // The body is canonicalised line by line and accepts LF or CRLF (body.rs). The header
    // section is split as it would be with its bare LFs turned into CRLF, without copying it:
    // relaxed header canonicalisation gives the same bytes for either line ending, and only
    // simple canonicalisation (of a signature with a key) and ARC's parse convert what they
    // hash (mbox messages are LF-only, and most signatures never reach the hashing).
    let (headers, body_start) = split_headers(raw, opts.normalize_line_endings);
    let body_start = body_start.unwrap_or_else(|| body_offset(raw));
    let body = &raw[body_start..];
    let head = &raw[..body_start];
    if headers.is_empty() {
        return MessageVerdict::default();
    }
    let from_domain = crate::headers::from_domain(&headers);

    // Room for two verdicts (a few hundred bytes each): the first push would make room for
    // four, a size that goes through malloc's slow path, for every signed message.
    let mut signatures = Vec::with_capacity(2);
    let mut domainkeys = Vec::new();
    let mut bodies = BodyCache::default();
    // How often each of SINGLETON_HEADERS occurs, counted once for all signatures.
    let mut singletons = [0usize; SINGLETON_HEADERS.len()];
    for (name, _) in &headers {
        let name = name.trim_ascii();
        if let Some(i) = SINGLETON_HEADERS
            .iter()
            .position(|h| h.len() == name.len() && name.eq_ignore_ascii_case(h.as_bytes()))
        {
            singletons[i] += 1;
        }
    }
    let ctx = MessageContext {
        headers: &headers,
        singletons,
        body,
        from_domain: from_domain.as_deref(),
        keys,
        opts,
    };
    for &(name, value) in &headers {
        let trimmed = name.trim_ascii();
        if trimmed.eq_ignore_ascii_case(b"DKIM-Signature") {
            let index = signatures.len();
            signatures.push(verify_one(&ctx, name, value, index, &mut bodies));
        } else if trimmed.eq_ignore_ascii_case(b"DomainKey-Signature") {
            domainkeys.push(value);
        }
    }
    for value in domainkeys {
        let mut v = SignatureVerdict::empty(signatures.len(), SignatureKind::DomainKeys);
        if let Ok(tags) = TagList::parse(value) {
            v.domain = tags.get("d").unwrap_or_default().to_ascii_lowercase();
            v.selector = tags.get("s").unwrap_or_default().to_string();
            v.algorithm = Word::Owned(tags.get("a").unwrap_or("rsa-sha1").to_string());
            v.header_canonicalization = Word::Owned(tags.get("c").unwrap_or("simple").to_string());
            v.signed_headers = tags.get("h").map(header_list).unwrap_or_default();
        }
        v.result = SignatureResult::Legacy;
        v.reason = "domainkeys".into();
        signatures.push(v);
    }

    // mail-auth parses the ARC headers, for the messages that have any.
    let arc = if opts.verify_arc && has_arc_headers(&headers) {
        verify_arc(&headers, head, body, keys, opts, &mut bodies)
    } else {
        None
    };
    MessageVerdict {
        signatures,
        arc,
        from_domain,
    }
}

/// Validates the ARC chain of a message that has ARC headers. mail-auth's parse of the whole
/// header section (every DKIM-Signature parsed, every header classified) made validating
/// ARC cost more than verifying DKIM, though the chain's structure and the key lookup read
/// only the ARC headers: those are parsed alone first, and the whole section only when the
/// newest ARC-Message-Signature has a usable key (its signed headers are then needed).
fn verify_arc(
    headers: &[RawHeader<'_>],
    head: &[u8],
    body: &[u8],
    keys: &KeyStore,
    opts: &VerifyOptions,
    bodies: &mut BodyCache,
) -> Option<crate::verdict::ArcVerdict> {
    let mut arc_only = Vec::with_capacity(4096);
    for (name, value) in headers.iter().filter(|(name, _)| is_arc_name(name)) {
        arc_only.extend_from_slice(name);
        arc_only.push(b':');
        arc_only.extend_from_slice(value);
    }
    arc_only.extend_from_slice(b"\r\n");
    let arc_only = normalized(opts, &arc_only);
    let message = AuthenticatedMessage::parse_with_opts(&arc_only, None, false)?;
    match crate::arc::verify_arc(&message, keys, bodies, body, false) {
        ArcCheck::Done(verdict) => verdict,
        ArcCheck::NeedsAllHeaders => {
            let head = normalized(opts, head);
            let message = AuthenticatedMessage::parse_with_opts(&head, None, false)?;
            match crate::arc::verify_arc(&message, keys, bodies, body, true) {
                ArcCheck::Done(verdict) => verdict,
                ArcCheck::NeedsAllHeaders => None, // not returned with all headers
            }
        }
    }
}

/// What every signature of one message is checked against.
struct MessageContext<'a> {
    headers: &'a [RawHeader<'a>],
    /// Occurrences of each of [`SINGLETON_HEADERS`] in `headers`.
    singletons: [usize; SINGLETON_HEADERS.len()],
    body: &'a [u8],
    from_domain: Option<&'a str>,
    keys: &'a KeyStore,
    opts: &'a VerifyOptions,
}

fn verify_one(
    ctx: &MessageContext<'_>,
    name: &[u8],
    value: &[u8],
    index: usize,
    bodies: &mut BodyCache,
) -> SignatureVerdict {
    let MessageContext {
        headers,
        singletons,
        body,
        from_domain,
        keys,
        opts,
    } = *ctx;
    let mut v = SignatureVerdict::empty(index, SignatureKind::Dkim);
    let verdict = |mut v: SignatureVerdict, result: SignatureResult, reason: &str| {
        v.result = result;
        v.reason = reason.to_string();
        v
    };

    // 1. Tag syntax, and the descriptive fields (filled even when the signature is unusable).
    let tags = match TagList::parse(value) {
        Ok(tags) => tags,
        Err(e) => {
            let reason = match e {
                crate::tags::TagError::Duplicate(_) => "duplicate_tag",
                _ => "tag_syntax",
            };
            return verdict(v, SignatureResult::Malformed, reason);
        }
    };
    v.domain = strip_ws(tags.get("d").unwrap_or_default()).to_ascii_lowercase();
    v.selector = strip_ws(tags.get("s").unwrap_or_default()).into_owned();
    v.algorithm = word(&strip_ws(tags.get("a").unwrap_or_default()), &ALGORITHMS);
    let c = strip_ws(tags.get("c").unwrap_or("simple")).to_ascii_lowercase();
    let (ch, cb) = c.split_once('/').unwrap_or((c.as_str(), "simple"));
    v.header_canonicalization = word(ch, &CANONICALIZATIONS);
    v.body_canonicalization = word(cb, &CANONICALIZATIONS);
    v.signed_headers = tags.get("h").map(header_list).unwrap_or_default();
    let mut bad_number = false;
    let mut number = |tag: &str| -> Option<u64> {
        let text = strip_ws(tags.get(tag)?);
        // RFC 6376 limits these to 12 digits; larger values are clamped, not rejected.
        match text.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
                Some(u64::MAX)
            }
            Err(_) => {
                bad_number = true;
                None
            }
        }
    };
    v.body_length = number("l");
    v.timestamp = number("t");
    v.expiration = number("x");

    // 2. Version: anything but v=1 predates RFC 6376 (drafts used v=0.5 or no v= at all).
    match tags.get("v").map(strip_ws) {
        None => return verdict(v, SignatureResult::Legacy, "no_version_tag"),
        Some(ver) if ver == "1" => {}
        Some(ver) if ver.starts_with("0.") => {
            return verdict(v, SignatureResult::Legacy, "draft_version")
        }
        Some(_) => return verdict(v, SignatureResult::Unsupported, "unsupported_version"),
    }

    // 3. Required tags and their syntax.
    for tag in ["a", "b", "bh", "d", "h", "s"] {
        // Values are trimmed (TagList), so one strips to nothing only when it is empty.
        if tags.get(tag).is_none_or(str::is_empty) {
            return verdict(v, SignatureResult::Malformed, &format!("missing_tag_{tag}"));
        }
    }
    if bad_number {
        return verdict(v, SignatureResult::Malformed, "bad_number");
    }
    if !matches!(&*v.algorithm, "rsa-sha256" | "rsa-sha1" | "ed25519-sha256") {
        return verdict(v, SignatureResult::Unsupported, "unsupported_algorithm");
    }
    let known = |c: &str| c == "simple" || c == "relaxed";
    if !known(ch) || !known(cb) || c.matches('/').count() > 1 {
        return verdict(
            v,
            SignatureResult::Unsupported,
            "unsupported_canonicalization",
        );
    }
    if let Some(q) = tags.get("q") {
        // q= is a colon-separated list of methods (RFC 6376 §3.5); dns/txt must be among them.
        if !strip_ws(q)
            .split(':')
            .any(|m| m.eq_ignore_ascii_case("dns/txt"))
        {
            return verdict(v, SignatureResult::Unsupported, "unsupported_query_method");
        }
    }
    if !valid_domain(&v.domain) {
        return verdict(v, SignatureResult::Malformed, "invalid_domain");
    }
    if let (Some(t), Some(x)) = (v.timestamp, v.expiration) {
        if x < t {
            return verdict(v, SignatureResult::Malformed, "expiration_before_timestamp");
        }
    }

    // 4. mail-auth's verdict on the header: bad base64 and what its parser rejects are
    // `malformed` whether or not a key is known. sigcheck.rs reaches the same decision without
    // building the signature (decoded b=, every h= name); mail-auth parses it in full in
    // step 8, only for signatures that have a usable key.
    let fields = match check_signature(value) {
        Ok(fields) => fields,
        Err(SigError::Base64) => return verdict(v, SignatureResult::Malformed, "bad_base64"),
        Err(SigError::Other) => return verdict(v, SignatureResult::Malformed, "unparsable"),
    };
    if !fields.i.is_empty() {
        let i = v.identity.insert(fields.i.clone());
        let auid_domain = i.rsplit_once('@').map_or(i.as_str(), |(_, d)| d);
        if !domain_within(auid_domain, &v.domain) {
            return verdict(v, SignatureResult::Malformed, "identity_not_in_domain");
        }
    }

    // 5. Expiry, judged separately from the cryptography.
    let judge_time = opts
        .now
        .or(v.timestamp.map(|t| t.saturating_add(opts.tolerance)));
    v.expired = match (v.expiration, judge_time) {
        (Some(x), Some(now)) => x < now,
        _ => false,
    };
    if let (Some(now), Some(t)) = (opts.now, v.timestamp) {
        if t > now.saturating_add(opts.tolerance) {
            v.warnings.push(Warning::TimestampInFuture);
        }
    }

    // 6. Warnings that do not depend on the key.
    if let Some(l) = v.body_length {
        v.warnings.push(Warning::BodyLengthLimit);
        if l < bodies.get(fields.cb, body).len() as u64 {
            v.warnings.push(Warning::UnsignedBodyContent);
        }
    }
    if !v.signed_headers.iter().any(|h| h == "from") {
        v.warnings.push(Warning::FromNotSigned);
    }
    if fields.a == Algorithm::RsaSha1 {
        v.warnings.push(Warning::Sha1);
    }
    if let Some(from) = from_domain {
        if !domains_related(&v.domain, from) {
            v.warnings.push(Warning::DomainUnrelatedToFrom);
        }
    }
    for (header, &present) in SINGLETON_HEADERS.iter().zip(&singletons) {
        if present < 2 {
            continue; // never more present than signed when signed at least once
        }
        let signed = v.signed_headers.iter().filter(|h| h == header).count();
        if signed == 0 {
            continue;
        }
        if present > signed {
            v.warnings.push(Warning::UnsignedDuplicateHeader);
            break;
        }
    }

    // 7. Key lookup.
    let records = keys.get(&v.selector, &v.domain);
    if records.is_empty() {
        let reason = keys
            .failure(&v.selector, &v.domain)
            .map_or("key_not_found", |f| f.reason());
        return verdict(v, SignatureResult::NoKey, reason);
    }
    let usable: Vec<&KeyRecord> = records
        .iter()
        .filter(|r| r.status == KeyStatus::Usable)
        .collect();
    if usable.is_empty() {
        let record = &records[0];
        note_key(&mut v, record);
        return match &record.status {
            KeyStatus::Revoked => verdict(v, SignatureResult::KeyRevoked, "key_revoked"),
            KeyStatus::Unsupported(_) => {
                verdict(v, SignatureResult::Unsupported, "unsupported_key_type")
            }
            _ => verdict(v, SignatureResult::KeyMalformed, "key_malformed"),
        };
    }

    // 8. `b=`, `bh=` and `h=` decoded as mail-auth's `Signature::parse` decodes them
    // (sigcheck.rs; building the whole signature had been 6.5% of a keyed-only run), then
    // the body hash over the canonicalised body (body.rs; one canonical form per message).
    // The `h=` names for the header selection: those of `v.signed_headers` (lower-cased, which
    // the case-insensitive selection does not mind) when they come from the same tag as
    // mail-auth's and are ASCII without a VT (which `strip_ws` drops and mail-auth keeps),
    // else decoded as mail-auth decodes them.
    let h_tag = tags.get("h").unwrap_or_default();
    let shared = h_tag.is_ascii()
        && !h_tag.contains('\x0b')
        && within(h_tag.as_bytes(), fields.h_value(value));
    let Some(mut decoded) = fields.decode(value, !shared) else {
        return verdict(v, SignatureResult::Malformed, "bad_base64");
    };
    if shared {
        decoded.h = v.signed_headers.iter().map(word_bytes).collect();
    }
    let canonical = bodies.get(fields.cb, body);
    let body_hash_ok =
        body_hash(canonical, HashAlgorithm::from(fields.a), v.body_length) == decoded.bh;

    // 9. Each usable key in turn: restrictions, then the signature over the headers. The
    // signature header is stripped in its CRLF form, as mail-auth strips it. Under relaxed
    // header canonicalisation the LF form strips to the same canonical bytes (strip drops the
    // trailing line end either way and relaxed folding reads LF as CRLF), so it is not copied.
    let stripped = if fields.ch == Canonicalization::Relaxed {
        strip_signature(value)
    } else {
        strip_signature(&normalized(opts, value))
    };
    let signed = SignedInput {
        headers,
        name,
        value,
        stripped: &stripped,
        to_crlf: opts.normalize_line_endings && fields.ch == Canonicalization::Simple,
    };
    let mut first: Option<(SignatureVerdict, SignatureResult, &str)> = None;
    let mut left = usable.len();
    for record in usable {
        // A copy per key but the last, which takes the verdict itself (usually the only one;
        // an empty verdict, which allocates nothing, is left in its place).
        left -= 1;
        let mut attempt = if left == 0 {
            std::mem::replace(&mut v, SignatureVerdict::empty(index, SignatureKind::Dkim))
        } else {
            v.clone()
        };
        note_key(&mut attempt, record);
        let (result, reason) = check_with_key(&signed, &fields, &decoded, record, body_hash_ok);
        if result == SignatureResult::Pass {
            let reason = if attempt.expired { "expired" } else { "" };
            return verdict(attempt, result, reason);
        }
        if first.is_none() {
            first = Some((attempt, result, reason));
        }
    }
    match first {
        Some((attempt, result, reason)) => verdict(attempt, result, reason),
        None => verdict(v, SignatureResult::NoKey, "key_not_found"),
    }
}

/// What one signature's header hash covers: the message's headers, and the signature header
/// (its name as written, its value with `b=` emptied).
struct SignedInput<'a> {
    headers: &'a [RawHeader<'a>],
    name: &'a [u8],
    /// The signature header's value as it is in the message.
    value: &'a [u8],
    stripped: &'a [u8],
    /// Convert bare LF to CRLF in the selected headers (simple canonicalisation hashes them
    /// as they are, and the section was split without converting it).
    to_crlf: bool,
}

/// Key restrictions and cryptography with one key.
fn check_with_key(
    input: &SignedInput<'_>,
    sig: &SigFields,
    decoded: &Decoded<'_>,
    record: &KeyRecord,
    body_hash_ok: bool,
) -> (SignatureResult, &'static str) {
    let key_matches_algorithm = matches!(
        (&record.key_type, sig.a),
        (KeyType::Rsa, Algorithm::RsaSha1 | Algorithm::RsaSha256)
            | (KeyType::Ed25519, Algorithm::Ed25519Sha256)
    );
    if !key_matches_algorithm {
        return (SignatureResult::Fail, "key_algorithm_mismatch");
    }
    if let Some(services) = &record.services {
        if !services.iter().any(|s| s == "email" || s == "*") {
            return (SignatureResult::Unsupported, "key_service_not_email");
        }
    }
    if let Some(hashes) = &record.hash_algorithms {
        let wanted = if sig.a == Algorithm::RsaSha1 {
            "sha1"
        } else {
            "sha256"
        };
        if !hashes.iter().any(|h| h == wanted) {
            return (SignatureResult::Unsupported, "key_disallows_hash");
        }
    }
    if record.strict_domain && !sig.i.is_empty() {
        // `d=` as mail-auth reads it (keys with `t=s` are rare: the full parse is kept here).
        let d = Signature::parse(input.value)
            .map(|s| s.d)
            .unwrap_or_default();
        let auid_domain = sig.i.rsplit_once('@').map_or(sig.i.as_str(), |(_, d)| d);
        if !auid_domain.eq_ignore_ascii_case(&d) {
            return (SignatureResult::Fail, "key_requires_exact_domain");
        }
    }
    if !body_hash_ok {
        return (SignatureResult::Fail, "body_hash_mismatch");
    }
    let signed = signed_headers(input.headers, &decoded.h, input.name, input.stripped);
    let converted: Vec<(Vec<u8>, Vec<u8>)>;
    let verdict = if input.to_crlf {
        converted = signed.map(|(n, v)| (to_crlf(n), to_crlf(v))).collect();
        let mut signed = converted.iter().map(|(n, v)| (&n[..], &v[..]));
        verify_headers(record, &mut signed, &decoded.b, sig.ch, sig.a)
    } else {
        verify_headers(record, &mut { signed }, &decoded.b, sig.ch, sig.a)
    };
    match verdict {
        Ok(()) => (SignatureResult::Pass, ""),
        Err(CryptoFailure::AlgorithmMismatch) => (SignatureResult::Fail, "key_algorithm_mismatch"),
        Err(CryptoFailure::NoKey) => (SignatureResult::KeyMalformed, "key_malformed"),
        Err(CryptoFailure::Mismatch) => (SignatureResult::Fail, "signature_mismatch"),
    }
}

fn note_key(v: &mut SignatureVerdict, record: &KeyRecord) {
    v.key_fingerprint.clone_from(&record.fingerprint);
    v.key_provenance = Some(record.provenance.clone());
    v.key_type = Some(record.key_type.clone());
    v.key_bits = record.bits;
    if record.key_type == KeyType::Rsa && record.bits.is_some_and(|b| b < 1024) {
        v.warnings.push(Warning::WeakKey);
    }
    if record.testing {
        v.warnings.push(Warning::TestingKey);
    }
}

/// The `i=` domain equals `d=` or is a subdomain of it (ASCII case-insensitive; `domain` is
/// lower case).
fn domain_within(auid_domain: &str, domain: &str) -> bool {
    let (a, d) = (auid_domain.as_bytes(), domain.as_bytes());
    if a.len() == d.len() {
        return a.eq_ignore_ascii_case(d);
    }
    a.len() > d.len()
        && a[a.len() - d.len() - 1] == b'.'
        && a[a.len() - d.len()..].eq_ignore_ascii_case(d)
}

/// Whether `inner` is a part of `outer` (the same bytes in memory, not equal ones).
fn within(inner: &[u8], outer: &[u8]) -> bool {
    let (inner, outer) = (inner.as_ptr_range(), outer.as_ptr_range());
    outer.start <= inner.start && inner.end <= outer.end
}

/// A word's bytes: borrowed for the table's words (they live for the program), a copy of the
/// rare others.
fn word_bytes(word: &Word) -> std::borrow::Cow<'static, [u8]> {
    match word {
        Word::Borrowed(known) => known.as_bytes().into(),
        Word::Owned(other) => other.as_bytes().to_vec().into(),
    }
}

/// `h=` as a lower-case list: whitespace removed, split at `:`, empty names dropped. The
/// common names are borrowed from [`HEADER_NAMES`]: this runs for every signature, and one
/// allocation per name had been 7% of a corpus run. ASCII text is split at `:` and each name
/// looked up ignoring case where it stands (lower-casing it byte by byte into a buffer first
/// had been 4% of a keyed-only run).
fn header_list(h: &str) -> Vec<Word> {
    if !h.is_ascii() {
        return strip_ws(h)
            .split(':')
            .filter(|s| !s.is_empty())
            .map(|name| word(name, &HEADER_NAMES))
            .collect();
    }
    // The whitespace `strip_ws` removes (folding puts it around a name, never inside one in
    // practice, so an item is nearly always borrowed as it is).
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let bytes = h.as_bytes();
    let mut names = Vec::with_capacity(memchr::memchr_iter(b':', bytes).count() + 1);
    for item in bytes.split(|&b| b == b':') {
        // Folding puts whitespace around names: trimmed without a copy.
        let lead = item.iter().take_while(|b| ws(b)).count();
        let trail = item[lead..].iter().rev().take_while(|b| ws(b)).count();
        let item = &item[lead..item.len() - trail];
        let item: std::borrow::Cow<'_, [u8]> = if item.iter().any(ws) {
            item.iter()
                .copied()
                .filter(|b| !ws(b))
                .collect::<Vec<u8>>()
                .into()
        } else {
            item.into()
        };
        if item.is_empty() {
            continue;
        }
        names.push(match known_word_ignoring_case(&item, &HEADER_NAMES) {
            Some(known) => Word::Borrowed(known),
            None => Word::Owned(String::from_utf8_lossy(&item).to_ascii_lowercase()),
        });
    }
    names
}

/// The exact bytes one DKIM signature's cryptography covers, so that a verdict can be checked
/// with other tools (`openssl dgst`, another verifier) and the benchmark floor can do exactly
/// trove's cryptography on exactly trove's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedData {
    /// Position among the message's DKIM-Signature headers, top first, from 0 (as
    /// [`SignatureVerdict::sig_index`]).
    pub sig_index: usize,
    /// `d=`, lower case.
    pub domain: String,
    /// `s=`.
    pub selector: String,
    /// `a=`: `rsa-sha256`, `rsa-sha1` or `ed25519-sha256`.
    pub algorithm: String,
    /// The selected headers canonicalised, the signature header last with `b=` emptied and no
    /// line end: what is signed. RSA signs this through PKCS#1 v1.5 with the algorithm's hash;
    /// Ed25519 signs its SHA-256 (RFC 8463 §3).
    pub header_block: Vec<u8>,
    /// `b=`, decoded.
    pub signature: Vec<u8>,
    /// The canonicalised body, cut to `l=` octets when the signature has `l=`: what `bh=` is
    /// the hash of.
    pub body: Vec<u8>,
    /// `bh=`, decoded.
    pub body_hash: Vec<u8>,
    /// Fingerprint of the key the verdict used ([`KeyRecord::fingerprint`]).
    pub key_fingerprint: Option<String>,
    /// That key, decoded ([`KeyRecord::public_key`]: SubjectPublicKeyInfo DER for RSA, the raw
    /// 32 bytes for Ed25519).
    pub public_key: Vec<u8>,
}

/// [`SignedData`] of every DKIM signature of `raw` that [`verify_message`] checked
/// cryptographically (result `pass` or `fail`); others have no verdict to check.
pub fn signed_data(raw: &[u8], keys: &KeyStore, opts: &VerifyOptions) -> Vec<SignedData> {
    let verdict = verify_message(raw, keys, opts);
    let (headers, body_start) = split_headers(raw, opts.normalize_line_endings);
    let body = &raw[body_start.unwrap_or_else(|| body_offset(raw))..];
    let mut bodies = BodyCache::default();
    let signatures = headers
        .iter()
        .filter(|(name, _)| name.trim_ascii().eq_ignore_ascii_case(b"DKIM-Signature"));
    let mut out = Vec::new();
    for (v, &(name, value)) in verdict.signatures.iter().zip(signatures) {
        if !matches!(v.result, SignatureResult::Pass | SignatureResult::Fail) {
            continue;
        }
        let Ok(fields) = check_signature(value) else {
            continue;
        };
        let Some(decoded) = fields.decode(value, true) else {
            continue;
        };
        let Some(public_key) = keys
            .get(&v.selector, &v.domain)
            .iter()
            .find(|k| k.fingerprint == v.key_fingerprint)
            .and_then(KeyRecord::public_key)
        else {
            continue;
        };
        let canonical = bodies.get(fields.cb, body);
        let end = v.body_length.map_or(canonical.len(), |l| {
            usize::try_from(l)
                .unwrap_or(usize::MAX)
                .min(canonical.len())
        });
        let stripped = strip_signature(&normalized(opts, value));
        let input = SignedInput {
            headers: &headers,
            name,
            value,
            stripped: &stripped,
            to_crlf: opts.normalize_line_endings && fields.ch == Canonicalization::Simple,
        };
        out.push(SignedData {
            sig_index: v.sig_index,
            domain: v.domain.clone(),
            selector: v.selector.clone(),
            algorithm: v.algorithm.to_string(),
            header_block: signed_header_block(&input, &decoded, fields.ch),
            signature: decoded.b,
            body: canonical[..end].to_vec(),
            body_hash: decoded.bh,
            key_fingerprint: v.key_fingerprint.clone(),
            public_key,
        });
    }
    out
}

/// The header block of `input` as [`check_with_key`] has it hashed.
fn signed_header_block(
    input: &SignedInput<'_>,
    decoded: &Decoded<'_>,
    ch: Canonicalization,
) -> Vec<u8> {
    let signed = signed_headers(input.headers, &decoded.h, input.name, input.stripped);
    if input.to_crlf {
        let converted: Vec<(Vec<u8>, Vec<u8>)> =
            signed.map(|(n, v)| (to_crlf(n), to_crlf(v))).collect();
        header_block(&mut converted.iter().map(|(n, v)| (&n[..], &v[..])), ch)
    } else {
        header_block(&mut { signed }, ch)
    }
}

/// Offset of the body: just after the first empty line (CRLF or LF), or the end when the
/// message has no empty line.
fn body_offset(raw: &[u8]) -> usize {
    if raw.starts_with(b"\n") {
        return 1;
    }
    if raw.starts_with(b"\r\n") {
        return 2;
    }
    // The first "\n\n" or "\n\r\n" (one SIMD search each rather than a loop per line);
    // the earlier one marks the first empty line. A "\n\r\n" that starts before an
    // "\n\n" at `i` ends by `i + 2`, so the second search stops there (mbox messages are
    // LF-only: it would otherwise scan the whole body for nothing).
    // The searchers are built once: `memmem::find` builds one per call, which cost more than
    // the search itself on typical header sections.
    static LF_LF: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\n\n"));
    static LF_CRLF: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\n\r\n"));
    let lf = LF_LF.find(raw);
    let crlf_end = lf.map_or(raw.len(), |i| i + 2);
    match (lf, LF_CRLF.find(&raw[..crlf_end])) {
        (Some(i), None) => i + 2,
        (_, Some(i)) => i + 3,
        (None, None) => raw.len(),
    }
}

/// `text` with bare LF turned into CRLF when the options ask for it and it has any; borrowed
/// otherwise.
fn normalized<'a>(opts: &VerifyOptions, text: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
    if opts.normalize_line_endings && has_bare_lf(text) {
        to_crlf(text).into()
    } else {
        text.into()
    }
}

fn has_bare_lf(raw: &[u8]) -> bool {
    memchr::memchr_iter(b'\n', raw).any(|i| i == 0 || raw[i - 1] != b'\r')
}

/// Converts bare LF to CRLF (existing CRLF pairs are kept).
pub(crate) fn to_crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 16 + 2);
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', raw) {
        out.extend_from_slice(&raw[start..nl]);
        if nl == 0 || raw[nl - 1] != b'\r' {
            out.push(b'\r');
        }
        out.push(b'\n');
        start = nl + 1;
    }
    out.extend_from_slice(&raw[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_starts_after_first_empty_line() {
        assert_eq!(body_offset(b"A: b\r\n\r\nbody"), 8);
        assert_eq!(body_offset(b"A: b\n\nbody"), 6);
        assert_eq!(body_offset(b"A: b\r\n"), 6);
        assert_eq!(body_offset(b"\r\nbody"), 2);
        assert_eq!(body_offset(b"\nbody"), 1);
        assert_eq!(body_offset(b"A: b\nC: d\r\n\r\nx\n\ny"), 13);
        assert_eq!(body_offset(b"A: b\n\nx\r\n\r\ny"), 6);
        assert_eq!(body_offset(b"A: b\r\nC: d"), 10);
    }

    #[test]
    fn signed_header_list() {
        let long = "x-a-header-name-longer-than-thirty-two-bytes";
        let h = format!(
            "From:TO: \r\n\tSubject::{}:X-Custom:Ünïcode",
            long.to_uppercase()
        );
        let names = header_list(&h);
        assert_eq!(
            names,
            ["from", "to", "subject", long, "x-custom", "Ünïcode"]
                .map(|s| s.to_ascii_lowercase())
                .to_vec()
        );
        // Known names are borrowed from the table, others owned.
        assert!(matches!(names[0], Word::Borrowed(_)));
        assert!(matches!(names[3], Word::Owned(_)));
        let ascii = header_list("date : x-mailer:\r\n x-new");
        assert_eq!(ascii, ["date", "x-mailer", "x-new"]);
        assert!(matches!(ascii[1], Word::Borrowed(_)) && matches!(ascii[2], Word::Owned(_)));
        assert!(header_list(" : ").is_empty());
    }

    /// Standard base64 with padding (test helper: the crate only decodes).
    fn b64(bytes: &[u8]) -> String {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            for i in 0..4 {
                out.push(if i <= chunk.len() {
                    alphabet[(n >> (18 - 6 * i) & 63) as usize] as char
                } else {
                    '='
                });
            }
        }
        out
    }

    #[test]
    fn selection_follows_the_h_tag_mail_auth_keeps() {
        // `h=` and `H=` are two tags to RFC 6376 (names are case-sensitive) but one to
        // mail-auth, which keeps the last: the signature covers Subject only. trove's own
        // `h=` list (From) must not be what the headers are selected by.
        use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
        let pkcs8 =
            mail_parser::decoders::base64::base64_decode(crate::crypto::tests::TEST_KEY.as_bytes())
                .unwrap();
        let pair = RsaKeyPair::from_pkcs8(&pkcs8).unwrap();
        let mut keys = KeyStore::new();
        let spki = crate::crypto::tests::rsa2048_spki(pair.public().as_ref());
        keys.import_key_file(
            &format!(
                "sel._domainkey.example.com v=DKIM1; k=rsa; p={}",
                b64(&spki)
            ),
            "test",
            0,
        )
        .unwrap();
        let bh = b64(ring::digest::digest(&ring::digest::SHA256, b"hello\r\n").as_ref());
        for (tags, signed) in [
            ("h=subject", &b"subject:hi\r\n"[..]),
            ("h=from; H=subject", b"subject:hi\r\n"),
            ("H=from; h=subject", b"subject:hi\r\n"),
        ] {
            let sig = format!(
                "v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=sel; {tags}; bh={bh}; b="
            );
            let mut data = signed.to_vec();
            crate::headers::relaxed_header(b"DKIM-Signature", sig.as_bytes(), &mut data);
            let mut b = vec![0u8; pair.public().modulus_len()];
            pair.sign(
                &RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                &data,
                &mut b,
            )
            .unwrap();
            let raw = format!(
                "DKIM-Signature: {sig}{}\nFrom: a@example.com\nSubject: hi\n\nhello\n",
                b64(&b)
            );
            let verdict = verify_message(raw.as_bytes(), &keys, &VerifyOptions::default());
            let v = &verdict.signatures[0];
            assert_eq!(
                (v.result, v.reason.as_str()),
                (SignatureResult::Pass, ""),
                "{tags}"
            );
        }
    }

    #[test]
    fn crlf_conversion() {
        assert_eq!(to_crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n".to_vec());
        assert!(has_bare_lf(b"a\nb"));
        assert!(!has_bare_lf(b"a\r\nb"));
    }

    #[test]
    fn garbage_never_panics() {
        let keys = KeyStore::new();
        let opts = VerifyOptions::default();
        for raw in [
            &b""[..],
            b"\n\n",
            b"DKIM-Signature: v=1; a=rsa-sha256; d=; s=; b=; bh=; h=\n\nbody",
            b"DKIM-Signature:\n",
            b"\xff\xfe: \x00",
        ] {
            let _ = verify_message(raw, &keys, &opts);
        }
    }
}
