//! Number proof by Firebase Phone Number Verification (docs/PROTOCOL.md §12).
//! The app asks Firebase (TS.43 with the carrier, on the phone) to verify
//! the SIM's number, with a nonce derived from this bind; Firebase returns
//! an ES256 JWT whose `sub` is the number. The worker fetches Google's keys;
//! everything decided about a token is here.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::codec::{b64, bind_digest, keyed_b64};
use crate::crypto::{PublicKey, Signature};
use crate::id_hash::{IdHash, IdHasher, IdKind};
use crate::identifiers::PhoneNumber;
use crate::trace::{Coded, Trace, ensure, step};

/// Google's key set for PNV tokens (`FIREBASE_PNV_JWKS_URL` overrides it).
pub const DEFAULT_JWKS_URL: &str = "https://fpnv.googleapis.com/v1beta/jwks";
/// What `iss` and each `aud` entry start with; the project follows.
pub const PROJECT_URL_PREFIX: &str = "https://fpnv.googleapis.com/projects/";
/// Clock difference tolerated on `iat` and `exp`, in seconds.
pub const CLOCK_SKEW_SECS: u64 = 60;
/// The oldest token a bind takes, from its `iat`, in seconds: a number
/// proof is asked for one bind, not kept.
pub const MAX_TOKEN_AGE_SECS: u64 = 600;
/// Longest token accepted, in bytes (real ones are under 1 KiB).
pub const MAX_TOKEN_LEN: usize = 4096;
/// Most keys read from a key set.
pub const MAX_KEYS: usize = 16;
/// An unknown `kid` fetches the key set again at most this often, in seconds.
pub const KEY_REFRESH_SECS: u64 = 300;
/// Key set lifetime bounds, in seconds, whatever its `Cache-Control` says.
pub const MIN_KEYS_AGE_SECS: u64 = 60;
/// See [`MIN_KEYS_AGE_SECS`].
pub const MAX_KEYS_AGE_SECS: u64 = 24 * 3600;
/// How long a registration waits for its token, in seconds.
pub const PROOF_TTL_SECS: u64 = 600;
/// Refused binds on one registration before it is locked.
pub const MAX_ATTEMPTS: u32 = 5;
/// Domain label of the nonce.
pub const NONCE_DOMAIN: &[u8] = b"SIMBIND-PNV-NONCE";
/// Domain label of a used token's stored id.
pub const JTI_DOMAIN: &[u8] = b"SIMBIND-PNV-JTI";

/// Why a PNV token does not prove the registration's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PnvRefusal {
    /// `pnv_token_malformed`: not a compact JWS with header `{alg: ES256,
    /// typ: JWT, kid}`, claims of another shape, or a `sub` that is not E.164.
    #[error("the Firebase PNV token is malformed")]
    Malformed,
    /// `pnv_key_unknown`: no ES256 key of Firebase's key set has the `kid`,
    /// even after fetching it again.
    #[error("the Firebase PNV token names a key Firebase does not publish")]
    UnknownKey,
    /// `pnv_signature_invalid`: the signature does not verify under that key.
    #[error("the Firebase PNV token's signature does not verify")]
    SignatureInvalid,
    /// `pnv_wrong_project`: `iss` or `aud` names another Firebase project.
    #[error("the Firebase PNV token was issued for another project")]
    WrongProject,
    /// `pnv_token_expired`: at or after `exp`, or older than 600 s.
    #[error("the Firebase PNV token has expired")]
    Expired,
    /// `pnv_token_not_yet_valid`: `iat` more than 60 s ahead.
    #[error("the Firebase PNV token is not valid yet")]
    NotYetValid,
    /// `pnv_nonce_mismatch`: the `nonce` is not this bind's (or is absent
    /// where the deployment requires one).
    #[error("the Firebase PNV token was made for another bind")]
    NonceMismatch,
    /// `pnv_number_mismatch`: the verified number is not the registration's.
    #[error("the Firebase PNV token verifies another number")]
    NumberMismatch,
    /// `pnv_token_replayed`: a token (its `jti`) already used for a bind.
    #[error("the Firebase PNV token was already used")]
    Replayed,
    /// `pnv_keys_unavailable`: Firebase's key set could not be fetched.
    #[error("Firebase's token keys could not be fetched")]
    KeysUnavailable,
}

impl PnvRefusal {
    /// Stable code carried in problem+json bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "pnv_token_malformed",
            Self::UnknownKey => "pnv_key_unknown",
            Self::SignatureInvalid => "pnv_signature_invalid",
            Self::WrongProject => "pnv_wrong_project",
            Self::Expired => "pnv_token_expired",
            Self::NotYetValid => "pnv_token_not_yet_valid",
            Self::NonceMismatch => "pnv_nonce_mismatch",
            Self::NumberMismatch => "pnv_number_mismatch",
            Self::Replayed => "pnv_token_replayed",
            Self::KeysUnavailable => "pnv_keys_unavailable",
        }
    }

    /// Every refusal, for documentation and exhaustive tests.
    pub const ALL: [PnvRefusal; 10] = [
        Self::Malformed,
        Self::UnknownKey,
        Self::SignatureInvalid,
        Self::WrongProject,
        Self::Expired,
        Self::NotYetValid,
        Self::NonceMismatch,
        Self::NumberMismatch,
        Self::Replayed,
        Self::KeysUnavailable,
    ];
}

/// The deployment's Firebase project, as its tokens name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PnvProject {
    /// The project number (digits), in `iss` and `aud`.
    pub number: String,
    /// The project id, in `aud`.
    pub id: String,
    /// Whether a token without a `nonce` (Firebase's default flow) is taken:
    /// then only its `jti` stops a second use (docs/SECURITY.md).
    pub nonce_optional: bool,
}

impl PnvProject {
    /// The issuer its tokens carry.
    pub fn issuer(&self) -> String {
        format!("{PROJECT_URL_PREFIX}{}", self.number)
    }

    /// The two audiences its tokens list.
    pub fn audiences(&self) -> [String; 2] {
        [self.issuer(), format!("{PROJECT_URL_PREFIX}{}", self.id)]
    }
}

/// Firebase's signing keys, read from a JWKS document: the EC P-256 keys
/// whose `alg` (if given) is `ES256` and `use` (if given) `sig`; others are
/// skipped, as a JWKS may list keys for other uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PnvKeys(Vec<(String, PublicKey)>);

#[derive(Deserialize)]
struct JwksDoc {
    keys: Vec<serde_json::Value>,
}

impl PnvKeys {
    /// Reads a JWKS document; `None` if it is not one or holds no usable key.
    pub fn parse(json: &[u8]) -> Option<Self> {
        let doc: JwksDoc = serde_json::from_slice(json).ok()?;
        let text = |key: &serde_json::Value, name: &str| {
            key.get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        let keys: Vec<_> = doc
            .keys
            .iter()
            .filter(|k| text(k, "alg").is_none_or(|a| a == "ES256"))
            .filter(|k| text(k, "use").is_none_or(|u| u == "sig"))
            .filter_map(|k| {
                let jwk = crate::grant::Jwk {
                    kty: text(k, "kty")?,
                    crv: text(k, "crv")?,
                    x: text(k, "x")?,
                    y: text(k, "y")?,
                    kid: text(k, "kid").filter(|kid| !kid.is_empty())?,
                    use_: "sig".into(),
                    alg: "ES256".into(),
                };
                Some((jwk.kid.clone(), jwk.public_key()?))
            })
            .take(MAX_KEYS)
            .collect();
        (!keys.is_empty()).then_some(Self(keys))
    }

    /// The key named `kid`.
    pub fn get(&self, kid: &str) -> Option<&PublicKey> {
        self.0.iter().find(|(k, _)| k == kid).map(|(_, key)| key)
    }
}

/// How long a fetched key set is kept: `Cache-Control: max-age` (or
/// `s-maxage`), bounded to [`MIN_KEYS_AGE_SECS`]..=[`MAX_KEYS_AGE_SECS`];
/// without one (or with `no-store`/`no-cache`), the minimum.
pub fn keys_max_age(cache_control: Option<&str>) -> u64 {
    let mut age = None;
    for directive in cache_control.unwrap_or_default().split(',') {
        let directive = directive.trim().to_ascii_lowercase();
        if directive == "no-store" || directive == "no-cache" {
            return MIN_KEYS_AGE_SECS;
        }
        let value = directive
            .strip_prefix("max-age=")
            .or_else(|| directive.strip_prefix("s-maxage="));
        if let Some(secs) = value.and_then(|v| v.trim_matches('"').parse::<u64>().ok()) {
            age = Some(age.map_or(secs, |a: u64| a.min(secs)));
        }
    }
    age.unwrap_or(MIN_KEYS_AGE_SECS)
        .clamp(MIN_KEYS_AGE_SECS, MAX_KEYS_AGE_SECS)
}

/// Whether an unknown `kid` may fetch the key set again: not within
/// [`KEY_REFRESH_SECS`] of the last fetch, so a flood of made-up key ids
/// makes at most one fetch per 5 minutes.
pub fn may_refresh(last_fetch: Option<u64>, now: u64) -> bool {
    last_fetch.is_none_or(|at| now >= at.saturating_add(KEY_REFRESH_SECS))
}

/// A token whose signature, project and dates were checked: what the
/// number's object still checks against the registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifiedToken {
    /// The verified number, E.164.
    pub number: String,
    /// The token's id.
    pub jti: String,
    /// The token's expiry, in Unix seconds.
    pub exp: u64,
    /// The token's nonce, if it carries one.
    pub nonce: Option<String>,
}

/// The header's `kid`, for the caller to find the key set holding it.
pub fn key_id(token: &str) -> Result<String, PnvRefusal> {
    Ok(split(token)?.0)
}

/// The token's key id (its header checked: `alg` ES256, `typ` JWT, a
/// non-empty `kid`), and its parts.
fn split(token: &str) -> Result<(String, crate::jws::Compact<'_>), PnvRefusal> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(PnvRefusal::Malformed);
    }
    let parts = crate::jws::split(token).ok_or(PnvRefusal::Malformed)?;
    let header: serde_json::Value =
        serde_json::from_slice(&parts.header).map_err(|_| PnvRefusal::Malformed)?;
    let text = |name: &str| header.get(name).and_then(serde_json::Value::as_str);
    match (text("alg"), text("typ"), text("kid")) {
        (Some("ES256"), Some("JWT"), Some(kid)) if !kid.is_empty() => Ok((kid.to_owned(), parts)),
        _ => Err(PnvRefusal::Malformed),
    }
}

/// Verifies a token as Firebase documents it: header `alg` ES256 and `typ`
/// JWT, signature by the key its `kid` names, `iss` the project number's
/// URL, `aud` listing both project URLs, `iat` not ahead and not older than
/// [`MAX_TOKEN_AGE_SECS`], `exp` not passed ([`CLOCK_SKEW_SECS`] either way),
/// `sub` E.164 and a `jti`.
pub fn verify(
    token: &str,
    keys: &PnvKeys,
    project: &PnvProject,
    now: u64,
) -> Result<VerifiedToken, PnvRefusal> {
    verify_traced(token, keys, project, now, &mut ())
}

/// Every check [`verify_traced`] records, in order.
pub const CHECKS: [&str; 7] = [SHAPE, KEY, SIGNATURE, CLAIMS, PROJECT, SUBJECT, IN_TIME];
const SHAPE: &str = "three base64url parts (at most 4 KiB), header {alg: ES256, typ: JWT, kid}";
const KEY: &str = "Firebase's key set has the header's kid";
const SIGNATURE: &str = "the signature (64-byte r‖s) verifies under that key";
const CLAIMS: &str =
    "the claims have iss, aud (a list), sub, jti, iat, exp and at most a string nonce";
const PROJECT: &str = "iss is the project number's URL and aud lists both project URLs";
const SUBJECT: &str = "sub is an E.164 mobile number, jti 1 to 256 characters, exp after iat";
const IN_TIME: &str = "iat is not ahead, exp has not passed, and the token is at most an hour old";

/// [`verify`], each check recorded in `trace` as it runs.
pub fn verify_traced(
    token: &str,
    keys: &PnvKeys,
    project: &PnvProject,
    now: u64,
    trace: &mut dyn Trace,
) -> Result<VerifiedToken, PnvRefusal> {
    let (kid, parts) = step(trace, SHAPE, split(token))?;
    let key = step(trace, KEY, keys.get(&kid).ok_or(PnvRefusal::UnknownKey))?;
    let verified = Signature::from_bytes(&parts.signature)
        .map_err(|_| PnvRefusal::Malformed)
        .and_then(|signature| {
            ensure(
                key.verify(parts.signing_input, &signature),
                PnvRefusal::SignatureInvalid,
            )
        });
    step(trace, SIGNATURE, verified)?;
    let claims = step(trace, CLAIMS, read_claims(&parts.payload))?;
    let named = claims.iss == project.issuer()
        && project
            .audiences()
            .iter()
            .all(|want| claims.aud.contains(want));
    step(trace, PROJECT, ensure(named, PnvRefusal::WrongProject))?;
    let number = PhoneNumber::parse(&claims.sub).map_err(|_| PnvRefusal::Malformed);
    let number = number.and_then(|number| {
        let sane = !claims.jti.is_empty() && claims.jti.len() <= 256 && claims.exp > claims.iat;
        ensure(sane, PnvRefusal::Malformed).map(|()| number)
    });
    let number = step(trace, SUBJECT, number)?;
    let started = ensure(
        claims.iat <= now.saturating_add(CLOCK_SKEW_SECS),
        PnvRefusal::NotYetValid,
    );
    let live = started.and_then(|()| {
        let expired = now >= claims.exp.saturating_add(CLOCK_SKEW_SECS)
            || now > claims.iat.saturating_add(MAX_TOKEN_AGE_SECS);
        ensure(!expired, PnvRefusal::Expired)
    });
    step(trace, IN_TIME, live)?;
    Ok(VerifiedToken {
        number: number.as_str().to_owned(),
        jti: claims.jti,
        exp: claims.exp,
        nonce: claims.nonce,
    })
}

/// The claims a token must carry, read without judging them.
struct Claims {
    iss: String,
    aud: Vec<String>,
    sub: String,
    jti: String,
    iat: u64,
    exp: u64,
    nonce: Option<String>,
}

fn read_claims(payload: &[u8]) -> Result<Claims, PnvRefusal> {
    let malformed = PnvRefusal::Malformed;
    let claims: serde_json::Value = serde_json::from_slice(payload).map_err(|_| malformed)?;
    let text = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
    let int = |name: &str| claims.get(name).and_then(serde_json::Value::as_u64);
    let aud = claims
        .get("aud")
        .and_then(serde_json::Value::as_array)
        .ok_or(malformed)?
        .iter()
        .map(|a| a.as_str().map(str::to_owned).ok_or(malformed))
        .collect::<Result<_, _>>()?;
    let (Some(iss), Some(sub), Some(jti), Some(iat), Some(exp)) = (
        text("iss"),
        text("sub"),
        text("jti"),
        int("iat"),
        int("exp"),
    ) else {
        return Err(malformed);
    };
    let nonce = match claims.get("nonce") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(n)) => Some(n.clone()),
        Some(_) => return Err(malformed),
    };
    Ok(Claims {
        iss: iss.to_owned(),
        aud,
        sub: sub.to_owned(),
        jti: jti.to_owned(),
        iat,
        exp,
        nonce,
    })
}

impl Coded for PnvRefusal {
    fn code(&self) -> &'static str {
        PnvRefusal::code(self)
    }
}

/// The nonce a bind's token must carry, base64url:
///
/// ```text
/// SHA-256( field("SIMBIND-PNV-NONCE") || field(challenge) || field(audience)
///          || field(registration id) )
/// ```
///
/// as the attestation challenge is made (docs/PROTOCOL.md §2): a token made
/// for one bind proves nothing in another registration or challenge.
pub fn nonce_for(challenge: &[u8], audience: &str, registration_id: &str) -> String {
    b64(&bind_digest(
        NONCE_DOMAIN,
        challenge,
        audience,
        registration_id,
    ))
}

/// What a verified token must also be for this bind: made with its nonce
/// (`expected_nonce`; a token with none only where the project allows it),
/// for the registration's number (`registration_number`, its keyed hash).
pub fn check_bind(
    token: &VerifiedToken,
    project: &PnvProject,
    expected_nonce: &str,
    registration_number: &IdHash,
    hasher: &IdHasher,
) -> Result<(), PnvRefusal> {
    match &token.nonce {
        Some(nonce) if bool::from(nonce.as_bytes().ct_eq(expected_nonce.as_bytes())) => {}
        None if project.nonce_optional => {}
        _ => return Err(PnvRefusal::NonceMismatch),
    }
    let number = hasher.hash(IdKind::PhoneNumber, &token.number);
    if !number.ct_eq(registration_number) {
        return Err(PnvRefusal::NumberMismatch);
    }
    Ok(())
}

/// The stored form of a used token's `jti`: keyed, so storage holds no
/// token id Firebase could match.
pub fn jti_key(pepper: &[u8], jti: &str) -> String {
    keyed_b64(pepper, JTI_DOMAIN, jti.as_bytes())
}

/// A `firebase_pnv` registration's state: when it stops waiting for its
/// token, and the binds refused so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PnvState {
    /// When the registration stops taking tokens, in Unix seconds.
    pub expires_at: u64,
    /// Binds refused on this registration (nonce, number or replay).
    pub attempts: u32,
}

impl PnvState {
    /// A fresh registration's state.
    pub fn new(now: u64) -> Self {
        Self {
            expires_at: now + PROOF_TTL_SECS,
            attempts: 0,
        }
    }

    /// Whether the registration still takes a token: not expired, not locked.
    pub fn open(&self, now: u64) -> Result<(), crate::Denial> {
        let expired = PnvRefusal::Expired.into();
        crate::binding::proof_window(self.expires_at, self.attempts, MAX_ATTEMPTS, now, expired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_reads_cache_control_within_bounds() {
        assert_eq!(keys_max_age(Some("public, max-age=3600")), 3600);
        assert_eq!(keys_max_age(Some("max-age=5")), MIN_KEYS_AGE_SECS);
        assert_eq!(
            keys_max_age(Some("max-age=9999999")),
            86_400,
            "a day at most"
        );
        assert_eq!(keys_max_age(Some("s-maxage=600, max-age=900")), 600);
        assert_eq!(
            keys_max_age(Some("no-store, max-age=900")),
            MIN_KEYS_AGE_SECS
        );
        assert_eq!(keys_max_age(Some("no-cache")), MIN_KEYS_AGE_SECS);
        assert_eq!(keys_max_age(Some("max-age=abc")), MIN_KEYS_AGE_SECS);
        assert_eq!(keys_max_age(None), MIN_KEYS_AGE_SECS);
    }

    #[test]
    fn refresh_at_most_every_five_minutes() {
        assert!(may_refresh(None, 0));
        assert!(!may_refresh(Some(1000), 1000 + KEY_REFRESH_SECS - 1));
        assert!(may_refresh(Some(1000), 1000 + KEY_REFRESH_SECS));
    }

    #[test]
    fn state_expires_and_locks() {
        let mut state = PnvState::new(100);
        assert_eq!(state.open(100 + PROOF_TTL_SECS - 1), Ok(()));
        assert_eq!(
            state.open(100 + PROOF_TTL_SECS),
            Err(PnvRefusal::Expired.into())
        );
        state.attempts = MAX_ATTEMPTS - 1;
        assert_eq!(state.open(100), Ok(()));
        state.attempts = MAX_ATTEMPTS;
        assert_eq!(state.open(100), Err(crate::Denial::NumberProofLocked));
    }
}
