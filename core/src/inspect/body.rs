//! Whole request bodies: a bind body (its attestation, checked for the
//! challenge derived from the registration and audience, then the chip's
//! and SIM's signatures over the transcript), and a verify or unbind body
//! against the binding's keys. What a body alone cannot show is listed in
//! the report's `notChecked`.

use serde_json::{Value, json};

use super::evidence::{android_policy, draw_chain};
use super::{Checks, Report, assemble, base64_any, number_field, text};
use crate::api::{BindRequest, EvidenceRequest};
use crate::attestation::apple_appattest::{APPLE_ROOT, Environment};
use crate::attestation::{AttestationFacts, AttestationPolicy, ChipFormat, ChipIdentity};
use crate::body_checks::{self, BindExpected, HolderExpected};
use crate::codec::b64;
use crate::crypto::PublicKey;
use crate::transcript::Ceremony;

pub(super) fn bind(input: &Value, at: u64) -> Report {
    let body: BindRequest = body_field(input, "a bind")?;
    let registration_id = text(
        input,
        "registrationId",
        "`registrationId` (the registration the bind is for) is required",
    )?;
    let audience = audience(input)?;
    let (attestation, status) = policy(input)?;
    let chip = body.evidence.chip.validate().ok();
    let refused: Vec<String> = chip
        .as_ref()
        .map(|c| chain_serials(c, &status))
        .unwrap_or_default();
    let facts = AttestationFacts {
        refused_serials: refused,
        ..AttestationFacts::default()
    };
    let require_sim_signature = flag(input, "requireSimSignature")?;
    let bound_key = optional_key(input, "chipPublicKey")?;
    let expected = BindExpected {
        audience,
        registration_id,
        attestation: &attestation,
        facts: &facts,
        require_sim_signature,
        bound_key: bound_key.as_ref(),
        now: at,
    };
    let mut checks = Checks::new();
    let verdict = body_checks::check_bind(&body, &expected, &mut checks);
    let chain = match chip.as_ref().and_then(|c| c.evidence.as_ref()) {
        Some(crate::attestation::ChipEvidence::AndroidChain(chain)) => {
            let roots: Vec<&[u8]> = attestation
                .android_roots
                .iter()
                .map(Vec::as_slice)
                .collect();
            draw_chain(chain, &roots, at)
        }
        _ => json!([]),
    };
    let attested = verdict.as_ref().ok().map(|key| {
        json!({ "chipKey": b64(&key.to_compressed()), "keyId": crate::attestation::key_id(key) })
    });
    let refusal = verdict.as_ref().err().map(|e| (e.code(), e.to_string()));
    let names = body_checks::bind_checks(chip.as_ref());
    let report = assemble(
        "bind",
        &names,
        &checks,
        refusal,
        chain,
        decoded(chip.as_ref(), body.evidence.counter),
        attested,
    );
    Ok(with_not_checked(report, &body_checks::NOT_CHECKED_BIND))
}

pub(super) fn holder(input: &Value, at: u64) -> Report {
    let ceremony = match input.get("format").and_then(Value::as_str) {
        Some("unbind") => Ceremony::Unbind,
        _ => Ceremony::Verify,
    };
    let body: EvidenceRequest = body_field(input, "a verify or unbind")?;
    let binding_id = text(
        input,
        "bindingId",
        "`bindingId` (the binding the request is for) is required",
    )?;
    let audience = audience(input)?;
    let bound_key = optional_key(input, "chipPublicKey")?
        .ok_or("`chipPublicKey` (the bound chip key, base64 SEC1) is required")?;
    // The binding keeps the SIM's key compressed, in base64url.
    let bound_sim_key = optional_key(input, "simPublicKey")?.map(|k| b64(&k.to_compressed()));
    let stored_counter = number_field(input, "storedCounter")?;
    let app_ids: Vec<String> = input
        .get("appId")
        .and_then(Value::as_str)
        .map(|id| vec![id.to_owned()])
        .unwrap_or_default();
    let expected = HolderExpected {
        audience,
        binding_id,
        ceremony,
        bound_key: &bound_key,
        bound_sim_key: bound_sim_key.as_deref(),
        stored_counter,
        app_ids: &app_ids,
        require_sim_signature: flag(input, "requireSimSignature")?,
        now: at,
    };
    let mut checks = Checks::new();
    let verdict = body_checks::check_holder(&body, &expected, &mut checks);
    let chip = body.chip.validate().ok();
    let names =
        body_checks::holder_checks(chip.as_ref().map(|c| c.format), stored_counter.is_some());
    let attested = verdict
        .as_ref()
        .ok()
        .map(|counter| json!({ "counter": counter }));
    let refusal = verdict.as_ref().err().map(|e| (e.code(), e.to_string()));
    let report = assemble(
        ceremony.label(),
        &names,
        &checks,
        refusal,
        json!([]),
        decoded(chip.as_ref(), body.counter),
        attested,
    );
    Ok(with_not_checked(report, &body_checks::NOT_CHECKED_HOLDER))
}

/// The request body, given as JSON or as JSON text.
fn body_field<T: serde::de::DeserializeOwned>(input: &Value, what: &str) -> Result<T, String> {
    let body = super::json_field(input, "body", "`body` (the request body, JSON) is required")?;
    serde_json::from_value(body).map_err(|_| {
        format!(
            "`body` is not {what} request body (docs/API.md): a field is missing, unknown or of the wrong type"
        )
    })
}

/// An optional P-256 key field: SEC1, compressed or not, in any base64.
fn optional_key(input: &Value, name: &str) -> Result<Option<PublicKey>, String> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_str()
            .and_then(base64_any)
            .and_then(|bytes| PublicKey::from_sec1(&bytes).ok())
            .map(Some)
            .ok_or_else(|| format!("`{name}` is not a P-256 key (base64 SEC1)")),
    }
}

fn audience(input: &Value) -> Result<&str, String> {
    text(
        input,
        "audience",
        "`audience` (the deployment's transcript audience) is required",
    )
}

fn flag(input: &Value, name: &str) -> Result<bool, String> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(value) => value
            .as_bool()
            .ok_or_else(|| format!("`{name}` must be true or false")),
    }
}

/// The attestation policy: the Android policy as for a chain (with its
/// status list), App Attest's App ID and environment when given.
fn policy(
    input: &Value,
) -> Result<
    (
        AttestationPolicy,
        crate::attestation::status_list::StatusList,
    ),
    String,
> {
    let (android, status) = android_policy(input.get("policy"))?;
    let mut policy = AttestationPolicy {
        formats: ChipFormat::ALL.to_vec(),
        android,
        ..AttestationPolicy::default()
    };
    policy.apple_roots = vec![APPLE_ROOT.to_vec()];
    if let Some(app_id) = input.get("appId").and_then(Value::as_str) {
        policy.apple.app_ids = vec![app_id.to_owned()];
    }
    if let Some(label) = input.get("environment").and_then(Value::as_str) {
        policy.apple.environment = Environment::from_label(label)
            .ok_or("`environment` must be development or production")?;
    }
    Ok((policy, status))
}

/// Serials (lowercase hex) of an Android chain that the status list refuses.
fn chain_serials(
    chip: &ChipIdentity,
    status: &crate::attestation::status_list::StatusList,
) -> Vec<String> {
    let Some(crate::attestation::ChipEvidence::AndroidChain(chain)) = &chip.evidence else {
        return Vec::new();
    };
    crate::attestation::android_key::status_serials(chain)
        .unwrap_or_default()
        .into_iter()
        .filter(|serial| status.refuses(serial))
        .collect()
}

/// What the body says about its chip, decoded.
fn decoded(chip: Option<&ChipIdentity>, counter: u64) -> Value {
    match chip {
        None => Value::Null,
        Some(chip) => json!({
            "chip": {
                "format": chip.format.label(),
                "keyIdOrSerial": chip.serial.as_str(),
                "attestation": chip.evidence.is_some(),
            },
            "counter": counter,
        }),
    }
}

fn with_not_checked(mut report: Value, not_checked: &[&str]) -> Value {
    if let Value::Object(fields) = &mut report {
        fields.insert("notChecked".into(), json!(not_checked));
    }
    report
}
