//! Fixtures shared by the core test suites: fixed keys, SIMs, and a software
//! chip that signs evidence the way a phone would.
#![allow(dead_code)]

pub mod attestation;
pub mod issuer;

use simbind_core::api::{ChipInfo, Evidence, EvidenceRequest, SimInfo};
use simbind_core::attestation::vendor::VendorRoots;
use simbind_core::binding::{BindingRecord, NumberProof, RegistrationRecord};
use simbind_core::challenge::{self, ChallengeKeyring};
use simbind_core::codec::b64;
use simbind_core::crypto::SecretKey;
use simbind_core::decision::{Context, Policy};
use simbind_core::id_hash::{IdHasher, IdKind};
use simbind_core::otp::OtpState;
use simbind_core::transcript::Ceremony;

pub const NOW: u64 = 1_800_000_000;
pub const AUDIENCE: &str = "simbind-test";
pub const REG_ID: &str = "reg_AAAAAAAAAAAAAAAAAAAAAA";
pub const BINDING_ID: &str = "bnd_AQEBAQEBAQEBAQEBAQEBAQ";
pub const OTHER_BINDING_ID: &str = "bnd_AgICAgICAgICAgICAgICAg";
pub const NUMBER: &str = "+447700900123";
pub const OTHER_NUMBER: &str = "+447700900456";

/// A deterministic key from a one-byte seed (scalar = seed repeated).
pub fn key(seed: u8) -> SecretKey {
    SecretKey::from_bytes(&[seed; 32]).expect("fixed scalar is in range")
}

/// A phone's view of one SIM: every field a privileged Android app reads
/// (card id 0, port 0, operator 234/15 for all of them).
#[derive(Clone)]
pub struct Sim {
    pub iccid: &'static str,
    pub imsi: &'static str,
    pub msisdn: &'static str,
    pub subscription_id: u64,
    pub slot_index: u64,
    pub embedded: bool,
    pub key: Option<SecretKey>,
}

impl Sim {
    /// The wire form the bridge reports.
    pub fn wire(&self) -> SimInfo {
        SimInfo {
            msisdn: Some(self.msisdn.into()),
            iccid: Some(self.iccid.into()),
            imsi: Some(self.imsi.into()),
            subscription_id: Some(self.subscription_id),
            slot_index: Some(self.slot_index),
            card_id: Some(0),
            port_index: Some(0),
            embedded: Some(self.embedded),
            mcc: Some("234".into()),
            mnc: Some("15".into()),
            public_key: self
                .key
                .as_ref()
                .map(|k| b64(&k.public_key().to_compressed())),
            ..SimInfo::default()
        }
    }
}

pub fn sim_a() -> Sim {
    Sim {
        iccid: "8944100000000000018",
        imsi: "234150000000001",
        msisdn: NUMBER,
        subscription_id: 1,
        slot_index: 0,
        embedded: false,
        key: None,
    }
}

/// Another SIM for the same number, in the same slot: a new subscription.
pub fn sim_b() -> Sim {
    Sim {
        iccid: "8944100000000000026",
        imsi: "234150000000002",
        msisdn: NUMBER,
        subscription_id: 2,
        slot_index: 0,
        embedded: false,
        key: None,
    }
}

/// A software chip: serial, key, counter.
#[derive(Clone)]
pub struct Chip {
    pub serial: &'static str,
    pub key: SecretKey,
    pub counter: u64,
}

pub fn chip() -> Chip {
    Chip {
        serial: "CHIP-0001",
        key: key(7),
        counter: 0,
    }
}

pub struct World {
    pub keys: ChallengeKeyring,
    pub hasher: IdHasher,
    pub policy: Policy,
    pub now: u64,
}

impl World {
    pub fn new() -> Self {
        Self {
            keys: ChallengeKeyring::single("k1", b"challenge secret for tests"),
            hasher: IdHasher::new(b"pepper for tests"),
            policy: Policy {
                vendor_roots: VendorRoots::default(),
                ..Policy::default()
            },
            now: NOW,
        }
    }

    pub fn ctx(&self) -> Context<'_> {
        Context {
            keys: &self.keys,
            hasher: &self.hasher,
            audience: AUDIENCE,
            policy: &self.policy,
            now: self.now,
            checked: None,
            carrier: None,
        }
    }

    pub fn challenge(&self, ceremony: Ceremony, subject: &str) -> String {
        b64(&challenge::issue(
            &self.keys,
            ceremony,
            subject,
            &[],
            self.now,
            120,
            [9; 16],
        ))
    }

    pub fn registration(&self, number: &str) -> RegistrationRecord {
        RegistrationRecord {
            registration_id: REG_ID.into(),
            msisdn: self.hasher.hash(IdKind::PhoneNumber, number),
            contact: String::new(),
            proof: NumberProof::Otp(OtpState {
                code_hash: String::new(),
                expires_at: self.now + 300,
                attempts: 0,
            }),
            created_at: self.now,
        }
    }
}

/// Builds the wire request a phone sends, signing the transcript.
pub fn request(
    chip: &Chip,
    sim: &Sim,
    challenge: &str,
    ceremony: Ceremony,
    subject: &str,
) -> EvidenceRequest {
    let mut req = EvidenceRequest {
        challenge: challenge.into(),
        chip: ChipInfo {
            format: "simbind-p256".into(),
            serial: Some(chip.serial.into()),
            public_key: Some(b64(&chip.key.public_key().to_compressed())),
            ..ChipInfo::default()
        },
        sim: sim.wire(),
        counter: chip.counter,
        chip_signature: String::new(),
        sim_signature: None,
    };
    sign(&mut req, chip, sim, ceremony, subject);
    req
}

/// (Re)signs a request after its fields were changed.
pub fn sign(req: &mut EvidenceRequest, chip: &Chip, sim: &Sim, ceremony: Ceremony, subject: &str) {
    req.chip_signature = b64(&[1; 64]); // placeholder so the claims validate
    let claims = req.validate().expect("fixture request is valid").claims;
    let transcript = claims.transcript(ceremony, AUDIENCE, subject, &[]);
    req.chip_signature = b64(&chip.key.sign(&transcript).to_bytes());
    req.sim_signature = sim
        .key
        .as_ref()
        .map(|k| b64(&k.sign(&transcript).to_bytes()));
}

pub fn evidence(req: &EvidenceRequest) -> Evidence {
    req.validate().expect("fixture request is valid")
}

/// An active binding of `chip` and `sim` as the bind ceremony stores it.
pub fn bound(world: &World, chip: &Chip, sim: &Sim) -> BindingRecord {
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let req = request(chip, sim, &ch, Ceremony::Bind, REG_ID);
    BindingRecord::new(
        BINDING_ID,
        &world.hasher.hash(IdKind::PhoneNumber, sim.msisdn),
        &evidence(&req).claims,
        &chip.key.public_key(),
        &world.hasher,
        world.now,
    )
}
