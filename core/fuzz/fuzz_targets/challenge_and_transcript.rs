//! Challenges (MAC, format, ceremony, subject, time) and transcript decoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use simbind_core::challenge::{self, ChallengeKeyring};
use simbind_core::transcript::{self, Ceremony};

fuzz_target!(|data: &[u8]| {
    let keys = ChallengeKeyring::single("k1", b"fuzz-challenge-secret-0123456789abcdef");
    for ceremony in [Ceremony::Bind, Ceremony::Verify, Ceremony::Unbind] {
        // A forged MAC must never pass, whatever the bytes.
        assert!(challenge::verify(&keys, data, ceremony, "bnd_subject", 1_800_000_000).is_err());
    }
    let _ = challenge::unverified_nonce(data);
    // Read back for audit tooling: refuses truncation and trailing bytes,
    // never panics.
    let _ = transcript::decode(data);
});
