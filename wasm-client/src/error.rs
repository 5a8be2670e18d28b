//! Errors thrown to JavaScript: a real `Error` named `SimBindError` with a
//! stable `code`, the HTTP `status` (0 when no request was made), a `source`
//! (`server`, `bridge` or `client`) and a human `detail`.

use simbind_core::ValidationError;
use wasm_bindgen::prelude::*;

/// A failure on its way to JavaScript.
#[derive(Debug, Clone)]
pub struct ClientError {
    pub code: String,
    pub status: u16,
    pub source: &'static str,
    pub detail: String,
}

impl ClientError {
    /// A failure of the native bridge.
    pub fn bridge(code: &str, detail: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            status: 0,
            source: "bridge",
            detail: detail.into(),
        }
    }

    /// A failure of the caller's input or of the client itself.
    pub fn client(code: &str, detail: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            status: 0,
            source: "client",
            detail: detail.into(),
        }
    }

    /// A core validation error, attributed to `source`.
    pub fn from_validation(e: ValidationError, source: &'static str) -> Self {
        Self {
            code: e.code().into(),
            status: 0,
            source,
            detail: e.to_string(),
        }
    }
}

impl From<ClientError> for JsValue {
    fn from(e: ClientError) -> JsValue {
        let error = js_sys::Error::new(&format!("{} ({})", e.detail, e.code));
        error.set_name("SimBindError");
        let set = |k: &str, v: JsValue| {
            // Setting a property on a fresh Error object cannot fail.
            let _ = js_sys::Reflect::set(&error, &JsValue::from_str(k), &v);
        };
        set("code", JsValue::from_str(&e.code));
        set("status", JsValue::from(e.status));
        set("source", JsValue::from_str(e.source));
        set("detail", JsValue::from_str(&e.detail));
        error.into()
    }
}

/// A `SimBindError` for the package's JavaScript shell (source `bridge` or
/// `client`, no HTTP status), made by the same code as every other.
#[wasm_bindgen(js_name = simbindError, skip_typescript)]
pub fn simbind_error(code: &str, source: &str, detail: &str) -> JsValue {
    let source = if source == "bridge" {
        "bridge"
    } else {
        "client"
    };
    ClientError {
        code: code.into(),
        status: 0,
        source,
        detail: detail.into(),
    }
    .into()
}
