//! Request reading (content type, 8 KiB limit, 40 KiB for a bind, strict
//! JSON, the URL's origin, host and query) and responses.

use std::time::Duration;

use serde::{Serialize, de::DeserializeOwned};
use worker::{AbortController, AbortSignal, Delay, Fetch, Headers, Method, Request, Response};

use crate::problem::ApiError;

/// The request URL's origin and its query pairs, read from the runtime's
/// serialized WHATWG URL (`scheme://host[:port]/path?query`) without the
/// `url` crate, whose IDNA tables would be a quarter of the worker's upload.
pub struct RequestUrl {
    url: String,
}

impl RequestUrl {
    /// The URL of `req`, as the runtime serialized it.
    pub fn of(req: &Incoming) -> Self {
        Self { url: req.0.url() }
    }

    /// The path, without the query (the runtime's serialized URL always
    /// has one: at least `/`).
    pub fn path(&self) -> &str {
        let rest = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, r)| r);
        let path = rest.find('/').and_then(|at| rest.get(at..)).unwrap_or("/");
        path.split(['?', '#']).next().unwrap_or(path)
    }

    /// `scheme://host[:port]`: everything before the path.
    pub fn origin(&self) -> &str {
        let (scheme, rest) = self.url.split_once("://").unwrap_or(("", &self.url));
        let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
        self.url
            .get(..scheme.len() + 3 + authority.len())
            .unwrap_or(&self.url)
    }

    /// The host, without the port (`[::1]` keeps its brackets).
    pub fn host(&self) -> &str {
        let origin = self.origin();
        let authority = origin.split_once("://").map_or(origin, |(_, a)| a);
        if authority.starts_with('[') {
            return authority.split_inclusive(']').next().unwrap_or(authority);
        }
        authority.split(':').next().unwrap_or(authority)
    }

    /// The query's `key=value` pairs, percent-decoded.
    pub fn query_pairs(&self) -> form_urlencoded::Parse<'_> {
        let query = self
            .url
            .split_once('?')
            .map_or("", |(_, q)| q.split('#').next().unwrap_or(q));
        form_urlencoded::parse(query.as_bytes())
    }
}

/// An incoming request as the runtime gave it. The worker crate's own
/// wrapper reads the request's `cf` object up front, a JS object built on
/// every read, which no route uses.
pub struct Incoming(web_sys::Request);

impl Incoming {
    /// Wraps the runtime's request.
    pub fn new(raw: web_sys::Request) -> Self {
        Self(raw)
    }

    /// Its headers.
    pub fn headers(&self) -> Headers {
        Headers(self.0.headers())
    }

    /// Its method, as sent (`GET`, `POST`, …).
    pub fn method(&self) -> String {
        self.0.method()
    }

    /// Its path, without the query.
    pub fn path(&self) -> String {
        RequestUrl::of(self).path().to_owned()
    }

    /// Its body, whole (a second read fails).
    pub async fn bytes(&mut self) -> Result<Vec<u8>, ApiError> {
        body_bytes(self.0.array_buffer()).await
    }
}

/// The bytes of a body's `arrayBuffer()`, a request's or a response's.
pub async fn body_bytes(
    buffer: Result<js_sys::Promise, wasm_bindgen::JsValue>,
) -> Result<Vec<u8>, ApiError> {
    let buffer = wasm_bindgen_futures::JsFuture::from(buffer.map_err(worker::Error::from)?)
        .await
        .map_err(worker::Error::from)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Largest accepted request body.
pub const MAX_BODY: usize = 8 * 1024;

/// Reads a JSON body: refuses other content types, bodies over 8 KiB and any
/// JSON that does not match `T` exactly (unknown fields included).
pub async fn read_json<T: DeserializeOwned>(req: &mut Incoming) -> Result<T, ApiError> {
    Ok(read_json_bytes(req).await?.0)
}

/// [`read_json`], also returning the body's bytes (to forward to an object).
pub async fn read_json_bytes<T: DeserializeOwned>(
    req: &mut Incoming,
) -> Result<(T, Vec<u8>), ApiError> {
    let body = read_body(req, "application/json").await?;
    let value = parse_object(&body)?;
    Ok((value, body))
}

/// A request body as `T`, which every API body is: a JSON object. serde
/// also reads a struct from an array of its fields in order (`[]` for one
/// whose fields are all optional); that is `invalid_field`, like any other
/// value of the wrong type.
pub fn parse_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value = serde_json::from_slice(body).map_err(|e| ApiError::from_json(&e))?;
    is_object(body)?;
    Ok(value)
}

/// Whether JSON text that parsed is an object (one copy, not one per type).
#[inline(never)]
fn is_object(body: &[u8]) -> Result<(), ApiError> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(()),
        _ => Err(ApiError::InvalidField),
    }
}

/// [`read_json`] for a bind body, which may carry an attestation: at most
/// [`simbind_core::api::MAX_BIND_BODY`].
pub async fn read_bind_json<T: DeserializeOwned>(req: &mut Incoming) -> Result<T, ApiError> {
    let body = read_limited(req, &["application/json"], simbind_core::api::MAX_BIND_BODY).await?;
    parse_object(&body)
}

/// A body of media type `media`, at most 8 KiB, as raw bytes (what a
/// signature covers).
pub async fn read_body(req: &mut Incoming, media: &str) -> Result<Vec<u8>, ApiError> {
    read_body_of(req, &[media]).await
}

/// [`read_body`] for a request that may come as any of `media`.
pub async fn read_body_of(req: &mut Incoming, media: &[&str]) -> Result<Vec<u8>, ApiError> {
    read_limited(req, media, MAX_BODY).await
}

/// A body of one of `media`, at most `limit` bytes.
async fn read_limited(
    req: &mut Incoming,
    media: &[&str],
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let content_type = req.headers().get("content-type")?.unwrap_or_default();
    let sent = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !media.contains(&sent.as_str()) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let declared = req.headers().get("content-length")?;
    if declared
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > limit)
    {
        return Err(ApiError::BodyTooLarge);
    }
    let body = req.bytes().await?;
    if body.len() > limit {
        return Err(ApiError::BodyTooLarge);
    }
    Ok(body)
}

/// A JSON response with `status`.
pub fn json<T: Serialize>(value: &T, status: u16) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value).map_err(|e| ApiError::Platform(e.to_string()))?;
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::from_bytes(body)?
        .with_status(status)
        .with_headers(headers))
}

/// Adds CORS headers when the request's origin is allow-listed.
pub fn cors(
    response: &mut Response,
    origin: Option<&str>,
    allowed: &[String],
) -> worker::Result<()> {
    // Every answer depends on the Origin header: caches must key on it.
    response.headers_mut().set("vary", "Origin")?;
    let Some(origin) = origin.filter(|o| allowed.iter().any(|a| a == o)) else {
        return Ok(());
    };
    let headers = response.headers_mut();
    headers.set("access-control-allow-origin", origin)?;
    headers.set("access-control-allow-methods", "GET, POST, OPTIONS")?;
    headers.set(
        "access-control-allow-headers",
        "content-type, authorization",
    )?;
    headers.set("access-control-max-age", "600")?;
    Ok(())
}

/// The answer to a CORS preflight (headers are added by [`cors`]).
pub fn preflight() -> Result<Response, ApiError> {
    Ok(Response::empty()?.with_status(204))
}

/// Headers every answer carries: no content sniffing, and no caching
/// unless the route chose a cache lifetime itself (JWKS, discovery).
pub fn hygiene(response: &mut Response) -> worker::Result<()> {
    let headers = response.headers_mut();
    headers.set("x-content-type-options", "nosniff")?;
    if headers.get("cache-control")?.is_none() {
        headers.set("cache-control", "no-store")?;
    }
    Ok(())
}

/// An outbound request, made on the runtime's own `Request`: the `worker`
/// crate's `RequestInit` also converts its `cf` options through serde,
/// a few KB of the upload for options this worker never sets. Redirects
/// are followed unless `manual_redirect`.
pub fn outbound(
    url: &str,
    method: &Method,
    headers: &Headers,
    body: Option<&str>,
    manual_redirect: bool,
) -> worker::Result<Request> {
    let init = web_sys::RequestInit::new();
    init.set_method(method.as_ref());
    init.set_headers(&headers.0);
    if let Some(body) = body {
        init.set_body(&wasm_bindgen::JsValue::from_str(body));
    }
    if manual_redirect {
        init.set_redirect(web_sys::RequestRedirect::Manual);
    }
    // The runtime's message may quote the URL: a fixed one instead.
    let request = web_sys::Request::new_with_str_and_init(url, &init)
        .map_err(|_| worker::Error::RustError("invalid URL or options for a request".into()))?;
    Ok(Request::from(request))
}

/// Sends an outbound `request`, aborted (headers and body alike) once
/// `timeout` has passed: its answer, and the signal that says whether the
/// deadline cut it.
pub async fn fetch_within(
    request: Request,
    timeout: Duration,
) -> (worker::Result<Response>, AbortSignal) {
    let controller = AbortController::default();
    let signal = controller.signal();
    wasm_bindgen_futures::spawn_local(async move {
        Delay::from(timeout).await;
        controller.abort();
    });
    let answer = Fetch::Request(request).send_with_signal(&signal).await;
    (answer, signal)
}

/// Why a capped body read stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// The request's deadline aborted it.
    TimedOut,
    /// The body is (or declares itself) larger than the cap.
    TooLarge,
    /// The body could not be read.
    Failed,
}

/// An outbound answer's body, at most `cap` bytes: a larger declared
/// length is refused unread, a larger streamed body as soon as it passes
/// the cap; `signal` (from [`fetch_within`]) tells a deadline from a failure.
pub async fn read_capped(
    mut response: Response,
    signal: Option<&AbortSignal>,
    cap: usize,
) -> Result<Vec<u8>, Cut> {
    use futures_util::StreamExt;
    let failed = || {
        if signal.is_some_and(AbortSignal::aborted) {
            Cut::TimedOut
        } else {
            Cut::Failed
        }
    };
    let declared = response.headers().get("content-length").ok().flatten();
    if declared
        .and_then(|n| n.parse::<usize>().ok())
        .is_some_and(|n| n > cap)
    {
        return Err(Cut::TooLarge);
    }
    if !matches!(response.body(), worker::ResponseBody::Stream(_)) {
        // Made in this worker (a dev stand-in): already whole.
        let body = response.bytes().await.map_err(|_| Cut::Failed)?;
        return if body.len() > cap {
            Err(Cut::TooLarge)
        } else {
            Ok(body)
        };
    }
    let mut stream = response.stream().map_err(|_| failed())?;
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| failed())?;
        if body.len() + chunk.len() > cap {
            return Err(Cut::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A future behind a pointer: awaited through one vtable call.
pub type Boxed<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

/// Boxes `future` as a trait object, so its state machine is one function
/// that callers reach through a pointer rather than a copy inlined into each
/// of them (the worker's size is mostly such copies).
pub fn boxed<'a, T>(future: impl std::future::Future<Output = T> + 'a) -> Boxed<'a, T> {
    Box::pin(future)
}
