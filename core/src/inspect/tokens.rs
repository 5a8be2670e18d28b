//! Tokens: a grant as a backend checks it, a Firebase PNV token as the
//! service checks it at bind.

use serde_json::{Value, json};

use super::{Checks, Report, assemble, hex_field, json_field, text};
use crate::firebase_pnv::{PnvKeys, PnvProject};
use crate::grant::Jwks;
use crate::trace::Coded;

pub(super) fn grant(input: &Value, at: u64) -> Report {
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

pub(super) fn firebase_pnv(input: &Value, at: u64) -> Report {
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
