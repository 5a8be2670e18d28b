//! Typed errors with stable machine-readable codes.

use thiserror::Error;

use crate::attestation::AttestationRefusal;
use crate::camara_nv::NvRefusal;
use crate::firebase_pnv::PnvRefusal;

/// Input that is malformed or invalid: a 400-class problem, never stored.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    /// `invalid_phone_number`: a phone number that is not E.164.
    #[error(
        "phone number must be a mobile number in E.164: '+', the country calling code, then the national digits, of a length that country's mobile numbers have"
    )]
    InvalidPhoneNumber,
    /// `invalid_iccid`: an ICCID of the wrong length, non-digits or a prefix other than `89`.
    #[error("ICCID must be 18 to 20 digits starting with 89")]
    InvalidIccid,
    /// `invalid_iccid_checksum`: an ICCID of the right shape whose Luhn check digit is wrong.
    #[error("ICCID check digit (Luhn) is wrong")]
    IccidChecksum,
    /// `invalid_imsi`: an IMSI of the wrong length, non-digits, or an MCC outside 2xx–7xx
    /// and `001`.
    #[error("IMSI must be 6 to 15 digits with a valid mobile country code")]
    InvalidImsi,
    /// `invalid_eid`: an EID that is not 32 digits starting with `89`.
    #[error("EID must be 32 digits starting with 89")]
    InvalidEid,
    /// `invalid_eid_checksum`: an EID of the right shape whose mod-97 check digits are wrong.
    #[error("EID check digits (mod 97) are wrong")]
    EidChecksum,
    /// `invalid_mcc_mnc`: an MCC without an MNC (or the reverse), an MCC that is not 3
    /// digits in 2xx–7xx or `001`, or an MNC that is not 2 or 3 digits.
    #[error("MCC must be 3 digits (2xx-7xx or 001) and MNC 2 or 3 digits, both or neither")]
    InvalidNetworkCode,
    /// `invalid_chip_serial`: a chip serial (or key id) of the wrong length or alphabet.
    #[error("chip serial must be 4 to 64 characters of A-Z, a-z, 0-9, '-', '_', ':' or '.'")]
    InvalidChipSerial,
    /// `invalid_id`: a registration or binding id that is malformed; carries the expected
    /// prefix (`reg_` or `bnd_`).
    #[error("identifier '{0}' is malformed")]
    InvalidId(&'static str),
    /// `invalid_base64`: a value that is not canonical unpadded base64url; carries the
    /// field's name.
    #[error("field '{0}' is not valid unpadded base64url")]
    InvalidBase64(&'static str),
    /// `invalid_public_key`: a key that is not a 33- or 65-byte SEC1 point on P-256.
    #[error("public key is not a valid SEC1-encoded P-256 point")]
    InvalidPublicKey,
    /// `invalid_secret_key`: a private key that is not a 32-byte scalar in `1..n`
    /// (configured and test keys; no request carries one).
    #[error("private key must be a 32-byte scalar in 1..n")]
    InvalidSecretKey,
    /// `invalid_signature_encoding`: a signature that is not 64 bytes `r || s` with
    /// `0 < r, s < n`.
    #[error("signature must be 64 bytes r||s with 0 < r, s < n")]
    InvalidSignatureEncoding,
    /// `unsupported_attestation_format`: a chip `format` other than `simbind-p256`,
    /// `android-key` and `apple-appattest`.
    #[error("the chip format is not one this service knows")]
    UnsupportedFormat,
    /// `invalid_chip_shape`: a chip object with fields of another format, or without
    /// those its format needs.
    #[error("the chip's fields do not match its format")]
    ChipShape,
    /// `invalid_otp_format`: a one-time code that is not exactly 6 ASCII digits.
    #[error("one-time code must be 6 digits")]
    InvalidOtpFormat,
    /// `out_of_range`: a well-formed value outside its bounds (a ceremony, transaction
    /// length, key id length, counter, chain or object size); carries the field's name.
    #[error("field '{0}' is out of range")]
    OutOfRange(&'static str),
    /// `invalid_sender_address`: a client address that is not an IP address, or (outside
    /// dev mode) none at all.
    #[error("the client address is missing or malformed")]
    InvalidSenderAddress,
    /// `number_proof_not_allowed`: a registration asking for a number proof
    /// (`otp`, `device_sms`) this deployment does not offer (`NUMBER_PROOF`).
    #[error("this service does not offer that number proof")]
    ProofNotAllowed,
    /// `carrier_proof_required`: an `otp` or `device_sms` registration where the
    /// deployment requires a carrier proof (`REQUIRE_CARRIER_PROOF`), without a
    /// `fallback_from` registration whose operator said it cannot help.
    #[error("this service requires the carrier to prove the number")]
    CarrierProofRequired,
    /// `invalid_fallback`: a `fallback_from` on a registration that is itself a
    /// carrier proof (only `otp` and `device_sms` fall back).
    #[error("only an SMS proof can be a fallback")]
    InvalidFallback,
    /// `country_not_allowed`: a registration number whose country calling code is not
    /// in `SMS_COUNTRIES`.
    #[error("this service does not send SMS to that country")]
    CountryNotAllowed,
}

impl ValidationError {
    /// Stable code carried in problem+json bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidPhoneNumber => "invalid_phone_number",
            Self::InvalidIccid => "invalid_iccid",
            Self::IccidChecksum => "invalid_iccid_checksum",
            Self::InvalidImsi => "invalid_imsi",
            Self::InvalidEid => "invalid_eid",
            Self::EidChecksum => "invalid_eid_checksum",
            Self::InvalidNetworkCode => "invalid_mcc_mnc",
            Self::InvalidChipSerial => "invalid_chip_serial",
            Self::InvalidId(_) => "invalid_id",
            Self::InvalidBase64(_) => "invalid_base64",
            Self::InvalidPublicKey => "invalid_public_key",
            Self::InvalidSecretKey => "invalid_secret_key",
            Self::InvalidSignatureEncoding => "invalid_signature_encoding",
            Self::UnsupportedFormat => "unsupported_attestation_format",
            Self::ChipShape => "invalid_chip_shape",
            Self::InvalidOtpFormat => "invalid_otp_format",
            Self::OutOfRange(_) => "out_of_range",
            Self::InvalidSenderAddress => "invalid_sender_address",
            Self::ProofNotAllowed => "number_proof_not_allowed",
            Self::CarrierProofRequired => "carrier_proof_required",
            Self::InvalidFallback => "invalid_fallback",
            Self::CountryNotAllowed => "country_not_allowed",
        }
    }
}

/// Why a ceremony was refused. Each variant is a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Denial {
    /// `challenge_invalid`: a challenge that does not parse, names an unknown key, fails
    /// its MAC, was issued more than 5 s in the future or lives longer than 120 s.
    #[error("the challenge is malformed or was not issued by this service")]
    ChallengeInvalid,
    /// `challenge_expired`: an authentic challenge at or after its `expires_at`.
    #[error("the challenge has expired")]
    ChallengeExpired,
    /// `challenge_wrong_ceremony`: an authentic challenge issued for another ceremony.
    #[error("the challenge was issued for another ceremony")]
    ChallengeWrongCeremony,
    /// `challenge_wrong_subject`: an authentic challenge issued for another registration
    /// or binding id.
    #[error("the challenge was issued for another registration or binding")]
    ChallengeWrongSubject,
    /// `challenge_reused`: a challenge whose nonce was already accepted once.
    #[error("the challenge was already used")]
    ChallengeReused,
    /// `chip_mismatch`: at verify or unbind, a chip (format, serial or key) other than
    /// the bound one.
    #[error("the chip is not the one bound to this number")]
    ChipMismatch,
    /// `bad_signature`: the chip signature (or App Attest assertion) does not verify over
    /// the transcript with the chip's key.
    #[error("the chip signature does not verify")]
    BadSignature,
    /// `counter_replayed`: a chip counter not greater than the stored one.
    #[error("the chip counter did not increase (possible cloned key or replay)")]
    CounterReplayed,
    /// `sim_changed`: an authentic request whose SIM differs from the bound one: a field
    /// bound at bind that differs or is missing, or a field the policy requires that is
    /// missing (docs/PROTOCOL.md §5).
    #[error("the SIM in the phone is not the bound SIM")]
    SimChanged,
    /// `number_changed`: an authentic request whose MSISDN differs from the bound number.
    #[error("the SIM's phone number is not the bound number")]
    NumberChanged,
    /// `number_mismatch`: at bind, the SIM's MSISDN is not the registration's number.
    #[error("the SIM's own number differs from the registration number")]
    NumberMismatch,
    /// `sim_evidence_required`: at bind, the SIM reported fewer fields than the
    /// deployment's SIM level requires for this chip format (`SIM_LEVEL`).
    #[error("the SIM reported fewer fields than this deployment requires")]
    SimEvidenceRequired,
    /// `sim_signature_required`: the SIM sent no key and no signature where the policy
    /// requires them, or the bound SIM's key is missing or replaced.
    #[error("a SIM signature is required")]
    SimSignatureRequired,
    /// `bad_sim_signature`: a SIM key without a valid signature by it, or a SIM signature
    /// without a SIM key.
    #[error("the SIM signature does not verify")]
    BadSimSignature,
    /// `chip_certificate_required`: vendor roots are configured and the chip sent no
    /// certificate.
    #[error("a valid chip vendor certificate is required")]
    ChipCertificateRequired,
    /// `chip_certificate_invalid`: the certificate does not verify under the named root
    /// for this format, vendor, date, serial and key (or names no configured root).
    #[error("the chip vendor certificate does not verify")]
    ChipCertificateInvalid,
    /// `chip_certificate_expired`: the certificate checked at or after its `not_after`.
    #[error("the chip vendor certificate has expired")]
    ChipCertificateExpired,
    /// `chip_revoked`: the chip's serial or key is in the deployment's `REVOKED_CHIPS`.
    #[error("this chip is no longer trusted by the deployment")]
    ChipRevoked,
    /// `binding_suspended`: the binding was suspended (too many authentic failures,
    /// or a SIM or device swap the carrier reported).
    #[error(
        "the binding is suspended until the owner re-proves the number or an operator reinstates it"
    )]
    BindingSuspended,
    /// `binding_revoked`: the binding was unbound or revoked by an operator.
    #[error("the binding was revoked")]
    BindingRevoked,
    /// `otp_invalid`: a wrong one-time code, with attempts left.
    #[error("the one-time code is wrong")]
    OtpInvalid,
    /// `otp_expired`: a one-time code submitted at or after its expiry.
    #[error("the one-time code has expired")]
    OtpExpired,
    /// `otp_attempts_exhausted`: 5 wrong codes were submitted for the registration.
    #[error("too many wrong one-time codes")]
    OtpAttemptsExhausted,
    /// `sms_not_received`: a device-SMS registration whose token has not arrived from
    /// any sender yet; retry once the phone has sent it (not counted).
    #[error("the device-sent SMS has not arrived yet")]
    SmsNotReceived,
    /// `sms_token_expired`: a device-SMS token used at or after its expiry.
    #[error("the SMS token has expired")]
    SmsTokenExpired,
    /// `sms_sender_mismatch`: the token arrived from a number that is not the
    /// registration's (the network-stamped sender).
    #[error("the SMS came from another number")]
    SmsSenderMismatch,
    /// `sms_token_voided`: the token arrived from two different numbers; neither proves.
    #[error("the SMS token arrived from two numbers and is void")]
    SmsTokenVoided,
    /// `bind_secret_invalid`: a device-SMS bind without the registration's
    /// bind secret (returned only in the start answer's body), or with another.
    #[error("the bind secret is missing or wrong")]
    BindSecretInvalid,
    /// `number_proof_locked`: too many failed device-SMS binds on one registration.
    #[error("too many failed attempts: start a new registration")]
    NumberProofLocked,
    /// `carrier_sim_swapped`: the carrier reports a SIM change within `maxAge` (bind), or
    /// after the binding's baseline (verify, the subscription sink).
    #[error("the carrier reports a recent SIM change for this number")]
    CarrierSimSwapped,
    /// `carrier_device_swapped`: the carrier reports the number in another device since
    /// the binding's baseline.
    #[error("the carrier reports this number in another device")]
    CarrierDeviceSwapped,
    /// `carrier_unavailable`: the carrier gave no answer and the policy fails closed.
    #[error("the carrier's SIM-swap service did not answer")]
    CarrierUnavailable,
    /// `binding_exists`: at bind, the number has a live binding to another chip.
    #[error("this number is bound to another chip: unbind it from that chip first")]
    BindingExists,
    /// `chip_already_bound`: at bind, the chip holds a live binding to another number.
    #[error("this chip is already bound to another number")]
    ChipAlreadyBound,
    /// A refused chip attestation (or App Attest assertion for an App ID no longer
    /// allowed): the refusal's own `attestation_*` code.
    #[error("{0}")]
    Attestation(AttestationRefusal),
    /// A Firebase PNV token that does not prove the registration's number:
    /// the refusal's own `pnv_*` code.
    #[error("{0}")]
    FirebasePnv(PnvRefusal),
    /// CAMARA Number Verification did not prove the registration's number:
    /// the refusal's own `nv_*` code.
    #[error("{0}")]
    CamaraNv(NvRefusal),
}

impl From<AttestationRefusal> for Denial {
    fn from(refusal: AttestationRefusal) -> Self {
        Self::Attestation(refusal)
    }
}

impl From<NvRefusal> for Denial {
    fn from(refusal: NvRefusal) -> Self {
        Self::CamaraNv(refusal)
    }
}

impl From<PnvRefusal> for Denial {
    fn from(refusal: PnvRefusal) -> Self {
        Self::FirebasePnv(refusal)
    }
}

impl Denial {
    /// Stable code carried in problem+json bodies and audit events.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ChallengeInvalid => "challenge_invalid",
            Self::ChallengeExpired => "challenge_expired",
            Self::ChallengeWrongCeremony => "challenge_wrong_ceremony",
            Self::ChallengeWrongSubject => "challenge_wrong_subject",
            Self::ChallengeReused => "challenge_reused",
            Self::ChipMismatch => "chip_mismatch",
            Self::BadSignature => "bad_signature",
            Self::CounterReplayed => "counter_replayed",
            Self::SimChanged => "sim_changed",
            Self::NumberChanged => "number_changed",
            Self::NumberMismatch => "number_mismatch",
            Self::SimEvidenceRequired => "sim_evidence_required",
            Self::SimSignatureRequired => "sim_signature_required",
            Self::BadSimSignature => "bad_sim_signature",
            Self::ChipCertificateRequired => "chip_certificate_required",
            Self::ChipCertificateInvalid => "chip_certificate_invalid",
            Self::ChipCertificateExpired => "chip_certificate_expired",
            Self::ChipRevoked => "chip_revoked",
            Self::BindingSuspended => "binding_suspended",
            Self::BindingRevoked => "binding_revoked",
            Self::OtpInvalid => "otp_invalid",
            Self::OtpExpired => "otp_expired",
            Self::OtpAttemptsExhausted => "otp_attempts_exhausted",
            Self::SmsNotReceived => "sms_not_received",
            Self::SmsTokenExpired => "sms_token_expired",
            Self::SmsSenderMismatch => "sms_sender_mismatch",
            Self::SmsTokenVoided => "sms_token_voided",
            Self::BindSecretInvalid => "bind_secret_invalid",
            Self::NumberProofLocked => "number_proof_locked",
            Self::CarrierSimSwapped => "carrier_sim_swapped",
            Self::CarrierDeviceSwapped => "carrier_device_swapped",
            Self::CarrierUnavailable => "carrier_unavailable",
            Self::BindingExists => "binding_exists",
            Self::ChipAlreadyBound => "chip_already_bound",
            Self::Attestation(refusal) => refusal.code(),
            Self::FirebasePnv(refusal) => refusal.code(),
            Self::CamaraNv(refusal) => refusal.code(),
        }
    }

    /// False for refusals decided before the challenge was accepted (the
    /// challenge itself, or the binding's status): only an accepted
    /// challenge has to be marked used.
    pub fn after_challenge_accepted(&self) -> bool {
        !matches!(
            self,
            Self::ChallengeInvalid
                | Self::ChallengeExpired
                | Self::ChallengeWrongCeremony
                | Self::ChallengeWrongSubject
                | Self::ChallengeReused
                | Self::BindingSuspended
                | Self::BindingRevoked
        )
    }

    /// Whether an authentic refusal with this code counts towards suspension
    /// and texts the owner: not when the carrier merely did not answer.
    pub fn counts(&self) -> bool {
        !matches!(self, Self::CarrierUnavailable)
    }

    /// Whether an authentic refusal with this code suspends the binding at
    /// once, whatever the failure count: the carrier reported the number's
    /// SIM (or device) swapped, as a push notification does. The way out is
    /// a re-bind once the carrier no longer reports the swap within its
    /// window, or an operator's reinstatement.
    pub fn suspends_at_once(&self) -> bool {
        matches!(self, Self::CarrierSimSwapped | Self::CarrierDeviceSwapped)
    }

    /// HTTP status the API answers with for this denial.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::ChallengeExpired
            | Self::OtpExpired
            | Self::SmsTokenExpired
            | Self::FirebasePnv(PnvRefusal::Expired) => 410,
            Self::FirebasePnv(PnvRefusal::Malformed) => 400,
            Self::FirebasePnv(PnvRefusal::NumberMismatch) => 403,
            Self::FirebasePnv(PnvRefusal::KeysUnavailable) => 503,
            Self::FirebasePnv(_) => 401,
            Self::CamaraNv(NvRefusal::StateInvalid) => 401,
            Self::CamaraNv(NvRefusal::StateUsed | NvRefusal::NotProven) => 409,
            Self::CamaraNv(NvRefusal::Unavailable) => 503,
            Self::CamaraNv(NvRefusal::Expired) => 410,
            Self::OtpAttemptsExhausted | Self::NumberProofLocked => 429,
            Self::CarrierUnavailable => 503,
            Self::BindingExists | Self::ChipAlreadyBound | Self::SmsNotReceived => 409,
            Self::Attestation(AttestationRefusal::Malformed | AttestationRefusal::Required) => 400,
            Self::ChallengeInvalid
            | Self::ChallengeWrongCeremony
            | Self::ChallengeWrongSubject
            | Self::BadSignature
            | Self::BadSimSignature
            | Self::OtpInvalid
            | Self::BindSecretInvalid => 401,
            _ => 403,
        }
    }

    /// Every denial, for documentation and exhaustive tests.
    pub const ALL: [Denial; 71] = [
        Self::ChallengeInvalid,
        Self::ChallengeExpired,
        Self::ChallengeWrongCeremony,
        Self::ChallengeWrongSubject,
        Self::ChallengeReused,
        Self::ChipMismatch,
        Self::BadSignature,
        Self::CounterReplayed,
        Self::SimChanged,
        Self::NumberChanged,
        Self::NumberMismatch,
        Self::SimEvidenceRequired,
        Self::SimSignatureRequired,
        Self::BadSimSignature,
        Self::ChipCertificateRequired,
        Self::ChipCertificateInvalid,
        Self::ChipCertificateExpired,
        Self::ChipRevoked,
        Self::BindingSuspended,
        Self::BindingRevoked,
        Self::OtpInvalid,
        Self::OtpExpired,
        Self::OtpAttemptsExhausted,
        Self::SmsNotReceived,
        Self::SmsTokenExpired,
        Self::SmsSenderMismatch,
        Self::SmsTokenVoided,
        Self::BindSecretInvalid,
        Self::NumberProofLocked,
        Self::CarrierSimSwapped,
        Self::CarrierDeviceSwapped,
        Self::CarrierUnavailable,
        Self::BindingExists,
        Self::ChipAlreadyBound,
        Self::Attestation(AttestationRefusal::Malformed),
        Self::Attestation(AttestationRefusal::Required),
        Self::Attestation(AttestationRefusal::FormatNotAllowed),
        Self::Attestation(AttestationRefusal::UntrustedRoot),
        Self::Attestation(AttestationRefusal::SignatureInvalid),
        Self::Attestation(AttestationRefusal::Expired),
        Self::Attestation(AttestationRefusal::Revoked),
        Self::Attestation(AttestationRefusal::StatusUnavailable),
        Self::Attestation(AttestationRefusal::ChallengeMismatch),
        Self::Attestation(AttestationRefusal::KeyMismatch),
        Self::Attestation(AttestationRefusal::UnsupportedKey),
        Self::Attestation(AttestationRefusal::SecurityLevel),
        Self::Attestation(AttestationRefusal::DeviceNotLocked),
        Self::Attestation(AttestationRefusal::BootNotVerified),
        Self::Attestation(AttestationRefusal::AppNotAllowed),
        Self::Attestation(AttestationRefusal::Environment),
        Self::Attestation(AttestationRefusal::CounterNotZero),
        Self::FirebasePnv(PnvRefusal::Malformed),
        Self::FirebasePnv(PnvRefusal::UnknownKey),
        Self::FirebasePnv(PnvRefusal::SignatureInvalid),
        Self::FirebasePnv(PnvRefusal::WrongProject),
        Self::FirebasePnv(PnvRefusal::Expired),
        Self::FirebasePnv(PnvRefusal::NotYetValid),
        Self::FirebasePnv(PnvRefusal::NonceMismatch),
        Self::FirebasePnv(PnvRefusal::NumberMismatch),
        Self::FirebasePnv(PnvRefusal::Replayed),
        Self::FirebasePnv(PnvRefusal::KeysUnavailable),
        Self::CamaraNv(NvRefusal::StateInvalid),
        Self::CamaraNv(NvRefusal::StateUsed),
        Self::CamaraNv(NvRefusal::AuthorizationDenied),
        Self::CamaraNv(NvRefusal::IdTokenInvalid),
        Self::CamaraNv(NvRefusal::NotVerified),
        Self::CamaraNv(NvRefusal::NotMobileNetwork),
        Self::CamaraNv(NvRefusal::NotSupported),
        Self::CamaraNv(NvRefusal::Unavailable),
        Self::CamaraNv(NvRefusal::NotProven),
        Self::CamaraNv(NvRefusal::Expired),
    ];
}

/// Why an inbound SMS webhook was refused (401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WebhookRefusal {
    /// `webhook_signature_invalid`: no signature header, a malformed one, or a MAC that
    /// does not match the raw body.
    #[error("the webhook signature is missing or does not verify")]
    SignatureInvalid,
    /// `webhook_stale`: a valid signature whose timestamp is more than 300 s away.
    #[error("the webhook timestamp is too far from now")]
    Stale,
}

impl WebhookRefusal {
    /// Stable code carried in problem+json bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::SignatureInvalid => "webhook_signature_invalid",
            Self::Stale => "webhook_stale",
        }
    }
}

/// Why a carrier notification to the subscription sink was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SinkRefusal {
    /// `sink_unauthorized` (401): no bearer token, one that is not a live
    /// subscription's credential, or one that names another subscription.
    #[error("the notification does not carry a live subscription's credential")]
    Unauthorized,
    /// `sink_event_invalid` (400): not a CloudEvents 1.0 notification this
    /// sink can read.
    #[error("the notification is not a CloudEvent this sink reads")]
    EventInvalid,
    /// `sink_gone` (410): the binding has ended; the carrier should stop.
    #[error("the binding this subscription was for has ended")]
    Gone,
}

impl SinkRefusal {
    /// Stable code carried in problem+json bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "sink_unauthorized",
            Self::EventInvalid => "sink_event_invalid",
            Self::Gone => "sink_gone",
        }
    }

    /// The HTTP status (CAMARA's callback answers).
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::EventInvalid => 400,
            Self::Gone => 410,
        }
    }
}
