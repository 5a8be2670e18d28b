//! `make bench`: native P-256 verification rate of core's own primitive, for
//! the table's reference row (`cargo run --release --example bench_p256`).
//! Prints `{"verify_ms": …, "sign_ms": …}`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use simbind_core::crypto::SecretKey;
use std::time::Instant;

fn per_op(rounds: u32, mut f: impl FnMut()) -> f64 {
    f();
    let t = Instant::now();
    for _ in 0..rounds {
        f();
    }
    t.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds)
}

fn main() {
    let chip = SecretKey::from_bytes(&[7; 32]).unwrap();
    let key = chip.public_key();
    let message = vec![0x42u8; 320];
    let signature = chip.sign(&message);
    let verify_ms = per_op(2000, || assert!(key.verify(&message, &signature)));
    let sign_ms = per_op(2000, || {
        chip.sign(&message);
    });
    println!("{{\"verify_ms\": {verify_ms:.4}, \"sign_ms\": {sign_ms:.4}}}");
}
