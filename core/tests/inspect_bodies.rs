//! The inspector's App Attest assertions and whole request bodies, as JSON:
//! every real assertion in the fixtures verifies with its attested key and
//! gives its counter, each refusal fails the check that names it, and a
//! bind or verify body gets the checks of core/src/body_checks.rs plus the
//! list of what a body alone cannot show.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::{Value, json};
use simbind_core::api::{BindRequest, ChipInfo, EvidenceRequest};
use simbind_core::codec::b64;
use simbind_core::inspect::inspect;
use simbind_core::transcript::Ceremony;

fn run(input: Value) -> Value {
    serde_json::from_str(&inspect(&input.to_string())).unwrap()
}

fn fixture(path: &str) -> Value {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/attestation/");
    serde_json::from_str(&std::fs::read_to_string(format!("{dir}{path}")).unwrap()).unwrap()
}

fn hex_of_base64(text: &str) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `(check, result, code)` of each check in the report.
fn checks(report: &Value) -> Vec<(String, String, Option<String>)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_owned(),
                c["result"].as_str().unwrap().to_owned(),
                c["code"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// Refused with `code` at the check whose name holds `fragment`: every
/// check before it passed, every one after it not reached.
fn refused_at(report: &Value, fragment: &str, code: &str) {
    assert_eq!(report["verdict"], "refused", "{report}");
    let all = checks(report);
    let at = all
        .iter()
        .position(|(name, _, _)| name.contains(fragment))
        .unwrap_or_else(|| panic!("no check names {fragment:?}"));
    for (i, (name, result, failed)) in all.iter().enumerate() {
        let expected = match i.cmp(&at) {
            std::cmp::Ordering::Less => "passed",
            std::cmp::Ordering::Equal => "failed",
            std::cmp::Ordering::Greater => "not reached",
        };
        assert_eq!(result, expected, "{name}");
        if i == at {
            assert_eq!(failed.as_deref(), Some(code), "{name}");
        }
    }
}

fn all_passed(report: &Value) {
    assert_eq!(report["verdict"], "accepted", "{report}");
    assert!(
        checks(report)
            .iter()
            .all(|(_, result, _)| result == "passed")
    );
}

/// The real assertions, each with its sample's key, App ID and hash.
fn assertions() -> Vec<Value> {
    let samples = fixture("apple/devicecheck-appattest.json");
    let mut out = Vec::new();
    for s in samples.as_array().unwrap() {
        for a in s["assertions"].as_array().unwrap() {
            out.push(json!({
                "format": "apple-assertion",
                "assertion": a["assertion"],
                "clientDataHashHex": hex_of_base64(a["clientDataHash"].as_str().unwrap()),
                "publicKey": s["publicKey"],
                "appId": s["appId"],
                "at": a["at"],
                "counter": a["counter"],
                "attestation": s["attestation"],
                "attestationHashHex": hex_of_base64(s["clientDataHash"].as_str().unwrap()),
                "attestedAt": s["at"],
            }));
        }
    }
    assert_eq!(out.len(), 3);
    out
}

#[test]
fn every_real_assertion_verifies_with_its_attested_key_and_gives_its_counter() {
    for a in assertions() {
        // The fixture's key is the one its attestation proves.
        let attestation = run(json!({
            "format": "apple-appattest", "attestation": a["attestation"],
            "clientDataHashHex": a["attestationHashHex"], "appId": a["appId"],
            "environment": "development", "at": a["attestedAt"],
        }));
        let key = attestation["attested"]["publicKey"].as_str().unwrap();
        let fixture_key = simbind_core::codec::b64(
            &base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                a["publicKey"].as_str().unwrap(),
            )
            .unwrap(),
        );
        assert_eq!(key, fixture_key);

        let report = run(a.clone());
        all_passed(&report);
        assert_eq!(checks(&report).len(), 5);
        assert_eq!(report["attested"]["counter"], a["counter"]);
        assert_eq!(
            report["decoded"]["authenticatorData"]["counter"],
            a["counter"]
        );
        // The stored counter below it passes; at it, a replay.
        let mut below = a.clone();
        below["storedCounter"] = json!(0);
        all_passed(&run(below));
        let mut replay = a.clone();
        replay["storedCounter"] = a["counter"].clone();
        refused_at(&run(replay), "stored with the binding", "counter_replayed");
    }
}

#[test]
fn an_assertion_is_refused_at_the_check_that_names_the_fault() {
    let a = &assertions()[0];
    let mut other_data = a.clone();
    other_data["clientDataHashHex"] = json!("00".repeat(32));
    refused_at(
        &run(other_data),
        "signed SHA-256",
        "attestation_signature_invalid",
    );

    let mut other_key = a.clone();
    other_key["publicKey"] = assertions()[1]["publicKey"].clone();
    refused_at(
        &run(other_key),
        "signed SHA-256",
        "attestation_signature_invalid",
    );

    let mut other_app = a.clone();
    other_app["appId"] = json!("6MURL8TA57.another.app");
    refused_at(
        &run(other_app),
        "an allowed App ID",
        "attestation_app_not_allowed",
    );

    let mut garbage = a.clone();
    garbage["assertion"] = json!("b2s=");
    let report = run(garbage);
    refused_at(&report, "decodes", "attestation_malformed");
    assert_eq!(report["decoded"], Value::Null);

    let mut not_a_key = a.clone();
    not_a_key["publicKey"] = json!("AAAA");
    refused_at(&run(not_a_key), "P-256 point", "attestation_malformed");
}

fn bind_input(body: &BindRequest, registration_id: &str, at: u64) -> Value {
    json!({
        "format": "bind", "body": serde_json::to_value(body).unwrap(),
        "registrationId": registration_id, "audience": AUDIENCE, "at": at,
    })
}

#[test]
fn a_bind_body_gets_its_checks_and_the_list_of_what_it_cannot_show() {
    let world = World::new();
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let body = BindRequest {
        otp: Some("123456".into()),
        bind_secret: None,
        firebase_pnv_token: None,
        evidence: request(&chip(), &sim_a(), &ch, Ceremony::Bind, REG_ID),
    };
    let report = run(bind_input(&body, REG_ID, NOW));
    all_passed(&report);
    assert_eq!(report["format"], "bind");
    assert_eq!(
        report["attested"]["chipKey"],
        b64(&chip().key.public_key().to_compressed())
    );
    assert_eq!(report["decoded"]["chip"]["format"], "simbind-p256");
    assert_eq!(report["notChecked"].as_array().unwrap().len(), 7);

    refused_at(
        &run(bind_input(&body, "reg_BBBBBBBBBBBBBBBBBBBBBB", NOW)),
        "challenge reads",
        "challenge_wrong_subject",
    );
    let mut other_audience = bind_input(&body, REG_ID, NOW);
    other_audience["audience"] = json!("another-deployment");
    refused_at(&run(other_audience), "chip signed", "bad_signature");

    // As JSON text too, and a body of the wrong shape is an input error
    // that repeats nothing of it.
    let mut as_text = bind_input(&body, REG_ID, NOW);
    as_text["body"] = json!(serde_json::to_string(&body).unwrap());
    all_passed(&run(as_text));
    let mut wrong = bind_input(&body, REG_ID, NOW);
    wrong["body"]["evidence"]["secret-field-XYZ"] = json!(1);
    let error = run(wrong)["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("`body`") && !error.contains("XYZ"),
        "{error}"
    );
}

#[test]
fn a_real_app_attest_object_in_a_bind_body_is_held_to_this_binds_challenge() {
    // A real phone's object, sent in a bind body: its chain and data hold,
    // and it fails where it must, at the nonce: it was made for another
    // challenge than the one derived from this bind.
    let samples = fixture("apple/devicecheck-appattest.json");
    let s = &samples[0];
    let mut world = World::new();
    world.now = s["at"].as_u64().unwrap();
    let ch = world.challenge(Ceremony::Bind, REG_ID);
    let key_id = simbind_core::codec::b64(
        &base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            s["keyId"].as_str().unwrap(),
        )
        .unwrap(),
    );
    let attestation = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        s["attestation"].as_str().unwrap(),
    )
    .unwrap();
    let body = BindRequest {
        otp: Some("123456".into()),
        bind_secret: None,
        firebase_pnv_token: None,
        evidence: EvidenceRequest {
            challenge: ch,
            chip: ChipInfo {
                format: "apple-appattest".into(),
                key_id: Some(key_id),
                attestation: Some(b64(&attestation)),
                ..ChipInfo::default()
            },
            sim: sim_a().wire(),
            counter: 0,
            chip_signature: b64(b"an assertion"),
            sim_signature: None,
        },
    };
    let mut input = bind_input(&body, REG_ID, world.now);
    input["appId"] = s["appId"].clone();
    input["environment"] = json!("development");
    let report = run(input);
    refused_at(&report, "leaf's nonce", "attestation_challenge_mismatch");
    assert_eq!(report["code"], "attestation_challenge_mismatch");
    assert_eq!(report["decoded"]["chip"]["attestation"], true);
}

#[test]
fn a_verify_body_is_checked_against_the_bound_key_and_counter() {
    let world = World::new();
    let mut signer = chip();
    signer.counter = 4;
    let ch = world.challenge(Ceremony::Verify, BINDING_ID);
    let body = request(&signer, &sim_a(), &ch, Ceremony::Verify, BINDING_ID);
    let input = |stored: u64| {
        json!({
            "format": "verify", "body": serde_json::to_value(&body).unwrap(),
            "bindingId": BINDING_ID, "audience": AUDIENCE, "at": NOW,
            "chipPublicKey": b64(&chip().key.public_key().to_compressed()),
            "storedCounter": stored,
        })
    };
    let report = run(input(3));
    all_passed(&report);
    assert_eq!(report["attested"]["counter"], 4);
    assert_eq!(report["notChecked"].as_array().unwrap().len(), 5);
    refused_at(
        &run(input(4)),
        "stored with the binding",
        "counter_replayed",
    );
    let mut unbind = input(3);
    unbind["format"] = json!("unbind");
    refused_at(&run(unbind), "challenge reads", "challenge_wrong_ceremony");
    let mut other_key = input(3);
    other_key["chipPublicKey"] = json!(b64(&key(5).public_key().to_compressed()));
    refused_at(&run(other_key), "bound chip's key", "bad_signature");
}
