//! The dev outbox: SMS kept in Workers KV, readable through `/dev/outbox`.
//! Dev only, and KV is right for it: a message that shows up a moment late
//! harms nothing. Keys hold the number only as its keyed hash.
//!
//! | key | value | TTL |
//! |---|---|---|
//! | `outbox:{msisdn hash}:{ms}:{rand}` | `OutboxMessage` JSON, also as list metadata | 1 day |

use serde::{Deserialize, Serialize};
use simbind_core::id_hash::IdHash;
use worker::kv::KvStore;

use crate::problem::ApiError;

/// The KV binding of the outbox.
pub const KV_BINDING: &str = "SIMBIND_KV";
const TTL: u64 = 24 * 3600;

/// A message kept by the dev outbox SMS provider.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub at: u64,
    pub kind: String,
    pub text: String,
}

/// Stores a message to `to`. The value is repeated as list metadata, so a
/// listing needs no read per key.
pub async fn put(
    kv: &KvStore,
    to: &IdHash,
    message: &OutboxMessage,
    suffix: &str,
) -> Result<(), ApiError> {
    let key = format!("outbox:{}:{:016}:{suffix}", to.as_str(), message.at);
    let text = serde_json::to_string(message).map_err(|e| ApiError::Platform(e.to_string()))?;
    kv.put_bytes(&key, text.as_bytes())?
        .metadata(message)?
        .expiration_ttl(TTL)
        .execute()
        .await
        .map_err(Into::into)
}

/// Messages to a number, oldest first.
pub async fn list(kv: &KvStore, to: &IdHash) -> Result<Vec<OutboxMessage>, ApiError> {
    let listed = kv
        .list()
        .prefix(format!("outbox:{}:", to.as_str()))
        .limit(1000)
        .execute()
        .await?;
    Ok(listed
        .keys
        .into_iter()
        .filter_map(|k| k.metadata.and_then(|m| serde_json::from_value(m).ok()))
        .collect())
}
