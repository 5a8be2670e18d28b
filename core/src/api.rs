//! JSON wire types of the HTTP API, shared by the worker and the client.
//! Every request type refuses unknown fields; binary values are unpadded
//! base64url; `validate` turns wire values into checked domain values.

use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::attestation::vendor::VendorCertificate;
use crate::attestation::{ChipFormat, ChipIdentity};
use crate::codec::unb64;
use crate::crypto::{PublicKey, Signature};
use crate::identifiers::{ChipSerial, Iccid, Imsi, PhoneNumber, SimIdentity};
use crate::transcript::{Ceremony, Transcript};

/// Largest counter value: 2^53 - 1, so JavaScript numbers carry it exactly.
pub const MAX_COUNTER: u64 = (1 << 53) - 1;

/// `POST /v1/registrations`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRegistrationRequest {
    pub phone_number: String,
}

/// Answer to starting a registration, and to asking a fresh bind challenge.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RegistrationResponse {
    pub registration_id: String,
    pub otp_expires_at: u64,
    #[serde(flatten)]
    pub challenge: ChallengeResponse,
}

/// A challenge to sign.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChallengeResponse {
    pub challenge: String,
    pub ceremony: String,
    pub audience: String,
    pub expires_at: u64,
    /// The transaction value the challenge is bound to (base64url), echoed
    /// so the client signs (and can show) exactly what was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
}

/// `POST /v1/bindings/{id}/challenge`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    /// `verify` or `unbind`.
    pub ceremony: String,
    /// A relying-party transaction value to bind the ceremony to: 1 to 64
    /// bytes, base64url (a hash of what the user approves, or a nonce).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
}

impl ChallengeRequest {
    /// The validated ceremony and transaction bytes (empty for none).
    pub fn validate(&self) -> Result<(Ceremony, Vec<u8>), ValidationError> {
        let ceremony = match Ceremony::from_label(&self.ceremony) {
            Some(c @ (Ceremony::Verify | Ceremony::Unbind)) => c,
            _ => return Err(ValidationError::OutOfRange("ceremony")),
        };
        let transaction = match &self.transaction {
            None => Vec::new(),
            Some(t) => parse_transaction(t)?,
        };
        Ok((ceremony, transaction))
    }
}

/// A transaction value: canonical base64url of 1 to
/// [`crate::challenge::MAX_TRANSACTION_LEN`] bytes.
pub fn parse_transaction(text: &str) -> Result<Vec<u8>, ValidationError> {
    let bytes = unb64(text, "transaction")?;
    if bytes.is_empty() || bytes.len() > crate::challenge::MAX_TRANSACTION_LEN {
        return Err(ValidationError::OutOfRange("transaction"));
    }
    Ok(bytes)
}

/// Chip information as read from the native bridge.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipInfo {
    pub format: String,
    pub serial: String,
    /// SEC1 public key (compressed or uncompressed), base64url.
    pub public_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<ChipCertificate>,
}

/// A chip vendor certificate on the wire.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipCertificate {
    pub vendor: String,
    /// Unix seconds from which the certificate is refused.
    pub not_after: u64,
    /// 64-byte `r || s`, base64url.
    pub signature: String,
}

/// SIM information as read from the native bridge.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimInfo {
    pub iccid: String,
    pub imsi: String,
    pub msisdn: String,
    /// SEC1 public key of the SIM applet, base64url, where the SIM has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// Signed evidence for a ceremony: body of verify and unbind requests.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRequest {
    pub challenge: String,
    pub chip: ChipInfo,
    pub sim: SimInfo,
    pub counter: u64,
    /// 64-byte `r || s` over the transcript, base64url.
    pub chip_signature: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_signature: Option<String>,
}

/// `POST /v1/registrations/{id}/binding`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindRequest {
    pub otp: String,
    pub evidence: EvidenceRequest,
}

/// Answer to a successful binding.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BindResponse {
    pub binding_id: String,
    pub status: String,
    /// True when an existing binding moved to a new SIM on the same chip.
    pub rebound: bool,
}

/// Answer to a successful verification.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GrantResponse {
    pub grant: String,
    pub token_type: String,
    pub expires_at: u64,
}

/// Answer to a successful unbind.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UnbindResponse {
    pub binding_id: String,
    pub status: String,
}

/// An RFC 9457 problem document with a stable `code`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What the phone claims, validated; the signatures are separate.
#[derive(Clone, Debug)]
pub struct Claims {
    pub challenge: Vec<u8>,
    pub chip: ChipIdentity,
    pub sim: SimIdentity,
    pub sim_public_key: Option<PublicKey>,
    pub counter: u64,
}

impl Claims {
    /// Validates the unsigned parts of a request, as both sides read them.
    pub fn validate(
        challenge: &str,
        chip: &ChipInfo,
        sim: &SimInfo,
        counter: u64,
    ) -> Result<Self, ValidationError> {
        if counter > MAX_COUNTER {
            return Err(ValidationError::OutOfRange("counter"));
        }
        let certificate = match &chip.certificate {
            Some(c) => Some(VendorCertificate {
                vendor: c.vendor.clone(),
                not_after: c.not_after,
                signature: signature(&c.signature, "chip.certificate.signature")?,
            }),
            None => None,
        };
        Ok(Self {
            challenge: unb64(challenge, "challenge")?,
            chip: ChipIdentity {
                format: ChipFormat::parse(&chip.format)?,
                serial: ChipSerial::parse(&chip.serial)?,
                public_key: public_key(&chip.public_key, "chip.public_key")?,
                certificate,
            },
            sim: SimIdentity {
                iccid: Iccid::parse(&sim.iccid)?,
                imsi: Imsi::parse(&sim.imsi)?,
                msisdn: PhoneNumber::parse(&sim.msisdn)?,
            },
            sim_public_key: sim
                .public_key
                .as_deref()
                .map(|k| public_key(k, "sim.public_key"))
                .transpose()?,
            counter,
        })
    }

    /// The transcript these claims make for `ceremony`, `audience`,
    /// `subject` and `transaction` (empty for none).
    pub fn transcript(
        &self,
        ceremony: Ceremony,
        audience: &str,
        subject: &str,
        transaction: &[u8],
    ) -> Vec<u8> {
        Transcript {
            ceremony,
            challenge: &self.challenge,
            audience,
            subject,
            transaction,
            chip_serial: &self.chip.serial,
            chip_public_key: &self.chip.public_key,
            sim: &self.sim,
            sim_public_key: self.sim_public_key.as_ref(),
            counter: self.counter,
        }
        .encode()
    }
}

/// Claims with their signatures.
#[derive(Clone, Debug)]
pub struct Evidence {
    pub claims: Claims,
    pub chip_signature: Signature,
    pub sim_signature: Option<Signature>,
}

impl EvidenceRequest {
    /// Validates every field; refuses before anything is looked up or stored.
    pub fn validate(&self) -> Result<Evidence, ValidationError> {
        Ok(Evidence {
            claims: Claims::validate(&self.challenge, &self.chip, &self.sim, self.counter)?,
            chip_signature: signature(&self.chip_signature, "chip_signature")?,
            sim_signature: self
                .sim_signature
                .as_deref()
                .map(|s| signature(s, "sim_signature"))
                .transpose()?,
        })
    }
}

fn public_key(text: &str, field: &'static str) -> Result<PublicKey, ValidationError> {
    PublicKey::from_sec1(&unb64(text, field)?)
}

fn signature(text: &str, field: &'static str) -> Result<Signature, ValidationError> {
    Signature::from_bytes(&unb64(text, field)?)
}
