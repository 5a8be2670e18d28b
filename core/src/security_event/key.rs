//! The keys that sign security events, and the key set a receiver fetches
//! from the SSF configuration's `jwks_uri`. Separate from the grant keys on
//! purpose: the grant key set (`/.well-known/jwks.json`) holds EC keys only,
//! and a grant verifier must never accept an event key, nor a receiver a
//! grant key. Each `kid` is the key's RFC 7638 thumbprint.

use der::asn1::{ObjectIdentifier, OctetStringRef, UintRef};
use der::{Decode, Reader, SliceReader};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use x509_cert::spki::AlgorithmIdentifierRef;

use crate::codec::b64;
use crate::crypto::PublicKey;

/// `rsaEncryption`.
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// The smallest RSA modulus accepted, in bits (the CAEP interoperability
/// profile's floor).
pub const MIN_RSA_BITS: usize = 2048;

/// Why an event-signing key was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// Not a DER PKCS#8 RSA private key.
    #[error("not a PKCS#8 RSA private key")]
    NotRsaPkcs8,
    /// A modulus under [`MIN_RSA_BITS`].
    #[error("the RSA key is shorter than 2048 bits")]
    TooShort,
}

/// The public half of the RS256 event key, read from its PKCS#8 form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaEventKey {
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

impl RsaEventKey {
    /// Reads a DER PKCS#8 `PrivateKeyInfo` holding an RSA key of at least
    /// [`MIN_RSA_BITS`] bits.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        let inner = outer_key(der).ok_or(KeyError::NotRsaPkcs8)?;
        let mut reader = SliceReader::new(inner).map_err(|_| KeyError::NotRsaPkcs8)?;
        let (modulus, exponent) = reader
            .sequence(|r: &mut SliceReader<'_>| {
                UintRef::decode(r)?;
                let n = UintRef::decode(r)?.as_bytes().to_vec();
                let e = UintRef::decode(r)?.as_bytes().to_vec();
                r.read_slice(r.remaining_len())?;
                Ok::<_, der::Error>((n, e))
            })
            .map_err(|_| KeyError::NotRsaPkcs8)?;
        if !reader.is_finished() || exponent.iter().all(|b| *b == 0) {
            return Err(KeyError::NotRsaPkcs8);
        }
        let key = Self { modulus, exponent };
        if key.bits() < MIN_RSA_BITS {
            return Err(KeyError::TooShort);
        }
        Ok(key)
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        let top = self
            .modulus
            .first()
            .map_or(8, |b| b.leading_zeros() as usize);
        (self.modulus.len() * 8).saturating_sub(top)
    }

    /// The key's RFC 7638 thumbprint: its `kid`.
    pub fn kid(&self) -> String {
        let canonical = format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            b64(&self.exponent),
            b64(&self.modulus)
        );
        b64(&Sha256::digest(canonical.as_bytes()))
    }

    /// The public JWK.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "n": b64(&self.modulus),
            "e": b64(&self.exponent),
            "kid": self.kid(),
            "alg": "RS256",
            "use": "sig",
        })
    }
}

/// The `privateKey` octets of an RSA `PrivateKeyInfo`.
fn outer_key(der: &[u8]) -> Option<&[u8]> {
    let mut reader = SliceReader::new(der).ok()?;
    let inner = reader
        .sequence(|r: &mut SliceReader<'_>| {
            UintRef::decode(r)?;
            let algorithm = AlgorithmIdentifierRef::decode(r)?;
            let key = <&OctetStringRef>::decode(r)?;
            r.read_slice(r.remaining_len())?;
            Ok::<_, der::Error>((algorithm.oid, key.as_bytes()))
        })
        .ok()?;
    (reader.is_finished() && inner.0 == RSA_ENCRYPTION).then_some(inner.1)
}

/// The RFC 7638 thumbprint of a P-256 public key: the ES256 event key's `kid`.
pub fn ec_kid(key: &PublicKey) -> String {
    let (x, y) = key.coordinates();
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        b64(&x),
        b64(&y)
    );
    b64(&Sha256::digest(canonical.as_bytes()))
}

/// The public JWK of the ES256 event key.
pub fn ec_jwk(key: &PublicKey) -> Value {
    let (x, y) = key.coordinates();
    json!({
        "kty": "EC",
        "crv": "P-256",
        "x": b64(&x),
        "y": b64(&y),
        "kid": ec_kid(key),
        "alg": "ES256",
        "use": "sig",
    })
}
