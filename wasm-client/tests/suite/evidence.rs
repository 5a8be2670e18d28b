// The evidence steps against the replies real hosts give (objects, JSON
// text, base64url text, numbers and decimal strings), and their refusals;
// and the protocol vectors through the client's own exports. Runs in Node
// and in headless Chromium. The bridge hosts themselves are JavaScript
// (wasm-client/js/client.js), tested in tests/client-bridge.test.mjs.

use js_sys::{Reflect, Uint8Array};
use simbind_client::{Evidence, SoftwareBridge, build_transcript};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

const CHIP: &str = r#"{"format":"simbind-p256","serial":"CHIP-0001","publicKey":"AgIX5hfwtkQ5KCePlpmeaaI6TywVK99tbN9m5bgCgtTt"}"#;
const SIM: &str = r#"{"iccid":"8944100000000000018","imsi":"234150000000001","msisdn":"+447700900123"}"#;
/// A challenge answer for `ceremony`, audience `aud`, with `transaction`.
fn challenge(ceremony: &str, transaction: Option<&str>) -> String {
    let txn = transaction.map(|t| format!(r#","transaction":"{t}""#)).unwrap_or_default();
    format!(r#"{{"challenge":"AAAA","ceremony":"{ceremony}","audience":"aud","expires_at":1{txn}}}"#)
}

fn start(ceremony: &str) -> Evidence {
    Evidence::new(ceremony, 200, &challenge(ceremony, None), "aud", "bnd_x".into(), None).unwrap()
}

fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

#[wasm_bindgen_test]
fn replies_as_json_text_base64url_and_decimal_strings_make_a_body() {
    let mut e = start("verify");
    e.set_chip(text(CHIP)).unwrap();
    assert_eq!(e.attest_challenge().unwrap(), None, "simbind-p256 is not attested");
    e.set_sim(text(SIM)).unwrap();
    assert!(e.needs_counter().unwrap());
    e.set_counter(text(" 7 ")).unwrap();
    let transcript = e.transcript().unwrap();
    assert!(transcript.windows(18).any(|w| w == b"SIMBIND-TRANSCRIPT"));
    assert!(!e.wants_sim_signature().unwrap());
    e.set_chip_signature(text(&"A".repeat(86))).unwrap();
    let body: serde_json::Value = serde_json::from_str(&e.body(None, None, None).unwrap()).unwrap();
    assert_eq!(body["counter"], 7);
    assert_eq!(body["sim"]["msisdn"], "+447700900123");
    assert_eq!(body["chip_signature"].as_str().unwrap().len(), 86);
    assert!(e.body(None, None, None).unwrap().find("otp").is_none());
}

#[wasm_bindgen_test]
fn an_ordinary_apps_sim_fields_go_on_the_wire_by_their_wire_names() {
    let mut e = start("verify");
    e.set_chip(text(CHIP)).unwrap();
    e.set_sim(text(r#"{"subscriptionId":3,"slotIndex":1,"cardId":2,"portIndex":0,"embedded":true,"mcc":"234","mnc":"15"}"#)).unwrap();
    e.set_counter(text("1")).unwrap();
    e.transcript().unwrap();
    e.set_chip_signature(text(&"A".repeat(86))).unwrap();
    let body: serde_json::Value = serde_json::from_str(&e.body(None, None, None).unwrap()).unwrap();
    assert_eq!(
        body["sim"],
        serde_json::json!({"subscription_id":3,"slot_index":1,"card_id":2,"port_index":0,"embedded":true,"mcc":"234","mnc":"15"})
    );
    // iOS reports nothing SIM-specific: an empty object is a SIM block too.
    let mut ios = start("verify");
    ios.set_chip(text(CHIP)).unwrap();
    ios.set_sim(text("{}")).unwrap();
    ios.set_counter(text("1")).unwrap();
    assert!(ios.transcript().is_ok());
}

#[wasm_bindgen_test]
fn sim_fields_of_the_wrong_type_or_range_are_refused_before_signing() {
    for bad in [r#"{"slotIndex":"0"}"#, r#"{"embedded":"yes"}"#, r#"{"subscriptionId":-1}"#, r#"{"cardId":1.5}"#, r#"{"slot":0}"#] {
        let mut e = start("verify");
        assert_eq!(code_of(&e.set_sim(text(bad)).err().unwrap()), "bridge_malformed_reply", "{bad}");
    }
    for (bad, code) in [
        (r#"{"slotIndex":16}"#, "out_of_range"),
        (r#"{"mcc":"234"}"#, "invalid_mcc_mnc"),
        (r#"{"eid":"89049032001234567890123456789058"}"#, "invalid_eid_checksum"),
    ] {
        let mut e = start("verify");
        e.set_chip(text(CHIP)).unwrap();
        e.set_sim(text(bad)).unwrap();
        e.set_counter(text("1")).unwrap();
        let err = e.transcript().err().unwrap();
        assert_eq!(code_of(&err), code, "{bad}");
        assert!(!field(&err, "detail").contains("89049032"), "the value is not echoed");
    }
}

/// Bind evidence with chip, SIM, counter 1 and a signature, ready for its body.
fn signed_bind() -> Evidence {
    let mut e = start("bind");
    e.set_chip(text(CHIP)).unwrap();
    e.set_sim(text(SIM)).unwrap();
    e.set_counter(JsValue::from_f64(1.0)).unwrap();
    e.transcript().unwrap();
    e.set_chip_signature(Uint8Array::from(&[1u8; 64][..]).into()).unwrap();
    e
}

#[wasm_bindgen_test]
fn a_bind_body_carries_the_code_or_none_and_a_verify_body_never_does() {
    let e = signed_bind();
    let body: serde_json::Value = serde_json::from_str(&e.body(Some("123456".into()), None, None).unwrap()).unwrap();
    assert_eq!(body["otp"], "123456");
    assert_eq!(body["evidence"]["counter"], 1);
    assert!(body.get("bind_secret").is_none());
    // A device-SMS registration binds without a code, with its bind secret.
    let secret = "q3Xv0b1YpM2sT9wL8kE4hA".to_owned();
    let by_sms: serde_json::Value =
        serde_json::from_str(&e.body(None, Some(secret.clone()), None).unwrap()).unwrap();
    assert!(by_sms.get("otp").is_none());
    assert_eq!(by_sms["bind_secret"], secret.as_str());
    assert_eq!(by_sms["evidence"]["counter"], 1);
    // A code belongs to a bind only.
    let mut v = start("verify");
    v.set_chip(text(CHIP)).unwrap();
    v.set_sim(text(SIM)).unwrap();
    v.set_counter(text("1")).unwrap();
    v.transcript().unwrap();
    v.set_chip_signature(text(&"A".repeat(86))).unwrap();
    assert_eq!(code_of(&v.body(Some("123456".into()), None, None).err().unwrap()), "invalid_argument");
    assert_eq!(code_of(&v.body(None, Some(secret), None).err().unwrap()), "invalid_argument");
    assert_eq!(code_of(&v.body(None, None, Some(PNV_TOKEN.into())).err().unwrap()), "invalid_argument");
    assert_eq!(v.firebase_pnv_nonce().unwrap(), None, "a nonce is for a bind only");
    assert_eq!(code_of(&v.carrier_authorization_body().err().unwrap()), "invalid_argument");
}

/// A compact JWS shape (the worker checks the signature).
const PNV_TOKEN: &str = "eyJhIjoxfQ.eyJiIjoyfQ.AQI";

#[wasm_bindgen_test]
fn a_firebase_pnv_bind_carries_the_token_for_this_binds_nonce() {
    let e = signed_bind();
    let nonce = e.firebase_pnv_nonce().unwrap().unwrap();
    // The operator's authorization is asked for this bind's own challenge.
    let asked: serde_json::Value = serde_json::from_str(&e.carrier_authorization_body().unwrap()).unwrap();
    assert_eq!(asked, serde_json::json!({ "challenge": "AAAA" }));
    assert_eq!(nonce.len(), 43, "SHA-256, base64url");
    let body: serde_json::Value =
        serde_json::from_str(&e.body(None, None, Some(PNV_TOKEN.into())).unwrap()).unwrap();
    assert_eq!(body["firebase_pnv_token"], PNV_TOKEN);
    assert!(body.get("otp").is_none() && body.get("bind_secret").is_none());
    // What the bridge returned must at least be a compact JWS of at most 4 KiB.
    for bad in ["not a token".to_owned(), format!("{PNV_TOKEN}.x"), format!("{PNV_TOKEN}{}", "A".repeat(4096))] {
        assert_eq!(code_of(&e.body(None, None, Some(bad)).err().unwrap()), "bridge_malformed_reply");
    }
}

#[wasm_bindgen_test]
fn a_challenge_for_another_audience_or_transaction_is_refused_before_signing() {
    let e = Evidence::new("verify", 200, &challenge("verify", None), "other", "bnd_x".into(), None);
    assert_eq!(code_of(&e.err().unwrap()), "audience_mismatch");
    let swapped = Evidence::new("verify", 200, &challenge("verify", Some("AQ")), "aud", "bnd_x".into(), Some(vec![2]));
    assert_eq!(code_of(&swapped.err().unwrap()), "transaction_mismatch");
    let added = Evidence::new("verify", 200, &challenge("verify", Some("AQ")), "aud", "bnd_x".into(), None);
    assert_eq!(code_of(&added.err().unwrap()), "transaction_mismatch");
    assert!(Evidence::new("verify", 200, &challenge("verify", Some("AQ")), "aud", "bnd_x".into(), Some(vec![1])).is_ok());
}

#[wasm_bindgen_test]
fn a_problem_answer_is_the_servers_error_and_a_misshapen_one_is_unexpected() {
    let problem = r#"{"type":"https://simbind.dev/problems/binding_not_found","title":"Not Found","status":404,"code":"binding_not_found","detail":"no such binding"}"#;
    let e = Evidence::new("verify", 404, problem, "aud", "bnd_x".into(), None).err().unwrap();
    assert_eq!((code_of(&e), field(&e, "source"), field(&e, "detail")), ("binding_not_found".into(), "server".into(), "no such binding".into()));
    assert_eq!(Reflect::get(&e, &"status".into()).unwrap().as_f64(), Some(404.0));
    let e = Evidence::new("verify", 502, "<html>", "aud", "bnd_x".into(), None).err().unwrap();
    assert_eq!(code_of(&e), "http_error");
    let e = Evidence::new("verify", 200, r#"{"challenge":"AAAA"}"#, "aud", "bnd_x".into(), None).err().unwrap();
    assert_eq!(code_of(&e), "unexpected_response");
    let grant = simbind_client::read_answer("grant", 200, r#"{"grant":"a.b.c","token_type":"SimBind-Grant","expires_at":5}"#).unwrap();
    assert_eq!(Reflect::get(&grant, &"expiresAt".into()).unwrap().as_f64(), Some(5.0));
    assert_eq!(code_of(&simbind_client::read_answer("grant", 200, r#"{"grant":1}"#).err().unwrap()), "unexpected_response");
}

#[wasm_bindgen_test]
fn a_device_sms_registration_is_read_only_with_our_number_text_and_secret() {
    let answer = |to: &str, text: &str, secret: &str| {
        format!(
            r#"{{"registration_id":"reg_x","proof":"device_sms","device_sms":{{"to":"{to}","text":"{text}","expires_at":9,"bind_secret":"{secret}"}},"challenge":"AAAA","ceremony":"bind","audience":"aud","expires_at":9}}"#
        )
    };
    let text = "SB-7K2M9QX4TZ links this number to your phone in SimBind demo.";
    let secret = "q3Xv0b1YpM2sT9wL8kE4hA";
    let good = simbind_client::read_answer("registration", 201, &answer("+447700900999", text, secret)).unwrap();
    let sms = Reflect::get(&good, &"deviceSms".into()).unwrap();
    assert_eq!(Reflect::get(&sms, &"token".into()).unwrap().as_string().unwrap(), "SB-7K2M9QX4TZ");
    assert_eq!(Reflect::get(&sms, &"bindSecret".into()).unwrap().as_string().unwrap(), secret);
    for (to, text, secret) in [
        ("+449098790000x", text, secret),
        ("449098790000", text, secret),
        ("+447700900999", "Reply YES to win", secret),
        ("+447700900999", "SB-7K2M9QX4TZ links this number to your phone in .", secret),
        ("+447700900999", text, "short"),
        ("+447700900999", text, ""),
    ] {
        let e = simbind_client::read_answer("registration", 201, &answer(to, text, secret)).err().unwrap();
        assert_eq!(code_of(&e), "unexpected_response", "{to} {text} {secret}");
    }
}

#[wasm_bindgen_test]
fn malformed_replies_are_typed_and_never_echoed() {
    let mut e = start("verify");
    for bad in ["{not json", r#"{"serial":"CHIP-0001","publicKey":"x","extra":1}"#, "[1]", r#"{"serial":42}"#] {
        let err = e.set_chip(text(bad)).err().unwrap();
        assert_eq!(code_of(&err), "bridge_malformed_reply", "{bad}");
        assert_eq!(field(&err, "source"), "bridge");
    }
    let err = e.set_sim(text(r#"{"iccid":"8944100000000000018","imsi":1,"msisdn":"+447700900123"}"#)).err().unwrap();
    assert!(!field(&err, "detail").contains("8944100000000000018"), "the reply is not echoed");
    for bad in ["-1", "1.5", "9007199254740992", "seven"] {
        assert_eq!(code_of(&e.set_counter(text(bad)).err().unwrap()), "bridge_malformed_reply", "{bad}");
    }
    assert_eq!(code_of(&e.set_counter(JsValue::from_f64(0.5)).err().unwrap()), "bridge_malformed_reply");
}

#[wasm_bindgen_test]
fn signatures_and_assertions_are_checked_for_their_format() {
    let mut e = start("verify");
    e.set_chip(text(CHIP)).unwrap();
    assert_eq!(code_of(&e.set_chip_signature(text("AAAA")).err().unwrap()), "bridge_malformed_reply");
    assert_eq!(code_of(&e.set_chip_signature(JsValue::from_f64(1.0)).err().unwrap()), "bridge_malformed_reply");
    e.set_sim(text(r#"{"iccid":"8944100000000000018","imsi":"234150000000001","msisdn":"+447700900123","publicKey":"AgIX5hfwtkQ5KCePlpmeaaI6TywVK99tbN9m5bgCgtTt"}"#)).unwrap();
    assert!(e.wants_sim_signature().unwrap());
    assert_eq!(code_of(&e.set_sim_signature(JsValue::UNDEFINED).err().unwrap()), "bridge_method_missing");
    let mut apple = start("verify");
    apple.set_chip(text(&format!(r#"{{"format":"apple-appattest","keyId":"{}"}}"#, "A".repeat(43)))).unwrap();
    assert!(!apple.needs_counter().unwrap(), "App Attest counts in its assertions");
    apple.set_chip_signature(text(&"A".repeat(134))).unwrap();
    assert_eq!(code_of(&apple.set_chip_signature(text("")).err().unwrap()), "bridge_malformed_reply");
}

#[wasm_bindgen_test]
fn a_real_format_bind_is_attested_with_the_derived_challenge() {
    let key_id = "A".repeat(43);
    let mut bind = start("bind");
    bind.set_chip(text(&format!(r#"{{"format":"android-key","keyId":"{key_id}"}}"#))).unwrap();
    let expected = simbind_client::bind_attestation_challenge("AAAA", "aud", "bnd_x").unwrap();
    assert_eq!(bind.attest_challenge().unwrap(), Some(expected));
    let mut verify = start("verify");
    verify.set_chip(text(&format!(r#"{{"format":"android-key","keyId":"{key_id}"}}"#))).unwrap();
    assert_eq!(verify.attest_challenge().unwrap(), None, "a bound key re-proves; it is not attested again");
    let mut early = start("verify");
    assert_eq!(code_of(&early.transcript().err().unwrap()), "invalid_argument", "steps out of order");
}

fn field(error: &JsValue, name: &str) -> String {
    Reflect::get(error, &name.into()).ok().and_then(|c| c.as_string()).unwrap_or_default()
}

fn js(value: &serde_json::Value) -> JsValue {
    use serde::Serialize;
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap()
}

fn code_of(error: &JsValue) -> String {
    Reflect::get(error, &"code".into()).ok().and_then(|c| c.as_string()).unwrap_or_default()
}

fn vectors() -> serde_json::Value {
    let doc = include_str!("../../../docs/PROTOCOL.md");
    let start = doc.find("```json").unwrap() + 7;
    let end = doc[start..].find("```").unwrap() + start;
    serde_json::from_str(&doc[start..end]).unwrap()
}

/// The protocol vectors, encoded through the client's exports and signed by
/// the software chip (RFC 6979, so the signature must match exactly).
#[wasm_bindgen_test]
fn protocol_vectors_through_the_client_exports() {
    for v in vectors()["transcripts"].as_array().unwrap() {
        let s = |k: &str| v[k].as_str().unwrap().to_owned();
        let key = hex::decode(s("chip_secret_key_hex")).unwrap();
        let mut chip = SoftwareBridge::with_key(s("chip_serial"), &key).unwrap();
        // The vector's wire SIM (snake_case) as a bridge reports it (camelCase).
        let mut sim = serde_json::Map::new();
        for (name, value) in v["sim"].as_object().unwrap() {
            let camel: String = name.split('_').enumerate()
                .map(|(i, w)| if i == 0 { w.to_owned() } else { w[..1].to_uppercase() + &w[1..] })
                .collect();
            sim.insert(camel, value.clone());
        }
        if let Some(h) = v["sim_secret_key_hex"].as_str() {
            sim.insert("secretKey".into(), simbind_core::codec::b64(&hex::decode(h).unwrap()).into());
        }
        let sim = serde_json::Value::Object(sim);
        chip.insert_sim(js(&sim)).unwrap();
        let challenge = simbind_core::codec::b64(&hex::decode(s("challenge_hex")).unwrap());
        let transcript = build_transcript(
            &s("ceremony"), &challenge, &s("audience"), &s("subject"),
            chip.chip_info(), chip.sim_info().unwrap(), v["counter"].as_f64().unwrap(),
            Some(hex::decode(s("transaction_hex")).unwrap()).filter(|t| !t.is_empty()),
        ).unwrap();
        assert_eq!(hex::encode(&transcript), s("transcript_hex"));
        assert_eq!(hex::encode(chip.chip_sign(&transcript).to_vec()), s("chip_signature_hex"));
        if let Some(expected) = v["sim_signature_hex"].as_str() {
            assert_eq!(hex::encode(chip.sim_sign(&transcript).unwrap().to_vec()), expected);
        }
    }
}

#[wasm_bindgen_test]
fn build_transcript_refuses_invalid_bridge_values() {
    let chip = SoftwareBridge::new("CHIP-0001".into()).unwrap();
    let bad_sim = js(&serde_json::json!({ "iccid": "8944100000000000019", "imsi": "234150000000001", "msisdn": "+447700900123" }));
    let e = build_transcript("verify", "AAAA", "aud", "bnd", chip.chip_info(), bad_sim, 1.0, None).err().unwrap();
    assert_eq!(code_of(&e), "invalid_iccid_checksum");
    let e = build_transcript("bogus", "AAAA", "aud", "bnd", chip.chip_info(), JsValue::NULL, 1.0, None).err().unwrap();
    assert_eq!(code_of(&e), "invalid_ceremony");
    let good_sim = js(&serde_json::json!({ "iccid": "8944100000000000018", "imsi": "234150000000001", "msisdn": "+447700900123" }));
    let e = build_transcript("verify", "AAAA", "aud", "bnd", chip.chip_info(), good_sim, 1.0, Some(vec![0; 65])).err().unwrap();
    assert_eq!(code_of(&e), "invalid_transaction");
}
