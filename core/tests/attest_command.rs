//! The operator command (`--example attest`) gives the verdicts listed in
//! tests/fixtures/attestation/PROVENANCE.md, with its documented exit codes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::{Command, Output};

use common::attestation::DIR;
use serde_json::Value;

/// Runs the command exactly as documented: `cargo run -q -p simbind-core
/// --example attest -- ARGS`.
fn command(args: &[&str]) -> Output {
    Command::new(env!("CARGO"))
        .args([
            "run",
            "-q",
            "-p",
            "simbind-core",
            "--example",
            "attest",
            "--",
        ])
        .args(args)
        .output()
        .unwrap()
}

/// The command's exit code and its JSON verdict (`Null` on a usage error).
fn attest(args: &[&str]) -> (i32, Value) {
    let out = command(args);
    let code = out.status.code().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    if code == 2 {
        return (code, Value::Null);
    }
    assert!(
        stdout.starts_with("{\"verdict\":"),
        "verdict first: {stdout}"
    );
    (code, serde_json::from_str(&stdout).unwrap())
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn ascii_hex(text: &str) -> String {
    to_hex(text.as_bytes())
}

fn android(file: &str, challenge_hex: &str, at: &str, policy: Option<&str>) -> (i32, Value) {
    let chain = format!("{DIR}/android/{file}");
    let mut args = vec![
        "--format",
        "android-key",
        "--chain",
        &chain,
        "--challenge-hex",
        challenge_hex,
        "--at",
        at,
    ];
    if let Some(p) = policy {
        args.extend(["--policy", p]);
    }
    attest(&args)
}

/// The command on an App Attest object in `file` (base64), as documented.
fn apple(file: &std::path::Path, hash_hex: &str, app: &str, env: &str, at: &str) -> (i32, Value) {
    attest(&[
        "--format",
        "apple-appattest",
        "--attestation-b64",
        file.to_str().unwrap(),
        "--client-data-hash-hex",
        hash_hex,
        "--app-id",
        app,
        "--environment",
        env,
        "--at",
        at,
    ])
}

#[test]
fn android_verdicts_match_the_provenance_table() {
    let rows = [
        (
            "tegu_sdk36_TEE_EC_2026_ROOT.pem",
            ascii_hex("6417f92c-daef-4cc1-8828-5bb39338ffd5"),
            "1771894563",
            "accepted",
            "tee",
        ),
        (
            "tegu_sdk36_SB_EC_2026_ROOT.pem",
            ascii_hex("90578e1d-f5bf-4ccf-a27f-a4f4d89ee21f"),
            "1771979841",
            "accepted",
            "strongbox",
        ),
        (
            "caiman_sdk36_TEE_EC_RKP.pem",
            ascii_hex("d688d763-6118-4ca6-94b2-e6cd9ed7e4e4"),
            "1758900680",
            "accepted",
            "tee",
        ),
        (
            "sony-xperia10-iii_sdk33_TEE_EC.pem",
            "3eafe4d5dd0090de5a42b432b42481af5ce29963656b2584c59a492de16d00c9".into(),
            "1780585145",
            "accepted",
            "tee",
        ),
    ];
    // deviceLocked written as BER 0x01; its 89-byte challenge read from the leaf.
    let (code, v) = android(
        "invalid_malformed_rot_device_locked.pem",
        "019b115a17fdf26b371309467080d0aec1b5a0c1c6a7a3350b920560659fa79b97a21a751a9bf9f031323b99253619dcc4c31a4a8aba0335006321620f2c70b3e80f0c504f6474b5f487898fe5877cf2d9d7c2cd255e235fa7",
        "1770940800",
        None,
    );
    assert_eq!((code, &v["deviceLocked"]), (0, &Value::Bool(true)), "{v}");
    for (file, challenge, at, verdict, level) in rows {
        let (code, v) = android(file, &challenge, at, None);
        assert_eq!(
            (code, v["verdict"].as_str()),
            (0, Some(verdict)),
            "{file}: {v}"
        );
        assert_eq!(v["securityLevel"], level, "{file}");
        assert_eq!(v["deviceLocked"], true);
        assert_eq!(v["bootState"], "verified");
    }
    let refused = [
        (
            "tegu_sdk37_TEE_TRUSTED_CONF.pem",
            ascii_hex("b1631dab-2e6c-465f-8a7f-24a6152a518a"),
            "1782942965",
            "attestation_device_not_locked",
        ),
        (
            "marlin_sdk29_TEE_EC_NONE.pem",
            ascii_hex("challenge"),
            "1572308512",
            "attestation_untrusted_root",
        ),
        (
            "invalid_tags_not_in_ascending_order.pem",
            ascii_hex("challenge"),
            "1770940800",
            "attestation_signature_invalid",
        ),
        (
            "tegu_sdk36_TEE_EC_2026_ROOT.pem",
            ascii_hex("another challenge"),
            "1771894563",
            "attestation_challenge_mismatch",
        ),
    ];
    for (file, challenge, at, expected) in refused {
        let (code, v) = android(file, &challenge, at, None);
        assert_eq!(
            (code, v["verdict"].as_str()),
            (1, Some("refused")),
            "{file}: {v}"
        );
        assert_eq!(v["code"], expected, "{file}");
    }
}

#[test]
fn a_policy_file_relaxes_or_tightens_the_verdict() {
    let dir = std::env::temp_dir().join(format!("attest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, body: &str| {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_string()
    };
    let unlocked = ascii_hex("b1631dab-2e6c-465f-8a7f-24a6152a518a");
    let lenient = write(
        "lenient.json",
        r#"{"requireLocked": false, "requireVerifiedBoot": false}"#,
    );
    let (code, v) = android(
        "tegu_sdk37_TEE_TRUSTED_CONF.pem",
        &unlocked,
        "1782942965",
        Some(&lenient),
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["deviceLocked"], false);
    assert_eq!(v["bootState"], "unverified");

    let tee = ascii_hex("6417f92c-daef-4cc1-8828-5bb39338ffd5");
    let other_app = write(
        "apps.json",
        r#"{"allowedApps": [{"package": "com.example.bank", "signingCertSha256": "10:39:38:EE:45:37:E5:9E:8E:E7:92:F6:54:50:4F:B8:34:6F:C6:B3:46:D0:BB:C4:41:5F:C3:39:FC:FC:8E:C1"}]}"#,
    );
    let (code, v) = android(
        "tegu_sdk36_TEE_EC_2026_ROOT.pem",
        &tee,
        "1771894563",
        Some(&other_app),
    );
    assert_eq!(
        (code, v["code"].as_str()),
        (1, Some("attestation_app_not_allowed"))
    );
    let this_app = write(
        "this.json",
        r#"{"allowedApps": [{"package": "com.google.android.attestation", "signingCertSha256": "103938ee4537e59e8ee792f654504fb8346fc6b346d0bbc4415fc339fcfc8ec1"}]}"#,
    );
    let (code, _) = android(
        "tegu_sdk36_TEE_EC_2026_ROOT.pem",
        &tee,
        "1771894563",
        Some(&this_app),
    );
    assert_eq!(code, 0);
    let strongbox = write("sb.json", r#"{"minSecurityLevel": "strongbox"}"#);
    let (code, v) = android(
        "tegu_sdk36_TEE_EC_2026_ROOT.pem",
        &tee,
        "1771894563",
        Some(&strongbox),
    );
    assert_eq!(
        (code, v["code"].as_str()),
        (1, Some("attestation_security_level"))
    );
    let revoked = write(
        "revoked.json",
        r#"{"statusList": {"entries": {"2c85cdc15c3042f25698906669c35137": {"status": "REVOKED", "reason": "KEY_COMPROMISE"}}}}"#,
    );
    let (code, v) = android(
        "tegu_sdk36_TEE_EC_2026_ROOT.pem",
        &tee,
        "1771894563",
        Some(&revoked),
    );
    assert_eq!((code, v["code"].as_str()), (1, Some("attestation_revoked")));
    for bad in [
        r#"{"minSecurityLevel": "software"}"#,
        r#"{"unknown": 1}"#,
        "not json",
    ] {
        let p = write("bad.json", bad);
        assert_eq!(
            android(
                "tegu_sdk36_TEE_EC_2026_ROOT.pem",
                &tee,
                "1771894563",
                Some(&p)
            )
            .0,
            2,
            "{bad}"
        );
    }
}

#[test]
fn apple_verdicts_for_the_real_attestations() {
    let samples: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{DIR}/apple/devicecheck-appattest.json")).unwrap(),
    )
    .unwrap();
    let s = &samples[0];
    let file = std::env::temp_dir().join(format!("attest-apple-{}.b64", std::process::id()));
    std::fs::write(&file, s["attestation"].as_str().unwrap()).unwrap();
    let hash = to_hex(&common::attestation::unb64(
        s["clientDataHash"].as_str().unwrap(),
    ));
    let at = s["at"].to_string();
    let run = |app: &str, env: &str, at: &str| apple(&file, &hash, app, env, at);
    let app = s["appId"].as_str().unwrap();
    let (code, v) = run(app, "development", &at);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["keyId"], s["keyId"]);
    assert_eq!(v["appId"], app);
    assert_eq!(
        run(app, "production", &at).1["code"],
        "attestation_environment"
    );
    assert_eq!(
        run("ABCDE12345.com.example", "development", &at).1["code"],
        "attestation_app_not_allowed"
    );
    assert_eq!(
        run(app, "development", "2000000000").1["code"],
        "attestation_expired"
    );
    assert_eq!(run(app, "staging", &at).0, 2);
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(attest(&[]).0, 2);
    assert_eq!(attest(&["--format", "android-key", "--at", "1"]).0, 2);
    assert_eq!(attest(&["--format", "tpm", "--at", "1"]).0, 2);
    assert_eq!(
        attest(&[
            "--format",
            "android-key",
            "--chain",
            "/nonexistent",
            "--challenge-hex",
            "00",
            "--at",
            "1"
        ])
        .0,
        2
    );
    assert_eq!(
        attest(&[
            "--format",
            "android-key",
            "--chain",
            "x",
            "--challenge-hex",
            "zz",
            "--at",
            "1"
        ])
        .0,
        2
    );
}

/// Runs the command expecting a usage error: exit 2 (a panic exits 101),
/// nothing on stdout, and on stderr a line `attest: WHY` followed by the
/// usage text. Returns WHY.
fn usage_error(args: &[&str]) -> String {
    let out = command(args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(stdout.is_empty(), "{args:?}: no verdict on a usage error");
    let (before, usage) = stderr
        .split_once("\nusage:\n")
        .unwrap_or_else(|| panic!("{args:?}: no usage text: {stderr}"));
    assert!(usage.contains("--challenge-hex HEX"), "{stderr}");
    assert!(usage.contains("--client-data-hash-hex HEX"), "{stderr}");
    before
        .lines()
        .last()
        .and_then(|line| line.strip_prefix("attest: "))
        .unwrap_or_else(|| panic!("{args:?}: no `attest: ` line: {stderr}"))
        .to_string()
}

#[test]
fn non_ascii_or_signed_hex_is_a_usage_error_not_a_panic() {
    // Real files, so the command gets past reading them to the hex.
    let chain = format!("{DIR}/android/tegu_sdk36_TEE_EC_2026_ROOT.pem");
    let apple = format!("{DIR}/apple/devicecheck-appattest.json");
    // Even byte lengths whose 2-byte pairs split a character (slicing by
    // byte index panicked on the first three), two-byte characters, and
    // signs (u8::from_str_radix took "+f" as 0x0f).
    for bad in [
        "a\u{e9}0",
        "0\u{e9}0",
        "\u{ff41}0",
        "\u{e9}\u{e9}",
        "+f+f",
        "-1",
    ] {
        let why = usage_error(&[
            "--format",
            "android-key",
            "--chain",
            &chain,
            "--challenge-hex",
            bad,
            "--at",
            "1771894563",
        ]);
        assert_eq!(why, "not hex", "--challenge-hex {bad:?}");
        let why = usage_error(&[
            "--format",
            "apple-appattest",
            "--attestation-b64",
            &apple,
            "--client-data-hash-hex",
            bad,
            "--app-id",
            "ABCDE12345.com.example",
            "--environment",
            "development",
            "--at",
            "1",
        ]);
        assert_eq!(why, "not hex", "--client-data-hash-hex {bad:?}");
    }
    // An odd number of bytes, a character among them: the length's error.
    let why = usage_error(&[
        "--format",
        "android-key",
        "--chain",
        &chain,
        "--challenge-hex",
        "0\u{e9}",
        "--at",
        "1",
    ]);
    assert_eq!(why, "hex needs an even number of digits");
    // Upper-case digits are still hex: the accepted sample stays accepted.
    let upper = ascii_hex("6417f92c-daef-4cc1-8828-5bb39338ffd5").to_uppercase();
    let (code, v) = android(
        "tegu_sdk36_TEE_EC_2026_ROOT.pem",
        &upper,
        "1771894563",
        None,
    );
    assert_eq!((code, v["verdict"].as_str()), (0, Some("accepted")), "{v}");
}

/// The inspector's library call on the same evidence the command reads.
fn inspect(input: Value) -> Value {
    serde_json::from_str(&simbind_core::inspect::inspect(&input.to_string())).unwrap()
}

/// Every check before the failing one passed, the failing one names the
/// verdict's code, every later one was not reached; all pass when accepted.
fn assert_checks_in_order(report: &Value, names: &[&str]) {
    let checks = report["checks"].as_array().unwrap();
    let listed: Vec<&str> = checks
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(listed, names);
    let failed = checks.iter().position(|c| c["result"] == "failed");
    for (i, check) in checks.iter().enumerate() {
        let expected = match failed {
            Some(f) if i == f => "failed",
            Some(f) if i > f => "not reached",
            _ => "passed",
        };
        assert_eq!(check["result"], expected, "{check}");
    }
    match failed {
        Some(f) => assert_eq!(checks[f]["code"], report["code"], "{report}"),
        None => assert_eq!(report["verdict"], "accepted", "{report}"),
    }
}

#[test]
fn the_inspector_gives_the_command_s_verdict_on_every_real_android_sample() {
    use simbind_core::attestation::android_key::CHECKS;
    let tee = ascii_hex("6417f92c-daef-4cc1-8828-5bb39338ffd5");
    let samples = [
        ("tegu_sdk36_TEE_EC_2026_ROOT.pem", tee.clone(), 1771894563),
        (
            "tegu_sdk36_TEE_EC_2026_ROOT.pem",
            ascii_hex("another"),
            1771894563,
        ),
        (
            "tegu_sdk36_SB_EC_2026_ROOT.pem",
            ascii_hex("90578e1d-f5bf-4ccf-a27f-a4f4d89ee21f"),
            1771979841,
        ),
        (
            "caiman_sdk36_TEE_EC_RKP.pem",
            ascii_hex("d688d763-6118-4ca6-94b2-e6cd9ed7e4e4"),
            1758900680,
        ),
        (
            "sony-xperia10-iii_sdk33_TEE_EC.pem",
            "3eafe4d5dd0090de5a42b432b42481af5ce29963656b2584c59a492de16d00c9".into(),
            1780585145,
        ),
        (
            "tegu_sdk37_TEE_TRUSTED_CONF.pem",
            ascii_hex("b1631dab-2e6c-465f-8a7f-24a6152a518a"),
            1782942965,
        ),
        (
            "marlin_sdk29_TEE_EC_NONE.pem",
            ascii_hex("challenge"),
            1572308512,
        ),
        (
            "invalid_tags_not_in_ascending_order.pem",
            ascii_hex("challenge"),
            1770940800,
        ),
        (
            "invalid_malformed_rot_device_locked.pem",
            ascii_hex("challenge"),
            1770940800,
        ),
    ];
    for (file, challenge, at) in samples {
        let (_, command) = android(file, &challenge, &at.to_string(), None);
        let chain = std::fs::read_to_string(format!("{DIR}/android/{file}")).unwrap();
        let report = inspect(serde_json::json!({
            "format": "android-key", "chain": chain, "challengeHex": challenge, "at": at,
        }));
        assert_eq!(report["verdict"], command["verdict"], "{file}: {report}");
        assert_eq!(report["code"], command["code"], "{file}");
        if command["verdict"] == "accepted" {
            assert_eq!(
                report["attested"]["securityLevel"],
                command["securityLevel"]
            );
            assert_eq!(report["attested"]["publicKey"], command["publicKey"]);
        }
        assert_checks_in_order(&report, &CHECKS);
        let chain = report["chain"].as_array().unwrap();
        assert!(chain.len() >= 2, "{file}");
        assert!(chain.iter().all(|c| c["parses"] == true));
        if file.starts_with("caiman") {
            assert_eq!(
                chain.last().unwrap()["key"],
                "RSA",
                "Google's RSA-4096 root"
            );
        }
    }
}

#[test]
fn a_real_chain_under_a_root_that_is_not_google_s_is_refused_for_its_root() {
    // The AOSP software root: every link verifies, so the first real cause
    // is the root, not a signature, and not the software level checked later.
    let chain =
        std::fs::read_to_string(format!("{DIR}/android/marlin_sdk29_TEE_EC_NONE.pem")).unwrap();
    let report = inspect(serde_json::json!({
        "format": "android-key", "chain": chain, "challengeHex": ascii_hex("challenge"), "at": 1572308512,
    }));
    assert_eq!(report["code"], "attestation_untrusted_root", "{report}");
    let result = |i: usize| report["checks"][i]["result"].as_str().unwrap().to_owned();
    assert_eq!(
        (result(2), result(3)),
        ("passed".into(), "failed".into()),
        "links verify, the root fails: {report}"
    );
    let drawn = report["chain"].as_array().unwrap();
    assert!(
        drawn
            .iter()
            .all(|c| c["pinnedRoot"] == false && c["signedByPinnedRoot"] == false)
    );
    // The KeyDescription is still decoded for the reader: software level.
    assert_eq!(
        report["decoded"]["keyDescription"]["attestationSecurityLevel"],
        "software"
    );
}

#[test]
fn the_inspector_draws_a_google_chain_and_its_key_description() {
    let chain =
        std::fs::read_to_string(format!("{DIR}/android/tegu_sdk36_TEE_EC_2026_ROOT.pem")).unwrap();
    let challenge = ascii_hex("6417f92c-daef-4cc1-8828-5bb39338ffd5");
    let report = inspect(serde_json::json!({
        "format": "android-key", "chain": chain, "challengeHex": challenge, "at": 1771894563u64,
        "policy": {"requireLocked": true},
    }));
    assert_eq!(report["verdict"], "accepted", "{report}");
    let drawn = report["chain"].as_array().unwrap();
    let top = drawn.last().unwrap();
    assert_eq!(
        (&top["pinnedRoot"], &top["key"]),
        (&Value::Bool(true), &Value::from("EC P-384")),
        "Key Attestation CA1: {top}"
    );
    assert_eq!(drawn[drawn.len() - 2]["signedByPinnedRoot"], true);
    assert_eq!(
        (&drawn[0]["key"], &drawn[0]["signedByPinnedRoot"]),
        (&Value::from("EC P-256"), &Value::Bool(false))
    );
    assert!(
        drawn[0]["subject"]
            .as_str()
            .unwrap()
            .contains("Android Keystore Key"),
        "{}",
        drawn[0]
    );
    assert_eq!(drawn[1]["validAt"], true);
    let kd = &report["decoded"]["keyDescription"];
    assert_eq!(kd["challengeHex"], challenge);
    assert_eq!(kd["rootOfTrust"]["deviceLocked"], true);
    assert_eq!(
        kd["attestationApplicationId"]["packages"][0],
        "com.google.android.attestation"
    );
    // The policy in the input is the one applied: StrongBox refuses this TEE key.
    let strict = inspect(serde_json::json!({
        "format": "android-key", "chain": chain, "challengeHex": challenge, "at": 1771894563u64,
        "policy": {"minSecurityLevel": "strongbox"},
    }));
    assert_eq!(strict["code"], "attestation_security_level");
    // Years later the intermediates have expired.
    let late = inspect(serde_json::json!({
        "format": "android-key", "chain": chain, "challengeHex": challenge, "at": 4_000_000_000u64,
    }));
    assert_eq!(late["code"], "attestation_expired", "{late}");
    assert_eq!(late["chain"][1]["validAt"], false);
}

#[test]
fn the_inspector_gives_the_command_s_verdict_on_every_real_apple_sample() {
    use simbind_core::attestation::apple_appattest::CHECKS;
    let samples: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{DIR}/apple/devicecheck-appattest.json")).unwrap(),
    )
    .unwrap();
    for s in samples.as_array().unwrap() {
        let b64 = s["attestation"].as_str().unwrap();
        let file = std::env::temp_dir().join(format!("inspect-apple-{}.b64", std::process::id()));
        std::fs::write(&file, b64).unwrap();
        let hash = to_hex(&common::attestation::unb64(
            s["clientDataHash"].as_str().unwrap(),
        ));
        let app = s["appId"].as_str().unwrap();
        let at = s["at"].as_u64().unwrap();
        for (app, env, at) in [
            (app, "development", at),
            (app, "production", at),
            ("ABCDE12345.com.example", "development", at),
            (app, "development", 2_000_000_000),
        ] {
            let (_, command) = apple(&file, &hash, app, env, &at.to_string());
            let report = inspect(serde_json::json!({
                "format": "apple-appattest", "attestation": b64, "clientDataHashHex": hash,
                "appId": app, "environment": env, "at": at,
            }));
            assert_eq!(report["verdict"], command["verdict"], "{report}");
            assert_eq!(report["code"], command["code"]);
            if command["verdict"] == "accepted" {
                assert_eq!(report["attested"]["publicKey"], command["publicKey"]);
                assert_eq!(report["decoded"]["authData"]["aaguid"], "development");
                assert_eq!(report["decoded"]["authData"]["counter"], 0);
            }
            assert_checks_in_order(&report, &CHECKS);
            assert_eq!(report["chain"].as_array().unwrap().len(), 2);
        }
    }
}

#[test]
fn the_inspector_refuses_unusable_input_without_echoing_it() {
    let secret = "+447700900123-secret";
    for input in [
        String::new(),
        "not json".into(),
        format!("{{\"format\": \"{secret}\", \"at\": 1}}"),
        r#"{"format": "android-key"}"#.into(),
        r#"{"format": "android-key", "at": 1}"#.into(),
        r#"{"format": "android-key", "at": 1, "chain": "", "challengeHex": "zz"}"#.into(),
        r#"{"format": "android-key", "at": 1, "chain": "", "challengeHex": "abc"}"#.into(),
        r#"{"format": "android-key", "at": 1, "chain": "", "challengeHex": "", "policy": {"x": 1}}"#.into(),
        r#"{"format": "apple-appattest", "at": 1, "attestation": "", "clientDataHashHex": "", "appId": "a", "environment": "staging"}"#.into(),
    ] {
        let report: Value = serde_json::from_str(&simbind_core::inspect::inspect(&input)).unwrap();
        assert!(report["error"].is_string(), "{input}: {report}");
        assert!(!report.to_string().contains(secret));
    }
    // Evidence that does not parse is a verdict, not an input error.
    let garbage = inspect(serde_json::json!({
        "format": "android-key", "chain": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
        "challengeHex": "", "at": 1,
    }));
    assert_eq!(garbage["code"], "attestation_malformed", "{garbage}");
    let apple = inspect(serde_json::json!({
        "format": "apple-appattest", "attestation": "%%%", "clientDataHashHex": "00",
        "appId": "A.b", "environment": "production", "at": 1,
    }));
    assert_eq!(apple["code"], "attestation_malformed");
    assert_eq!(apple["checks"][0]["result"], "failed");
}
