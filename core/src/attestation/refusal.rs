//! Why a chip attestation was refused: one stable code each.

use thiserror::Error;

/// A refused Android Key Attestation or Apple App Attest.
///
/// Chain checks come before policy checks: evidence that fails both answers
/// with the chain's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AttestationRefusal {
    /// `attestation_malformed` (400): the chain or object does not parse or has the wrong
    /// shape, or a KeyDescription is critical or on an intermediate.
    #[error("the attestation cannot be parsed")]
    Malformed,
    /// `attestation_required` (400): a real-format key not bound to this number sent no
    /// attestation.
    #[error("this chip has not been attested: a first bind must carry its attestation")]
    Required,
    /// `attestation_format_not_allowed`: the chip format is not in the deployment's
    /// `CHIP_FORMATS`.
    #[error("this deployment does not accept that attestation format")]
    FormatNotAllowed,
    /// `attestation_untrusted_root`: the chain does not end at a pinned root key.
    #[error("the attestation does not chain to a trusted root")]
    UntrustedRoot,
    /// `attestation_signature_invalid`: a name or signature link of the chain fails.
    #[error("a signature in the attestation does not verify")]
    SignatureInvalid,
    /// `attestation_expired`: a certificate that must be valid is not, at this instant.
    #[error("a certificate in the attestation is not valid at this instant")]
    Expired,
    /// `attestation_revoked`: a certificate of the chain is in Google's status list
    /// (revoked or suspended).
    #[error("a certificate in the attestation has been revoked")]
    Revoked,
    /// `attestation_status_unavailable`: the status list is stale (or was never
    /// fetched) and the deployment fails closed; `android-key` only.
    #[error("the attestation status list is too old to rely on")]
    StatusUnavailable,
    /// `attestation_challenge_mismatch`: the attestation was made for another bind
    /// (its challenge is not this bind's `attest_challenge`).
    #[error("the attestation was not made for this challenge")]
    ChallengeMismatch,
    /// `attestation_key_mismatch`: the attested key's id is not `chip.key_id` (App Attest:
    /// or not the attestation's credential id).
    #[error("the attested key is not the key the chip presented")]
    KeyMismatch,
    /// `attestation_unsupported_key`: the attested key is not P-256, or a chain key or
    /// signature algorithm is not one SimBind verifies.
    #[error("the attested key is not a P-256 key")]
    UnsupportedKey,
    /// `attestation_security_level`: the key was not generated in hardware, its
    /// attestation and key levels differ, or they are below the policy's minimum.
    #[error("the key is not kept at the security level this deployment requires")]
    SecurityLevel,
    /// `attestation_device_not_locked`: the bootloader is unlocked and the policy
    /// requires it locked.
    #[error("the device's bootloader is not locked")]
    DeviceNotLocked,
    /// `attestation_boot_not_verified`: the KeyDescription has no root of trust, or
    /// (where the policy requires verified boot) a boot state other than `Verified`.
    #[error("the device did not boot a verified system")]
    BootNotVerified,
    /// `attestation_app_not_allowed`: the app (package and signing certificate, or App
    /// ID) is not allowed; also an assertion for an App ID no longer allowed.
    #[error("the attested app is not allowed by this deployment")]
    AppNotAllowed,
    /// `attestation_environment`: an App Attest aaguid of another environment than
    /// `APPLE_ENVIRONMENT`.
    #[error("the attestation was made in an environment this deployment does not accept")]
    Environment,
    /// `attestation_counter_not_zero`: an App Attest attestation whose counter is not 0.
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
