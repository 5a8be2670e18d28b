//! Chip attestations and assertions: Android chains, App Attest objects
//! and App Attest assertions, with the chain drawn and the evidence decoded.

use serde_json::{Value, json};

use super::{Checks, Report, assemble, base64_any, hex_field, number_field, text};
use crate::attestation::AttestationRefusal;
use crate::attestation::android_key::{self, AndroidPolicy, GOOGLE_ROOTS};
use crate::attestation::apple_appattest::{
    self, APPLE_ROOT, ApplePolicy, AuthData, Environment, decode_statement,
};
use crate::attestation::key_description::KeyDescription;
use crate::attestation::signatures::{Software, Verifier};
use crate::attestation::status_list::StatusList;
use crate::attestation::x509::{self, Cert};
use crate::body_checks::COUNTER_ADVANCES;
use crate::codec::{b64, hex};

fn refusal_of(e: &AttestationRefusal) -> (&'static str, String) {
    (e.code(), e.to_string())
}

pub(super) fn android(input: &Value, at: u64) -> Report {
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

pub(super) fn apple(input: &Value, at: u64) -> Report {
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

/// An assertion carries no dates (its key's attestation did): the instant
/// is not used.
pub(super) fn apple_assertion(input: &Value, _at: u64) -> Report {
    let encoded = text(input, "assertion", "`assertion` (base64) is required")?;
    let hash = hex_field(input, "clientDataHashHex")?;
    let key = text(
        input,
        "publicKey",
        "`publicKey` (the attested key, base64 SEC1) is required",
    )?;
    let key = base64_any(key).ok_or("`publicKey` is not base64")?;
    let app_id = text(input, "appId", "`appId` (TEAMID.bundle.id) is required")?;
    let stored = number_field(input, "storedCounter")?;
    let assertion = base64_any(encoded).unwrap_or_default();
    let mut checks = Checks::new();
    let app_ids = [app_id.to_owned()];
    let verdict =
        apple_appattest::verify_assertion_traced(&assertion, &hash, &key, &app_ids, &mut checks);
    let mut names = apple_appattest::ASSERTION_CHECKS.to_vec();
    let mut refusal = verdict.as_ref().err().map(refusal_of);
    if let (Some(stored), Ok(counter)) = (stored, &verdict) {
        names.push(COUNTER_ADVANCES);
        let advances = crate::proof::counter_advances(stored, u64::from(*counter));
        crate::trace::step(&mut checks, COUNTER_ADVANCES, advances)
            .err()
            .inspect(|denial| refusal = Some((denial.code(), denial.to_string())));
    }
    let decoded = apple_appattest::decode_assertion(&assertion)
        .ok()
        .and_then(|(_, auth)| AuthData::parse(auth).ok())
        .map_or(Value::Null, |auth| {
            json!({ "authenticatorData": {
                "rpIdHashHex": hex(auth.rp_id_hash),
                "flags": auth.flags,
                "counter": auth.counter,
            }})
        });
    let attested = verdict
        .as_ref()
        .ok()
        .map(|counter| json!({ "counter": counter }));
    Ok(assemble(
        "apple-assertion",
        &names,
        &checks,
        refusal,
        json!([]),
        decoded,
        attested,
    ))
}

/// Each certificate that parses, leaf first: names, serial, dates, whether
/// the instant falls inside them, its key, and whether a pinned root key is
/// its own key or signed it.
pub(super) fn draw_chain(ders: &[Vec<u8>], roots: &[&[u8]], at: u64) -> Value {
    // As many as a chain may hold: the rest is not drawn.
    let drawn: Vec<Value> = ders
        .iter()
        .take(x509::MAX_CHAIN_LEN)
        .map(|der| match Cert::parse(der) {
            Err(_) => json!({ "parses": false }),
            Ok(cert) => {
                let (not_before, not_after) = cert.validity();
                json!({
                    "parses": true,
                    "subject": name_text(cert.subject()),
                    "issuer": name_text(cert.issuer()),
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

/// A DER name in RFC 4514's text form (for people: no check reads it).
fn name_text(der: &[u8]) -> String {
    use der::Decode;
    x509_cert::name::Name::from_der(der).map_or_else(|_| "(unreadable)".into(), |n| n.to_string())
}

fn key_kind(cert: &Cert<'_>) -> &'static str {
    use der::Decode;
    let Ok(spki) = x509_cert::spki::SubjectPublicKeyInfoRef::from_der(cert.spki()) else {
        return "another algorithm";
    };
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
pub(super) fn android_policy(
    policy: Option<&Value>,
) -> Result<(AndroidPolicy, StatusList), String> {
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
