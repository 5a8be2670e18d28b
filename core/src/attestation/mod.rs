//! Chip attestations, one module per format:
//!
//! - [`simbind_p256`]: a raw P-256 key signs the transcript, optionally
//!   vouched for by a vendor certificate ([`vendor`]).
//! - [`android_key`]: Android Key Attestation (a Keystore key in the TEE or
//!   StrongBox, an X.509 chain to Google's roots).
//! - [`apple_appattest`]: Apple App Attest (a Secure Enclave key, a CBOR
//!   attestation to Apple's root, assertions with a counter).
//!
//! A real-format chip has no serial: its identity is its *key id*, the
//! SHA-256 of the attested key's uncompressed SEC1 point (App Attest's own
//! key id), written base64url where a serial would be.

pub mod android_key;
pub mod apple_appattest;
pub mod key_description;
pub mod refusal;
pub mod signatures;
pub mod simbind_p256;
pub mod status_list;
pub mod vendor;
pub mod x509;

pub use refusal::AttestationRefusal;

use sha2::{Digest, Sha256};

use crate::ValidationError;
use crate::codec::b64;
use crate::crypto::PublicKey;
use crate::identifiers::ChipSerial;
use android_key::AndroidPolicy;
use apple_appattest::ApplePolicy;
use vendor::VendorCertificate;

/// Domain label of the bind attestation challenge.
pub const BIND_CHALLENGE_DOMAIN: &[u8] = b"SIMBIND-ATTEST-BIND";

/// Chip attestation formats this build understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChipFormat {
    /// Raw P-256 key in the secure chip, ECDSA over the transcript.
    SimbindP256,
    /// Android Key Attestation; the key signs the transcript.
    AndroidKey,
    /// Apple App Attest; the key answers with assertions.
    AppleAppAttest,
}

impl ChipFormat {
    /// Every format, for configuration and documentation.
    pub const ALL: [ChipFormat; 3] = [Self::SimbindP256, Self::AndroidKey, Self::AppleAppAttest];

    /// The wire label.
    pub fn label(self) -> &'static str {
        match self {
            Self::SimbindP256 => "simbind-p256",
            Self::AndroidKey => "android-key",
            Self::AppleAppAttest => "apple-appattest",
        }
    }

    /// Parses the wire label. The refusal does not repeat the input.
    pub fn parse(label: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|f| f.label() == label)
            .ok_or(ValidationError::UnsupportedFormat)
    }

    /// Whether the chip's identity is its attested key (no serial claim).
    pub fn key_is_identity(self) -> bool {
        self != Self::SimbindP256
    }
}

/// Attestation material a real-format chip sends when it binds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChipEvidence {
    /// Android: DER certificates, leaf first.
    AndroidChain(Vec<Vec<u8>>),
    /// Apple: the CBOR attestation object.
    AppleAttestation(Vec<u8>),
}

/// What the chip says about itself, validated.
#[derive(Clone, Debug)]
pub struct ChipIdentity {
    /// The chip's format.
    pub format: ChipFormat,
    /// `simbind-p256`: the chip serial; real formats: the key id.
    pub serial: ChipSerial,
    /// `simbind-p256` only: the chip's key (real formats take theirs from
    /// the attestation, then from the binding).
    pub public_key: Option<PublicKey>,
    /// `simbind-p256` only: a vendor certificate.
    pub certificate: Option<VendorCertificate>,
    /// Real formats, at bind: the attestation.
    pub evidence: Option<ChipEvidence>,
}

/// The key id of a P-256 key: base64url of SHA-256 of its uncompressed
/// SEC1 point.
pub fn key_id(key: &PublicKey) -> String {
    b64(&Sha256::digest(key.to_uncompressed()))
}

/// The challenge a real-format chip's attestation must carry at bind (the
/// Android `attestationChallenge`, the App Attest `clientDataHash`): it ties
/// the attestation to this server challenge, audience and registration.
///
/// ```text
/// SHA-256( field("SIMBIND-ATTEST-BIND") || field(challenge) || field(audience)
///          || field(registration id) )
/// ```
pub fn bind_challenge(challenge: &[u8], audience: &str, registration_id: &str) -> [u8; 32] {
    crate::codec::bind_digest(BIND_CHALLENGE_DOMAIN, challenge, audience, registration_id)
}

/// Which formats a deployment accepts at bind, and what each must prove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationPolicy {
    /// Formats a bind may use.
    pub formats: Vec<ChipFormat>,
    /// Android requirements.
    pub android: AndroidPolicy,
    /// Pinned Android roots (DER SubjectPublicKeyInfo).
    pub android_roots: Vec<Vec<u8>>,
    /// App Attest requirements.
    pub apple: ApplePolicy,
    /// Pinned App Attest roots (DER SubjectPublicKeyInfo).
    pub apple_roots: Vec<Vec<u8>>,
}

impl Default for AttestationPolicy {
    /// Core's default accepts only `simbind-p256` (what tests and the demo
    /// use); the worker's production default accepts only the real formats.
    fn default() -> Self {
        Self {
            formats: vec![ChipFormat::SimbindP256],
            android: AndroidPolicy::default(),
            android_roots: android_key::GOOGLE_ROOTS
                .iter()
                .map(|r| r.to_vec())
                .collect(),
            apple: ApplePolicy::default(),
            apple_roots: vec![apple_appattest::APPLE_ROOT.to_vec()],
        }
    }
}

/// What the host found out about a bind's attestation before it is
/// decided: the status list's word, and the chain signatures it checked
/// with its own primitive (see [`bind_signature_checks`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttestationFacts {
    /// Serials (lowercase hex) of the presented chain that the list refuses.
    pub refused_serials: Vec<String>,
    /// The list is older than the deployment accepts: refuse Android binds.
    pub stale: bool,
    /// Chain signatures the host checked; each counts only for exactly the
    /// check it names. A check not among them is answered in Rust, or
    /// refused in a build without the `x509-software` primitives.
    #[serde(default)]
    pub checked_signatures: Vec<signatures::CheckedSignature>,
}

/// A key a real-format attestation proved, with what to keep of it.
#[derive(Clone, Debug)]
pub struct AttestedKey {
    /// The attested key.
    pub key: PublicKey,
    /// Apple's receipt, base64url, to keep with the binding.
    pub receipt: Option<String>,
}

/// Verifies the attestation a real-format chip sent at bind, made for
/// `challenge` (see [`bind_challenge`]), at `now`.
pub fn verify_bind_evidence(
    chip: &ChipIdentity,
    evidence: &ChipEvidence,
    challenge: &[u8; 32],
    policy: &AttestationPolicy,
    facts: &AttestationFacts,
    now: u64,
) -> Result<AttestedKey, AttestationRefusal> {
    let prechecked = signatures::Prechecked {
        checked: &facts.checked_signatures,
    };
    let bind = Bind {
        chip,
        evidence,
        challenge,
        policy,
        status: facts,
        now,
    };
    verify_with(&bind, &prechecked, &mut ())
}

/// [`verify_bind_evidence`] with the chain signatures checked in Rust and
/// each check recorded in `trace`: the format's own `CHECKS`, then
/// [`KEY_IS_CHIP`].
#[cfg(feature = "x509-software")]
pub fn verify_bind_evidence_traced(
    chip: &ChipIdentity,
    evidence: &ChipEvidence,
    challenge: &[u8; 32],
    policy: &AttestationPolicy,
    facts: &AttestationFacts,
    now: u64,
    trace: &mut dyn crate::trace::Trace,
) -> Result<AttestedKey, AttestationRefusal> {
    let bind = Bind {
        chip,
        evidence,
        challenge,
        policy,
        status: facts,
        now,
    };
    verify_with(&bind, &signatures::Software, trace)
}

/// The last check of a bind's attestation: the attested key is the chip
/// the request names.
pub const KEY_IS_CHIP: &str = "the attested key's id is the chip's key id in the request";

/// Every chain signature [`verify_bind_evidence`] can ask about for this
/// evidence, for a host that checks them with its own primitive first.
pub fn bind_signature_checks(
    chip: &ChipIdentity,
    evidence: &ChipEvidence,
    policy: &AttestationPolicy,
    now: u64,
) -> Vec<signatures::SignatureCheck> {
    let recorder = signatures::Recorder::default();
    let facts = AttestationFacts::default();
    let bind = Bind {
        chip,
        evidence,
        challenge: &[0; 32],
        policy,
        status: &facts,
        now,
    };
    // Only the checks asked for matter here, not the verdict.
    let _ = verify_with(&bind, &recorder, &mut ());
    recorder.checks.into_inner()
}

/// A bind's attestation and what it is checked against.
struct Bind<'a> {
    chip: &'a ChipIdentity,
    evidence: &'a ChipEvidence,
    challenge: &'a [u8; 32],
    policy: &'a AttestationPolicy,
    status: &'a AttestationFacts,
    now: u64,
}

fn verify_with(
    bind: &Bind<'_>,
    verifier: &dyn signatures::Verifier,
    trace: &mut dyn crate::trace::Trace,
) -> Result<AttestedKey, AttestationRefusal> {
    let (policy, status, now) = (bind.policy, bind.status, bind.now);
    let (point, receipt) = match (bind.chip.format, bind.evidence) {
        (ChipFormat::AndroidKey, ChipEvidence::AndroidChain(chain)) => {
            if status.stale {
                return Err(AttestationRefusal::StatusUnavailable);
            }
            let roots: Vec<&[u8]> = policy.android_roots.iter().map(Vec::as_slice).collect();
            let refused = |serial: &str| status.refused_serials.iter().any(|s| s == serial);
            let evidence = android_key::Evidence {
                chain,
                challenge: bind.challenge,
                roots: &roots,
                revoked: &refused,
                now,
            };
            let attested = android_key::verify_traced(&evidence, &policy.android, verifier, trace)?;
            (attested.public_key, None)
        }
        (ChipFormat::AppleAppAttest, ChipEvidence::AppleAttestation(object)) => {
            let roots: Vec<&[u8]> = policy.apple_roots.iter().map(Vec::as_slice).collect();
            let evidence = apple_appattest::Evidence {
                attestation: object,
                client_data_hash: bind.challenge,
                key_id: None,
                roots: &roots,
                now,
            };
            let attested = apple_appattest::verify_attestation_traced(
                &evidence,
                &policy.apple,
                verifier,
                trace,
            )?;
            (attested.public_key, Some(b64(&attested.receipt)))
        }
        _ => return Err(AttestationRefusal::Malformed),
    };
    let key = PublicKey::from_sec1(&point).map_err(|_| AttestationRefusal::UnsupportedKey);
    let same = key.and_then(|key| {
        let same = key_id(&key) == bind.chip.serial.as_str();
        crate::trace::ensure(same, AttestationRefusal::KeyMismatch).map(|()| key)
    });
    let key = crate::trace::step(trace, KEY_IS_CHIP, same)?;
    Ok(AttestedKey { key, receipt })
}
