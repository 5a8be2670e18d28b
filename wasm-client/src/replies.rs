//! The native bridge's replies, read into core's wire types. The bridge
//! contract (docs in wasm-client/README.md) allows each reply as a value or,
//! from the Android and iOS hosts, as text: JSON for `chipInfo`/`simInfo`, a
//! decimal for `nextCounter`, base64url for signatures.

use js_sys::Uint8Array;
use simbind_core::api::{ChipCertificate, ChipInfo, MAX_ASSERTION_LEN, MAX_COUNTER, SimInfo};
use simbind_core::codec::unb64;
use simbind_core::crypto::SIGNATURE_LEN;
use wasm_bindgen::{JsCast, JsValue};

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
/// The fields of `simInfo()` (SIM identity v2, every one optional).
pub const SIM_FIELDS: &[&str] = &[
    "msisdn",
    "iccid",
    "imsi",
    "eid",
    "subscriptionId",
    "slotIndex",
    "cardId",
    "portIndex",
    "embedded",
    "mcc",
    "mnc",
    "publicKey",
];

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
    sim_from_fields(&sim).map_err(&bad)
}

/// The SIM fields of a bridge object, by their bridge names.
pub fn sim_from_fields(sim: &Fields) -> Result<SimInfo, Shape> {
    Ok(SimInfo {
        msisdn: sim.opt_string("msisdn")?,
        iccid: sim.opt_string("iccid")?,
        imsi: sim.opt_string("imsi")?,
        eid: sim.opt_string("eid")?,
        subscription_id: sim.opt_integer("subscriptionId")?,
        slot_index: sim.opt_integer("slotIndex")?,
        card_id: sim.opt_integer("cardId")?,
        port_index: sim.opt_integer("portIndex")?,
        embedded: sim.opt_boolean("embedded")?,
        mcc: sim.opt_string("mcc")?,
        mnc: sim.opt_string("mnc")?,
        public_key: sim.opt_string("publicKey")?,
    })
}

/// A counter from a JS number: a non-negative integer up to 2^53 - 1.
pub fn counter_from_f64(n: f64) -> Result<u64, ClientError> {
    integer(n).ok_or_else(|| malformed("nextCounter", "not an integer in 0..2^53"))
}

/// `nextCounter()`: a number, or a decimal string from the string hosts.
pub fn counter_from_js(value: &JsValue) -> Result<u64, ClientError> {
    match value.as_string() {
        Some(text) => text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= MAX_COUNTER)
            .ok_or_else(|| malformed("nextCounter", "not a decimal integer in 0..2^53")),
        None => counter_from_f64(
            value
                .as_f64()
                .ok_or_else(|| malformed("nextCounter", "not a number"))?,
        ),
    }
}

/// The raw bytes of a `chipSign`/`simSign` reply: base64url text or a
/// `Uint8Array`.
fn answer_bytes(method: &str, value: &JsValue) -> Result<Vec<u8>, ClientError> {
    match value.as_string() {
        Some(text) => unb64(&text, "signature").map_err(|e| malformed(method, e)),
        None => Ok(value
            .dyn_ref::<Uint8Array>()
            .ok_or_else(|| malformed(method, "not a Uint8Array"))?
            .to_vec()),
    }
}

/// A 64-byte `r || s` signature from `method`.
pub fn signature_from_js(method: &str, value: &JsValue) -> Result<Vec<u8>, ClientError> {
    let bytes = answer_bytes(method, value)?;
    if bytes.len() != SIGNATURE_LEN {
        return Err(malformed(
            method,
            format_args!("signature is {} bytes, not 64", bytes.len()),
        ));
    }
    Ok(bytes)
}

/// An App Attest assertion (CBOR, passed on unparsed) from `chipSign`.
pub fn assertion_from_js(value: &JsValue) -> Result<Vec<u8>, ClientError> {
    let assertion = answer_bytes("chipSign", value)?;
    if assertion.is_empty() || assertion.len() > MAX_ASSERTION_LEN {
        return Err(malformed("chipSign", "assertion size out of range"));
    }
    Ok(assertion)
}

/// What `openOverCellular(url)` resolved with: the last answer after every
/// redirect, `{status, body}` (an object, or JSON text of one), as the
/// status and text the client reads like any answer of the worker.
#[wasm_bindgen::prelude::wasm_bindgen(js_name = readCellularReply, skip_typescript)]
pub fn read_cellular_reply(reply: JsValue) -> Result<JsValue, JsValue> {
    let bad = misshapen("openOverCellular");
    let fields = Fields::of(reply, Some(&["status", "body"])).map_err(&bad)?;
    let status = fields.integer("status").map_err(&bad)?;
    let status = u16::try_from(status)
        .ok()
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| malformed("openOverCellular", "status is not an HTTP status"))?;
    let body = fields.string("body").map_err(&bad)?;
    Ok(crate::fields::Made::default()
        .with("status", f64::from(status))
        .with("text", body)
        .done())
}
