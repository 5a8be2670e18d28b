//! X.509 certificates as the attestation formats need them: the exact bytes
//! that were signed, names compared byte for byte, signatures checked with
//! the hash their algorithm names (through a [`Verifier`]), keys pinned by
//! their SubjectPublicKeyInfo.

use der::asn1::ObjectIdentifier;
use der::{Decode, Reader, SliceReader, Tag};
use x509_cert::Certificate;
use x509_cert::spki::SubjectPublicKeyInfoRef;

use super::AttestationRefusal;
use super::signatures::{self, Verifier};

/// Most certificates a chain may hold (Android RKP chains have five).
pub const MAX_CHAIN_LEN: usize = 6;
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
        let algorithm = self.parsed.signature_algorithm().oid;
        let signature = self
            .parsed
            .signature()
            .as_bytes()
            .ok_or(AttestationRefusal::Malformed)?;
        signatures::check(spki, algorithm, self.tbs, signature, verifier)
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
        let hex = crate::codec::hex(bytes);
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
