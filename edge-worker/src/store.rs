//! The KV data model (docs/API.md § Storage). Keys never contain identifiers
//! in clear: numbers and chip serials appear only as keyed hashes.
//!
//! | key | value | TTL |
//! |---|---|---|
//! | `binding:{binding_id}` | `BindingRecord` JSON | none |
//! | `number:{msisdn hash}` | binding id | none |
//! | `chip:{chip serial hash}` | binding id | none |
//! | `registration:{registration_id}` | `RegistrationRecord` JSON | 10 min |
//! | `nonce:{challenge nonce}` | `1` (challenge used) | 180 s (longest challenge life + 60 s) |
//! | `audit:{binding_id}:{newest-first ms}:{newest-first seq}:{rand}` | `AuditEvent` JSON, also as list metadata | 90 days |
//! | `rate:{scope}:{hash}:{window}` | count | window + 60 s |
//! | `outbox:{msisdn hash}:{ms}:{rand}` | `OutboxMessage` JSON (dev only) | 1 day |

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use simbind_core::binding::{BindingRecord, RegistrationRecord};
use simbind_core::codec::b64;
use simbind_core::id_hash::IdHash;
use worker::kv::KvStore;

use crate::problem::ApiError;

/// KV's smallest accepted TTL.
const MIN_TTL: u64 = 60;
/// How long a registration waits for its code.
pub const REGISTRATION_TTL: u64 = 600;
/// How long audit events are kept.
pub const AUDIT_TTL: u64 = 90 * 24 * 3600;

/// One entry of a binding's audit trail. Holds no subscriber identifier.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: u64,
    pub event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceremony: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// A message kept by the dev outbox SMS provider.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub at: u64,
    pub kind: String,
    pub text: String,
}

/// Typed access to the worker's KV namespace.
pub struct Store {
    kv: KvStore,
}

impl Store {
    /// Wraps the `SIMBIND_KV` binding.
    pub fn new(kv: KvStore) -> Self {
        Self { kv }
    }

    async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ApiError> {
        match self.kv.get(key).text().await? {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| ApiError::Platform(format!("corrupt record {key}: {e}"))),
        }
    }

    async fn put<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl: Option<u64>,
    ) -> Result<(), ApiError> {
        let text = serde_json::to_string(value).map_err(|e| ApiError::Platform(e.to_string()))?;
        let mut put = self.kv.put(key, text)?;
        if let Some(ttl) = ttl {
            put = put.expiration_ttl(ttl.max(MIN_TTL));
        }
        Ok(put.execute().await?)
    }

    pub async fn registration(&self, id: &str) -> Result<Option<RegistrationRecord>, ApiError> {
        self.get(&format!("registration:{id}")).await
    }

    /// Stores a registration, keeping its original expiry.
    pub async fn put_registration(&self, r: &RegistrationRecord, now: u64) -> Result<(), ApiError> {
        let left = (r.created_at + REGISTRATION_TTL).saturating_sub(now);
        self.put(
            &format!("registration:{}", r.registration_id),
            r,
            Some(left),
        )
        .await
    }

    pub async fn delete_registration(&self, id: &str) -> Result<(), ApiError> {
        Ok(self.kv.delete(&format!("registration:{id}")).await?)
    }

    pub async fn binding(&self, id: &str) -> Result<Option<BindingRecord>, ApiError> {
        self.get(&format!("binding:{id}")).await
    }

    pub async fn put_binding(&self, b: &BindingRecord) -> Result<(), ApiError> {
        self.put(&format!("binding:{}", b.binding_id), b, None)
            .await
    }

    async fn indexed(&self, key: String) -> Result<Option<BindingRecord>, ApiError> {
        match self.get::<String>(&key).await? {
            Some(id) => self.binding(&id).await,
            None => Ok(None),
        }
    }

    /// The binding of a number, by its keyed hash.
    pub async fn binding_of_number(
        &self,
        number: &IdHash,
    ) -> Result<Option<BindingRecord>, ApiError> {
        self.indexed(format!("number:{}", number.as_str())).await
    }

    /// The binding a chip serial is indexed to.
    pub async fn binding_of_chip(
        &self,
        serial: &IdHash,
    ) -> Result<Option<BindingRecord>, ApiError> {
        self.indexed(format!("chip:{}", serial.as_str())).await
    }

    /// Points the number and chip indexes at `b`.
    pub async fn index_binding(&self, b: &BindingRecord) -> Result<(), ApiError> {
        self.put(
            &format!("number:{}", b.sim.msisdn.as_str()),
            &b.binding_id,
            None,
        )
        .await?;
        self.put(
            &format!("chip:{}", b.chip_serial.as_str()),
            &b.binding_id,
            None,
        )
        .await
    }

    /// Removes the indexes of a binding that ended.
    pub async fn unindex_binding(&self, b: &BindingRecord) -> Result<(), ApiError> {
        self.kv
            .delete(&format!("number:{}", b.sim.msisdn.as_str()))
            .await?;
        Ok(self
            .kv
            .delete(&format!("chip:{}", b.chip_serial.as_str()))
            .await?)
    }

    pub async fn nonce_used(&self, nonce: &[u8; 16]) -> Result<bool, ApiError> {
        Ok(self
            .kv
            .get(&format!("nonce:{}", b64(nonce)))
            .text()
            .await?
            .is_some())
    }

    /// Marks a challenge used until any challenge would have expired.
    pub async fn use_nonce(&self, nonce: &[u8; 16]) -> Result<(), ApiError> {
        let ttl = simbind_core::challenge::MAX_TTL_SECS + MIN_TTL;
        self.put(&format!("nonce:{}", b64(nonce)), &1, Some(ttl))
            .await
    }

    /// Counts one event in a fixed window; returns the count including it.
    pub async fn count(
        &self,
        scope: &str,
        subject: &IdHash,
        window: u64,
        now: u64,
    ) -> Result<u32, ApiError> {
        let key = format!("rate:{scope}:{}:{}", subject.as_str(), now / window);
        let n = self.get::<u32>(&key).await?.unwrap_or(0) + 1;
        self.put(&key, &n, Some(window + MIN_TTL)).await?;
        Ok(n)
    }

    /// Stores `value` and repeats it as the key's list metadata, so a
    /// listing needs no read per key (values stay under KV's 1 KiB metadata cap).
    async fn put_listed<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl: u64,
    ) -> Result<(), ApiError> {
        let text = serde_json::to_string(value).map_err(|e| ApiError::Platform(e.to_string()))?;
        self.kv
            .put(key, text)?
            .metadata(value)?
            .expiration_ttl(ttl.max(MIN_TTL))
            .execute()
            .await
            .map_err(Into::into)
    }

    /// Appends an audit event. Keys sort newest first (KV lists in key
    /// order); `seq` keeps a request's own events in the order written.
    pub async fn audit(
        &self,
        binding_id: &str,
        event: &AuditEvent,
        seq: u16,
        rand: &str,
    ) -> Result<(), ApiError> {
        let key = format!(
            "audit:{binding_id}:{}:{:05}:{rand}",
            newest_first(event.at),
            u16::MAX - seq
        );
        self.put_listed(&key, event, AUDIT_TTL).await
    }

    /// Writes `event` under one key per binding, minute and reason: repeats
    /// within the minute overwrite it instead of adding events.
    pub async fn audit_once_per_minute(
        &self,
        binding_id: &str,
        event: &AuditEvent,
        reason: &str,
    ) -> Result<(), ApiError> {
        let minute = event.at - event.at % 60_000;
        let key = format!(
            "audit:{binding_id}:{}:unverified:{reason}",
            newest_first(minute)
        );
        self.put_listed(&key, event, AUDIT_TTL).await
    }

    /// The newest audit events of a binding (at most [`AUDIT_PAGE`]), oldest
    /// first, and whether older ones exist.
    pub async fn audit_trail(&self, binding_id: &str) -> Result<(Vec<AuditEvent>, bool), ApiError> {
        let (mut events, more) = self
            .list_listed(format!("audit:{binding_id}:"), AUDIT_PAGE)
            .await?;
        events.reverse();
        // Per-minute events are keyed by their minute: place them by time.
        // The sort is stable, so one request's events keep their order.
        events.sort_by_key(|e: &AuditEvent| e.at);
        Ok((events, more))
    }

    pub async fn put_outbox(
        &self,
        to: &IdHash,
        message: &OutboxMessage,
        suffix: &str,
    ) -> Result<(), ApiError> {
        let key = format!("outbox:{}:{:016}:{suffix}", to.as_str(), message.at);
        self.put_listed(&key, message, 24 * 3600).await
    }

    /// Outbox messages to a number, oldest first.
    pub async fn outbox(&self, to: &IdHash) -> Result<Vec<OutboxMessage>, ApiError> {
        Ok(self
            .list_listed(format!("outbox:{}:", to.as_str()), 1000)
            .await?
            .0)
    }

    /// Values stored with [`Store::put_listed`] under `prefix`, in key order.
    async fn list_listed<T: DeserializeOwned>(
        &self,
        prefix: String,
        limit: u64,
    ) -> Result<(Vec<T>, bool), ApiError> {
        let listed = self.kv.list().prefix(prefix).limit(limit).execute().await?;
        let values = listed
            .keys
            .into_iter()
            .filter_map(|k| k.metadata.and_then(|m| serde_json::from_value(m).ok()))
            .collect();
        Ok((values, !listed.list_complete))
    }
}

/// How many audit events a listing returns.
pub const AUDIT_PAGE: u64 = 200;

/// A millisecond timestamp as a key part that sorts newest first.
fn newest_first(at_ms: u64) -> String {
    format!("{:020}", u64::MAX - at_ms)
}
