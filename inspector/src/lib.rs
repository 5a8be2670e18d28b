//! The evidence inspector in the browser: `simbind_core::inspect` exported
//! to JavaScript. Nothing here decides anything; the page shows what core
//! reports.

#![warn(missing_docs)]

use wasm_bindgen::prelude::*;

/// Inspects one piece of evidence: the input and the report are JSON
/// (`simbind_core::inspect`, docs/INSPECTOR.md).
#[wasm_bindgen]
pub fn inspect(input: &str) -> String {
    simbind_core::inspect::inspect(input)
}
