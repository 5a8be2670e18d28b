//! Real chip attestation in the worker: the policy read from configuration,
//! and Google's attestation status list, refreshed by a Cron Trigger into KV
//! (eventual consistency is harmless there: a revocation is seconds late at
//! worst) and read one serial at a time by each bind.
//!
//! KV layout (namespace `ATTESTATION_STATUS`): `serial:<hex>` → the entry's
//! JSON, `list` → every entry as stored in KV (so a refresh writes only what
//! changed), `meta` → `{refreshed_at, entries, pending, last_error}`.

use serde::{Deserialize, Serialize};
use simbind_core::attestation::android_key::{self, AndroidPolicy};
use simbind_core::attestation::apple_appattest::{ApplePolicy, Environment};
use std::collections::BTreeMap;

use simbind_core::attestation::signatures::CheckedSignature;
use simbind_core::attestation::status_list::{StatusEntry, StatusList};
use simbind_core::attestation::{
    self, AttestationFacts, AttestationPolicy, ChipEvidence, ChipFormat, ChipIdentity,
};
use simbind_core::codec::unb64;
use worker::{Env, Fetch, Headers, Method};

use crate::App;
use crate::kv::Namespace;
use crate::problem::ApiError;

/// The KV namespace binding.
pub const STATUS_KV: &str = "ATTESTATION_STATUS";
/// Where Google publishes the list.
pub const GOOGLE_STATUS_URL: &str = "https://android.googleapis.com/attestation/status";

/// How the status list is kept.
#[derive(Clone, Debug)]
pub struct StatusConfig {
    /// The list's URL.
    pub url: String,
    /// Age after which the list no longer counts as current, in seconds.
    pub max_age: u64,
    /// Refuse Android binds while the list is not current.
    pub fail_closed: bool,
    /// KV writes one refresh may make (the rest wait for the next run).
    pub writes_per_run: usize,
}

fn misconfigured(what: &str) -> ApiError {
    ApiError::Misconfigured(what.into())
}

/// Reads the attestation policy. Outside dev mode the default accepts only
/// the real formats; a format that needs an app allow-list refuses to start
/// without one. `ATTESTATION_TEST_ROOT` (a test-only root, trusted beside
/// the pinned ones) is honoured in dev mode only.
pub fn policy_from_env(
    var: &dyn Fn(&str) -> Option<String>,
    dev_mode: bool,
) -> Result<AttestationPolicy, ApiError> {
    let default_formats = if dev_mode {
        "simbind-p256,android-key,apple-appattest"
    } else {
        "android-key,apple-appattest"
    };
    let formats = var("CHIP_FORMATS")
        .unwrap_or_else(|| default_formats.into())
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| {
            ChipFormat::parse(f).map_err(|_| misconfigured("CHIP_FORMATS lists an unknown format"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut policy = AttestationPolicy {
        formats,
        ..AttestationPolicy::default()
    };
    policy.android = match var("ANDROID_POLICY") {
        Some(json) => AndroidPolicy::from_json(&json)
            .map_err(|e| ApiError::Misconfigured(format!("ANDROID_POLICY: {e}")))?,
        None => AndroidPolicy {
            allowed_apps: None,
            ..AndroidPolicy::default()
        },
    };
    let apps_listed = policy
        .android
        .allowed_apps
        .as_ref()
        .is_some_and(|a| !a.is_empty());
    if policy.formats.contains(&ChipFormat::AndroidKey) && !apps_listed {
        return Err(misconfigured(
            "android-key is accepted but ANDROID_POLICY lists no allowedApps",
        ));
    }
    let environment = match var("APPLE_ENVIRONMENT").as_deref() {
        None | Some("production") => Environment::Production,
        Some("development") => Environment::Development,
        Some(_) => {
            return Err(misconfigured(
                "APPLE_ENVIRONMENT must be production or development",
            ));
        }
    };
    policy.apple = ApplePolicy {
        app_ids: var("APPLE_APP_IDS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect(),
        environment,
    };
    if policy.formats.contains(&ChipFormat::AppleAppAttest) && policy.apple.app_ids.is_empty() {
        return Err(misconfigured(
            "apple-appattest is accepted but APPLE_APP_IDS is empty",
        ));
    }
    if let Some(root) = var("ATTESTATION_TEST_ROOT") {
        if !dev_mode {
            return Err(misconfigured("ATTESTATION_TEST_ROOT is for dev mode only"));
        }
        let spki = unb64(&root, "ATTESTATION_TEST_ROOT").map_err(|_| {
            misconfigured("ATTESTATION_TEST_ROOT must be a base64url SubjectPublicKeyInfo")
        })?;
        policy.android_roots.push(spki.clone());
        policy.apple_roots.push(spki);
    }
    Ok(policy)
}

/// Reads the status-list settings.
pub fn status_from_env(var: &dyn Fn(&str) -> Option<String>) -> Result<StatusConfig, ApiError> {
    let url = var("ATTESTATION_STATUS_URL").unwrap_or_else(|| GOOGLE_STATUS_URL.into());
    if !url.starts_with("https://") {
        return Err(misconfigured(
            "ATTESTATION_STATUS_URL must be an https:// URL",
        ));
    }
    let max_age = match var("ATTESTATION_STATUS_MAX_AGE_SECS") {
        None => 2 * 86_400,
        Some(v) => v
            .parse()
            .map_err(|_| misconfigured("ATTESTATION_STATUS_MAX_AGE_SECS must be a number"))?,
    };
    let fail_closed = match var("ATTESTATION_STATUS_FAIL_CLOSED").as_deref() {
        None | Some("true") => true,
        Some("false") => false,
        Some(_) => {
            return Err(misconfigured(
                "ATTESTATION_STATUS_FAIL_CLOSED must be true or false",
            ));
        }
    };
    let writes_per_run = match var("ATTESTATION_STATUS_WRITES_PER_RUN") {
        None => 900,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=900).contains(n))
            .ok_or_else(|| misconfigured("ATTESTATION_STATUS_WRITES_PER_RUN must be 1 to 900"))?,
    };
    Ok(StatusConfig {
        url,
        max_age,
        fail_closed,
        writes_per_run,
    })
}

/// What the list's freshness is recorded as.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StatusMeta {
    /// Unix seconds of the last successful refresh (0: never).
    pub refreshed_at: u64,
    /// Serials stored in KV.
    pub entries: usize,
    /// Changes still to be written by the next runs.
    #[serde(default)]
    pub pending: usize,
    /// Why the last attempt failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl StatusConfig {
    /// Whether the list stored as `meta` is older than the deployment accepts.
    pub fn stale(&self, meta: &StatusMeta, now: u64) -> bool {
        now.saturating_sub(meta.refreshed_at) > self.max_age
    }
}

/// Stores `value` as JSON text under `key`.
async fn put_json<T: Serialize>(store: &Namespace, key: &str, value: &T) -> Result<(), ApiError> {
    let text = serde_json::to_vec(value).map_err(|e| ApiError::Platform(e.to_string()))?;
    store.put(key, &text).await
}

fn kv(env: &Env) -> Result<Namespace, ApiError> {
    Namespace::bound(env, STATUS_KV)
        .ok_or_else(|| misconfigured("the ATTESTATION_STATUS KV namespace is not bound"))
}

/// The stored freshness record.
pub async fn meta(env: &Env) -> Result<StatusMeta, ApiError> {
    Ok(get_json(&kv(env)?, "meta").await?.unwrap_or_default())
}

/// The JSON text stored under `key`, parsed; `None` if nothing is stored.
/// Read as bytes and parsed by serde_json like every other JSON the worker
/// reads: KV's own `json()` would add a second deserializer of each type.
async fn get_json<T: serde::de::DeserializeOwned>(
    store: &Namespace,
    key: &str,
) -> Result<Option<T>, ApiError> {
    match store.bytes(key).await? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ApiError::Platform(format!("kv: {key}: {e}"))),
    }
}

/// The facts a bind's decision needs about its (validated) attestation:
/// every chain signature checked with WebCrypto (core lists them, and
/// counts each answer only for its own check); for an Android chain, one KV
/// read per certificate and the list's age.
pub async fn facts(app: &App, chip: &ChipIdentity) -> Result<AttestationFacts, ApiError> {
    let Some(evidence) = &chip.evidence else {
        return Ok(AttestationFacts::default());
    };
    let mut facts = match evidence {
        ChipEvidence::AndroidChain(chain) => status_facts(app, chain).await?,
        ChipEvidence::AppleAttestation(_) => AttestationFacts::default(),
    };
    let checks =
        attestation::bind_signature_checks(chip, evidence, &app.cfg.policy.attestation, app.now);
    for check in checks {
        // Unanswered (WebCrypto could not import the key): core refuses it.
        if let Some(valid) = crate::webcrypto::verify_chain_signature(&check).await {
            facts.checked_signatures.push(CheckedSignature {
                digest: check.digest(),
                valid,
            });
        }
    }
    Ok(facts)
}

/// The status list's word on an Android chain.
async fn status_facts(app: &App, chain: &[Vec<u8>]) -> Result<AttestationFacts, ApiError> {
    // A chain that does not parse is refused by the decision itself.
    let serials = android_key::status_serials(chain).unwrap_or_default();
    let store = kv(&app.env)?;
    let mut refused = Vec::new();
    for serial in serials {
        let listed = store.bytes(&format!("serial:{serial}")).await?.is_some();
        if listed {
            refused.push(serial);
        }
    }
    let meta = meta(&app.env).await?;
    let status = &app.cfg.attestation_status;
    let stale = status.stale(&meta, app.now);
    if stale {
        // Logged either way: failing open is a choice, not a silence.
        worker::console_error!(
            "attestation status list is stale (refreshed_at {}): {} android-key binds",
            meta.refreshed_at,
            if status.fail_closed {
                "refusing"
            } else {
                "allowing (fail open)"
            }
        );
    }
    Ok(AttestationFacts {
        refused_serials: refused,
        stale: stale && status.fail_closed,
        checked_signatures: Vec::new(),
    })
}

/// Fetches the list and writes what changed. Run by the Cron Trigger.
pub async fn refresh(env: &Env, status: &StatusConfig, now: u64) -> Result<StatusMeta, ApiError> {
    let store = kv(env)?;
    let mut meta = meta(env).await?;
    match fetch_list(&status.url).await {
        Ok(list) => {
            let mut stored: BTreeMap<String, StatusEntry> =
                get_json(&store, "list").await?.unwrap_or_default();
            // What differs from what KV holds: changed or new entries, then
            // entries that left the list. A run applies at most
            // `writes_per_run` of them (a Worker invocation has a KV
            // operation budget); the next run goes on from there.
            let mut changes: Vec<(String, Option<StatusEntry>)> = list
                .entries
                .iter()
                .filter(|(serial, entry)| stored.get(*serial) != Some(entry))
                .map(|(serial, entry)| (serial.clone(), Some(entry.clone())))
                .collect();
            changes.extend(
                stored
                    .keys()
                    .filter(|s| !list.entries.contains_key(*s))
                    .map(|s| (s.clone(), None)),
            );
            let pending = changes.len().saturating_sub(status.writes_per_run);
            for (serial, entry) in changes.into_iter().take(status.writes_per_run) {
                let key = format!("serial:{serial}");
                match entry {
                    Some(entry) => {
                        put_json(&store, &key, &entry).await?;
                        stored.insert(serial, entry);
                    }
                    None => {
                        store.delete(&key).await?;
                        stored.remove(&serial);
                    }
                }
            }
            put_json(&store, "list", &stored).await?;
            meta = StatusMeta {
                // Current only once every change is in KV.
                refreshed_at: if pending == 0 { now } else { meta.refreshed_at },
                entries: stored.len(),
                pending,
                last_error: None,
            };
        }
        Err(why) => {
            worker::console_error!("attestation status refresh failed: {why}");
            meta.last_error = Some(why);
        }
    }
    put_json(&store, "meta", &meta).await?;
    Ok(meta)
}

async fn fetch_list(url: &str) -> Result<StatusList, String> {
    let request = crate::http::outbound(url, &Method::Get, &Headers::new(), None, false)
        .map_err(|e| e.to_string())?;
    let mut response = Fetch::Request(request)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status_code() != 200 {
        return Err(format!("status list answered {}", response.status_code()));
    }
    let text = response.text().await.map_err(|e| e.to_string())?;
    StatusList::parse(&text).map_err(|_| "the status list is not in Google's shape".to_string())
}
