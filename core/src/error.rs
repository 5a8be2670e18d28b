//! Typed errors with stable machine-readable codes.

use thiserror::Error;

use crate::attestation::AttestationRefusal;

/// Input that is malformed or invalid: a 400-class problem, never stored.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    #[error("phone number must be E.164: '+' then 7 to 15 digits, the first not 0")]
    InvalidPhoneNumber,
    #[error("ICCID must be 18 to 20 digits starting with 89")]
    InvalidIccid,
    #[error("ICCID check digit (Luhn) is wrong")]
    IccidChecksum,
    #[error("IMSI must be 6 to 15 digits with a valid mobile country code")]
    InvalidImsi,
    #[error("chip serial must be 4 to 64 characters of A-Z, a-z, 0-9, '-', '_', ':' or '.'")]
    InvalidChipSerial,
    #[error("identifier '{0}' is malformed")]
    InvalidId(&'static str),
    #[error("field '{0}' is not valid unpadded base64url")]
    InvalidBase64(&'static str),
    #[error("public key is not a valid SEC1-encoded P-256 point")]
    InvalidPublicKey,
    #[error("private key must be a 32-byte scalar in 1..n")]
    InvalidSecretKey,
    #[error("signature must be 64 bytes r||s with 0 < r, s < n")]
    InvalidSignatureEncoding,
    #[error("the chip format is not one this service knows")]
    UnsupportedFormat,
    #[error("the chip's fields do not match its format")]
    ChipShape,
    #[error("one-time code must be 6 digits")]
    InvalidOtpFormat,
    #[error("field '{0}' is out of range")]
    OutOfRange(&'static str),
    #[error("the client address is missing or malformed")]
    InvalidSenderAddress,
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
            Self::CountryNotAllowed => "country_not_allowed",
        }
    }
}

/// Why a ceremony was refused. Each variant is a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Denial {
    #[error("the challenge is malformed or was not issued by this service")]
    ChallengeInvalid,
    #[error("the challenge has expired")]
    ChallengeExpired,
    #[error("the challenge was issued for another ceremony")]
    ChallengeWrongCeremony,
    #[error("the challenge was issued for another registration or binding")]
    ChallengeWrongSubject,
    #[error("the challenge was already used")]
    ChallengeReused,
    #[error("the chip is not the one bound to this number")]
    ChipMismatch,
    #[error("the chip signature does not verify")]
    BadSignature,
    #[error("the chip counter did not increase (possible cloned key or replay)")]
    CounterReplayed,
    #[error("the SIM in the phone is not the bound SIM")]
    SimChanged,
    #[error("the SIM's phone number is not the bound number")]
    NumberChanged,
    #[error("the SIM's own number differs from the registration number")]
    NumberMismatch,
    #[error("a SIM signature is required")]
    SimSignatureRequired,
    #[error("the SIM signature does not verify")]
    BadSimSignature,
    #[error("a valid chip vendor certificate is required")]
    ChipCertificateRequired,
    #[error("the chip vendor certificate does not verify")]
    ChipCertificateInvalid,
    #[error("the chip vendor certificate has expired")]
    ChipCertificateExpired,
    #[error("this chip is no longer trusted by the deployment")]
    ChipRevoked,
    #[error("the binding is suspended until the owner re-proves the number")]
    BindingSuspended,
    #[error("the binding was revoked")]
    BindingRevoked,
    #[error("the one-time code is wrong")]
    OtpInvalid,
    #[error("the one-time code has expired")]
    OtpExpired,
    #[error("too many wrong one-time codes")]
    OtpAttemptsExhausted,
    #[error("this number is bound to another chip: unbind it from that chip first")]
    BindingExists,
    #[error("this chip is already bound to another number")]
    ChipAlreadyBound,
    #[error("{0}")]
    Attestation(AttestationRefusal),
}

impl From<AttestationRefusal> for Denial {
    fn from(refusal: AttestationRefusal) -> Self {
        Self::Attestation(refusal)
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
            Self::BindingExists => "binding_exists",
            Self::ChipAlreadyBound => "chip_already_bound",
            Self::Attestation(refusal) => refusal.code(),
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

    /// HTTP status the API answers with for this denial.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::ChallengeExpired | Self::OtpExpired => 410,
            Self::OtpAttemptsExhausted => 429,
            Self::BindingExists | Self::ChipAlreadyBound => 409,
            Self::Attestation(AttestationRefusal::Malformed | AttestationRefusal::Required) => 400,
            Self::ChallengeInvalid
            | Self::ChallengeWrongCeremony
            | Self::ChallengeWrongSubject
            | Self::BadSignature
            | Self::BadSimSignature
            | Self::OtpInvalid => 401,
            _ => 403,
        }
    }

    /// Every denial, for documentation and exhaustive tests.
    pub const ALL: [Denial; 41] = [
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
    ];
}
