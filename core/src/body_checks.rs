//! The checks a whole bind, verify or unbind body can be put through with no
//! state and no secret, each recorded in a [`Trace`]: what the evidence
//! inspector shows for a body. They call the decisions' own functions
//! ([`crate::decision::decide_binding`], [`crate::decision::decide_holder`])
//! in the decisions' order; what needs the deployment's secret or stored
//! records is named in [`NOT_CHECKED_BIND`] and [`NOT_CHECKED_HOLDER`].

use crate::api::{BindRequest, EvidenceRequest};
use crate::attestation::{
    self, AttestationFacts, AttestationPolicy, AttestationRefusal, ChipFormat, ChipIdentity,
    android_key, apple_appattest,
};
use crate::challenge;
use crate::crypto::PublicKey;
use crate::proof;
use crate::trace::{Trace, step};
use crate::transcript::Ceremony;
use crate::{Denial, ValidationError};

const VALID: &str = "every field is valid: chip, SIM, counter, signatures' encoding";
const CHALLENGE_FITS: &str = "the challenge reads as one of this service's, for this ceremony and \
     subject, and has not expired at the instant (its MAC needs the deployment's secret)";
const PRESENTED_KEY: &str = "the chip presents its key (simbind-p256; a vendor certificate, if \
     any, needs the deployment's vendor roots)";
const BOUND_KEY: &str = "the chip shows only its key id: the key bound to the number, given \
     as `chipPublicKey`, is that chip's (a re-bind)";
const CHIP_SIGNED: &str = "the chip signed the transcript with that key";
const BOUND_CHIP_SIGNED: &str = "the bound chip's key signed the transcript";
/// The counter rule's check ([`proof::counter_advances`]), wherever it is shown.
pub const COUNTER_ADVANCES: &str = "the counter is above the one stored with the binding";
const SIM_SIGNED: &str = "the SIM's key, when it has one, signed the same transcript";

/// What a bind needs that a body alone cannot show.
pub const NOT_CHECKED_BIND: [&str; 7] = [
    "a re-bind by key id alone: that the number is bound to this chip (give its key as chipPublicKey)",
    "the challenge's MAC and single use (the deployment's secret and its records)",
    "the number was proven: one-time code, device SMS, Firebase PNV or the operator",
    "the deployment accepts this chip format, and the status list (unless pasted)",
    "the chip is not bound to another number, revoked or on the deny-list",
    "the SIM fields the deployment's SIM level requires, and the SIM's number",
    "carrier signals (SIM swap, device swap) and rate limits",
];

/// What a verify or unbind needs that a body alone cannot show.
pub const NOT_CHECKED_HOLDER: [&str; 5] = [
    "the challenge's MAC and single use (the deployment's secret and its records)",
    "the presented chip and SIM are the bound ones (their keyed hashes)",
    "the binding is active, and the chip not on the deny-list",
    "the counter, unless the stored one is given",
    "carrier signals (SIM swap, device swap) and rate limits",
];

/// Why a body is refused: a field the worker refuses before it looks
/// anything up (400), or a denial (the decisions' codes).
#[derive(Debug, Clone, thiserror::Error)]
pub enum BodyRefusal {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A check refused.
    #[error(transparent)]
    Denied(#[from] Denial),
}

impl BodyRefusal {
    /// The stable code the service answers with.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(e) => e.code(),
            Self::Denied(d) => d.code(),
        }
    }
}

/// What a bind body is checked against.
pub struct BindExpected<'a> {
    /// The deployment's transcript audience.
    pub audience: &'a str,
    /// The registration the bind is for (the challenge's subject).
    pub registration_id: &'a str,
    /// The attestation policy (roots, Android and App Attest requirements).
    pub attestation: &'a AttestationPolicy,
    /// What the status list says of the chain.
    pub facts: &'a AttestationFacts,
    /// Whether the deployment requires a SIM signature.
    pub require_sim_signature: bool,
    /// A real-format chip's key bound to the number, for a re-bind body
    /// that shows only the key id (the decision reads it from the binding).
    pub bound_key: Option<&'a PublicKey>,
    /// The instant, Unix seconds.
    pub now: u64,
}

/// The checks [`check_bind`] records for `chip` (as the body names it;
/// `None` when it does not validate), in order.
pub fn bind_checks(chip: Option<&ChipIdentity>) -> Vec<&'static str> {
    let format = chip.map(|c| c.format);
    let proof: Vec<&'static str> = match (chip, format) {
        (Some(c), _) if c.public_key.is_some() => vec![PRESENTED_KEY],
        (Some(c), _) if c.evidence.is_none() => vec![BOUND_KEY],
        (_, Some(ChipFormat::AndroidKey)) => android_key::CHECKS.to_vec(),
        (_, Some(ChipFormat::AppleAppAttest)) => apple_appattest::CHECKS.to_vec(),
        _ => vec![PRESENTED_KEY],
    };
    let attested = chip.is_some_and(|c| c.public_key.is_none() && c.evidence.is_some());
    let last = match format {
        Some(ChipFormat::AppleAppAttest) => apple_appattest::ASSERTION_CHECKS.to_vec(),
        _ => vec![CHIP_SIGNED],
    };
    [VALID, CHALLENGE_FITS]
        .into_iter()
        .chain(proof)
        .chain(attested.then_some(attestation::KEY_IS_CHIP))
        .chain(last)
        .chain([SIM_SIGNED])
        .collect()
}

/// A bind body's checks that need no state: the body validates, the
/// challenge fits, the attestation proves a key for the attestation
/// challenge derived from this challenge, audience and registration, that
/// key signed the bind transcript, and the SIM's key too. Answers the key.
pub fn check_bind(
    body: &BindRequest,
    expected: &BindExpected<'_>,
    trace: &mut dyn Trace,
) -> Result<PublicKey, BodyRefusal> {
    let evidence = step(trace, VALID, body.evidence.validate())?;
    let claims = &evidence.claims;
    let subject = expected.registration_id;
    let read = challenge::read_unverified(&claims.challenge, Ceremony::Bind, subject, expected.now);
    let challenge = step(trace, CHALLENGE_FITS, read)?;
    let chip = &claims.chip;
    let key = match (&chip.public_key, &chip.evidence) {
        (Some(key), _) => {
            trace.record(PRESENTED_KEY, None);
            key.clone()
        }
        (None, Some(material)) => {
            let derived =
                attestation::bind_challenge(&claims.challenge, expected.audience, subject);
            attestation::verify_bind_evidence_traced(
                chip,
                material,
                &derived,
                expected.attestation,
                expected.facts,
                expected.now,
                trace,
            )
            .map_err(Denial::from)?
            .key
        }
        // Only the chip already bound to the number may bind without one
        // (`decide_binding` reads its key from the binding).
        (None, None) => {
            let bound = expected
                .bound_key
                .filter(|key| attestation::key_id(key) == chip.serial.as_str())
                .cloned()
                .ok_or(AttestationRefusal::Required);
            step(trace, BOUND_KEY, bound.map_err(Denial::from))?
        }
    };
    let transcript = claims.transcript(
        Ceremony::Bind,
        expected.audience,
        subject,
        &challenge.transaction,
    );
    let app_ids = &expected.attestation.apple.app_ids;
    let answer = proof::chip_answers(
        chip.format,
        &key,
        &transcript,
        &evidence,
        app_ids,
        None,
        trace,
    );
    if chip.format != ChipFormat::AppleAppAttest {
        step(trace, CHIP_SIGNED, answer)?;
    } else {
        answer?;
    }
    let sim = proof::sim_answers(&transcript, &evidence, None, expected.require_sim_signature);
    step(trace, SIM_SIGNED, sim)?;
    Ok(key)
}

/// What a verify or unbind body is checked against: the binding's records
/// a support engineer can read out.
pub struct HolderExpected<'a> {
    /// The deployment's transcript audience.
    pub audience: &'a str,
    /// The binding id (the challenge's subject).
    pub binding_id: &'a str,
    /// Verify or unbind.
    pub ceremony: Ceremony,
    /// The bound chip key.
    pub bound_key: &'a PublicKey,
    /// The bound SIM's key (compressed, base64url), if it had one.
    pub bound_sim_key: Option<&'a str>,
    /// The counter stored with the binding, when known.
    pub stored_counter: Option<u64>,
    /// App IDs allowed (App Attest).
    pub app_ids: &'a [String],
    /// Whether the deployment requires a SIM signature.
    pub require_sim_signature: bool,
    /// The instant, Unix seconds.
    pub now: u64,
}

/// The checks [`check_holder`] records for a chip of `format`, in order.
pub fn holder_checks(format: Option<ChipFormat>, counter: bool) -> Vec<&'static str> {
    let signed = match format {
        Some(ChipFormat::AppleAppAttest) => apple_appattest::ASSERTION_CHECKS.to_vec(),
        _ => vec![BOUND_CHIP_SIGNED],
    };
    [VALID, CHALLENGE_FITS]
        .into_iter()
        .chain(signed)
        .chain(counter.then_some(COUNTER_ADVANCES))
        .chain([SIM_SIGNED])
        .collect()
}

/// A verify or unbind body's checks that need no state beyond the bound
/// keys: the body validates, the challenge fits, the bound chip answered the
/// transcript, its counter advanced (when the stored one is given), and the
/// SIM answered. Answers the counter the chip proved.
pub fn check_holder(
    body: &EvidenceRequest,
    expected: &HolderExpected<'_>,
    trace: &mut dyn Trace,
) -> Result<u64, BodyRefusal> {
    let evidence = step(trace, VALID, body.validate())?;
    let claims = &evidence.claims;
    let read = challenge::read_unverified(
        &claims.challenge,
        expected.ceremony,
        expected.binding_id,
        expected.now,
    );
    let challenge = step(trace, CHALLENGE_FITS, read)?;
    let transcript = claims.transcript(
        expected.ceremony,
        expected.audience,
        expected.binding_id,
        &challenge.transaction,
    );
    let format = claims.chip.format;
    let answer = proof::chip_answers(
        format,
        expected.bound_key,
        &transcript,
        &evidence,
        expected.app_ids,
        None,
        trace,
    );
    let counter = if format != ChipFormat::AppleAppAttest {
        step(trace, BOUND_CHIP_SIGNED, answer)?
    } else {
        answer?
    };
    if let Some(stored) = expected.stored_counter {
        step(
            trace,
            COUNTER_ADVANCES,
            proof::counter_advances(stored, counter),
        )?;
    }
    let sim = proof::sim_answers(
        &transcript,
        &evidence,
        expected.bound_sim_key,
        expected.require_sim_signature,
    );
    step(trace, SIM_SIGNED, sim)?;
    Ok(counter)
}
