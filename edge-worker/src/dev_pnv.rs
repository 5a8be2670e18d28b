//! The dev Firebase PNV issuer: a stand-in for Firebase inside the dev
//! worker, so `wrangler dev` and the demo bind with a carrier-proven number
//! and no Firebase project. It signs tokens of Firebase's exact shape
//! (ES256, `typ` JWT, `kid`, `iss`/`aud` of the configured project, `sub`,
//! `iat`, `exp`, `jti`, `nonce`) with a fixed dev key, and the worker reads
//! its key set in-process when `FIREBASE_PNV_JWKS_URL` is [`JWKS_URL`].
//! Dev builds only.

use serde_json::json;
use simbind_core::codec::b64;
use simbind_core::crypto::SecretKey;
use simbind_core::firebase_pnv::{PnvKeys, PnvProject};
use simbind_core::grant::{Jwk, Jwks};

/// The dev issuer's key set URL (never fetched: read in-process).
pub const JWKS_URL: &str = "https://fpnv.dev.invalid/v1beta/jwks";
/// The dev issuer's key id.
const KID: &str = "dev-pnv-1";
/// How long a dev token lives (Firebase's own are an hour).
const TOKEN_SECS: u64 = 3600;

/// The dev issuer's signing key: a fixed scalar, as public as this file.
fn key() -> Option<SecretKey> {
    SecretKey::from_bytes(b"simbind-dev-firebase-pnv-issuer!").ok()
}

/// The dev issuer's key set.
pub fn jwks() -> Jwks {
    Jwks {
        keys: key()
            .map(|k| Jwk::from_public_key(KID, &k.public_key()))
            .into_iter()
            .collect(),
    }
}

/// The dev issuer's key set, read as the worker reads Firebase's.
pub fn keys() -> PnvKeys {
    serde_json::to_vec(&jwks())
        .ok()
        .and_then(|json| PnvKeys::parse(&json))
        .unwrap_or_default()
}

/// A token verifying `number` for `project`, carrying `nonce` (none: the
/// default flow's token), as Firebase returns one to the app.
pub fn token(
    project: &PnvProject,
    number: &str,
    nonce: Option<&str>,
    jti: &str,
    now: u64,
) -> Option<String> {
    let header = json!({ "alg": "ES256", "kid": KID, "typ": "JWT" });
    let mut claims = serde_json::Map::new();
    claims.insert("iss".into(), json!(project.issuer()));
    claims.insert("aud".into(), json!(project.audiences()));
    claims.insert("sub".into(), json!(number));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + TOKEN_SECS));
    claims.insert("jti".into(), json!(jti));
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    let claims = serde_json::Value::Object(claims);
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = key()?.sign(input.as_bytes());
    Some(format!("{input}.{}", b64(&signature.to_bytes())))
}
