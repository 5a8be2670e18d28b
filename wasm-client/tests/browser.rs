//! The evidence and vector suite, in headless Chromium.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
include!("suite/evidence.rs");
