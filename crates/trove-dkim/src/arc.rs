//! ARC chain validation (RFC 8617) against the key store.
//!
//! Follows mail-auth 0.13.3's `verify_arc` step by step (same header grouping, same seal input
//! construction) but (a) looks keys up in the [`KeyStore`] instead of DNS, (b) does not judge
//! `x=` against the wall clock (an archive validates years later), and (c) reports a missing
//! key as [`ArcResult::NoKey`] ("cannot validate offline") rather than a failure.

use mail_auth::arc::ChainValidation;
use mail_auth::common::crypto::HashAlgorithm;
use mail_auth::dkim::Canonicalization;
use mail_auth::AuthenticatedMessage;

use crate::body::{body_hash, BodyCache};
use crate::crypto::verify_headers;
use crate::headers::signed_headers;
use crate::keys::{KeyRecord, KeyStatus, KeyStore};
use crate::strip::strip_signature;
use crate::verdict::{ArcResult, ArcVerdict};

/// Longest chain RFC 8617 §4.2.1 allows.
const MAX_INSTANCES: usize = 50;

/// What [`verify_arc`] could decide.
pub(crate) enum ArcCheck {
    /// The verdict (`None`: the message has no ARC headers at all).
    Done(Option<ArcVerdict>),
    /// The newest ARC-Message-Signature has a usable key, and `message` was parsed from the
    /// ARC headers alone: parse the whole header section and validate again.
    NeedsAllHeaders,
}

/// Validates the ARC chain. `all_headers`: `message` was parsed from the whole header
/// section; when false (only the ARC headers, which is all the chain's structure and the key
/// lookup read), the validation stops with [`ArcCheck::NeedsAllHeaders`] where the signed
/// headers would first be needed.
pub(crate) fn verify_arc(
    message: &AuthenticatedMessage<'_>,
    keys: &KeyStore,
    bodies: &mut BodyCache,
    body: &[u8],
    all_headers: bool,
) -> ArcCheck {
    match verify_chain(message, keys, bodies, body, all_headers) {
        Some(verdict) => ArcCheck::Done(verdict),
        None => ArcCheck::NeedsAllHeaders,
    }
}

/// [`verify_arc`]'s steps; the outer `None` asks for all headers.
fn verify_chain(
    message: &AuthenticatedMessage<'_>,
    keys: &KeyStore,
    bodies: &mut BodyCache,
    body: &[u8],
    all_headers: bool,
) -> Option<Option<ArcVerdict>> {
    let (seals, sigs, results) = (
        &message.as_headers,
        &message.ams_headers,
        &message.aar_headers,
    );
    if seals.is_empty() && sigs.is_empty() && results.is_empty() && !message.has_arc_errors {
        return Some(None);
    }
    let mut verdict = ArcVerdict {
        result: ArcResult::Fail,
        reason: String::new(),
        instances: sigs.len().max(seals.len()).max(results.len()),
        seal_keys: seals
            .iter()
            .map(|s| format!("{}._domainkey.{}", s.header.s, s.header.d).to_ascii_lowercase())
            .collect(),
    };
    let fail = |mut v: ArcVerdict, result: ArcResult, reason: String| {
        v.result = result;
        v.reason = reason;
        Some(Some(v))
    };
    if message.has_arc_errors {
        return fail(verdict, ArcResult::Fail, "malformed_arc_header".into());
    }
    if sigs.len() > MAX_INSTANCES {
        return fail(verdict, ArcResult::Fail, "chain_too_long".into());
    }
    if sigs.len() != seals.len() || sigs.len() != results.len() {
        return fail(verdict, ArcResult::Fail, "broken_chain".into());
    }
    let count = sigs.len();
    for (pos, ((seal, sig), res)) in seals.iter().zip(sigs).zip(results).enumerate() {
        let i = pos + 1;
        if seal.header.i as usize != i || sig.header.i as usize != i || res.header.i as usize != i {
            return fail(verdict, ArcResult::Fail, format!("invalid_instance:{i}"));
        }
        let cv_ok = if pos == 0 {
            seal.header.cv == ChainValidation::None
        } else {
            seal.header.cv == ChainValidation::Pass
        };
        if !cv_ok {
            // cv=fail: a sealer already judged the chain broken (RFC 8617 §5.1.2 step 2).
            let reason = if seal.header.cv == ChainValidation::Fail {
                format!("sealed_as_failed:{i}")
            } else {
                format!("invalid_cv:{i}")
            };
            return fail(verdict, ArcResult::Fail, reason);
        }
    }

    // The newest ARC-Message-Signature: body hash, then signature over the headers.
    let newest = &sigs[count - 1];
    let ams = &newest.header;
    // Key first: without it nothing about this set can be established offline (dkimpy also
    // stops here), so a missing key is reported as such even if the body changed since.
    if keys
        .get(&ams.s, &ams.d)
        .iter()
        .all(|r| r.status != KeyStatus::Usable)
    {
        let name = format!("{}._domainkey.{}", ams.s, ams.d).to_ascii_lowercase();
        return fail(verdict, ArcResult::NoKey, format!("key_not_found:{name}"));
    }
    if !all_headers {
        return None;
    }
    let canonical = bodies.get(ams.cb, body);
    let l = (ams.l > 0).then_some(ams.l);
    if body_hash(canonical, HashAlgorithm::from(ams.a), l) != ams.bh {
        return fail(verdict, ArcResult::Fail, "body_hash_mismatch".into());
    }
    let stripped = strip_signature(newest.value);
    let outcome = with_keys(keys, &ams.s, &ams.d, |record| {
        // trove's selection (the same walk as mail-auth's, through an index for hostile
        // sizes: mail-auth's is quadratic in names × headers).
        let mut headers = signed_headers(&message.headers, &ams.h, newest.name, &stripped);
        verify_headers(record, &mut headers, &ams.b, ams.ch, ams.a).is_ok()
    });
    match outcome {
        KeyOutcome::Verified => {}
        KeyOutcome::Rejected => {
            return fail(verdict, ArcResult::Fail, "ams_signature_mismatch".into())
        }
        KeyOutcome::Missing(name) => {
            return fail(verdict, ArcResult::NoKey, format!("key_not_found:{name}"))
        }
    }

    // Every seal, newest first, over all earlier sets plus its own (RFC 8617 §5.1.1).
    for pos in (0..count).rev() {
        let seal_header = &seals[pos];
        let seal = &seal_header.header;
        let seal_stripped = strip_signature(seal_header.value);
        let outcome = with_keys(keys, &seal.s, &seal.d, |record| {
            let mut headers = (0..pos)
                .flat_map(|p| {
                    [
                        (results[p].name, results[p].value),
                        (sigs[p].name, sigs[p].value),
                        (seals[p].name, seals[p].value),
                    ]
                })
                .chain([
                    (results[pos].name, results[pos].value),
                    (sigs[pos].name, sigs[pos].value),
                    (seal_header.name, &seal_stripped[..]),
                ]);
            verify_headers(
                record,
                &mut headers,
                &seal.b,
                Canonicalization::Relaxed,
                seal.a,
            )
            .is_ok()
        });
        match outcome {
            KeyOutcome::Verified => {}
            KeyOutcome::Rejected => {
                return fail(
                    verdict,
                    ArcResult::Fail,
                    format!("seal_signature_mismatch:{}", pos + 1),
                )
            }
            KeyOutcome::Missing(name) => {
                return fail(verdict, ArcResult::NoKey, format!("key_not_found:{name}"))
            }
        }
    }
    verdict.result = ArcResult::Pass;
    Some(Some(verdict))
}

enum KeyOutcome {
    Verified,
    Rejected,
    Missing(String),
}

/// Tries every usable key stored for the name.
fn with_keys(
    keys: &KeyStore,
    selector: &str,
    domain: &str,
    mut check: impl FnMut(&KeyRecord) -> bool,
) -> KeyOutcome {
    let usable: Vec<&KeyRecord> = keys
        .get(selector, domain)
        .iter()
        .filter(|r| r.status == KeyStatus::Usable)
        .collect();
    if usable.is_empty() {
        return KeyOutcome::Missing(format!("{selector}._domainkey.{domain}").to_ascii_lowercase());
    }
    if usable.into_iter().any(&mut check) {
        KeyOutcome::Verified
    } else {
        KeyOutcome::Rejected
    }
}
