//! The dev operator: a stand-in for an operator's CAMARA Number
//! Verification inside the dev worker, so `wrangler dev` and the demo prove
//! a number by the operator with no operator. The worker's client talks to
//! it with the very requests it sends a real one (discovery, token, verify;
//! only the transport is in-process), and the phone opens its authorization
//! endpoint, `GET /dev/operator/authorize`, as it would a real one. Like an
//! operator it checks the signed request object and the client assertion
//! (ES256 under the key registered for the client, `DEV_CARRIER_CLIENT_KEY`:
//! `iss`, `aud`, `exp`, at most 300 s), PKCE (S256), single-use codes (60 s)
//! and tokens (300 s), and the `/verify` body. The network's view of the
//! phone is the `x-network-msisdn` header the demo phone sends (none: Wi-Fi).
//! Dev builds only; [`serves`] matches only [`ROOT`].

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::{Value, json};
use simbind_core::camara_nv::{NOT_BY_MOBILE_NETWORK, pkce_challenge};
use simbind_core::carrier::CLIENT_ASSERTION_TYPE;
use simbind_core::codec::hex;
use simbind_core::crypto::PublicKey;

/// The dev operator's issuer; its API root (`NV_API_ROOT`) too.
pub const ROOT: &str = "https://operator.dev.invalid";
/// The phone-facing authorization endpoint's path on the dev worker.
pub const AUTHORIZE_PATH: &str = "/dev/operator/authorize";
/// The one client registered with the dev operator.
const CLIENT_ID: &str = "simbind-dev";

struct Code {
    redirect_uri: String,
    challenge: String,
    nonce: String,
    msisdn: Option<String>,
    expires: u64,
}

struct Token {
    msisdn: Option<String>,
    expires: u64,
}

#[derive(Default)]
struct State {
    codes: BTreeMap<String, Code>,
    tokens: BTreeMap<String, Token>,
    jtis: BTreeMap<String, u64>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Whether `url` is the dev operator's.
pub fn serves(url: &str) -> bool {
    url.starts_with(ROOT)
}

/// A compact ES256 JWS by `key`: its claims, if the signature verifies and
/// it is fresh (`exp` ahead, at most 300 s after `iat`) with an unused `jti`.
fn signed_claims(jwt: &str, key: &PublicKey, aud: &str, now: u64) -> Option<Value> {
    let claims = crate::dev_carrier::signed_by(jwt, key)?;
    let exp = claims.get("exp")?.as_u64()?;
    let iat = claims.get("iat").and_then(Value::as_u64).unwrap_or(now);
    let jti = claims.get("jti")?.as_str()?.to_owned();
    let fresh = exp > now && exp.saturating_sub(iat) <= 300 && iat <= now + 5;
    let unused = STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.jtis.retain(|_, until| *until > now);
        s.jtis.insert(jti, exp).is_none()
    });
    (fresh && unused && claims.get("aud")?.as_str()? == aud).then_some(claims)
}

/// `GET /dev/operator/authorize?…`: the redirect (its `Location`) an
/// operator answers: to `redirect_uri` with a code and the `state`, or with
/// an error; `None` for a request it must not redirect (an unknown client,
/// or a callback other than the registered one).
pub fn authorize(
    query: &BTreeMap<String, String>,
    registered_redirect: &str,
    authorization_endpoint: &str,
    msisdn: Option<&str>,
    registered: Option<&PublicKey>,
    random: [u8; 24],
    now: u64,
) -> Option<String> {
    let q = |name: &str| query.get(name).map(String::as_str);
    let redirect_uri = q("redirect_uri")?;
    // Only the registered client, to its registered callback (exactly).
    if q("client_id") != Some(CLIENT_ID) || redirect_uri != registered_redirect {
        return None;
    }
    let back = |params: &[(&str, &str)]| {
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", simbind_core::camara_nv::percent_encode(v)))
            .collect();
        format!("{redirect_uri}?{}", query.join("&"))
    };
    let claims =
        registered.and_then(|key| signed_claims(q("request")?, key, authorization_endpoint, now));
    let Some(c) = claims else {
        return Some(back(&[("error", "invalid_request_object")]));
    };
    let text = |name: &str| c.get(name).and_then(Value::as_str);
    let state = text("state").unwrap_or_default();
    let matches = ["response_type", "client_id", "redirect_uri", "scope"]
        .iter()
        .all(|k| text(k) == q(k));
    let scope: Vec<&str> = text("scope").unwrap_or_default().split(' ').collect();
    let valid = matches
        && text("iss") == Some(CLIENT_ID)
        && text("response_type") == Some("code")
        && scope.contains(&"openid")
        && scope.contains(&"number-verification:verify")
        && scope.iter().filter(|s| s.starts_with("dpv:")).count() == 1
        && text("code_challenge_method") == Some("S256")
        && text("code_challenge").is_some_and(|c| c.len() == 43)
        && text("prompt") == Some("none")
        && !state.is_empty()
        && text("nonce").is_some();
    if !valid {
        return Some(back(&[
            ("error", "invalid_request_object"),
            ("state", state),
        ]));
    }
    let code = hex(&random);
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        s.codes.retain(|_, c| c.expires > now);
        s.codes.insert(
            code.clone(),
            Code {
                redirect_uri: redirect_uri.to_owned(),
                challenge: text("code_challenge").unwrap_or_default().to_owned(),
                nonce: text("nonce").unwrap_or_default().to_owned(),
                msisdn: msisdn.map(str::to_owned),
                expires: now + 60,
            },
        );
    });
    Some(back(&[("code", &code), ("state", state)]))
}

/// One request of the worker to the dev operator: `(status, JSON)`.
pub fn answer(
    url: &str,
    authorization: Option<&str>,
    body: Option<&str>,
    registered: Option<&PublicKey>,
    authorization_endpoint: &str,
    now: u64,
) -> (u16, String) {
    match url.strip_prefix(ROOT).unwrap_or_default() {
        "/.well-known/openid-configuration" => (
            200,
            json!({
                "issuer": ROOT,
                "authorization_endpoint": authorization_endpoint,
                "token_endpoint": format!("{ROOT}/token"),
            })
            .to_string(),
        ),
        "/token" => token(body.unwrap_or_default(), registered, now),
        "/number-verification/v2/verify" => verify(authorization, body.unwrap_or_default(), now),
        _ => (404, String::new()),
    }
}

fn token(form: &str, registered: Option<&PublicKey>, now: u64) -> (u16, String) {
    let fields: BTreeMap<String, String> = form_urlencoded::parse(form.as_bytes())
        .into_owned()
        .collect();
    let field = |name: &str| fields.get(name).map(String::as_str);
    let client = registered.and_then(|key| {
        let claims = signed_claims(
            field("client_assertion")?,
            key,
            &format!("{ROOT}/token"),
            now,
        )?;
        let by = |n: &str| claims.get(n).and_then(Value::as_str) == Some(CLIENT_ID);
        (field("client_assertion_type") == Some(CLIENT_ASSERTION_TYPE) && by("iss") && by("sub"))
            .then_some(())
    });
    if client.is_none() {
        return (401, json!({ "error": "invalid_client" }).to_string());
    }
    let grant = STATE.with(|s| {
        s.borrow_mut()
            .codes
            .remove(field("code").unwrap_or_default())
    });
    let verified = grant.filter(|g| {
        g.expires > now
            && Some(g.redirect_uri.as_str()) == field("redirect_uri")
            && Some(g.challenge.as_str()) == field("code_verifier").map(pkce_challenge).as_deref()
    });
    let Some(grant) = verified else {
        return (400, json!({ "error": "invalid_grant" }).to_string());
    };
    let access = format!("dev-nv-{}", field("code").unwrap_or_default());
    let id_claims = json!({ "iss": ROOT, "sub": "dev-ppid", "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": grant.nonce });
    // Unsigned here (alg none): the client reads it from the token endpoint's own answer.
    let id_token = format!(
        "eyJhbGciOiJub25lIn0.{}.",
        simbind_core::codec::b64(id_claims.to_string().as_bytes())
    );
    STATE.with(|s| {
        s.borrow_mut().tokens.insert(
            access.clone(),
            Token {
                msisdn: grant.msisdn,
                expires: now + 300,
            },
        )
    });
    let answer = json!({ "access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": id_token });
    (200, answer.to_string())
}

fn verify(authorization: Option<&str>, body: &str, now: u64) -> (u16, String) {
    let error = |status: u16, code: &str| {
        (
            status,
            json!({ "status": status, "code": code, "message": code }).to_string(),
        )
    };
    let bearer = authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .unwrap_or_default();
    let Some(grant) = STATE
        .with(|s| s.borrow_mut().tokens.remove(bearer))
        .filter(|t| t.expires > now)
    else {
        return error(401, "UNAUTHENTICATED");
    };
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let hashed = parsed
        .as_ref()
        .and_then(Value::as_object)
        .filter(|o| o.len() == 1)
        .and_then(|o| {
            o.get("hashedPhoneNumber")?
                .as_str()
                .map(str::to_ascii_lowercase)
        })
        .filter(|h| h.len() == 64);
    let Some(hashed) = hashed else {
        return error(400, "INVALID_ARGUMENT");
    };
    let Some(msisdn) = grant.msisdn else {
        return error(403, NOT_BY_MOBILE_NETWORK);
    };
    let verified = simbind_core::identifiers::PhoneNumber::parse(&msisdn)
        .is_ok_and(|n| simbind_core::camara_nv::hashed_phone_number(&n) == hashed);
    (
        200,
        json!({ "devicePhoneNumberVerified": verified }).to_string(),
    )
}
