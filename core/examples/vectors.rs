//! Prints the test vectors of docs/PROTOCOL.md as JSON:
//! `cargo run -p simbind-core --example vectors`. The `vectors` test checks
//! that the document's copy matches this output byte for byte.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../tests/common/issuer.rs"]
mod issuer;

use serde_json::{Value, json};
use simbind_core::api::SimInfo;
use simbind_core::attestation::vendor;
use simbind_core::challenge::{self, ChallengeKeyring};
use simbind_core::codec::b64;
use simbind_core::crypto::SecretKey;
use simbind_core::grant::{GrantClaims, GrantSigner};
use simbind_core::id_hash::{IdHasher, IdKind};
use simbind_core::identifiers::ChipSerial;
use simbind_core::otp;
use simbind_core::sim::{SimField, SimIdentity};
use simbind_core::transcript::{Ceremony, Transcript};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key(seed: u8) -> SecretKey {
    SecretKey::from_bytes(&[seed; 32]).expect("fixed scalar")
}

/// What an ordinary Android app reads (`READ_PHONE_STATE`): a physical SIM
/// in slot 0.
fn device_sim() -> SimInfo {
    SimInfo {
        subscription_id: Some(1),
        slot_index: Some(0),
        card_id: Some(0),
        port_index: Some(0),
        embedded: Some(false),
        mcc: Some("234".into()),
        mnc: Some("15".into()),
        ..SimInfo::default()
    }
}

/// What a carrier-privileged app reads of the same SIM.
fn privileged_sim() -> SimInfo {
    SimInfo {
        msisdn: Some("+447700900123".into()),
        iccid: Some("8944100000000000018".into()),
        imsi: Some("234150000000001".into()),
        ..device_sim()
    }
}

/// A managed phone's eSIM profile in slot 1, with its eUICC's EID.
fn esim() -> SimInfo {
    SimInfo {
        msisdn: Some("+447700900123".into()),
        iccid: Some("8944100000000000026".into()),
        imsi: Some("234150000000002".into()),
        eid: Some("89049032001234567890123456789057".into()),
        subscription_id: Some(4),
        slot_index: Some(1),
        card_id: Some(2),
        port_index: Some(0),
        embedded: Some(true),
        mcc: Some("234".into()),
        mnc: Some("15".into()),
        public_key: None,
    }
}

/// The SIM block of `info`, field by field, for the vectors' readers.
fn sim_block_vector(sim: &SimIdentity) -> Value {
    SimField::ALL
        .into_iter()
        .map(|field| json!([field.label(), sim.value(field).unwrap_or_default()]))
        .collect()
}

fn transcript_vector(
    ceremony: Ceremony,
    info: SimInfo,
    sim_key: Option<SecretKey>,
    counter: u64,
    transaction: &[u8],
) -> Value {
    let chip = key(0x11);
    let challenge: Vec<u8> = (0u8..48).collect();
    let serial = ChipSerial::parse("CHIP-0001").expect("valid");
    let sim = SimIdentity::parse(&info).expect("valid");
    let sim_public = sim_key.as_ref().map(SecretKey::public_key);
    let registration = registration_id();
    let subject = if ceremony == Ceremony::Bind {
        registration.as_str()
    } else {
        "bnd_AQEBAQEBAQEBAQEBAQEBAQ"
    };
    let bytes = Transcript {
        ceremony,
        challenge: &challenge,
        audience: "simbind-dev",
        subject,
        transaction,
        chip_serial: &serial,
        chip_public_key: Some(&chip.public_key()),
        sim: &sim,
        sim_public_key: sim_public.as_ref(),
        counter,
    }
    .encode();
    json!({
        "ceremony": ceremony.label(),
        "challenge_hex": hex(&challenge),
        "audience": "simbind-dev",
        "subject": subject,
        "transaction_hex": hex(transaction),
        "chip_serial": "CHIP-0001",
        "chip_secret_key_hex": hex(&chip.to_bytes()),
        "chip_public_key_hex": hex(&chip.public_key().to_compressed()),
        "sim": info,
        "sim_block": sim_block_vector(&sim),
        "sim_block_hex": hex(&simbind_core::transcript::sim_block(&sim)),
        "sim_secret_key_hex": sim_key.as_ref().map(|k| hex(&k.to_bytes())),
        "sim_public_key_hex": sim_public.as_ref().map(|k| hex(&k.to_compressed())),
        "counter": counter,
        "transcript_hex": hex(&bytes),
        "chip_signature_hex": hex(&chip.sign(&bytes).to_bytes()),
        "sim_signature_hex": sim_key.as_ref().map(|k| hex(&k.sign(&bytes).to_bytes())),
    })
}

/// Vectors for the real chip formats (PROTOCOL.md §2): the bind
/// attestation challenge, and verify transcripts of an `android-key` chip
/// (signed) and an `apple-appattest` chip (answered with an assertion).
fn attested_vectors() -> Value {
    use sha2::{Digest, Sha256};
    use simbind_core::attestation::{bind_challenge, key_id};
    let challenge: Vec<u8> = (0u8..48).collect();
    let sim = SimIdentity::parse(&device_sim()).expect("valid");
    let subject = "bnd_AQEBAQEBAQEBAQEBAQEBAQ";
    let transcript = |key: &SecretKey, counter: u64| {
        let id = ChipSerial::parse(&key_id(&key.public_key())).expect("a key id is a valid serial");
        Transcript {
            ceremony: Ceremony::Verify,
            challenge: &challenge,
            audience: "simbind-dev",
            subject,
            transaction: &[],
            chip_serial: &id,
            chip_public_key: None,
            sim: &sim,
            sim_public_key: None,
            counter,
        }
        .encode()
    };
    let android = key(0x55);
    let android_transcript = transcript(&android, 2);
    let apple = key(0x66);
    let apple_transcript = transcript(&apple, 0);
    let apple_signer = p256::ecdsa::SigningKey::from_slice(&apple.to_bytes()).expect("scalar");
    let client_data_hash = Sha256::digest(&apple_transcript);
    let app_id = "ABCDE12345.com.example.bank";
    let assertion = issuer::apple_assertion(&apple_signer, app_id, &client_data_hash, 5);
    let base = |key: &SecretKey, format: &str| {
        json!({
            "format": format,
            "ceremony": "verify",
            "challenge_hex": hex(&challenge),
            "audience": "simbind-dev",
            "subject": subject,
            "chip_secret_key_hex": hex(&key.to_bytes()),
            "chip_public_key_uncompressed_hex": hex(&key.public_key().to_uncompressed()),
            "key_id": key_id(&key.public_key()),
            "sim": device_sim(),
        })
    };
    let mut android_v = base(&android, "android-key");
    android_v["counter"] = json!(2);
    android_v["transcript_hex"] = json!(hex(&android_transcript));
    android_v["chip_signature_hex"] = json!(hex(&android.sign(&android_transcript).to_bytes()));
    let mut apple_v = base(&apple, "apple-appattest");
    apple_v["counter"] = json!(0);
    apple_v["transcript_hex"] = json!(hex(&apple_transcript));
    apple_v["app_id"] = json!(app_id);
    apple_v["client_data_hash_hex"] = json!(hex(&client_data_hash));
    apple_v["assertion_counter"] = json!(5);
    apple_v["assertion_hex"] = json!(hex(&assertion));
    json!({
        "bind_attestation_challenge": {
            "challenge_hex": hex(&challenge),
            "audience": "simbind-dev",
            "registration_id": &registration_id(),
            "attestation_challenge_hex":
                hex(&bind_challenge(&challenge, "simbind-dev", &registration_id())),
        },
        "transcripts": [android_v, apple_v],
    })
}

/// PROTOCOL.md §10: a token from its random bytes, its keyed hash, the
/// text the phone sends, and a signed inbound webhook.
/// A device-SMS registration's bind secret: b64u of 16 fixed bytes (0x2a).
const BIND_SECRET: &str = "KioqKioqKioqKioqKioqKg";

fn device_sms_vector() -> Value {
    use simbind_core::device_sms::{
        hash_bind_secret, hash_token, sign_webhook, sms_text, token_from_random,
    };
    let random = [0x5au8, 0x17, 0x92, 0xc3, 0x08, 0x4e, 0xd1, 0x66];
    let token = token_from_random(random);
    let text = sms_text("SimBind", &token);
    let body = serde_json::to_string(&json!({
        "from": "+447700900123", "to": "+447700900999", "text": text, "received_at": 1_800_000_000u64,
    }))
    .expect("JSON");
    json!({
        "random_hex": hex(&random),
        "token": token,
        "registration_id": &registration_id(),
        "pepper_utf8": "pepper-for-vectors",
        "token_hash_b64url": hash_token(b"pepper-for-vectors", &registration_id(), &token),
        "bind_secret": BIND_SECRET,
        "bind_secret_hash_b64url": hash_bind_secret(b"pepper-for-vectors", &registration_id(), BIND_SECRET),
        "text": text,
        "webhook": {
            "secret_utf8": "webhook-secret-for-vectors",
            "timestamp": 1_800_000_000u64,
            "body": body,
            "signature_header": sign_webhook(b"webhook-secret-for-vectors", 1_800_000_000, body.as_bytes()),
        },
    })
}

/// PROTOCOL.md §12: the nonce a bind's Firebase PNV token carries, and a
/// token as Firebase signs one (fixed key, project and instant).
fn firebase_pnv_vector() -> Value {
    use simbind_core::firebase_pnv::nonce_for;
    let challenge = [0x11u8; 40];
    let nonce = nonce_for(&challenge, "simbind-dev", &registration_id());
    let key = SecretKey::from_bytes(&[0x37; 32]).expect("scalar");
    let jwk = simbind_core::grant::Jwk::from_public_key("pnv-k1", &key.public_key());
    let header = json!({ "alg": "ES256", "kid": "pnv-k1", "typ": "JWT" });
    let claims = json!({
        "iss": "https://fpnv.googleapis.com/projects/123456789012",
        "aud": [
            "https://fpnv.googleapis.com/projects/123456789012",
            "https://fpnv.googleapis.com/projects/simbind-bank",
        ],
        "sub": "+447700900123",
        "iat": 1_800_000_000u64,
        "exp": 1_800_003_600u64,
        "jti": "pnv-vector-1",
        "nonce": nonce,
    });
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let token = format!("{input}.{}", b64(&key.sign(input.as_bytes()).to_bytes()));
    json!({
        "challenge_hex": hex(&challenge),
        "audience": "simbind-dev",
        "registration_id": &registration_id(),
        "nonce": nonce,
        "project_number": "123456789012",
        "project_id": "simbind-bank",
        "jwks": { "keys": [jwk] },
        "now": 1_800_000_100u64,
        "token": token,
    })
}

/// PROTOCOL.md §13: the values of one bind's Number Verification
/// authorization, and the hashed number `/verify` is asked about.
fn camara_nv_vector() -> Value {
    use simbind_core::camara_nv::{
        hashed_phone_number, nonce_for, pkce_challenge, pkce_verifier, state_for,
    };
    let challenge = [0x22u8; 40];
    let verifier = pkce_verifier(b"pepper-for-vectors", &registration_id(), &challenge);
    json!({
        "challenge_hex": hex(&challenge),
        "audience": "simbind-dev",
        "registration_id": &registration_id(),
        "pepper_utf8": "pepper-for-vectors",
        "state": state_for(&challenge, "simbind-dev", &registration_id()),
        "nonce": nonce_for(&challenge, "simbind-dev", &registration_id()),
        "code_verifier": verifier,
        "code_challenge": pkce_challenge(&verifier),
        "number": "+447700900123",
        "hashed_phone_number": hashed_phone_number(
            &simbind_core::identifiers::PhoneNumber::parse("+447700900123").expect("E.164"),
        ),
    })
}

/// The worked example of PROTOCOL.md §4: what a bank's backend hashes for
/// "pay 42.00 EUR to ACME Ltd" before asking for a challenge.
/// PROTOCOL.md §6: the registration id every vector's bind names, sealed
/// with the vectors' pepper over the number key of +447700900123 and a
/// fixed nonce (a real id: the service opens it).
const REGISTRATION_NONCE: [u8; 12] = [0x6e; 12];

fn registration_id() -> String {
    let number = IdHasher::new(b"pepper-for-vectors").hash(IdKind::PhoneNumber, "+447700900123");
    simbind_core::registration_id::new(
        b"pepper-for-vectors",
        &simbind_core::registration_id::NumberKey::of(&number),
        REGISTRATION_NONCE,
    )
}

fn registration_id_vector() -> Value {
    let number = IdHasher::new(b"pepper-for-vectors").hash(IdKind::PhoneNumber, "+447700900123");
    json!({
        "pepper_utf8": "pepper-for-vectors",
        "number": "+447700900123",
        "number_key_hex": simbind_core::registration_id::NumberKey::of(&number).to_hex(),
        "nonce_hex": hex(&REGISTRATION_NONCE),
        "registration_id": registration_id(),
    })
}

fn payment() -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(b"SIMBIND-EXAMPLE-PAYMENT\namount=42.00 EUR\npayee=ACME Ltd").to_vec()
}

fn main() {
    let keys = ChallengeKeyring::single("c1", b"challenge-key-for-vectors");
    let txn = payment();
    let challenge = challenge::issue(
        &keys,
        Ceremony::Verify,
        "bnd_AQEBAQEBAQEBAQEBAQEBAQ",
        &txn,
        1_800_000_000,
        120,
        [0xab; 16],
    );
    let hasher = IdHasher::new(b"pepper-for-vectors");
    let grant_key = key(0x22);
    let signer = GrantSigner {
        kid: "g1".into(),
        key: grant_key.clone(),
        retiring: Vec::new(),
    };
    let claims = GrantClaims {
        iss: "https://simbind.example".into(),
        aud: "your-app-backend".into(),
        sub: "bnd_AQEBAQEBAQEBAQEBAQEBAQ".into(),
        iat: 1_800_000_000,
        exp: 1_800_000_120,
        jti: "AAAAAAAAAAAAAAAAAAAAAA".into(),
        ctr: 7,
        txn: Some(b64(&txn)),
        number_proof: None,
        nbf: None,
    };
    let root = key(0x33);
    let serial = ChipSerial::parse("CHIP-0001").expect("valid");
    let chip_key = key(0x11).public_key();
    let certified = vendor::Certified {
        format: "simbind-p256",
        serial: &serial,
        public_key: &chip_key,
    };
    let not_after = 1_900_000_000u64;
    let cert = vendor::certify(certified, "acme", &root, not_after);
    let vectors = json!({
        "attested_chips": attested_vectors(),
        "transcripts": [
            transcript_vector(Ceremony::Bind, device_sim(), None, 1, &[]),
            transcript_vector(Ceremony::Verify, privileged_sim(), Some(key(0x44)), 2, &[]),
            transcript_vector(Ceremony::Verify, esim(), None, 3, &txn),
        ],
        "challenge": {
            "key_id": "c1",
            "key_utf8": "challenge-key-for-vectors",
            "ceremony": "verify",
            "subject": "bnd_AQEBAQEBAQEBAQEBAQEBAQ",
            "issued_at": 1_800_000_000u64,
            "ttl": 120,
            "nonce_hex": hex(&[0xab; 16]),
            "transaction_hex": hex(&txn),
            "challenge_hex": hex(&challenge),
            "challenge_b64url": b64(&challenge),
        },
        "id_hashes": [
            { "pepper_utf8": "pepper-for-vectors", "kind": "msisdn", "value": "+447700900123",
              "hash_hex": hasher.hash(IdKind::PhoneNumber, "+447700900123").as_str() },
            { "pepper_utf8": "pepper-for-vectors", "kind": "iccid", "value": "8944100000000000018",
              "hash_hex": hasher.hash(IdKind::Sim(SimField::Iccid), "8944100000000000018").as_str() },
            { "pepper_utf8": "pepper-for-vectors", "kind": "subscription_id", "value": "1",
              "hash_hex": hasher.hash(IdKind::Sim(SimField::SubscriptionId), "1").as_str() },
        ],
        "otp_hash": {
            "key_utf8": "pepper-for-vectors",
            "registration_id": &registration_id(),
            "code": "042424",
            "hash_b64url": otp::hash_code(b"pepper-for-vectors", &registration_id(), "042424"),
        },
        "device_sms": device_sms_vector(),
        "firebase_pnv": firebase_pnv_vector(),
        "camara_nv": camara_nv_vector(),
        "registration_id": registration_id_vector(),
        "sealed_contact": {
            "pepper_utf8": "pepper-for-vectors",
            "binding_id": "bnd_AQEBAQEBAQEBAQEBAQEBAQ",
            "number": "+447700900123",
            "nonce_hex": hex(&[0x5c; 12]),
            "sealed_b64url": simbind_core::contact::seal(
                b"pepper-for-vectors",
                "bnd_AQEBAQEBAQEBAQEBAQEBAQ",
                &simbind_core::identifiers::PhoneNumber::parse("+447700900123").unwrap(),
                [0x5c; 12],
            ),
        },
        "chip_certificate": {
            "vendor": "acme",
            "root_secret_key_hex": hex(&root.to_bytes()),
            "root_public_key_hex": hex(&root.public_key().to_compressed()),
            "serial": "CHIP-0001",
            "chip_public_key_hex": hex(&key(0x11).public_key().to_compressed()),
            "format": "simbind-p256",
            "not_after": not_after,
            "message_hex": hex(&vendor::certified_message(certified, "acme", not_after)),
            "signature_hex": hex(&cert.signature.to_bytes()),
        },
        "grant": {
            "transaction_hex": hex(&txn),
            "kid": "g1",
            "secret_key_hex": hex(&grant_key.to_bytes()),
            "claims": claims,
            "jwt": signer.sign(&claims).expect("valid lifetime"),
            "jwks": signer.jwks(),
        },
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&vectors).expect("serializable")
    );
}
