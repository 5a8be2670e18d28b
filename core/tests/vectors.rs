//! Checks the test vectors printed in docs/PROTOCOL.md against the code:
//! encodings byte for byte, signatures verifying, MACs and hashes equal.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::Value;
use simbind_core::api::SimInfo;
use simbind_core::attestation::vendor::{
    Certified, VendorCertificate, VendorRoots, certified_message,
};
use simbind_core::challenge::{self, ChallengeKeyring};
use simbind_core::codec::b64;
use simbind_core::crypto::{PublicKey, SecretKey, Signature};
use simbind_core::grant::{GrantClaims, GrantSigner, Jwks, verify_grant};
use simbind_core::id_hash::{IdHasher, IdKind};
use simbind_core::identifiers::ChipSerial;
use simbind_core::identifiers::PhoneNumber;
use simbind_core::sim::{SimField, SimIdentity};
use simbind_core::transcript::{Ceremony, Transcript};
use simbind_core::{contact, otp};

fn vectors() -> Value {
    let doc = include_str!("../../docs/PROTOCOL.md");
    let start = doc
        .find("<!-- BEGIN TEST VECTORS -->")
        .expect("begin marker");
    let end = doc.find("<!-- END TEST VECTORS -->").expect("end marker");
    let block = &doc[start..end];
    let json = &block[block.find("```json").expect("json fence") + 7
        ..block.rfind("```").expect("closing fence")];
    serde_json::from_str(json).expect("vectors are JSON")
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

fn text(v: &Value) -> &str {
    v.as_str().expect("string")
}

/// A vector's `sim` (the wire form), validated; its `sim_block` list and
/// `sim_block_hex` must say the same.
fn sim(v: &Value) -> SimIdentity {
    let info: SimInfo = serde_json::from_value(v["sim"].clone()).expect("wire SIM");
    let sim = SimIdentity::parse(&info).expect("valid SIM");
    if let Some(block) = v.get("sim_block") {
        let listed: Vec<(String, String)> = serde_json::from_value(block.clone()).unwrap();
        let expected: Vec<(String, String)> = SimField::ALL
            .into_iter()
            .map(|f| (f.label().into(), sim.value(f).unwrap_or_default()))
            .collect();
        assert_eq!(listed, expected);
        assert_eq!(
            hex::encode(simbind_core::transcript::sim_block(&sim)),
            text(&v["sim_block_hex"])
        );
    }
    sim
}

#[test]
fn transcripts_encode_and_signatures_verify() {
    let all = vectors();
    let transcripts = all["transcripts"].as_array().expect("array");
    assert_eq!(transcripts.len(), 3);
    for v in transcripts {
        let chip = SecretKey::from_bytes(&bytes(&v["chip_secret_key_hex"])).unwrap();
        let chip_public = PublicKey::from_sec1(&bytes(&v["chip_public_key_hex"])).unwrap();
        assert_eq!(chip.public_key(), chip_public);
        let sim_key = v["sim_secret_key_hex"]
            .as_str()
            .map(|h| SecretKey::from_bytes(&hex::decode(h).unwrap()).unwrap());
        let sim_public = sim_key.as_ref().map(SecretKey::public_key);
        let sim = sim(v);
        let encoded = Transcript {
            ceremony: Ceremony::from_label(text(&v["ceremony"])).unwrap(),
            challenge: &bytes(&v["challenge_hex"]),
            audience: text(&v["audience"]),
            subject: text(&v["subject"]),
            transaction: &bytes(&v["transaction_hex"]),
            chip_serial: &ChipSerial::parse(text(&v["chip_serial"])).unwrap(),
            chip_public_key: Some(&chip_public),
            sim: &sim,
            sim_public_key: sim_public.as_ref(),
            counter: v["counter"].as_u64().unwrap(),
        }
        .encode();
        assert_eq!(hex::encode(&encoded), text(&v["transcript_hex"]));
        let signature = Signature::from_bytes(&bytes(&v["chip_signature_hex"])).unwrap();
        assert!(chip_public.verify(&encoded, &signature));
        assert_eq!(
            chip.sign(&encoded),
            signature,
            "RFC 6979 signature is reproducible"
        );
        if let (Some(key), Some(sig)) = (&sim_key, v["sim_signature_hex"].as_str()) {
            let sig = Signature::from_bytes(&hex::decode(sig).unwrap()).unwrap();
            assert!(key.public_key().verify(&encoded, &sig));
            assert_eq!(
                hex::encode(key.public_key().to_compressed()),
                text(&v["sim_public_key_hex"])
            );
        }
    }
}

#[test]
fn challenge_vector_matches_and_verifies() {
    let v = &vectors()["challenge"];
    let keys = ChallengeKeyring::single(text(&v["key_id"]), text(&v["key_utf8"]).as_bytes());
    let nonce: [u8; 16] = bytes(&v["nonce_hex"]).try_into().unwrap();
    let issued_at = v["issued_at"].as_u64().unwrap();
    let subject = text(&v["subject"]);
    let made = challenge::issue(
        &keys,
        Ceremony::Verify,
        subject,
        &bytes(&v["transaction_hex"]),
        issued_at,
        v["ttl"].as_u64().unwrap(),
        nonce,
    );
    assert_eq!(hex::encode(&made), text(&v["challenge_hex"]));
    assert_eq!(b64(&made), text(&v["challenge_b64url"]));
    let claims = challenge::verify(&keys, &made, Ceremony::Verify, subject, issued_at).unwrap();
    assert_eq!(claims.nonce, nonce);
    assert_eq!(challenge::unverified_nonce(&made), Some(nonce));
}

#[test]
fn id_and_otp_hash_vectors_match() {
    let all = vectors();
    for v in all["id_hashes"].as_array().unwrap() {
        let kind = match text(&v["kind"]) {
            "msisdn" => IdKind::PhoneNumber,
            "iccid" => IdKind::Sim(SimField::Iccid),
            "subscription_id" => IdKind::Sim(SimField::SubscriptionId),
            other => panic!("unexpected kind {other}"),
        };
        let hash = IdHasher::new(text(&v["pepper_utf8"]).as_bytes()).hash(kind, text(&v["value"]));
        assert_eq!(hash.as_str(), text(&v["hash_hex"]));
    }
    let o = &all["otp_hash"];
    let got = otp::hash_code(
        text(&o["key_utf8"]).as_bytes(),
        text(&o["registration_id"]),
        text(&o["code"]),
    );
    assert_eq!(got, text(&o["hash_b64url"]));
}

#[test]
fn device_sms_vector_matches() {
    use simbind_core::device_sms::*;
    let v = &vectors()["device_sms"];
    let random: [u8; 8] = bytes(&v["random_hex"]).try_into().unwrap();
    let token = token_from_random(random);
    assert_eq!(token, text(&v["token"]));
    assert_eq!(
        hash_token(
            text(&v["pepper_utf8"]).as_bytes(),
            text(&v["registration_id"]),
            &token
        ),
        text(&v["token_hash_b64url"])
    );
    assert_eq!(
        hash_bind_secret(
            text(&v["pepper_utf8"]).as_bytes(),
            text(&v["registration_id"]),
            text(&v["bind_secret"])
        ),
        text(&v["bind_secret_hash_b64url"])
    );
    assert_eq!(token_of_text(text(&v["text"])), Some(token.as_str()));
    assert_eq!(find_token(text(&v["text"])), Some(token.as_str()));
    let w = &v["webhook"];
    let secret = text(&w["secret_utf8"]).as_bytes();
    let at = w["timestamp"].as_u64().unwrap();
    let body = text(&w["body"]).as_bytes();
    assert_eq!(sign_webhook(secret, at, body), text(&w["signature_header"]));
    assert_eq!(
        verify_webhook(secret, Some(text(&w["signature_header"])), body, at),
        Ok(())
    );
    let sms: InboundSms = serde_json::from_slice(body).unwrap();
    assert_eq!(
        sms.validate().unwrap().token.as_deref(),
        Some(token.as_str())
    );
}

#[test]
fn sealed_contact_vector_opens_for_its_binding_only() {
    let v = &vectors()["sealed_contact"];
    let pepper = text(&v["pepper_utf8"]).as_bytes();
    let number = PhoneNumber::parse(text(&v["number"])).unwrap();
    let nonce: [u8; 12] = bytes(&v["nonce_hex"]).try_into().unwrap();
    let sealed = contact::seal(pepper, text(&v["binding_id"]), &number, nonce);
    assert_eq!(sealed, text(&v["sealed_b64url"]));
    assert_eq!(
        contact::open(pepper, text(&v["binding_id"]), &sealed),
        Some(number)
    );
    assert_eq!(contact::open(pepper, "bnd_other", &sealed), None);
}

#[test]
fn chip_certificate_vector_verifies() {
    let v = &vectors()["chip_certificate"];
    let root = PublicKey::from_sec1(&bytes(&v["root_public_key_hex"])).unwrap();
    let chip = PublicKey::from_sec1(&bytes(&v["chip_public_key_hex"])).unwrap();
    let serial = ChipSerial::parse(text(&v["serial"])).unwrap();
    let certified = Certified {
        format: text(&v["format"]),
        serial: &serial,
        public_key: &chip,
    };
    let not_after = v["not_after"].as_u64().unwrap();
    assert_eq!(
        hex::encode(certified_message(certified, text(&v["vendor"]), not_after)),
        text(&v["message_hex"])
    );
    let cert = VendorCertificate {
        vendor: text(&v["vendor"]).into(),
        not_after,
        signature: Signature::from_bytes(&bytes(&v["signature_hex"])).unwrap(),
    };
    let roots = VendorRoots(vec![(text(&v["vendor"]).into(), root)]);
    assert_eq!(roots.check(certified, Some(&cert), not_after - 1), Ok(()));
    assert_eq!(
        roots.check(certified, Some(&cert), not_after),
        Err(simbind_core::Denial::ChipCertificateExpired)
    );
}

#[test]
fn grant_vector_is_reproduced_and_verifies() {
    let v = &vectors()["grant"];
    let claims: GrantClaims = serde_json::from_value(v["claims"].clone()).unwrap();
    let signer = GrantSigner {
        kid: text(&v["kid"]).into(),
        key: SecretKey::from_bytes(&bytes(&v["secret_key_hex"])).unwrap(),
        retiring: Vec::new(),
    };
    assert_eq!(signer.sign(&claims).unwrap(), text(&v["jwt"]));
    let jwks: Jwks = serde_json::from_value(v["jwks"].clone()).unwrap();
    assert_eq!(jwks, signer.jwks());
    let txn = bytes(&v["transaction_hex"]);
    let verified = verify_grant(
        text(&v["jwt"]),
        &jwks,
        &claims.iss,
        &claims.aud,
        Some(&txn),
        claims.iat,
    )
    .unwrap();
    assert_eq!(verified, claims);
}

#[test]
fn attested_chip_vectors_encode_and_verify() {
    use sha2::{Digest, Sha256};
    use simbind_core::attestation::{apple_appattest, bind_challenge, key_id};
    let all = vectors();
    let a = &all["attested_chips"];
    let b = &a["bind_attestation_challenge"];
    assert_eq!(
        hex::encode(bind_challenge(
            &bytes(&b["challenge_hex"]),
            text(&b["audience"]),
            text(&b["registration_id"]),
        )),
        text(&b["attestation_challenge_hex"])
    );
    let transcripts = a["transcripts"].as_array().unwrap();
    assert_eq!(transcripts.len(), 2);
    for v in transcripts {
        let chip = SecretKey::from_bytes(&bytes(&v["chip_secret_key_hex"])).unwrap();
        let public = PublicKey::from_sec1(&bytes(&v["chip_public_key_uncompressed_hex"])).unwrap();
        assert_eq!(chip.public_key(), public);
        assert_eq!(key_id(&public), text(&v["key_id"]));
        let sim = sim(v);
        let encoded = Transcript {
            ceremony: Ceremony::from_label(text(&v["ceremony"])).unwrap(),
            challenge: &bytes(&v["challenge_hex"]),
            audience: text(&v["audience"]),
            subject: text(&v["subject"]),
            transaction: &[],
            chip_serial: &ChipSerial::parse(text(&v["key_id"])).unwrap(),
            chip_public_key: None,
            sim: &sim,
            sim_public_key: None,
            counter: v["counter"].as_u64().unwrap(),
        }
        .encode();
        assert_eq!(hex::encode(&encoded), text(&v["transcript_hex"]));
        if text(&v["format"]) == "android-key" {
            let signature = Signature::from_bytes(&bytes(&v["chip_signature_hex"])).unwrap();
            assert!(public.verify(&encoded, &signature));
        } else {
            assert_eq!(v["counter"], 0, "App Attest transcripts carry counter 0");
            let hash = Sha256::digest(&encoded);
            assert_eq!(hex::encode(hash), text(&v["client_data_hash_hex"]));
            let counter = apple_appattest::verify_assertion(
                &bytes(&v["assertion_hex"]),
                &hash,
                &public.to_uncompressed(),
                &[text(&v["app_id"]).to_string()],
            );
            assert_eq!(counter, Ok(5));
            assert_eq!(v["assertion_counter"], 5);
        }
    }
}

#[test]
fn registration_id_vector_seals_and_opens_its_number_key() {
    let v = &vectors()["registration_id"];
    let pepper = text(&v["pepper_utf8"]).as_bytes();
    let number = IdHasher::new(pepper).hash(IdKind::PhoneNumber, text(&v["number"]));
    let key = simbind_core::registration_id::NumberKey::of(&number);
    assert_eq!(key.to_hex(), text(&v["number_key_hex"]));
    let nonce: [u8; 12] = bytes(&v["nonce_hex"]).try_into().unwrap();
    let id = simbind_core::registration_id::new(pepper, &key, nonce);
    assert_eq!(id, text(&v["registration_id"]));
    assert_eq!(id.len(), 63, "reg_ and 59 characters");
    assert_eq!(
        simbind_core::registration_id::open(pepper, &id),
        Ok(Some(key))
    );
    assert_eq!(
        simbind_core::registration_id::open(b"another-pepper", &id),
        Ok(None)
    );
    // Every vector's bind names this id.
    let reg = text(&v["registration_id"]);
    let doc = vectors();
    assert_eq!(text(&doc["otp_hash"]["registration_id"]), reg);
    assert_eq!(text(&doc["device_sms"]["registration_id"]), reg);
    assert_eq!(
        text(&doc["attested_chips"]["bind_attestation_challenge"]["registration_id"]),
        reg
    );
}

#[test]
fn document_matches_the_generator_output() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["run", "-q", "-p", "simbind-core", "--example", "vectors"])
        .output()
        .expect("cargo runs");
    assert!(out.status.success());
    let generated: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        generated,
        vectors(),
        "docs/PROTOCOL.md vectors are stale: regenerate them"
    );
}

#[test]
fn firebase_pnv_vector_derives_its_nonce_and_verifies() {
    use simbind_core::firebase_pnv::{PnvKeys, PnvProject, nonce_for, verify};
    let v = &vectors()["firebase_pnv"];
    let challenge = bytes(&v["challenge_hex"]);
    let nonce = nonce_for(
        &challenge,
        text(&v["audience"]),
        text(&v["registration_id"]),
    );
    assert_eq!(nonce, text(&v["nonce"]));
    let keys = PnvKeys::parse(v["jwks"].to_string().as_bytes()).expect("keys");
    let project = PnvProject {
        number: text(&v["project_number"]).into(),
        id: text(&v["project_id"]).into(),
        nonce_optional: false,
    };
    let token = verify(
        text(&v["token"]),
        &keys,
        &project,
        v["now"].as_u64().unwrap(),
    )
    .expect("the vector verifies");
    assert_eq!(token.number, "+447700900123");
    assert_eq!(token.nonce.as_deref(), Some(nonce.as_str()));
}

#[test]
fn camara_nv_vector_derives_state_nonce_and_pkce() {
    use simbind_core::camara_nv::{
        hashed_phone_number, nonce_for, pkce_challenge, pkce_verifier, state_for,
    };
    let v = &vectors()["camara_nv"];
    let challenge = bytes(&v["challenge_hex"]);
    let (aud, reg) = (text(&v["audience"]), text(&v["registration_id"]));
    assert_eq!(state_for(&challenge, aud, reg), text(&v["state"]));
    assert_eq!(nonce_for(&challenge, aud, reg), text(&v["nonce"]));
    let verifier = pkce_verifier(text(&v["pepper_utf8"]).as_bytes(), reg, &challenge);
    assert_eq!(verifier, text(&v["code_verifier"]));
    assert_eq!(pkce_challenge(&verifier), text(&v["code_challenge"]));
    let number = simbind_core::identifiers::PhoneNumber::parse(text(&v["number"])).unwrap();
    assert_eq!(
        hashed_phone_number(&number),
        text(&v["hashed_phone_number"])
    );
}
