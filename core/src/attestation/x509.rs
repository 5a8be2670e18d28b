//! X.509 certificates as the attestation formats need them: the exact bytes
//! that were signed, names compared byte for byte, signatures checked with
//! the hash their algorithm names (through a [`Verifier`]), keys pinned by
//! their SubjectPublicKeyInfo.
//!
//! The certificate is read field by field with `der`'s readers (RFC 5280
//! 4.1): every field's type and order is checked, times, serial, signature
//! and extensions are decoded, and names are walked as SEQUENCE OF SET OF
//! (type, value) but kept as their bytes (nothing here reads a name's text).
//! A general X.509 decoder would decode each name's strings too: about 8 KB
//! of the worker's gzip for nothing a check reads.

use der::asn1::{AnyRef, BitStringRef, GeneralizedTime, IntRef, ObjectIdentifier};
use der::asn1::{OctetStringRef, UtcTime};
use der::{Decode, ErrorKind, Reader, SliceReader, Tag, TagNumber, Tagged};
use x509_cert::spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};

use super::AttestationRefusal;
use super::signatures::{self, Verifier};

/// Most certificates a chain may hold (Android RKP chains have five).
pub const MAX_CHAIN_LEN: usize = 6;
/// Largest certificate accepted, in bytes.
pub const MAX_CERT_LEN: usize = 8 * 1024;
/// Longest serial number accepted, in bytes: RFC 5280's 20, plus the sign
/// byte some issuers leave outside them.
const MAX_SERIAL_LEN: usize = 21;
/// The highest version (v3, encoded as 2).
const V3: u8 = 2;

/// One parsed certificate: the raw pieces a chain check compares, and the
/// decoded fields it reads.
#[derive(Debug)]
pub struct Cert<'a> {
    tbs: &'a [u8],
    issuer: &'a [u8],
    subject: &'a [u8],
    spki: &'a [u8],
    serial: &'a [u8],
    validity: (u64, u64),
    algorithm: ObjectIdentifier,
    signature: &'a [u8],
    extensions: Vec<Extension<'a>>,
}

/// One extension, its value still DER.
#[derive(Debug)]
struct Extension<'a> {
    oid: ObjectIdentifier,
    critical: bool,
    value: &'a [u8],
}

impl<'a> Cert<'a> {
    /// Parses one DER certificate.
    pub fn parse(der: &'a [u8]) -> Result<Self, AttestationRefusal> {
        if der.len() > MAX_CERT_LEN {
            return Err(AttestationRefusal::Malformed);
        }
        certificate(der).map_err(|_| AttestationRefusal::Malformed)
    }

    /// The DER SubjectPublicKeyInfo, exactly as encoded.
    pub fn spki(&self) -> &'a [u8] {
        self.spki
    }

    /// The DER subject name, exactly as encoded.
    pub fn subject(&self) -> &'a [u8] {
        self.subject
    }

    /// The DER issuer name, exactly as encoded.
    pub fn issuer(&self) -> &'a [u8] {
        self.issuer
    }

    /// Whether `issuer` names this certificate's issuer and its key signed it.
    pub fn issued_by(
        &self,
        issuer: &Cert<'_>,
        verifier: &dyn Verifier,
    ) -> Result<(), AttestationRefusal> {
        if self.issuer != issuer.subject {
            return Err(AttestationRefusal::SignatureInvalid);
        }
        self.signed_by(issuer.spki, verifier)
    }

    /// Whether the key in `spki` (DER SubjectPublicKeyInfo) signed this
    /// certificate, with the hash its signature algorithm names.
    pub fn signed_by(
        &self,
        spki: &[u8],
        verifier: &dyn Verifier,
    ) -> Result<(), AttestationRefusal> {
        signatures::check(spki, self.algorithm, self.tbs, self.signature, verifier)
    }

    /// Whether one of the pinned `roots` signed this certificate. Every root
    /// is asked (no short cut), so a [`signatures::Recorder`] learns them all.
    pub fn signed_by_any(&self, roots: &[&[u8]], verifier: &dyn Verifier) -> bool {
        let answers: Vec<bool> = roots
            .iter()
            .map(|spki| self.signed_by(spki, verifier).is_ok())
            .collect();
        answers.contains(&true)
    }

    /// `(not_before, not_after)` in Unix seconds.
    pub fn validity(&self) -> (u64, u64) {
        self.validity
    }

    /// The serial number as lowercase hex without leading zeros (the form
    /// Google's attestation status list is keyed by).
    pub fn serial_hex(&self) -> String {
        let hex = crate::codec::hex(self.serial);
        let trimmed = hex.trim_start_matches('0');
        if trimmed.is_empty() {
            "0".into()
        } else {
            trimmed.into()
        }
    }

    /// The value of extension `oid`, and whether it is marked critical.
    pub fn extension(&self, oid: &ObjectIdentifier) -> Option<(&'a [u8], bool)> {
        self.extensions
            .iter()
            .find(|e| &e.oid == oid)
            .map(|e| (e.value, e.critical))
    }

    /// Whether the subject name holds an attribute of type `oid`.
    pub fn subject_names(&self, oid: &ObjectIdentifier) -> bool {
        let mut found = false;
        // The walk succeeded at parse: it cannot fail on the same bytes.
        let walked = attribute_types(self.subject, &mut |kind| found |= kind == *oid);
        walked.is_ok() && found
    }
}

/// A refusal inside the reader (the caller maps every one to `Malformed`).
fn failed<T>() -> der::Result<T> {
    Err(ErrorKind::Failed.into())
}

/// `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
/// signatureValue }`, and nothing after it.
fn certificate(der: &[u8]) -> der::Result<Cert<'_>> {
    let mut reader = SliceReader::new(der)?;
    let cert = reader.sequence(|r: &mut SliceReader<'_>| {
        let tbs = r.tlv_bytes()?;
        let algorithm = r.tlv_bytes()?;
        let signature = BitStringRef::decode(r)?
            .as_bytes()
            .ok_or(ErrorKind::Failed)?;
        let (signed_with, mut cert) = tbs_certificate(tbs)?;
        // RFC 5280 4.1.1.2: the same algorithm inside and outside the signature.
        if signed_with != algorithm {
            return failed();
        }
        cert.algorithm = AlgorithmIdentifierRef::from_der(algorithm)?.oid;
        cert.signature = signature;
        Ok(cert)
    })?;
    reader.finish()?;
    Ok(cert)
}

/// `TBSCertificate` (RFC 5280 4.1): the certificate with its signature
/// algorithm's raw bytes (the signature fields are filled by the caller).
fn tbs_certificate(tbs: &[u8]) -> der::Result<(&[u8], Cert<'_>)> {
    SliceReader::new(tbs)?.sequence(|r: &mut SliceReader<'_>| {
        let version = match Tag::peek(r)? {
            Tag::ContextSpecific {
                constructed: true,
                number: TagNumber(0),
            } => {
                let mut inner = SliceReader::new(AnyRef::decode(r)?.value())?;
                let version = u8::decode(&mut inner)?;
                inner.finish()?;
                version
            }
            _ => 0,
        };
        if version > V3 {
            return failed();
        }
        let serial = IntRef::decode(r)?.as_bytes();
        if serial.len() > MAX_SERIAL_LEN {
            return failed();
        }
        let signed_with = r.tlv_bytes()?;
        AlgorithmIdentifierRef::from_der(signed_with)?;
        let issuer = name(r)?;
        let validity =
            r.sequence(|r: &mut SliceReader<'_>| Ok::<_, der::Error>((time(r)?, time(r)?)))?;
        let subject = name(r)?;
        let spki = r.tlv_bytes()?;
        SubjectPublicKeyInfoRef::from_der(spki)?;
        let extensions = optional_fields(r, version)?;
        let cert = Cert {
            tbs,
            issuer,
            subject,
            spki,
            serial,
            validity,
            algorithm: ObjectIdentifier::new_unwrap("0.0"),
            signature: &[],
            extensions,
        };
        Ok((signed_with, cert))
    })
}

/// The fields after the key, each at most once and in order:
/// `[1] issuerUniqueID` and `[2] subjectUniqueID` (v2 and v3, skipped) and
/// `[3] extensions` (v3).
fn optional_fields<'a>(r: &mut SliceReader<'a>, version: u8) -> der::Result<Vec<Extension<'a>>> {
    let mut extensions = Vec::new();
    let mut next = 1;
    while !r.is_finished() {
        let field = AnyRef::decode(r)?;
        let (constructed, number) = match field.tag() {
            Tag::ContextSpecific {
                constructed,
                number: TagNumber(number),
            } => (constructed, number),
            _ => return failed(),
        };
        match (number, constructed) {
            (1 | 2, false) if number >= next && version >= 1 => {
                let (unused, bits) = field.value().split_first().ok_or(ErrorKind::Failed)?;
                BitStringRef::new(*unused, bits)?;
            }
            (3, true) if number >= next && version == V3 => {
                extensions = extension_list(field.value())?;
            }
            _ => return failed(),
        }
        next = number + 1;
    }
    Ok(extensions)
}
/// `Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension`, each type at most
/// once (RFC 5280 4.2: a second KeyDescription must not pass unread).
fn extension_list(explicit: &[u8]) -> der::Result<Vec<Extension<'_>>> {
    let mut list: Vec<Extension<'_>> = Vec::new();
    let mut reader = SliceReader::new(explicit)?;
    reader.sequence(|r: &mut SliceReader<'_>| {
        while !r.is_finished() {
            let extension = r.sequence(|e: &mut SliceReader<'_>| {
                let oid = ObjectIdentifier::decode(e)?;
                let critical = match Tag::peek(e)? {
                    Tag::Boolean => bool::decode(e)?,
                    _ => false,
                };
                let value = <&OctetStringRef>::decode(e)?.as_bytes();
                Ok::<_, der::Error>(Extension {
                    oid,
                    critical,
                    value,
                })
            })?;
            if list.iter().any(|seen| seen.oid == extension.oid) {
                return failed();
            }
            list.push(extension);
        }
        Ok(())
    })?;
    reader.finish()?;
    if list.is_empty() {
        return failed();
    }
    Ok(list)
}

/// `Time ::= CHOICE { utcTime, generalTime }`, in Unix seconds.
fn time(r: &mut SliceReader<'_>) -> der::Result<u64> {
    let at = match Tag::peek(r)? {
        Tag::UtcTime => UtcTime::decode(r)?.to_unix_duration(),
        Tag::GeneralizedTime => GeneralizedTime::decode(r)?.to_unix_duration(),
        _ => return failed(),
    };
    Ok(at.as_secs())
}

/// A `Name`, checked to be one and returned as its bytes.
fn name<'a>(r: &mut SliceReader<'a>) -> der::Result<&'a [u8]> {
    let name = r.tlv_bytes()?;
    attribute_types(name, &mut |_| ())?;
    Ok(name)
}

/// Walks `Name ::= SEQUENCE OF SET SIZE (1..MAX) OF SEQUENCE { type OID,
/// value ANY }`, giving each attribute's type to `seen`.
fn attribute_types(name: &[u8], seen: &mut dyn FnMut(ObjectIdentifier)) -> der::Result<()> {
    let mut reader = SliceReader::new(name)?;
    reader.sequence(|rdns: &mut SliceReader<'_>| {
        while !rdns.is_finished() {
            let set = AnyRef::decode(rdns)?;
            if set.tag() != Tag::Set || set.value().is_empty() {
                return failed();
            }
            let mut pairs = SliceReader::new(set.value())?;
            while !pairs.is_finished() {
                pairs.sequence(|pair: &mut SliceReader<'_>| {
                    seen(ObjectIdentifier::decode(pair)?);
                    AnyRef::decode(pair).map(|_| ())
                })?;
            }
        }
        Ok(())
    })?;
    reader.finish()
}

/// The uncompressed SEC1 point of a P-256 key in `spki`, or a refusal for
/// any other key.
pub fn p256_point(spki: &[u8]) -> Result<Vec<u8>, AttestationRefusal> {
    let info =
        SubjectPublicKeyInfoRef::from_der(spki).map_err(|_| AttestationRefusal::Malformed)?;
    if signatures::ec_curve(&info)? != signatures::P256_CURVE {
        return Err(AttestationRefusal::UnsupportedKey);
    }
    let point = info
        .subject_public_key
        .as_bytes()
        .ok_or(AttestationRefusal::Malformed)?;
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
        .map_err(|_| AttestationRefusal::Malformed)?;
    Ok(key.to_sec1_point(false).as_bytes().to_vec())
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
