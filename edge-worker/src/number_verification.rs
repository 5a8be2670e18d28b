//! CAMARA Number Verification as an OIDC client: the operator's discovery
//! document (kept an hour per isolate), the signed authorization request
//! with PKCE, `state` and `nonce` of one bind, the code exchanged with a
//! `private_key_jwt` client assertion, the ID token checked, and one
//! `/verify` call with the hashed number; the access token is then dropped.
//! What each answer means is core's (`simbind_core::camara_nv`).

use std::cell::RefCell;
use std::time::Duration;

use simbind_core::camara_nv::{self, AuthorizationRequest, Discovery, NvRefusal, TokenAnswer};
use simbind_core::carrier::{self as carrier_core, CarrierFailure};
use simbind_core::codec::b64;
use simbind_core::crypto::SecretKey;
use simbind_core::identifiers::PhoneNumber;
use worker::Method;

use crate::App;
use crate::carrier::{FORM, headers, send, set};
use crate::http::{Boxed, boxed};

/// The callback's path: `redirect_uri` is the deployment's origin and this.
pub const CALLBACK_PATH: &str = "/v1/carrier/number-verification/callback";
/// How long a discovery document is kept, in seconds.
const DISCOVERY_SECS: u64 = 3600;

/// How a deployment asks its operator's Number Verification.
#[derive(Clone, Debug)]
pub struct NvConfig {
    /// The operator's `openIdConnectUrl` (`NV_OPENID_URL`).
    pub openid_url: String,
    /// The operator's API root (`NV_API_ROOT`): `/number-verification/v2` is under it.
    pub api_root: String,
    /// SimBind's client id at the operator.
    pub client_id: String,
    /// The key of the request object and the client assertion.
    pub key: SecretKey,
    /// Its `kid`, if the operator wants one.
    pub key_id: Option<String>,
    /// The scopes asked.
    pub scope: String,
    /// `PUBLIC_URL`, the callback's origin (`None` in dev: the request's).
    pub callback_origin: Option<String>,
    /// How long one request to the operator may take.
    pub timeout: Duration,
    /// Dev mode: plain `http://` endpoints are accepted.
    pub insecure: bool,
}

impl NvConfig {
    /// The registered callback (`redirect_uri`), for a request to `origin`.
    pub fn redirect_uri(&self, origin: &str) -> String {
        format!(
            "{}{CALLBACK_PATH}",
            self.callback_origin.as_deref().unwrap_or(origin)
        )
    }
}

thread_local! {
    static DISCOVERY: RefCell<Option<(String, Discovery, u64)>> = const { RefCell::new(None) };
}

/// The operator's endpoints, from its discovery document (boxed: one copy
/// for the authorization and the callback).
fn discovery<'a>(app: &'a App, config: &'a NvConfig) -> Boxed<'a, Result<Discovery, NvRefusal>> {
    boxed(discover(app, config))
}

async fn discover(app: &App, config: &NvConfig) -> Result<Discovery, NvRefusal> {
    let cached = DISCOVERY.with(|d| {
        d.borrow()
            .as_ref()
            .filter(|(url, _, until)| *url == config.openid_url && app.now < *until)
            .map(|(_, found, _)| found.clone())
    });
    if let Some(found) = cached {
        return Ok(found);
    }
    let headers = headers(None, None).map_err(unavailable)?;
    let sent = send(
        app,
        &config.openid_url,
        Method::Get,
        headers,
        None,
        config.timeout,
    )
    .await
    .map_err(unavailable)?;
    if sent.response.status_code() != 200 {
        return Err(NvRefusal::Unavailable);
    }
    let body = sent.body().await.map_err(unavailable)?;
    let found = Discovery::parse(&body, config.insecure).ok_or(NvRefusal::Unavailable)?;
    DISCOVERY.with(|d| {
        *d.borrow_mut() = Some((
            config.openid_url.clone(),
            found.clone(),
            app.now + DISCOVERY_SECS,
        ))
    });
    Ok(found)
}

fn unavailable(failure: CarrierFailure) -> NvRefusal {
    worker::console_log!("number verification: {}", failure.label());
    NvRefusal::Unavailable
}

/// The URL the phone opens over mobile data for this bind's `challenge`.
pub async fn authorization_url(
    app: &App,
    config: &NvConfig,
    registration_id: &str,
    challenge: &[u8],
    origin: &str,
) -> Result<String, NvRefusal> {
    let found = discovery(app, config).await?;
    let verifier = camara_nv::pkce_verifier(&app.cfg.pepper, registration_id, challenge);
    let code_challenge = camara_nv::pkce_challenge(&verifier);
    let state = camara_nv::state_for(challenge, &app.cfg.audience, registration_id);
    let nonce = camara_nv::nonce_for(challenge, &app.cfg.audience, registration_id);
    let redirect_uri = config.redirect_uri(origin);
    let jti = b64(&app.random::<16>().map_err(|_| NvRefusal::Unavailable)?);
    // The dev operator's authorization endpoint is a route of this worker.
    #[cfg(feature = "dev")]
    let found = Discovery {
        authorization_endpoint: if crate::dev_operator::serves(&found.authorization_endpoint) {
            format!("{origin}{}", crate::dev_operator::AUTHORIZE_PATH)
        } else {
            found.authorization_endpoint
        },
        ..found
    };
    let request = AuthorizationRequest {
        client_id: &config.client_id,
        redirect_uri: &redirect_uri,
        scope: &config.scope,
        state: &state,
        nonce: &nonce,
        code_challenge: &code_challenge,
        authorization_endpoint: &found.authorization_endpoint,
        now: app.now,
        jti: &jti,
    };
    let input = request.signing_input(config.key_id.as_deref());
    let object = crate::webcrypto::signed_jws(&config.key, &input).await;
    Ok(request.url(&object))
}

/// Exchanges the callback's `code` (with this bind's PKCE verifier and a
/// client assertion), checks the ID token, asks `/verify` once for the
/// registration's `number`, and says what the operator answered (`Ok(None)`:
/// verified; an `Err` is a refusal too).
pub async fn settle(
    app: &App,
    config: &NvConfig,
    registration_id: &str,
    challenge: &[u8],
    code: &str,
    number: &PhoneNumber,
    origin: &str,
) -> Result<Option<NvRefusal>, NvRefusal> {
    let found = discovery(app, config).await?;
    let assertion = crate::carrier::client_assertion(
        app,
        &config.key,
        config.key_id.as_deref(),
        &config.client_id,
        &found.token_endpoint,
    )
    .await
    .map_err(unavailable)?;
    let verifier = camara_nv::pkce_verifier(&app.cfg.pepper, registration_id, challenge);
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", &config.redirect_uri(origin))
        .append_pair("code_verifier", &verifier)
        .append_pair("client_assertion_type", carrier_core::CLIENT_ASSERTION_TYPE)
        .append_pair("client_assertion", &assertion)
        .finish();
    let form_headers = headers(Some(FORM), None).map_err(unavailable)?;
    let sent = send(
        app,
        &found.token_endpoint,
        Method::Post,
        form_headers,
        Some(form),
        config.timeout,
    )
    .await
    .map_err(unavailable)?;
    let token: TokenAnswer = match sent.response.status_code() {
        200 => {
            let body = sent.body().await.map_err(unavailable)?;
            TokenAnswer::parse(&body).ok_or(NvRefusal::Unavailable)?
        }
        // The code was refused (expired, used, another verifier): the
        // authorization is void; SimBind's own credentials refused: an outage.
        400 => return Err(NvRefusal::AuthorizationDenied),
        _ => return Err(NvRefusal::Unavailable),
    };
    let nonce = camara_nv::nonce_for(challenge, &app.cfg.audience, registration_id);
    camara_nv::check_id_token(
        &token.id_token,
        &found.issuer,
        &config.client_id,
        &nonce,
        app.now,
    )?;
    let url = format!(
        "{}/{}",
        config.api_root.trim_end_matches('/'),
        camara_nv::VERIFY_PATH
    );
    let headers =
        headers(Some("application/json"), Some(&token.access_token)).map_err(unavailable)?;
    let correlator = b64(&app.random::<12>().map_err(|_| NvRefusal::Unavailable)?);
    set(&headers, "x-correlator", &correlator).map_err(unavailable)?;
    let body = camara_nv::verify_body(number);
    let sent = send(app, &url, Method::Post, headers, Some(body), config.timeout)
        .await
        .map_err(unavailable)?;
    let status = sent.response.status_code();
    let answer = sent.body().await.unwrap_or_default();
    Ok(camara_nv::read_verify(status, &answer))
}
