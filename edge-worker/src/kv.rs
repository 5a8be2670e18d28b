//! Workers KV through the runtime's own `get`, `put` and `delete`: the
//! worker crate's builders pass their options through serde_wasm_bindgen,
//! a third serializer in the upload for a `{type}` or nothing at all.

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::Env;

use crate::problem::ApiError;

#[wasm_bindgen]
extern "C" {
    /// A KV namespace binding, as the runtime gives it.
    type RawNamespace;
    #[wasm_bindgen(method, catch)]
    fn get(this: &RawNamespace, key: &str, kind: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn put(this: &RawNamespace, key: &str, value: &Uint8Array) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = delete)]
    fn remove(this: &RawNamespace, key: &str) -> Result<Promise, JsValue>;
}

/// A KV namespace bound to the worker.
pub struct Namespace(RawNamespace);

/// A failed KV call (the runtime's message may quote the key: not kept).
fn failed(_: JsValue) -> ApiError {
    ApiError::Platform("kv: the call failed".into())
}

async fn settled(promise: Result<Promise, JsValue>) -> Result<JsValue, ApiError> {
    JsFuture::from(promise.map_err(failed)?)
        .await
        .map_err(failed)
}

impl Namespace {
    /// The namespace bound as `name`, if the deployment binds one.
    pub fn bound(env: &Env, name: &str) -> Option<Self> {
        crate::binding(env, name).map(|binding| Self(binding.unchecked_into()))
    }

    /// The value stored under `key`, or `None`.
    pub async fn bytes(&self, key: &str) -> Result<Option<Vec<u8>>, ApiError> {
        let value = settled(self.0.get(key, "arrayBuffer")).await?;
        if value.is_null() || value.is_undefined() {
            return Ok(None);
        }
        Ok(Some(Uint8Array::new(&value).to_vec()))
    }

    /// Stores `value` under `key`.
    pub async fn put(&self, key: &str, value: &[u8]) -> Result<(), ApiError> {
        settled(self.0.put(key, &Uint8Array::from(value)))
            .await
            .map(drop)
    }

    /// Removes `key`.
    pub async fn delete(&self, key: &str) -> Result<(), ApiError> {
        settled(self.0.remove(key)).await.map(drop)
    }
}
