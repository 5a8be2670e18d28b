//! Google's attestation status list: certificates (by serial, lowercase
//! hex) that are revoked or suspended, in the JSON shape Google publishes:
//!
//! ```json
//! {"entries": {"2c85cdc15c3042f2": {"status": "REVOKED", "reason": "KEY_COMPROMISE"}}}
//! ```
//!
//! Every listed serial is refused, whatever its status: a suspended
//! certificate is as untrustworthy for binding as a revoked one (Google's
//! own verifier only refuses `REVOKED`; this is stricter on purpose).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One listed certificate.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct StatusEntry {
    /// `REVOKED`, `SUSPENDED`, or a status Google adds later.
    pub status: String,
    /// Why, for example `KEY_COMPROMISE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The parsed list, keyed by lowercase hex serial.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatusList {
    /// Listed serials and their entries.
    pub entries: BTreeMap<String, StatusEntry>,
}

#[derive(Deserialize)]
struct Wire {
    entries: BTreeMap<String, StatusEntry>,
}

impl StatusList {
    /// Parses the published JSON; serials are lowercased.
    pub fn parse(json: &str) -> Result<Self, serde_json::Error> {
        let wire: Wire = serde_json::from_slice(json.as_bytes())?;
        // Inserted one by one, not collected: collecting into a map sorts
        // first, and that sort is a few KB of the worker's upload.
        let mut entries = BTreeMap::new();
        for (serial, entry) in wire.entries {
            entries.insert(serial.to_ascii_lowercase(), entry);
        }
        Ok(Self { entries })
    }

    /// Whether a certificate with this serial (lowercase hex) is refused.
    pub fn refuses(&self, serial: &str) -> bool {
        self.entries.contains_key(serial)
    }
}
