//! A test-only attestation issuer: Android Key Attestation chains and Apple
//! App Attest objects and assertions, in the real formats, under a P-256
//! root that only test configurations trust. Used by the core tests and by
//! the `test_attestation` example the end-to-end suites call.
//!
//! DER is written by hand (a few lines per type) so the tests can also build
//! what a real issuer never would: a critical KeyDescription, one on an
//! intermediate, certificates outside their dates.

#![allow(dead_code)]

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use sha2::{Digest, Sha256};

/// One DER TLV with a one-byte tag.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(length(content.len()));
    out.extend_from_slice(content);
    out
}

fn length(n: usize) -> Vec<u8> {
    if n < 0x80 {
        return vec![n as u8];
    }
    let bytes: Vec<u8> = n
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

pub fn set(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x31, &parts.concat())
}

pub fn int(n: u64) -> Vec<u8> {
    let mut bytes: Vec<u8> = n
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    if bytes.first().is_none_or(|b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    tlv(0x02, &bytes)
}

pub fn enumerated(n: u8) -> Vec<u8> {
    tlv(0x0a, &[n])
}

pub fn octets(bytes: &[u8]) -> Vec<u8> {
    tlv(0x04, bytes)
}

pub fn boolean(value: bool) -> Vec<u8> {
    tlv(0x01, &[if value { 0xff } else { 0 }])
}

pub fn bits(bytes: &[u8]) -> Vec<u8> {
    let mut content = vec![0];
    content.extend_from_slice(bytes);
    tlv(0x03, &content)
}

pub fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap()).collect();
    let mut content = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &arc in &arcs[2..] {
        let mut chunk = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            chunk.insert(0, 0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        content.extend(chunk);
    }
    tlv(0x06, &content)
}

/// `[number] EXPLICIT`, in the high-tag form when `number` is 31 or more.
pub fn explicit(number: u32, content: &[u8]) -> Vec<u8> {
    let mut out = if number < 31 {
        vec![0xa0 | number as u8]
    } else {
        let mut tag = vec![0xbf];
        let mut chunk = vec![(number & 0x7f) as u8];
        let mut rest = number >> 7;
        while rest > 0 {
            chunk.insert(0, 0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        tag.extend(chunk);
        tag
    };
    out.extend(length(content.len()));
    out.extend_from_slice(content);
    out
}

/// UTCTime (years before 2050) of Unix seconds, from core's RFC 3339 writer.
pub fn utc_time(secs: u64) -> Vec<u8> {
    let text = simbind_core::carrier::format_date_time(secs); // YYYY-MM-DDThh:mm:ssZ
    let year: u32 = text[..4].parse().unwrap();
    assert!((1950..2050).contains(&year), "UTCTime covers 1950..2049");
    let digits: String = text[2..].chars().filter(char::is_ascii_digit).collect();
    tlv(0x17, format!("{digits}Z").as_bytes())
}

pub fn name(common_name: &str) -> Vec<u8> {
    seq(&[set(&[seq(&[
        oid("2.5.4.3"),
        tlv(0x0c, common_name.as_bytes()),
    ])])])
}

pub fn spki(key: &SigningKey) -> Vec<u8> {
    let point = key.verifying_key().to_sec1_point(false);
    seq(&[
        seq(&[oid("1.2.840.10045.2.1"), oid("1.2.840.10045.3.1.7")]),
        bits(point.as_bytes()),
    ])
}

/// One extension: `(oid, critical, value)`.
pub type Ext = (&'static str, bool, Vec<u8>);

/// A certificate signed (ECDSA/SHA-256) by `issuer_key`.
pub struct CertSpec<'a> {
    pub serial: u64,
    pub issuer: &'a str,
    pub subject: &'a str,
    pub not_before: u64,
    pub not_after: u64,
    pub key: &'a SigningKey,
    pub issuer_key: &'a SigningKey,
    pub extensions: Vec<Ext>,
}

pub fn certificate(spec: &CertSpec<'_>) -> Vec<u8> {
    let algorithm = seq(&[oid("1.2.840.10045.4.3.2")]);
    let mut tbs = vec![
        explicit(0, &int(2)),
        int(spec.serial),
        algorithm.clone(),
        name(spec.issuer),
        seq(&[utc_time(spec.not_before), utc_time(spec.not_after)]),
        name(spec.subject),
        spki(spec.key),
    ];
    if !spec.extensions.is_empty() {
        let exts: Vec<Vec<u8>> = spec
            .extensions
            .iter()
            .map(|(id, critical, value)| {
                let mut parts = vec![oid(id)];
                if *critical {
                    parts.push(boolean(true));
                }
                parts.push(octets(value));
                seq(&parts)
            })
            .collect();
        tbs.push(explicit(3, &seq(&exts)));
    }
    let tbs = seq(&tbs);
    let signature: Signature = spec.issuer_key.sign(&tbs);
    seq(&[tbs, algorithm, bits(signature.to_der().as_bytes())])
}

/// The test root: a fixed P-256 key. Only test configurations pin it.
pub fn test_root_key() -> SigningKey {
    SigningKey::from_slice(&[0x52; 32]).unwrap()
}

fn intermediate_key() -> SigningKey {
    SigningKey::from_slice(&[0x49; 32]).unwrap()
}

/// The test root's SubjectPublicKeyInfo (what a test policy pins).
pub fn test_root_spki() -> Vec<u8> {
    spki(&test_root_key())
}

pub const KEY_DESCRIPTION: &str = "1.3.6.1.4.1.11129.2.1.17";
/// 2024-01-01 and 2049-01-01: the default validity of test intermediates.
pub const NOT_BEFORE: u64 = 1_704_067_200;
pub const NOT_AFTER: u64 = 2_493_072_000;

/// What a generated Android chain says.
#[derive(Clone)]
pub struct AndroidSpec {
    pub challenge: Vec<u8>,
    /// 0 software, 1 TEE, 2 StrongBox.
    pub level: u8,
    pub locked: bool,
    /// 0 verified, 1 self-signed, 2 unverified, 3 failed.
    pub boot_state: u8,
    pub package: String,
    pub signing_digest: [u8; 32],
    pub critical: bool,
    pub on_intermediate: bool,
    pub intermediate_dates: (u64, u64),
    /// Keystore's origin tag: 0 generated, 2 imported.
    pub origin: u64,
    /// The origin INTEGER's content bytes, written as they are.
    pub origin_content: Option<Vec<u8>>,
    /// Bytes of a dummy extension added to the leaf (to reach a size).
    pub leaf_padding: usize,
    /// The key's level when it differs from the attestation's.
    pub key_level: Option<u8>,
}

impl AndroidSpec {
    pub fn new(challenge: &[u8]) -> Self {
        Self {
            challenge: challenge.to_vec(),
            level: 1,
            locked: true,
            boot_state: 0,
            package: "com.example.bank".into(),
            signing_digest: [0xab; 32],
            critical: false,
            on_intermediate: false,
            intermediate_dates: (NOT_BEFORE, NOT_AFTER),
            origin: 0,
            origin_content: None,
            leaf_padding: 0,
            key_level: None,
        }
    }
}

/// The allowed-app entry matching [`AndroidSpec::new`]'s app.
pub const TEST_PACKAGE: &str = "com.example.bank";
pub const TEST_SIGNING_DIGEST: [u8; 32] = [0xab; 32];

pub fn key_description(spec: &AndroidSpec) -> Vec<u8> {
    let app = seq(&[
        set(&[seq(&[octets(spec.package.as_bytes()), int(1)])]),
        set(&[octets(&spec.signing_digest)]),
    ]);
    let software = seq(&[explicit(709, &octets(&app))]);
    let root_of_trust = seq(&[
        octets(&[0x11; 32]),
        boolean(spec.locked),
        enumerated(spec.boot_state),
        octets(&[0x22; 32]),
    ]);
    let origin = match &spec.origin_content {
        Some(content) => tlv(0x02, content),
        None => int(spec.origin),
    };
    let hardware = seq(&[explicit(702, &origin), explicit(704, &root_of_trust)]);
    seq(&[
        int(300),
        enumerated(spec.level),
        int(300),
        enumerated(spec.key_level.unwrap_or(spec.level)),
        octets(&spec.challenge),
        octets(&[]),
        software,
        hardware,
    ])
}

/// An Android Key Attestation chain for `chip`, leaf first, root last.
pub fn android_chain(chip: &SigningKey, spec: &AndroidSpec) -> Vec<Vec<u8>> {
    let root = test_root_key();
    let intermediate = intermediate_key();
    let description = (KEY_DESCRIPTION, spec.critical, key_description(spec));
    let mut leaf_extensions = vec![description.clone()];
    if spec.leaf_padding > 0 {
        leaf_extensions.push(("1.3.6.1.4.1.55555.1", false, vec![0; spec.leaf_padding]));
    }
    let leaf = certificate(&CertSpec {
        serial: 1,
        issuer: "SimBind Test TEE",
        subject: "Android Keystore Key",
        not_before: 0,
        not_after: NOT_AFTER,
        key: chip,
        issuer_key: &intermediate,
        extensions: leaf_extensions,
    });
    let middle = certificate(&CertSpec {
        serial: 0x7e57,
        issuer: "SimBind Test Attestation Root",
        subject: "SimBind Test TEE",
        not_before: spec.intermediate_dates.0,
        not_after: spec.intermediate_dates.1,
        key: &intermediate,
        issuer_key: &root,
        extensions: if spec.on_intermediate {
            vec![description]
        } else {
            vec![]
        },
    });
    let top = certificate(&CertSpec {
        serial: 0x2007,
        issuer: "SimBind Test Attestation Root",
        subject: "SimBind Test Attestation Root",
        not_before: NOT_BEFORE,
        not_after: NOT_AFTER,
        key: &root,
        issuer_key: &root,
        extensions: vec![],
    });
    vec![leaf, middle, top]
}

pub const APPLE_NONCE: &str = "1.2.840.113635.100.8.2";
pub const TEST_APP_ID: &str = "ABCDE12345.com.example.bank";

/// The key id of `key`: SHA-256 of its uncompressed point.
pub fn key_id(key: &SigningKey) -> [u8; 32] {
    Sha256::digest(key.verifying_key().to_sec1_point(false).as_bytes()).into()
}

/// What a generated App Attest object says.
#[derive(Clone)]
pub struct AppleSpec {
    pub client_data_hash: [u8; 32],
    pub app_id: String,
    pub aaguid: [u8; 16],
    pub counter: u32,
    /// CBOR appended after the COSE key without the ED flag (newer iOS).
    pub trailing: Vec<u8>,
    /// The tag wrapping the nonce extension (a SEQUENCE, 0x30).
    pub nonce_outer_tag: u8,
}

impl AppleSpec {
    pub fn new(client_data_hash: [u8; 32]) -> Self {
        Self {
            client_data_hash,
            app_id: TEST_APP_ID.into(),
            aaguid: *b"appattestdevelop",
            counter: 0,
            trailing: Vec::new(),
            nonce_outer_tag: 0x30,
        }
    }
}

fn cose_key(chip: &SigningKey) -> Vec<u8> {
    let point = chip.verifying_key().to_sec1_point(false);
    let bytes = point.as_bytes();
    let mut e = minicbor::Encoder::new(Vec::new());
    e.map(5).unwrap();
    e.i8(1).unwrap().i8(2).unwrap(); // kty: EC2
    e.i8(3).unwrap().i8(-7).unwrap(); // alg: ES256
    e.i8(-1).unwrap().i8(1).unwrap(); // crv: P-256
    e.i8(-2).unwrap().bytes(&bytes[1..33]).unwrap();
    e.i8(-3).unwrap().bytes(&bytes[33..65]).unwrap();
    e.into_writer()
}

/// An App Attest attestation object for `chip`.
pub fn apple_attestation(chip: &SigningKey, spec: &AppleSpec) -> Vec<u8> {
    let root = test_root_key();
    let intermediate = intermediate_key();
    let id = key_id(chip);
    let mut auth_data = Sha256::digest(spec.app_id.as_bytes()).to_vec();
    auth_data.push(0x40);
    auth_data.extend(spec.counter.to_be_bytes());
    auth_data.extend(spec.aaguid);
    auth_data.extend(32u16.to_be_bytes());
    auth_data.extend(id);
    auth_data.extend(cose_key(chip));
    auth_data.extend(&spec.trailing);
    let nonce = Sha256::new()
        .chain_update(&auth_data)
        .chain_update(spec.client_data_hash)
        .finalize();
    let nonce_ext = tlv(spec.nonce_outer_tag, &explicit(1, &octets(&nonce)));
    let leaf = certificate(&CertSpec {
        serial: 3,
        issuer: "SimBind Test App Attestation CA",
        subject: "test app attest key",
        not_before: NOT_BEFORE,
        not_after: NOT_AFTER,
        key: chip,
        issuer_key: &intermediate,
        extensions: vec![(APPLE_NONCE, false, nonce_ext)],
    });
    let middle = certificate(&CertSpec {
        serial: 4,
        issuer: "SimBind Test Attestation Root",
        subject: "SimBind Test App Attestation CA",
        not_before: NOT_BEFORE,
        not_after: NOT_AFTER,
        key: &intermediate,
        issuer_key: &root,
        extensions: vec![],
    });
    let mut e = minicbor::Encoder::new(Vec::new());
    e.map(3).unwrap();
    e.str("fmt").unwrap().str("apple-appattest").unwrap();
    e.str("attStmt").unwrap().map(2).unwrap();
    e.str("x5c").unwrap().array(2).unwrap();
    e.bytes(&leaf).unwrap().bytes(&middle).unwrap();
    e.str("receipt").unwrap().bytes(b"test receipt").unwrap();
    e.str("authData").unwrap().bytes(&auth_data).unwrap();
    e.into_writer()
}

/// An App Attest assertion by `chip` over `client_data_hash` with `counter`.
pub fn apple_assertion(
    chip: &SigningKey,
    app_id: &str,
    client_data_hash: &[u8],
    counter: u32,
) -> Vec<u8> {
    let mut auth_data = Sha256::digest(app_id.as_bytes()).to_vec();
    auth_data.push(0);
    auth_data.extend(counter.to_be_bytes());
    let nonce = Sha256::new()
        .chain_update(&auth_data)
        .chain_update(client_data_hash)
        .finalize();
    let signature: Signature = chip.sign(&nonce);
    let mut e = minicbor::Encoder::new(Vec::new());
    e.map(2).unwrap();
    e.str("signature")
        .unwrap()
        .bytes(signature.to_der().as_bytes())
        .unwrap();
    e.str("authenticatorData")
        .unwrap()
        .bytes(&auth_data)
        .unwrap();
    e.into_writer()
}
