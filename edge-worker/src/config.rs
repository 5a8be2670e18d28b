//! Configuration from `wrangler.toml` vars and Workers secrets. Secrets have
//! no defaults in code: dev values live in `.dev.vars` only, and outside dev
//! mode a missing secret, or one still carrying a dev value, stops the worker
//! from serving.

use std::collections::BTreeMap;

use simbind_core::attestation::vendor::{RevokedChips, VendorRoots};
use simbind_core::binding::ProofMethod;
use simbind_core::carrier::{self, CarrierPolicy, OnFailure};
use simbind_core::challenge::{ChallengeKey, ChallengeKeyring};
use simbind_core::codec::unb64;
use simbind_core::crypto::{PublicKey, SecretKey};
use simbind_core::decision::Policy;
use simbind_core::grant::GrantSigner;
use simbind_core::id_hash::IdHasher;
use simbind_core::id_hash::IdKind;
use simbind_core::identifiers::{ChipSerial, PhoneNumber};
use simbind_core::sim::SimPolicy;
use worker::Env;

use crate::problem::ApiError;

/// Marker that every dev secret value starts with.
pub const DEV_SECRET_PREFIX: &str = "dev-only-";
/// Shortest secret accepted outside dev mode, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// How SMS leave the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmsConfig {
    /// Kept in KV, readable through the dev-only outbox route.
    Outbox,
    /// POSTed as JSON to a webhook with a bearer secret.
    Webhook { url: String, token: String },
}

/// Everything the worker reads from its environment.
pub struct Config {
    pub dev_mode: bool,
    pub audience: String,
    pub issuer: String,
    pub grant_audience: String,
    pub grant_ttl: u64,
    pub challenge_ttl: u64,
    pub registrations_per_hour: u32,
    pub registrations_per_ip_per_hour: u32,
    /// One-time-code SMS per hour, all numbers together.
    pub sms_per_hour: u32,
    /// `device_sms` registrations started per hour, all together: each
    /// creates a registration and a token object (`DEVICE_SMS_STARTS_PER_HOUR`).
    pub device_sms_starts_per_hour: u32,
    /// One-time-code SMS per hour to one country calling code.
    pub sms_per_country_per_hour: u32,
    /// Country calling codes SMS may go to; `None` (dev only): any.
    pub sms_countries: Option<Vec<String>>,
    /// Failed admin authentications per sender per hour before lockout.
    pub admin_failures_per_hour: u32,
    /// The name the code's SMS gives the service.
    pub service_name: String,
    /// The host the WebOTP line (`@host #code`) names, if any.
    pub webotp_domain: Option<String>,
    /// The deployment's own base URL (`PUBLIC_URL`, required outside dev):
    /// where the discovery document says the JWKS is. Unset (dev only): the
    /// request's origin.
    pub public_url: Option<String>,
    pub keys: ChallengeKeyring,
    pub grant_signer: GrantSigner,
    pub pepper: Vec<u8>,
    pub hasher: IdHasher,
    pub admin_token: String,
    pub policy: Policy,
    /// How the attestation status list is kept.
    pub attestation_status: crate::attestation::StatusConfig,
    pub cors_origins: Vec<String>,
    pub sms: SmsConfig,
    /// How registrations may prove their number (`NUMBER_PROOF`); the first
    /// is the default.
    pub number_proof: Vec<ProofMethod>,
    /// Where device-sent SMS go, when `device_sms` is offered.
    pub device_sms: Option<DeviceSmsConfig>,
    /// The carrier's CAMARA APIs, when configured (`CARRIER_API_ROOT`).
    pub carrier: Option<crate::carrier::CarrierConfig>,
    /// Firebase PNV, when `firebase_pnv` is offered.
    pub firebase_pnv: Option<crate::firebase_pnv::PnvConfig>,
    /// CAMARA Number Verification, when `camara_nv` is offered.
    pub camara_nv: Option<crate::number_verification::NvConfig>,
    /// `otp` and `device_sms` only as a fallback from a `camara_nv`
    /// registration the operator could not serve (`REQUIRE_CARRIER_PROOF`).
    pub require_carrier_proof: bool,
    /// Security events pushed to the relying party (`SSF_RECEIVERS`).
    pub events: Option<crate::security_events::EventsConfig>,
}

/// The device-sent SMS number proof: the virtual number phones text
/// (`SMS_INBOUND_NUMBER`) and the secret the provider signs its inbound
/// webhook with (`SMS_INBOUND_SECRET`).
#[derive(Clone, Debug)]
pub struct DeviceSmsConfig {
    pub number: PhoneNumber,
    pub secret: Vec<u8>,
}

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .ok()
        .map(|v| v.to_string())
        .filter(|v| !v.is_empty())
}

fn number<T: std::str::FromStr>(env: &Env, name: &str, default: T) -> Result<T, ApiError> {
    match var(env, name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::Misconfigured(format!("{name} is not a number"))),
    }
}

/// How long a SIM-swap subscription is asked for: 30 days.
const DEFAULT_SUBSCRIPTION_SECS: u64 = 30 * 24 * 3600;
/// The longest subscription asked for: 90 days.
const MAX_SUBSCRIPTION_SECS: u64 = 90 * 24 * 3600;
/// The sink's origin in dev mode without `PUBLIC_URL`: the dev carrier
/// delivers in-process and never fetches it.
const DEV_SINK_ORIGIN: &str = "https://localhost";
/// The scopes asked of the carrier: SIM Swap's two operations, Device Swap's
/// date, and the purpose (CAMARA asks for one `dpv:` purpose scope).
pub const DEFAULT_CARRIER_SCOPE: &str = "sim-swap:retrieve-date sim-swap:check device-swap:retrieve-date dpv:FraudPreventionAndDetection";
/// Added to the default scopes when the worker keeps SIM-swap subscriptions.
pub const SUBSCRIPTION_SCOPE: &str = "sim-swap-subscriptions:org.camaraproject.sim-swap-subscriptions.v0.swapped:create sim-swap-subscriptions:delete";

/// `open` or `closed` (unset: `default`); anything else refuses.
fn on_failure(env: &Env, name: &str, default: OnFailure) -> Result<OnFailure, ApiError> {
    match var(env, name) {
        None => Ok(default),
        Some(v) => OnFailure::parse(&v)
            .ok_or_else(|| ApiError::Misconfigured(format!("{name} must be open or closed"))),
    }
}

/// `SIM_LEVEL`: `none`, `device` (unset) or `privileged`, then optional
/// `,format=level` overrides; anything else refuses.
fn sim_policy(text: Option<&str>) -> Result<SimPolicy, ApiError> {
    match text {
        None => Ok(SimPolicy::default()),
        Some(text) => SimPolicy::parse(text).ok_or_else(|| {
            ApiError::Misconfigured(
                "SIM_LEVEL must be none, device or privileged, then optional ,format=level".into(),
            )
        }),
    }
}

/// A boolean var: `true`, `false` or unset (false); anything else refuses.
fn flag(env: &Env, name: &str) -> Result<bool, ApiError> {
    match var(env, name).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::Misconfigured(format!(
            "{name} must be true or false"
        ))),
    }
}

/// The grant signer: `GRANT_SIGNING_KEY` under `GRANT_KEY_ID`, published with
/// the public keys in `GRANT_RETIRING_JWKS` (a JWKS document, typically the
/// one served before the rotation) until the deployment removes them.
fn grant_signer(env: &Env, key: SecretKey) -> Result<GrantSigner, ApiError> {
    let kid = var(env, "GRANT_KEY_ID").unwrap_or_else(|| "g1".into());
    let retiring = match var(env, "GRANT_RETIRING_JWKS") {
        None => Vec::new(),
        Some(json) => simbind_core::grant::retiring_keys(&json, &kid)
            .map_err(|e| ApiError::Misconfigured(format!("GRANT_RETIRING_JWKS: {e}")))?,
    };
    Ok(GrantSigner { kid, key, retiring })
}

thread_local! {
    /// The configuration, read once per isolate: a deployment or a changed
    /// secret starts new isolates, so it never goes stale.
    static ISOLATE_CONFIG: std::cell::OnceCell<std::rc::Rc<Config>> =
        const { std::cell::OnceCell::new() };
}

impl Config {
    /// The carrier and its subscription settings, where the deployment
    /// keeps SIM-swap subscriptions (`CARRIER_SUBSCRIBE`).
    pub fn subscriptions(
        &self,
    ) -> Option<(
        &crate::carrier::CarrierConfig,
        &crate::carrier::SubscriptionSettings,
    )> {
        let carrier = self.carrier.as_ref()?;
        Some((carrier, carrier.subscriptions.as_ref()?))
    }

    /// The isolate's configuration, read and checked on first use (a
    /// refusal is not kept: the next request reads again).
    pub fn for_isolate(env: &Env) -> Result<std::rc::Rc<Self>, ApiError> {
        if let Some(cfg) = ISOLATE_CONFIG.with(|cell| cell.get().cloned()) {
            return Ok(cfg);
        }
        let cfg = std::rc::Rc::new(Self::from_env(env)?);
        ISOLATE_CONFIG.with(|cell| cell.get_or_init(|| cfg.clone()).clone());
        Ok(cfg)
    }

    /// Reads and checks the configuration; any problem refuses service.
    pub fn from_env(env: &Env) -> Result<Self, ApiError> {
        let dev_mode = var(env, "SIMBIND_ENV").as_deref() == Some("dev");
        if dev_mode && !cfg!(feature = "dev") {
            return Err(ApiError::Misconfigured(
                "SIMBIND_ENV=dev needs a dev build (cargo feature dev)".into(),
            ));
        }
        let secret = |name: &str| -> Result<String, ApiError> {
            let value = env
                .secret(name)
                .ok()
                .map(|s| s.to_string())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ApiError::Misconfigured(format!("secret {name} is not set")))?;
            let problem = match (dev_mode, value.starts_with(DEV_SECRET_PREFIX)) {
                // Dev mode opens the outbox and token-less routes: only with dev secrets.
                (true, false) => Some("holds a non-dev value in dev mode"),
                (false, true) => Some("holds a dev value outside dev mode"),
                (false, false) if value.len() < MIN_SECRET_LEN => Some("is shorter than 32 bytes"),
                _ => None,
            };
            match problem {
                Some(problem) => Err(ApiError::Misconfigured(format!("secret {name} {problem}"))),
                None => Ok(value),
            }
        };
        let grant_key = unb64(&secret("GRANT_SIGNING_KEY")?, "GRANT_SIGNING_KEY")
            .ok()
            .and_then(|b| SecretKey::from_bytes(&b).ok())
            .ok_or_else(|| {
                ApiError::Misconfigured("GRANT_SIGNING_KEY must be a base64url P-256 scalar".into())
            })?;
        let mut keys = ChallengeKeyring::single(
            &var(env, "CHALLENGE_KEY_ID").unwrap_or_else(|| "c1".into()),
            secret("CHALLENGE_HMAC_KEY")?.as_bytes(),
        );
        if let Some(kid) = var(env, "CHALLENGE_KEY_ID_PREVIOUS") {
            let old = secret("CHALLENGE_HMAC_KEY_PREVIOUS")?;
            keys.previous.push(ChallengeKey {
                kid,
                secret: old.into_bytes(),
            });
        }
        let pepper = secret("ID_HASH_PEPPER")?.into_bytes();
        let revoked = revoked_chips(
            var(env, "REVOKED_CHIPS").as_deref(),
            &IdHasher::new(&pepper),
        )?;
        let sms = match var(env, "SMS_PROVIDER").as_deref() {
            Some("outbox") if dev_mode => SmsConfig::Outbox,
            Some("outbox") => {
                return Err(ApiError::Misconfigured(
                    "SMS_PROVIDER=outbox is for dev mode only".into(),
                ));
            }
            Some("webhook") => SmsConfig::Webhook {
                url: var(env, "SMS_WEBHOOK_URL")
                    .filter(|url| dev_mode || url.starts_with("https://"))
                    .ok_or_else(|| {
                        ApiError::Misconfigured("SMS_WEBHOOK_URL must be an https:// URL".into())
                    })?,
                token: secret("SMS_WEBHOOK_TOKEN")?,
            },
            _ => {
                return Err(ApiError::Misconfigured(
                    "SMS_PROVIDER must be outbox or webhook".into(),
                ));
            }
        };
        let number_proof = match var(env, "NUMBER_PROOF") {
            None => vec![ProofMethod::Otp],
            Some(text) => ProofMethod::parse_list(&text).ok_or_else(|| {
                ApiError::Misconfigured(
                    "NUMBER_PROOF must list otp, device_sms or firebase_pnv, comma-separated"
                        .into(),
                )
            })?,
        };
        let device_sms = if number_proof.contains(&ProofMethod::DeviceSms) {
            Some(DeviceSmsConfig {
                number: var(env, "SMS_INBOUND_NUMBER")
                    .and_then(|n| PhoneNumber::parse_e164(&n).ok())
                    .ok_or_else(|| {
                        ApiError::Misconfigured(
                            "device_sms needs SMS_INBOUND_NUMBER, an E.164 number".into(),
                        )
                    })?,
                secret: secret("SMS_INBOUND_SECRET")?.into_bytes(),
            })
        } else {
            None
        };
        let firebase_pnv = if number_proof.contains(&ProofMethod::FirebasePnv) {
            Some(firebase_pnv(env, dev_mode)?)
        } else {
            None
        };
        let require_carrier_proof = flag(env, "REQUIRE_CARRIER_PROOF")?;
        if require_carrier_proof && !number_proof.iter().any(|m| m.by_carrier()) {
            return Err(ApiError::Misconfigured(
                "REQUIRE_CARRIER_PROOF needs firebase_pnv or camara_nv in NUMBER_PROOF".into(),
            ));
        }
        let public_url = match var(env, "PUBLIC_URL") {
            Some(url) if dev_mode || url.starts_with("https://") => {
                Some(url.trim_end_matches('/').to_owned())
            }
            None if dev_mode => None,
            _ => {
                return Err(ApiError::Misconfigured(
                    "PUBLIC_URL must be set to an https:// URL outside dev mode".into(),
                ));
            }
        };
        let camara_nv = if number_proof.contains(&ProofMethod::CamaraNv) {
            Some(camara_nv(env, dev_mode, public_url.as_deref(), &secret)?)
        } else {
            None
        };
        let carrier = match var(env, "CARRIER_API_ROOT") {
            None => None,
            Some(api_root) => {
                let https = |url: &String| dev_mode || url.starts_with("https://");
                let bad = |what: &str| ApiError::Misconfigured(format!("carrier: {what}"));
                let token_url = var(env, "CARRIER_TOKEN_URL")
                    .filter(https)
                    .ok_or_else(|| bad("CARRIER_TOKEN_URL must be an https:// URL"))?;
                if !https(&api_root) {
                    return Err(bad("CARRIER_API_ROOT must be an https:// URL"));
                }
                let key = unb64(&secret("CARRIER_PRIVATE_KEY")?, "CARRIER_PRIVATE_KEY")
                    .ok()
                    .and_then(|b| SecretKey::from_bytes(&b).ok())
                    .ok_or_else(|| bad("CARRIER_PRIVATE_KEY must be a base64url P-256 scalar"))?;
                let subscribe = flag(env, "CARRIER_SUBSCRIBE")?;
                let policy = CarrierPolicy {
                    max_age_hours: number(env, "CARRIER_MAX_AGE_HOURS", 240u32)?
                        .clamp(1, carrier::MAX_AGE_HOURS_LIMIT),
                    verify_every_secs: match var(env, "CARRIER_VERIFY_EVERY_SECS") {
                        None => None,
                        Some(_) => Some(number(env, "CARRIER_VERIFY_EVERY_SECS", 0u64)?),
                    },
                    device_swap: !matches!(
                        var(env, "CARRIER_DEVICE_SWAP").as_deref(),
                        Some("false")
                    ),
                    bind_on_failure: on_failure(env, "CARRIER_ON_FAILURE_BIND", OnFailure::Closed)?,
                    verify_on_failure: on_failure(
                        env,
                        "CARRIER_ON_FAILURE_VERIFY",
                        OnFailure::Open,
                    )?,
                };
                Some((
                    crate::carrier::CarrierConfig {
                        api_root,
                        token_url,
                        client_id: var(env, "CARRIER_CLIENT_ID")
                            .ok_or_else(|| bad("CARRIER_CLIENT_ID is not set"))?,
                        key,
                        key_id: var(env, "CARRIER_KEY_ID"),
                        scope: var(env, "CARRIER_SCOPE").unwrap_or_else(|| {
                            if subscribe {
                                format!("{DEFAULT_CARRIER_SCOPE} {SUBSCRIPTION_SCOPE}")
                            } else {
                                DEFAULT_CARRIER_SCOPE.into()
                            }
                        }),
                        timeout: std::time::Duration::from_millis(
                            number(env, "CARRIER_TIMEOUT_MS", 3000u64)?.clamp(100, 30_000),
                        ),
                        subscriptions: match subscribe {
                            false => None,
                            true => Some(crate::carrier::SubscriptionSettings {
                                lifetime_secs: number(
                                    env,
                                    "CARRIER_SUBSCRIPTION_SECS",
                                    DEFAULT_SUBSCRIPTION_SECS,
                                )?
                                // Seconds only in dev (tests watch renewals); an
                                // hour at least anywhere else.
                                .clamp(if dev_mode { 8 } else { 3600 }, MAX_SUBSCRIPTION_SECS),
                                sink: format!(
                                    "{}/v1/webhooks/carrier",
                                    public_url.as_deref().unwrap_or(DEV_SINK_ORIGIN)
                                ),
                            }),
                        },
                    },
                    policy,
                ))
            }
        };
        let audience = var(env, "AUDIENCE")
            .ok_or_else(|| ApiError::Misconfigured("AUDIENCE is not set".into()))?;
        let issuer = var(env, "ISSUER").unwrap_or_else(|| audience.clone());
        let events =
            crate::security_events::EventsConfig::from_env(env, dev_mode, &issuer, &secret)?;
        let grant_signer = grant_signer(env, grant_key)?;
        // An event key is never a grant key: a receiver's key could then
        // stand in for the grant's, or the reverse.
        if let Some(ec) = events.as_ref().and_then(|e| e.ec.as_ref()) {
            let (x, y) = ec.public_key().coordinates();
            let (x, y) = (simbind_core::codec::b64(&x), simbind_core::codec::b64(&y));
            let published = grant_signer.jwks();
            if published.keys.iter().any(|k| k.x == x && k.y == y) {
                return Err(ApiError::Misconfigured(
                    "SSF_EC_SIGNING_KEY must not be a grant key".into(),
                ));
            }
        }
        Ok(Self {
            dev_mode,
            events,
            issuer,
            grant_audience: var(env, "GRANT_AUDIENCE").unwrap_or_else(|| audience.clone()),
            audience,
            grant_ttl: number(env, "GRANT_TTL_SECS", 120u64)?
                .clamp(1, simbind_core::grant::MAX_GRANT_TTL_SECS),
            challenge_ttl: number(env, "CHALLENGE_TTL_SECS", 120u64)?
                .clamp(1, simbind_core::challenge::MAX_TTL_SECS),
            registrations_per_hour: number(env, "REGISTRATIONS_PER_HOUR", 5u32)?,
            registrations_per_ip_per_hour: number(env, "REGISTRATIONS_PER_IP_PER_HOUR", 20u32)?,
            sms_per_hour: number(env, "SMS_PER_HOUR", 1000u32)?,
            device_sms_starts_per_hour: number(env, "DEVICE_SMS_STARTS_PER_HOUR", 10_000u32)?,
            sms_per_country_per_hour: number(env, "SMS_PER_COUNTRY_PER_HOUR", 200u32)?,
            sms_countries: sms_countries(var(env, "SMS_COUNTRIES").as_deref(), dev_mode)?,
            admin_failures_per_hour: number(env, "ADMIN_FAILURES_PER_HOUR", 10u32)?,
            service_name: service_name(var(env, "SERVICE_NAME"))?,
            webotp_domain: var(env, "WEBOTP_DOMAIN"),
            public_url: public_url.clone(),
            keys,
            grant_signer,
            hasher: IdHasher::new(&pepper),
            pepper,
            admin_token: secret("ADMIN_TOKEN")?,
            policy: Policy {
                max_consecutive_failures: number(env, "MAX_CONSECUTIVE_FAILURES", 3u32)?.max(1),
                require_sim_signature: flag(env, "REQUIRE_SIM_SIGNATURE")?,
                sim: sim_policy(var(env, "SIM_LEVEL").as_deref())?,
                carrier: carrier.as_ref().map(|(_, policy)| *policy),
                vendor_roots: vendor_roots(var(env, "VENDOR_ROOTS").as_deref())?,
                revoked,
                attestation: crate::attestation::policy_from_env(&|n| var(env, n), dev_mode)?,
            },
            attestation_status: crate::attestation::status_from_env(&|n| var(env, n))?,
            cors_origins: var(env, "CORS_ALLOWED_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            sms,
            number_proof,
            device_sms,
            carrier: carrier.map(|(config, _)| config),
            firebase_pnv,
            camara_nv,
            require_carrier_proof,
        })
    }
}

/// Firebase PNV: the project its tokens name (`FIREBASE_PNV_PROJECT_NUMBER`,
/// digits; `FIREBASE_PNV_PROJECT_ID`, 4 to 64 of `a-z 0-9 -`), where its
/// keys are (`FIREBASE_PNV_JWKS_URL`, Google's by default; https outside
/// dev) and whether a token may come without this bind's nonce
/// (`FIREBASE_PNV_NONCE`: `required`, the default, or `optional`).
fn firebase_pnv(env: &Env, dev_mode: bool) -> Result<crate::firebase_pnv::PnvConfig, ApiError> {
    let bad = |what: &str| ApiError::Misconfigured(format!("firebase_pnv: {what}"));
    let number = var(env, "FIREBASE_PNV_PROJECT_NUMBER")
        .filter(|n| (1..=20).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| bad("FIREBASE_PNV_PROJECT_NUMBER must be the project number (digits)"))?;
    let id = var(env, "FIREBASE_PNV_PROJECT_ID")
        .filter(|id| {
            (4..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        .ok_or_else(|| bad("FIREBASE_PNV_PROJECT_ID must be the project id (a-z, 0-9, -)"))?;
    let jwks_url = var(env, "FIREBASE_PNV_JWKS_URL")
        .unwrap_or_else(|| simbind_core::firebase_pnv::DEFAULT_JWKS_URL.into());
    if !(dev_mode || jwks_url.starts_with("https://")) {
        return Err(bad("FIREBASE_PNV_JWKS_URL must be an https:// URL"));
    }
    let nonce_optional = match var(env, "FIREBASE_PNV_NONCE").as_deref() {
        None | Some("required") => false,
        Some("optional") => true,
        Some(_) => return Err(bad("FIREBASE_PNV_NONCE must be required or optional")),
    };
    Ok(crate::firebase_pnv::PnvConfig {
        project: simbind_core::firebase_pnv::PnvProject {
            number,
            id,
            nonce_optional,
        },
        jwks_url,
    })
}

/// CAMARA Number Verification: the operator's OpenID configuration
/// (`NV_OPENID_URL`) and API root (`NV_API_ROOT`), SimBind's client there
/// (`NV_CLIENT_ID`, the secret `NV_PRIVATE_KEY`, optional `NV_KEY_ID`), the
/// scopes (`NV_SCOPE`), and the callback registered with the operator:
/// `{PUBLIC_URL}/v1/carrier/number-verification/callback` (dev without
/// `PUBLIC_URL`: the request's origin).
fn camara_nv(
    env: &Env,
    dev_mode: bool,
    public_url: Option<&str>,
    secret: &dyn Fn(&str) -> Result<String, ApiError>,
) -> Result<crate::number_verification::NvConfig, ApiError> {
    let bad = |what: &str| ApiError::Misconfigured(format!("camara_nv: {what}"));
    let https = |url: &String| dev_mode || url.starts_with("https://");
    let openid_url = var(env, "NV_OPENID_URL")
        .filter(https)
        .ok_or_else(|| bad("NV_OPENID_URL must be the operator's https:// openIdConnectUrl"))?;
    let api_root = var(env, "NV_API_ROOT")
        .filter(https)
        .ok_or_else(|| bad("NV_API_ROOT must be the operator's https:// API root"))?;
    let key = unb64(&secret("NV_PRIVATE_KEY")?, "NV_PRIVATE_KEY")
        .ok()
        .and_then(|b| SecretKey::from_bytes(&b).ok())
        .ok_or_else(|| bad("NV_PRIVATE_KEY must be a base64url P-256 scalar"))?;
    Ok(crate::number_verification::NvConfig {
        openid_url,
        api_root,
        client_id: var(env, "NV_CLIENT_ID").ok_or_else(|| bad("NV_CLIENT_ID is not set"))?,
        key,
        key_id: var(env, "NV_KEY_ID"),
        scope: var(env, "NV_SCOPE")
            .unwrap_or_else(|| simbind_core::camara_nv::DEFAULT_SCOPE.into()),
        callback_origin: public_url.map(str::to_owned),
        timeout: std::time::Duration::from_millis(
            number(env, "NV_TIMEOUT_MS", 3000u64)?.clamp(100, 30_000),
        ),
        insecure: dev_mode,
    })
}

/// `SMS_COUNTRIES`: comma-separated country calling codes (`44,353`).
/// Required outside dev mode: a deployment says where it may send SMS.
fn sms_countries(list: Option<&str>, dev_mode: bool) -> Result<Option<Vec<String>>, ApiError> {
    let bad = || {
        ApiError::Misconfigured("SMS_COUNTRIES must list country calling codes, e.g. 44,353".into())
    };
    let Some(list) = list else {
        return if dev_mode { Ok(None) } else { Err(bad()) };
    };
    let codes: Vec<String> = list.split(',').map(|c| c.trim().to_owned()).collect();
    let valid = |c: &String| {
        (1..=3).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_digit()) && !c.starts_with('0')
    };
    if codes.iter().all(valid) {
        Ok(Some(codes))
    } else {
        Err(bad())
    }
}

/// `REVOKED_CHIPS`: `{"serials": [chip serial], "keys": [b64u SEC1 key]}`,
/// chips refused at bind and at every verification.
fn revoked_chips(json: Option<&str>, hasher: &IdHasher) -> Result<RevokedChips, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct List {
        #[serde(default)]
        serials: Vec<String>,
        #[serde(default)]
        keys: Vec<String>,
    }
    let Some(json) = json else {
        return Ok(RevokedChips::default());
    };
    let bad = || {
        ApiError::Misconfigured(
            "REVOKED_CHIPS must be {\"serials\": [serial], \"keys\": [b64u SEC1 key]}".into(),
        )
    };
    let list: List = serde_json::from_slice(json.as_bytes()).map_err(|_| bad())?;
    let mut revoked = RevokedChips::default();
    for serial in list.serials {
        let serial = ChipSerial::parse(&serial).map_err(|_| bad())?;
        revoked
            .serials
            .push(hasher.hash(IdKind::ChipSerial, serial.as_str()));
    }
    for key in list.keys {
        let key = unb64(&key, "REVOKED_CHIPS")
            .ok()
            .and_then(|b| PublicKey::from_sec1(&b).ok())
            .ok_or_else(bad)?;
        revoked.keys.push(RevokedChips::key_form(&key));
    }
    Ok(revoked)
}

/// `VENDOR_ROOTS`: a JSON object of vendor name → base64url SEC1 public key.
fn vendor_roots(json: Option<&str>) -> Result<VendorRoots, ApiError> {
    let Some(json) = json else {
        return Ok(VendorRoots::default());
    };
    let bad = || ApiError::Misconfigured("VENDOR_ROOTS must map names to P-256 keys".into());
    let map: BTreeMap<String, String> =
        serde_json::from_slice(json.as_bytes()).map_err(|_| bad())?;
    if map.is_empty() {
        // Set but empty would silently turn the certificate requirement off.
        return Err(bad());
    }
    let mut roots = Vec::with_capacity(map.len());
    for (name, key) in map {
        let key = unb64(&key, "VENDOR_ROOTS")
            .ok()
            .and_then(|b| PublicKey::from_sec1(&b).ok())
            .ok_or_else(bad)?;
        roots.push((name, key));
    }
    Ok(VendorRoots(roots))
}

/// `SERVICE_NAME`: 1 to 64 printable characters (the device-SMS text names
/// it, and the client accepts no longer name); `SimBind` when unset.
fn service_name(value: Option<String>) -> Result<String, ApiError> {
    let name = value.unwrap_or_else(|| "SimBind".into());
    if (1..=64).contains(&name.chars().count()) && !name.chars().any(char::is_control) {
        Ok(name)
    } else {
        Err(ApiError::Misconfigured(
            "SERVICE_NAME must be 1 to 64 printable characters".into(),
        ))
    }
}
