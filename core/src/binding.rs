//! Stored records: a binding (number ↔ chip ↔ SIM) and a pending
//! registration. Subscriber identifiers appear only as keyed hashes.

use serde::{Deserialize, Serialize};

use crate::Denial;
use crate::api::Claims;
use crate::attestation::ChipFormat;
use crate::camara_nv::NvState;
use crate::carrier::CarrierBaseline;
use crate::codec::b64;
use crate::crypto::PublicKey;
use crate::device_sms::DeviceSmsState;
use crate::firebase_pnv::PnvState;
use crate::id_hash::{IdHash, IdHasher, IdKind};
use crate::identifiers::PhoneNumber;
use crate::otp::OtpState;
use crate::sim::SimHashes;
use crate::subscription::Subscription;

/// Lifecycle state of a binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BindingStatus {
    /// In use: verify and unbind requests are decided (`active`).
    Active,
    /// Too many failures: refused until the owner re-proves the number.
    Suspended,
    /// Unbound by the user or revoked by an operator.
    Revoked,
}

impl BindingStatus {
    /// The wire label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }
}

/// A stored binding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingRecord {
    /// The binding id: `bnd_` and 22 base64url characters.
    pub binding_id: String,
    /// Whether the binding is active, suspended or revoked.
    pub status: BindingStatus,
    /// The bound chip's format label (`simbind-p256`, `android-key`,
    /// `apple-appattest`).
    pub chip_format: String,
    /// Keyed hash (kind `chip-serial`) of the chip serial, or of a
    /// real-format chip's key id.
    pub chip_serial: IdHash,
    /// Compressed SEC1, base64url.
    pub chip_public_key: String,
    /// Keyed hash (kind `msisdn`) of the bound number: the registration's.
    pub number: IdHash,
    /// Keyed hashes of the bound SIM's fields, those it presented.
    pub sim: SimHashes,
    /// Compressed SEC1 of the SIM applet key, base64url, when the SIM has one.
    pub sim_public_key: Option<String>,
    /// Highest chip counter seen from an authentic request.
    pub counter: u64,
    /// Authentic refusals since the last success; at the policy's
    /// `max_consecutive_failures` the binding is suspended.
    pub consecutive_failures: u32,
    /// The bound number, sealed for alert delivery (see [`crate::contact`]).
    #[serde(default)]
    pub contact: Option<String>,
    /// App Attest: Apple's receipt for the key, base64url, kept for a
    /// later check with Apple's server (SimBind cannot check it offline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_receipt: Option<String>,
    /// The carrier's SIM and device change dates seen at bind, and when the
    /// carrier was last asked; `None` where no carrier is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<CarrierBaseline>,
    /// The carrier's SIM-swap subscription for the bound number, while
    /// one is kept (created after bind, deleted after the binding ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<Subscription>,
    /// The credential hash of a subscription being created: its
    /// notifications count before the carrier's answer names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_pending: Option<String>,
    /// How the number was proven at the last bind (re-binds prove it
    /// again); `None` for a binding made before bindings recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_proof: Option<ProofMethod>,
    /// When the binding was first made, in Unix seconds (kept on re-bind).
    pub created_at: u64,
    /// When the record last changed (a decision, re-bind or revoke), in
    /// Unix seconds.
    pub updated_at: u64,
}

impl BindingRecord {
    /// A new active binding from validated bind claims and the chip key they
    /// were proven with (the presented key, or a real format's attested one).
    pub fn new(
        binding_id: &str,
        number: &IdHash,
        claims: &Claims,
        chip_key: &PublicKey,
        hasher: &IdHasher,
        now: u64,
    ) -> Self {
        Self {
            binding_id: binding_id.to_owned(),
            status: BindingStatus::Active,
            chip_format: claims.chip.format.label().to_owned(),
            chip_serial: hasher.hash(IdKind::ChipSerial, claims.chip.serial.as_str()),
            chip_public_key: b64(&chip_key.to_compressed()),
            number: number.clone(),
            sim: SimHashes::of(&claims.sim, hasher),
            sim_public_key: claims
                .sim_public_key
                .as_ref()
                .map(|k| b64(&k.to_compressed())),
            counter: claims.counter,
            consecutive_failures: 0,
            contact: None,
            attestation_receipt: None,
            carrier: None,
            subscription: None,
            subscription_pending: None,
            number_proof: None,
            created_at: now,
            updated_at: now,
        }
    }
}

impl BindingRecord {
    /// Refuses a binding that is not active: the first check of every holder
    /// ceremony, and of handing out its challenges.
    pub fn ensure_active(&self) -> Result<(), Denial> {
        match self.status {
            BindingStatus::Active => Ok(()),
            BindingStatus::Suspended => Err(Denial::BindingSuspended),
            BindingStatus::Revoked => Err(Denial::BindingRevoked),
        }
    }

    /// The binding's entry in the chip index. A serial that a vendor root
    /// attests (`serial_attested`) is indexed alone: one binding per chip.
    /// A serial nothing attests is only a claim, so it is indexed together
    /// with the key that makes it: anyone may claim a victim's serial with
    /// their own key, but that neither blocks the victim's chip nor tells
    /// the claimant whether the serial is bound; the same key still cannot
    /// bind two numbers.
    /// A real format's key id is attested by the key itself.
    pub fn chip_index(&self, hasher: &IdHasher, serial_attested: bool) -> IdHash {
        let key_is_identity =
            ChipFormat::parse(&self.chip_format).is_ok_and(|f| f.key_is_identity());
        if serial_attested || key_is_identity {
            return self.chip_serial.clone();
        }
        key_bound_index(hasher, &self.chip_serial, &self.chip_public_key)
    }

    /// The bound number, opened from its seal (`None`: none kept, or a seal
    /// that does not open for this binding).
    pub fn contact_number(&self, pepper: &[u8]) -> Option<PhoneNumber> {
        let sealed = self.contact.as_deref()?;
        crate::contact::open(pepper, &self.binding_id, sealed)
    }

    /// Ends the binding. The sealed number goes too: an ended binding keeps
    /// no way to reach its owner.
    pub fn revoke(&mut self) {
        self.status = BindingStatus::Revoked;
        self.contact = None;
    }
}

/// An operator lifts a suspension (after checking with the owner out of
/// band): the binding is active again with no failures counted, and its
/// carrier baseline moves to `now`, so only a swap the carrier reports
/// after the reinstatement refuses again. `Ok(false)` for a binding already
/// active (nothing changes); a revoked binding stays revoked.
pub fn reinstate(binding: &mut BindingRecord, now: u64) -> Result<bool, Denial> {
    match binding.status {
        BindingStatus::Active => return Ok(false),
        BindingStatus::Revoked => return Err(Denial::BindingRevoked),
        BindingStatus::Suspended => {}
    }
    binding.status = BindingStatus::Active;
    binding.consecutive_failures = 0;
    binding.updated_at = now;
    if let Some(baseline) = binding.carrier.as_mut() {
        let accepted = |at: Option<u64>| Some(at.map_or(now, |at| at.max(now)));
        baseline.sim_changed_at = accepted(baseline.sim_changed_at);
        baseline.device_changed_at = accepted(baseline.device_changed_at);
        baseline.known = true;
        baseline.checked_at = now;
    }
    Ok(true)
}

/// The chip index entry of a serial nothing attests: the serial's hash
/// together with the claiming key (compressed SEC1, base64url).
pub fn key_bound_index(hasher: &IdHasher, serial: &IdHash, public_key: &str) -> IdHash {
    let claim = format!("{}:{}", serial.as_str(), public_key);
    hasher.hash(IdKind::ChipKey, &claim)
}

/// How a registration proves its number (`NUMBER_PROOF`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProofMethod {
    /// `otp`: the service texts a one-time code to the number.
    Otp,
    /// `device_sms`: the phone texts a token from the number.
    DeviceSms,
    /// `firebase_pnv`: Firebase Phone Number Verification asks the carrier
    /// on the phone and signs the number in a token.
    FirebasePnv,
    /// `camara_nv`: the operator's CAMARA Number Verification, asked by the
    /// service after the phone authorized over mobile data.
    CamaraNv,
}

impl ProofMethod {
    /// The configuration and wire label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Otp => "otp",
            Self::DeviceSms => "device_sms",
            Self::FirebasePnv => "firebase_pnv",
            Self::CamaraNv => "camara_nv",
        }
    }

    /// Whether the carrier proves the number (no SMS involved).
    pub fn by_carrier(self) -> bool {
        matches!(self, Self::FirebasePnv | Self::CamaraNv)
    }

    /// Reads a label.
    pub fn parse(label: &str) -> Option<Self> {
        [
            Self::Otp,
            Self::DeviceSms,
            Self::FirebasePnv,
            Self::CamaraNv,
        ]
        .into_iter()
        .find(|m| m.label() == label)
    }

    /// Reads `NUMBER_PROOF`: one method or several, comma-separated (the
    /// first is the default a registration gets when it names none).
    pub fn parse_list(text: &str) -> Option<Vec<Self>> {
        let mut methods = Vec::new();
        for part in text.split(',') {
            let method = Self::parse(part.trim())?;
            if methods.contains(&method) {
                return None;
            }
            methods.push(method);
        }
        Some(methods)
    }
}

/// How a registration proves its number, with that proof's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberProof {
    /// A one-time code the service texted to the number: its keyed hash,
    /// expiry and wrong attempts.
    Otp(OtpState),
    /// A token the phone texts from the number: its keyed hash, expiry, the
    /// senders seen and failed binds.
    DeviceSms(DeviceSmsState),
    /// A Firebase PNV token the phone obtains: when the registration stops
    /// waiting for it, and refused binds.
    FirebasePnv(PnvState),
    /// The operator's Number Verification: the authorization asked, its
    /// answer, and refusals.
    CamaraNv(NvState),
}

impl NumberProof {
    /// The method's label (`otp`, `device_sms`).
    pub fn method(&self) -> ProofMethod {
        match self {
            Self::Otp(_) => ProofMethod::Otp,
            Self::DeviceSms(_) => ProofMethod::DeviceSms,
            Self::FirebasePnv(_) => ProofMethod::FirebasePnv,
            Self::CamaraNv(_) => ProofMethod::CamaraNv,
        }
    }

    /// When the code or token expires, in Unix seconds.
    pub fn expires_at(&self) -> u64 {
        match self {
            Self::Otp(otp) => otp.expires_at,
            Self::DeviceSms(sms) => sms.expires_at,
            Self::FirebasePnv(pnv) => pnv.expires_at,
            Self::CamaraNv(nv) => nv.expires_at,
        }
    }
}

/// Whether a proof's registration still takes an attempt: `expired` at or
/// after `expires_at`, `number_proof_locked` once `attempts` reached `max`.
pub fn proof_window(
    expires_at: u64,
    attempts: u32,
    max: u32,
    now: u64,
    expired: Denial,
) -> Result<(), Denial> {
    if now >= expires_at {
        return Err(expired);
    }
    if attempts >= max {
        return Err(Denial::NumberProofLocked);
    }
    Ok(())
}

/// A registration waiting for its number to be proven.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRecord {
    /// The registration id: `reg_` and 59 base64url characters.
    pub registration_id: String,
    /// Keyed hash of the registration number.
    pub msisdn: IdHash,
    /// The registration number, sealed to the registration id
    /// ([`crate::contact::seal`]): the bind moves it to the binding, for alerts.
    pub contact: String,
    /// How the number is being proven, and that proof's state.
    pub proof: NumberProof,
    /// When the registration was started, in Unix seconds.
    pub created_at: u64,
}
