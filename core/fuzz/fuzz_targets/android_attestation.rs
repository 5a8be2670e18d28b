//! Android Key Attestation: certificate chains (each certificate prefixed by
//! its 2-byte big-endian length), the KeyDescription extension, PEM, the
//! status list and the deployment's policy JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simbind_core::attestation::android_key::{self, AndroidPolicy, GOOGLE_ROOTS};
use simbind_core::attestation::key_description::{KeyDescription, SecurityLevel};
use simbind_core::attestation::status_list::StatusList;
use simbind_core::attestation::x509;

fuzz_target!(|data: &[u8]| {
    let mut chain = Vec::new();
    let mut rest = data;
    while let [hi, lo, tail @ ..] = rest {
        let n = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (cert, after) = tail.split_at(n);
        chain.push(cert.to_vec());
        rest = after;
    }
    let lenient = AndroidPolicy {
        min_level: SecurityLevel::Software,
        require_locked: false,
        require_verified_boot: false,
        allowed_apps: None,
    };
    let _ = android_key::verify(
        &chain,
        &[0u8; 32],
        &GOOGLE_ROOTS,
        &|_| false,
        &lenient,
        1_780_000_000,
    );
    let _ = android_key::status_serials(&chain);
    for der in &chain {
        if let Ok(cert) = x509::Cert::parse(der) {
            let _ = cert.validity();
            let _ = cert.serial_hex();
            if let Some((value, _)) = cert.extension(&android_key::KEY_DESCRIPTION) {
                let _ = KeyDescription::parse(value);
            }
        }
    }
    let _ = KeyDescription::parse(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = x509::pem_chain(text);
        let _ = StatusList::parse(text);
        let _ = AndroidPolicy::from_json(text);
    }
});
