//! The ceremonies, driven against a SimBind edge worker.

use js_sys::{Function, Promise};
use serde::Serialize;
use serde::de::DeserializeOwned;
use simbind_core::api::{
    BindRequest, BindResponse, ChallengeRequest, ChallengeResponse, Claims, EvidenceRequest,
    GrantResponse, RegistrationResponse, StartRegistrationRequest, UnbindResponse,
};
use simbind_core::attestation::{self, ChipFormat};
use simbind_core::codec::{b64, unb64};
use simbind_core::transcript::Ceremony;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::bridge::Bridge;
use crate::error::{ClientError, to_js};
use crate::http;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** Answer of `startRegistration`: a code was sent by SMS to the number. */
export interface Registration { registrationId: string; otpExpiresAt: number; }
/** Answer of `completeBinding`. */
export interface Binding { bindingId: string; status: "active" | "suspended" | "revoked"; rebound: boolean; }
/** Answer of `verify`: a short-lived ES256 JWT for the app's backend. */
export interface Grant { grant: string; tokenType: string; expiresAt: number; }
/** Answer of `unbind`. */
export interface Unbound { bindingId: string; status: string; }
/** One HTTP exchange, reported to `onExchange` listeners. */
export interface Exchange { method: string; url: string; request: unknown; status: number; response: unknown; }
/** Thrown by every method: `code` is stable; `source` says who failed. */
export interface SimBindError extends Error {
  name: "SimBindError"; code: string; status: number;
  source: "server" | "bridge" | "client"; detail: string;
}
"#;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Registration {
    registration_id: String,
    otp_expires_at: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Binding {
    binding_id: String,
    status: String,
    rebound: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Grant {
    grant: String,
    token_type: String,
    expires_at: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Unbound {
    binding_id: String,
    status: String,
}

/// The body of a POST that carries no fields.
#[derive(Serialize)]
struct NoBody {}

/// One HTTP exchange as `onExchange` listeners see it.
#[derive(Serialize)]
struct Exchange<'a, B: Serialize, T: Serialize> {
    method: &'static str,
    url: &'a str,
    request: &'a B,
    status: u16,
    response: Answer<'a, T>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Answer<'a, T: Serialize> {
    Body(&'a T),
    Problem { code: &'a str, detail: &'a str },
}

/// A SimBind client: a worker base URL and a native bridge.
#[wasm_bindgen]
pub struct SimBindClient {
    inner: Inner,
}

#[derive(Clone)]
struct Inner {
    base: String,
    /// The deployment this client signs for: a challenge naming another
    /// audience is refused before anything is signed.
    audience: String,
    bridge: Bridge,
    listener: Option<Function>,
}

/// `https://`, or plain `http://` to this machine only (development).
fn base_allowed(base: &str) -> bool {
    if base.starts_with("https://") {
        return true;
    }
    let Some(rest) = base.strip_prefix("http://") else {
        return false;
    };
    ["localhost", "127.0.0.1", "[::1]"].iter().any(|host| {
        rest.strip_prefix(host).is_some_and(|after| {
            after.is_empty() || after.starts_with(':') || after.starts_with('/')
        })
    })
}

#[wasm_bindgen]
impl SimBindClient {
    /// A client for the worker at `baseUrl` (`https://`; plain `http://`
    /// only to localhost), reading the phone through `bridge`, signing only
    /// for `audience` (the deployment's `AUDIENCE`, e.g. `"simbind"`). A
    /// relay at another address that forwards the real server's challenges
    /// gets nothing signed: the challenge names the real audience.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(js_name = baseUrl)] base_url: &str,
        bridge: &Bridge,
        audience: &str,
    ) -> Result<SimBindClient, JsValue> {
        if !base_allowed(base_url) {
            return Err(ClientError::client(
                "insecure_base_url",
                "the base URL must be https:// (plain http only to localhost)",
            )
            .into());
        }
        if audience.is_empty() {
            return Err(ClientError::client(
                "missing_audience",
                "the expected audience is required",
            )
            .into());
        }
        Ok(SimBindClient {
            inner: Inner {
                base: base_url.trim_end_matches('/').to_owned(),
                audience: audience.to_owned(),
                bridge: bridge.clone(),
                listener: None,
            },
        })
    }

    /// Calls `listener(exchange)` after every HTTP exchange (for logs and demos).
    #[wasm_bindgen(js_name = onExchange)]
    pub fn on_exchange(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "(exchange: Exchange) => void")] listener: Function,
    ) {
        self.inner.listener = Some(listener);
    }

    /// Starts registering `phoneNumber` (E.164); the worker texts it a code.
    #[wasm_bindgen(js_name = startRegistration, unchecked_return_type = "Promise<Registration>")]
    pub fn start_registration(
        &self,
        #[wasm_bindgen(js_name = phoneNumber)] phone_number: String,
    ) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let body = StartRegistrationRequest { phone_number };
            let r: RegistrationResponse = inner.post("/v1/registrations", &body).await?;
            to_js(&Registration {
                registration_id: r.registration_id,
                otp_expires_at: r.otp_expires_at,
            })
        })
    }

    /// Binds this phone's chip and SIM to the registered number, proving the
    /// number with the `otp` it received.
    #[wasm_bindgen(js_name = completeBinding, unchecked_return_type = "Promise<Binding>")]
    pub fn complete_binding(
        &self,
        #[wasm_bindgen(js_name = registrationId)] registration_id: String,
        otp: String,
    ) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let path = format!("/v1/registrations/{}/challenge", encode(&registration_id));
            let challenge: ChallengeResponse = inner.post(&path, &NoBody {}).await?;
            let evidence = inner
                .evidence(Ceremony::Bind, &challenge, &registration_id, &[])
                .await?;
            let path = format!("/v1/registrations/{}/binding", encode(&registration_id));
            let r: BindResponse = inner.post(&path, &BindRequest { otp, evidence }).await?;
            to_js(&Binding {
                binding_id: r.binding_id,
                status: r.status,
                rebound: r.rebound,
            })
        })
    }

    /// Real-time verification: reads chip and SIM afresh, signs a fresh
    /// challenge, and returns the worker's grant. `transaction` (1 to 64
    /// bytes, e.g. SHA-256 of the payment the user approves) binds the
    /// signature and the grant (`txn`) to that one action.
    #[wasm_bindgen(unchecked_return_type = "Promise<Grant>")]
    pub fn verify(
        &self,
        #[wasm_bindgen(js_name = bindingId)] binding_id: String,
        transaction: Option<Vec<u8>>,
    ) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let txn = transaction.unwrap_or_default();
            let r: GrantResponse = inner
                .holder_ceremony(Ceremony::Verify, &binding_id, &txn)
                .await?;
            to_js(&Grant {
                grant: r.grant,
                token_type: r.token_type,
                expires_at: r.expires_at,
            })
        })
    }

    /// Ends the binding, signed by the bound chip.
    #[wasm_bindgen(unchecked_return_type = "Promise<Unbound>")]
    pub fn unbind(&self, #[wasm_bindgen(js_name = bindingId)] binding_id: String) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let r: UnbindResponse = inner
                .holder_ceremony(Ceremony::Unbind, &binding_id, &[])
                .await?;
            to_js(&Unbound {
                binding_id: r.binding_id,
                status: r.status,
            })
        })
    }
}

/// Ids are base64url already; anything else is percent-encoded so a hostile
/// id cannot change the path.
fn encode(id: &str) -> String {
    String::from(js_sys::encode_uri_component(id))
}

impl Inner {
    async fn post<B: Serialize, T: DeserializeOwned + Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let result: Result<(u16, T), ClientError> = http::post(&url, body).await;
        if let Some(listener) = &self.listener {
            let (status, response) = match &result {
                Ok((status, v)) => (*status, Answer::Body(v)),
                Err(e) => (
                    e.status,
                    Answer::Problem {
                        code: &e.code,
                        detail: &e.detail,
                    },
                ),
            };
            let exchange = Exchange {
                method: "POST",
                url: &url,
                request: body,
                status,
                response,
            };
            if let Ok(value) = to_js(&exchange) {
                // A listener's own failure must not break the ceremony.
                let _ = listener.call1(&JsValue::NULL, &value);
            }
        }
        result.map(|(_, v)| v)
    }

    /// A holder ceremony (verify or unbind): fresh challenge, fresh
    /// evidence, then `POST /v1/bindings/{id}/{ceremony}`.
    async fn holder_ceremony<T: DeserializeOwned + Serialize>(
        &self,
        ceremony: Ceremony,
        binding_id: &str,
        transaction: &[u8],
    ) -> Result<T, ClientError> {
        let base = format!("/v1/bindings/{}", encode(binding_id));
        let request = ChallengeRequest {
            ceremony: ceremony.label().into(),
            transaction: (!transaction.is_empty()).then(|| b64(transaction)),
        };
        request
            .validate()
            .map_err(|e| ClientError::from_validation(e, "client"))?;
        let challenge: ChallengeResponse =
            self.post(&format!("{base}/challenge"), &request).await?;
        // Sign only the transaction that was asked for, never another one a
        // server or relay substituted.
        if challenge.transaction != request.transaction {
            return Err(ClientError::client(
                "transaction_mismatch",
                "the challenge is bound to another transaction than the one requested",
            ));
        }
        let evidence = self
            .evidence(ceremony, &challenge, binding_id, transaction)
            .await?;
        self.post(&format!("{base}/{}", ceremony.label()), &evidence)
            .await
    }

    /// Reads chip and SIM afresh, advances the counter, validates with core,
    /// and has the chip (and SIM, when it has a key) sign the transcript.
    async fn evidence(
        &self,
        ceremony: Ceremony,
        challenge: &ChallengeResponse,
        subject: &str,
        transaction: &[u8],
    ) -> Result<EvidenceRequest, ClientError> {
        if challenge.audience != self.audience {
            return Err(ClientError::client(
                "audience_mismatch",
                "the challenge is for another deployment than this client's audience",
            ));
        }
        let mut chip = self.bridge.chip_info().await?;
        let format = ChipFormat::parse(&chip.format)
            .map_err(|e| ClientError::from_validation(e, "bridge"))?;
        if ceremony == Ceremony::Bind && format.key_is_identity() {
            // A real-format key is attested for this bind: the challenge is
            // derived from the server's, the audience and the registration.
            let raw = unb64(&challenge.challenge, "challenge")
                .map_err(|e| ClientError::from_validation(e, "server"))?;
            let attest = attestation::bind_challenge(&raw, &challenge.audience, subject);
            if let Some(attested) = self.bridge.chip_attest(&attest).await? {
                chip = attested;
            }
        }
        let sim = self.bridge.sim_info().await?;
        // App Attest counts in its assertions: the transcript carries 0.
        let counter = match format {
            ChipFormat::AppleAppAttest => 0,
            _ => self.bridge.next_counter().await?,
        };
        let claims = Claims::validate(&challenge.challenge, &chip, &sim, counter)
            .map_err(|e| ClientError::from_validation(e, "bridge"))?;
        let transcript = claims.transcript(ceremony, &challenge.audience, subject, transaction);
        let chip_signature = match format {
            ChipFormat::AppleAppAttest => b64(&self.bridge.chip_assert(&transcript).await?),
            _ => b64(&self.bridge.chip_sign(&transcript).await?),
        };
        let sim_signature = match &sim.public_key {
            None => None,
            Some(_) => {
                let missing = || {
                    ClientError::bridge(
                        "bridge_method_missing",
                        "the SIM has a key but the bridge has no simSign()",
                    )
                };
                Some(b64(&self
                    .bridge
                    .sim_sign(&transcript)
                    .await?
                    .ok_or_else(missing)?))
            }
        };
        Ok(EvidenceRequest {
            challenge: challenge.challenge.clone(),
            chip,
            sim,
            counter,
            chip_signature,
            sim_signature,
        })
    }
}
