//! Operator tool: why was this phone refused? Verifies one attestation
//! against a policy at a given instant and prints one JSON verdict.
//!
//! ```text
//! cargo run -q -p simbind-core --example attest -- --format android-key \
//!     --chain FILE.pem --challenge-hex HEX --at UNIX_SECONDS [--policy POLICY.json]
//! cargo run -q -p simbind-core --example attest -- --format apple-appattest \
//!     --attestation-b64 FILE --client-data-hash-hex HEX --app-id TEAMID.bundle \
//!     --environment development|production --at UNIX_SECONDS
//! ```
//!
//! Exit status: 0 accepted, 1 refused, 2 usage error. Without `--policy`,
//! Android uses the strict default policy with the app left unchecked. A
//! policy file may add `"statusList"`: Google's status list JSON, inline.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::process::ExitCode;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use simbind_core::attestation::AttestationRefusal;
use simbind_core::attestation::android_key::{self, AndroidPolicy, GOOGLE_ROOTS};
use simbind_core::attestation::apple_appattest::{self, APPLE_ROOT, ApplePolicy, Environment};
use simbind_core::attestation::status_list::StatusList;
use simbind_core::attestation::x509;

const USAGE: &str = "usage:
  attest --format android-key --chain FILE.pem --challenge-hex HEX --at UNIX_SECONDS [--policy POLICY.json]
  attest --format apple-appattest --attestation-b64 FILE --client-data-hash-hex HEX --app-id TEAMID.bundle --environment development|production --at UNIX_SECONDS";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(Ok(attested)) => {
            println!("{}", verdict("accepted", &attested));
            ExitCode::from(0)
        }
        Ok(Err(refusal)) => {
            let why = json!({"code": refusal.code(), "detail": refusal.to_string()});
            println!("{}", verdict("refused", &why));
            ExitCode::from(1)
        }
        Err(usage) => {
            eprintln!("attest: {usage}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

type Verdict = Result<Value, AttestationRefusal>;

/// One JSON object, `"verdict"` first, then `fields` (an object).
fn verdict(word: &str, fields: &Value) -> String {
    let rest = fields.to_string();
    let rest = rest.trim_start_matches('{').trim_end_matches('}');
    if rest.is_empty() {
        format!("{{\"verdict\":\"{word}\"}}")
    } else {
        format!("{{\"verdict\":\"{word}\",{rest}}}")
    }
}

fn run(args: Vec<String>) -> Result<Verdict, String> {
    let mut flags = HashMap::new();
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let Some(name) = flag.strip_prefix("--") else {
            return Err(format!("unexpected argument {flag}"));
        };
        let value = it.next().ok_or(format!("--{name} needs a value"))?;
        if flags.insert(name.to_string(), value).is_some() {
            return Err(format!("--{name} given twice"));
        }
    }
    let mut take = |name: &str| flags.remove(name);
    let format = take("format").ok_or("--format is required")?;
    let at: u64 = take("at")
        .ok_or("--at is required")?
        .parse()
        .map_err(|_| "--at must be Unix seconds")?;
    let verdict = match format.as_str() {
        "android-key" => {
            let chain = read(&take("chain").ok_or("--chain is required")?)?;
            let challenge = hex(&take("challenge-hex").ok_or("--challenge-hex is required")?)?;
            let policy = take("policy").map(|p| read(&p)).transpose()?;
            android(&chain, &challenge, policy.as_deref(), at)?
        }
        "apple-appattest" => {
            let attestation =
                read(&take("attestation-b64").ok_or("--attestation-b64 is required")?)?;
            let hash =
                hex(&take("client-data-hash-hex").ok_or("--client-data-hash-hex is required")?)?;
            let app_id = take("app-id").ok_or("--app-id is required")?;
            let environment = take("environment").ok_or("--environment is required")?;
            let environment = Environment::from_label(&environment)
                .ok_or("--environment must be development or production")?;
            apple(&attestation, &hash, app_id, environment, at)?
        }
        other => return Err(format!("unknown format {other}")),
    };
    if let Some(extra) = flags.keys().next() {
        return Err(format!("--{extra} does not apply to --format {format}"));
    }
    Ok(verdict)
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))
}

/// Hex digits to bytes, read byte by byte (never sliced), so any input,
/// non-ASCII included, is a usage error rather than a panic.
fn hex(text: &str) -> Result<Vec<u8>, String> {
    let digits = text.trim().as_bytes();
    if !digits.len().is_multiple_of(2) {
        return Err("hex needs an even number of digits".into());
    }
    // A byte of a multi-byte character is never an ASCII hex digit.
    let digit = |b: u8| {
        char::from(b)
            .to_digit(16)
            .ok_or_else(|| "not hex".to_string())
    };
    digits
        .chunks_exact(2)
        .map(|pair| {
            let value = digit(pair[0])? * 16 + digit(pair[1])?;
            u8::try_from(value).map_err(|_| "not hex".to_string())
        })
        .collect()
}

fn android(pem: &str, challenge: &[u8], policy: Option<&str>, at: u64) -> Result<Verdict, String> {
    let (policy, status) = match policy {
        None => (
            AndroidPolicy {
                allowed_apps: None,
                ..AndroidPolicy::default()
            },
            StatusList::default(),
        ),
        Some(text) => {
            let mut value: Value =
                serde_json::from_str(text).map_err(|e| format!("policy: {e}"))?;
            let status = match value.as_object_mut().and_then(|o| o.remove("statusList")) {
                Some(list) => {
                    StatusList::parse(&list.to_string()).map_err(|e| format!("statusList: {e}"))?
                }
                None => StatusList::default(),
            };
            let policy =
                AndroidPolicy::from_json(&value.to_string()).map_err(|e| format!("policy: {e}"))?;
            (policy, status)
        }
    };
    let Some(chain) = x509::pem_chain(pem) else {
        return Ok(Err(AttestationRefusal::Malformed));
    };
    let refused = |serial: &str| status.refuses(serial);
    Ok(
        android_key::verify(&chain, challenge, &GOOGLE_ROOTS, &refused, &policy, at).map(|a| {
            let app = a.application.map(|id| {
                json!({
                    "packages": id.packages,
                    "signingCertSha256": id.signatures.iter().map(|s| to_hex(s)).collect::<Vec<_>>(),
                })
            });
            json!({
                "format": "android-key",
                "securityLevel": a.level.label(),
                "deviceLocked": a.device_locked,
                "bootState": a.boot_state.label(),
                "app": app,
                "publicKey": URL_SAFE_NO_PAD.encode(&a.public_key),
            })
        }),
    )
}

fn apple(
    b64: &str,
    hash: &[u8],
    app_id: String,
    environment: Environment,
    at: u64,
) -> Result<Verdict, String> {
    let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    let Ok(attestation) = STANDARD
        .decode(&compact)
        .or_else(|_| URL_SAFE_NO_PAD.decode(compact.trim_end_matches('=')))
    else {
        return Ok(Err(AttestationRefusal::Malformed));
    };
    let policy = ApplePolicy {
        app_ids: vec![app_id],
        environment,
    };
    Ok(
        apple_appattest::verify_attestation(&attestation, hash, None, &[APPLE_ROOT], &policy, at)
            .map(|a| {
                json!({
                        "format": "apple-appattest",
                    "appId": a.app_id,
                    "environment": a.environment.label(),
                    "keyId": STANDARD.encode(a.key_id),
                    "publicKey": URL_SAFE_NO_PAD.encode(&a.public_key),
                    "receiptBytes": a.receipt.len(),
                })
            }),
    )
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
