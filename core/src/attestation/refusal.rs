//! Why a chip attestation was refused: one stable code each.

use thiserror::Error;

/// A refused Android Key Attestation or Apple App Attest.
///
/// Chain checks come before policy checks: evidence that fails both answers
/// with the chain's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AttestationRefusal {
    #[error("the attestation cannot be parsed")]
    Malformed,
    #[error("this chip has not been attested: a first bind must carry its attestation")]
    Required,
    #[error("this deployment does not accept that attestation format")]
    FormatNotAllowed,
    #[error("the attestation does not chain to a trusted root")]
    UntrustedRoot,
    #[error("a signature in the attestation does not verify")]
    SignatureInvalid,
    #[error("a certificate in the attestation is not valid at this instant")]
    Expired,
    #[error("a certificate in the attestation has been revoked")]
    Revoked,
    #[error("the attestation status list is too old to rely on")]
    StatusUnavailable,
    #[error("the attestation was not made for this challenge")]
    ChallengeMismatch,
    #[error("the attested key is not the key the chip presented")]
    KeyMismatch,
    #[error("the attested key is not a P-256 key")]
    UnsupportedKey,
    #[error("the key is not kept at the security level this deployment requires")]
    SecurityLevel,
    #[error("the device's bootloader is not locked")]
    DeviceNotLocked,
    #[error("the device did not boot a verified system")]
    BootNotVerified,
    #[error("the attested app is not allowed by this deployment")]
    AppNotAllowed,
    #[error("the attestation was made in an environment this deployment does not accept")]
    Environment,
    #[error("the attestation's counter is not zero")]
    CounterNotZero,
}

impl AttestationRefusal {
    /// Stable code carried in problem+json bodies and audit events.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "attestation_malformed",
            Self::Required => "attestation_required",
            Self::FormatNotAllowed => "attestation_format_not_allowed",
            Self::UntrustedRoot => "attestation_untrusted_root",
            Self::SignatureInvalid => "attestation_signature_invalid",
            Self::Expired => "attestation_expired",
            Self::Revoked => "attestation_revoked",
            Self::StatusUnavailable => "attestation_status_unavailable",
            Self::ChallengeMismatch => "attestation_challenge_mismatch",
            Self::KeyMismatch => "attestation_key_mismatch",
            Self::UnsupportedKey => "attestation_unsupported_key",
            Self::SecurityLevel => "attestation_security_level",
            Self::DeviceNotLocked => "attestation_device_not_locked",
            Self::BootNotVerified => "attestation_boot_not_verified",
            Self::AppNotAllowed => "attestation_app_not_allowed",
            Self::Environment => "attestation_environment",
            Self::CounterNotZero => "attestation_counter_not_zero",
        }
    }

    /// Every refusal, for documentation and exhaustive tests.
    pub const ALL: [AttestationRefusal; 17] = [
        Self::Malformed,
        Self::Required,
        Self::FormatNotAllowed,
        Self::UntrustedRoot,
        Self::SignatureInvalid,
        Self::Expired,
        Self::Revoked,
        Self::StatusUnavailable,
        Self::ChallengeMismatch,
        Self::KeyMismatch,
        Self::UnsupportedKey,
        Self::SecurityLevel,
        Self::DeviceNotLocked,
        Self::BootNotVerified,
        Self::AppNotAllowed,
        Self::Environment,
        Self::CounterNotZero,
    ];
}
