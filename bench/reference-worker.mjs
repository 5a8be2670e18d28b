// REFERENCE WORKER: a yardstick for the benchmark, NOT a product. Never deploy it.
//
// A plain-JavaScript Cloudflare Worker written from docs/PROTOCOL.md and
// docs/API.md alone. It speaks SimBind protocol v2 to the project's own client
// for the real-time verification ceremony only, doing the same work per request
// as the Rust worker does in that ceremony, with WebCrypto instead of wasm:
//
//   POST /v1/bindings/{id}/challenge  {ceremony:"verify", transaction?}   (one object read)
//   POST /v1/bindings/{id}/verify     evidence → ES256 grant              (one object read-modify-write)
//   GET  /.well-known/jwks.json       the grant key
//   GET  /v1/ref/read/{id}            reference only: one object read, the trivial route
//   POST /v1/ref/seed                 reference only (admin token): stores a binding record,
//                                     standing in for registration + OTP + bind
//
// What it does on each verification, as SimBind does: the challenge's MAC,
// ceremony, subject and expiry, the chip signature over the transcript, the
// counter, the nonce's single use, and one durable read-modify-write in the
// binding's object. bench/self-check.mjs sends both workers requests that
// only the MAC, the expiry, the signature, the counter and the nonce refuse
// (and an accepted one after a refused one, which only a kept write allows);
// `make bench` prints no ratio unless both answer them alike.
//
// What it leaves out (nothing the verify ceremony's cost depends on much):
// registration, bind, unbind, attestation formats (simbind-p256 only), vendor
// roots, the deny-list, alerts and audit events, the per-route request limit
// (SimBind asks its rate-limiting binding once per request), carrier signals,
// CORS, key rotation.
// Configuration: the dev values of wrangler.toml [env.dev.vars] and .dev.vars.

const enc = new TextEncoder();
const N_HEX = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"; // P-256 order
const EC = { name: "ECDSA", namedCurve: "P-256" };
const ES256 = { name: "ECDSA", hash: "SHA-256" };
const TITLES = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 410: "Gone", 413: "Payload Too Large", 415: "Unsupported Media Type", 500: "Internal Server Error" };

class Problem extends Error {
  constructor(status, code, detail) { super(detail); this.status = status; this.code = code; }
}
const fail = (status, code, detail) => { throw new Problem(status, code, detail); };

// ---- bytes (PROTOCOL.md, Notation) ----
export const bytes = (b) => (typeof b === "string" ? enc.encode(b) : b);
export function cat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
const u16 = (n) => new Uint8Array([n >> 8, n & 255]);
const u32 = (n) => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
function u64(n) { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n)); return b; }
export const field = (b) => { const v = bytes(b); return cat(u32(v.length), v); };
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
export function b64u(b) {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
/** Strict unpadded base64url: the alphabet only, and canonical (re-encodes to itself). */
export function unb64u(s, what) {
  if (typeof s !== "string" || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) fail(400, "invalid_base64", `${what} is not base64url`);
  const bin = atob(s.replaceAll("-", "+").replaceAll("_", "/"));
  const out = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  if (b64u(out) !== s) fail(400, "invalid_base64", `${what} is not canonical base64url`);
  return out;
}

// ---- keys (cached per isolate: importing is not per-request work) ----
const hmacKey = (secret) => crypto.subtle.importKey("raw", bytes(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
const hmac = async (key, data) => new Uint8Array(await crypto.subtle.sign("HMAC", key, data));
let keysPromise;
function keys(env) {
  return (keysPromise ??= (async () => {
    // GRANT_SIGNING_KEY is a b64u P-256 scalar (API.md); WebCrypto takes it as a
    // PKCS#8 ECPrivateKey without the optional public key, and derives the point.
    const d = unb64u(env.GRANT_SIGNING_KEY, "GRANT_SIGNING_KEY");
    const pkcs8 = cat(Uint8Array.from([0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20]), d);
    const grant = await crypto.subtle.importKey("pkcs8", pkcs8, EC, true, ["sign"]);
    const { x, y } = await crypto.subtle.exportKey("jwk", grant);
    return {
      challenge: { [env.CHALLENGE_KEY_ID ?? "c1"]: await hmacKey(env.CHALLENGE_HMAC_KEY) },
      pepper: await hmacKey(env.ID_HASH_PEPPER),
      grant,
      jwk: { kty: "EC", crv: "P-256", x, y, kid: env.GRANT_KEY_ID ?? "g1", use: "sig", alg: "ES256" },
    };
  })());
}

// ---- PROTOCOL.md §4: challenges ----
const CEREMONY = { bind: 1, verify: 2, unbind: 3 };
export async function challengeBytes(key, { ceremony, issuedAt, ttl, nonce, keyId, subject, transaction }) {
  const body = cat(Uint8Array.of(2, CEREMONY[ceremony]), u64(issuedAt), u64(issuedAt + ttl), nonce, field(keyId), field(subject), field(transaction));
  return cat(body, await hmac(key, cat(field("SIMBIND-CHALLENGE"), body)));
}
/** Checks a challenge in PROTOCOL.md §4's order; returns its fields. */
async function openChallenge(k, raw, ceremony, subject, now) {
  const bad = () => fail(401, "challenge_invalid", "the challenge is not valid");
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let at = 34;
  const take = () => {
    if (at + 4 > raw.length - 32) bad();
    const len = view.getUint32(at), start = at + 4;
    if (start + len > raw.length - 32) bad();
    at = start + len;
    return raw.subarray(start, at);
  };
  if (raw.length < 34 + 12 + 32) bad();
  const keyId = new TextDecoder().decode(take()), subj = new TextDecoder().decode(take()), transaction = take();
  if (at !== raw.length - 32) bad();
  const key = Object.hasOwn(k.challenge, keyId) ? k.challenge[keyId] : bad();
  const body = raw.subarray(0, at);
  if (!(await crypto.subtle.verify("HMAC", key, raw.subarray(at), cat(field("SIMBIND-CHALLENGE"), body)))) bad(); // constant time
  if (raw[0] !== 2) bad();
  if (raw[1] !== CEREMONY[ceremony]) fail(401, "challenge_wrong_ceremony", "the challenge is for another ceremony");
  if (subj !== subject) fail(401, "challenge_wrong_subject", "the challenge is for another subject");
  const issuedAt = Number(view.getBigUint64(2)), expiresAt = Number(view.getBigUint64(10));
  if (issuedAt > now + 5 || expiresAt - issuedAt > 120 || expiresAt < issuedAt) bad();
  if (!(now < expiresAt)) fail(410, "challenge_expired", "the challenge has expired");
  return { issuedAt, expiresAt, nonce: hex(raw.subarray(18, 34)), transaction };
}

// ---- PROTOCOL.md §3: transcript; §6: keyed identifier hashes ----
/** The SIM block's fields in order (§3), by wire name. */
export const SIM_FIELDS = ["msisdn", "iccid", "imsi", "eid", "subscription_id", "slot_index", "card_id", "port_index", "embedded", "mcc", "mnc"];
/** A SIM field's canonical text (§3): "" when absent. */
export const simText = (v) => (v === undefined ? "" : v === true ? "1" : v === false ? "0" : String(v));
export function transcript({ ceremony, challenge, audience, subject, transaction, serial, chipKey, sim, simKey, counter }) {
  return cat(field("SIMBIND-TRANSCRIPT"), u16(2), field(ceremony), field(challenge), field(audience), field(subject),
    field(transaction), field(serial), field(chipKey), field(cat(...SIM_FIELDS.map((f) => field(simText(sim[f]))))), field(simKey), u64(counter));
}
export const idHash = async (pepper, kind, value) => hex(await hmac(pepper, cat(field("SIMBIND-ID"), field(kind), field(value))));

// ---- PROTOCOL.md §8: grant (compact JWS, ES256); claims in §8's order, `txn` only when bound ----
export function grantSigningInput(kid, { iss, aud, sub, iat, exp, jti, ctr, txn }) {
  const part = (o) => b64u(enc.encode(JSON.stringify(o)));
  return `${part({ alg: "ES256", kid, typ: "JWT" })}.${part({ iss, aud, sub, iat, exp, jti, ctr, ...(txn !== undefined && { txn }) })}`;
}

// ---- request validation (API.md: exact schemas, stable codes) ----
function shape(o, required, optional, where) {
  if (o === null || typeof o !== "object" || Array.isArray(o)) fail(400, "invalid_field", `${where} must be an object`);
  for (const k of Object.keys(o)) if (!required.includes(k) && !optional.includes(k)) fail(400, "unknown_field", `unknown field in ${where}`);
  for (const k of required) if (!(k in o)) fail(400, "missing_field", `${where} lacks a required field`);
}
const str = (v, what) => (typeof v === "string" ? v : fail(400, "invalid_field", `${what} must be a string`));
function luhnOk(digits) {
  let sum = 0;
  [...digits].reverse().forEach((c, i) => { let d = +c; if (i % 2) { d *= 2; if (d > 9) d -= 9; } sum += d; });
  return sum % 10 === 0;
}
const DEVICE_LEVEL = ["subscription_id", "slot_index", "embedded", "mcc", "mnc"];
const int = (v, max, what) => {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) fail(400, "invalid_field", `${what} must be a non-negative integer`);
  return v <= max ? v : fail(400, "out_of_range", `${what} is out of range`);
};
function checkSim(sim) {
  shape(sim, [], [...SIM_FIELDS, "public_key"], "sim");
  const s = {};
  if (sim.msisdn !== undefined && !/^\+[1-9][0-9]{6,14}$/.test((s.msisdn = str(sim.msisdn, "sim.msisdn")))) fail(400, "invalid_phone_number", "not an E.164 number");
  if (sim.iccid !== undefined) {
    s.iccid = str(sim.iccid, "sim.iccid");
    if (!/^89[0-9]{16,18}$/.test(s.iccid)) fail(400, "invalid_iccid", "not an ICCID");
    if (!luhnOk(s.iccid)) fail(400, "invalid_iccid_checksum", "the ICCID check digit is wrong");
  }
  if (sim.imsi !== undefined && (!/^[0-9]{6,15}$/.test((s.imsi = str(sim.imsi, "sim.imsi"))) || !(/^[2-7]/.test(s.imsi) || s.imsi.startsWith("001")))) fail(400, "invalid_imsi", "not an IMSI");
  if (sim.eid !== undefined) {
    s.eid = str(sim.eid, "sim.eid");
    if (!/^89[0-9]{30}$/.test(s.eid)) fail(400, "invalid_eid", "not an EID");
    if (BigInt(s.eid) % 97n !== 1n) fail(400, "invalid_eid_checksum", "the EID check digits are wrong");
  }
  for (const [f, max] of [["subscription_id", 2 ** 31 - 1], ["slot_index", 15], ["card_id", 2 ** 31 - 1], ["port_index", 15]]) {
    if (sim[f] !== undefined) s[f] = int(sim[f], max, `sim.${f}`);
  }
  if (sim.embedded !== undefined) s.embedded = typeof sim.embedded === "boolean" ? sim.embedded : fail(400, "invalid_field", "sim.embedded must be a boolean");
  if ((sim.mcc === undefined) !== (sim.mnc === undefined)) fail(400, "invalid_mcc_mnc", "MCC and MNC come together");
  if (sim.mcc !== undefined) {
    s.mcc = str(sim.mcc, "sim.mcc");
    s.mnc = str(sim.mnc, "sim.mnc");
    if (!/^(001|[2-7][0-9]{2})$/.test(s.mcc) || !/^[0-9]{2,3}$/.test(s.mnc)) fail(400, "invalid_mcc_mnc", "not an MCC and MNC");
  }
  return { fields: s, key: sim.public_key === undefined ? undefined : publicKey(sim.public_key, "sim.public_key") };
}
/** Keyed hashes of the SIM fields present (§6: kind = the field's wire name). */
const simHashes = async (pepper, fields) =>
  Object.fromEntries(await Promise.all(Object.entries(fields).map(async ([f, v]) => [f, await idHash(pepper, f, simText(v))])));
function checkChip(chip) {
  shape(chip, ["format", "serial", "public_key"], ["certificate"], "chip");
  if (chip.format !== "simbind-p256") fail(400, "invalid_field", "the reference worker takes simbind-p256 chips only");
  const serial = str(chip.serial, "chip.serial");
  if (!/^[A-Za-z0-9_:.-]{4,64}$/.test(serial)) fail(400, "invalid_chip_serial", "not a chip serial");
  if (chip.certificate !== undefined && (chip.certificate === null || typeof chip.certificate !== "object")) fail(400, "invalid_field", "chip.certificate must be an object");
  return { serial, key: publicKey(chip.public_key, "chip.public_key") }; // no VENDOR_ROOTS: a certificate is not checked
}
/** SEC1 compressed or uncompressed; returns the compressed form (what transcripts carry). */
function publicKey(s, what) {
  const k = unb64u(str(s, what), what);
  if (k.length === 33 && (k[0] === 2 || k[0] === 3)) return k;
  if (k.length === 65 && k[0] === 4) return cat(Uint8Array.of(2 + (k[64] & 1)), k.subarray(1, 33));
  fail(400, "invalid_public_key", `${what} is not a P-256 SEC1 key`);
}
async function importPoint(compressed, what) {
  try { return await crypto.subtle.importKey("raw", compressed, EC, false, ["verify"]); } // refuses points off the curve
  catch { fail(400, "invalid_public_key", `${what} is not a P-256 point`); }
}
function signature(s, what) {
  const sig = unb64u(str(s, what), what), r = hex(sig.subarray(0, 32)), t = hex(sig.subarray(32));
  const zero = "0".repeat(64);
  if (sig.length !== 64 || r === zero || t === zero || r >= N_HEX || t >= N_HEX) fail(400, "invalid_signature_encoding", `${what} is not a 64-byte r||s`);
  return sig;
}
const bindingId = (id) => (/^bnd_[A-Za-z0-9_-]{22}$/.test(id) && b64u(unb64u(id.slice(4), "id")) === id.slice(4) ? id : fail(400, "invalid_id", "not a binding id"));

// ---- HTTP ----
const HEADERS = { "cache-control": "no-store", "x-content-type-options": "nosniff" };
const json = (status, body, headers = HEADERS) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
const problem = (p) => new Response(JSON.stringify({ type: `https://simbind.dev/problems/${p.code}`, title: TITLES[p.status] ?? "Error", status: p.status, code: p.code, detail: p.message }), { status: p.status, headers: { "content-type": "application/problem+json", ...HEADERS } });
async function body(req) {
  if (!(req.headers.get("content-type") ?? "").toLowerCase().startsWith("application/json")) fail(415, "unsupported_media_type", "send application/json");
  const text = await req.text();
  if (enc.encode(text).length > 8192) fail(413, "body_too_large", "the body is over 8 KiB");
  try { return JSON.parse(text); } catch { fail(400, "malformed_json", "the body is not JSON"); }
}
const object = (env, id) => env.BINDINGS.get(env.BINDINGS.idFromName(id));
async function call(env, id, op, payload) {
  const res = await object(env, id).fetch(`https://object/${op}`, payload === undefined ? {} : { method: "POST", body: JSON.stringify(payload) });
  const out = await res.json();
  if (out.code) fail(out.status, out.code, out.detail);
  return out;
}
const nowSecs = () => Math.floor(Date.now() / 1000);
const clamp = (v, lo, hi, dflt) => Math.min(hi, Math.max(lo, Number.isFinite(+v) ? +v : dflt));

async function route(req, env) {
  const { pathname } = new URL(req.url);
  const m = pathname.match(/^\/v1\/bindings\/([^/]+)\/(challenge|verify)$/);
  const k = await keys(env);
  if (pathname === "/.well-known/jwks.json") return json(200, { keys: [k.jwk] }, { "cache-control": "public, max-age=300", "x-content-type-options": "nosniff" });
  if (pathname === "/v1/health") return json(200, { status: "ok", audience: env.AUDIENCE });
  const read = pathname.match(/^\/v1\/ref\/read\/([^/]+)$/);
  if (read) {
    if (req.method !== "GET") fail(405, "method_not_allowed", "GET only");
    return json(200, await call(env, bindingId(decodeURIComponent(read[1])), "read"));
  }
  if (pathname === "/v1/ref/seed") return seed(req, env, k);
  if (!m) fail(404, "not_found", "no such route");
  if (req.method !== "POST") fail(405, "method_not_allowed", "POST only");
  const id = bindingId(decodeURIComponent(m[1]));
  return m[2] === "challenge" ? challenge(req, env, k, id) : verify(req, env, k, id);
}

async function challenge(req, env, k, id) {
  const b = await body(req);
  shape(b, ["ceremony"], ["transaction"], "body");
  if (str(b.ceremony, "ceremony") !== "verify") fail(400, "out_of_range", "the reference worker issues verify challenges only");
  const transaction = b.transaction === undefined ? new Uint8Array(0) : unb64u(str(b.transaction, "transaction"), "transaction");
  if (b.transaction !== undefined && (transaction.length < 1 || transaction.length > 64)) fail(400, "out_of_range", "a transaction is 1 to 64 bytes");
  await call(env, id, "read"); // binding_not_found for an id nobody bound
  const issuedAt = nowSecs(), ttl = clamp(env.CHALLENGE_TTL_SECS, 1, 120, 120), keyId = env.CHALLENGE_KEY_ID ?? "c1";
  const raw = await challengeBytes(k.challenge[keyId], { ceremony: "verify", issuedAt, ttl, nonce: crypto.getRandomValues(new Uint8Array(16)), keyId, subject: id, transaction });
  const out = { challenge: b64u(raw), ceremony: "verify", audience: env.AUDIENCE, expires_at: issuedAt + ttl };
  if (b.transaction !== undefined) out.transaction = b.transaction;
  return json(200, out);
}

async function verify(req, env, k, id) {
  const e = await body(req);
  shape(e, ["challenge", "chip", "sim", "counter", "chip_signature"], ["sim_signature"], "evidence");
  const raw = unb64u(str(e.challenge, "challenge"), "challenge");
  const chip = checkChip(e.chip), sim = checkSim(e.sim);
  if (typeof e.counter !== "number" || !Number.isInteger(e.counter) || e.counter < 0) fail(400, "invalid_field", "counter must be a non-negative integer");
  if (!Number.isSafeInteger(e.counter)) fail(400, "out_of_range", "counter is above 2^53 - 1");
  const chipSig = signature(e.chip_signature, "chip_signature");
  const simSig = e.sim_signature === undefined ? undefined : signature(e.sim_signature, "sim_signature");
  const [chipKey, simKey] = await Promise.all([importPoint(chip.key, "chip.public_key"), sim.key && importPoint(sim.key, "sim.public_key")]);
  const now = nowSecs();
  const c = await openChallenge(k, raw, "verify", id, now);
  const bytes = transcript({ ceremony: "verify", challenge: raw, audience: env.AUDIENCE, subject: id, transaction: c.transaction, serial: chip.serial,
    chipKey: chip.key, sim: sim.fields, simKey: sim.key ?? new Uint8Array(0), counter: e.counter });
  const [sigOk, simOk, serialHash, simHash] = await Promise.all([
    crypto.subtle.verify(ES256, chipKey, chipSig, bytes),
    simKey && simSig ? crypto.subtle.verify(ES256, simKey, simSig, bytes) : false,
    idHash(k.pepper, "chip-serial", chip.serial), simHashes(k.pepper, sim.fields),
  ]);
  // One call to the binding's object: it decides and writes in one synchronous step.
  const d = await call(env, id, "verify", {
    nonce: c.nonce, nonce_until: c.issuedAt + 180, serial_hash: serialHash, chip_key: b64u(chip.key), sig_ok: sigOk,
    sim_hashes: simHash, sim_key: sim.key ? b64u(sim.key) : null,
    sim_sig_ok: sim.key === undefined && simSig === undefined ? null : Boolean(sim.key && simSig && simOk),
    counter: e.counter, max_failures: Math.max(1, Number(env.MAX_CONSECUTIVE_FAILURES ?? 3) || 3),
  });
  const iat = nowSecs(), exp = iat + clamp(env.GRANT_TTL_SECS, 1, 300, 120);
  const signing = grantSigningInput(k.jwk.kid, { iss: env.ISSUER ?? env.AUDIENCE, aud: env.GRANT_AUDIENCE ?? env.AUDIENCE, sub: id, iat, exp,
    jti: b64u(crypto.getRandomValues(new Uint8Array(16))), ctr: d.counter, txn: c.transaction.length ? b64u(c.transaction) : undefined });
  const sig = new Uint8Array(await crypto.subtle.sign(ES256, k.grant, enc.encode(signing)));
  return json(200, { grant: `${signing}.${b64u(sig)}`, token_type: "SimBind-Grant", expires_at: exp });
}

async function seed(req, env, k) {
  if (req.method !== "POST") fail(405, "method_not_allowed", "POST only");
  if (req.headers.get("authorization") !== `Bearer ${env.ADMIN_TOKEN}`) fail(401, "admin_unauthorized", "admin token required");
  const b = await body(req);
  shape(b, ["chip", "sim"], ["binding_id", "counter"], "body");
  const chip = checkChip(b.chip), sim = checkSim(b.sim);
  const id = b.binding_id === undefined ? `bnd_${b64u(crypto.getRandomValues(new Uint8Array(16)))}` : bindingId(str(b.binding_id, "binding_id"));
  await importPoint(chip.key, "chip.public_key");
  const record = {
    status: "active", chip_format: "simbind-p256", serial_hash: await idHash(k.pepper, "chip-serial", chip.serial), chip_key: b64u(chip.key),
    sim_hashes: await simHashes(k.pepper, sim.fields),
    sim_key: sim.key ? b64u(sim.key) : null, counter: Number.isSafeInteger(b.counter) && b.counter >= 0 ? b.counter : 0, failures: 0,
  };
  await call(env, id, "seed", record);
  return json(201, { binding_id: id, status: "active" });
}

export default {
  async fetch(req, env) {
    try {
      return await route(req, env);
    } catch (e) {
      if (e instanceof Problem) return problem(e);
      console.error(e);
      return problem(new Problem(500, "internal", "internal error"));
    }
  },
};

// ---- the binding's Durable Object (SQLite): one per binding id ----
export class ReferenceBinding {
  constructor(ctx) {
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS record (id INTEGER PRIMARY KEY CHECK (id = 0), json TEXT NOT NULL, version INTEGER NOT NULL)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS used_nonce (nonce TEXT PRIMARY KEY, until INTEGER NOT NULL)");
  }
  load() {
    const row = this.sql.exec("SELECT json, version FROM record WHERE id = 0").toArray()[0];
    return row && { ...JSON.parse(row.json), version: row.version };
  }
  store({ version, ...rec }) {
    this.sql.exec("INSERT OR REPLACE INTO record (id, json, version) VALUES (0, ?, ?)", JSON.stringify(rec), (version ?? 0) + 1);
  }
  async fetch(req) {
    const op = new URL(req.url).pathname.slice(1);
    const deny = (status, code, detail) => Response.json({ status, code, detail });
    if (op === "seed") { this.store({ ...(await req.json()), version: this.load()?.version }); return Response.json({ ok: true }); }
    const rec = this.load();
    if (!rec) return deny(404, "binding_not_found", "no such binding");
    if (op === "read") return Response.json({ status: rec.status, counter: rec.counter });
    const q = await req.json();
    const now = Math.floor(Date.now() / 1000);
    // Everything below is synchronous: read, decide and write happen in one step.
    if (this.sql.exec("SELECT 1 FROM used_nonce WHERE nonce = ?", q.nonce).toArray().length) return deny(403, "challenge_reused", "the challenge was already used");
    const useNonce = () => {
      this.sql.exec("DELETE FROM used_nonce WHERE until <= ?", now);
      this.sql.exec("INSERT INTO used_nonce (nonce, until) VALUES (?, ?)", q.nonce, q.nonce_until);
    };
    if (q.serial_hash !== rec.serial_hash || q.chip_key !== rec.chip_key) { useNonce(); return deny(403, "chip_mismatch", "this is not the bound chip"); }
    if (!q.sig_ok) { useNonce(); return deny(401, "bad_signature", "the chip signature does not verify"); }
    if (rec.status !== "active") return deny(403, `binding_${rec.status}`, `the binding is ${rec.status}`); // changes nothing
    useNonce();
    // From here the request is authentic.
    let refusal;
    if (q.counter <= rec.counter) refusal = [403, "counter_replayed", "the counter did not increase"];
    else if (SIM_FIELDS.some((f) => f !== "msisdn" && (rec.sim_hashes[f] !== undefined || DEVICE_LEVEL.includes(f)) && q.sim_hashes[f] !== rec.sim_hashes[f])) refusal = [403, "sim_changed", "the SIM in the phone is not the bound SIM"];
    else if (rec.sim_hashes.msisdn !== undefined && q.sim_hashes.msisdn !== rec.sim_hashes.msisdn) refusal = [403, "number_changed", "the SIM's number is not the bound number"];
    else if (rec.sim_key && q.sim_key !== rec.sim_key) refusal = [403, "sim_signature_required", "the bound SIM must sign"];
    else if (q.sim_sig_ok === false) refusal = [401, "bad_sim_signature", "the SIM signature does not verify"];
    rec.counter = Math.max(rec.counter, q.counter);
    if (refusal) {
      rec.failures += 1;
      if (rec.failures >= q.max_failures) rec.status = "suspended";
      this.store(rec);
      return deny(...refusal);
    }
    rec.failures = 0;
    this.store(rec);
    return Response.json({ ok: true, counter: rec.counter });
  }
}
