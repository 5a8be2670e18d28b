// The SimBind client's JavaScript shell: the three bridge hosts, fetch, and
// the order of the steps. It checks, encodes and decides nothing itself: the
// wasm (simbind-core) reads every reply, validates it, builds the transcript
// and the request bodies, and reads the answers. Keeping the awaits here
// keeps async machinery out of the wasm an app downloads.
import { Evidence, challengeBody, encodeBase64url, readAnswer, readCellularReply, readTransaction, registrationBody, simbindError as failure } from "./simbind_client.js";

/** True when `value[name]` is a function. */
function has(value, name) {
  return value != null && typeof value[name] === "function";
}

/** The native bridge: one interface over the three host conventions (wasm-client/README.md). */
export class Bridge {
  #call;
  #has;
  #strings;

  constructor(call, hasMethod, strings) {
    this.#call = call;
    this.#has = hasMethod;
    this.#strings = strings;
  }

  /** Wraps an object implementing the SimBind bridge interface. */
  static fromObject(object) {
    if (object === null || typeof object !== "object") throw failure("bridge_unavailable", "bridge", "bridge object is missing");
    return new Bridge((method, args) => object[method](...args), (method) => has(object, method), false);
  }

  /** Adapts an Android `addJavascriptInterface` object (e.g. `window.SimBindNative`). */
  static fromAndroid(object) {
    if (object === null || typeof object !== "object") throw failure("bridge_unavailable", "bridge", "Android interface object is missing");
    return new Bridge((method, args) => object[method](...args), (method) => has(object, method), true);
  }

  /** Adapts the iOS handler `webkit.messageHandlers[name]`. */
  static fromIos(name) {
    const handler = globalThis.webkit?.messageHandlers?.[name];
    if (!has(handler, "postMessage")) throw failure("bridge_unavailable", "bridge", `webkit.messageHandlers.${name} is missing`);
    return new Bridge((method, args) => handler.postMessage({ method, args }), () => true, true);
  }

  /** Whether the host offers `method`. */
  has(method) {
    return this.#has(method);
  }

  /** Calls `method` (with `bytes`, as the host takes them) and awaits its reply. */
  async call(method, bytes) {
    return this.#invoke(method, bytes === undefined ? [] : [this.#strings ? encodeBase64url(bytes) : bytes]);
  }

  /** Calls `method` with text arguments (the same on every host) and awaits its reply. */
  async callText(method, ...texts) {
    return this.#invoke(method, texts.map(String));
  }

  async #invoke(method, args) {
    if (!this.#has(method)) throw failure("bridge_method_missing", "bridge", `bridge has no ${method}()`);
    try {
      return await this.#call(method, args);
    } catch (e) {
      const message = typeof e === "string" ? e : typeof e?.message === "string" ? e.message : "unknown error";
      throw failure("bridge_failed", "bridge", `${method}: ${message}`);
    }
  }
}

/** `https://`, or plain `http://` to this machine only (development). */
function baseAllowed(base) {
  if (base.startsWith("https://")) return true;
  if (!base.startsWith("http://")) return false;
  const rest = base.slice("http://".length);
  return ["localhost", "127.0.0.1", "[::1]"].some((host) => rest.startsWith(host) && ["", ":", "/"].includes(rest.charAt(host.length)));
}

/** A SimBind client: a worker base URL, a native bridge and the audience it signs for. */
export class SimBindClient {
  #base;
  #audience;
  #bridge;
  #listener = null;
  /** The registrations this client returned → their id and, for `device_sms`, token and bind secret. */
  #registrations = new WeakMap();

  /**
   * A client for the worker at `baseUrl` (`https://`; plain `http://` only to
   * localhost), reading the phone through `bridge`, signing only for
   * `audience` (the deployment's `AUDIENCE`): a relay that forwards the real
   * server's challenges gets nothing signed, since they name the real audience.
   */
  constructor(baseUrl, bridge, audience) {
    if (typeof baseUrl !== "string" || !baseAllowed(baseUrl)) {
      throw failure("insecure_base_url", "client", "the base URL must be https:// (plain http only to localhost)");
    }
    if (!(bridge instanceof Bridge)) throw failure("bridge_unavailable", "bridge", "pass a Bridge (Bridge.fromAndroid, fromIos or fromObject)");
    if (typeof audience !== "string" || audience === "") throw failure("missing_audience", "client", "the expected audience is required");
    this.#base = baseUrl.replace(/\/+$/, "");
    this.#audience = audience;
    this.#bridge = bridge;
  }

  /** Calls `listener(exchange)` after every HTTP exchange (for logs and demos). */
  onExchange(listener) {
    this.#listener = listener;
  }

  /**
   * Starts registering `phoneNumber` (E.164). `proof`: `"otp"`, the worker
   * texts the number a code; `"device_sms"`, the phone texts a token from
   * it (`sendNumberProof`); `"firebase_pnv"` or `"camara_nv"`, the carrier
   * proves it at bind; absent, the deployment's default. `fallbackFrom`:
   * where the deployment requires a carrier proof, the `camara_nv`
   * registration the operator could not serve (an SMS proof only).
   */
  async startRegistration(phoneNumber, { proof, fallbackFrom } = {}) {
    const from = fallbackFrom == null ? undefined : (this.#registrations.get(fallbackFrom)?.id ?? String(fallbackFrom));
    const body = registrationBody(String(phoneNumber), proof == null ? undefined : String(proof), from);
    const { status, text } = await this.#post("/v1/registrations", body);
    // The wasm has checked `to` (E.164), the text (exactly the token
    // template) and the bind secret; the token and the secret stay here.
    const registration = readAnswer("registration", status, text);
    const sms = registration.deviceSms;
    this.#registrations.set(registration, { id: registration.registrationId, proof: registration.proof, token: sms?.token, bindSecret: sms?.bindSecret });
    if (sms) {
      delete sms.token;
      delete sms.bindSecret;
      Object.freeze(sms);
    }
    return Object.freeze(registration);
  }

  /**
   * A `device_sms` registration this client returned: the phone texts its
   * token from the SIM that carries the number. The bridge gets the token
   * only (`sendNumberProof(token)`) and texts the app's own inbound number
   * with a text it builds itself; any other object sends nothing.
   */
  async sendNumberProof(registration) {
    const token = this.#registrations.get(registration)?.token;
    if (token === undefined) throw failure("invalid_argument", "client", "not a device_sms registration this client started");
    await this.#bridge.callText("sendNumberProof", token);
  }

  /**
   * Binds this phone's chip and SIM to the registered number. `registration`
   * is what `startRegistration` returned (or, for `otp`, its id). Proven
   * with the `otp` it received; for `firebase_pnv`, with the token the
   * bridge's `firebasePnvToken(nonce)` gets from Firebase for this bind's
   * nonce; for `camara_nv`, by the operator, once the bridge's
   * `openOverCellular(url)` has opened this bind's authorization URL over
   * mobile data (before the chip is asked anything: a refusal there costs
   * no attestation); or (`device_sms`) with the SMS it sent and the registration's
   * bind secret, which only this client holds: then the same signed
   * evidence is sent again while the worker has not seen the SMS yet, for
   * up to `waitMs` and never past its challenge's expiry. The chip is asked
   * once: a key is attested only once, so a second attestation would never
   * come.
   */
  async completeBinding(registration, otp, { waitMs = 30000 } = {}) {
    const known = typeof registration === "object" ? this.#registrations.get(registration) : undefined;
    if (typeof registration === "object" && known === undefined) {
      throw failure("invalid_argument", "client", "not a registration this client started");
    }
    const id = known?.id ?? String(registration);
    const base = `/v1/registrations/${encodeURIComponent(id)}`;
    const code = otp == null ? undefined : String(otp);
    const challenge = await this.#post(`${base}/challenge`, challengeBody("bind"));
    const evidence = this.#open("bind", challenge, id);
    if (known?.proof === "camara_nv") await this.#carrierVerifies(base, evidence);
    await this.#sign(evidence);
    // Firebase verifies the number with the carrier, for this bind's nonce only.
    const pnvToken = known?.proof === "firebase_pnv" ? await this.#bridge.callText("firebasePnvToken", evidence.firebasePnvNonce()) : undefined;
    const body = evidence.body(code, code === undefined ? known?.bindSecret : undefined, pnvToken);
    // Stop a second before the challenge expires: the last attempt still counts.
    const deadline = Math.min(Date.now() + waitMs, evidence.expiresAt() * 1000 - 1000);
    for (;;) {
      const { status, text } = await this.#post(`${base}/binding`, body);
      try {
        return readAnswer("binding", status, text);
      } catch (e) {
        if (code !== undefined || e?.code !== "sms_not_received" || Date.now() >= deadline) throw e;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, Math.max(0, deadline - Date.now()))));
    }
  }

  /**
   * Real-time verification: reads chip and SIM afresh, signs a fresh
   * challenge, and returns the worker's grant. `transaction` (a Uint8Array
   * or ArrayBuffer of 1 to 64 bytes, e.g. SHA-256 of the payment the user
   * approves) binds the signature and the grant (`txn`) to that one action;
   * any other value is refused (`invalid_transaction`) before anything is sent.
   */
  async verify(bindingId, transaction) {
    return this.#holder("verify", "grant", bindingId, transaction);
  }

  /** Ends the binding, signed by the bound chip. */
  async unbind(bindingId) {
    return this.#holder("unbind", "unbound", bindingId);
  }

  /** A holder ceremony: fresh challenge, fresh evidence, then `POST /v1/bindings/{id}/{ceremony}`. */
  async #holder(ceremony, kind, bindingId, transaction) {
    const id = String(bindingId);
    // Exactly the documented types, refused before anything is sent or signed.
    const bytes = readTransaction(transaction);
    const base = `/v1/bindings/${encodeURIComponent(id)}`;
    const challenge = await this.#post(`${base}/challenge`, challengeBody(ceremony, bytes));
    const evidence = this.#open(ceremony, challenge, id, bytes);
    await this.#sign(evidence);
    const { status, text } = await this.#post(`${base}/${ceremony}`, evidence.body());
    return readAnswer(kind, status, text);
  }

  /** The evidence for a challenge answer: the wasm checks its audience and transaction first. */
  #open(ceremony, challenge, subject, transaction) {
    return new Evidence(ceremony, challenge.status, challenge.text, this.#audience, subject, transaction);
  }

  /**
   * `camara_nv`: the worker makes this bind's authorization URL; the bridge
   * opens it over mobile data and follows every redirect (the operator's
   * network authentication, then the worker's callback, where the service
   * asks the operator itself); the callback's answer says whether the
   * number is verified.
   */
  async #carrierVerifies(base, evidence) {
    const asked = await this.#post(`${base}/carrier-authorization`, evidence.carrierAuthorizationBody());
    const { authorizationUrl } = readAnswer("authorization", asked.status, asked.text);
    const { status, text } = readCellularReply(await this.#bridge.callText("openOverCellular", authorizationUrl));
    this.#tell(authorizationUrl, null, status, text, "GET");
    readAnswer("carrier", status, text);
  }

  /** Reads chip and SIM afresh and has the chip (and SIM, when it has a key) sign the transcript. */
  async #sign(evidence) {
    const bridge = this.#bridge;
    evidence.setChip(await bridge.call("chipInfo"));
    const attest = evidence.attestChallenge();
    if (attest !== undefined && bridge.has("chipAttest")) evidence.setChip(await bridge.call("chipAttest", attest));
    evidence.setSim(await bridge.call("simInfo"));
    if (evidence.needsCounter()) evidence.setCounter(await bridge.call("nextCounter"));
    const transcript = evidence.transcript();
    evidence.setChipSignature(await bridge.call("chipSign", transcript));
    if (evidence.wantsSimSignature()) {
      evidence.setSimSignature(bridge.has("simSign") ? await bridge.call("simSign", transcript) : undefined);
    }
  }

  /** POSTs `body` (JSON text from the wasm); the answer's status and text go back to the wasm to read. */
  async #post(path, body) {
    const url = this.#base + path;
    let status;
    let text;
    try {
      const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
      status = response.status;
      text = await response.text();
    } catch (e) {
      throw failure("network_error", "client", typeof e?.message === "string" ? e.message : "request failed");
    }
    this.#tell(url, body, status, text);
    return { status, text };
  }

  /** Reports one exchange to the listener; a listener's own failure does not break the ceremony. */
  #tell(url, body, status, text, method = "POST") {
    if (typeof this.#listener !== "function") return;
    const parse = (t) => {
      try {
        return JSON.parse(t);
      } catch {
        return null;
      }
    };
    // The bind secret is for the worker only: logs get a placeholder.
    const hide = (value) => {
      if (typeof value?.bind_secret === "string") value.bind_secret = "(hidden)";
      if (typeof value?.device_sms?.bind_secret === "string") value.device_sms.bind_secret = "(hidden)";
      return value;
    };
    try {
      this.#listener({ method, url, request: hide(parse(body)), status, response: hide(parse(text)) });
    } catch {
      // The listener is the app's logging; its failure is its own.
    }
  }
}
