// Every ceremony's happy path against the built worker in workerd, and the
// lifecycle: grant checked offline against the JWKS, unbind, revoke, audit,
// re-binding policy.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./lib/worker.mjs";
import { bindPhone, phone, refusal, subscriber } from "./lib/phone.mjs";
import { checkGrant, checkGrantSignature, grantsChecked } from "./lib/grant.mjs";
import { generateKeyPairSync, sign } from "node:crypto";

let w;
before(async () => { w = await startWorker(); });
after(() => w.dispose());

const ADMIN = { authorization: "Bearer dev-only-admin-token" };

/** Verifies an ES256 JWT with WebCrypto against the worker's JWKS. */
async function verifyGrantOffline(token) {
  const jwks = await (await fetch(`${w.url}/.well-known/jwks.json`)).json();
  const checked = await checkGrantSignature(jwks, token);
  assert.ok(checked.jwk, "grant kid is published");
  return checked;
}

test("health and JWKS", async () => {
  const health = await (await fetch(`${w.url}/v1/health`)).json();
  assert.deepEqual(health, { status: "ok", audience: "simbind-dev" }, "nothing about the configuration");
  const jwks = await (await fetch(`${w.url}/.well-known/jwks.json`)).json();
  assert.equal(jwks.keys.length, 1);
  assert.deepEqual(Object.keys(jwks.keys[0]).sort(), ["alg", "crv", "kid", "kty", "use", "x", "y"]);
});

test("the suites' grant check refuses what a backend refuses: another key, issuer, audience, subject, transaction, expiry", async () => {
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, p, s.number);
  const checkedBefore = grantsChecked.count;
  const txn = new Uint8Array(32).fill(9);
  const { grant } = await p.client.verify(bindingId, txn);
  assert.equal(grantsChecked.count, checkedBefore + 1, "the suite's fetch checked the grant on its way in");
  const b64 = (x) => Buffer.from(x).toString("base64url");
  const txnB64 = b64(txn);
  assert.equal((await checkGrant(w.url, grant, { sub: bindingId, txn: txnB64 })).txn, txnB64);
  const refused = async (token, expect, why) => {
    await assert.rejects(checkGrant(w.url, token, { sub: bindingId, txn: txnB64, ...expect }), /grant refused as a backend would/, why);
  };
  await refused(grant, { sub: "bnd_AAAAAAAAAAAAAAAAAAAAAA" }, "another subject");
  await refused(grant, { txn: null }, "a transaction where none was asked");
  await refused(grant, { txn: b64(new Uint8Array(32)) }, "another transaction");
  // The same claims re-signed: by another key under the published kid, or changed and signed by the grant key's stand-in.
  const [h, c] = grant.split(".");
  const claims = JSON.parse(Buffer.from(c, "base64url"));
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const resign = (payload) => {
    const body = `${h}.${b64(JSON.stringify(payload))}`;
    return `${body}.${b64(sign("sha256", Buffer.from(body), { key: privateKey, dsaEncoding: "ieee-p1363" }))}`;
  };
  await refused(resign(claims), {}, "signed by a key the deployment never published");
  await assert.rejects(checkGrant(w.url, resign(claims), {}), /signature does not verify/);
  // A grant validly signed with the same key by a deployment with another
  // issuer and audience: refused for exactly those.
  const other = await startWorker({ bindings: { ISSUER: "https://other.example", GRANT_AUDIENCE: "other-app" } });
  try {
    const q = phone(other.url, { sim: s.simA });
    const bound = await bindPhone(other, q, s.number);
    const { grant: foreign } = await q.client.verify(bound.bindingId);
    const e = await checkGrant(w.url, foreign, { sub: bound.bindingId, txn: null }).catch((x) => x);
    assert.match(e.message, /iss https:\/\/other\.example is not/);
    assert.match(e.message, /aud other-app is not/);
    assert.doesNotMatch(e.message, /signature|sub |txn /);
  } finally {
    await other.dispose();
  }
});

test("register → SMS code → bind → verify → grant that verifies offline → unbind", async () => {
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA });
  const reg = await p.client.startRegistration(s.number);
  assert.match(reg.registrationId, /^reg_[A-Za-z0-9_-]{59}$/);
  const sms = await w.outbox(s.number);
  assert.equal(sms.length, 1);
  // What the code is for, who sends it, and a WebOTP line the browser can fill from.
  const code = sms[0].text.slice(0, 6);
  assert.match(sms[0].text, /^\d{6} is your SimBind demo code to link this number to a new phone\./);
  assert.ok(sms[0].text.endsWith(`\n\n@localhost #${code}`), sms[0].text);

  const binding = await p.client.completeBinding(reg.registrationId, await w.otp(s.number));
  assert.equal(binding.status, "active");
  assert.equal(binding.rebound, false);

  const before = Math.floor(Date.now() / 1000);
  const grant = await p.client.verify(binding.bindingId);
  assert.equal(grant.tokenType, "SimBind-Grant");
  assert.ok(grant.expiresAt > before && grant.expiresAt <= before + 300);
  const { ok, header, claims } = await verifyGrantOffline(grant.grant);
  assert.ok(ok, "grant signature verifies with the JWKS key");
  assert.equal(header.alg, "ES256");
  assert.equal(claims.sub, binding.bindingId);
  assert.equal(claims.aud, "simbind-demo-app");
  assert.equal(claims.ctr, 2, "bind used counter 1, verify counter 2");
  assert.ok(claims.exp - claims.iat <= 300);

  const second = await p.client.verify(binding.bindingId);
  assert.notEqual(second.grant, grant.grant);

  const unbound = await p.client.unbind(binding.bindingId);
  assert.equal(unbound.status, "revoked");
  const e = await refusal(p.client.verify(binding.bindingId));
  assert.equal(e.code, "binding_revoked");
  assert.equal(e.name, "SimBindError");

  const events = (await w.audit(binding.bindingId)).map((x) => x.event);
  assert.deepEqual(events, ["bound", "verified", "verified", "unbound"]);
});

test("a second chip cannot take a live number (409); after unbind it can", async () => {
  const s = subscriber();
  const first = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, first, s.number);
  const thief = phone(w.url, { sim: s.simA });
  const e = await refusal(bindPhone(w, thief, s.number));
  assert.equal(e.code, "binding_exists");
  assert.equal(e.status, 409);
  // A correct code used for another phone is the SIM-swap signature: the owner is told.
  const alerts = (await w.outbox(s.number)).filter((m) => m.kind === "alert");
  assert.match(alerts.at(-1).text, /tried to bind it to another phone/);
  const events = (await w.audit(bindingId)).map((x) => `${x.event}:${x.code ?? ""}`);
  assert.deepEqual(events.slice(-2), ["denied:binding_exists", "alert_sent:binding_exists"]);
  await first.client.unbind(bindingId);
  const second = await bindPhone(w, thief, s.number);
  assert.notEqual(second.bindingId, bindingId);
  await thief.client.verify(second.bindingId);
});

test("a chip bound to one number cannot bind another (409)", async () => {
  const s1 = subscriber();
  const s2 = subscriber();
  const p = phone(w.url, { sim: s1.simA });
  await bindPhone(w, p, s1.number);
  p.device.insertSim(s2.simA);
  const e = await refusal(bindPhone(w, p, s2.number));
  assert.equal(e.code, "chip_already_bound");
});

test("legitimate SIM change: same chip re-proves the number and is re-bound", async () => {
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, p, s.number);
  p.device.insertSim(s.simB);
  assert.equal((await refusal(p.client.verify(bindingId))).code, "sim_changed");
  const again = await bindPhone(w, p, s.number);
  assert.equal(again.bindingId, bindingId, "binding id is kept");
  assert.equal(again.rebound, true);
  await p.client.verify(bindingId);
  const alerts = (await w.outbox(s.number)).filter((m) => m.kind === "alert");
  assert.ok(alerts.some((m) => /re-bound to a new SIM/.test(m.text)));
});

test("operator revoke needs the admin token; audit trail is readable with it", async () => {
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, p, s.number);
  const denied = await w.post(`/v1/admin/bindings/${bindingId}/revoke`, {}, { authorization: "Bearer wrong" });
  assert.equal(denied.status, 401);
  assert.equal((await denied.json()).code, "admin_unauthorized");
  assert.equal((await w.post(`/v1/admin/bindings/${bindingId}/revoke`, {})).status, 401);
  await p.client.verify(bindingId);
  const revoked = await w.post(`/v1/admin/bindings/${bindingId}/revoke`, {}, ADMIN);
  assert.equal(revoked.status, 200);
  assert.equal((await revoked.json()).status, "revoked");
  assert.equal((await refusal(p.client.verify(bindingId))).code, "binding_revoked");
  const audit = await fetch(`${w.url}/v1/admin/bindings/${bindingId}/audit`, { headers: ADMIN });
  const events = (await audit.json()).events.map((e) => e.event);
  assert.deepEqual(events, ["bound", "verified", "revoked"]);
  const show = await (await fetch(`${w.url}/v1/admin/bindings/${bindingId}`, { headers: ADMIN })).json();
  assert.equal(show.status, "revoked");
  // The number is free again after a revoke, and the revoked binding learns it was replaced.
  await bindPhone(w, phone(w.url, { sim: s.simA }), s.number);
  assert.deepEqual((await w.audit(bindingId)).map((e) => e.event), ["bound", "verified", "revoked", "replaced"]);
});

test("a number bound again after its binding was unbound: the old binding's trail says replaced", async () => {
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, p, s.number);
  await p.client.unbind(bindingId);
  const { bindingId: next } = await bindPhone(w, phone(w.url, { sim: s.simA }), s.number);
  assert.notEqual(next, bindingId);
  assert.deepEqual((await w.audit(bindingId)).map((e) => e.event), ["bound", "unbound", "replaced"]);
  assert.deepEqual((await w.audit(next)).map((e) => e.event), ["bound"], "nothing on the new one");
});

test("unknown routes are 404 and wrong methods 405, as problem+json", async () => {
  const missing = await fetch(`${w.url}/v1/nope`);
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get("content-type"), "application/problem+json");
  const wrong = await fetch(`${w.url}/v1/registrations`);
  assert.equal(wrong.status, 405);
  assert.equal((await wrong.json()).code, "method_not_allowed");
  const unknownBinding = await w.post("/v1/bindings/bnd_AAAAAAAAAAAAAAAAAAAAAA/challenge", { ceremony: "verify" });
  assert.equal(unknownBinding.status, 404);
  assert.equal((await unknownBinding.json()).code, "binding_not_found");
});

test("CORS headers only for allow-listed origins", async () => {
  const allowed = await fetch(`${w.url}/v1/health`, { headers: { origin: "http://127.0.0.1:8787" } });
  assert.equal(allowed.headers.get("access-control-allow-origin"), "http://127.0.0.1:8787");
  const other = await fetch(`${w.url}/v1/health`, { headers: { origin: "https://evil.example" } });
  assert.equal(other.headers.get("access-control-allow-origin"), null);
  const preflight = await fetch(`${w.url}/v1/registrations`, { method: "OPTIONS", headers: { origin: "http://localhost:8787" } });
  assert.equal(preflight.status, 204);
  assert.match(preflight.headers.get("access-control-allow-methods"), /POST/);
  assert.match(preflight.headers.get("access-control-allow-headers"), /content-type/, "cross-origin JSON POSTs need it");
  const foreign = await fetch(`${w.url}/v1/registrations`, { method: "OPTIONS", headers: { origin: "https://evil.example" } });
  assert.equal(foreign.headers.get("access-control-allow-origin"), null);
  assert.equal(foreign.headers.get("access-control-allow-methods"), null);
  assert.equal(other.headers.get("vary"), "Origin", "caches must key on Origin");
});
