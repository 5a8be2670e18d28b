//! The signatures of attestation chains: what one check is (key, algorithm,
//! signed bytes, signature), and who answers it. In Rust (RSA and P-384 with
//! the `x509-software` feature, on by default), or by the host with its own
//! implementation of the same primitive: the worker checks them with the
//! runtime's WebCrypto before the decision, and the decision counts such a
//! result only for exactly the check it was made for.
//!
//! Only what real attestation chains use is accepted: ECDSA (P-256 or P-384
//! keys) with SHA-256 or SHA-384, and RSA PKCS#1 v1.5 with SHA-256 (Google's
//! RSA-4096 root). Anything else is refused, never skipped.

use core::cell::RefCell;

use der::asn1::{ObjectIdentifier, UintRef};
use der::{Decode, Reader, SliceReader};
use sha2::{Digest, Sha256};
use x509_cert::spki::SubjectPublicKeyInfoRef;

use super::AttestationRefusal;
use crate::codec::{b64, put_field};

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
pub(super) const P256_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

/// Largest RSA modulus accepted: 4096 bits.
const MAX_RSA_BYTES: usize = 512;

/// The key type and hash of one check, as WebCrypto names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Algorithm {
    /// `RSASSA-PKCS1-v1_5` with SHA-256.
    RsaPkcs1Sha256,
    /// `ECDSA` on P-256 with SHA-256.
    P256Sha256,
    /// `ECDSA` on P-256 with SHA-384.
    P256Sha384,
    /// `ECDSA` on P-384 with SHA-256.
    P384Sha256,
    /// `ECDSA` on P-384 with SHA-384.
    P384Sha384,
}

impl Algorithm {
    /// A stable label (part of the check's digest).
    pub fn label(self) -> &'static str {
        match self {
            Self::RsaPkcs1Sha256 => "rsa-pkcs1-sha256",
            Self::P256Sha256 => "p256-sha256",
            Self::P256Sha384 => "p256-sha384",
            Self::P384Sha256 => "p384-sha256",
            Self::P384Sha384 => "p384-sha384",
        }
    }

    /// The width of one ECDSA scalar in bytes (`None` for RSA).
    fn scalar_len(self) -> Option<usize> {
        match self {
            Self::RsaPkcs1Sha256 => None,
            Self::P256Sha256 | Self::P256Sha384 => Some(32),
            Self::P384Sha256 | Self::P384Sha384 => Some(48),
        }
    }
}

/// One signature of a chain to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureCheck {
    /// The signer's DER SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
    /// Key type and hash.
    pub algorithm: Algorithm,
    /// The exact signed bytes (a `tbsCertificate`).
    pub message: Vec<u8>,
    /// The signature: RSA as is; ECDSA as fixed-width `r || s` (the form
    /// WebCrypto takes), converted from the certificate's DER.
    pub signature: Vec<u8>,
    /// The certificate's own DER signature (what Rust verifies).
    der_signature: Vec<u8>,
}

impl SignatureCheck {
    /// Names what is checked: the key, algorithm, message and signature,
    /// bound together (base64url of SHA-256 over the four, length-prefixed).
    pub fn digest(&self) -> String {
        let mut fields = Vec::new();
        for part in [
            self.spki.as_slice(),
            self.algorithm.label().as_bytes(),
            &self.message,
            &self.signature,
        ] {
            put_field(&mut fields, part);
        }
        b64(&Sha256::digest(&fields))
    }
}

/// A check the host made, and its answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckedSignature {
    /// [`SignatureCheck::digest`] of what was checked.
    pub digest: String,
    /// Whether the signature verified.
    pub valid: bool,
}

/// Who answers a chain's signature checks.
pub trait Verifier {
    /// Whether `check`'s signature verifies.
    fn verifies(&self, check: &SignatureCheck) -> bool;
}

/// Answers every check in Rust (RSA with the `rsa` crate, ECDSA with
/// `p256`/`p384`).
#[cfg(feature = "x509-software")]
pub struct Software;

#[cfg(feature = "x509-software")]
impl Verifier for Software {
    fn verifies(&self, check: &SignatureCheck) -> bool {
        software::verifies(check)
    }
}

/// Answers with what the host checked; a check it did not make is answered
/// in Rust when this build has the primitives, and refused otherwise.
pub struct Prechecked<'a> {
    /// The host's answers.
    pub checked: &'a [CheckedSignature],
}

impl Verifier for Prechecked<'_> {
    fn verifies(&self, check: &SignatureCheck) -> bool {
        let digest = check.digest();
        match self.checked.iter().find(|c| c.digest == digest) {
            Some(answer) => answer.valid,
            #[cfg(feature = "x509-software")]
            None => software::verifies(check),
            #[cfg(not(feature = "x509-software"))]
            None => false,
        }
    }
}

/// Answers "valid" to every check and keeps it: run a verification with it
/// to learn every signature the real run can ask about.
#[derive(Default)]
pub struct Recorder {
    /// The checks asked for, in order.
    pub checks: RefCell<Vec<SignatureCheck>>,
}

impl Verifier for Recorder {
    fn verifies(&self, check: &SignatureCheck) -> bool {
        self.checks.borrow_mut().push(check.clone());
        true
    }
}

/// Checks `signature` over `message` by the key in `spki` with the
/// signature algorithm `algorithm_oid`, through `verifier`. The key's type,
/// curve and size and the signature's encoding are checked here, before any
/// verifier sees them.
pub fn check(
    spki: &[u8],
    algorithm_oid: ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
    verifier: &dyn Verifier,
) -> Result<(), AttestationRefusal> {
    let algorithm = algorithm(spki, algorithm_oid)?;
    let raw = match algorithm.scalar_len() {
        None => Some(signature.to_vec()),
        Some(width) => ecdsa_raw(signature, width),
    };
    let Some(raw) = raw else {
        return Err(AttestationRefusal::SignatureInvalid);
    };
    let check = SignatureCheck {
        spki: spki.to_vec(),
        algorithm,
        message: message.to_vec(),
        signature: raw,
        der_signature: signature.to_vec(),
    };
    if verifier.verifies(&check) {
        Ok(())
    } else {
        Err(AttestationRefusal::SignatureInvalid)
    }
}

/// The check's algorithm from the key in `spki` and the signature's OID.
fn algorithm(
    spki: &[u8],
    algorithm_oid: ObjectIdentifier,
) -> Result<Algorithm, AttestationRefusal> {
    if ![ECDSA_SHA256, ECDSA_SHA384, RSA_SHA256].contains(&algorithm_oid) {
        return Err(AttestationRefusal::UnsupportedKey);
    }
    let info =
        SubjectPublicKeyInfoRef::from_der(spki).map_err(|_| AttestationRefusal::Malformed)?;
    let key = info
        .subject_public_key
        .as_bytes()
        .ok_or(AttestationRefusal::Malformed)?;
    let oid = info.algorithm.oid;
    if oid == RSA_ENCRYPTION {
        if rsa_modulus_len(key)? > MAX_RSA_BYTES {
            // Google's RSA root is 4096 bits; larger keys only cost CPU.
            return Err(AttestationRefusal::UnsupportedKey);
        }
        // An RSA key with an ECDSA algorithm made no valid signature.
        return match algorithm_oid {
            RSA_SHA256 => Ok(Algorithm::RsaPkcs1Sha256),
            _ => Err(AttestationRefusal::SignatureInvalid),
        };
    }
    let (point_len, sha256, sha384) = match ec_curve(&info)? {
        P256_CURVE => (65, Algorithm::P256Sha256, Algorithm::P256Sha384),
        P384_CURVE => (97, Algorithm::P384Sha256, Algorithm::P384Sha384),
        _ => return Err(AttestationRefusal::UnsupportedKey),
    };
    // Real chains carry uncompressed points; WebCrypto imports only those.
    if key.len() != point_len || key.first() != Some(&4) {
        return Err(AttestationRefusal::Malformed);
    }
    match algorithm_oid {
        ECDSA_SHA256 => Ok(sha256),
        ECDSA_SHA384 => Ok(sha384),
        _ => Err(AttestationRefusal::SignatureInvalid),
    }
}

/// The named curve of an EC key's SubjectPublicKeyInfo; any other key type
/// is [`AttestationRefusal::UnsupportedKey`].
pub(super) fn ec_curve(
    info: &SubjectPublicKeyInfoRef<'_>,
) -> Result<ObjectIdentifier, AttestationRefusal> {
    if info.algorithm.oid != EC_PUBLIC_KEY {
        return Err(AttestationRefusal::UnsupportedKey);
    }
    info.algorithm
        .parameters
        .ok_or(AttestationRefusal::Malformed)?
        .decode_as()
        .map_err(|_| AttestationRefusal::Malformed)
}

/// The length in bytes of an RSA public key's modulus (`RSAPublicKey`:
/// SEQUENCE { modulus, publicExponent }).
fn rsa_modulus_len(key: &[u8]) -> Result<usize, AttestationRefusal> {
    let mut reader = SliceReader::new(key).map_err(|_| AttestationRefusal::Malformed)?;
    let modulus = reader
        .sequence(|r: &mut SliceReader<'_>| {
            let modulus = UintRef::decode(r)?;
            UintRef::decode(r)?;
            Ok::<_, der::Error>(modulus.as_bytes().len())
        })
        .map_err(|_| AttestationRefusal::Malformed)?;
    if !reader.is_finished() {
        return Err(AttestationRefusal::Malformed);
    }
    Ok(modulus)
}

/// An ECDSA DER signature (SEQUENCE { r, s }, strict DER) as fixed-width
/// `r || s`; `None` when it does not decode or a scalar is too wide.
fn ecdsa_raw(signature: &[u8], width: usize) -> Option<Vec<u8>> {
    let mut reader = SliceReader::new(signature).ok()?;
    let (r, s) = reader
        .sequence(|rd: &mut SliceReader<'_>| {
            Ok::<_, der::Error>((UintRef::decode(rd)?, UintRef::decode(rd)?))
        })
        .ok()?;
    if !reader.is_finished() {
        return None;
    }
    let mut raw = vec![0u8; 2 * width];
    for (scalar, at) in [(r.as_bytes(), 0), (s.as_bytes(), width)] {
        let start = (at + width).checked_sub(scalar.len())?;
        if start < at {
            return None;
        }
        raw.get_mut(start..at + width)?.copy_from_slice(scalar);
    }
    Some(raw)
}

#[cfg(feature = "x509-software")]
mod software {
    use der::Decode;
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use sha2::{Digest, Sha256, Sha384};
    use x509_cert::spki::SubjectPublicKeyInfoRef;

    use super::{Algorithm, SignatureCheck};

    /// The check, in Rust.
    pub fn verifies(check: &SignatureCheck) -> bool {
        let Ok(info) = SubjectPublicKeyInfoRef::from_der(&check.spki) else {
            return false;
        };
        let point = info.subject_public_key.as_bytes().unwrap_or_default();
        let sig = check.der_signature.as_slice();
        let sha384 = matches!(
            check.algorithm,
            Algorithm::P256Sha384 | Algorithm::P384Sha384
        );
        let prehash = if sha384 {
            Sha384::digest(&check.message).to_vec()
        } else {
            Sha256::digest(&check.message).to_vec()
        };
        match check.algorithm {
            Algorithm::RsaPkcs1Sha256 => rsa::PublicKey::try_from(info).is_ok_and(|key| {
                key.verify(rsa::pkcs1v15::Pkcs1v15Sign::new::<Sha256>(), &prehash, sig)
                    .is_ok()
            }),
            Algorithm::P256Sha256 | Algorithm::P256Sha384 => {
                match (
                    p256::ecdsa::VerifyingKey::from_sec1_bytes(point),
                    p256::ecdsa::DerSignature::from_bytes(sig),
                ) {
                    (Ok(key), Ok(sig)) => key.verify_prehash(&prehash, &sig).is_ok(),
                    _ => false,
                }
            }
            Algorithm::P384Sha256 | Algorithm::P384Sha384 => {
                match (
                    p384::ecdsa::VerifyingKey::from_sec1_bytes(point),
                    p384::ecdsa::DerSignature::from_bytes(sig),
                ) {
                    (Ok(key), Ok(sig)) => key.verify_prehash(&prehash, &sig).is_ok(),
                    _ => false,
                }
            }
        }
    }
}
