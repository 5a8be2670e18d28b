//! A software phone for tests and demos: a P-256 "chip" key held in wasm
//! memory, a counter, and a SIM tray. **Not for production**: a real chip
//! never lets its key leave secure hardware.

use js_sys::Uint8Array;
use simbind_core::codec::b64;
use simbind_core::crypto::SecretKey;
use wasm_bindgen::prelude::*;

use crate::error::ClientError;
use crate::fields::{Fields, Made};
use crate::replies::{SIM_FIELDS, sim_from_fields};
use simbind_core::api::SimInfo;

/// A simulated phone implementing the bridge interface (NOT FOR PRODUCTION).
#[wasm_bindgen]
pub struct SoftwareBridge {
    serial: String,
    key: SecretKey,
    counter: u64,
    sim: Option<(SimInfo, Option<SecretKey>)>,
}

fn random_key() -> Result<SecretKey, JsValue> {
    loop {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| ClientError::client("no_randomness", e.to_string()))?;
        // Retry the ~2^-32 chance of a scalar outside 1..n.
        if let Ok(key) = SecretKey::from_bytes(&bytes) {
            return Ok(key);
        }
    }
}

fn bad(detail: impl Into<String>) -> JsValue {
    ClientError::client("invalid_argument", detail).into()
}

#[wasm_bindgen]
impl SoftwareBridge {
    /// A phone whose chip has serial `serial` and a fresh random key, with an
    /// empty SIM tray.
    #[wasm_bindgen(constructor)]
    pub fn new(serial: String) -> Result<SoftwareBridge, JsValue> {
        Ok(SoftwareBridge {
            serial,
            key: random_key()?,
            counter: 0,
            sim: None,
        })
    }

    /// A phone with a given 32-byte chip key (to make a "cloned chip").
    #[wasm_bindgen(js_name = withKey)]
    pub fn with_key(
        serial: String,
        #[wasm_bindgen(js_name = secretKey)] secret_key: &[u8],
    ) -> Result<SoftwareBridge, JsValue> {
        let key = SecretKey::from_bytes(secret_key)
            .map_err(|_| bad("secret key must be a 32-byte P-256 scalar"))?;
        Ok(SoftwareBridge {
            serial,
            key,
            counter: 0,
            sim: None,
        })
    }

    /// The chip key's 32 bytes (tests and the clone attack only).
    #[wasm_bindgen(js_name = exportKey)]
    pub fn export_key(&self) -> Vec<u8> {
        self.key.to_bytes()
    }

    /// Puts a SIM in the tray: what `simInfo()` will report (any of
    /// `msisdn, iccid, imsi, eid, subscriptionId, slotIndex, cardId,
    /// portIndex, embedded, mcc, mnc`, unchecked, so tests can present bad
    /// ones) and `secretKey?`, the base64url scalar of a SIM applet key.
    #[wasm_bindgen(js_name = insertSim)]
    pub fn insert_sim(&mut self, sim: JsValue) -> Result<(), JsValue> {
        let shape = |crate::fields::Shape(field): crate::fields::Shape| {
            bad(format!("a SIM's {field} is not the bridge's type for it"))
        };
        let mut names = SIM_FIELDS.to_vec();
        names.push("secretKey");
        let fields = Fields::object(sim, Some(&names)).map_err(shape)?;
        let mut info = sim_from_fields(&fields).map_err(shape)?;
        if info.public_key.is_some() {
            return Err(bad("give a SIM its secretKey, not a publicKey"));
        }
        // The SIM applet key, a 32-byte base64url scalar, when the SIM has one.
        let key = match fields.opt_string("secretKey").map_err(shape)? {
            None => None,
            Some(text) => Some(
                simbind_core::codec::unb64(&text, "secretKey")
                    .ok()
                    .and_then(|b| SecretKey::from_bytes(&b).ok())
                    .ok_or_else(|| bad("SIM secretKey must be a base64url P-256 scalar"))?,
            ),
        };
        info.public_key = key.as_ref().map(|k| b64(&k.public_key().to_compressed()));
        self.sim = Some((info, key));
        Ok(())
    }

    /// Empties the SIM tray.
    #[wasm_bindgen(js_name = removeSim)]
    pub fn remove_sim(&mut self) {
        self.sim = None;
    }

    /// Sets the counter (to simulate a cloned key replaying old counters).
    #[wasm_bindgen(js_name = setCounter)]
    pub fn set_counter(&mut self, counter: f64) -> Result<(), JsValue> {
        self.counter = crate::replies::counter_from_f64(counter).map_err(JsValue::from)?;
        Ok(())
    }

    /// Bridge: chip info.
    #[wasm_bindgen(js_name = chipInfo)]
    pub fn chip_info(&self) -> JsValue {
        Made::default()
            .with("format", "simbind-p256")
            .with("serial", self.serial.as_str())
            .with("publicKey", b64(&self.key.public_key().to_compressed()))
            .done()
    }

    /// Bridge: SIM info; throws when the tray is empty.
    #[wasm_bindgen(js_name = simInfo)]
    pub fn sim_info(&self) -> Result<JsValue, JsValue> {
        let (sim, _) = self
            .sim
            .as_ref()
            .ok_or_else(|| JsValue::from(js_sys::Error::new("no SIM inserted")))?;
        Ok(Made::default()
            .with_some("msisdn", sim.msisdn.clone())
            .with_some("iccid", sim.iccid.clone())
            .with_some("imsi", sim.imsi.clone())
            .with_some("eid", sim.eid.clone())
            .with_some("subscriptionId", sim.subscription_id.map(|n| n as f64))
            .with_some("slotIndex", sim.slot_index.map(|n| n as f64))
            .with_some("cardId", sim.card_id.map(|n| n as f64))
            .with_some("portIndex", sim.port_index.map(|n| n as f64))
            .with_some("embedded", sim.embedded)
            .with_some("mcc", sim.mcc.clone())
            .with_some("mnc", sim.mnc.clone())
            .with_some("publicKey", sim.public_key.clone())
            .done())
    }

    /// Bridge: advances and returns the counter.
    #[wasm_bindgen(js_name = nextCounter)]
    pub fn next_counter(&mut self) -> f64 {
        self.counter += 1;
        self.counter as f64
    }

    /// Bridge: the chip's signature over `transcript`.
    #[wasm_bindgen(js_name = chipSign)]
    pub fn chip_sign(&self, transcript: &[u8]) -> Uint8Array {
        Uint8Array::from(self.key.sign(transcript).to_bytes().as_slice())
    }

    /// Bridge: the SIM applet's signature; throws when the SIM has no key.
    #[wasm_bindgen(js_name = simSign)]
    pub fn sim_sign(&self, transcript: &[u8]) -> Result<Uint8Array, JsValue> {
        let key = self
            .sim
            .as_ref()
            .and_then(|(_, k)| k.as_ref())
            .ok_or_else(|| JsValue::from(js_sys::Error::new("the SIM has no key")))?;
        Ok(Uint8Array::from(key.sign(transcript).to_bytes().as_slice()))
    }
}
