//! Unpadded base64url as every request field and every keyed value carries
//! it: one canonical text per byte string, everything else refused.

use simbind_core::ValidationError;
use simbind_core::codec::{b64, unb64};

#[test]
fn base64url_round_trips_every_length() {
    for len in 0..70 {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        let text = b64(&bytes);
        assert!(!text.contains('=') && !text.contains('+') && !text.contains('/'));
        assert_eq!(unb64(&text, "f"), Ok(bytes));
    }
}

#[test]
fn only_the_canonical_text_decodes() {
    let refused = Err(ValidationError::InvalidBase64("f"));
    assert_eq!(unb64("AQ", "f"), Ok(vec![1]));
    // The same byte with non-zero spare bits: a second spelling, refused.
    assert_eq!(unb64("AR", "f"), refused);
    assert_eq!(unb64("AQI", "f"), Ok(vec![1, 2]));
    assert_eq!(unb64("AQJ", "f"), refused);
    for bad in [
        "AQ==", "AQ=", "A", "AQID=", "+/8", "AQ ID", " AQ", "AQ\n", "A*", "é",
    ] {
        assert_eq!(unb64(bad, "f"), refused, "{bad:?}");
    }
    assert_eq!(unb64("-_8", "f"), Ok(vec![0xfb, 0xff]));
}
