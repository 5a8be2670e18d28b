//! The ceremonies, driven against a SimBind edge worker.

use js_sys::{Function, JSON, Promise};
use serde::Serialize;
use simbind_core::api::{
    BindRequest, ChallengeRequest, ChallengeResponse, Claims, EvidenceRequest,
    StartRegistrationRequest,
};
use simbind_core::attestation::{self, ChipFormat};
use simbind_core::codec::{b64, unb64};
use simbind_core::transcript::Ceremony;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use core::future::Future;
use core::pin::Pin;

use crate::bridge::Bridge;
use crate::error::ClientError;
use crate::fields::{Fields, Made, Shape};
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

/// The body of a POST that carries no fields.
#[derive(Serialize)]
struct NoBody {}

/// A request body, encoded by core's wire types.
fn encode(body: &impl Serialize) -> Result<String, ClientError> {
    serde_json::to_string(body)
        .map_err(|_| ClientError::client("encode_failed", "the request could not be encoded"))
}

/// A challenge answer's fields, as core's wire type.
fn read_challenge(f: &Fields) -> Result<ChallengeResponse, Shape> {
    Ok(ChallengeResponse {
        challenge: f.string("challenge")?,
        ceremony: f.string("ceremony")?,
        audience: f.string("audience")?,
        expires_at: f.integer("expires_at")?,
        transaction: f.opt_string("transaction")?,
    })
}

/// An answer's fields for the app: `Registration`, `Binding`, `Grant`, `Unbound`.
fn read_registration(f: &Fields) -> Result<JsValue, Shape> {
    Ok(Made::default()
        .with("registrationId", f.string("registration_id")?)
        .with("otpExpiresAt", f.integer("otp_expires_at")? as f64)
        .done())
}

fn read_binding(f: &Fields) -> Result<JsValue, Shape> {
    Ok(Made::default()
        .with("bindingId", f.string("binding_id")?)
        .with("status", f.string("status")?)
        .with("rebound", f.boolean("rebound")?)
        .done())
}

fn read_grant(f: &Fields) -> Result<JsValue, Shape> {
    Ok(Made::default()
        .with("grant", f.string("grant")?)
        .with("tokenType", f.string("token_type")?)
        .with("expiresAt", f.integer("expires_at")? as f64)
        .done())
}

fn read_unbound(f: &Fields) -> Result<JsValue, Shape> {
    Ok(Made::default()
        .with("bindingId", f.string("binding_id")?)
        .with("status", f.string("status")?)
        .done())
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
        promise(Box::pin(async move {
            let body = encode(&StartRegistrationRequest { phone_number })?;
            inner
                .post("/v1/registrations", body, read_registration)
                .await
        }))
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
        promise(Box::pin(async move {
            let base = format!("/v1/registrations/{}", escape(&registration_id));
            let challenge = inner
                .post(
                    format!("{base}/challenge"),
                    encode(&NoBody {})?,
                    read_challenge,
                )
                .await?;
            let evidence = inner
                .evidence(Ceremony::Bind, &challenge, &registration_id, &[])
                .await?;
            let body = encode(&BindRequest { otp, evidence })?;
            inner
                .post(format!("{base}/binding"), body, read_binding)
                .await
        }))
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
        promise(Box::pin(async move {
            let txn = transaction.unwrap_or_default();
            inner
                .holder_ceremony(Ceremony::Verify, &binding_id, &txn, read_grant)
                .await
        }))
    }

    /// Ends the binding, signed by the bound chip.
    #[wasm_bindgen(unchecked_return_type = "Promise<Unbound>")]
    pub fn unbind(&self, #[wasm_bindgen(js_name = bindingId)] binding_id: String) -> Promise {
        let inner = self.inner.clone();
        promise(Box::pin(async move {
            inner
                .holder_ceremony(Ceremony::Unbind, &binding_id, &[], read_unbound)
                .await
        }))
    }
}

/// A ceremony as a JS promise. One boxed future type for every method, so
/// the promise machinery is compiled once, not once per method.
fn promise(ceremony: Pin<Box<dyn Future<Output = Result<JsValue, ClientError>>>>) -> Promise {
    future_to_promise(async move { ceremony.await.map_err(JsValue::from) })
}

/// Ids are base64url already; anything else is percent-encoded so a hostile
/// id cannot change the path.
fn escape(id: &str) -> String {
    String::from(js_sys::encode_uri_component(id))
}

/// How an answer's fields become what the caller returns.
type Reader<T> = fn(&Fields) -> Result<T, Shape>;

impl Inner {
    /// POSTs `body` to `path`, tells the listener, and reads a 2xx answer
    /// with `read`.
    async fn post<T>(
        &self,
        path: impl AsRef<str>,
        body: String,
        read: Reader<T>,
    ) -> Result<T, ClientError> {
        let url = format!("{}{}", self.base, path.as_ref());
        let answer = http::post(&url, &body).await;
        self.tell(&url, &body, &answer);
        let (status, value) = answer?;
        Fields::object(value, None)
            .and_then(|f| read(&f))
            .map_err(|_| http::unexpected(status))
    }

    /// Reports one exchange to the listener, if there is one.
    fn tell(&self, url: &str, body: &str, answer: &Result<(u16, JsValue), ClientError>) {
        let Some(listener) = &self.listener else {
            return;
        };
        let (status, response) = match answer {
            Ok((status, value)) => (*status, value.clone()),
            Err(e) => (
                e.status,
                Made::default()
                    .with("code", e.code.as_str())
                    .with("detail", e.detail.as_str())
                    .done(),
            ),
        };
        let exchange = Made::default()
            .with("method", "POST")
            .with("url", url)
            .with("request", JSON::parse(body).unwrap_or(JsValue::NULL))
            .with("status", status)
            .with("response", response)
            .done();
        // A listener's own failure must not break the ceremony.
        let _ = listener.call1(&JsValue::NULL, &exchange);
    }

    /// A holder ceremony (verify or unbind): fresh challenge, fresh
    /// evidence, then `POST /v1/bindings/{id}/{ceremony}`.
    async fn holder_ceremony(
        &self,
        ceremony: Ceremony,
        binding_id: &str,
        transaction: &[u8],
        read: Reader<JsValue>,
    ) -> Result<JsValue, ClientError> {
        let base = format!("/v1/bindings/{}", escape(binding_id));
        let request = ChallengeRequest {
            ceremony: ceremony.label().into(),
            transaction: (!transaction.is_empty()).then(|| b64(transaction)),
        };
        request
            .validate()
            .map_err(|e| ClientError::from_validation(e, "client"))?;
        let challenge = self
            .post(
                format!("{base}/challenge"),
                encode(&request)?,
                read_challenge,
            )
            .await?;
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
        self.post(
            format!("{base}/{}", ceremony.label()),
            encode(&evidence)?,
            read,
        )
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
