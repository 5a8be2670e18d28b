//! The evidence inspector's library call: what a phone sent, an instant and a
//! policy in; every check the worker's verification makes, in order, each
//! passed, failed or not reached, the certificate chain, the decoded
//! evidence and the verdict with its stable code out. The verdict comes from
//! the very functions the service and a backend run
//! ([`android_key::verify_traced`], [`apple_appattest::verify_attestation_traced`],
//! [`crate::grant::verify_grant_traced`], [`crate::firebase_pnv::verify_traced`]);
//! chain signatures are checked in Rust, as the `attest` command does.
//! docs/INSPECTOR.md has the input for grants and Firebase PNV tokens too.
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

use crate::attestation::AttestationRefusal;
use crate::attestation::android_key::{self, AndroidPolicy, GOOGLE_ROOTS};
use crate::attestation::apple_appattest::{
    self, APPLE_ROOT, ApplePolicy, AuthData, Environment, decode_statement,
};
use crate::attestation::key_description::KeyDescription;
use crate::attestation::signatures::{Software, Verifier};
use crate::attestation::status_list::StatusList;
use crate::attestation::x509::{self, Cert};
use crate::codec::{b64, hex};
use crate::firebase_pnv::{PnvKeys, PnvProject};
use crate::grant::Jwks;
use crate::trace::Coded;

/// Inspects one piece of evidence described by `input` (JSON, above) and
/// answers the report as JSON. Never panics on any input.
pub fn inspect(input: &str) -> String {
    match report(input) {
        Ok(report) => report.to_string(),
        Err(error) => json!({ "error": error }).to_string(),
    }
}

type Checks = Vec<(&'static str, Option<&'static str>)>;

/// A refusal as the report gives it: its code and its words.
type Refused = Option<(&'static str, String)>;

fn refusal_of(e: &AttestationRefusal) -> (&'static str, String) {
    (e.code(), e.to_string())
}

fn report(input: &str) -> Result<Value, &'static str> {
    let input: Value = serde_json::from_str(input).map_err(|_| "the input is not JSON")?;
    let at = input
        .get("at")
        .and_then(Value::as_u64)
        .ok_or("`at` (Unix seconds) is required")?;
    match input.get("format").and_then(Value::as_str) {
        Some("android-key") => android(&input, at),
        Some("apple-appattest") => apple(&input, at),
        Some("grant") => grant(&input, at),
        Some("firebase-pnv") => firebase_pnv(&input, at),
        _ => Err("`format` must be android-key, apple-appattest, grant or firebase-pnv"),
    }
}

fn android(input: &Value, at: u64) -> Result<Value, &'static str> {
    let pem = text(
        input,
        "chain",
        "`chain` (PEM certificates, leaf first) is required",
    )?;
    let challenge = hex_field(input, "challengeHex")?;
    let (policy, status) = android_policy(input.get("policy"))?;
    let chain = x509::pem_chain(pem).unwrap_or_default();
    let refused = |serial: &str| status.refuses(serial);
    let evidence = android_key::Evidence {
        chain: &chain,
        challenge: &challenge,
        roots: &GOOGLE_ROOTS,
        revoked: &refused,
        now: at,
    };
    let mut checks = Checks::new();
    let verdict = android_key::verify_traced(&evidence, &policy, &Software, &mut checks);
    let decoded = first_cert(&chain)
        .and_then(|leaf| android_key::key_description(&leaf).ok())
        .map_or(Value::Null, |d| key_description(&d, &challenge));
    let attested = verdict.as_ref().ok().map(|a| {
        json!({
            "securityLevel": a.level.label(),
            "deviceLocked": a.device_locked,
            "bootState": a.boot_state.label(),
            "publicKey": b64(&a.public_key),
        })
    });
    let chain = draw_chain(&chain, &GOOGLE_ROOTS, at);
    Ok(assemble(
        "android-key",
        &android_key::CHECKS,
        &checks,
        verdict.as_ref().err().map(refusal_of),
        chain,
        decoded,
        attested,
    ))
}

fn apple(input: &Value, at: u64) -> Result<Value, &'static str> {
    let encoded = text(input, "attestation", "`attestation` (base64) is required")?;
    let hash = hex_field(input, "clientDataHashHex")?;
    let app_id = text(input, "appId", "`appId` (TEAMID.bundle.id) is required")?;
    let environment = text(input, "environment", "`environment` is required")?;
    let environment = Environment::from_label(environment)
        .ok_or("`environment` must be development or production")?;
    let attestation = base64_any(encoded).unwrap_or_default();
    let policy = ApplePolicy {
        app_ids: vec![app_id.to_owned()],
        environment,
    };
    let roots: [&[u8]; 1] = [APPLE_ROOT];
    let evidence = apple_appattest::Evidence {
        attestation: &attestation,
        client_data_hash: &hash,
        key_id: None,
        roots: &roots,
        now: at,
    };
    let mut checks = Checks::new();
    let verdict =
        apple_appattest::verify_attestation_traced(&evidence, &policy, &Software, &mut checks);
    let statement = decode_statement(&attestation).ok();
    let decoded = statement
        .as_ref()
        .map_or(Value::Null, |s| auth_data(&s.auth_data, s.receipt.len()));
    let chain = statement.map(|s| s.chain).unwrap_or_default();
    let attested = verdict.as_ref().ok().map(|a| {
        json!({
            "appId": a.app_id,
            "environment": a.environment.label(),
            "keyId": b64(&a.key_id),
            "publicKey": b64(&a.public_key),
        })
    });
    Ok(assemble(
        "apple-appattest",
        &apple_appattest::CHECKS,
        &checks,
        verdict.as_ref().err().map(refusal_of),
        draw_chain(&chain, &roots, at),
        decoded,
        attested,
    ))
}

fn grant(input: &Value, at: u64) -> Result<Value, &'static str> {
    let token = text(
        input,
        "token",
        "`token` (the grant, a compact JWS) is required",
    )?;
    let jwks = json_field(
        input,
        "jwks",
        "`jwks` (the deployment's key set) is required",
    )?;
    let jwks: Jwks = serde_json::from_value(jwks).map_err(|_| "`jwks` is not a key set")?;
    let transaction = match input.get("transactionHex") {
        None | Some(Value::Null) => None,
        Some(_) => Some(hex_field(input, "transactionHex")?),
    };
    let expected = crate::grant::Expected {
        issuer: text(
            input,
            "issuer",
            "`issuer` (the deployment's iss) is required",
        )?,
        audience: text(
            input,
            "audience",
            "`audience` (the grant audience) is required",
        )?,
        transaction: transaction.as_deref(),
    };
    let mut checks = Checks::new();
    let verdict = crate::grant::verify_grant_traced(token, &jwks, &expected, at, &mut checks);
    let attested = verdict
        .as_ref()
        .ok()
        .map(|c| json!({ "sub": c.sub, "txn": c.txn }));
    let refusal = verdict.as_ref().err().map(|e| (e.code(), e.to_string()));
    Ok(assemble(
        "grant",
        &crate::grant::CHECKS,
        &checks,
        refusal,
        json!([]),
        decode_jws(token),
        attested,
    ))
}

fn firebase_pnv(input: &Value, at: u64) -> Result<Value, &'static str> {
    let token = text(
        input,
        "token",
        "`token` (the PNV token, a compact JWS) is required",
    )?;
    let jwks = json_field(input, "jwks", "`jwks` (Firebase's key set) is required")?;
    let keys = PnvKeys::parse(jwks.to_string().as_bytes()).ok_or("`jwks` holds no ES256 key")?;
    let project = PnvProject {
        number: text(input, "projectNumber", "`projectNumber` is required")?.to_owned(),
        id: text(input, "projectId", "`projectId` is required")?.to_owned(),
        nonce_optional: false,
    };
    let mut checks = Checks::new();
    let verdict = crate::firebase_pnv::verify_traced(token, &keys, &project, at, &mut checks);
    let attested = verdict
        .as_ref()
        .ok()
        .map(|t| json!({ "number": t.number, "nonce": t.nonce, "exp": t.exp }));
    let refusal = verdict.as_ref().err().map(|e| (e.code(), e.to_string()));
    Ok(assemble(
        "firebase-pnv",
        &crate::firebase_pnv::CHECKS,
        &checks,
        refusal,
        json!([]),
        decode_jws(token),
        attested,
    ))
}

/// A compact JWS's header and claims as JSON, whatever their verdict
/// (`null` where a part does not decode).
fn decode_jws(token: &str) -> Value {
    let part = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).unwrap_or(Value::Null);
    match crate::jws::split(token) {
        Some(parts) => json!({ "header": part(&parts.header), "claims": part(&parts.payload) }),
        None => json!({ "header": null, "claims": null }),
    }
}

/// A field given as JSON or as JSON text.
fn json_field(input: &Value, name: &str, missing: &'static str) -> Result<Value, &'static str> {
    match input.get(name) {
        Some(Value::String(text)) => serde_json::from_str(text).map_err(|_| "`jwks` is not JSON"),
        Some(value) if !value.is_null() => Ok(value.clone()),
        _ => Err(missing),
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

/// Each certificate that parses, leaf first: names, serial, dates, whether
/// the instant falls inside them, its key, and whether a pinned root key is
/// its own key or signed it.
fn draw_chain(ders: &[Vec<u8>], roots: &[&[u8]], at: u64) -> Value {
    // As many as a chain may hold: the rest is not drawn.
    let drawn: Vec<Value> = ders
        .iter()
        .take(x509::MAX_CHAIN_LEN)
        .map(|der| match Cert::parse(der) {
            Err(_) => json!({ "parses": false }),
            Ok(cert) => {
                let tbs = cert.parsed.tbs_certificate();
                let (not_before, not_after) = cert.validity();
                json!({
                    "parses": true,
                    "subject": tbs.subject().to_string(),
                    "issuer": tbs.issuer().to_string(),
                    "serial": cert.serial_hex(),
                    "notBefore": not_before,
                    "notAfter": not_after,
                    "validAt": not_before <= at && at <= not_after,
                    "key": key_kind(&cert),
                    "pinnedRoot": roots.contains(&cert.spki()),
                    "signedByPinnedRoot": cert.signed_by_any(roots, &Software as &dyn Verifier),
                })
            }
        })
        .collect();
    drawn.into()
}

fn key_kind(cert: &Cert<'_>) -> &'static str {
    let spki = cert.parsed.tbs_certificate().subject_public_key_info();
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
        .map(|oid| oid.to_string());
    match (spki.algorithm.oid.to_string().as_str(), curve.as_deref()) {
        ("1.2.840.10045.2.1", Some("1.2.840.10045.3.1.7")) => "EC P-256",
        ("1.2.840.10045.2.1", Some("1.3.132.0.34")) => "EC P-384",
        ("1.2.840.113549.1.1.1", _) => "RSA",
        _ => "another algorithm",
    }
}

fn key_description(d: &KeyDescription, expected: &[u8]) -> Value {
    let root = d
        .root_of_trust
        .as_ref()
        .map(|r| json!({ "deviceLocked": r.device_locked, "bootState": r.boot_state.label() }));
    let app = d.application.as_ref().map(|a| {
        json!({
            "packages": a.packages,
            "signingCertSha256": a.signatures.iter().map(|s| hex(s)).collect::<Vec<_>>(),
        })
    });
    json!({
        "keyDescription": {
            "attestationSecurityLevel": d.attestation_level.label(),
            "keyMintSecurityLevel": d.key_level.label(),
            "challengeHex": hex(&d.challenge),
            "challengeExpectedHex": hex(expected),
            "generated": d.generated,
            "rootOfTrust": root,
            "attestationApplicationId": app,
        }
    })
}

fn auth_data(bytes: &[u8], receipt_len: usize) -> Value {
    let Ok(auth) = AuthData::parse(bytes) else {
        return json!({ "authData": null, "receiptBytes": receipt_len });
    };
    let credential = auth.credential().ok();
    let aaguid = credential.map(|(aaguid, _)| {
        match [Environment::Development, Environment::Production]
            .into_iter()
            .find(|e| e.aaguid().as_slice() == aaguid)
        {
            Some(e) => e.label().to_owned(),
            None => hex(aaguid),
        }
    });
    json!({
        "authData": {
            "rpIdHashHex": hex(auth.rp_id_hash),
            "flags": auth.flags,
            "counter": auth.counter,
            "aaguid": aaguid,
            "credentialIdHex": credential.map(|(_, id)| hex(id)),
        },
        "receiptBytes": receipt_len,
    })
}

/// The `attest` command's policy file: [`AndroidPolicy::from_json`] plus an
/// optional `statusList` (Google's status list JSON). Without one, the strict
/// default with the app left unchecked.
fn android_policy(policy: Option<&Value>) -> Result<(AndroidPolicy, StatusList), &'static str> {
    let Some(policy) = policy.filter(|p| !p.is_null()) else {
        let open = AndroidPolicy {
            allowed_apps: None,
            ..AndroidPolicy::default()
        };
        return Ok((open, StatusList::default()));
    };
    let mut policy = policy.clone();
    let status = match policy.as_object_mut().and_then(|o| o.remove("statusList")) {
        Some(list) => StatusList::parse(&list.to_string())
            .map_err(|_| "`policy.statusList` is not a status list")?,
        None => StatusList::default(),
    };
    let policy =
        AndroidPolicy::from_json(&policy.to_string()).map_err(|_| "`policy` is not a policy")?;
    Ok((policy, status))
}

fn first_cert(chain: &[Vec<u8>]) -> Option<Cert<'_>> {
    Cert::parse(chain.first()?).ok()
}

fn text<'v>(input: &'v Value, name: &str, missing: &'static str) -> Result<&'v str, &'static str> {
    input.get(name).and_then(Value::as_str).ok_or(missing)
}

fn hex_field(input: &Value, name: &'static str) -> Result<Vec<u8>, &'static str> {
    let (missing, not_hex, odd) = match name {
        "challengeHex" => (
            "`challengeHex` is required",
            "`challengeHex` is not hex",
            "`challengeHex` has an odd number of digits",
        ),
        "clientDataHashHex" => (
            "`clientDataHashHex` is required",
            "`clientDataHashHex` is not hex",
            "`clientDataHashHex` has an odd number of digits",
        ),
        _ => (
            "`transactionHex` is required",
            "`transactionHex` is not hex",
            "`transactionHex` has an odd number of digits",
        ),
    };
    let digits = text(input, name, missing)?.trim();
    let value = |c: char| c.to_digit(16);
    let chars: Vec<u32> = digits
        .chars()
        .map(value)
        .collect::<Option<_>>()
        .ok_or(not_hex)?;
    if !chars.len().is_multiple_of(2) {
        return Err(odd);
    }
    Ok(chars
        .chunks_exact(2)
        .filter_map(|pair| match pair {
            [high, low] => u8::try_from(high * 16 + low).ok(),
            _ => None,
        })
        .collect())
}

/// Standard or URL-safe base64, padded or not, whitespace ignored.
fn base64_any(text: &str) -> Option<Vec<u8>> {
    use base64ct::{Base64, Base64UrlUnpadded, Encoding};
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    Base64::decode_vec(&compact)
        .ok()
        .or_else(|| Base64UrlUnpadded::decode_vec(compact.trim_end_matches('=')).ok())
}
