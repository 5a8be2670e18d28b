//! X.509 certificates as the attestation formats need them: the exact bytes
//! that were signed, names compared byte for byte, signatures checked with
//! the hash their algorithm names, keys pinned by their SubjectPublicKeyInfo.
//!
//! Only what real attestation chains use is accepted: ECDSA (P-256 or
//! P-384 keys) with SHA-256 or SHA-384, and RSA PKCS#1 v1.5 with SHA-256
//! (Google's RSA-4096 root). Anything else is refused, never skipped.

use der::asn1::ObjectIdentifier;
use der::{Decode, Reader, SliceReader, Tag};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use sha2::{Digest, Sha256, Sha384};
use x509_cert::Certificate;
use x509_cert::spki::SubjectPublicKeyInfoRef;

use super::AttestationRefusal;

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

/// Most certificates a chain may hold (Android RKP chains have five).
pub const MAX_CHAIN_LEN: usize = 6;
/// Largest RSA modulus accepted: 4096 bits.
const MAX_RSA_BYTES: usize = 512;
/// Largest certificate accepted, in bytes.
pub const MAX_CERT_LEN: usize = 8 * 1024;

/// One parsed certificate with the raw pieces a chain check compares.
#[derive(Debug)]
pub struct Cert<'a> {
    /// The decoded certificate (validity, serial, extensions).
    pub parsed: Certificate,
    tbs: &'a [u8],
    issuer: &'a [u8],
    subject: &'a [u8],
    spki: &'a [u8],
}

impl<'a> Cert<'a> {
    /// Parses one DER certificate.
    pub fn parse(der: &'a [u8]) -> Result<Self, AttestationRefusal> {
        if der.len() > MAX_CERT_LEN {
            return Err(AttestationRefusal::Malformed);
        }
        let parsed = Certificate::from_der(der).map_err(|_| AttestationRefusal::Malformed)?;
        let (tbs, issuer, subject, spki) = raw_parts(der).ok_or(AttestationRefusal::Malformed)?;
        Ok(Self {
            parsed,
            tbs,
            issuer,
            subject,
            spki,
        })
    }

    /// The DER SubjectPublicKeyInfo, exactly as encoded.
    pub fn spki(&self) -> &'a [u8] {
        self.spki
    }

    /// The DER subject name, exactly as encoded.
    pub fn subject(&self) -> &'a [u8] {
        self.subject
    }

    /// Whether `issuer` names this certificate's issuer and its key signed it.
    pub fn issued_by(&self, issuer: &Cert<'_>) -> Result<(), AttestationRefusal> {
        if self.issuer != issuer.subject {
            return Err(AttestationRefusal::SignatureInvalid);
        }
        self.signed_by(issuer.spki)
    }

    /// Whether the key in `spki` (DER SubjectPublicKeyInfo) signed this
    /// certificate, with the hash its signature algorithm names.
    pub fn signed_by(&self, spki: &[u8]) -> Result<(), AttestationRefusal> {
        let algorithm = self.parsed.signature_algorithm().oid;
        let signature = self
            .parsed
            .signature()
            .as_bytes()
            .ok_or(AttestationRefusal::Malformed)?;
        verify(spki, algorithm, self.tbs, signature)
    }

    /// `(not_before, not_after)` in Unix seconds.
    pub fn validity(&self) -> (u64, u64) {
        let validity = self.parsed.tbs_certificate().validity();
        (
            validity.not_before.to_unix_duration().as_secs(),
            validity.not_after.to_unix_duration().as_secs(),
        )
    }

    /// The serial number as lowercase hex without leading zeros (the form
    /// Google's attestation status list is keyed by).
    pub fn serial_hex(&self) -> String {
        let bytes = self.parsed.tbs_certificate().serial_number().as_bytes();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let trimmed = hex.trim_start_matches('0');
        if trimmed.is_empty() {
            "0".into()
        } else {
            trimmed.into()
        }
    }

    /// The value of extension `oid`, and whether it is marked critical.
    pub fn extension(&self, oid: &ObjectIdentifier) -> Option<(&[u8], bool)> {
        self.parsed
            .tbs_certificate()
            .extensions()?
            .iter()
            .find(|e| &e.extn_id == oid)
            .map(|e| (e.extn_value.as_bytes(), e.critical))
    }
}

/// `(tbsCertificate, issuer, subject, subjectPublicKeyInfo)`, raw.
type RawParts<'a> = (&'a [u8], &'a [u8], &'a [u8], &'a [u8]);

/// Slices `tbsCertificate`, `issuer`, `subject` and `subjectPublicKeyInfo`
/// out of the original bytes (re-encoding could differ from what was signed).
fn raw_parts(der: &[u8]) -> Option<RawParts<'_>> {
    let mut outer = SliceReader::new(der).ok()?;
    let tbs = outer
        .sequence(|r: &mut SliceReader<'_>| {
            let tbs = r.tlv_bytes()?;
            r.tlv_bytes()?;
            r.tlv_bytes()?;
            Ok::<_, der::Error>(tbs)
        })
        .ok()?;
    if !outer.is_finished() {
        return None;
    }
    let mut r = SliceReader::new(tbs).ok()?;
    r.sequence(|r: &mut SliceReader<'_>| {
        if Tag::peek(r)? != Tag::Integer {
            r.tlv_bytes()?; // [0] version
        }
        r.tlv_bytes()?; // serialNumber
        r.tlv_bytes()?; // signature
        let issuer = r.tlv_bytes()?;
        r.tlv_bytes()?; // validity
        let subject = r.tlv_bytes()?;
        let spki = r.tlv_bytes()?;
        while !r.is_finished() {
            r.tlv_bytes()?;
        }
        Ok::<_, der::Error>((tbs, issuer, subject, spki))
    })
    .ok()
}

/// A public key an attestation signature can be checked with.
enum Key {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Rsa(rsa::PublicKey),
}

impl Key {
    fn from_spki(spki: &[u8]) -> Result<Self, AttestationRefusal> {
        let info =
            SubjectPublicKeyInfoRef::from_der(spki).map_err(|_| AttestationRefusal::Malformed)?;
        let key_bytes = info
            .subject_public_key
            .as_bytes()
            .ok_or(AttestationRefusal::Malformed)?;
        let oid = info.algorithm.oid;
        if oid == RSA_ENCRYPTION {
            use rsa::traits::PublicKeyParts;
            let key = rsa::PublicKey::try_from(info).map_err(|_| AttestationRefusal::Malformed)?;
            // Google's RSA root is 4096 bits; larger keys only cost CPU.
            if key.size() > MAX_RSA_BYTES {
                return Err(AttestationRefusal::UnsupportedKey);
            }
            return Ok(Self::Rsa(key));
        }
        if oid != EC_PUBLIC_KEY {
            return Err(AttestationRefusal::UnsupportedKey);
        }
        let curve: ObjectIdentifier = info
            .algorithm
            .parameters
            .ok_or(AttestationRefusal::Malformed)?
            .decode_as()
            .map_err(|_| AttestationRefusal::Malformed)?;
        match curve {
            P256_CURVE => p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                .map(Self::P256)
                .map_err(|_| AttestationRefusal::Malformed),
            P384_CURVE => p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                .map(Self::P384)
                .map_err(|_| AttestationRefusal::Malformed),
            _ => Err(AttestationRefusal::UnsupportedKey),
        }
    }
}

/// The hash a signature algorithm names, and whether it is ECDSA.
fn algorithm(oid: ObjectIdentifier) -> Option<(Hash, bool)> {
    Some(match oid {
        ECDSA_SHA256 => (Hash::Sha256, true),
        ECDSA_SHA384 => (Hash::Sha384, true),
        RSA_SHA256 => (Hash::Sha256, false),
        _ => return None,
    })
}

#[derive(Clone, Copy)]
enum Hash {
    Sha256,
    Sha384,
}

impl Hash {
    fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(message).to_vec(),
            Self::Sha384 => Sha384::digest(message).to_vec(),
        }
    }

    fn pkcs1v15(self) -> rsa::pkcs1v15::Pkcs1v15Sign {
        match self {
            Self::Sha256 => rsa::pkcs1v15::Pkcs1v15Sign::new::<Sha256>(),
            Self::Sha384 => rsa::pkcs1v15::Pkcs1v15Sign::new::<Sha384>(),
        }
    }
}

/// Checks `signature` over `message` by the key in `spki` with `algorithm`.
pub fn verify(
    spki: &[u8],
    algorithm_oid: ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
) -> Result<(), AttestationRefusal> {
    let (hash, ecdsa) = algorithm(algorithm_oid).ok_or(AttestationRefusal::UnsupportedKey)?;
    let key = Key::from_spki(spki)?;
    let digest = hash.digest(message);
    let valid = match (key, ecdsa) {
        (Key::P256(key), true) => p256::ecdsa::DerSignature::from_bytes(signature)
            .is_ok_and(|sig| key.verify_prehash(&digest, &sig).is_ok()),
        (Key::P384(key), true) => p384::ecdsa::DerSignature::from_bytes(signature)
            .is_ok_and(|sig| key.verify_prehash(&digest, &sig).is_ok()),
        (Key::Rsa(key), false) => key.verify(hash.pkcs1v15(), &digest, signature).is_ok(),
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(AttestationRefusal::SignatureInvalid)
    }
}

/// The uncompressed SEC1 point of a P-256 key in `spki`, or a refusal for
/// any other key.
pub fn p256_point(spki: &[u8]) -> Result<Vec<u8>, AttestationRefusal> {
    match Key::from_spki(spki)? {
        Key::P256(key) => Ok(key.to_sec1_point(false).as_bytes().to_vec()),
        _ => Err(AttestationRefusal::UnsupportedKey),
    }
}

/// Parses a chain of base64-decoded DER certificates, leaf first.
pub fn parse_chain(ders: &[Vec<u8>]) -> Result<Vec<Cert<'_>>, AttestationRefusal> {
    if ders.is_empty() || ders.len() > MAX_CHAIN_LEN {
        return Err(AttestationRefusal::Malformed);
    }
    ders.iter().map(|d| Cert::parse(d)).collect()
}

/// The DER certificates of a PEM text, in order (operator tools, tests and
/// benches read chains this way; the API carries DER). `None` when there is
/// no certificate or a block is not base64.
pub fn pem_chain(pem: &str) -> Option<Vec<Vec<u8>>> {
    use base64ct::{Base64, Encoding};
    let blocks: Option<Vec<Vec<u8>>> = pem
        .split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .map(|block| {
            let body = block.split("-----END CERTIFICATE-----").next()?;
            let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            Base64::decode_vec(&b64).ok()
        })
        .collect();
    blocks.filter(|b| !b.is_empty())
}
