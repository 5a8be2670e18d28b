//! SEC1 keys, P-256 signatures and base64url: each decoder either refuses or
//! yields a value that encodes back to its canonical form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simbind_core::codec::{self, Reader};
use simbind_core::crypto::{PublicKey, Signature};

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = PublicKey::from_sec1(data) {
        let again = PublicKey::from_sec1(&key.to_compressed()).ok();
        assert!(again.is_some_and(|k| k.to_uncompressed() == key.to_uncompressed()));
        if let Ok(sig) = data
            .get(..64)
            .map_or(Err(()), |b| Signature::from_bytes(b).map_err(|_| ()))
        {
            let _ = key.verify(data, &sig);
        }
    }
    if let Ok(sig) = Signature::from_bytes(data) {
        assert_eq!(sig.to_bytes(), data, "a signature has one encoding");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(bytes) = codec::unb64(text, "field") {
            assert_eq!(codec::b64(&bytes), text, "base64url is canonical");
        }
    }
    let mut r = Reader::new(data);
    while r.field().is_some() {}
});
