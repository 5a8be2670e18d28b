//! Grants: compact ES256 JWS (JWT) that an app backend verifies offline
//! against the JWKS at `/.well-known/jwks.json`.
//!
//! JWS compact serialization is small enough to write over `p256` directly:
//! a JWT crate would bring a second P-256 implementation (or ring) into the
//! wasm bundle.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::codec::{b64, unb64};
use crate::crypto::{PublicKey, SecretKey, Signature};
use crate::trace::{Coded, Trace, ensure, step};

/// The longest grant lifetime, in seconds.
pub const MAX_GRANT_TTL_SECS: u64 = 300;

/// Grant claims, serialized in this field order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantClaims {
    /// The issuer: the deployment's `ISSUER` (by default its audience).
    pub iss: String,
    /// The app backend the grant is for: the deployment's `GRANT_AUDIENCE`.
    pub aud: String,
    /// The binding id.
    pub sub: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expiry, Unix seconds; `exp - iat` is 1 to [`MAX_GRANT_TTL_SECS`].
    pub exp: u64,
    /// Unique token id.
    pub jti: String,
    /// The chip counter that earned the grant.
    pub ctr: u64,
    /// The relying party's transaction value the chip signed (base64url),
    /// absent when the verification was bound to none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txn: Option<String>,
    /// How the binding's number was proven at its last bind (`otp`,
    /// `device_sms`, `firebase_pnv`; docs/PROTOCOL.md §8): a backend can
    /// demand a carrier proof for high-value actions. Absent for a binding
    /// made before bindings recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_proof: Option<String>,
    /// Not valid before (Unix seconds); SimBind does not set it, a verifier
    /// honours it when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    kid: String,
    typ: String,
}

/// Why a grant could not be made or was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GrantError {
    /// `exp - iat` is 0 or over [`MAX_GRANT_TTL_SECS`] (when signing or verifying).
    #[error("grant lifetime must be between 1 and 300 seconds")]
    Lifetime,
    /// Not three base64url parts, a header other than `{alg: ES256, kid, typ:
    /// JWT}`, a signature that is not 64-byte `r || s`, or claims of another shape.
    #[error("grant is malformed")]
    Malformed,
    /// No ES256 signing key (`use: sig`, a valid P-256 point) in the JWKS has
    /// the header's `kid`.
    #[error("grant key id is unknown")]
    UnknownKey,
    /// The signature does not verify under the key its `kid` names.
    #[error("grant signature does not verify")]
    BadSignature,
    /// `iss` or `aud` is not the one expected.
    #[error("grant is for another audience or issuer")]
    WrongAudience,
    /// Verified at or after `exp`.
    #[error("grant has expired")]
    Expired,
    /// `txn` is not the expected transaction: another value, present where
    /// none is expected, or absent where one is.
    #[error("grant is bound to another transaction (or to none)")]
    WrongTransaction,
    /// `iat` or `nbf` is more than [`GRANT_CLOCK_SKEW_SECS`] ahead of now.
    #[error("grant is not valid yet (iat or nbf in the future)")]
    NotYetValid,
}

/// Clock difference a grant verifier tolerates for `iat` and `nbf`, in seconds.
pub const GRANT_CLOCK_SKEW_SECS: u64 = 60;

/// A public key in JWK form (RFC 7517/7518).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `EC`.
    pub kty: String,
    /// Curve: `P-256`.
    pub crv: String,
    /// The point's x coordinate: 32 bytes, base64url.
    pub x: String,
    /// The point's y coordinate: 32 bytes, base64url.
    pub y: String,
    /// Key id, matched against a grant header's `kid`.
    pub kid: String,
    /// Public key use (`use` on the wire): `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// Algorithm: `ES256`.
    pub alg: String,
}

/// A JWK set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys; [`GrantSigner::jwks`] lists the signing key first.
    pub keys: Vec<Jwk>,
}

impl Jwk {
    /// The JWK of a P-256 public key.
    pub fn from_public_key(kid: &str, key: &PublicKey) -> Self {
        let (x, y) = key.coordinates();
        Self {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: b64(&x),
            y: b64(&y),
            kid: kid.into(),
            use_: "sig".into(),
            alg: "ES256".into(),
        }
    }

    /// The public key this JWK describes.
    pub fn public_key(&self) -> Option<PublicKey> {
        if self.kty != "EC" || self.crv != "P-256" {
            return None;
        }
        let mut sec1 = vec![4u8];
        sec1.extend(unb64(&self.x, "x").ok().filter(|x| x.len() == 32)?);
        sec1.extend(unb64(&self.y, "y").ok().filter(|y| y.len() == 32)?);
        PublicKey::from_sec1(&sec1).ok()
    }
}

/// Signs grants with the deployment's ES256 key, and publishes it with the
/// keys that retire (still verifiable, never used to sign).
#[derive(Clone, Debug)]
pub struct GrantSigner {
    /// The signing key's id (the grant header's `kid`).
    pub kid: String,
    /// The signing key.
    pub key: SecretKey,
    /// Public keys published beside it while grants they signed may still
    /// be presented (see [`retiring_keys`]).
    pub retiring: Vec<Jwk>,
}

/// The compact token: the signing input and the 64-byte `r || s` signature.
pub fn signed(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", b64(signature))
}

/// Why a deployment's retiring keys were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RetiringKeyError {
    /// Not a JWKS document of JWKs, or one with no keys or more than two.
    #[error("retiring keys must be a JWKS document: {{\"keys\": [JWK, ...]}}")]
    Malformed,
    /// A key that is not an ES256 signing key: `alg` not `ES256`, `use` not
    /// `sig`, or no valid EC P-256 point.
    #[error("a retiring key must be an EC P-256 ES256 signing key (kty, crv, alg, use, x, y)")]
    NotEs256,
    /// A key with an empty `kid`, one already listed, or the signing key's.
    #[error("each key id may be published once, and not as the signing key's")]
    DuplicateKid,
}

/// Reads the JWKS document of keys that retire (at most two): each must be a
/// valid ES256 signing key whose `kid` is its own and not `signing_kid`.
pub fn retiring_keys(json: &str, signing_kid: &str) -> Result<Vec<Jwk>, RetiringKeyError> {
    let jwks: Jwks =
        serde_json::from_slice(json.as_bytes()).map_err(|_| RetiringKeyError::Malformed)?;
    if jwks.keys.is_empty() || jwks.keys.len() > 2 {
        return Err(RetiringKeyError::Malformed);
    }
    let mut seen = vec![signing_kid];
    for key in &jwks.keys {
        if key.alg != "ES256" || key.use_ != "sig" || key.public_key().is_none() {
            return Err(RetiringKeyError::NotEs256);
        }
        if key.kid.is_empty() || seen.contains(&key.kid.as_str()) {
            return Err(RetiringKeyError::DuplicateKid);
        }
        seen.push(&key.kid);
    }
    Ok(jwks.keys)
}

impl GrantSigner {
    /// Signs `claims`, refusing lifetimes over [`MAX_GRANT_TTL_SECS`].
    pub fn sign(&self, claims: &GrantClaims) -> Result<String, GrantError> {
        let input = self.signing_input(claims)?;
        let signature = self.key.sign(input.as_bytes());
        Ok(signed(&input, &signature.to_bytes()))
    }

    /// The bytes a grant's signature covers, `b64u(header) "." b64u(claims)`,
    /// for a caller that signs them with another implementation of ES256
    /// (then [`signed`] makes the token). Refuses lifetimes over
    /// [`MAX_GRANT_TTL_SECS`].
    pub fn signing_input(&self, claims: &GrantClaims) -> Result<String, GrantError> {
        let ttl = claims.exp.saturating_sub(claims.iat);
        if ttl == 0 || ttl > MAX_GRANT_TTL_SECS {
            return Err(GrantError::Lifetime);
        }
        let header = Header {
            alg: "ES256".into(),
            kid: self.kid.clone(),
            typ: "JWT".into(),
        };
        let header = serde_json::to_vec(&header).map_err(|_| GrantError::Malformed)?;
        let payload = serde_json::to_vec(claims).map_err(|_| GrantError::Malformed)?;
        Ok(format!("{}.{}", b64(&header), b64(&payload)))
    }

    /// The JWKS: the signing key first, then the retiring ones.
    pub fn jwks(&self) -> Jwks {
        let current = Jwk::from_public_key(&self.kid, &self.key.public_key());
        Jwks {
            keys: core::iter::once(current)
                .chain(self.retiring.iter().cloned())
                .collect(),
        }
    }
}

/// Verifies a grant as an app backend would: signature by an ES256 signing
/// key of `jwks` (`alg` and `use` checked), issuer, audience, lifetime (at
/// most [`MAX_GRANT_TTL_SECS`]), `iat`/`nbf` not in the future (beyond
/// [`GRANT_CLOCK_SKEW_SECS`]), expiry, and the transaction it must be bound to
/// (`None`: a grant bound to any transaction is refused too, so a payment's
/// grant never opens something else, nor the other way round).
pub fn verify_grant(
    token: &str,
    jwks: &Jwks,
    issuer: &str,
    audience: &str,
    transaction: Option<&[u8]>,
    now: u64,
) -> Result<GrantClaims, GrantError> {
    let expected = Expected {
        issuer,
        audience,
        transaction,
    };
    verify_grant_traced(token, jwks, &expected, now, &mut ())
}

/// What a grant must name: its issuer, its audience and its transaction.
pub struct Expected<'e> {
    /// The deployment's `iss`.
    pub issuer: &'e str,
    /// The grant audience, `aud`.
    pub audience: &'e str,
    /// The transaction it must be bound to (`None`: bound to none).
    pub transaction: Option<&'e [u8]>,
}

/// Every check [`verify_grant_traced`] records, in order.
pub const CHECKS: [&str; 8] = [
    SHAPE,
    KEY,
    SIGNATURE,
    CLAIMS_SHAPE,
    ISSUER,
    LIFETIME,
    IN_TIME,
    TRANSACTION,
];
const SHAPE: &str = "three base64url parts, header {alg: ES256, typ: JWT, kid}";
const KEY: &str = "the JWKS has an ES256 signing key with the header's kid";
const SIGNATURE: &str = "the signature (64-byte r‖s) verifies under that key";
const CLAIMS_SHAPE: &str = "the claims have the grant's shape";
const ISSUER: &str = "iss and aud are the ones expected";
const LIFETIME: &str = "exp − iat is between 1 and 300 seconds";
const IN_TIME: &str = "iat and nbf are not in the future (60 s skew) and exp has not passed";
const TRANSACTION: &str = "txn is the transaction expected, or absent when none is";

/// [`verify_grant`], each check recorded in `trace` as it runs.
pub fn verify_grant_traced(
    token: &str,
    jwks: &Jwks,
    expected: &Expected<'_>,
    now: u64,
    trace: &mut dyn Trace,
) -> Result<GrantClaims, GrantError> {
    let parts = crate::jws::split(token).and_then(|parts| {
        let header: Header = serde_json::from_slice(&parts.header).ok()?;
        (header.alg == "ES256" && header.typ == "JWT").then_some((parts, header))
    });
    let (parts, header) = step(trace, SHAPE, parts.ok_or(GrantError::Malformed))?;
    let key = jwks
        .keys
        .iter()
        .find(|k| k.kid == header.kid && k.alg == "ES256" && k.use_ == "sig")
        .and_then(Jwk::public_key)
        .ok_or(GrantError::UnknownKey);
    let key = step(trace, KEY, key)?;
    let verified = Signature::from_bytes(&parts.signature)
        .map_err(|_| GrantError::Malformed)
        .and_then(|signature| {
            ensure(
                key.verify(parts.signing_input, &signature),
                GrantError::BadSignature,
            )
        });
    step(trace, SIGNATURE, verified)?;
    let claims = serde_json::from_slice(&parts.payload).map_err(|_| GrantError::Malformed);
    let claims: GrantClaims = step(trace, CLAIMS_SHAPE, claims)?;
    let named = claims.iss == expected.issuer && claims.aud == expected.audience;
    step(trace, ISSUER, ensure(named, GrantError::WrongAudience))?;
    let lifetime = claims.exp.saturating_sub(claims.iat);
    let bounded = lifetime != 0 && lifetime <= MAX_GRANT_TTL_SECS;
    step(trace, LIFETIME, ensure(bounded, GrantError::Lifetime))?;
    let not_before = claims.nbf.unwrap_or(0).max(claims.iat);
    let started = ensure(
        not_before <= now.saturating_add(GRANT_CLOCK_SKEW_SECS),
        GrantError::NotYetValid,
    );
    let live = started.and_then(|()| ensure(now < claims.exp, GrantError::Expired));
    step(trace, IN_TIME, live)?;
    let want = expected.transaction.map(crate::codec::b64);
    let same = match (&claims.txn, &want) {
        (None, None) => true,
        (Some(got), Some(want)) => crate::crypto::secret_eq(got.as_bytes(), want.as_bytes()),
        _ => false,
    };
    step(
        trace,
        TRANSACTION,
        ensure(same, GrantError::WrongTransaction),
    )?;
    Ok(claims)
}

impl Coded for GrantError {
    fn code(&self) -> &'static str {
        match self {
            Self::Lifetime => "grant_lifetime",
            Self::Malformed => "grant_malformed",
            Self::UnknownKey => "grant_key_unknown",
            Self::BadSignature => "grant_signature_invalid",
            Self::WrongAudience => "grant_wrong_audience",
            Self::Expired => "grant_expired",
            Self::WrongTransaction => "grant_wrong_transaction",
            Self::NotYetValid => "grant_not_yet_valid",
        }
    }
}
