// A stand-in carrier for the tests, written from the CAMARA definitions in
// tests/fixtures/camara: an OAuth token endpoint that takes only a valid
// private_key_jwt client assertion (the CAMARA security profile), and SIM
// Swap v2, Device Swap v1 and SIM Swap Subscriptions v0.3 that check every
// request they receive against sim-swap.yaml, device-swap.yaml and
// sim-swap-subscriptions.yaml (path, method, content type, the x-correlator
// header, the bearer token and its scopes, the body schema) and answer only
// what those definitions allow (each answer is checked against the response
// schema too). It serves as Miniflare's outbound fetch. Subscriptions
// deliver CloudEvents to their sink (checked against the callback's schema,
// and the sink's answer against the statuses the callback lists).
import { readFileSync } from "node:fs";
import { createECDH, createPublicKey, randomBytes, verify } from "node:crypto";
import { parse } from "yaml";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const specs = new URL("../fixtures/camara/", import.meta.url);
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const SPECS = {};
for (const [name, file, base] of [
  ["sim", "sim-swap.yaml", "/sim-swap/v2"],
  ["device", "device-swap.yaml", "/device-swap/v1"],
  ["subs", "sim-swap-subscriptions.yaml", "/sim-swap-subscriptions/v0.3"],
]) {
  const doc = parse(readFileSync(new URL(file, specs), "utf8"));
  // OpenAPI 3.0's `nullable` is JSON Schema's `type: [t, "null"]`.
  const nullable = (node) => {
    if (Array.isArray(node)) return node.forEach(nullable);
    if (!node || typeof node !== "object") return;
    if (node.nullable === true && typeof node.type === "string") node.type = [node.type, "null"];
    Object.values(node).forEach(nullable);
  };
  nullable(doc.components);
  ajv.addSchema({ $id: name, components: doc.components });
  SPECS[name] = { doc, base };
}

const schemaOf = (name, ref) => ajv.getSchema(`${name}${ref}`);

/** The operation `{method} {base}{path}` of a spec (path parameters read), or undefined. */
function operation(pathname, method, apiRoot) {
  for (const [name, { doc, base }] of Object.entries(SPECS)) {
    const prefix = new URL(apiRoot).pathname.replace(/\/$/, "") + base;
    if (!pathname.startsWith(`${prefix}/`)) continue;
    const rest = pathname.slice(prefix.length);
    for (const [template, item] of Object.entries(doc.paths)) {
      const match = rest.match(new RegExp(`^${template.replace(/\{[^}]+\}/g, "([^/]+)")}$`));
      const op = match && item[method.toLowerCase()];
      if (op) return { name, op, template, params: match.slice(1).map(decodeURIComponent) };
    }
  }
  return undefined;
}

const SWAPPED = "org.camaraproject.sim-swap-subscriptions.v0.swapped";
const ENDED = "org.camaraproject.sim-swap-subscriptions.v0.subscription-ended";

const error = (status, code, message) => new Response(JSON.stringify({ status, code, message }), { status, headers: { "content-type": "application/json" } });

/**
 * A stand-in carrier at `apiRoot` with its token endpoint `tokenUrl`, for the
 * client `clientId` whose public key is `publicKey` (a KeyObject). `numbers`
 * maps E.164 → `{ simChange, deviceChange, swapped }` (RFC 3339 strings or null;
 * `swapped`: what `check` answers); `fail` (set per test) makes the next calls
 * time out (`"timeout"`), answer a status the spec lists (404, 422, 429),
 * fail outside the spec (`500`, an operator outage), or answer 200 with a
 * body of 20 MB (`"huge"`) or one that trickles a byte a second (`"trickle"`). `anyNumber`: the line of
 * every number not in `numbers` (else such numbers are unknown, 404);
 * `deliver(sink, init)`: how a notification reaches its sink.
 */
export function standInCarrier({ apiRoot, tokenUrl, clientId, publicKey, tokenLifetime = 3600, deliver, anyNumber }) {
  let events = 0;
  let ids = 0;
  const carrier = {
    numbers: new Map(),
    /** Subscriptions by id: `{ request, phone, token, expires, status }`. */
    subscriptions: new Map(),
    /** Every notification sent: `{ subscription, event, status, body }`. */
    deliveries: [],
    fail: null,
    /** Problems found in requests: each is a test failure. */
    problems: [],
    /** Every request, `{ kind, body, headers }`, and every assertion's claims. */
    requests: [],
    assertions: [],
    tokensIssued: 0,
    jtis: new Set(),
    tokens: new Map(),
    async fetch(request) {
      const url = new URL(request.url);
      if (request.url === tokenUrl) return carrier.token(request);
      if (!request.url.startsWith(apiRoot)) return new Response("not the carrier", { status: 599 });
      return carrier.api(request, url);
    },
    async token(request) {
      const problem = (why) => {
        carrier.problems.push(`token: ${why}`);
        return new Response(JSON.stringify({ error: "invalid_client" }), { status: 401, headers: { "content-type": "application/json" } });
      };
      if (request.method !== "POST") return problem("not a POST");
      if (!(request.headers.get("content-type") ?? "").startsWith("application/x-www-form-urlencoded")) return problem("not a form");
      const form = new URLSearchParams(await request.text());
      if (form.get("grant_type") !== "client_credentials") return problem("grant_type");
      if (form.get("client_assertion_type") !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") return problem("client_assertion_type");
      const scope = form.get("scope") ?? "";
      if (!scope.split(" ").some((s) => s.startsWith("dpv:"))) return problem("no dpv: purpose scope");
      const [h, c, s] = (form.get("client_assertion") ?? "").split(".");
      let header;
      let claims;
      try {
        header = JSON.parse(Buffer.from(h, "base64url"));
        claims = JSON.parse(Buffer.from(c, "base64url"));
      } catch {
        return problem("assertion does not parse");
      }
      carrier.assertions.push({ header, claims });
      if (header.alg !== "ES256") return problem("alg");
      const signed = verify("sha256", Buffer.from(`${h}.${c}`), { key: publicKey, dsaEncoding: "ieee-p1363" }, Buffer.from(s ?? "", "base64url"));
      if (!signed) return problem("assertion signature");
      const now = Math.floor(Date.now() / 1000);
      if (claims.iss !== clientId || claims.sub !== clientId) return problem("iss/sub");
      if (claims.aud !== tokenUrl) return problem("aud");
      if (!(claims.exp > now) || claims.exp - claims.iat > 300 || claims.iat > now + 5) return problem("lifetime");
      if (typeof claims.jti !== "string" || carrier.jtis.has(claims.jti)) return problem("jti missing or replayed");
      carrier.jtis.add(claims.jti);
      const token = `tok-${++carrier.tokensIssued}-${Math.random().toString(36).slice(2)}`;
      carrier.tokens.set(token, { scopes: scope.split(" "), expires: now + tokenLifetime });
      return Response.json({ access_token: token, token_type: "Bearer", expires_in: tokenLifetime });
    },
    /** The live subscriptions for `phone`. */
    subscribed(phone) {
      return [...carrier.subscriptions.values()].filter((s) => s.phone === phone && s.status === "ACTIVE");
    },
    /**
     * Sends one CloudEvent of `type` (`data` added) to a subscription's sink
     * with its credential (`token` overrides it), checked against the
     * callback's schema; answers the sink's response status.
     */
    async notify(sub, type, data = {}, { token = sub.token, time = new Date() } = {}) {
      const event = { id: String(++events), source: apiRoot, type, specversion: "1.0", datacontenttype: "application/json", data: { phoneNumber: sub.phone, subscriptionId: sub.id, ...data }, time: time.toISOString() };
      const schema = schemaOf("subs", "#/components/schemas/CloudEvent");
      if (!schema(event)) carrier.problems.push(`notification off the spec: ${ajv.errorsText(schema.errors)}`);
      const response = await deliver(sub.request.sink, { method: "POST", headers: { "content-type": "application/cloudevents+json", authorization: `Bearer ${token}` }, body: JSON.stringify(event) });
      const body = await response.text();
      const listed = Object.keys(SPECS.subs.doc.paths["/subscriptions"].post.callbacks.notifications["{$request.body#/sink}"].post.responses);
      if (!listed.includes(String(response.status))) carrier.problems.push(`the sink answered ${response.status}, which the callback does not list`);
      // 410: the listener is gone, so the subscription ends.
      if (response.status === 410) sub.status = "DELETED";
      carrier.deliveries.push({ subscription: sub.id, event, status: response.status, body });
      return response.status;
    },
    /** The SIM of `phone` is swapped now: its date moves, `check` says so, and every live subscription is told. */
    async swap(phone) {
      const line = carrier.numbers.get(phone);
      line.simChange = new Date().toISOString();
      line.swapped = true;
      return Promise.all(carrier.subscribed(phone).map((sub) => carrier.notify(sub, SWAPPED)));
    },
    /** The carrier ends a subscription (`reason`: a TerminationReason) and says so. */
    async end(sub, reason = "NETWORK_TERMINATED") {
      sub.status = "EXPIRED";
      return carrier.notify(sub, ENDED, { terminationReason: reason });
    },
    async subscriptionsApi(kind, op, params, json, answer) {
      if (op.operationId === "createSimSwapSubscription") {
        const credential = json.sinkCredential;
        const credentialSchema = schemaOf("subs", "#/components/schemas/AccessTokenCredential");
        if (credential?.credentialType !== "ACCESSTOKEN" || !credentialSchema(credential)) carrier.problems.push(`${kind}: sinkCredential is not an access token: ${ajv.errorsText(credentialSchema.errors)}`);
        if (json.protocol !== "HTTP") carrier.problems.push(`${kind}: protocol ${json.protocol}`);
        const phone = json.config.subscriptionDetail?.phoneNumber;
        if (phone === undefined) return answer(422, { status: 422, code: "MISSING_IDENTIFIER", message: "The device cannot be identified." });
        const expireTime = json.config.subscriptionExpireTime;
        if (expireTime !== undefined && !(Date.parse(expireTime) > Date.now())) return answer(400, { status: 400, code: "INVALID_ARGUMENT", message: "Expiry in the past." });
        if (!carrier.numbers.has(phone) && !anyNumber) return answer(404, { status: 404, code: "NOT_FOUND", message: "The specified resource is not found." });
        const id = `sub-${++ids}-${randomBytes(4).toString("hex")}`;
        const startsAt = new Date().toISOString();
        const expires = expireTime ? new Date(Date.parse(expireTime)).toISOString() : undefined;
        carrier.subscriptions.set(id, { id, request: json, phone, token: credential?.accessToken, status: "ACTIVE", startsAt, expires });
        const { sinkCredential, ...shown } = json;
        return answer(201, { ...shown, id, startsAt, ...(expires && { expiresAt: expires }), status: "ACTIVE" });
      }
      if (op.operationId === "deleteSubscription") {
        const sub = carrier.subscriptions.get(params[0]);
        if (!sub || sub.status === "DELETED") return answer(404, { status: 404, code: "NOT_FOUND", message: "The specified resource is not found." });
        sub.status = "DELETED";
        return answer(204);
      }
      return answer(404, { status: 404, code: "NOT_FOUND", message: "not found" });
    },
    async api(request, url) {
      const found = operation(url.pathname, request.method, apiRoot);
      const kind = !found ? url.pathname : found.name === "subs" ? `subs/${found.op.operationId}` : `${found.name}${found.template}`;
      const body = await request.text();
      carrier.requests.push({ kind, body, headers: Object.fromEntries(request.headers) });
      if (!found) {
        carrier.problems.push(`no such operation: ${request.method} ${url.pathname}`);
        return error(404, "NOT_FOUND", "no such operation");
      }
      const { name, op, params } = found;
      if (op.requestBody && !(request.headers.get("content-type") ?? "").startsWith("application/json")) carrier.problems.push(`${kind}: content-type`);
      const correlator = request.headers.get("x-correlator");
      const correlatorSchema = schemaOf(name, "#/components/schemas/XCorrelator");
      if (correlator !== null && !correlatorSchema(correlator)) carrier.problems.push(`${kind}: x-correlator ${ajv.errorsText(correlatorSchema.errors)}`);
      const answer = (status, json) => {
        const spec = op.responses[String(status)];
        if (!spec) carrier.problems.push(`${kind}: the stand-in answered ${status}, which the spec does not list`);
        const schema = spec?.content?.["application/json"]?.schema;
        if (schema?.$ref) {
          const check = schemaOf(name, schema.$ref);
          if (!check(json)) carrier.problems.push(`${kind}: answer ${status} off the spec: ${ajv.errorsText(check.errors)}`);
        }
        const headers = json === undefined ? {} : { "content-type": "application/json" };
        if (correlator !== null) headers["x-correlator"] = correlator;
        return new Response(json === undefined ? null : JSON.stringify(json), { status, headers });
      };
      const bearer = (request.headers.get("authorization") ?? "").match(/^Bearer (\S+)$/)?.[1];
      const token = bearer && carrier.tokens.get(bearer);
      if (!token || token.expires <= Math.floor(Date.now() / 1000)) {
        return answer(401, { status: 401, code: "UNAUTHENTICATED", message: "Request not authenticated due to missing, invalid, or expired credentials." });
      }
      const allowed = op.security.some((s) => Object.values(s)[0].every((scope) => token.scopes.includes(scope)));
      if (!allowed) return answer(403, { status: 403, code: "PERMISSION_DENIED", message: "Client does not have sufficient permissions to perform this action." });
      const fail = carrier.fail;
      if (fail === "timeout") return new Promise(() => {});
      // A body too large to read (20 MB, streamed without a length), or one that trickles after prompt headers.
      if (fail === "huge") {
        const chunk = new Uint8Array(1 << 20).fill(0x20);
        let sent = 0;
        return new Response(new ReadableStream({ pull(c) { if (sent++ < 20) c.enqueue(chunk); else c.close(); } }), { status: 200, headers: { "content-type": "application/json" } });
      }
      if (fail === "trickle") {
        // Five bytes, one a second (`{}` at the end): far past any carrier deadline, and then done.
        let left = 5;
        const pull = async (c) => {
          await new Promise((r) => setTimeout(r, 1000).unref());
          if (--left > 0) c.enqueue(new Uint8Array([0x20]));
          else { c.enqueue(new TextEncoder().encode("{}")); c.close(); }
        };
        return new Response(new ReadableStream({ pull }), { status: 200, headers: { "content-type": "application/json" } });
      }
      if (fail === 500) return new Response(JSON.stringify({ status: 500, code: "INTERNAL", message: "outage" }), { status: 500 });
      if (!op.requestBody) return carrier.subscriptionsApi(kind, op, params, undefined, answer);
      let json;
      try {
        json = JSON.parse(body);
      } catch {
        carrier.problems.push(`${kind}: body is not JSON`);
        return answer(400, { status: 400, code: "INVALID_ARGUMENT", message: "Client specified an invalid argument, request body or query param." });
      }
      const check = schemaOf(name, op.requestBody.content["application/json"].schema.$ref);
      if (!check(json)) {
        carrier.problems.push(`${kind}: body off the spec: ${ajv.errorsText(check.errors)}`);
        return answer(400, { status: 400, code: "INVALID_ARGUMENT", message: "Client specified an invalid argument, request body or query param." });
      }
      if (name === "subs") return carrier.subscriptionsApi(kind, op, params, json, answer);
      // 2-legged: the number must be in the body.
      if (json.phoneNumber === undefined) return answer(422, { status: 422, code: "MISSING_IDENTIFIER", message: "The device cannot be identified." });
      if (fail === 429) return answer(429, { status: 429, code: "TOO_MANY_REQUESTS", message: "Rate limit reached." });
      if (fail === 422) return answer(422, { status: 422, code: "SERVICE_NOT_APPLICABLE", message: "The service is not available for the provided identifier." });
      const line = carrier.numbers.get(json.phoneNumber) ?? anyNumber;
      if (fail === 404 || !line) return answer(404, { status: 404, code: "IDENTIFIER_NOT_FOUND", message: "Device identifier not found." });
      if (kind === "sim/retrieve-date") return answer(200, { latestSimChange: line.simChange ?? null, monitoredPeriod: 120 });
      if (kind === "sim/check") return answer(200, { swapped: Boolean(line.swapped) });
      if (kind === "device/retrieve-date") return answer(200, { latestDeviceChange: line.deviceChange ?? null, monitoredPeriod: 120 });
      if (kind === "device/check") return answer(200, { swapped: false });
      return answer(404, { status: 404, code: "NOT_FOUND", message: "not found" });
    },
  };
  return carrier;
}

/**
 * A P-256 key for SimBind's client assertion: the scalar as the worker takes
 * it (b64u, starting `dev-only-` as every dev secret must) and the public key
 * the carrier holds.
 */
export function clientKey() {
  for (;;) {
    // 43 characters encode 32 bytes; the last one carries 4 bits and 2 zero bits.
    const tail = randomBytes(33).toString("base64url").slice(0, 33) + "AEIMQUYcgkosw048"[randomBytes(1)[0] % 16];
    const scalar = `dev-only-${tail}`;
    const d = Buffer.from(scalar, "base64url");
    const ecdh = createECDH("prime256v1");
    try {
      ecdh.setPrivateKey(d);
    } catch {
      continue; // not below the group order: another draw
    }
    const point = ecdh.getPublicKey();
    const publicKey = createPublicKey({ key: { kty: "EC", crv: "P-256", x: point.subarray(1, 33).toString("base64url"), y: point.subarray(33).toString("base64url") }, format: "jwk" });
    return { scalar, publicKey };
  }
}

/** Worker bindings that point at a stand-in carrier. */
export function carrierBindings({ apiRoot, tokenUrl, clientId, scalar, verifyEvery, subscriptionSecs }) {
  return {
    CARRIER_API_ROOT: apiRoot,
    CARRIER_TOKEN_URL: tokenUrl,
    CARRIER_CLIENT_ID: clientId,
    CARRIER_PRIVATE_KEY: scalar,
    CARRIER_TIMEOUT_MS: "500",
    ...(verifyEvery !== undefined && { CARRIER_VERIFY_EVERY_SECS: String(verifyEvery) }),
    ...(subscriptionSecs !== undefined && { CARRIER_SUBSCRIBE: "true", CARRIER_SUBSCRIPTION_SECS: String(subscriptionSecs), PUBLIC_URL: "https://simbind.test" }),
  };
}
