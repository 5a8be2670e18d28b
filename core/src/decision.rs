//! The decisions, as pure functions of stored records, validated evidence,
//! configuration and the current time.
//!
//! Order matters: the chip signature is checked *before* the SIM is compared,
//! so a SIM-change denial (which alerts the owner and counts towards
//! suspension) is only ever reached by a request the bound chip really signed.

use crate::Denial;
use crate::api::{ChipSignature, Claims, Evidence};
use crate::attestation::vendor::{Certified, RevokedChips, VendorRoots};
use crate::attestation::{
    self, AttestationFacts, AttestationPolicy, AttestationRefusal, ChipFormat,
};
use crate::binding::{BindingRecord, BindingStatus, RegistrationRecord, key_bound_index};
use crate::carrier::CarrierPolicy;
use crate::challenge::{self, ChallengeKeyring};
use crate::codec::{b64, unb64};
use crate::crypto::PublicKey;
use crate::id_hash::{IdHash, IdHasher, IdKind};
use crate::proof;
use crate::sim::{SimField, SimPolicy};
use crate::transcript::Ceremony;

/// Deployment policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Authentic failures in a row that suspend a binding.
    pub max_consecutive_failures: u32,
    /// Refuse SIMs without their own key and signature.
    pub require_sim_signature: bool,
    /// Chip vendor roots; empty means certificates are optional.
    pub vendor_roots: VendorRoots,
    /// Which SIM fields are required, per chip format (`SIM_LEVEL`).
    pub sim: SimPolicy,
    /// The carrier's SIM-swap signals, when the deployment has a carrier.
    pub carrier: Option<CarrierPolicy>,
    /// Chips refused whatever they present.
    pub revoked: RevokedChips,
    /// Accepted chip formats and what real attestations must prove.
    pub attestation: AttestationPolicy,
}

impl Policy {
    /// Whether every bound chip's serial is vouched for (vendor roots are
    /// configured, so a bind without a valid certificate is refused).
    pub fn serials_attested(&self) -> bool {
        !self.vendor_roots.0.is_empty()
    }
}

/// The chip index entry a bind with `claims` claims (see
/// [`BindingRecord::chip_index`]), known before the bind is decided.
pub fn claimed_chip_index(ctx: &Context<'_>, claims: &Claims) -> IdHash {
    let serial = ctx
        .hasher
        .hash(IdKind::ChipSerial, claims.chip.serial.as_str());
    match &claims.chip.public_key {
        Some(key) if !ctx.policy.serials_attested() => {
            key_bound_index(ctx.hasher, &serial, &b64(&key.to_compressed()))
        }
        _ => serial,
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_consecutive_failures: 3,
            require_sim_signature: false,
            sim: SimPolicy::default(),
            carrier: None,
            vendor_roots: VendorRoots::default(),
            revoked: RevokedChips::default(),
            attestation: AttestationPolicy::default(),
        }
    }
}

/// Everything a decision needs besides the records and the evidence.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The challenge keys challenges are checked with.
    pub keys: &'a ChallengeKeyring,
    /// Hashes identifiers under the deployment's pepper, as records keep them.
    pub hasher: &'a IdHasher,
    /// The deployment's audience, rebuilt into every transcript.
    pub audience: &'a str,
    /// The deployment policy.
    pub policy: &'a Policy,
    /// The current time, in Unix seconds.
    pub now: u64,
    /// A chip signature the caller already checked with another
    /// implementation of the same primitive (the runtime's WebCrypto); used
    /// only for exactly that key, message and signature.
    pub checked: Option<&'a CheckedSignature>,
    /// What the carrier's answer decided for this verification
    /// ([`crate::carrier::at_verify`]), when one was asked; checked last,
    /// once the request is authentic.
    pub carrier: Option<Result<(), Denial>>,
}

/// What a P-256 chip signature covers: the key that must have made it, the
/// exact transcript and the signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureInput {
    /// The bound chip key, uncompressed SEC1.
    pub public_key: Vec<u8>,
    /// The transcript bytes the chip must have signed.
    pub message: Vec<u8>,
    /// The signature, `r || s`.
    pub signature: Vec<u8>,
}

/// A [`SignatureInput`] and whether its signature verifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedSignature {
    /// What was checked.
    pub input: SignatureInput,
    /// Whether the signature verified.
    pub valid: bool,
}

/// The P-256 signature a verify or unbind request's decision will check,
/// for a caller that can check it faster elsewhere before deciding (`None`
/// for App Attest assertions, or a request refused before any signature).
/// It reads the same fields [`decide_holder`] does.
pub fn holder_signature_input(
    ctx: &Context<'_>,
    binding: &BindingRecord,
    ceremony: Ceremony,
    evidence: &Evidence,
) -> Option<SignatureInput> {
    let ChipSignature::Ecdsa(signature) = &evidence.chip_signature else {
        return None;
    };
    let challenge = ctx
        .check_challenge(evidence, ceremony, &binding.binding_id, false)
        .ok()?;
    let key = bound_key(binding).ok()?;
    let message = evidence.claims.transcript(
        ceremony,
        ctx.audience,
        &binding.binding_id,
        &challenge.transaction,
    );
    Some(SignatureInput {
        public_key: key.to_uncompressed(),
        message,
        signature: signature.to_bytes(),
    })
}

impl Context<'_> {
    fn check_challenge(
        &self,
        evidence: &Evidence,
        ceremony: Ceremony,
        subject: &str,
        challenge_used: bool,
    ) -> Result<challenge::ChallengeClaims, Denial> {
        let claims = challenge::verify(
            self.keys,
            &evidence.claims.challenge,
            ceremony,
            subject,
            self.now,
        )?;
        if challenge_used {
            return Err(Denial::ChallengeReused);
        }
        Ok(claims)
    }

    /// Checks the chip's answer to `transcript` with `key`, and returns the
    /// counter it proves (see [`proof::chip_answers`]).
    fn check_chip_signature(
        &self,
        format: ChipFormat,
        key: &PublicKey,
        transcript: &[u8],
        evidence: &Evidence,
    ) -> Result<u64, Denial> {
        let app_ids = &self.policy.attestation.apple.app_ids;
        proof::chip_answers(
            format,
            key,
            transcript,
            evidence,
            app_ids,
            self.checked,
            &mut (),
        )
    }

    fn check_sim_signature(
        &self,
        transcript: &[u8],
        evidence: &Evidence,
        bound_key: Option<&str>,
    ) -> Result<(), Denial> {
        let required = self.policy.require_sim_signature;
        proof::sim_answers(transcript, evidence, bound_key, required)
    }
}

/// True when `result` was reached with an accepted challenge, which must
/// now be marked used so the same message cannot be sent again.
pub fn challenge_consumed<T>(result: &Result<T, Denial>) -> bool {
    result
        .as_ref()
        .err()
        .is_none_or(Denial::after_challenge_accepted)
}

/// What completing a registration does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindPlan {
    /// Store a new binding.
    Create(BindingRecord),
    /// The bound chip re-proved the number (new SIM, or after suspension):
    /// the existing binding, updated and active again.
    Rebind(BindingRecord),
}

/// Decides a binding ceremony (after the one-time code was accepted).
///
/// `existing` is the binding stored for the registration number, `chip_holder`
/// the binding the chip-serial index points to; `new_binding_id` is used when
/// a new binding is created.
/// `status` carries what the attestation status list says about the
/// presented chain, looked up beforehand (see [`AttestationFacts`]).
#[allow(clippy::too_many_arguments)] // each input is distinct; a struct would only rename them
pub fn decide_binding(
    ctx: &Context<'_>,
    registration: &RegistrationRecord,
    existing: Option<&BindingRecord>,
    chip_holder: Option<&BindingRecord>,
    evidence: &Evidence,
    challenge_used: bool,
    new_binding_id: &str,
    status: &AttestationFacts,
) -> Result<BindPlan, Denial> {
    let claims = &evidence.claims;
    let challenge = ctx.check_challenge(
        evidence,
        Ceremony::Bind,
        &registration.registration_id,
        challenge_used,
    )?;
    let format = claims.chip.format;
    if !ctx.policy.attestation.formats.contains(&format) {
        return Err(AttestationRefusal::FormatNotAllowed.into());
    }
    let sim_level = ctx.policy.sim.level_for(format);
    let serial = ctx
        .hasher
        .hash(IdKind::ChipSerial, claims.chip.serial.as_str());
    let live = |b: &&BindingRecord| b.status != BindingStatus::Revoked;
    let existing = existing.filter(live);
    let (key, receipt) = bind_key(ctx, registration, existing, &serial, evidence, status)?;
    if ctx
        .policy
        .revoked
        .contains(&serial, &RevokedChips::key_form(&key))
    {
        return Err(Denial::ChipRevoked);
    }
    let transcript = claims.transcript(
        Ceremony::Bind,
        ctx.audience,
        &registration.registration_id,
        &challenge.transaction,
    );
    let counter = ctx.check_chip_signature(format, &key, &transcript, evidence)?;
    ctx.check_sim_signature(&transcript, evidence, None)?;
    let mut fresh = BindingRecord::new(
        new_binding_id,
        &registration.msisdn,
        claims,
        &key,
        ctx.hasher,
        ctx.now,
    );
    fresh.counter = counter;
    fresh.attestation_receipt = receipt;
    fresh.number_proof = Some(registration.proof.method());
    fresh.sim.require(sim_level)?;
    if fresh
        .sim
        .get(SimField::Msisdn)
        .is_some_and(|sim_number| !sim_number.ct_eq(&registration.msisdn))
    {
        return Err(Denial::NumberMismatch);
    }
    if let Some(holder) = chip_holder.filter(live) {
        let same_binding = existing.is_some_and(|e| e.binding_id == holder.binding_id);
        if !same_binding {
            return Err(Denial::ChipAlreadyBound);
        }
    }
    let Some(current) = existing else {
        return Ok(BindPlan::Create(fresh));
    };
    if !same_chip(current, &fresh) {
        return Err(Denial::BindingExists);
    }
    proof::counter_advances(current.counter, fresh.counter)?;
    Ok(BindPlan::Rebind(BindingRecord {
        binding_id: current.binding_id.clone(),
        created_at: current.created_at,
        ..fresh
    }))
}

/// Refuses, before a proven registration is used up, a bind that cannot
/// succeed: a real-format chip showing only its key id (no key, no
/// attestation) may only re-prove a number it is bound to, so with no
/// binding for the number it is `attestation_required` now rather than
/// after the registration is gone.
pub fn bind_can_succeed(claims: &Claims, number_bound: bool) -> Result<(), Denial> {
    let chip = &claims.chip;
    if chip.public_key.is_none() && chip.evidence.is_none() && !number_bound {
        return Err(AttestationRefusal::Required.into());
    }
    Ok(())
}

/// The key a bind is proven with, and the receipt to keep: the presented
/// key (with its vendor certificate checked), or what a real-format
/// attestation proves; a real-format chip without one may only re-prove a
/// number it is already bound to, with its bound key.
fn bind_key(
    ctx: &Context<'_>,
    registration: &RegistrationRecord,
    existing: Option<&BindingRecord>,
    serial: &IdHash,
    evidence: &Evidence,
    status: &AttestationFacts,
) -> Result<(PublicKey, Option<String>), Denial> {
    let chip = &evidence.claims.chip;
    if let Some(key) = &chip.public_key {
        let certified = Certified {
            format: chip.format.label(),
            serial: &chip.serial,
            public_key: key,
        };
        ctx.policy
            .vendor_roots
            .check(certified, chip.certificate.as_ref(), ctx.now)?;
        return Ok((key.clone(), None));
    }
    if let Some(material) = &chip.evidence {
        let challenge = attestation::bind_challenge(
            &evidence.claims.challenge,
            ctx.audience,
            &registration.registration_id,
        );
        let attested = attestation::verify_bind_evidence(
            chip,
            material,
            &challenge,
            &ctx.policy.attestation,
            status,
            ctx.now,
        )?;
        return Ok((attested.key, attested.receipt));
    }
    let bound = existing
        .filter(|b| b.chip_format == chip.format.label() && b.chip_serial.ct_eq(serial))
        .ok_or(AttestationRefusal::Required)?;
    Ok((bound_key(bound)?, bound.attestation_receipt.clone()))
}

/// A binding's stored chip key.
fn bound_key(binding: &BindingRecord) -> Result<PublicKey, Denial> {
    unb64(&binding.chip_public_key, "chip_public_key")
        .and_then(|bytes| PublicKey::from_sec1(&bytes))
        .map_err(|_| Denial::BadSignature)
}

fn same_chip(a: &BindingRecord, b: &BindingRecord) -> bool {
    a.chip_format == b.chip_format
        && a.chip_serial.ct_eq(&b.chip_serial)
        && a.chip_public_key == b.chip_public_key
}

/// The result of checking a verify or unbind request against a binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The ceremony decided: verify or unbind.
    pub ceremony: Ceremony,
    /// `Ok(())` if accepted, else the first check that refused.
    pub result: Result<(), Denial>,
    /// The request counts against the binding: the bound chip signed it,
    /// and the binding is live and trusted (state and deny-list are told,
    /// but never changed, by a refusal before this).
    pub authentic: bool,
    /// The bound chip's signature over this request verified, whatever the
    /// binding's state: such a request is never held by limits on strangers.
    pub signed: bool,
    /// The chip counter: the request's (for `apple-appattest`, its assertion's).
    pub counter: u64,
    /// The transaction value of the accepted challenge (empty for none): the
    /// chip signed it, and a grant echoes it.
    pub transaction: Vec<u8>,
}

/// Decides a verify or unbind request from the holder of `binding`.
pub fn decide_holder(
    ctx: &Context<'_>,
    binding: &BindingRecord,
    ceremony: Ceremony,
    evidence: &Evidence,
    challenge_used: bool,
) -> Decision {
    let claims = &evidence.claims;
    let mut decision = Decision {
        ceremony,
        result: Ok(()),
        authentic: false,
        signed: false,
        counter: claims.counter,
        transaction: Vec::new(),
    };
    let deny = |mut d: Decision, denial| {
        d.result = Err(denial);
        d
    };
    match ctx.check_challenge(evidence, ceremony, &binding.binding_id, challenge_used) {
        Ok(challenge) => decision.transaction = challenge.transaction,
        Err(denial) => return deny(decision, denial),
    }
    let key = match bound_key(binding) {
        Ok(key) => key,
        Err(denial) => return deny(decision, denial),
    };
    // A real-format chip presents only its key id: the bound key answers.
    let presented_key = claims.chip.public_key.as_ref().unwrap_or(&key);
    let presented = BindingRecord::new(
        &binding.binding_id,
        &binding.number,
        claims,
        presented_key,
        ctx.hasher,
        ctx.now,
    );
    if !same_chip(binding, &presented) {
        return deny(decision, Denial::ChipMismatch);
    }
    let transcript = claims.transcript(
        ceremony,
        ctx.audience,
        &binding.binding_id,
        &decision.transaction,
    );
    match ctx.check_chip_signature(claims.chip.format, &key, &transcript, evidence) {
        Ok(counter) => decision.counter = counter,
        Err(denial) => return deny(decision, denial),
    }
    decision.signed = true;
    // The binding's state and the deny-list are told only to the bound chip
    // (an outsider with the binding id learns nothing of them), and change
    // nothing: not authentic refusals, so no counter, count or text.
    if let Err(denial) = binding.ensure_active() {
        return deny(decision, denial);
    }
    if ctx
        .policy
        .revoked
        .contains(&binding.chip_serial, &binding.chip_public_key)
    {
        return deny(decision, Denial::ChipRevoked);
    }
    decision.authentic = true;
    if let Err(denial) = proof::counter_advances(binding.counter, decision.counter) {
        return deny(decision, denial);
    }
    let sim_level = ctx.policy.sim.level_for(claims.chip.format);
    if let Err(denial) = binding.sim.compare(&presented.sim, sim_level) {
        return deny(decision, denial);
    }
    if let Err(denial) =
        ctx.check_sim_signature(&transcript, evidence, binding.sim_public_key.as_deref())
    {
        return deny(decision, denial);
    }
    if let Some(Err(denial)) = ctx.carrier {
        return deny(decision, denial);
    }
    decision
}

/// What a decision changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effects {
    /// The record to store, or `None` when nothing changes.
    pub record: Option<BindingRecord>,
    /// Send an alert SMS to the bound number.
    pub alert: bool,
    /// This decision suspended the binding.
    pub suspended: bool,
}

/// Applies a decision to the binding. Unauthenticated denials change nothing
/// (anyone can send them); authentic ones advance the counter, count towards
/// suspension and alert the owner; a carrier-reported swap suspends at once.
pub fn apply(binding: &BindingRecord, decision: &Decision, policy: &Policy, now: u64) -> Effects {
    let mut record = binding.clone();
    record.updated_at = now;
    match decision.result {
        Ok(()) => {
            record.counter = decision.counter;
            record.consecutive_failures = 0;
            if decision.ceremony == Ceremony::Unbind {
                record.revoke();
            }
            Effects {
                record: Some(record),
                alert: false,
                suspended: false,
            }
        }
        Err(_) if !decision.authentic => Effects {
            record: None,
            alert: false,
            suspended: false,
        },
        // Authentic, but nothing the owner did: the counter moves, nothing counts.
        Err(denial) if !denial.counts() => {
            record.counter = record.counter.max(decision.counter);
            Effects {
                record: Some(record),
                alert: false,
                suspended: false,
            }
        }
        Err(denial) => {
            record.counter = record.counter.max(decision.counter);
            record.consecutive_failures = record.consecutive_failures.saturating_add(1);
            let suspended = denial.suspends_at_once()
                || record.consecutive_failures >= policy.max_consecutive_failures;
            if suspended {
                record.status = BindingStatus::Suspended;
            }
            Effects {
                record: Some(record),
                alert: true,
                suspended,
            }
        }
    }
}
