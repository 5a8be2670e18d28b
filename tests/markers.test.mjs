// No answer repeats its input (docs/API.md: "no problem `detail` repeats an
// input value"; the same holds for every part of every answer). For every
// route of the worker, each input the route takes — every leaf of its JSON
// body (found by walking a real body a phone sent, so new fields are covered
// without editing this file), every path segment, query parameter and the
// headers a caller controls — is sent holding a marker, in turn, and no
// response body or header may contain it.
//
// Bodies come from the project's client driving simulated phones of the
// three chip formats, through a relay that changes exactly one input of one
// request on its way to the worker: the request is otherwise what a real
// phone sends (fresh challenge, right code, real attestation, valid
// signatures), so each marker reaches as deep into the worker as that input
// can. Markers come plain (`MARKER-<input>-<tag>`), appended to the real
// value, spliced into an otherwise valid base64url value of the same length,
// as digits inside a valid-looking number, ICCID, IMSI or code, wrapped in an
// array, as an unknown key of every object, as an unknown enum value (chip
// format, ceremony), and in malformed, oversized and non-UTF-8 bodies.
// Admin routes are swept with the admin token and without it.
//
// The one documented echo is allowed: a binding challenge answers with the
// `transaction` it was asked for, and its challenge bytes carry it (PROTOCOL.md §4).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, request } from "node:http";
import { createHmac, generateKeyPairSync, randomInt, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { devSecrets, PRODUCTION_BINDINGS, startWorker } from "./lib/worker.mjs";
import { AUDIENCE, luhn, networkSms, subscriber } from "./lib/phone.mjs";
import { attestedPhone, quickIssuer } from "./lib/attested-phone.mjs";
import { carrierBindings, clientKey, standInCarrier } from "./lib/carrier.mjs";
import { Bridge, SimBindClient, SoftwareBridge } from "../wasm-client/pkg/testing/node.js";

const ADMIN = "Bearer dev-only-admin-token";
const INBOUND_SECRET = devSecrets().SMS_INBOUND_SECRET;
const FORMATS = ["simbind-p256", "android-key", "apple-appattest"];
const TRANSACTION = new Uint8Array(32).fill(0x42);

/** Every route, as `METHOD /path/{id}`: checked against the worker's route table below. */
const ROUTES = [
  "GET /v1/health",
  "GET /.well-known/jwks.json",
  "GET /.well-known/simbind",
  "POST /v1/registrations",
  "POST /v1/registrations/{id}/challenge",
  "POST /v1/registrations/{id}/binding",
  "POST /v1/bindings/{id}/challenge",
  "POST /v1/bindings/{id}/verify",
  "POST /v1/bindings/{id}/unbind",
  "GET /v1/admin/attestation-status",
  "GET /v1/admin/bindings/{id}",
  "GET /v1/admin/bindings/{id}/audit",
  "POST /v1/admin/bindings/{id}/revoke",
  "POST /v1/admin/bindings/{id}/reinstate",
  "POST /v1/webhooks/sms",
  "POST /v1/webhooks/carrier",
  "GET /dev/outbox",
  "GET /dev/bindings/{id}/audit",
  "POST /dev/sms/send",
  "POST /dev/carrier/swap",
  "POST /dev/firebase-pnv/token",
  "POST /v1/registrations/{id}/carrier-authorization",
  "GET /v1/carrier/number-verification/callback",
  "GET /dev/operator/authorize",
  "GET /.well-known/ssf-configuration",
  "GET /ssf/jwks.json",
  "GET /v1/admin/ssf/streams",
  "POST /v1/admin/ssf/streams/{id}/status",
  "POST /v1/admin/ssf/streams/{id}/verify",
  "POST /ssf/poll/{id}",
  "GET /dev/ssf/events",
];

const routeOf = (method, path) => {
  const bare = path.split("?")[0];
  return ROUTES.find((r) => {
    const [m, template] = r.split(" ");
    const re = new RegExp(`^${template.replace(/\{id\}/g, "[^/]+").replace(/\./g, "\\.")}$`);
    return m === method && re.test(bare);
  });
};

// ---------- the worker, a vendor root, phones ----------

// High limits, so thousands of requests from one address never meet one; a
// vendor root, so chip certificates are checked and not just parsed.
const vendor = generateKeyPairSync("ec", { namedCurve: "P-256" });
const vendorRoot = (() => {
  const { x, y } = vendor.publicKey.export({ format: "jwk" });
  return Buffer.concat([Buffer.from([2 + (Buffer.from(y, "base64url")[31] & 1)]), Buffer.from(x, "base64url")]).toString("base64url");
})();
// A stand-in carrier that knows every number, and keeps subscriptions: binds
// ask it, and the subscription sink is swept with a real credential.
const carrierKey = clientKey();
const CARRIER = { apiRoot: "https://carrier.example/camara", tokenUrl: "https://carrier.example/oauth/token", clientId: "simbind-markers" };
const carrier = standInCarrier({ ...CARRIER, publicKey: carrierKey.publicKey, anyNumber: { simChange: "2025-06-01T08:00:00Z", deviceChange: null, swapped: false } });

const BINDINGS = {
  ...carrierBindings({ ...CARRIER, scalar: carrierKey.scalar, subscriptionSecs: 30 * 24 * 3600 }),
  REGISTRATIONS_PER_HOUR: "1000000",
  REGISTRATIONS_PER_IP_PER_HOUR: "1000000",
  SMS_PER_HOUR: "1000000",
  SMS_PER_COUNTRY_PER_HOUR: "1000000",
  ADMIN_FAILURES_PER_HOUR: "1000000",
  MAX_CONSECUTIVE_FAILURES: "1000000",
  VENDOR_ROOTS: JSON.stringify({ acme: vendorRoot }),
  // A receiver of security events (answered 202 by the outbound stand-in).
  SSF_RECEIVERS: JSON.stringify([{ id: "bank", endpoint: "https://receiver.example/events" }, { id: "siem", delivery: "poll", authorization_secret: "SSF_AUTH_SIEM" }]),
  SSF_AUTH_SIEM: "dev-only-siem-token",
};
const RECEIVER = "https://receiver.example/";
const outbound = (r) => (r.url.startsWith(RECEIVER) ? new Response(null, { status: 202 }) : carrier.fetch(r));

function certify(chip) {
  const field = (b) => { const len = Buffer.alloc(4); len.writeUInt32BE(b.length); return Buffer.concat([len, Buffer.from(b)]); };
  const notAfter = Math.floor(Date.now() / 1000) + 365 * 86400;
  const u64 = Buffer.alloc(8);
  u64.writeBigUInt64BE(BigInt(notAfter));
  const message = Buffer.concat([field("SIMBIND-CHIP-CERT"), field("simbind-p256"), field("acme"), u64, field(chip.serial), field(Buffer.from(chip.publicKey, "base64url"))]);
  return { vendor: "acme", notAfter, signature: sign("sha256", message, { key: vendor.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url") };
}

let chips = 0;
const issuer = quickIssuer();

/** A phone of `format` with a fresh number, its client talking to `url`. Every optional field is present. */
function makePhone(format, url) {
  const s = subscriber();
  if (format !== "simbind-p256") return { number: s.number, client: attestedPhone(url, { format, sim: s.simA, issuer }).client };
  const device = new SoftwareBridge(`MARKERS-${process.pid}-${++chips}`);
  // A SIM with its own key (sim.public_key, sim_signature) and every SIM field (an eSIM with its EID),
  // and a certified chip (chip.certificate).
  const eid = "89049032001234567890123456789057";
  device.insertSim({ ...s.simA, eid, embedded: true, secretKey: Buffer.alloc(32, (chips % 200) + 1).toString("base64url") });
  const certificate = certify(device.chipInfo());
  const host = {
    chipInfo: () => ({ ...device.chipInfo(), certificate }),
    simInfo: () => device.simInfo(),
    nextCounter: () => device.nextCounter(),
    chipSign: (t) => device.chipSign(t),
    simSign: (t) => device.simSign(t),
    // The device-SMS proof, sent past the relay: the network is not an input of this phone's requests.
    sendNumberProof: networkSms(w.url, s.number),
    // The Firebase PNV token, from the dev issuer past the relay: Firebase is not an input either.
    firebasePnvToken: async (nonce) => {
      const res = await fetch(`${w.url}/dev/firebase-pnv/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ phone_number: s.number, nonce }) });
      return (await res.json()).token;
    },
  };
  return { number: s.number, client: new SimBindClient(url, Bridge.fromObject(host), AUDIENCE) };
}

// ---------- requests ----------

let w;
let relay;
let sent = 0; // requests that reached the worker from this file

let retried = 0; // requests sent again after the connection to the worker broke under them

/**
 * Sends `req` ({method, path, headers, body}) to the worker; the whole answer,
 * as text. A connection that breaks under a request (a kept-alive socket the
 * runtime closed) is retried on a new one; an answer that takes over 30 s is
 * a failure, not a wait.
 */
async function send(req, attempt = 1) {
  sent++;
  try {
    const res = await fetch(w.url + req.path, {
      method: req.method,
      headers: req.headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : req.body,
      redirect: "manual",
      signal: AbortSignal.timeout(30_000),
    });
    return { status: res.status, headers: [...res.headers], text: await res.text() };
  } catch (e) {
    const cause = `${e.cause?.code ?? ""} ${e.cause?.message ?? ""}`;
    if (attempt < 3 && /UND_ERR_SOCKET|ECONNRESET|EPIPE|other side closed/i.test(cause)) {
      retried++;
      return send(req, attempt + 1);
    }
    throw new Error(`${req.method} ${req.path}: no answer: ${e.message} (${cause.trim()})`);
  }
}

/**
 * A relay between the phones and the worker. With `rule` set, the first
 * request of `rule.route` is held back and recorded (`capture`) or changed by
 * `rule.change` and its answer recorded; every other request passes as sent.
 */
function startRelay() {
  const state = { rule: undefined, errors: [], url: undefined, server: undefined };
  state.server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      // Never leave a phone waiting: the failure is the answer, and the sweep reports it.
      if (!e.marked) state.errors.push(e);
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
  });
  async function handle(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    let out = { method: req.method, path: req.url, headers: {}, body: chunks.length ? Buffer.concat(chunks) : undefined };
    if (req.headers["content-type"]) out.headers["content-type"] = req.headers["content-type"];
    const route = routeOf(req.method, req.url);
    const rule = state.rule;
    const hit = rule && !rule.done && rule.route === route;
    if (hit) rule.done = true;
    if (hit && rule.capture) {
      rule.captured = out;
      res.writeHead(418, { "content-type": "application/problem+json" });
      res.end(JSON.stringify({ status: 418, code: "held_back_by_test" }));
      return;
    }
    if (hit) {
      try {
        out = rule.change(out);
      } catch (e) {
        rule.error = e;
        res.writeHead(500);
        res.end();
        return;
      }
    }
    let answer;
    try {
      answer = await send(out);
    } catch (e) {
      if (hit) { rule.error = e; e.marked = true; }
      throw e;
    }
    if (hit) rule.answer = { request: out, ...answer };
    res.writeHead(answer.status, { "content-type": answer.headers.find(([k]) => k === "content-type")?.[1] ?? "application/json" });
    res.end(answer.text);
  }
  return new Promise((resolve) => state.server.listen(0, "127.0.0.1", () => {
    state.url = `http://127.0.0.1:${state.server.address().port}`;
    resolve(state);
  }));
}

const noop = () => {};
const otp = (number) => w.otp(number);

/** Phones bound once and reused while their binding stays active (what a verify or unbind sweep needs). */
const boundPhones = {};
async function bound(format, slot = format) {
  const cached = boundPhones[slot];
  if (cached && (await w.bindingRecord(cached.bindingId))?.status === "active") return cached;
  const p = makePhone(format, relay.url);
  const { registrationId } = await p.client.startRegistration(p.number);
  const { bindingId } = await p.client.completeBinding(registrationId, await otp(p.number));
  return (boundPhones[slot] = { ...p, bindingId });
}

/** Waits (up to 10 s) for `check()` to be truthy. */
async function until(check) {
  for (const end = Date.now() + 10_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    const value = await check();
    if (value) return value;
  }
  throw new Error("timed out");
}

/** The binding the admin and dev routes are swept on (a revoke may end it: then another). */
const adminPhone = () => bound("simbind-p256", "admin");
const adminBinding = async () => (await adminPhone()).bindingId;

/**
 * How to reach each route: a `flow` prepares what a phone does before the
 * route's request, then acts (the relay changes the route's request); a
 * `direct` case builds the request itself.
 */
function cases() {
  const list = [];
  const flow = (route, label, prepare, act) => list.push({
    route,
    label,
    run: async (rule) => {
      const ctx = await prepare();
      relay.rule = rule;
      try {
        await act(ctx).catch(noop);
      } finally {
        relay.rule = undefined;
      }
      return rule;
    },
  });
  const direct = (route, label, build) => list.push({ route, label, build });
  const registered = (format) => async () => {
    const p = makePhone(format, relay.url);
    const { registrationId } = await p.client.startRegistration(p.number);
    return { p, registrationId, code: await otp(p.number) };
  };
  const complete = ({ p, registrationId, code }) => p.client.completeBinding(registrationId, code);
  const bySms = async () => {
    const p = makePhone("simbind-p256", relay.url);
    const registration = await p.client.startRegistration(p.number, { proof: "device_sms" });
    await p.client.sendNumberProof(registration);
    return { p, registration };
  };
  const inbound = async () => {
    const p = makePhone("simbind-p256", relay.url);
    const registration = await p.client.startRegistration(p.number, { proof: "device_sms" });
    return { p, registration };
  };

  direct("GET /v1/health", "", async () => ({ method: "GET", path: "/v1/health", headers: {} }));
  direct("GET /.well-known/jwks.json", "", async () => ({ method: "GET", path: "/.well-known/jwks.json", headers: {} }));
  direct("GET /.well-known/simbind", "", async () => ({ method: "GET", path: "/.well-known/simbind", headers: {} }));
  flow("POST /v1/registrations", "", async () => makePhone("simbind-p256", relay.url), (p) => p.client.startRegistration(p.number));
  flow("POST /v1/registrations/{id}/challenge", "", registered("simbind-p256"), complete);
  for (const format of FORMATS) flow("POST /v1/registrations/{id}/binding", format, registered(format), complete);
  flow("POST /v1/registrations", "device_sms", async () => makePhone("simbind-p256", relay.url), (p) => p.client.startRegistration(p.number, { proof: "device_sms" }));
  flow("POST /v1/registrations/{id}/binding", "device_sms", bySms, ({ p, registration }) => p.client.completeBinding(registration, undefined, { waitMs: 0 }));
  const byCarrier = async () => {
    const p = makePhone("simbind-p256", relay.url);
    return { p, registration: await p.client.startRegistration(p.number, { proof: "firebase_pnv" }) };
  };
  flow("POST /v1/registrations/{id}/binding", "firebase_pnv", byCarrier, ({ p, registration }) => p.client.completeBinding(registration));
  // camara_nv with the dev operator, whose client key the Miniflare workers leave out: it refuses every request object.
  direct("POST /v1/registrations/{id}/carrier-authorization", "a bind challenge", async () => {
    const { registrationId } = await registered("simbind-p256")();
    return { method: "POST", path: `/v1/registrations/${registrationId}/carrier-authorization`, headers: { "content-type": "application/json" }, body: JSON.stringify({ challenge: "AQIDBA" }) };
  });
  direct("GET /v1/carrier/number-verification/callback", "an unknown state", async () => ({ method: "GET", path: `/v1/carrier/number-verification/callback?code=abc&state=reg_x.${"A".repeat(43)}`, headers: {} }));
  // The dev operator redirects only to the worker's own callback: a marked one is a 400, never echoed.
  direct("GET /dev/operator/authorize", "", async () => ({ method: "GET", path: `/dev/operator/authorize?client_id=simbind-dev&redirect_uri=${encodeURIComponent(`${w.url}/v1/carrier/number-verification/callback`)}&request=a.b.c&scope=openid`, headers: { "x-network-msisdn": subscriber().number } }));
  // The dev issuer's token carries the number and nonce it was asked for (that is what it is): encoded, never in plain text.
  direct("POST /dev/firebase-pnv/token", "", async () => ({ method: "POST", path: "/dev/firebase-pnv/token", headers: { "content-type": "application/json" }, body: JSON.stringify({ phone_number: subscriber().number, nonce: "n".repeat(43) }) }));
  direct("POST /v1/webhooks/sms", "signed by the provider", async () => {
    const { p, registration } = await inbound();
    const sms = { from: p.number, to: registration.deviceSms.to, text: registration.deviceSms.text, received_at: Math.floor(Date.now() / 1000) };
    const body = JSON.stringify(sms);
    const at = sms.received_at;
    const mac = createHmac("sha256", INBOUND_SECRET).update(`${at}.`).update(body).digest("hex");
    return { method: "POST", path: "/v1/webhooks/sms", headers: { "content-type": "application/json", "x-simbind-signature": `t=${at},v1=${mac}` }, body };
  });
  direct("POST /v1/webhooks/carrier", "with the binding's sink credential", async () => {
    const { number } = await bound("simbind-p256", "sink");
    const sub = await until(() => [...carrier.subscriptions.values()].find((x) => x.phone === number && x.status === "ACTIVE"));
    // An event that changes nothing, so the binding outlives the sweep.
    const event = { id: "1", source: CARRIER.apiRoot, type: "org.camaraproject.api-name.v0.subscription-started", specversion: "1.0", datacontenttype: "application/json", data: { subscriptionId: sub.id, initiationReason: "SUBSCRIPTION_CREATED" }, time: new Date().toISOString() };
    return { method: "POST", path: "/v1/webhooks/carrier", headers: { "content-type": "application/cloudevents+json", authorization: `Bearer ${sub.token}` }, body: JSON.stringify(event) };
  });
  // Here the carrier is the tests' stand-in, not the dev carrier: a 404 whatever the input.
  direct("POST /dev/carrier/swap", "without the dev carrier", async () => ({ method: "POST", path: "/dev/carrier/swap", headers: { "content-type": "application/json" }, body: JSON.stringify({ phone_number: subscriber().number }) }));
  direct("POST /dev/sms/send", "", async () => {
    const { p, registration } = await inbound();
    const body = JSON.stringify({ from: p.number, to: registration.deviceSms.to, text: registration.deviceSms.text });
    return { method: "POST", path: "/dev/sms/send", headers: { "content-type": "application/json" }, body };
  });
  flow("POST /v1/bindings/{id}/challenge", "verify with a transaction", () => bound("simbind-p256"), (p) => p.client.verify(p.bindingId, TRANSACTION));
  for (const format of FORMATS) {
    flow("POST /v1/bindings/{id}/verify", format, () => bound(format), (p) => p.client.verify(p.bindingId));
    flow("POST /v1/bindings/{id}/unbind", format, () => bound(format), (p) => p.client.unbind(p.bindingId));
  }
  for (const [token, headers] of [["with the admin token", { authorization: ADMIN }], ["without a token", {}]]) {
    direct("GET /v1/admin/attestation-status", token, async () => ({ method: "GET", path: "/v1/admin/attestation-status", headers: { ...headers } }));
    direct("GET /v1/admin/bindings/{id}", token, async () => ({ method: "GET", path: `/v1/admin/bindings/${await adminBinding()}`, headers: { ...headers } }));
    direct("GET /v1/admin/bindings/{id}/audit", token, async () => ({ method: "GET", path: `/v1/admin/bindings/${await adminBinding()}/audit?before=5`, headers: { ...headers } }));
    for (const op of ["reinstate", "revoke"]) {
      direct(`POST /v1/admin/bindings/{id}/${op}`, token, async () => ({
        method: "POST",
        path: `/v1/admin/bindings/${await adminBinding()}/${op}`,
        headers: { ...headers, "content-type": "application/json" },
        body: "{}",
      }));
    }
  }
  direct("GET /.well-known/ssf-configuration", "", async () => ({ method: "GET", path: "/.well-known/ssf-configuration", headers: {} }));
  direct("GET /ssf/jwks.json", "", async () => ({ method: "GET", path: "/ssf/jwks.json", headers: {} }));
  for (const [token, headers] of [["with the admin token", { authorization: ADMIN }], ["without a token", {}]]) {
    direct("GET /v1/admin/ssf/streams", token, async () => ({ method: "GET", path: "/v1/admin/ssf/streams", headers: { ...headers } }));
    direct("POST /v1/admin/ssf/streams/{id}/status", token, async () => ({ method: "POST", path: "/v1/admin/ssf/streams/bank/status", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ status: "enabled", reason: "checked with the bank" }) }));
    direct("POST /v1/admin/ssf/streams/{id}/verify", token, async () => ({ method: "POST", path: "/v1/admin/ssf/streams/bank/verify", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ state: "v-1" }) }));
  }
  for (const [token, headers] of [["with the stream's token", { authorization: "dev-only-siem-token" }], ["without a token", {}]]) {
    direct("POST /ssf/poll/{id}", token, async () => ({ method: "POST", path: "/ssf/poll/siem", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify({ ack: ["j-1"], maxEvents: 5, returnImmediately: true }) }));
  }
  direct("GET /dev/ssf/events", "", async () => ({ method: "GET", path: "/dev/ssf/events", headers: {} }));
  direct("GET /dev/outbox", "", async () => ({ method: "GET", path: `/dev/outbox?phone_number=${encodeURIComponent((await adminPhone()).number)}`, headers: {} }));
  direct("GET /dev/bindings/{id}/audit", "", async () => ({ method: "GET", path: `/dev/bindings/${await adminBinding()}/audit?before=5`, headers: {} }));
  return list;
}

// ---------- markers and the inputs they go into ----------

const alnum = (n) => Array.from({ length: n }, () => "abcdefghijklmnopqrstuvwxyz0123456789"[randomInt(36)]).join("");
const digits = (n) => Array.from({ length: n }, () => randomInt(10)).join("");

/** A fresh marker for `input`: its text, a base64url form and a digit form. */
function marker(input) {
  const tag = alnum(12);
  const slug = input.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40);
  return { tag, text: `MARKER-${slug}-${tag}`, b64: `MARKER${tag}`, digits: digits(8) };
}


/** `value` (digits, maybe after '+') with a run of marker digits inside, kept valid-looking: [value, needle]. */
function digitMarker(value, m) {
  const plus = value.startsWith("+") ? "+" : "";
  const d = value.slice(plus.length);
  if (d.length <= 8) {
    const run = m.digits.slice(0, d.length);
    return [plus + run, run];
  }
  const keep = d.length >= 13 ? 5 : d.length - 8; // keeps a country code, or an IMSI's MCC and MNC
  let out = d.slice(0, keep) + m.digits + d.slice(keep + 8);
  if (/^89\d{16,18}$/.test(d)) out = luhn(out.slice(0, -1)); // an ICCID keeps its check digit right
  return [plus + out, m.digits];
}

/** `value` with `mark` written over its middle: same length, same alphabet, last character kept. */
const splice = (value, mark) => {
  const at = Math.max(0, Math.floor((value.length - mark.length) / 2));
  return value.slice(0, at) + mark + value.slice(at + mark.length);
};

const clone = (v) => JSON.parse(JSON.stringify(v));
const getAt = (obj, path) => path.reduce((o, k) => o?.[k], obj);
function setAt(obj, path, value) {
  const copy = clone(obj);
  const parent = path.slice(0, -1).reduce((o, k) => o[k], copy);
  parent[path.at(-1)] = value;
  return copy;
}

/** Every leaf of a JSON value with its path; every object and array with its path. */
function walk(value, path = [], out = { leaves: [], objects: [], arrays: [] }) {
  if (Array.isArray(value)) {
    out.arrays.push(path);
    value.forEach((v, i) => walk(v, [...path, i], out));
  } else if (value && typeof value === "object") {
    out.objects.push(path);
    for (const [k, v] of Object.entries(value)) walk(v, [...path, k], out);
  } else {
    out.leaves.push([path, value]);
  }
  return out;
}

const nameOf = (path) => path.map((k) => (typeof k === "number" ? `[${k}]` : `.${k}`)).join("").replace(/^\./, "") || "(root)";

/** Request parts: `/a/b?x=1` ⇄ segments and query pairs. */
function parts(req) {
  const url = new URL(req.path, "http://x");
  return { segments: url.pathname.split("/").slice(1), query: [...url.searchParams] };
}
function withParts(req, { segments, query }) {
  const q = query.length ? `?${new URLSearchParams(query)}` : "";
  return { ...req, path: `/${segments.map(encodeURIComponent).join("/")}${q}` };
}

/**
 * The changes to try on a request shaped like `sample`: each names its input
 * and variant, and `apply(req, m)` returns [changed request, needles].
 */
function mutationsOf(sample) {
  const out = [];
  const add = (input, variant, apply) => out.push({ input, variant, apply });
  const { segments, query } = parts(sample);

  // Path segments: ids (made up, spliced into the real one, appended to), and the route's own words.
  segments.forEach((seg, i) => {
    const at = (req, value) => { const p = parts(req); p.segments[i] = value; return withParts(req, p); };
    const id = /^(bnd|reg)_(.*)$/.exec(seg);
    if (id) {
      const input = `path ${id[1] === "bnd" ? "binding" : "registration"} id`;
      add(input, "marker", (r, m) => [at(r, m.text), [m.tag]]);
      add(input, "made-up id", (r, m) => [at(r, `${id[1]}_${m.b64}${"A".repeat(id[2].length - m.b64.length)}`), [m.tag]]);
      add(input, "spliced into the real id", (r, m) => { const real = parts(r).segments[i]; return [at(r, `${id[1]}_${splice(real.slice(4), m.b64)}`), [m.tag]]; });
      add(input, "appended", (r, m) => [at(r, parts(r).segments[i] + m.text), [m.tag]]);
    } else {
      add(`path segment '${seg}'`, "marker", (r, m) => [at(r, m.text), [m.tag]]);
    }
  });
  add("path", "extra segment", (r, m) => { const p = parts(r); p.segments.push(m.text); return [withParts(r, p), [m.tag]]; });

  // Query parameters: each value, repeated, and an unknown one.
  query.forEach(([key, value], i) => {
    const input = `query ${key}`;
    const set = (r, v) => { const p = parts(r); p.query[i] = [key, v]; return withParts(r, p); };
    add(input, "marker", (r, m) => [set(r, m.text), [m.tag]]);
    add(input, "appended", (r, m) => [set(r, parts(r).query[i][1] + m.text), [m.tag]]);
    if (/^\+?\d{6,}$/.test(value)) add(input, "digits", (r, m) => { const [v, needle] = digitMarker(parts(r).query[i][1], m); return [set(r, v), [needle]]; });
    add(input, "repeated", (r, m) => { const p = parts(r); p.query.push([key, m.text]); return [withParts(r, p), [m.tag]]; });
  });
  add("query", "unknown parameter", (r, m) => { const p = parts(r); p.query.push([m.text, m.text]); return [withParts(r, p), [m.tag]]; });

  // Headers a caller sets.
  const header = (name, value) => (r, m) => [{ ...r, headers: { ...r.headers, [name]: value(m) } }, [m.tag]];
  add("header authorization", "bearer marker", header("authorization", (m) => `Bearer ${m.text}`));
  add("header authorization", "marker", header("authorization", (m) => m.text));
  add("header cf-connecting-ip", "marker", header("cf-connecting-ip", (m) => m.text));
  add("header origin", "marker", header("origin", (m) => `http://${m.tag}.example`));
  add("header x-<marker>", "unknown header", (r, m) => [{ ...r, headers: { ...r.headers, [`x-${m.tag}`]: m.text } }, [m.tag]]);
  add("header cookie", "marker", header("cookie", (m) => `${m.text}=${m.text}`));
  add("method", "OPTIONS preflight", (r, m) => [{
    ...r,
    method: "OPTIONS",
    body: undefined,
    headers: { ...r.headers, origin: `http://${m.tag}.example`, "access-control-request-method": m.b64, "access-control-request-headers": m.text },
  }, [m.tag]]);
  // (A method name of the caller's own never reaches the worker: the runtime answers 501 itself.)
  add("method", "another method", (r, m) => { const p = parts(r); p.query.push([m.text, "1"]); return [{ ...withParts(r, p), method: "PUT" }, [m.tag]]; });
  if (sample.method !== "POST") return out;

  add("header content-type", "marker", header("content-type", (m) => m.text));
  add("header content-type", "parameter", header("content-type", (m) => `application/json; charset=${m.text}`));

  // The body, whole.
  const raw = (variant, body) => add("body", variant, (r, m) => [{ ...r, body: body(r, m) }, [m.tag]]);
  raw("malformed JSON", (r, m) => `{"${m.text}": "${m.text}`);
  raw("a JSON string", (r, m) => JSON.stringify(m.text));
  raw("a JSON array", (r, m) => JSON.stringify([m.text]));
  raw("over 8 KiB", (r, m) => JSON.stringify({ [m.text]: m.text + "x".repeat(9000) }));
  raw("not UTF-8", (r, m) => Buffer.concat([Buffer.from(`{"${m.text}": "${m.text}`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]));
  let json;
  try { json = JSON.parse(sample.body); } catch { return out; }
  if (json && typeof json === "object" && !Array.isArray(json) && Object.keys(json).length) {
    const first = Object.keys(json)[0];
    raw(`duplicate key '${first}'`, (r, m) => `${String(r.body).trim().slice(0, -1)},${JSON.stringify(first)}:${JSON.stringify(m.text)}}`);
  }

  // The body, leaf by leaf, found in the real body.
  const { leaves, objects, arrays } = walk(json);
  const body = (change) => (r, m) => {
    const [next, needles] = change(JSON.parse(r.body), m);
    return [{ ...r, body: JSON.stringify(next) }, needles];
  };
  for (const [path, value] of leaves) {
    const input = `body ${nameOf(path)}`;
    add(input, "marker", body((b, m) => [setAt(b, path, m.text), [m.tag]]));
    if (typeof value !== "string") continue;
    add(input, "appended", body((b, m) => [setAt(b, path, getAt(b, path) + m.text), [m.tag]]));
    add(input, "in an array", body((b, m) => [setAt(b, path, [m.text]), [m.tag]]));
    if (/^[A-Za-z0-9_-]{24,}$/.test(value)) {
      add(input, "spliced into valid base64url", body((b, m) => [setAt(b, path, splice(getAt(b, path), m.b64)), [m.tag]]));
    }
    if (/^\+?\d{6,}$/.test(value)) {
      add(input, "digits", body((b, m) => { const [v, needle] = digitMarker(getAt(b, path), m); return [setAt(b, path, v), [needle]]; }));
    }
  }
  for (const path of objects) {
    add(`body ${nameOf(path)}`, "unknown key", body((b, m) => [setAt(b, [...path, m.text], m.text), [m.tag]]));
  }
  for (const path of arrays) {
    add(`body ${nameOf(path)}`, "extra element", body((b, m) => [setAt(b, [...path, getAt(b, path).length], m.text), [m.tag]]));
  }
  return out;
}

/** Where `answer` holds a needle (case-insensitive): body or header. */
function echoes(answer, needles) {
  const found = [];
  for (const needle of needles.map((n) => n.toLowerCase())) {
    if (answer.text.toLowerCase().includes(needle)) found.push(`body: ${answer.text.slice(0, 400)}`);
    for (const [k, v] of answer.headers) {
      if (`${k}: ${v}`.toLowerCase().includes(needle)) found.push(`header ${k}: ${v}`);
    }
  }
  return found;
}

/**
 * The documented echo, taken out before looking: a binding challenge for a
 * transaction answers with it, and its challenge bytes end with it (before the MAC).
 */
function withoutAllowedEcho(route, input, answer) {
  if (route !== "POST /v1/bindings/{id}/challenge" || input !== "body transaction" || answer.status !== 200) return answer;
  const sent = JSON.parse(answer.request.body).transaction;
  const body = JSON.parse(answer.text);
  assert.equal(body.transaction, sent, "the transaction is echoed exactly");
  const bytes = Buffer.from(body.challenge, "base64url");
  const txn = Buffer.from(sent, "base64url");
  assert.deepEqual(bytes.subarray(bytes.length - 32 - txn.length, bytes.length - 32), txn, "and carried by the challenge");
  delete body.transaction;
  delete body.challenge;
  return { ...answer, text: JSON.stringify(body), allowed: true };
}

// ---------- the sweep ----------

const coverage = []; // { route, label, inputs, requests, ms }

before(async () => {
  // The sweep sends every marked input of a route at one binding, hundreds a
  // minute from one sender: above the edge's per-sender limit, which the
  // attacker's suite tests.
  w = await startWorker({ bindings: BINDINGS, outboundService: outbound, requestLimit: 100_000 });
  relay = await startRelay();
});
after(async () => {
  relay?.server.close();
  await w?.dispose();
});

test("the sweep covers every route in the worker's route table", () => {
  const source = readFileSync(new URL("../edge-worker/src/routes/mod.rs", import.meta.url), "utf8");
  const table = [...source.matchAll(/\((Get|Post), \[([^\]]*)\]\)\s*=>/g)].map(([, method, segs]) => {
    const path = segs.split(",").map((s) => s.trim()).map((s) => (s.startsWith('"') ? s.slice(1, -1) : `{${s}}`)).join("/");
    return `${method.toUpperCase()} /${path}`;
  });
  assert.ok(table.length >= 10, "the route table was read");
  assert.deepEqual([...table].sort(), [...ROUTES].sort(), "a route was added or removed: sweep it here");
  const swept = new Set(cases().map((c) => c.route));
  assert.deepEqual([...swept].sort(), [...ROUTES].sort());
});

for (const route of ROUTES) {
  test(`no answer of ${route} repeats a marked input`, async (t) => {
    const started = Date.now();
    const problems = [];
    let requests = 0;
    let inputs = 0;
    let allowed = 0;
    const answers = {};
    const accepted = new Set(); // inputs whose marked request still succeeded
    for (const c of cases().filter((x) => x.route === route)) {
      // A real request of the route, to find its inputs.
      let sample;
      if (c.build) sample = await c.build();
      else sample = (await c.run({ route, capture: true })).captured;
      assert.ok(sample, `${route} ${c.label}: the flow sent no request to sweep`);
      const mutations = mutationsOf(sample);
      inputs += new Set(mutations.map((mu) => mu.input)).size;
      for (const mu of mutations) {
        const m = marker(`${mu.input} ${mu.variant}`);
        let needles;
        let answer;
        let rule;
        if (c.build) {
          const [req, n] = mu.apply(await c.build(), m);
          needles = n;
          try {
            answer = { request: req, ...(await send(req)) };
          } catch (e) {
            problems.push(`${route} (${c.label}) ${mu.input} [${mu.variant}]: ${e.message}`);
            continue;
          }
        } else {
          try {
            rule = await c.run({ route, change: (req) => { const [next, n] = mu.apply(req, m); needles = n; return next; } });
          } catch (e) {
            problems.push(`${route} (${c.label}) ${mu.input} [${mu.variant}]: the phone's flow failed before the marked request: ${e.message}`);
            continue;
          }
          if (rule.error) problems.push(`${route} (${c.label}) ${mu.input} [${mu.variant}]: ${rule.error.message}`);
          answer = rule.answer;
        }
        const where = `${route} ${c.label ? `(${c.label}) ` : ""}${mu.input} [${mu.variant}]`;
        if (!answer) {
          if (!rule?.error) problems.push(`${where}: the flow never sent the request`);
          continue;
        }
        requests++;
        const code = answer.status < 300 ? "" : (() => { try { return ` ${JSON.parse(answer.text).code}`; } catch { return ""; } })();
        answers[`${answer.status}${code}`] = (answers[`${answer.status}${code}`] ?? 0) + 1;
        if (answer.status < 300) accepted.add(`${mu.input} [${mu.variant}]`);
        answer = withoutAllowedEcho(route, mu.input, answer);
        if (answer.allowed) allowed++;
        for (const place of echoes(answer, needles)) problems.push(`${where} → ${answer.status}, echoes ${needles.join(" ")} in ${place}`);
        if (answer.status >= 500) problems.push(`${where} → ${answer.status} (input must never cause a 5xx): ${answer.text.slice(0, 300)}`);
      }
    }
    problems.push(...relay.errors.splice(0).map((e) => `${route}: the relay failed outside the marked request: ${e.message}`));
    const ms = Date.now() - started;
    coverage.push({ route, label: "", inputs, requests, ms });
    t.diagnostic(`${inputs} inputs, ${requests} marked requests${allowed ? ` (${allowed} with the documented transaction echo taken out)` : ""}, ${ms} ms`);
    t.diagnostic(`accepted with a marker: ${[...accepted].join("; ") || "none"}`);
    t.diagnostic(`answers: ${Object.entries(answers).sort(([, a], [, b]) => b - a).map(([k, n]) => `${k} ×${n}`).join(", ")}`);
    assert.deepEqual(problems, [], problems.join("\n"));
  });
}

test("coverage", (t) => {
  const inputs = coverage.reduce((n, c) => n + c.inputs, 0);
  const requests = coverage.reduce((n, c) => n + c.requests, 0);
  const routes = new Set(coverage.map((c) => c.route)).size;
  t.diagnostic(`${routes} routes, ${inputs} (route case × input) pairs, ${requests} marked requests, ${sent} requests to the worker in all (${retried} sent again on a new connection)`);
  assert.equal(routes, ROUTES.length, "every route was swept");
});

// Dev mode serves localhost only (any other Host is 503 misconfigured), so
// the sweep above cannot send another Host; a production configuration can.
test("production configuration: no answer repeats the Host header", async () => {
  const production = await startWorker({ bindings: PRODUCTION_BINDINGS });
  try {
    const { hostname, port } = new URL(production.url);
    const echoed = [];
    for (const route of ROUTES.filter((r) => r.startsWith("GET ") && !r.includes("{id}"))) {
      const m = marker(`host ${route}`);
      const path = route.slice(4);
      const answer = await new Promise((resolve, reject) => {
        const req = request({ hostname, port, path, headers: { host: `${m.tag}.example`, authorization: ADMIN } }, (res) => {
          let text = "";
          res.on("data", (c) => { text += c; });
          res.on("end", () => resolve({ status: res.statusCode, headers: Object.entries(res.headers), text }));
        });
        req.on("error", reject);
        req.end();
      });
      for (const place of echoes(answer, [m.tag])) echoed.push(`${route} → ${answer.status}, echoes the Host in ${place}`);
    }
    assert.deepEqual(echoed, [], echoed.join("\n"));
  } finally {
    await production.dispose();
  }
});
