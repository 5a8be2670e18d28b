//! Format `apple-appattest`: Apple App Attest. The chip key is a Secure
//! Enclave key; a CBOR attestation object whose X.509 chain leads to
//! Apple's App Attestation root proves it once, and every later request is
//! an *assertion*: an ECDSA signature over `SHA-256(authData ‖
//! clientDataHash)` whose authenticator data carries a counter the Secure
//! Enclave advances.
//!
//! The checks are Apple's ("Validating apps that connect to your server"):
//! the chain to the pinned root, the nonce extension, key id = SHA-256 of
//! the key = credential id, rpIdHash = SHA-256 of the App ID, counter 0,
//! aaguid per environment. Extra data after the attested credential data is
//! tolerated (newer iOS appends it without setting the ED flag). The receipt
//! can only be checked with Apple's server: it is returned for the caller
//! to keep.

use der::asn1::ObjectIdentifier;
use minicbor::Decoder;
use p256::ecdsa::signature::Verifier;
use sha2::{Digest, Sha256};

use super::AttestationRefusal;
use super::signatures::Verifier as ChainVerifier;
use super::x509::{self, Cert};
use crate::crypto::secret_eq;
use crate::trace::{Trace, ensure, step};

/// Apple's App Attestation root key (DER SubjectPublicKeyInfo, P-384).
pub const APPLE_ROOT: &[u8] = include_bytes!("roots/apple-app-attestation-root.spki.der");
/// The leaf extension holding the nonce.
const NONCE_EXTENSION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113635.100.8.2");
/// Authenticator-data flag: attested credential data is present.
const FLAG_ATTESTED: u8 = 0x40;

/// Which App Attest environment a key was made in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    /// App Store and TestFlight builds.
    Production,
    /// Development builds.
    Development,
}

impl Environment {
    /// Label used in configuration and verdicts.
    pub fn label(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Development => "development",
        }
    }

    /// Inverse of [`Environment::label`].
    pub fn from_label(label: &str) -> Option<Self> {
        [Self::Production, Self::Development]
            .into_iter()
            .find(|e| e.label() == label)
    }

    /// The aaguid App Attest writes for this environment.
    pub fn aaguid(self) -> [u8; 16] {
        match self {
            Self::Production => *b"appattest\0\0\0\0\0\0\0",
            Self::Development => *b"appattestdevelop",
        }
    }
}

/// What a deployment requires of an App Attest key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplePolicy {
    /// App IDs (`TEAMID.bundle.id`) allowed to bind.
    pub app_ids: Vec<String>,
    /// The environment accepted.
    pub environment: Environment,
}

impl Default for ApplePolicy {
    /// The strict default: production only, and no app until one is listed.
    fn default() -> Self {
        Self {
            app_ids: Vec::new(),
            environment: Environment::Production,
        }
    }
}

/// What a verified App Attest attestation proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppleAttestation {
    /// The attested key, an uncompressed SEC1 P-256 point.
    pub public_key: Vec<u8>,
    /// SHA-256 of the key: App Attest's key id and the credential id.
    pub key_id: [u8; 32],
    /// The App ID whose rpIdHash the attestation carries.
    pub app_id: String,
    /// The environment it was made in.
    pub environment: Environment,
    /// Apple's receipt, to keep with the binding (only Apple can check it).
    pub receipt: Vec<u8>,
}

/// The parts of authenticator data a verifier reads.
pub(crate) struct AuthData<'a> {
    pub(crate) rp_id_hash: &'a [u8],
    pub(crate) flags: u8,
    pub(crate) counter: u32,
    rest: &'a [u8],
}

impl<'a> AuthData<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, AttestationRefusal> {
        let malformed = AttestationRefusal::Malformed;
        let (rp_id_hash, rest) = bytes.split_at_checked(32).ok_or(malformed)?;
        let (&flags, rest) = rest.split_first().ok_or(malformed)?;
        let (counter, rest) = rest.split_first_chunk::<4>().ok_or(malformed)?;
        Ok(Self {
            rp_id_hash,
            flags,
            counter: u32::from_be_bytes(*counter),
            rest,
        })
    }

    /// `(aaguid, credential id)` of the attested credential data; whatever
    /// follows (the COSE key, extensions) is not read.
    pub(crate) fn credential(&self) -> Result<(&'a [u8], &'a [u8]), AttestationRefusal> {
        let malformed = AttestationRefusal::Malformed;
        if self.flags & FLAG_ATTESTED == 0 {
            return Err(malformed);
        }
        let (aaguid, rest) = self.rest.split_at_checked(16).ok_or(malformed)?;
        let (len, rest) = rest.split_first_chunk::<2>().ok_or(malformed)?;
        let (id, _) = rest
            .split_at_checked(usize::from(u16::from_be_bytes(*len)))
            .ok_or(malformed)?;
        Ok((aaguid, id))
    }
}

/// The decoded attestation object.
pub(crate) struct Statement {
    pub(crate) chain: Vec<Vec<u8>>,
    pub(crate) receipt: Vec<u8>,
    pub(crate) auth_data: Vec<u8>,
}

pub(crate) fn decode_statement(bytes: &[u8]) -> Result<Statement, minicbor::decode::Error> {
    let mut d = Decoder::new(bytes);
    let (mut fmt, mut statement, mut auth_data) = (None, None, None);
    let (mut chain, mut receipt) = (None, None);
    for _ in 0..definite(d.map()?)? {
        match d.str()? {
            "fmt" => once(&mut fmt, d.str()?)?,
            "authData" => once(&mut auth_data, d.bytes()?.to_vec())?,
            "attStmt" => {
                once(&mut statement, ())?;
                for _ in 0..definite(d.map()?)? {
                    match d.str()? {
                        "x5c" => {
                            // The length is bounded by the input; the
                            // chain check refuses anything but two.
                            let n = definite(d.array()?)?;
                            let mut certs = Vec::new();
                            for _ in 0..n {
                                certs.push(d.bytes()?.to_vec());
                            }
                            once(&mut chain, certs)?;
                        }
                        "receipt" => once(&mut receipt, d.bytes()?.to_vec())?,
                        _ => return Err(unknown()),
                    }
                }
            }
            _ => return Err(unknown()),
        }
    }
    let missing = || minicbor::decode::Error::message("missing field");
    if fmt != Some("apple-appattest") {
        return Err(missing());
    }
    at_end(&d, bytes)?;
    Ok(Statement {
        chain: chain.ok_or_else(missing)?,
        receipt: receipt.ok_or_else(missing)?,
        auth_data: auth_data.ok_or_else(missing)?,
    })
}

/// Keeps a map's value for its key, refusing the key a second time (RFC 8949
/// 5.6: a map with a repeated key is not valid; which one a reader takes
/// differs between readers).
fn once<T>(slot: &mut Option<T>, value: T) -> Result<(), minicbor::decode::Error> {
    match slot {
        Some(_) => Err(minicbor::decode::Error::message("repeated field")),
        None => {
            *slot = Some(value);
            Ok(())
        }
    }
}

/// A key the format does not have: refused, not skipped (the objects Apple
/// documents have no other field, and a skipped one is unchecked input).
fn unknown() -> minicbor::decode::Error {
    minicbor::decode::Error::message("unknown field")
}

/// Refuses bytes after the one CBOR item the input must be.
fn at_end(d: &Decoder<'_>, bytes: &[u8]) -> Result<(), minicbor::decode::Error> {
    if d.position() == bytes.len() {
        Ok(())
    } else {
        Err(minicbor::decode::Error::message("trailing bytes"))
    }
}

fn definite(len: Option<u64>) -> Result<u64, minicbor::decode::Error> {
    len.ok_or_else(|| minicbor::decode::Error::message("indefinite length"))
}

/// Verifies an App Attest attestation object made with `client_data_hash`,
/// against the pinned `roots`, at `now` (Unix seconds), under `policy`. When
/// `key_id` is given (the key id the app was handed), it must be the
/// attested key's. Signatures are checked in Rust.
#[cfg(feature = "x509-software")]
pub fn verify_attestation(
    attestation: &[u8],
    client_data_hash: &[u8],
    key_id: Option<&[u8]>,
    roots: &[&[u8]],
    policy: &ApplePolicy,
    now: u64,
) -> Result<AppleAttestation, AttestationRefusal> {
    let software = super::signatures::Software;
    verify_attestation_with(
        attestation,
        client_data_hash,
        key_id,
        roots,
        policy,
        now,
        &software,
    )
}

/// [`verify_attestation`], with the chain's signatures answered by `verifier`.
pub fn verify_attestation_with(
    attestation: &[u8],
    client_data_hash: &[u8],
    key_id: Option<&[u8]>,
    roots: &[&[u8]],
    policy: &ApplePolicy,
    now: u64,
    verifier: &dyn ChainVerifier,
) -> Result<AppleAttestation, AttestationRefusal> {
    let evidence = Evidence {
        attestation,
        client_data_hash,
        key_id,
        roots,
        now,
    };
    verify_attestation_traced(&evidence, policy, verifier, &mut ())
}

/// What a phone sent for an App Attest bind, and what it is checked against.
pub struct Evidence<'e> {
    /// The attestation object (CBOR).
    pub attestation: &'e [u8],
    /// SHA-256 of the client data: the bind challenge.
    pub client_data_hash: &'e [u8],
    /// The key id the app was handed, when known.
    pub key_id: Option<&'e [u8]>,
    /// Pinned root keys (DER SubjectPublicKeyInfo).
    pub roots: &'e [&'e [u8]],
    /// The instant, Unix seconds.
    pub now: u64,
}

/// Every check [`verify_attestation_traced`] records, in order.
pub const CHECKS: [&str; 13] = [
    DECODES,
    CHAIN_PARSES,
    CHAIN_SIGNED,
    CHAIN_ROOT,
    CHAIN_VALID,
    AUTH_DATA,
    NONCE,
    KEY_P256,
    KEY_ID,
    COUNTER_ZERO,
    ENVIRONMENT,
    APP_ALLOWED,
    RECEIPT,
];
const DECODES: &str = "the object decodes: CBOR, format apple-appattest, x5c, receipt, authData";
const CHAIN_PARSES: &str = "x5c is a leaf and an intermediate, DER X.509";
const CHAIN_SIGNED: &str = "the leaf names and is signed by the intermediate";
const CHAIN_ROOT: &str = "the intermediate is signed by the pinned Apple App Attestation root key";
const CHAIN_VALID: &str = "both certificates are valid at the instant";
const AUTH_DATA: &str = "authData parses, with attested credential data";
const NONCE: &str = "the leaf's nonce is SHA-256(authData ‖ clientDataHash)";
const KEY_P256: &str = "the attested key is P-256";
const KEY_ID: &str = "SHA-256 of the key is the credential id (and the key id the app was handed)";
const COUNTER_ZERO: &str = "the counter is 0";
const ENVIRONMENT: &str = "the AAGUID names the policy's environment";
const APP_ALLOWED: &str = "the rpIdHash is SHA-256 of an allowed App ID";
const RECEIPT: &str = "a receipt is kept for the binding (only Apple can check it)";

/// [`verify_attestation_with`], each check recorded in `trace` as it runs.
pub fn verify_attestation_traced(
    evidence: &Evidence<'_>,
    policy: &ApplePolicy,
    verifier: &dyn ChainVerifier,
    trace: &mut dyn Trace,
) -> Result<AppleAttestation, AttestationRefusal> {
    let statement =
        decode_statement(evidence.attestation).map_err(|_| AttestationRefusal::Malformed);
    let statement = step(trace, DECODES, statement)?;
    let certs = x509::parse_chain(&statement.chain)
        .and_then(|certs| ensure(certs.len() == 2, AttestationRefusal::Malformed).map(|()| certs));
    let certs = step(trace, CHAIN_PARSES, certs)?;
    let leaf = check_chain(&certs, evidence.roots, evidence.now, verifier, trace)?;
    let auth =
        AuthData::parse(&statement.auth_data).and_then(|auth| Ok((auth.credential()?, auth)));
    let ((aaguid, credential_id), auth) = step(trace, AUTH_DATA, auth)?;

    let nonce = Sha256::new()
        .chain_update(&statement.auth_data)
        .chain_update(evidence.client_data_hash)
        .finalize();
    let signed = leaf
        .extension(&NONCE_EXTENSION)
        .ok_or(AttestationRefusal::Malformed)
        .and_then(|(extension, _)| nonce_of(extension))
        .and_then(|found| {
            ensure(
                secret_eq(&found, &nonce),
                AttestationRefusal::ChallengeMismatch,
            )
        });
    step(trace, NONCE, signed)?;
    let public_key = step(trace, KEY_P256, x509::p256_point(leaf.spki()))?;
    let digest: [u8; 32] = Sha256::digest(&public_key).into();
    let claimed = evidence.key_id.is_none_or(|id| secret_eq(&digest, id));
    let same = claimed && secret_eq(&digest, credential_id);
    step(trace, KEY_ID, ensure(same, AttestationRefusal::KeyMismatch))?;
    step(
        trace,
        COUNTER_ZERO,
        ensure(auth.counter == 0, AttestationRefusal::CounterNotZero),
    )?;
    let environment = aaguid == policy.environment.aaguid();
    step(
        trace,
        ENVIRONMENT,
        ensure(environment, AttestationRefusal::Environment),
    )?;
    let app_id = step(
        trace,
        APP_ALLOWED,
        allowed_app(&policy.app_ids, auth.rp_id_hash),
    )?;
    trace.record(RECEIPT, None);
    Ok(AppleAttestation {
        public_key,
        key_id: digest,
        app_id,
        environment: policy.environment,
        receipt: statement.receipt,
    })
}

/// Leaf issued by the intermediate, the intermediate signed by a pinned
/// root, every certificate valid at `now`.
fn check_chain<'c, 'a>(
    certs: &'c [Cert<'a>],
    roots: &[&[u8]],
    now: u64,
    verifier: &dyn ChainVerifier,
    trace: &mut dyn Trace,
) -> Result<&'c Cert<'a>, AttestationRefusal> {
    let [leaf, intermediate] = certs else {
        return Err(AttestationRefusal::Malformed);
    };
    step(trace, CHAIN_SIGNED, leaf.issued_by(intermediate, verifier))?;
    let anchored = intermediate.signed_by_any(roots, verifier);
    step(
        trace,
        CHAIN_ROOT,
        ensure(anchored, AttestationRefusal::UntrustedRoot),
    )?;
    let valid = certs.iter().all(|cert| {
        let (not_before, not_after) = cert.validity();
        now >= not_before && now <= not_after
    });
    step(
        trace,
        CHAIN_VALID,
        ensure(valid, AttestationRefusal::Expired),
    )?;
    Ok(leaf)
}

/// The nonce in extension 1.2.840.113635.100.8.2:
/// `SEQUENCE { [1] EXPLICIT OCTET STRING }`.
fn nonce_of(extension: &[u8]) -> Result<Vec<u8>, AttestationRefusal> {
    use der::asn1::{AnyRef, OctetStringRef};
    use der::{Decode, Tag, TagNumber, Tagged};
    let malformed = |_| AttestationRefusal::Malformed;
    let outer = AnyRef::from_der(extension).map_err(malformed)?;
    let tagged = AnyRef::from_der(outer.value()).map_err(malformed)?;
    let expected = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber(1),
    };
    if outer.tag() != Tag::Sequence || tagged.tag() != expected {
        return Err(AttestationRefusal::Malformed);
    }
    let nonce = <&OctetStringRef>::from_der(tagged.value()).map_err(malformed)?;
    Ok(nonce.as_bytes().to_vec())
}

/// The listed App ID whose SHA-256 is `rp_id_hash`.
fn allowed_app(app_ids: &[String], rp_id_hash: &[u8]) -> Result<String, AttestationRefusal> {
    app_ids
        .iter()
        .find(|id| secret_eq(&Sha256::digest(id.as_bytes()), rp_id_hash))
        .cloned()
        .ok_or(AttestationRefusal::AppNotAllowed)
}

/// Verifies an App Attest assertion (CBOR `{signature, authenticatorData}`)
/// over `client_data_hash` by the attested `public_key` (uncompressed SEC1)
/// for one of `app_ids`, and returns the counter the Secure Enclave wrote
/// into it. The caller refuses a counter that did not increase.
pub fn verify_assertion(
    assertion: &[u8],
    client_data_hash: &[u8],
    public_key: &[u8],
    app_ids: &[String],
) -> Result<u32, AttestationRefusal> {
    verify_assertion_traced(assertion, client_data_hash, public_key, app_ids, &mut ())
}

/// Every check [`verify_assertion_traced`] records, in order.
pub const ASSERTION_CHECKS: [&str; 5] = [
    ASSERTION_DECODES,
    ASSERTION_AUTH_DATA,
    ASSERTION_APP,
    ASSERTION_KEY,
    ASSERTION_SIGNED,
];
const ASSERTION_DECODES: &str =
    "the assertion decodes: CBOR {signature, authenticatorData}, nothing after it";
const ASSERTION_AUTH_DATA: &str = "authenticatorData parses: rpIdHash, flags, counter";
const ASSERTION_APP: &str = "the assertion's rpIdHash is SHA-256 of an allowed App ID";
const ASSERTION_KEY: &str = "the attested key is a P-256 point and the signature is DER ECDSA";
const ASSERTION_SIGNED: &str =
    "the attested key signed SHA-256(authenticatorData ‖ clientDataHash)";

/// [`verify_assertion`], each check recorded in `trace` as it runs.
pub fn verify_assertion_traced(
    assertion: &[u8],
    client_data_hash: &[u8],
    public_key: &[u8],
    app_ids: &[String],
    trace: &mut dyn Trace,
) -> Result<u32, AttestationRefusal> {
    let decoded = decode_assertion(assertion).map_err(|_| AttestationRefusal::Malformed);
    let (signature, auth_data) = step(trace, ASSERTION_DECODES, decoded)?;
    let auth = step(trace, ASSERTION_AUTH_DATA, AuthData::parse(auth_data))?;
    step(trace, ASSERTION_APP, allowed_app(app_ids, auth.rp_id_hash))?;
    let nonce = Sha256::new()
        .chain_update(auth_data)
        .chain_update(client_data_hash)
        .finalize();
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key)
        .ok()
        .zip(p256::ecdsa::DerSignature::from_bytes(signature).ok())
        .ok_or(AttestationRefusal::Malformed);
    let (key, signature) = step(trace, ASSERTION_KEY, key)?;
    let signed = key
        .verify(&nonce, &signature)
        .map_err(|_| AttestationRefusal::SignatureInvalid);
    step(trace, ASSERTION_SIGNED, signed)?;
    Ok(auth.counter)
}

/// An assertion's `(signature, authenticatorData)`.
pub(crate) fn decode_assertion(bytes: &[u8]) -> Result<(&[u8], &[u8]), minicbor::decode::Error> {
    let mut d = Decoder::new(bytes);
    let (mut signature, mut auth_data) = (None, None);
    for _ in 0..definite(d.map()?)? {
        match d.str()? {
            "signature" => once(&mut signature, d.bytes()?)?,
            "authenticatorData" => once(&mut auth_data, d.bytes()?)?,
            _ => return Err(unknown()),
        }
    }
    let missing = || minicbor::decode::Error::message("missing field");
    at_end(&d, bytes)?;
    Ok((
        signature.ok_or_else(missing)?,
        auth_data.ok_or_else(missing)?,
    ))
}
