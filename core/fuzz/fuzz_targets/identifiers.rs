//! Identifiers, codes, transaction values, sender addresses, the sealed
//! values (registration ids, contacts) the worker opens from requests, and
//! what the SMS provider and the carrier send (webhook headers and bodies, dates,
//! subscription notifications and their credentials).
#![no_main]

use libfuzzer_sys::fuzz_target;
use simbind_core::attestation::ChipFormat;
use simbind_core::identifiers::{ChipSerial, Eid, Iccid, Imsi, NetworkCode, OpaqueId, PhoneNumber};
use simbind_core::{api, contact, otp, registration_id, seal, sender};

fuzz_target!(|data: &[u8]| {
    let pepper = [9u8; 32];
    let _ = seal::open(&pepper, b"domain", b"aad", data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(number) = PhoneNumber::parse(text) {
        assert_eq!(
            PhoneNumber::parse(number.as_str()).ok().as_ref(),
            Some(&number)
        );
        let _ = number.country_code();
    }
    let _ = Iccid::parse(text);
    if let Ok(imsi) = Imsi::parse(text) {
        let _ = imsi.mcc();
    }
    let _ = Eid::parse(text);
    if let Some((mcc, mnc)) = text.split_once('-') {
        let _ = NetworkCode::parse(mcc, mnc);
    }
    let _ = simbind_core::sim::SimPolicy::parse(text);
    // Device-SMS and carrier inputs: a webhook's signature header and text,
    // a carrier's date.
    if let Some(token) = simbind_core::device_sms::find_token(text) {
        assert!(text.contains(token) && token.len() == 13);
    }
    let _ = simbind_core::device_sms::verify_webhook(b"secret", Some(text), data, 1_800_000_000);
    if let Ok(sms) = serde_json::from_slice::<simbind_core::device_sms::InboundSms>(data) {
        let _ = sms.validate();
    }
    if let Some(at) = simbind_core::carrier::parse_date_time(text) {
        assert!(at < 253_402_300_800, "a four-digit year");
        let written = simbind_core::carrier::format_date_time(at);
        assert_eq!(simbind_core::carrier::parse_date_time(&written), Some(at), "written dates read back");
    }
    // The carrier's subscription sink: a notification's bearer credential and body.
    if let Ok((id, secret)) = simbind_core::subscription::read_bearer(&pepper, Some(text)) {
        assert!(id.as_str().starts_with("bnd_") && secret.len() == 32);
    }
    if let Some(token) = simbind_core::device_sms::token_of_text(text) {
        assert!(text.starts_with(token) && simbind_core::device_sms::find_token(token) == Some(token));
    }
    let _ = simbind_core::subscription::read_event(data);
    let _ = simbind_core::binding::ProofMethod::parse_list(text);
    let _ = ChipSerial::parse(text);
    let _ = OpaqueId::parse(text, "bnd_");
    let _ = ChipFormat::parse(text);
    let _ = otp::parse_code(text);
    let _ = api::parse_transaction(text);
    let _ = sender::bucket(text);
    let _ = sender::buckets(text);
    let _ = registration_id::open(&pepper, text);
    let _ = contact::open(&pepper, "bnd_x", text);
});
