//! Plain JS objects read and made field by field. The client reads the
//! bridge's replies and the worker's answers this way rather than through a
//! serde deserializer, which would more than double the wasm an app loads
//! (bench/RESULTS.md). Requests are still encoded by core's own types.

use js_sys::{Array, JSON, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use simbind_core::api::MAX_COUNTER;

/// A value that is not the documented shape; names the field (never its
/// value, which may be an ICCID or a number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape(pub &'static str);

/// The fields of one JS object.
pub struct Fields(JsValue);

impl Fields {
    /// `value` as an object: JSON text is parsed first (the Android and iOS
    /// hosts reply in text). With `only`, a field outside it is refused.
    pub fn of(value: JsValue, only: Option<&[&str]>) -> Result<Self, Shape> {
        let value = match value.as_string() {
            Some(text) => JSON::parse(&text).map_err(|_| Shape("JSON"))?,
            None => value,
        };
        Self::object(value, only)
    }

    /// `value`, which must already be an object (not text, not an array).
    pub fn object(value: JsValue, only: Option<&[&str]>) -> Result<Self, Shape> {
        if !value.is_object() || Array::is_array(&value) {
            return Err(Shape("object"));
        }
        if let Some(only) = only {
            let known = |key: JsValue| key.as_string().is_some_and(|k| only.contains(&k.as_str()));
            if !Object::keys(value.unchecked_ref::<Object>())
                .iter()
                .all(known)
            {
                return Err(Shape("unknown field"));
            }
        }
        Ok(Self(value))
    }

    /// The field's value; `undefined` and `null` are absent.
    fn get(&self, name: &str) -> Option<JsValue> {
        Reflect::get(&self.0, &JsValue::from_str(name))
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    }

    /// A required string.
    pub fn string(&self, name: &'static str) -> Result<String, Shape> {
        self.opt_string(name)?.ok_or(Shape(name))
    }

    /// An optional string: absent is `None`, any other type is refused.
    pub fn opt_string(&self, name: &'static str) -> Result<Option<String>, Shape> {
        self.get(name)
            .map(|v| v.as_string().ok_or(Shape(name)))
            .transpose()
    }

    /// A required integer in 0..=2^53-1.
    pub fn integer(&self, name: &'static str) -> Result<u64, Shape> {
        self.get(name)
            .and_then(|v| v.as_f64())
            .and_then(integer)
            .ok_or(Shape(name))
    }

    /// An optional integer in 0..=2^53-1.
    pub fn opt_integer(&self, name: &'static str) -> Result<Option<u64>, Shape> {
        self.get(name)
            .map(|v| v.as_f64().and_then(integer).ok_or(Shape(name)))
            .transpose()
    }

    /// An optional boolean.
    pub fn opt_boolean(&self, name: &'static str) -> Result<Option<bool>, Shape> {
        self.get(name)
            .map(|v| v.as_bool().ok_or(Shape(name)))
            .transpose()
    }

    /// A required boolean.
    pub fn boolean(&self, name: &'static str) -> Result<bool, Shape> {
        self.get(name).and_then(|v| v.as_bool()).ok_or(Shape(name))
    }

    /// An optional array of strings.
    pub fn opt_strings(&self, name: &'static str) -> Result<Option<Vec<String>>, Shape> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let array: Array = value.dyn_into().map_err(|_| Shape(name))?;
        array
            .iter()
            .map(|v| v.as_string().ok_or(Shape(name)))
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// An optional nested object, limited to `only`.
    pub fn opt_object(&self, name: &'static str, only: &[&str]) -> Result<Option<Fields>, Shape> {
        self.get(name)
            .map(|v| Fields::object(v, Some(only)).map_err(|_| Shape(name)))
            .transpose()
    }
}

/// A JS number that is an integer in 0..=2^53-1 (what counters and Unix
/// seconds are on the wire).
pub fn integer(n: f64) -> Option<u64> {
    (n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= MAX_COUNTER as f64).then_some(n as u64)
}

/// A fresh plain object, filled field by field.
pub struct Made(Object);

impl Default for Made {
    fn default() -> Self {
        Self(Object::new())
    }
}

impl Made {
    /// Sets `name` to `value`.
    pub fn with(self, name: &str, value: impl Into<JsValue>) -> Self {
        // Defining a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&self.0, &JsValue::from_str(name), &value.into());
        self
    }

    /// Sets `name` only when there is a value.
    pub fn with_some(self, name: &str, value: Option<impl Into<JsValue>>) -> Self {
        match value {
            Some(v) => self.with(name, v),
            None => self,
        }
    }

    /// The finished object.
    pub fn done(self) -> JsValue {
        self.0.into()
    }
}
