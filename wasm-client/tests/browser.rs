//! The adapter and vector suite, in headless Chromium.
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
include!("suite/adapters.rs");
