//! The native bridge: one JS interface, and adapters from the Android and iOS
//! host conventions to it.
//!
//! The interface (every method may return a value or a promise):
//!
//! ```ts
//! interface SimBindBridge {
//!   chipInfo(): ChipInfo;
//!   // Real formats, at bind: the chip info with its attestation, made for
//!   // `challenge` (Android: the key's attestationChallenge; iOS: the
//!   // clientDataHash). A key is attested once, when it is made: later calls
//!   // return the chip info without attestation (the bound key re-proves).
//!   chipAttest?(challenge: Uint8Array): ChipInfo;
//!   simInfo(): { iccid: string; imsi: string; msisdn: string; publicKey?: string };
//!   nextCounter(): number;                       // increments, then returns (not App Attest)
//!   // simbind-p256 and android-key: 64 bytes r || s over the transcript.
//!   // apple-appattest: the CBOR assertion over SHA-256(transcript).
//!   chipSign(transcript: Uint8Array): Uint8Array;
//!   simSign?(transcript: Uint8Array): Uint8Array;
//! }
//! type ChipInfo =
//!   | { format?: "simbind-p256"; serial: string; publicKey: string;
//!       certificate?: { vendor: string; notAfter: number; signature: string } }
//!   | { format: "android-key"; keyId: string; certificateChain?: string[] } // b64u DER, leaf first
//!   | { format: "apple-appattest"; keyId: string; attestation?: string };   // b64u CBOR
//! ```
//!
//! `keyId` is base64url of SHA-256 of the key's uncompressed SEC1 point (App
//! Attest's own key id; on Android, hash `0x04 || X || Y` of the key).
//!
//! Android (`addJavascriptInterface`): the same method names, synchronous,
//! strings in and out: JSON for `chipInfo`/`simInfo`, a decimal string or
//! number for `nextCounter`, base64url for `chipSign`/`simSign`.
//!
//! iOS (`WKScriptMessageHandlerWithReply`): `postMessage({ method, args })` on
//! `webkit.messageHandlers[name]` returns a promise of the same replies as
//! Android (JSON text or an object; base64url for signatures).

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use simbind_core::api::{ChipCertificate, ChipInfo, SimInfo};
use simbind_core::codec::{b64, unb64};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::ClientError;
use crate::fields::{Fields, Shape, integer};

/// The fields of `chipInfo()` (and `chipAttest()`) and of its certificate.
const CHIP_FIELDS: &[&str] = &[
    "format",
    "serial",
    "publicKey",
    "certificate",
    "keyId",
    "certificateChain",
    "attestation",
];
const CERTIFICATE_FIELDS: &[&str] = &["vendor", "notAfter", "signature"];
/// The fields of `simInfo()`.
const SIM_FIELDS: &[&str] = &["iccid", "imsi", "msisdn", "publicKey"];

fn malformed(what: &str, e: impl core::fmt::Display) -> ClientError {
    ClientError::bridge("bridge_malformed_reply", format!("{what}: {e}"))
}

/// A reply that is not the documented shape: names the field, not its value.
fn misshapen(what: &str) -> impl Fn(Shape) -> ClientError + '_ {
    move |Shape(field)| {
        malformed(
            what,
            format_args!("reply is not the documented shape ({field})"),
        )
    }
}

/// Bridge chip info (an object, or JSON text of one) → wire form.
pub fn chip_from_js(value: JsValue) -> Result<ChipInfo, ClientError> {
    let bad = misshapen("chipInfo");
    let chip = Fields::of(value, Some(CHIP_FIELDS)).map_err(&bad)?;
    let certificate = match chip
        .opt_object("certificate", CERTIFICATE_FIELDS)
        .map_err(&bad)?
    {
        None => None,
        Some(c) => Some(ChipCertificate {
            vendor: c.string("vendor").map_err(&bad)?,
            not_after: c.integer("notAfter").map_err(&bad)?,
            signature: c.string("signature").map_err(&bad)?,
        }),
    };
    Ok(ChipInfo {
        format: chip
            .opt_string("format")
            .map_err(&bad)?
            .unwrap_or_else(|| "simbind-p256".into()),
        serial: chip.opt_string("serial").map_err(&bad)?,
        public_key: chip.opt_string("publicKey").map_err(&bad)?,
        certificate,
        key_id: chip.opt_string("keyId").map_err(&bad)?,
        certificate_chain: chip.opt_strings("certificateChain").map_err(&bad)?,
        attestation: chip.opt_string("attestation").map_err(&bad)?,
    })
}

/// Bridge SIM info (an object, or JSON text of one) → wire form.
pub fn sim_from_js(value: JsValue) -> Result<SimInfo, ClientError> {
    let bad = misshapen("simInfo");
    let sim = Fields::of(value, Some(SIM_FIELDS)).map_err(&bad)?;
    Ok(SimInfo {
        iccid: sim.string("iccid").map_err(&bad)?,
        imsi: sim.string("imsi").map_err(&bad)?,
        msisdn: sim.string("msisdn").map_err(&bad)?,
        public_key: sim.opt_string("publicKey").map_err(&bad)?,
    })
}

/// A counter from a JS number: a non-negative integer up to 2^53 - 1.
pub fn counter_from_f64(n: f64) -> Result<u64, ClientError> {
    integer(n).ok_or_else(|| malformed("nextCounter", "not an integer in 0..2^53"))
}

#[derive(Clone)]
enum Host {
    /// The SimBind interface itself (the demo, tests, custom hosts).
    Direct(JsValue),
    /// An Android `addJavascriptInterface` object.
    Android(JsValue),
    /// An iOS `WKScriptMessageHandlerWithReply` handler.
    Ios(JsValue),
}

/// A native bridge, as the client uses it.
#[wasm_bindgen]
#[derive(Clone)]
pub struct Bridge {
    host: Host,
}

fn lookup(target: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(target, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn thrown(method: &str, e: &JsValue) -> ClientError {
    let message = e
        .as_string()
        .or_else(|| lookup(e, "message").and_then(|m| m.as_string()))
        .unwrap_or_else(|| "unknown error".into());
    ClientError::bridge("bridge_failed", format!("{method}: {message}"))
}

#[wasm_bindgen]
impl Bridge {
    /// Wraps an object implementing the SimBind bridge interface.
    #[wasm_bindgen(js_name = fromObject)]
    pub fn from_object(object: JsValue) -> Result<Bridge, JsValue> {
        if !object.is_object() {
            return Err(
                ClientError::bridge("bridge_unavailable", "bridge object is missing").into(),
            );
        }
        Ok(Bridge {
            host: Host::Direct(object),
        })
    }

    /// Adapts an Android `addJavascriptInterface` object (e.g. `window.SimBindNative`).
    #[wasm_bindgen(js_name = fromAndroid)]
    pub fn from_android(object: JsValue) -> Result<Bridge, JsValue> {
        if !object.is_object() {
            return Err(ClientError::bridge(
                "bridge_unavailable",
                "Android interface object is missing",
            )
            .into());
        }
        Ok(Bridge {
            host: Host::Android(object),
        })
    }

    /// Adapts the iOS handler `webkit.messageHandlers[name]`.
    #[wasm_bindgen(js_name = fromIos)]
    pub fn from_ios(name: &str) -> Result<Bridge, JsValue> {
        let handler = lookup(&js_sys::global(), "webkit")
            .and_then(|w| lookup(&w, "messageHandlers"))
            .and_then(|h| lookup(&h, name))
            .filter(|h| lookup(h, "postMessage").is_some_and(|f| f.is_function()));
        match handler {
            Some(h) => Ok(Bridge { host: Host::Ios(h) }),
            None => Err(ClientError::bridge(
                "bridge_unavailable",
                format!("webkit.messageHandlers.{name} is missing"),
            )
            .into()),
        }
    }
}

impl Bridge {
    /// True when the host offers `method`.
    fn has(&self, method: &str) -> bool {
        match &self.host {
            Host::Direct(o) | Host::Android(o) => {
                lookup(o, method).is_some_and(|f| f.is_function())
            }
            Host::Ios(_) => true,
        }
    }

    async fn call(&self, method: &str, arg: Option<JsValue>) -> Result<JsValue, ClientError> {
        let (target, function, args) = match &self.host {
            Host::Direct(o) | Host::Android(o) => {
                let f = lookup(o, method)
                    .and_then(|f| f.dyn_into::<Function>().ok())
                    .ok_or_else(|| {
                        ClientError::bridge(
                            "bridge_method_missing",
                            format!("bridge has no {method}()"),
                        )
                    })?;
                let args: Array = arg.into_iter().collect();
                (o.clone(), f, args)
            }
            Host::Ios(handler) => {
                let f: Function = lookup(handler, "postMessage")
                    .and_then(|f| f.dyn_into().ok())
                    .ok_or_else(|| {
                        ClientError::bridge("bridge_unavailable", "postMessage is missing")
                    })?;
                let message = Object::new();
                let args: Array = arg.into_iter().collect();
                let _ = Reflect::set(&message, &"method".into(), &JsValue::from_str(method));
                let _ = Reflect::set(&message, &"args".into(), &args);
                (handler.clone(), f, Array::of1(&message))
            }
        };
        let value = function
            .apply(&target, &args)
            .map_err(|e| thrown(method, &e))?;
        match value.dyn_into::<Promise>() {
            Ok(promise) => JsFuture::from(promise)
                .await
                .map_err(|e| thrown(method, &e)),
            Err(value) => Ok(value),
        }
    }

    fn is_string_host(&self) -> bool {
        matches!(self.host, Host::Android(_) | Host::Ios(_))
    }

    /// The chip's serial, key and optional certificate.
    pub async fn chip_info(&self) -> Result<ChipInfo, ClientError> {
        chip_from_js(self.call("chipInfo", None).await?)
    }

    /// The SIM's identifiers and optional key.
    pub async fn sim_info(&self) -> Result<SimInfo, ClientError> {
        sim_from_js(self.call("simInfo", None).await?)
    }

    /// Advances the chip counter and returns it.
    pub async fn next_counter(&self) -> Result<u64, ClientError> {
        let value = self.call("nextCounter", None).await?;
        match value.as_string() {
            Some(text) => text
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= simbind_core::api::MAX_COUNTER)
                .ok_or_else(|| malformed("nextCounter", "not a decimal integer in 0..2^53")),
            None => counter_from_f64(
                value
                    .as_f64()
                    .ok_or_else(|| malformed("nextCounter", "not a number"))?,
            ),
        }
    }

    /// `bytes` as the host takes them: base64url text for string hosts.
    fn bytes_arg(&self, bytes: &[u8]) -> JsValue {
        if self.is_string_host() {
            JsValue::from_str(&b64(bytes))
        } else {
            Uint8Array::from(bytes).into()
        }
    }

    /// The chip info with its attestation for `challenge`, when the host can
    /// attest (`None` when it has no `chipAttest`).
    pub async fn chip_attest(&self, challenge: &[u8]) -> Result<Option<ChipInfo>, ClientError> {
        if !self.has("chipAttest") {
            return Ok(None);
        }
        let value = self
            .call("chipAttest", Some(self.bytes_arg(challenge)))
            .await?;
        chip_from_js(value).map(Some)
    }

    /// The raw answer of `method` to `bytes`.
    async fn answer(&self, method: &str, bytes: &[u8]) -> Result<Vec<u8>, ClientError> {
        let value = self.call(method, Some(self.bytes_arg(bytes))).await?;
        match value.as_string() {
            Some(text) => unb64(&text, "signature").map_err(|e| malformed(method, e)),
            None => Ok(value
                .dyn_into::<Uint8Array>()
                .map_err(|_| malformed(method, "not a Uint8Array"))?
                .to_vec()),
        }
    }

    async fn sign(&self, method: &str, transcript: &[u8]) -> Result<Vec<u8>, ClientError> {
        let bytes = self.answer(method, transcript).await?;
        if bytes.len() != simbind_core::crypto::SIGNATURE_LEN {
            return Err(malformed(
                method,
                format!("signature is {} bytes, not 64", bytes.len()),
            ));
        }
        Ok(bytes)
    }

    /// The chip's signature over `transcript`.
    pub async fn chip_sign(&self, transcript: &[u8]) -> Result<Vec<u8>, ClientError> {
        self.sign("chipSign", transcript).await
    }

    /// An App Attest chip's assertion over SHA-256 of `transcript` (the
    /// bridge hashes and asks the Secure Enclave).
    pub async fn chip_assert(&self, transcript: &[u8]) -> Result<Vec<u8>, ClientError> {
        let assertion = self.answer("chipSign", transcript).await?;
        if assertion.is_empty() || assertion.len() > simbind_core::api::MAX_ASSERTION_LEN {
            return Err(malformed("chipSign", "assertion size out of range"));
        }
        Ok(assertion)
    }

    /// The SIM applet's signature, when the host offers one.
    pub async fn sim_sign(&self, transcript: &[u8]) -> Result<Option<Vec<u8>>, ClientError> {
        if !self.has("simSign") {
            return Ok(None);
        }
        self.sign("simSign", transcript).await.map(Some)
    }
}
