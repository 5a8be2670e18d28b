//! JSON wire types of the HTTP API, shared by the worker and the client.
//! Every request type refuses unknown fields; binary values are unpadded
//! base64url; `validate` turns wire values into checked domain values.

use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::attestation::vendor::VendorCertificate;
use crate::attestation::{ChipEvidence, ChipFormat, ChipIdentity};
use crate::codec::unb64;
use crate::crypto::{PublicKey, Signature};
use crate::identifiers::ChipSerial;
use crate::sim::SimIdentity;
use crate::transcript::{Ceremony, Transcript};

/// Largest counter value: 2^53 - 1, so JavaScript numbers carry it exactly.
pub const MAX_COUNTER: u64 = (1 << 53) - 1;

/// `POST /v1/registrations`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRegistrationRequest {
    /// The number to bind: an E.164 mobile number (`PhoneNumber::parse`).
    pub phone_number: String,
    /// How to prove it: `otp` (the service texts a code), `device_sms` (the
    /// phone texts a token) or `firebase_pnv` (the phone obtains a Firebase
    /// PNV token at bind); absent, the deployment's first `NUMBER_PROOF`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    /// `otp` or `device_sms` where the deployment requires a carrier proof:
    /// the `camara_nv` registration of the same number whose operator said
    /// it cannot help (usable once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_from: Option<String>,
}

/// What the phone must send for a `device_sms` registration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeviceSmsRequest {
    /// The deployment's virtual number to text, E.164.
    pub to: String,
    /// The text to send, carrying the token (`SB-` and 10 characters).
    pub text: String,
    /// When the token expires, in Unix seconds.
    pub expires_at: u64,
    /// The secret the bind must carry (`bind_secret`): 16 random bytes,
    /// base64url, in this body only.
    pub bind_secret: String,
}

/// Answer to starting a registration, and to asking a fresh bind challenge.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RegistrationResponse {
    /// The opaque registration id: `reg_` and 59 base64url characters.
    pub registration_id: String,
    /// How the number is proven: `otp`, `device_sms` or `firebase_pnv`.
    pub proof: String,
    /// `otp`: when the one-time code sent by SMS expires, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_expires_at: Option<u64>,
    /// `device_sms`: the SMS the phone must send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_sms: Option<DeviceSmsRequest>,
    /// The bind challenge, its fields flattened into this object.
    #[serde(flatten)]
    pub challenge: ChallengeResponse,
}

/// `POST /v1/registrations/{id}/carrier-authorization`: the bind challenge
/// the operator's authorization is for.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarrierAuthorizationRequest {
    /// The bind challenge, base64url, as the challenge route returned it.
    pub challenge: String,
}

/// Answer to a carrier authorization: the URL the phone opens over mobile data.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CarrierAuthorizationResponse {
    /// The operator's authorization endpoint with the signed request.
    pub authorization_url: String,
}

/// The callback's answer once the operator verified the number.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NumberVerifiedResponse {
    /// Always true: a refusal is a problem document.
    pub number_verified: bool,
}

/// A challenge to sign.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChallengeResponse {
    /// The challenge (docs/PROTOCOL.md §4), base64url; the transcript carries
    /// its raw bytes.
    pub challenge: String,
    /// The ceremony it is for: `bind`, `verify` or `unbind`.
    pub ceremony: String,
    /// The deployment's audience, signed in the transcript.
    pub audience: String,
    /// When the challenge expires, in Unix seconds.
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

/// Chip information as read from the native bridge. Which fields are
/// present depends on `format` (docs/PROTOCOL.md §2):
///
/// - `simbind-p256`: `serial`, `public_key`, optionally `certificate`;
/// - `android-key`: `key_id`, and at bind `certificate_chain`;
/// - `apple-appattest`: `key_id`, and at bind `attestation`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipInfo {
    /// The chip format: `simbind-p256`, `android-key` or `apple-appattest`.
    pub format: String,
    /// `simbind-p256` only: the chip serial, 4 to 64 characters of
    /// `A-Z a-z 0-9 - _ : .`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// SEC1 public key (compressed or uncompressed), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// `simbind-p256` only: the chip's vendor certificate, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<ChipCertificate>,
    /// Base64url SHA-256 of the attested key's uncompressed SEC1 point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Android Key Attestation chain, leaf first, base64url DER each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_chain: Option<Vec<String>>,
    /// App Attest attestation object (CBOR), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
}

/// Largest App Attest attestation object accepted, in bytes.
pub const MAX_ATTESTATION_LEN: usize = 16 * 1024;
/// Largest Android attestation chain accepted, all certificates' DER together.
pub const MAX_CHAIN_BYTES: usize = 16 * 1024;
/// Largest bind body (`POST /v1/registrations/{id}/binding`) accepted: the
/// largest attestation, base64url, with every other field at its limit
/// still leaves 12 KiB (room for a carrier's number-proof token). Every
/// other route takes at most 8 KiB.
pub const MAX_BIND_BODY: usize = 40 * 1024;
/// Largest App Attest assertion accepted, in bytes.
pub const MAX_ASSERTION_LEN: usize = 1024;

impl ChipInfo {
    /// Validates the chip fields for its format.
    pub fn validate(&self) -> Result<ChipIdentity, ValidationError> {
        let format = ChipFormat::parse(&self.format)?;
        let shape = ValidationError::ChipShape;
        if format == ChipFormat::SimbindP256 {
            if self.key_id.is_some()
                || self.certificate_chain.is_some()
                || self.attestation.is_some()
            {
                return Err(shape);
            }
            let (Some(serial), Some(key)) = (&self.serial, &self.public_key) else {
                return Err(shape);
            };
            let certificate = match &self.certificate {
                Some(c) => Some(VendorCertificate {
                    vendor: c.vendor.clone(),
                    not_after: c.not_after,
                    signature: signature(&c.signature, "chip.certificate.signature")?,
                }),
                None => None,
            };
            return Ok(ChipIdentity {
                format,
                serial: ChipSerial::parse(serial)?,
                public_key: Some(public_key(key, "chip.public_key")?),
                certificate,
                evidence: None,
            });
        }
        if self.serial.is_some() || self.public_key.is_some() || self.certificate.is_some() {
            return Err(shape);
        }
        let key_id = self.key_id.as_deref().ok_or(shape.clone())?;
        if unb64(key_id, "chip.key_id")?.len() != 32 {
            return Err(ValidationError::OutOfRange("chip.key_id"));
        }
        let evidence = match (format, &self.certificate_chain, &self.attestation) {
            (ChipFormat::AndroidKey, Some(chain), None) => {
                if chain.is_empty() || chain.len() > crate::attestation::x509::MAX_CHAIN_LEN {
                    return Err(ValidationError::OutOfRange("chip.certificate_chain"));
                }
                let ders = chain
                    .iter()
                    .map(|c| unb64(c, "chip.certificate_chain"))
                    .collect::<Result<Vec<_>, _>>()?;
                if ders
                    .iter()
                    .any(|d| d.len() > crate::attestation::x509::MAX_CERT_LEN)
                    || ders.iter().map(Vec::len).sum::<usize>() > MAX_CHAIN_BYTES
                {
                    return Err(ValidationError::OutOfRange("chip.certificate_chain"));
                }
                Some(ChipEvidence::AndroidChain(ders))
            }
            (ChipFormat::AppleAppAttest, None, Some(object)) => {
                let bytes = unb64(object, "chip.attestation")?;
                if bytes.len() > MAX_ATTESTATION_LEN {
                    return Err(ValidationError::OutOfRange("chip.attestation"));
                }
                Some(ChipEvidence::AppleAttestation(bytes))
            }
            (_, None, None) => None,
            _ => return Err(shape),
        };
        Ok(ChipIdentity {
            format,
            serial: ChipSerial::parse(key_id)?,
            public_key: None,
            certificate: None,
            evidence,
        })
    }
}

/// A chip vendor certificate on the wire.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChipCertificate {
    /// The vendor id: the name of the deployment's vendor root that signed it.
    pub vendor: String,
    /// Unix seconds from which the certificate is refused.
    pub not_after: u64,
    /// 64-byte `r || s`, base64url.
    pub signature: String,
}

/// SIM information as read from the native bridge (SIM identity v2). Every
/// field is optional: each app reports what its privileges let it read, and
/// the deployment's SIM level says what it requires (docs/PROTOCOL.md §3).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimInfo {
    /// The SIM's own phone number, E.164, where the phone can read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msisdn: Option<String>,
    /// The ICCID: 18 to 20 digits starting `89`, Luhn check digit last (privileged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iccid: Option<String>,
    /// The IMSI: 6 to 15 digits, MCC 2xx–7xx or `001` (privileged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imsi: Option<String>,
    /// The eUICC's EID: 32 digits starting `89`, 1 mod 97 (privileged, eSIM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eid: Option<String>,
    /// The phone's subscription id, 0 to 2^31 − 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<u64>,
    /// The SIM slot index, 0 to 15.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_index: Option<u64>,
    /// The phone's card id, 0 to 2^31 − 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<u64>,
    /// The eUICC port index, 0 to 15.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_index: Option<u64>,
    /// Whether the subscription is an eSIM profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded: Option<bool>,
    /// The operator's mobile country code: 3 digits, with `mnc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcc: Option<String>,
    /// The operator's mobile network code: 2 or 3 digits, with `mcc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mnc: Option<String>,
    /// SEC1 public key of the SIM applet, base64url, where the SIM has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// Signed evidence for a ceremony: body of verify and unbind requests.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRequest {
    /// The challenge as the challenge route returned it, base64url.
    pub challenge: String,
    /// The chip, in the shape its format takes for this ceremony.
    pub chip: ChipInfo,
    /// The SIM in the phone.
    pub sim: SimInfo,
    /// The chip counter signed in the transcript, at most [`MAX_COUNTER`];
    /// 0 for `apple-appattest`, whose assertion carries the real one.
    pub counter: u64,
    /// Base64url: 64-byte `r || s` over the transcript, or for
    /// `apple-appattest` the CBOR assertion over SHA-256 of it.
    pub chip_signature: String,
    /// Base64url 64-byte `r || s` by the SIM's key over the same transcript,
    /// when the SIM has a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sim_signature: Option<String>,
}

/// `POST /v1/registrations/{id}/binding`
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindRequest {
    /// `otp` registrations: the 6-digit one-time code texted to the number.
    /// `device_sms` registrations send none: the token's SMS proves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp: Option<String>,
    /// `device_sms` registrations: the start answer's `device_sms.bind_secret`
    /// (it never travels in a URL, unlike the registration id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_secret: Option<String>,
    /// `camara_nv` registrations send none of `otp`, `bind_secret` and
    /// `firebase_pnv_token`: the operator answered the service itself.
    /// `firebase_pnv` registrations: the token Firebase PNV returned for
    /// this bind's nonce (docs/PROTOCOL.md §12), at most 4 KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firebase_pnv_token: Option<String>,
    /// The chip's signed evidence over the bind transcript.
    pub evidence: EvidenceRequest,
}

/// Answer to a successful binding.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BindResponse {
    /// The binding id: `bnd_` and 22 base64url characters.
    pub binding_id: String,
    /// The binding's status label: `active` after a bind.
    pub status: String,
    /// True when an existing binding moved to a new SIM on the same chip.
    pub rebound: bool,
}

/// Answer to a successful verification.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GrantResponse {
    /// The grant: a compact ES256 JWT (docs/PROTOCOL.md §8).
    pub grant: String,
    /// Always `SimBind-Grant`.
    pub token_type: String,
    /// The grant's `exp`, in Unix seconds.
    pub expires_at: u64,
}

/// Answer to a successful unbind.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UnbindResponse {
    /// The binding id that was unbound.
    pub binding_id: String,
    /// The binding's status label: `revoked` after an unbind.
    pub status: String,
}

/// An RFC 9457 problem document with a stable `code`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Problem {
    /// The problem type URI (`type` on the wire):
    /// `https://simbind.dev/problems/` followed by the code.
    #[serde(rename = "type")]
    pub type_: String,
    /// The HTTP status's reason phrase (`Forbidden`, …).
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// The stable machine-readable code (`sim_changed`, …).
    pub code: String,
    /// A human-readable explanation; never repeats an input value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What the phone claims, validated; the signatures are separate.
#[derive(Clone, Debug)]
pub struct Claims {
    /// The raw challenge bytes, decoded from base64url (the decision checks
    /// its MAC).
    pub challenge: Vec<u8>,
    /// The validated chip, with its attestation material if any.
    pub chip: ChipIdentity,
    /// The validated SIM fields.
    pub sim: SimIdentity,
    /// The SIM applet's P-256 key, when the SIM has one.
    pub sim_public_key: Option<PublicKey>,
    /// The transcript's counter, at most [`MAX_COUNTER`] (0 for
    /// `apple-appattest`).
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
        let chip = chip.validate()?;
        // The Secure Enclave writes App Attest's counter into each assertion:
        // the transcript carries 0 and the assertion's counter counts.
        if chip.format == ChipFormat::AppleAppAttest && counter != 0 {
            return Err(ValidationError::OutOfRange("counter"));
        }
        Ok(Self {
            challenge: unb64(challenge, "challenge")?,
            chip,
            sim: SimIdentity::parse(sim)?,
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
            chip_public_key: self.chip.public_key.as_ref(),
            sim: &self.sim,
            sim_public_key: self.sim_public_key.as_ref(),
            counter: self.counter,
        }
        .encode()
    }
}

/// The chip's answer to a transcript.
#[derive(Clone, Debug)]
pub enum ChipSignature {
    /// ECDSA P-256 over the transcript (`simbind-p256`, `android-key`).
    Ecdsa(Signature),
    /// An App Attest assertion over SHA-256 of the transcript.
    Assertion(Vec<u8>),
}

/// Claims with their signatures.
#[derive(Clone, Debug)]
pub struct Evidence {
    /// The validated unsigned parts.
    pub claims: Claims,
    /// The chip's signature or assertion over the transcript.
    pub chip_signature: ChipSignature,
    /// The SIM key's `r || s` signature over the transcript, if sent.
    pub sim_signature: Option<Signature>,
}

impl EvidenceRequest {
    /// Validates every field; refuses before anything is looked up or stored.
    pub fn validate(&self) -> Result<Evidence, ValidationError> {
        let claims = Claims::validate(&self.challenge, &self.chip, &self.sim, self.counter)?;
        let chip_signature = if claims.chip.format == ChipFormat::AppleAppAttest {
            let bytes = unb64(&self.chip_signature, "chip_signature")?;
            if bytes.is_empty() || bytes.len() > MAX_ASSERTION_LEN {
                return Err(ValidationError::OutOfRange("chip_signature"));
            }
            ChipSignature::Assertion(bytes)
        } else {
            ChipSignature::Ecdsa(signature(&self.chip_signature, "chip_signature")?)
        };
        Ok(Evidence {
            claims,
            chip_signature,
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
