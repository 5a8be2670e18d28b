//! Format `android-key`: Android Key Attestation. The chip key is a Keystore
//! key in the TEE or StrongBox; its certificate chain, leaf first, leads to
//! one of Google's attestation roots, and the leaf's KeyDescription says
//! where the key lives, which challenge it was made for, the boot state and
//! which app made it.
//!
//! Chain rules follow Google's own verifier (`android/keyattestation`):
//! names and signatures link by link; roots pinned by public key (the root
//! certificate itself may be absent); every intermediate valid at the
//! instant, except that expired intermediates of factory-provisioned chains
//! still pass; the leaf's own dates are not checked; basicConstraints are
//! not required (real factory intermediates lack them); only the leaf may
//! carry a KeyDescription. Chain checks all run before any policy check.

use super::AttestationRefusal;
use super::key_description::{ApplicationId, BootState, KeyDescription, SecurityLevel};
use super::signatures::Verifier;
use super::x509::{self, Cert};
use crate::crypto::secret_eq;
use crate::trace::{Trace, ensure, step};
use der::asn1::ObjectIdentifier;

/// The KeyDescription extension.
pub const KEY_DESCRIPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.1.17");
/// The X.520 serialNumber attribute: factory intermediates are named by it.
const SERIAL_NUMBER_ATTRIBUTE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");

/// Google's attestation root keys (DER SubjectPublicKeyInfo): the RSA-4096
/// key reissued as several certificates, and the P-384 "Key Attestation CA1".
pub const GOOGLE_ROOTS: [&[u8]; 2] = [
    include_bytes!("roots/google-rsa-4096.spki.der"),
    include_bytes!("roots/google-key-attestation-ca1.spki.der"),
];

/// An app allowed to bind: its package name and the SHA-256 of its signing
/// certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedApp {
    /// Android package name.
    pub package: String,
    /// SHA-256 of the APK signing certificate.
    pub signing_cert_sha256: [u8; 32],
}

/// What a deployment requires of an Android attestation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AndroidPolicy {
    /// Lowest accepted key security level (never below the TEE).
    pub min_level: SecurityLevel,
    /// Refuse devices whose bootloader is unlocked.
    pub require_locked: bool,
    /// Refuse devices that did not boot a verified system.
    pub require_verified_boot: bool,
    /// Apps allowed to bind; `None` leaves the app unchecked (the operator
    /// command only: a worker requires a list).
    pub allowed_apps: Option<Vec<AllowedApp>>,
}

impl Default for AndroidPolicy {
    /// The strict default: TEE or better, locked, verified boot, and an
    /// empty allow-list (nothing binds until apps are listed).
    fn default() -> Self {
        Self {
            min_level: SecurityLevel::TrustedEnvironment,
            require_locked: true,
            require_verified_boot: true,
            allowed_apps: Some(Vec::new()),
        }
    }
}

/// What a verified Android attestation proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AndroidAttestation {
    /// The attested key, an uncompressed SEC1 P-256 point.
    pub public_key: Vec<u8>,
    /// Where the key lives (the lower of attestation and key level).
    pub level: SecurityLevel,
    /// Whether the bootloader was locked.
    pub device_locked: bool,
    /// The verified-boot state.
    pub boot_state: BootState,
    /// The app that made the key, as Keystore recorded it.
    pub application: Option<ApplicationId>,
}

/// The serials (lowercase hex) of every certificate the chain's status
/// checks cover, leaf first: what a caller looks up in the status list.
pub fn status_serials(chain: &[Vec<u8>]) -> Result<Vec<String>, AttestationRefusal> {
    Ok(x509::parse_chain(chain)?
        .iter()
        .map(Cert::serial_hex)
        .collect())
}

/// Verifies an attestation chain (DER certificates, leaf first) made for
/// `challenge`, against the pinned `roots`, at `now` (Unix seconds), under
/// `policy`. `revoked` says whether a serial (lowercase hex) is revoked or
/// suspended in the status list. Signatures are checked in Rust.
#[cfg(feature = "x509-software")]
pub fn verify(
    chain: &[Vec<u8>],
    challenge: &[u8],
    roots: &[&[u8]],
    revoked: &dyn Fn(&str) -> bool,
    policy: &AndroidPolicy,
    now: u64,
) -> Result<AndroidAttestation, AttestationRefusal> {
    let software = super::signatures::Software;
    verify_with(chain, challenge, roots, revoked, policy, now, &software)
}

/// [`verify`], with the chain's signatures answered by `verifier`.
pub fn verify_with(
    chain: &[Vec<u8>],
    challenge: &[u8],
    roots: &[&[u8]],
    revoked: &dyn Fn(&str) -> bool,
    policy: &AndroidPolicy,
    now: u64,
    verifier: &dyn Verifier,
) -> Result<AndroidAttestation, AttestationRefusal> {
    let mut nothing = ();
    let evidence = Evidence {
        chain,
        challenge,
        roots,
        revoked,
        now,
    };
    verify_traced(&evidence, policy, verifier, &mut nothing)
}

/// What a phone sent for an Android bind, and what it is checked against.
pub struct Evidence<'e> {
    /// DER certificates, leaf first.
    pub chain: &'e [Vec<u8>],
    /// The bind challenge the KeyDescription must carry.
    pub challenge: &'e [u8],
    /// Pinned root keys (DER SubjectPublicKeyInfo).
    pub roots: &'e [&'e [u8]],
    /// Whether a certificate serial (lowercase hex) is revoked.
    pub revoked: &'e dyn Fn(&str) -> bool,
    /// The instant, Unix seconds.
    pub now: u64,
}

/// Every check [`verify_traced`] records, in order.
pub const CHECKS: [&str; 14] = [
    CHAIN_PARSES,
    CHAIN_SHAPE,
    CHAIN_SIGNED,
    CHAIN_ROOT,
    CHAIN_INTERMEDIATES,
    CHAIN_NOT_REVOKED,
    LEAF_KEY_DESCRIPTION,
    LEAF_P256,
    CHALLENGE,
    SECURITY_LEVEL,
    ROOT_OF_TRUST,
    DEVICE_LOCKED,
    VERIFIED_BOOT,
    APP_ALLOWED,
];
const CHAIN_PARSES: &str = "each certificate parses: DER X.509, at most 6 of 8 KiB";
const CHAIN_SHAPE: &str = "a leaf and at least one intermediate below the root";
const CHAIN_SIGNED: &str = "each certificate names and is signed by the next";
const CHAIN_ROOT: &str = "the chain ends at a pinned Google root key";
const CHAIN_INTERMEDIATES: &str = "every intermediate is valid at the instant (expired factory ones pass) and carries no KeyDescription";
const CHAIN_NOT_REVOKED: &str = "no certificate is revoked in the status list";
const LEAF_KEY_DESCRIPTION: &str = "the leaf carries a non-critical KeyDescription that parses";
const LEAF_P256: &str = "the attested key is P-256";
const CHALLENGE: &str = "the KeyDescription's challenge is the bind challenge";
const SECURITY_LEVEL: &str = "the key was generated in secure hardware, attestation and key at one level, at least the policy's";
const ROOT_OF_TRUST: &str = "the KeyDescription has a root of trust";
const DEVICE_LOCKED: &str = "the bootloader is locked (if the policy requires it)";
const VERIFIED_BOOT: &str = "the boot is verified (if the policy requires it)";
const APP_ALLOWED: &str = "the app is one the policy allows (if it lists apps)";

/// [`verify_with`], each check recorded in `trace` as it runs.
pub fn verify_traced(
    evidence: &Evidence<'_>,
    policy: &AndroidPolicy,
    verifier: &dyn Verifier,
    trace: &mut dyn Trace,
) -> Result<AndroidAttestation, AttestationRefusal> {
    let certs = step(trace, CHAIN_PARSES, x509::parse_chain(evidence.chain))?;
    let leaf = check_chain(&certs, evidence, verifier, trace)?;
    let description = step(trace, LEAF_KEY_DESCRIPTION, key_description(leaf))?;
    let public_key = step(trace, LEAF_P256, x509::p256_point(leaf.spki()))?;
    let same = secret_eq(&description.challenge, evidence.challenge);
    step(
        trace,
        CHALLENGE,
        ensure(same, AttestationRefusal::ChallengeMismatch),
    )?;
    check_policy(description, public_key, policy, trace)
}

/// The leaf's KeyDescription, which must not be marked critical.
pub fn key_description(leaf: &Cert<'_>) -> Result<KeyDescription, AttestationRefusal> {
    let (extension, critical) = leaf
        .extension(&KEY_DESCRIPTION)
        .ok_or(AttestationRefusal::Malformed)?;
    ensure(!critical, AttestationRefusal::Malformed)?;
    KeyDescription::parse(extension)
}

/// Names, signatures, dates, extension placement and status of the chain;
/// returns the leaf.
fn check_chain<'c, 'a>(
    certs: &'c [Cert<'a>],
    evidence: &Evidence<'_>,
    verifier: &dyn Verifier,
    trace: &mut dyn Trace,
) -> Result<&'c Cert<'a>, AttestationRefusal> {
    let roots = evidence.roots;
    // The chain without its root certificate, if the root is there.
    let (path, root) = match certs.split_last() {
        Some((last, rest)) if roots.contains(&last.spki()) => (rest, Some(last)),
        _ => (certs, None),
    };
    let shape = path
        .split_first()
        .and_then(|(leaf, intermediates)| Some((leaf, intermediates, intermediates.last()?)))
        .ok_or(AttestationRefusal::Malformed);
    let (leaf, intermediates, top) = step(trace, CHAIN_SHAPE, shape)?;
    let links = path.windows(2).try_for_each(|pair| match pair {
        [child, parent] => child.issued_by(parent, verifier),
        _ => Ok(()),
    });
    step(trace, CHAIN_SIGNED, links)?;
    let anchored = match root {
        Some(root) => top.issued_by(root, verifier),
        None => ensure(
            top.signed_by_any(roots, verifier),
            AttestationRefusal::UntrustedRoot,
        ),
    };
    step(trace, CHAIN_ROOT, anchored)?;
    let factory = names_serial_number(top);
    // Certificate by certificate: the first one's fault is the refusal.
    let intermediates_ok = intermediates.iter().try_for_each(|cert| {
        let (not_before, not_after) = cert.validity();
        let valid = evidence.now >= not_before && (evidence.now <= not_after || factory);
        ensure(valid, AttestationRefusal::Expired)?;
        let placed = cert.extension(&KEY_DESCRIPTION).is_none();
        ensure(placed, AttestationRefusal::Malformed)
    });
    step(trace, CHAIN_INTERMEDIATES, intermediates_ok)?;
    let revoked = path
        .iter()
        .any(|cert| (evidence.revoked)(&cert.serial_hex()));
    step(
        trace,
        CHAIN_NOT_REVOKED,
        ensure(!revoked, AttestationRefusal::Revoked),
    )?;
    Ok(leaf)
}

/// Whether the certificate's subject has a serialNumber attribute: the mark
/// of a factory-provisioned intermediate (remotely provisioned ones are
/// named "Droid CA2").
fn names_serial_number(cert: &Cert<'_>) -> bool {
    cert.subject_names(&SERIAL_NUMBER_ATTRIBUTE)
}

fn check_policy(
    description: KeyDescription,
    public_key: Vec<u8>,
    policy: &AndroidPolicy,
    trace: &mut dyn Trace,
) -> Result<AndroidAttestation, AttestationRefusal> {
    let level = description.attestation_level.min(description.key_level);
    let floor = policy.min_level.max(SecurityLevel::TrustedEnvironment);
    let secure = description.generated
        && description.attestation_level == description.key_level
        && level >= floor;
    step(
        trace,
        SECURITY_LEVEL,
        ensure(secure, AttestationRefusal::SecurityLevel),
    )?;
    let root = description
        .root_of_trust
        .ok_or(AttestationRefusal::BootNotVerified);
    let root = step(trace, ROOT_OF_TRUST, root)?;
    let locked = !policy.require_locked || root.device_locked;
    step(
        trace,
        DEVICE_LOCKED,
        ensure(locked, AttestationRefusal::DeviceNotLocked),
    )?;
    let booted = !policy.require_verified_boot || root.boot_state == BootState::Verified;
    step(
        trace,
        VERIFIED_BOOT,
        ensure(booted, AttestationRefusal::BootNotVerified),
    )?;
    let allowed = policy.allowed_apps.as_ref().is_none_or(|allowed| {
        let app = description.application.as_ref();
        allowed.iter().any(|a: &AllowedApp| {
            app.is_some_and(|id| {
                id.packages.contains(&a.package)
                    && id
                        .signatures
                        .iter()
                        .any(|s| s.as_slice() == a.signing_cert_sha256.as_slice())
            })
        })
    });
    step(
        trace,
        APP_ALLOWED,
        ensure(allowed, AttestationRefusal::AppNotAllowed),
    )?;
    Ok(AndroidAttestation {
        public_key,
        level,
        device_locked: root.device_locked,
        boot_state: root.boot_state,
        application: description.application,
    })
}

/// A policy file or variable that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not JSON, or not the documented shape (unknown fields, wrong types).
    #[error("the policy is not valid JSON of the documented shape")]
    Shape,
    /// A `minSecurityLevel` other than `tee` or `strongbox`.
    #[error("minSecurityLevel must be \"tee\" or \"strongbox\"")]
    Level,
    /// A `signingCertSha256` that is not 32 bytes of hex (colons allowed).
    #[error("signingCertSha256 must be 32 bytes of hex (colons allowed)")]
    Digest,
}

/// The JSON shape of an Android policy, all fields optional (absent means
/// the strict default; an absent `allowedApps` leaves the app unchecked,
/// which a worker refuses to start with):
///
/// ```json
/// {"minSecurityLevel": "tee", "requireLocked": true, "requireVerifiedBoot": true,
///  "allowedApps": [{"package": "com.example.bank", "signingCertSha256": "hex"}]}
/// ```
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PolicyJson {
    min_security_level: Option<String>,
    require_locked: Option<bool>,
    require_verified_boot: Option<bool>,
    allowed_apps: Option<Vec<AppJson>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AppJson {
    package: String,
    signing_cert_sha256: String,
}

impl AndroidPolicy {
    /// Reads a policy from its JSON shape (see [`PolicyJson`]'s docs).
    pub fn from_json(json: &str) -> Result<Self, PolicyError> {
        let wire: PolicyJson =
            serde_json::from_slice(json.as_bytes()).map_err(|_| PolicyError::Shape)?;
        let strict = Self::default();
        let min_level = match wire.min_security_level.as_deref() {
            None => strict.min_level,
            Some(label) => match SecurityLevel::from_label(label) {
                Some(level) if level >= SecurityLevel::TrustedEnvironment => level,
                _ => return Err(PolicyError::Level),
            },
        };
        let allowed_apps = wire
            .allowed_apps
            .map(|apps| {
                apps.into_iter()
                    .map(|app| {
                        Ok(AllowedApp {
                            signing_cert_sha256: digest_hex(&app.signing_cert_sha256)?,
                            package: app.package,
                        })
                    })
                    .collect::<Result<Vec<_>, PolicyError>>()
            })
            .transpose()?;
        Ok(Self {
            min_level,
            require_locked: wire.require_locked.unwrap_or(strict.require_locked),
            require_verified_boot: wire
                .require_verified_boot
                .unwrap_or(strict.require_verified_boot),
            allowed_apps,
        })
    }
}

/// 32 bytes from hex, with or without `:` between bytes (as `apksigner` and
/// `keytool` print them).
fn digest_hex(text: &str) -> Result<[u8; 32], PolicyError> {
    let digits: Vec<u8> = text.bytes().filter(|b| *b != b':').collect();
    let nibble = |b: u8| char::from(b).to_digit(16).ok_or(PolicyError::Digest);
    let mut out = [0u8; 32];
    if digits.len() != out.len() * 2 {
        return Err(PolicyError::Digest);
    }
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        if let [high, low] = pair {
            let value = nibble(*high)? * 16 + nibble(*low)?;
            *byte = u8::try_from(value).map_err(|_| PolicyError::Digest)?;
        }
    }
    Ok(out)
}
