//! Number proof by CAMARA Number Verification v2 (docs/PROTOCOL.md §13): an
//! OIDC authorization-code flow the operator completes by network-based
//! authentication (the phone opens the authorization URL over mobile data),
//! then one `/verify` call with the registration's hashed number. Here: the
//! values tied to one bind (`state`, `nonce`, the PKCE verifier), the signed
//! request object's claims, what the operator's answers mean, and which of
//! them let a bank fall back to an SMS proof. HTTP and keys are the worker's.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::codec::{b64, bind_digest, hex, keyed_b64, registration_mac, unb64};
use crate::identifiers::PhoneNumber;

/// Domain label of the `state` digest.
pub const STATE_DOMAIN: &[u8] = b"SIMBIND-NV-STATE";
/// Domain label of the `nonce`.
pub const NONCE_DOMAIN: &[u8] = b"SIMBIND-NV-NONCE";
/// Domain label of the PKCE code verifier.
pub const PKCE_DOMAIN: &[u8] = b"SIMBIND-NV-PKCE";
/// Domain label of a redeemed authorization code's stored form.
pub const CODE_DOMAIN: &[u8] = b"SIMBIND-NV-CODE";
/// Lifetime of the signed request object, in seconds (the profile's most).
pub const REQUEST_OBJECT_SECS: u64 = 300;
/// The scopes asked: OIDC, the verify operation, and one purpose.
pub const DEFAULT_SCOPE: &str = "openid number-verification:verify dpv:FraudPreventionAndDetection";
/// The operation's path under the operator's API root.
pub const VERIFY_PATH: &str = "number-verification/v2/verify";
/// How long a registration waits for the operator, in seconds.
pub const PROOF_TTL_SECS: u64 = 600;
/// Refused operator answers on one registration before it is locked.
pub const MAX_ATTEMPTS: u32 = 5;
/// Clock difference tolerated on the ID token's dates, in seconds.
pub const CLOCK_SKEW_SECS: u64 = 60;
/// The 403 code the operator answers for a token not obtained by the network.
pub const NOT_BY_MOBILE_NETWORK: &str =
    "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK";

/// Why Number Verification did not prove the registration's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NvRefusal {
    /// `nv_state_invalid`: a callback whose `state` is not the one this
    /// service made for the registration's asked authorization.
    #[error("the authorization answer is not for an authorization this service asked")]
    StateInvalid,
    /// `nv_state_used`: a callback for an authorization already answered.
    #[error("this authorization was already answered")]
    StateUsed,
    /// `nv_authorization_denied`: the operator redirected with an error
    /// (or without a code): the phone's word, so no fallback.
    #[error("the operator did not authorize the number check")]
    AuthorizationDenied,
    /// `nv_id_token_invalid`: the token endpoint's ID token is not for this
    /// client, issuer and nonce, or has expired.
    #[error("the operator's ID token is not for this request")]
    IdTokenInvalid,
    /// `nv_not_verified`: the operator says the phone's number is another.
    #[error("the operator says the phone's number is another")]
    NotVerified,
    /// `nv_not_mobile_network`: the operator could not authenticate the
    /// phone by its mobile network (Wi-Fi, or another network's SIM).
    #[error("the operator could not see the phone on its mobile network")]
    NotMobileNetwork,
    /// `nv_not_supported`: the operator cannot check this number (404, 422).
    #[error("the operator cannot check this number")]
    NotSupported,
    /// `nv_unavailable`: the operator did not answer usably (timeout, 5xx,
    /// 429, or a refusal of SimBind's own credentials).
    #[error("the operator's number verification did not answer")]
    Unavailable,
    /// `nv_not_proven`: a bind before the operator verified the number for
    /// this bind's challenge.
    #[error("the number was not verified by the operator for this bind")]
    NotProven,
    /// `nv_expired`: the registration's 10 minutes have passed.
    #[error("the registration expired before the operator verified the number")]
    Expired,
}

impl NvRefusal {
    /// Stable code carried in problem+json bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::StateInvalid => "nv_state_invalid",
            Self::StateUsed => "nv_state_used",
            Self::AuthorizationDenied => "nv_authorization_denied",
            Self::IdTokenInvalid => "nv_id_token_invalid",
            Self::NotVerified => "nv_not_verified",
            Self::NotMobileNetwork => "nv_not_mobile_network",
            Self::NotSupported => "nv_not_supported",
            Self::Unavailable => "nv_unavailable",
            Self::NotProven => "nv_not_proven",
            Self::Expired => "nv_expired",
        }
    }

    /// Every refusal, for documentation and exhaustive tests.
    pub const ALL: [NvRefusal; 10] = [
        Self::StateInvalid,
        Self::StateUsed,
        Self::AuthorizationDenied,
        Self::IdTokenInvalid,
        Self::NotVerified,
        Self::NotMobileNetwork,
        Self::NotSupported,
        Self::Unavailable,
        Self::NotProven,
        Self::Expired,
    ];

    /// Whether this answer lets a registration of the same number fall back
    /// to an SMS proof where a carrier proof is required: only an answer the
    /// server itself received from the operator saying it cannot help.
    pub fn allows_fallback(&self) -> bool {
        matches!(self, Self::NotMobileNetwork | Self::NotSupported)
    }
}

/// The `state` of one bind's authorization: the registration id (so the
/// callback finds its number), a dot, and the bind digest under
/// [`STATE_DOMAIN`], base64url.
pub fn state_for(challenge: &[u8], audience: &str, registration_id: &str) -> String {
    let digest = bind_digest(STATE_DOMAIN, challenge, audience, registration_id);
    format!("{registration_id}.{}", b64(&digest))
}

/// The registration id a callback's `state` names (its form only: the
/// number's object compares the whole value with the one it made).
pub fn registration_of_state(state: &str) -> Option<&str> {
    let (id, digest) = state.split_once('.')?;
    (id.starts_with("reg_") && id.len() <= 80 && digest.len() == 43).then_some(id)
}

/// The OIDC `nonce` of one bind's authorization, base64url.
pub fn nonce_for(challenge: &[u8], audience: &str, registration_id: &str) -> String {
    b64(&bind_digest(
        NONCE_DOMAIN,
        challenge,
        audience,
        registration_id,
    ))
}

/// The PKCE code verifier of one bind's authorization: keyed with the
/// pepper, so only the service can redeem the code (43 characters).
pub fn pkce_verifier(pepper: &[u8], registration_id: &str, challenge: &[u8]) -> String {
    registration_mac(pepper, PKCE_DOMAIN, registration_id, challenge)
}

/// The stored form of a redeemed authorization code: keyed, so storage
/// holds nothing the operator could match.
pub fn code_key(pepper: &[u8], code: &str) -> String {
    keyed_b64(pepper, CODE_DOMAIN, code.as_bytes())
}

/// The PKCE `code_challenge` (S256) of a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    b64(&Sha256::digest(verifier.as_bytes()))
}

/// `hashedPhoneNumber`: lowercase hex SHA-256 of the E.164 string.
pub fn hashed_phone_number(number: &PhoneNumber) -> String {
    hex(&Sha256::digest(number.as_str().as_bytes()))
}

/// The `/verify` body: the hashed number only.
pub fn verify_body(number: &PhoneNumber) -> String {
    crate::codec::json_text(
        &serde_json::json!({ "hashedPhoneNumber": hashed_phone_number(number) }),
    )
}

/// What the operator's OpenID Provider Metadata gives the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovery {
    /// The issuer its ID tokens carry.
    pub issuer: String,
    /// Where the phone is sent to authorize.
    pub authorization_endpoint: String,
    /// Where the code is exchanged.
    pub token_endpoint: String,
}

impl Discovery {
    /// Reads the metadata: the three URLs, each `https://` unless `insecure`
    /// (dev), at most 2 KiB each.
    pub fn parse(json: &[u8], insecure: bool) -> Option<Self> {
        let doc: serde_json::Value = serde_json::from_slice(json).ok()?;
        let text = |name: &str| doc.get(name)?.as_str().map(str::to_owned);
        let found = Self {
            issuer: text("issuer")?,
            authorization_endpoint: text("authorization_endpoint")?,
            token_endpoint: text("token_endpoint")?,
        };
        let fine = |url: &str| {
            url.len() <= 2048
                && (url.starts_with("https://") || (insecure && url.starts_with("http://")))
        };
        (fine(&found.issuer) && fine(&found.authorization_endpoint) && fine(&found.token_endpoint))
            .then_some(found)
    }
}

/// One bind's authorization request, as the signed request object says it.
#[derive(Clone, Debug)]
pub struct AuthorizationRequest<'a> {
    /// SimBind's client id at the operator.
    pub client_id: &'a str,
    /// The worker's callback, registered with the operator.
    pub redirect_uri: &'a str,
    /// The scopes asked ([`DEFAULT_SCOPE`] unless configured).
    pub scope: &'a str,
    /// [`state_for`] this bind.
    pub state: &'a str,
    /// [`nonce_for`] this bind.
    pub nonce: &'a str,
    /// [`pkce_challenge`] of this bind's verifier.
    pub code_challenge: &'a str,
    /// The operator's authorization endpoint: the request object's `aud`.
    pub authorization_endpoint: &'a str,
    /// Unix seconds.
    pub now: u64,
    /// The request object's `jti`: b64u of 16 random bytes.
    pub jti: &'a str,
}

impl AuthorizationRequest<'_> {
    /// The signing input of the request object (ES256, `typ` `oauth-authz-req+jwt`):
    /// `iss` = `client_id`, `aud` the authorization endpoint, `iat`, `exp`
    /// 300 s later, `jti`, and every parameter of the request (`prompt`
    /// `none`: no user interaction).
    pub fn signing_input(&self, kid: Option<&str>) -> String {
        let mut header = serde_json::json!({ "alg": "ES256", "typ": "oauth-authz-req+jwt" });
        if let (Some(kid), Some(map)) = (kid, header.as_object_mut()) {
            map.insert("kid".into(), kid.into());
        }
        let claims = serde_json::json!({
            "iss": self.client_id,
            "aud": self.authorization_endpoint,
            "iat": self.now,
            "exp": self.now + REQUEST_OBJECT_SECS,
            "jti": self.jti,
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
            "prompt": "none",
        });
        format!(
            "{}.{}",
            b64(crate::codec::json_text(&header).as_bytes()),
            b64(crate::codec::json_text(&claims).as_bytes())
        )
    }

    /// The URL the phone opens: the mandatory parameters in OAuth syntax
    /// (matching the request object) and the signed `request`.
    pub fn url(&self, request_object: &str) -> String {
        let sep = if self.authorization_endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        let pairs = [
            ("response_type", "code"),
            ("client_id", self.client_id),
            ("redirect_uri", self.redirect_uri),
            ("scope", self.scope),
            ("request", request_object),
        ];
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", percent_encode(v)))
            .collect();
        format!("{}{sep}{}", self.authorization_endpoint, query.join("&"))
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The token endpoint's success answer, as far as it is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenAnswer {
    /// The 3-legged access token: used once, for `/verify`, then dropped.
    pub access_token: String,
    /// The ID token (OIDC), checked by [`check_id_token`].
    pub id_token: String,
}

impl TokenAnswer {
    /// Reads a `200` answer of the token endpoint.
    pub fn parse(json: &[u8]) -> Option<Self> {
        let doc: serde_json::Value = serde_json::from_slice(json).ok()?;
        let text = |name: &str| doc.get(name)?.as_str().map(str::to_owned);
        Some(Self {
            access_token: text("access_token")?,
            id_token: text("id_token")?,
        })
    }
}

/// Checks the ID token of the token endpoint's answer: `iss` the operator's,
/// `aud` holding the client id, not expired, and this bind's `nonce`. It
/// came straight from the token endpoint over TLS, which OIDC Core (3.1.3.7)
/// lets stand in for its signature.
pub fn check_id_token(
    id_token: &str,
    issuer: &str,
    client_id: &str,
    nonce: &str,
    now: u64,
) -> Result<(), NvRefusal> {
    let payload = id_token
        .split('.')
        .nth(1)
        .and_then(|p| unb64(p, "id_token").ok())
        .ok_or(NvRefusal::IdTokenInvalid)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&payload).map_err(|_| NvRefusal::IdTokenInvalid)?;
    let text = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
    // `aud`: one string, or a list of them.
    let aud_ok = match claims.get("aud") {
        Some(serde_json::Value::String(one)) => one == client_id,
        Some(serde_json::Value::Array(many)) => many.iter().any(|a| a.as_str() == Some(client_id)),
        _ => false,
    };
    let exp = claims.get("exp").and_then(serde_json::Value::as_u64);
    let nonce_ok = text("nonce").is_some_and(|n| bool::from(n.as_bytes().ct_eq(nonce.as_bytes())));
    if text("iss") != Some(issuer)
        || !aud_ok
        || exp.is_none_or(|exp| now >= exp.saturating_add(CLOCK_SKEW_SECS))
        || !nonce_ok
    {
        return Err(NvRefusal::IdTokenInvalid);
    }
    Ok(())
}

/// What a `/verify` answer means (`None`: the number is verified). A 403
/// `NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK` is the
/// operator's "not on my network"; 404 and 422 its "cannot check this
/// number"; 401, any other 403, 429, 5xx and unreadable answers leave the
/// question open.
pub fn read_verify(status: u16, body: &[u8]) -> Option<NvRefusal> {
    let doc: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| doc.as_ref().and_then(|d| d.get(name));
    match status {
        200 => match field("devicePhoneNumberVerified").and_then(serde_json::Value::as_bool) {
            Some(true) => None,
            Some(false) => Some(NvRefusal::NotVerified),
            None => Some(NvRefusal::Unavailable),
        },
        403 => match field("code").and_then(serde_json::Value::as_str) {
            Some(NOT_BY_MOBILE_NETWORK) => Some(NvRefusal::NotMobileNetwork),
            _ => Some(NvRefusal::Unavailable),
        },
        404 | 422 => Some(NvRefusal::NotSupported),
        _ => Some(NvRefusal::Unavailable),
    }
}

/// A `camara_nv` registration's state: when it stops waiting, the
/// authorization asked (its bind challenge), whether the operator answered
/// it, and what it said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NvState {
    /// When the registration stops waiting, in Unix seconds.
    pub expires_at: u64,
    /// Operator answers that refused so far.
    pub attempts: u32,
    /// The bind challenge (base64url) of the authorization last asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked: Option<String>,
    /// Whether the callback for `asked` has come (its `state` is used).
    #[serde(default)]
    pub answered: bool,
    /// The challenge (base64url) the operator verified the number for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_for: Option<String>,
    /// The operator's last refusal, when it said one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<NvRefusal>,
    /// Whether a fallback registration was started from this one.
    #[serde(default)]
    pub fallback_used: bool,
}

impl NvState {
    /// A fresh registration's state.
    pub fn new(now: u64) -> Self {
        Self {
            expires_at: now + PROOF_TTL_SECS,
            attempts: 0,
            asked: None,
            answered: false,
            verified_for: None,
            refused: None,
            fallback_used: false,
        }
    }

    /// Whether the registration still takes an authorization: not expired,
    /// not locked, not verified already.
    pub fn open(&self, now: u64) -> Result<(), crate::Denial> {
        let expired = NvRefusal::Expired.into();
        crate::binding::proof_window(self.expires_at, self.attempts, MAX_ATTEMPTS, now, expired)
    }

    /// A new authorization for `challenge` (base64url): it replaces any
    /// earlier one not yet verified.
    pub fn ask(&mut self, challenge: &str, now: u64) -> Result<(), crate::Denial> {
        self.open(now)?;
        self.asked = Some(challenge.to_owned());
        self.answered = false;
        Ok(())
    }

    /// The callback's `state` for the asked authorization: the challenge it
    /// was made for, once (a second callback is `nv_state_used`).
    pub fn answer(
        &mut self,
        state: &str,
        audience: &str,
        registration_id: &str,
        now: u64,
    ) -> Result<Vec<u8>, crate::Denial> {
        self.open(now)?;
        let asked = self
            .asked
            .as_deref()
            .and_then(|c| unb64(c, "challenge").ok())
            .ok_or(NvRefusal::StateInvalid)?;
        let expected = state_for(&asked, audience, registration_id);
        if !bool::from(state.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(NvRefusal::StateInvalid.into());
        }
        if self.answered {
            return Err(NvRefusal::StateUsed.into());
        }
        self.answered = true;
        Ok(asked)
    }

    /// Records the operator's answer for the asked authorization.
    pub fn record(&mut self, refusal: Option<NvRefusal>) {
        match refusal {
            None => {
                self.verified_for = self.asked.clone();
                self.refused = None;
            }
            Some(refusal) => {
                self.refused = Some(refusal);
                self.attempts += 1;
            }
        }
    }

    /// At bind: the operator verified the number for this bind's challenge.
    pub fn check(&self, challenge: &[u8], now: u64) -> Result<(), crate::Denial> {
        if now >= self.expires_at {
            return Err(NvRefusal::Expired.into());
        }
        match &self.verified_for {
            Some(verified) if bool::from(verified.as_bytes().ct_eq(b64(challenge).as_bytes())) => {
                Ok(())
            }
            _ => Err(self.refused.unwrap_or(NvRefusal::NotProven).into()),
        }
    }

    /// Whether a registration of the same number may fall back to an SMS
    /// proof from this one (once): the operator itself said it cannot help.
    pub fn take_fallback(&mut self) -> bool {
        let allowed = !self.fallback_used && self.refused.is_some_and(|r| r.allows_fallback());
        if allowed {
            self.fallback_used = true;
        }
        allowed
    }
}
