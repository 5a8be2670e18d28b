//! The evidence inspector's library call: what a phone sent, an instant and a
//! policy in; every check the worker's verification makes, in order, each
//! passed, failed or not reached, the certificate chain, the decoded
//! evidence and the verdict with its stable code out. The verdict comes from
//! the very functions the service and a backend run (the `*_traced`
//! verifications of [`crate::attestation`], [`crate::grant`] and
//! [`crate::firebase_pnv`], and [`crate::body_checks`] for whole bodies);
//! chain signatures are checked in Rust, as the `attest` command does.
//! One module per kind: `evidence` (chains, App Attest objects and
//! assertions), `tokens` (grants, PNV tokens), `body` (bind, verify and
//! unbind bodies). docs/INSPECTOR.md has every format's input.
//!
//! Input, one JSON object (the `attest` command's flags):
//!
//! ```json
//! {"format": "android-key", "chain": "PEM…", "challengeHex": "…",
//!  "at": 1771894563, "policy": {"requireLocked": true, "statusList": {…}}}
//! {"format": "apple-appattest", "attestation": "base64…",
//!  "clientDataHashHex": "…", "appId": "TEAMID.bundle",
//!  "environment": "development", "at": 1700000000}
//! ```
//!
//! Output: `{"verdict": "accepted" | "refused", "code", "detail", "checks",
//! "chain", "decoded", "attested"}`, or `{"error": "…"}` when the input
//! itself is unusable (nothing of it is echoed back).

use serde_json::{Map, Value, json};

mod body;
mod evidence;
mod tokens;

/// Inspects one piece of evidence described by `input` (JSON, above) and
/// answers the report as JSON. Never panics on any input.
pub fn inspect(input: &str) -> String {
    match report(input) {
        Ok(report) => report.to_string(),
        Err(error) => json!({ "error": error }).to_string(),
    }
}

/// Each check that ran, with its failure code if it failed.
type Checks = Vec<(&'static str, Option<&'static str>)>;

/// A refusal as the report gives it: its code and its words.
type Refused = Option<(&'static str, String)>;

/// A report, or why the input itself is unusable.
type Report = Result<Value, String>;

fn report(input: &str) -> Report {
    let input: Value = serde_json::from_str(input).map_err(|_| "the input is not JSON")?;
    let at = input
        .get("at")
        .and_then(Value::as_u64)
        .ok_or("`at` (Unix seconds) is required")?;
    match input.get("format").and_then(Value::as_str) {
        Some("android-key") => evidence::android(&input, at),
        Some("apple-appattest") => evidence::apple(&input, at),
        Some("apple-assertion") => evidence::apple_assertion(&input, at),
        Some("grant") => tokens::grant(&input, at),
        Some("firebase-pnv") => tokens::firebase_pnv(&input, at),
        Some("bind") => body::bind(&input, at),
        Some("verify" | "unbind") => body::holder(&input, at),
        _ => Err(FORMATS.to_owned()),
    }
}

const FORMATS: &str = "`format` must be android-key, apple-appattest, apple-assertion, grant, \
     firebase-pnv, bind, verify or unbind";

/// A field given as JSON or as JSON text.
fn json_field(input: &Value, name: &str, missing: &str) -> Result<Value, String> {
    match input.get(name) {
        Some(Value::String(text)) => {
            serde_json::from_str(text).map_err(|_| format!("`{name}` is not JSON"))
        }
        Some(value) if !value.is_null() => Ok(value.clone()),
        _ => Err(missing.to_owned()),
    }
}

/// The report: every named check, those that ran with their outcome and the
/// rest `not reached`.
fn assemble(
    format: &str,
    names: &[&str],
    ran: &Checks,
    refusal: Refused,
    chain: Value,
    decoded: Value,
    attested: Option<Value>,
) -> Value {
    let checks: Vec<Value> = names
        .iter()
        .map(|name| match ran.iter().find(|(check, _)| check == name) {
            Some((_, None)) => json!({ "check": name, "result": "passed" }),
            Some((_, Some(code))) => {
                let detail = refusal.as_ref().map(|(_, words)| words.as_str());
                json!({ "check": name, "result": "failed", "code": code, "detail": detail })
            }
            None => json!({ "check": name, "result": "not reached" }),
        })
        .collect();
    let mut out = Map::new();
    out.insert("format".into(), format.into());
    match refusal {
        None => {
            out.insert("verdict".into(), "accepted".into());
        }
        Some((code, detail)) => {
            out.insert("verdict".into(), "refused".into());
            out.insert("code".into(), code.into());
            out.insert("detail".into(), detail.into());
        }
    }
    out.insert("checks".into(), checks.into());
    out.insert("chain".into(), chain);
    out.insert("decoded".into(), decoded);
    out.insert("attested".into(), attested.unwrap_or(Value::Null));
    Value::Object(out)
}

/// A text field, or `missing` when absent.
fn text<'v>(input: &'v Value, name: &str, missing: &str) -> Result<&'v str, String> {
    input
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| missing.to_owned())
}

/// A hex field, named in the errors (never its value).
fn hex_field(input: &Value, name: &str) -> Result<Vec<u8>, String> {
    let digits = text(input, name, &format!("`{name}` is required"))?.trim();
    let chars: Vec<u32> = digits
        .chars()
        .map(|c| c.to_digit(16))
        .collect::<Option<_>>()
        .ok_or_else(|| format!("`{name}` is not hex"))?;
    if !chars.len().is_multiple_of(2) {
        return Err(format!("`{name}` has an odd number of digits"));
    }
    Ok(chars
        .chunks_exact(2)
        .filter_map(|pair| match pair {
            [high, low] => u8::try_from(high * 16 + low).ok(),
            _ => None,
        })
        .collect())
}

/// An optional unsigned integer field.
fn number_field(input: &Value, name: &str) -> Result<Option<u64>, String> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("`{name}` must be a whole number")),
    }
}

/// Standard or URL-safe base64, padded or not, whitespace ignored.
fn base64_any(text: &str) -> Option<Vec<u8>> {
    use base64ct::{Base64, Base64UrlUnpadded, Encoding};
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    Base64::decode_vec(&compact)
        .ok()
        .or_else(|| Base64UrlUnpadded::decode_vec(compact.trim_end_matches('=')).ok())
}
