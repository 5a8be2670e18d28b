//! Android Key Attestation on real chains from real phones (see
//! tests/fixtures/attestation/PROVENANCE.md): every verdict the provenance
//! lists, and mutations of the real samples, each refused with its code.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::attestation::{flipped, pem_chain, text};
use simbind_core::attestation::AttestationRefusal as R;
use simbind_core::attestation::android_key::{
    self, AllowedApp, AndroidAttestation, AndroidPolicy, GOOGLE_ROOTS, KEY_DESCRIPTION,
};
use simbind_core::attestation::key_description::{BootState, KeyDescription, SecurityLevel};
use simbind_core::attestation::status_list::StatusList;
use simbind_core::attestation::x509::Cert;

struct Sample {
    file: &'static str,
    challenge: Vec<u8>,
    at: u64,
}

fn sample(name: &str) -> Sample {
    let (file, challenge, at): (&'static str, Vec<u8>, u64) = match name {
        "tegu-tee" => (
            "tegu_sdk36_TEE_EC_2026_ROOT.pem",
            b"6417f92c-daef-4cc1-8828-5bb39338ffd5".to_vec(),
            1771894563,
        ),
        "tegu-strongbox" => (
            "tegu_sdk36_SB_EC_2026_ROOT.pem",
            b"90578e1d-f5bf-4ccf-a27f-a4f4d89ee21f".to_vec(),
            1771979841,
        ),
        "caiman-rkp" => (
            "caiman_sdk36_TEE_EC_RKP.pem",
            b"d688d763-6118-4ca6-94b2-e6cd9ed7e4e4".to_vec(),
            1758900680,
        ),
        "sony-factory" => (
            "sony-xperia10-iii_sdk33_TEE_EC.pem",
            hex::decode("3eafe4d5dd0090de5a42b432b42481af5ce29963656b2584c59a492de16d00c9")
                .unwrap(),
            1780585145,
        ),
        "tegu-unlocked" => (
            "tegu_sdk37_TEE_TRUSTED_CONF.pem",
            b"b1631dab-2e6c-465f-8a7f-24a6152a518a".to_vec(),
            1782942965,
        ),
        "marlin-software" => (
            "marlin_sdk29_TEE_EC_NONE.pem",
            b"challenge".to_vec(),
            1572308512,
        ),
        "edited-leaf" => (
            "invalid_tags_not_in_ascending_order.pem",
            b"challenge".to_vec(),
            1770940800,
        ),
        other => panic!("no sample {other}"),
    };
    Sample {
        file,
        challenge,
        at,
    }
}

fn chain(s: &Sample) -> Vec<Vec<u8>> {
    pem_chain(&format!("android/{}", s.file))
}

/// The strict default with the app left unchecked (the operator command's
/// policy without --policy).
fn strict() -> AndroidPolicy {
    AndroidPolicy {
        allowed_apps: None,
        ..AndroidPolicy::default()
    }
}

fn never_revoked(_: &str) -> bool {
    false
}

fn check_with(
    chain: &[Vec<u8>],
    s: &Sample,
    policy: &AndroidPolicy,
    at: u64,
) -> Result<AndroidAttestation, R> {
    android_key::verify(
        chain,
        &s.challenge,
        &GOOGLE_ROOTS,
        &never_revoked,
        policy,
        at,
    )
}

fn check(name: &str, policy: &AndroidPolicy) -> Result<AndroidAttestation, R> {
    let s = sample(name);
    check_with(&chain(&s), &s, policy, s.at)
}

fn leaf_description(chain: &[Vec<u8>]) -> KeyDescription {
    let leaf = Cert::parse(&chain[0]).unwrap();
    KeyDescription::parse(leaf.extension(&KEY_DESCRIPTION).unwrap().0).unwrap()
}

#[test]
fn every_accept_row_is_accepted_under_the_strict_policy() {
    for (name, level) in [
        ("tegu-tee", SecurityLevel::TrustedEnvironment),
        ("tegu-strongbox", SecurityLevel::StrongBox),
        ("caiman-rkp", SecurityLevel::TrustedEnvironment),
        ("sony-factory", SecurityLevel::TrustedEnvironment),
    ] {
        let got = check(name, &strict()).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(got.level, level, "{name}");
        assert!(got.device_locked, "{name}");
        assert_eq!(got.boot_state, BootState::Verified, "{name}");
        assert_eq!(
            got.public_key.len(),
            65,
            "{name}: an uncompressed P-256 point"
        );
        assert_eq!(got.public_key[0], 4, "{name}");
    }
}

#[test]
fn the_attested_key_is_the_leaf_key() {
    let s = sample("tegu-tee");
    let got = check("tegu-tee", &strict()).unwrap();
    let c = chain(&s);
    let leaf = Cert::parse(&c[0]).unwrap();
    // The SPKI of a P-256 key ends with the 65-byte uncompressed point.
    assert!(leaf.spki().ends_with(&got.public_key));
}

#[test]
fn the_app_identity_is_read_from_the_leaf() {
    let got = check("tegu-tee", &strict()).unwrap();
    let app = got.application.unwrap();
    assert_eq!(
        app.packages,
        vec!["com.google.android.attestation".to_string()]
    );
    assert_eq!(
        app.signatures,
        vec![common::attestation::unb64(
            "EDk47kU35Z6O55L2VFBPuDRvxrNG0LvEQV/DOfz8jsE="
        )]
    );
}

#[test]
fn an_unlocked_unverified_phone_is_refused_unless_the_policy_allows_it() {
    assert_eq!(check("tegu-unlocked", &strict()), Err(R::DeviceNotLocked));
    let boot_only = AndroidPolicy {
        require_locked: false,
        ..strict()
    };
    assert_eq!(check("tegu-unlocked", &boot_only), Err(R::BootNotVerified));
    let lenient = AndroidPolicy {
        require_locked: false,
        require_verified_boot: false,
        ..strict()
    };
    let got = check("tegu-unlocked", &lenient).unwrap();
    assert!(!got.device_locked);
    assert_eq!(got.boot_state, BootState::Unverified);
}

#[test]
fn a_software_key_under_the_aosp_software_root_is_refused_by_its_chain() {
    let lenient = AndroidPolicy {
        min_level: SecurityLevel::Software,
        require_locked: false,
        require_verified_boot: false,
        allowed_apps: None,
    };
    assert_eq!(check("marlin-software", &lenient), Err(R::UntrustedRoot));
    let s = sample("marlin-software");
    assert_eq!(
        leaf_description(&chain(&s)).attestation_level,
        SecurityLevel::Software
    );
}

#[test]
fn an_edited_leaf_is_refused_because_its_signature_fails() {
    assert_eq!(check("edited-leaf", &strict()), Err(R::SignatureInvalid));
}

#[test]
fn device_locked_written_as_ber_true_reads_as_locked_and_the_chain_verifies() {
    let file = "android/invalid_malformed_rot_device_locked.pem";
    let chain = pem_chain(file);
    let description = leaf_description(&chain);
    assert_eq!(description.challenge.len(), 89);
    assert!(description.root_of_trust.as_ref().unwrap().device_locked);
    let s = Sample {
        file: "invalid_malformed_rot_device_locked.pem",
        challenge: description.challenge.clone(),
        at: 1770940800,
    };
    let got = check_with(&chain, &s, &strict(), s.at).unwrap();
    assert!(got.device_locked);
}

#[test]
fn software_is_never_enough_even_if_the_policy_says_so() {
    // A TEE key under a policy that asks for only "software" still needs
    // the TEE: the floor cannot be lowered.
    let weak = AndroidPolicy {
        min_level: SecurityLevel::Software,
        ..strict()
    };
    assert!(check("tegu-tee", &weak).is_ok());
    let strongbox = AndroidPolicy {
        min_level: SecurityLevel::StrongBox,
        ..strict()
    };
    assert_eq!(check("tegu-tee", &strongbox), Err(R::SecurityLevel));
    assert!(check("tegu-strongbox", &strongbox).is_ok());
}

#[test]
fn a_wrong_challenge_is_refused() {
    let mut s = sample("tegu-tee");
    let c = chain(&s);
    s.challenge[0] ^= 1;
    assert_eq!(
        check_with(&c, &s, &strict(), s.at),
        Err(R::ChallengeMismatch)
    );
    s.challenge.pop();
    assert_eq!(
        check_with(&c, &s, &strict(), s.at),
        Err(R::ChallengeMismatch)
    );
}

fn allow(package: &str, digest_b64: &str) -> AllowedApp {
    AllowedApp {
        package: package.into(),
        signing_cert_sha256: common::attestation::unb64(digest_b64).try_into().unwrap(),
    }
}

#[test]
fn only_listed_apps_bind() {
    const SIG: &str = "EDk47kU35Z6O55L2VFBPuDRvxrNG0LvEQV/DOfz8jsE=";
    const OTHER_SIG: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let with = |apps| AndroidPolicy {
        allowed_apps: Some(apps),
        ..AndroidPolicy::default()
    };
    let listed = with(vec![
        allow("com.example.bank", SIG),
        allow("com.google.android.attestation", SIG),
    ]);
    assert!(check("tegu-tee", &listed).is_ok());
    for refused in [
        vec![],
        vec![allow("com.example.bank", SIG)],
        vec![allow("com.google.android.attestation", OTHER_SIG)],
    ] {
        assert_eq!(check("tegu-tee", &with(refused)), Err(R::AppNotAllowed));
    }
    // The default policy lists no app: nothing binds until one is listed.
    assert_eq!(
        check("tegu-tee", &AndroidPolicy::default()),
        Err(R::AppNotAllowed)
    );
}

#[test]
fn a_flipped_byte_in_any_certificate_is_refused() {
    for name in ["tegu-tee", "caiman-rkp", "sony-factory"] {
        let s = sample(name);
        let original = chain(&s);
        let (root, path) = original.split_last().unwrap();
        for (i, cert) in path.iter().enumerate() {
            // In the signature (the last byte), and in the signed body.
            for at in [cert.len() - 1, cert.len() / 2] {
                let mut c = original.clone();
                c[i] = flipped(cert, at);
                let got = check_with(&c, &s, &strict(), s.at);
                assert!(
                    matches!(got, Err(R::SignatureInvalid | R::Malformed)),
                    "{name}: cert {i} byte {at}: {got:?}"
                );
                if at == cert.len() - 1 {
                    assert_eq!(got, Err(R::SignatureInvalid), "{name}: cert {i}");
                }
            }
        }
        // The root is trusted for its pinned key, under its own name: a
        // change to either is refused. (Its self-signature and dates are
        // not what trust rests on; Google's verifier ignores them too.)
        let parsed = Cert::parse(root).unwrap();
        for part in [parsed.spki(), parsed.subject()] {
            let offset = root.windows(part.len()).rposition(|w| w == part).unwrap();
            let mut c = original.clone();
            *c.last_mut().unwrap() = flipped(root, offset + part.len() - 2);
            let got = check_with(&c, &s, &strict(), s.at);
            assert!(got.is_err(), "{name}: root changed: {got:?}");
        }
    }
}

#[test]
fn a_flipped_byte_in_the_key_description_is_refused() {
    let s = sample("tegu-tee");
    let c = chain(&s);
    let leaf = Cert::parse(&c[0]).unwrap();
    let ext = leaf.extension(&KEY_DESCRIPTION).unwrap().0.to_vec();
    let start = c[0].windows(ext.len()).position(|w| w == ext).unwrap();
    // The challenge's first byte, then a byte deep in the authorization lists.
    for offset in [ext.len() / 2, ext.len() - 3] {
        let mut c2 = c.clone();
        c2[0] = flipped(&c[0], start + offset);
        assert_eq!(
            check_with(&c2, &s, &strict(), s.at),
            Err(R::SignatureInvalid)
        );
    }
}

#[test]
fn the_root_certificate_may_be_absent_but_not_the_intermediates() {
    for name in ["tegu-tee", "caiman-rkp", "sony-factory"] {
        let s = sample(name);
        let mut c = chain(&s);
        c.pop();
        assert!(
            check_with(&c, &s, &strict(), s.at).is_ok(),
            "{name}: root absent"
        );
        c.pop();
        assert_eq!(
            check_with(&c, &s, &strict(), s.at),
            Err(R::UntrustedRoot),
            "{name}: top intermediate missing"
        );
        c.truncate(1);
        assert_eq!(
            check_with(&c, &s, &strict(), s.at),
            Err(R::Malformed),
            "{name}: leaf only"
        );
    }
    let s = sample("tegu-tee");
    assert_eq!(check_with(&[], &s, &strict(), s.at), Err(R::Malformed));
}

#[test]
fn a_chain_out_of_order_or_padded_is_refused() {
    let s = sample("tegu-tee");
    let c = chain(&s);
    let mut swapped = c.clone();
    swapped.swap(1, 2);
    assert_eq!(
        check_with(&swapped, &s, &strict(), s.at),
        Err(R::SignatureInvalid)
    );
    let mut long = c.clone();
    long.extend(c.clone());
    assert_eq!(check_with(&long, &s, &strict(), s.at), Err(R::Malformed));
    // Six certificates (the root repeated) is the most a chain may have.
    let mut six = c.clone();
    six.push(c[4].clone());
    assert!(check_with(&six, &s, &strict(), s.at).is_ok());
    six.push(c[4].clone());
    assert_eq!(check_with(&six, &s, &strict(), s.at), Err(R::Malformed));
    let mut junk = c.clone();
    junk[1] = b"not a certificate".to_vec();
    assert_eq!(check_with(&junk, &s, &strict(), s.at), Err(R::Malformed));
}

#[test]
fn an_instant_outside_an_intermediates_validity_is_refused() {
    let s = sample("tegu-tee");
    let c = chain(&s);
    let rkp = Cert::parse(&c[1]).unwrap();
    let (not_before, not_after) = rkp.validity();
    assert!(check_with(&c, &s, &strict(), not_before).is_ok());
    assert!(check_with(&c, &s, &strict(), not_after).is_ok());
    assert_eq!(
        check_with(&c, &s, &strict(), not_before - 1),
        Err(R::Expired)
    );
    assert_eq!(
        check_with(&c, &s, &strict(), not_after + 1),
        Err(R::Expired)
    );
    // Not yet valid is refused even for a factory chain.
    let sony = sample("sony-factory");
    let c = chain(&sony);
    let (not_before, _) = Cert::parse(&c[1]).unwrap().validity();
    assert_eq!(
        check_with(&c, &sony, &strict(), not_before - 1),
        Err(R::Expired)
    );
}

#[test]
fn expired_factory_intermediates_pass_but_expired_remote_ones_do_not() {
    let sony = sample("sony-factory");
    let c = chain(&sony);
    let (_, not_after) = Cert::parse(&c[1]).unwrap().validity();
    assert!(
        sony.at > not_after,
        "the sample is verified after its intermediates expired"
    );
    assert!(check("sony-factory", &strict()).is_ok());
    let caiman = sample("caiman-rkp");
    let c = chain(&caiman);
    let (_, not_after) = Cert::parse(&c[1]).unwrap().validity();
    assert_eq!(
        check_with(&c, &caiman, &strict(), not_after + 1),
        Err(R::Expired)
    );
}

#[test]
fn an_unknown_root_is_refused() {
    let s = sample("tegu-tee");
    let apple_only = [simbind_core::attestation::apple_appattest::APPLE_ROOT];
    let got = android_key::verify(
        &chain(&s),
        &s.challenge,
        &apple_only,
        &never_revoked,
        &strict(),
        s.at,
    );
    assert_eq!(got, Err(R::UntrustedRoot));
    let rsa_only = [GOOGLE_ROOTS[0]];
    let got = android_key::verify(
        &chain(&s),
        &s.challenge,
        &rsa_only,
        &never_revoked,
        &strict(),
        s.at,
    );
    assert_eq!(
        got,
        Err(R::UntrustedRoot),
        "the 2026 chain needs the P-384 root"
    );
    let caiman = sample("caiman-rkp");
    assert!(
        android_key::verify(
            &chain(&caiman),
            &caiman.challenge,
            &rsa_only,
            &never_revoked,
            &strict(),
            caiman.at
        )
        .is_ok()
    );
}

#[test]
fn chain_checks_come_before_policy_checks() {
    // Unlocked and with a broken signature: the chain's code wins.
    let s = sample("tegu-unlocked");
    let mut c = chain(&s);
    let last = c[1].len() - 1;
    c[1] = flipped(&c[1], last);
    assert_eq!(
        check_with(&c, &s, &strict(), s.at),
        Err(R::SignatureInvalid)
    );
    // Unlocked and expired: expired.
    let c = chain(&s);
    let (_, not_after) = Cert::parse(&c[1]).unwrap().validity();
    assert_eq!(
        check_with(&c, &s, &strict(), not_after + 1),
        Err(R::Expired)
    );
}

#[test]
fn a_revoked_or_suspended_certificate_in_the_chain_is_refused() {
    let s = sample("tegu-tee");
    let c = chain(&s);
    let serials = android_key::status_serials(&c).unwrap();
    assert_eq!(serials[0], "1", "the leaf's serial, without leading zeros");
    assert_eq!(serials[1], "2c85cdc15c3042f25698906669c35137");
    for serial in &serials[..serials.len() - 1] {
        let revoked = |candidate: &str| candidate == serial;
        let got = android_key::verify(&c, &s.challenge, &GOOGLE_ROOTS, &revoked, &strict(), s.at);
        assert_eq!(got, Err(R::Revoked), "serial {serial}");
    }
    // Google's list, in its own shape: SUSPENDED refuses like REVOKED.
    let list = StatusList::parse(&text("android/sample_revocation_status.json")).unwrap();
    assert!(list.refuses("cc66e9a93713b6e643b26c15879786f7"));
    assert!(list.refuses("6681152659205225093"));
    assert!(!list.refuses(&serials[1]));
    let json = format!(
        r#"{{"entries":{{"{}":{{"status":"SUSPENDED","reason":"KEY_COMPROMISE"}}}}}}"#,
        serials[2]
    );
    let list = StatusList::parse(&json).unwrap();
    let got = android_key::verify(
        &c,
        &s.challenge,
        &GOOGLE_ROOTS,
        &|x| list.refuses(x),
        &strict(),
        s.at,
    );
    assert_eq!(got, Err(R::Revoked));
}

#[test]
fn a_policy_is_read_from_its_json_shape_strict_where_silent() {
    let strict = AndroidPolicy::from_json("{}").unwrap();
    assert_eq!(
        strict,
        AndroidPolicy {
            allowed_apps: None,
            ..AndroidPolicy::default()
        },
        "absent fields are the strict default; an absent list leaves the app unchecked"
    );
    let digest = "10:39:38:EE:45:37:E5:9E:8E:E7:92:F6:54:50:4F:B8:34:6F:C6:B3:46:D0:BB:C4:41:5F:C3:39:FC:FC:8E:C1";
    let json = format!(
        r#"{{"minSecurityLevel": "strongbox", "requireLocked": false, "requireVerifiedBoot": false,
            "allowedApps": [{{"package": "com.google.android.attestation", "signingCertSha256": "{digest}"}}]}}"#
    );
    let got = AndroidPolicy::from_json(&json).unwrap();
    assert_eq!(got.min_level, SecurityLevel::StrongBox);
    assert!(!got.require_locked && !got.require_verified_boot);
    let apps = got.allowed_apps.unwrap();
    assert_eq!(apps[0].package, "com.google.android.attestation");
    assert_eq!(
        apps[0].signing_cert_sha256.to_vec(),
        common::attestation::unb64("EDk47kU35Z6O55L2VFBPuDRvxrNG0LvEQV/DOfz8jsE="),
        "hex with colons, either case"
    );
    let tee = AndroidPolicy::from_json(r#"{"minSecurityLevel": "tee"}"#).unwrap();
    assert_eq!(tee.min_level, SecurityLevel::TrustedEnvironment);
    use simbind_core::attestation::android_key::PolicyError;
    let app =
        |d: &str| format!(r#"{{"allowedApps": [{{"package": "p", "signingCertSha256": "{d}"}}]}}"#);
    for (bad, why) in [
        (
            r#"{"minSecurityLevel": "software"}"#.to_string(),
            PolicyError::Level,
        ),
        (
            r#"{"minSecurityLevel": "hsm"}"#.to_string(),
            PolicyError::Level,
        ),
        (
            r#"{"requireLocked": "yes"}"#.to_string(),
            PolicyError::Shape,
        ),
        (r#"{"unknown": true}"#.to_string(), PolicyError::Shape),
        (app(&"ab".repeat(31)), PolicyError::Digest),
        (app(&"ab".repeat(33)), PolicyError::Digest),
        (app(&format!("{}zz", "ab".repeat(31))), PolicyError::Digest),
        (app(&format!("{}+1", "ab".repeat(31))), PolicyError::Digest),
    ] {
        assert_eq!(AndroidPolicy::from_json(&bad), Err(why), "{bad}");
    }
    let exact = AndroidPolicy::from_json(&app(&"0f".repeat(32))).unwrap();
    assert_eq!(
        exact.allowed_apps.unwrap()[0].signing_cert_sha256,
        [0x0f; 32]
    );
}

#[test]
fn levels_and_boot_states_have_stable_labels() {
    let levels = [
        (SecurityLevel::Software, "software"),
        (SecurityLevel::TrustedEnvironment, "tee"),
        (SecurityLevel::StrongBox, "strongbox"),
    ];
    for (level, label) in levels {
        assert_eq!(level.label(), label);
        assert_eq!(SecurityLevel::from_label(label), Some(level));
    }
    assert_eq!(SecurityLevel::from_label("TEE"), None);
    assert!(SecurityLevel::Software < SecurityLevel::TrustedEnvironment);
    assert!(SecurityLevel::TrustedEnvironment < SecurityLevel::StrongBox);
    for (state, label) in [
        (BootState::Verified, "verified"),
        (BootState::SelfSigned, "self_signed"),
        (BootState::Unverified, "unverified"),
        (BootState::Failed, "failed"),
    ] {
        assert_eq!(state.label(), label);
    }
}

#[test]
fn oversized_rsa_keys_are_refused_before_any_arithmetic() {
    use simbind_core::attestation::signatures::{self, Recorder, Software};
    let spki = std::fs::read(format!("{}/rsa-8192.spki.der", common::attestation::DIR)).unwrap();
    let sha256_rsa = der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
    // Refused before any verifier is asked: not even a host's answer counts.
    let recorder = Recorder::default();
    assert_eq!(
        signatures::check(&spki, sha256_rsa, b"m", &[1; 1024], &recorder),
        Err(R::UnsupportedKey)
    );
    assert!(recorder.checks.borrow().is_empty());
    // Google's own RSA root is 4096 bits and is accepted as a key.
    let root = GOOGLE_ROOTS[0];
    assert_eq!(
        signatures::check(root, sha256_rsa, b"m", &[1; 512], &Software),
        Err(R::SignatureInvalid)
    );
    assert_eq!(
        signatures::check(root, sha256_rsa, b"m", &[1; 512], &recorder),
        Ok(())
    );
}
