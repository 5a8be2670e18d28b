//! What a chip's and a SIM's answers to a transcript prove: the checks the
//! decisions make and the evidence inspector ([`crate::body_checks`]) shows,
//! one implementation for both.

use sha2::{Digest, Sha256};

use crate::Denial;
use crate::api::{ChipSignature, Evidence};
use crate::attestation::{AttestationRefusal, ChipFormat, apple_appattest, simbind_p256};
use crate::codec::b64;
use crate::crypto::PublicKey;
use crate::decision::CheckedSignature;
use crate::trace::Trace;

/// Checks the chip's answer to `transcript` with `key`, and returns the
/// counter it proves: the request's, or App Attest's own (its assertion's
/// checks recorded in `trace`). `checked` is a P-256 verification the
/// caller already made; it counts only for exactly this key, message and
/// signature.
pub fn chip_answers(
    format: ChipFormat,
    key: &PublicKey,
    transcript: &[u8],
    evidence: &Evidence,
    app_ids: &[String],
    checked: Option<&CheckedSignature>,
    trace: &mut dyn Trace,
) -> Result<u64, Denial> {
    match (format, &evidence.chip_signature) {
        (ChipFormat::AppleAppAttest, ChipSignature::Assertion(assertion)) => {
            let hash = Sha256::digest(transcript);
            let key = key.to_uncompressed();
            apple_appattest::verify_assertion_traced(assertion, &hash, &key, app_ids, trace)
                .map(u64::from)
                .map_err(|refusal| match refusal {
                    AttestationRefusal::AppNotAllowed => refusal.into(),
                    _ => Denial::BadSignature,
                })
        }
        (ChipFormat::SimbindP256 | ChipFormat::AndroidKey, ChipSignature::Ecdsa(signature)) => {
            let valid = match checked {
                Some(checked)
                    if checked.input.message == transcript
                        && checked.input.public_key == key.to_uncompressed()
                        && checked.input.signature == signature.to_bytes() =>
                {
                    checked.valid
                }
                _ => simbind_p256::verify(key, transcript, signature),
            };
            if valid {
                Ok(evidence.claims.counter)
            } else {
                Err(Denial::BadSignature)
            }
        }
        _ => Err(Denial::BadSignature),
    }
}

/// Checks the SIM's answer to `transcript`: when the bound SIM had a key
/// (`bound_key`, compressed, base64url) the same key must sign again; a key
/// needs a valid signature and a signature a key; with neither, `required`
/// refuses.
pub fn sim_answers(
    transcript: &[u8],
    evidence: &Evidence,
    bound_key: Option<&str>,
    required: bool,
) -> Result<(), Denial> {
    let claimed_key = evidence.claims.sim_public_key.as_ref();
    if let Some(bound) = bound_key {
        // The bound SIM had a key: the same key must sign again.
        let same = claimed_key.is_some_and(|k| b64(&k.to_compressed()) == bound);
        if !same {
            return Err(Denial::SimSignatureRequired);
        }
    }
    match (claimed_key, &evidence.sim_signature) {
        (Some(key), Some(sig)) if key.verify(transcript, sig) => Ok(()),
        // A key without a valid signature, or a signature without a key
        // to check it: nothing a SIM proved.
        (Some(_), _) | (None, Some(_)) => Err(Denial::BadSimSignature),
        (None, _) if required => Err(Denial::SimSignatureRequired),
        (None, _) => Ok(()),
    }
}

/// A chip counter must exceed the one stored with the binding: anything else
/// is a replay.
pub fn counter_advances(stored: u64, got: u64) -> Result<(), Denial> {
    if got > stored {
        Ok(())
    } else {
        Err(Denial::CounterReplayed)
    }
}
