//! Request bodies through validation: every JSON body a route accepts, then
//! the transcript its claims make must read back field for field.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simbind_core::api::{BindRequest, ChallengeRequest, EvidenceRequest, StartRegistrationRequest};
use simbind_core::sim::SimField;
use simbind_core::transcript::{self, Ceremony};

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    match kind % 4 {
        0 => {
            if let Ok(req) = serde_json::from_slice::<StartRegistrationRequest>(body) {
                let _ = simbind_core::identifiers::PhoneNumber::parse(&req.phone_number);
            }
        }
        1 => {
            if let Ok(req) = serde_json::from_slice::<ChallengeRequest>(body) {
                let _ = req.validate();
            }
        }
        2 => {
            if let Ok(req) = serde_json::from_slice::<BindRequest>(body) {
                if let Some(code) = &req.otp {
                    let _ = simbind_core::otp::parse_code(code);
                }
                evidence(&req.evidence);
            }
        }
        _ => {
            if let Ok(req) = serde_json::from_slice::<EvidenceRequest>(body) {
                evidence(&req);
            }
        }
    }
});

/// A valid request's transcript decodes to exactly the fields it was made of.
fn evidence(req: &EvidenceRequest) {
    let Ok(valid) = req.validate() else { return };
    let claims = &valid.claims;
    let bytes = claims.transcript(Ceremony::Verify, "aud", "bnd_subject", b"txn");
    let Some(back) = transcript::decode(&bytes) else {
        panic!("a transcript we encoded does not decode");
    };
    assert_eq!(back.challenge, claims.challenge);
    assert_eq!(back.chip_serial, claims.chip.serial.as_str());
    let sim: Vec<String> = SimField::ALL
        .into_iter()
        .map(|f| claims.sim.value(f).unwrap_or_default())
        .collect();
    assert_eq!(back.sim, sim);
    assert_eq!(back.counter, claims.counter);
}
