//! Every denial and validation error has its stable code and HTTP status:
//! the API's contract (docs/API.md "Error codes").

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use simbind_core::attestation::AttestationRefusal;
use simbind_core::camara_nv::NvRefusal;
use simbind_core::firebase_pnv::PnvRefusal;
use simbind_core::{Denial, ValidationError};

#[test]
fn every_denial_has_its_code_status_and_challenge_rule() {
    use Denial::*;
    // (denial, code, status, decided after the challenge was accepted)
    let table = [
        (ChallengeInvalid, "challenge_invalid", 401, false),
        (ChallengeExpired, "challenge_expired", 410, false),
        (
            ChallengeWrongCeremony,
            "challenge_wrong_ceremony",
            401,
            false,
        ),
        (ChallengeWrongSubject, "challenge_wrong_subject", 401, false),
        (ChallengeReused, "challenge_reused", 403, false),
        (ChipMismatch, "chip_mismatch", 403, true),
        (BadSignature, "bad_signature", 401, true),
        (CounterReplayed, "counter_replayed", 403, true),
        (SimChanged, "sim_changed", 403, true),
        (NumberChanged, "number_changed", 403, true),
        (NumberMismatch, "number_mismatch", 403, true),
        (SimEvidenceRequired, "sim_evidence_required", 403, true),
        (SimSignatureRequired, "sim_signature_required", 403, true),
        (BadSimSignature, "bad_sim_signature", 401, true),
        (
            ChipCertificateRequired,
            "chip_certificate_required",
            403,
            true,
        ),
        (
            ChipCertificateInvalid,
            "chip_certificate_invalid",
            403,
            true,
        ),
        (
            ChipCertificateExpired,
            "chip_certificate_expired",
            403,
            true,
        ),
        (ChipRevoked, "chip_revoked", 403, true),
        (BindingSuspended, "binding_suspended", 403, false),
        (BindingRevoked, "binding_revoked", 403, false),
        (OtpInvalid, "otp_invalid", 401, true),
        (OtpExpired, "otp_expired", 410, true),
        (OtpAttemptsExhausted, "otp_attempts_exhausted", 429, true),
        (SmsNotReceived, "sms_not_received", 409, true),
        (SmsTokenExpired, "sms_token_expired", 410, true),
        (SmsSenderMismatch, "sms_sender_mismatch", 403, true),
        (SmsTokenVoided, "sms_token_voided", 403, true),
        (BindSecretInvalid, "bind_secret_invalid", 401, true),
        (NumberProofLocked, "number_proof_locked", 429, true),
        (CarrierSimSwapped, "carrier_sim_swapped", 403, true),
        (CarrierDeviceSwapped, "carrier_device_swapped", 403, true),
        (CarrierUnavailable, "carrier_unavailable", 503, true),
        (BindingExists, "binding_exists", 409, true),
        (ChipAlreadyBound, "chip_already_bound", 409, true),
    ];
    let attestation = AttestationRefusal::ALL.map(|r| {
        let status = match r {
            AttestationRefusal::Malformed | AttestationRefusal::Required => 400,
            _ => 403,
        };
        (Attestation(r), r.code(), status, true)
    });
    let pnv = PnvRefusal::ALL.map(|r| {
        let status = match r {
            PnvRefusal::Malformed => 400,
            PnvRefusal::Expired => 410,
            PnvRefusal::NumberMismatch => 403,
            PnvRefusal::KeysUnavailable => 503,
            _ => 401,
        };
        (FirebasePnv(r), r.code(), status, true)
    });
    let nv = NvRefusal::ALL.map(|r| {
        let status = match r {
            NvRefusal::StateInvalid => 401,
            NvRefusal::StateUsed | NvRefusal::NotProven => 409,
            NvRefusal::Unavailable => 503,
            NvRefusal::Expired => 410,
            _ => 403,
        };
        (CamaraNv(r), r.code(), status, true)
    });
    let table: Vec<_> = table
        .into_iter()
        .chain(attestation)
        .chain(pnv)
        .chain(nv)
        .collect();
    for r in NvRefusal::ALL {
        assert!(r.code().starts_with("nv_"), "{r:?}");
    }
    for r in PnvRefusal::ALL {
        assert!(r.code().starts_with("pnv_"), "{r:?}");
    }
    for r in AttestationRefusal::ALL {
        assert!(r.code().starts_with("attestation_"), "{r:?}");
    }
    assert_eq!(table.len(), Denial::ALL.len());
    for ((denial, code, status, after), listed) in table.into_iter().zip(Denial::ALL) {
        assert_eq!(denial, listed, "ALL lists every denial, in order");
        assert_eq!(denial.code(), code);
        assert_eq!(denial.http_status(), status, "{code}");
        assert_eq!(denial.after_challenge_accepted(), after, "{code}");
        assert!(!denial.to_string().is_empty());
    }
}

#[test]
fn every_validation_error_has_its_code() {
    use ValidationError::*;
    let table = [
        (InvalidPhoneNumber, "invalid_phone_number"),
        (InvalidIccid, "invalid_iccid"),
        (IccidChecksum, "invalid_iccid_checksum"),
        (InvalidImsi, "invalid_imsi"),
        (InvalidEid, "invalid_eid"),
        (EidChecksum, "invalid_eid_checksum"),
        (InvalidNetworkCode, "invalid_mcc_mnc"),
        (InvalidChipSerial, "invalid_chip_serial"),
        (InvalidId("reg_"), "invalid_id"),
        (InvalidBase64("x"), "invalid_base64"),
        (InvalidPublicKey, "invalid_public_key"),
        (InvalidSecretKey, "invalid_secret_key"),
        (InvalidSignatureEncoding, "invalid_signature_encoding"),
        (UnsupportedFormat, "unsupported_attestation_format"),
        (ChipShape, "invalid_chip_shape"),
        (InvalidOtpFormat, "invalid_otp_format"),
        (OutOfRange("x"), "out_of_range"),
        (InvalidSenderAddress, "invalid_sender_address"),
        (CountryNotAllowed, "country_not_allowed"),
        (ProofNotAllowed, "number_proof_not_allowed"),
        (CarrierProofRequired, "carrier_proof_required"),
        (InvalidFallback, "invalid_fallback"),
    ];
    for (error, code) in table {
        assert_eq!(error.code(), code);
    }
}
