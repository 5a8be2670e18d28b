// The bridge adapters against fakes that behave like the real host APIs
// (Android `addJavascriptInterface`, iOS `WKScriptMessageHandlerWithReply`),
// including their failure modes; and the protocol vectors through the
// client's own exports. Runs in Node and in headless Chromium.

use js_sys::Reflect;
use simbind_client::{Bridge, SoftwareBridge, build_transcript};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

#[wasm_bindgen(inline_js = r#"
const CHIP = { format: "simbind-p256", serial: "CHIP-0001", publicKey: "AgIX5hfwtkQ5KCePlpmeaaI6TywVK99tbN9m5bgCgtTt" };
const SIM = { iccid: "8944100000000000018", imsi: "234150000000001", msisdn: "+447700900123" };
const SIG = "A".repeat(85) + "Q"; // 64 bytes, base64url
const TRANSCRIPT = "dHJhbnNjcmlwdA"; // base64url of the bytes "transcript", unpadded
function signOnly(arg) {
  if (arg !== TRANSCRIPT) throw new Error("asked to sign unexpected bytes: " + arg);
  return SIG;
}
// Android: synchronous methods, strings in and out (like @JavascriptInterface).
export function androidFake(mode) {
  let counter = 0;
  return {
    chipInfo() { if (mode === "throws") throw new Error("java.lang.SecurityException: chip locked"); return mode === "garbage" ? "{not json" : JSON.stringify(CHIP); },
    simInfo() { return JSON.stringify(SIM); },
    nextCounter() { counter += 1; return String(counter); },
    chipSign(b64) { if (typeof b64 !== "string") throw new Error("Android passes strings"); return mode === "short" ? "AAAA" : signOnly(b64); },
    ...(mode === "sim" ? { simSign: (b64) => signOnly(b64) } : {}),
  };
}
// iOS: webkit.messageHandlers[name].postMessage({method, args}) -> Promise.
export function installIosFake(name, mode) {
  let counter = 41;
  globalThis.webkit = { messageHandlers: { [name]: { postMessage(message) {
    const { method, args } = message;
    if (mode === "rejects") return Promise.reject(new Error("native handler failed"));
    switch (method) {
      case "chipInfo": return Promise.resolve(CHIP);
      case "simInfo": return Promise.resolve(mode === "garbage" ? { iccid: 42 } : JSON.stringify(SIM));
      case "nextCounter": counter += 1; return Promise.resolve(counter);
      case "chipSign": try { return Promise.resolve(signOnly(args[0])); } catch (e) { return Promise.reject(e); }
      default: return Promise.reject(new Error("unknown method " + method));
    }
  } } } };
}
export function removeIosFake() { delete globalThis.webkit; }
// Real-format chips: an Android Keystore key and an App Attest key.
const KEY_ID = "A".repeat(42) + "A"; // 32 bytes, base64url
const ATTEST_CHALLENGE = "AQID"; // base64url of bytes 1, 2, 3
export function androidKeyFake() {
  return {
    chipInfo() { return JSON.stringify({ format: "android-key", keyId: KEY_ID }); },
    chipAttest(b64) {
      if (b64 !== ATTEST_CHALLENGE) throw new Error("asked to attest unexpected bytes: " + b64);
      return JSON.stringify({ format: "android-key", keyId: KEY_ID, certificateChain: ["MIIB", "MIIC"] });
    },
  };
}
export function installAppAttestFake(name) {
  globalThis.webkit = { messageHandlers: { [name]: { postMessage({ method, args }) {
    switch (method) {
      case "chipInfo": return Promise.resolve({ format: "apple-appattest", keyId: KEY_ID });
      case "chipAttest": return Promise.resolve({ format: "apple-appattest", keyId: KEY_ID, attestation: args[0] === ATTEST_CHALLENGE ? "o2NmbXQ" : "wrong" });
      case "chipSign": return Promise.resolve("A".repeat(134)); // a 100-byte assertion
      default: return Promise.reject(new Error("unknown method " + method));
    }
  } } } };
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = androidFake)]
    fn android_fake(mode: &str) -> JsValue;
    #[wasm_bindgen(js_name = installIosFake)]
    fn install_ios_fake(name: &str, mode: &str);
    #[wasm_bindgen(js_name = removeIosFake)]
    fn remove_ios_fake();
    #[wasm_bindgen(js_name = androidKeyFake)]
    fn android_key_fake() -> JsValue;
    #[wasm_bindgen(js_name = installAppAttestFake)]
    fn install_app_attest_fake(name: &str);
}

#[wasm_bindgen_test]
async fn android_key_attestation_passes_through_the_android_adapter() {
    let bridge = Bridge::from_android(android_key_fake()).unwrap();
    let chip = bridge.chip_info().await.unwrap();
    assert_eq!((chip.format.as_str(), chip.serial), ("android-key", None));
    assert_eq!(chip.key_id.as_deref().map(str::len), Some(43));
    let attested = bridge.chip_attest(&[1, 2, 3]).await.unwrap().unwrap();
    assert_eq!(attested.certificate_chain.unwrap(), vec!["MIIB", "MIIC"], "passed on unparsed");
    let e = bridge.chip_attest(&[9]).await.unwrap_err();
    assert_eq!(e.code, "bridge_failed", "the challenge went as base64url text");
    let plain = Bridge::from_android(android_fake("ok")).unwrap();
    assert!(plain.chip_attest(&[1]).await.unwrap().is_none(), "no chipAttest: none");
}

#[wasm_bindgen_test]
async fn app_attest_attestation_and_assertions_pass_through_the_ios_adapter() {
    install_app_attest_fake("simbind");
    let bridge = Bridge::from_ios("simbind").unwrap();
    assert_eq!(bridge.chip_info().await.unwrap().format, "apple-appattest");
    let attested = bridge.chip_attest(&[1, 2, 3]).await.unwrap().unwrap();
    assert_eq!(attested.attestation.as_deref(), Some("o2NmbXQ"));
    assert_eq!(bridge.chip_assert(b"transcript").await.unwrap().len(), 100);
    let e = bridge.chip_sign(b"transcript").await.unwrap_err();
    assert_eq!(e.code, "bridge_malformed_reply", "an assertion is not a 64-byte signature");
    remove_ios_fake();
}

fn js(value: &serde_json::Value) -> JsValue {
    use serde::Serialize;
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap()
}

fn code_of(error: &JsValue) -> String {
    Reflect::get(error, &"code".into()).ok().and_then(|c| c.as_string()).unwrap_or_default()
}

#[wasm_bindgen_test]
async fn android_adapter_reads_and_signs_through_strings() {
    let bridge = Bridge::from_android(android_fake("ok")).unwrap();
    let chip = bridge.chip_info().await.unwrap();
    assert_eq!(chip.serial.as_deref(), Some("CHIP-0001"));
    assert_eq!(bridge.sim_info().await.unwrap().msisdn, "+447700900123");
    assert_eq!(bridge.next_counter().await.unwrap(), 1);
    assert_eq!(bridge.next_counter().await.unwrap(), 2);
    assert_eq!(bridge.chip_sign(b"transcript").await.unwrap().len(), 64);
    assert_eq!(bridge.sim_sign(b"transcript").await.unwrap(), None, "no simSign: no SIM key");
    let e = bridge.chip_sign(b"other bytes").await.unwrap_err();
    assert_eq!(e.code, "bridge_failed", "the fake saw exactly the transcript's base64url");
    let with_sim = Bridge::from_android(android_fake("sim")).unwrap();
    assert_eq!(with_sim.sim_sign(b"transcript").await.unwrap().map(|s| s.len()), Some(64));
}

#[wasm_bindgen_test]
fn android_adapter_refuses_a_missing_interface() {
    let error = Bridge::from_android(JsValue::UNDEFINED).err().unwrap();
    assert_eq!(code_of(&error), "bridge_unavailable");
    assert_eq!(Reflect::get(&error, &"name".into()).unwrap().as_string().unwrap(), "SimBindError");
}

#[wasm_bindgen_test]
async fn android_exceptions_and_malformed_replies_are_typed() {
    let throws = Bridge::from_android(android_fake("throws")).unwrap();
    let e = throws.chip_info().await.unwrap_err();
    assert_eq!((e.code.as_str(), e.source), ("bridge_failed", "bridge"));
    assert!(e.detail.contains("chip locked"));
    let garbage = Bridge::from_android(android_fake("garbage")).unwrap();
    assert_eq!(garbage.chip_info().await.unwrap_err().code, "bridge_malformed_reply");
    let short = Bridge::from_android(android_fake("short")).unwrap();
    assert_eq!(short.chip_sign(b"t").await.unwrap_err().code, "bridge_malformed_reply");
}

#[wasm_bindgen_test]
async fn ios_adapter_uses_post_message_promises() {
    install_ios_fake("simbind", "ok");
    let bridge = Bridge::from_ios("simbind").unwrap();
    assert_eq!(bridge.chip_info().await.unwrap().serial.as_deref(), Some("CHIP-0001"));
    assert_eq!(bridge.sim_info().await.unwrap().iccid, "8944100000000000018");
    assert_eq!(bridge.next_counter().await.unwrap(), 42);
    assert_eq!(bridge.chip_sign(b"transcript").await.unwrap().len(), 64);
    remove_ios_fake();
}

#[wasm_bindgen_test]
async fn ios_adapter_failures_are_typed() {
    remove_ios_fake();
    assert_eq!(code_of(&Bridge::from_ios("simbind").err().unwrap()), "bridge_unavailable");
    install_ios_fake("other", "ok");
    assert_eq!(code_of(&Bridge::from_ios("simbind").err().unwrap()), "bridge_unavailable");
    install_ios_fake("simbind", "rejects");
    let e = Bridge::from_ios("simbind").unwrap().chip_info().await.unwrap_err();
    assert_eq!(e.code, "bridge_failed");
    assert!(e.detail.contains("native handler failed"));
    install_ios_fake("simbind", "garbage");
    let e = Bridge::from_ios("simbind").unwrap().sim_info().await.unwrap_err();
    assert_eq!(e.code, "bridge_malformed_reply");
    remove_ios_fake();
}

#[wasm_bindgen_test]
async fn direct_objects_missing_methods_are_reported() {
    let empty = Bridge::from_object(js_sys::Object::new().into()).unwrap();
    assert_eq!(empty.chip_info().await.unwrap_err().code, "bridge_method_missing");
    assert_eq!(code_of(&Bridge::from_object(JsValue::NULL).err().unwrap()), "bridge_unavailable");
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
        let sim = serde_json::json!({ "iccid": s("iccid"), "imsi": s("imsi"), "msisdn": s("msisdn"),
            "secretKey": v["sim_secret_key_hex"].as_str().map(|h| simbind_core::codec::b64(&hex::decode(h).unwrap())) });
        let sim = if sim["secretKey"].is_null() { serde_json::json!({ "iccid": s("iccid"), "imsi": s("imsi"), "msisdn": s("msisdn") }) } else { sim };
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
