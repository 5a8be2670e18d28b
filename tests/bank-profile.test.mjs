// The product as a bank runs it: the configuration docs/SECURITY.md
// recommends, every feature on at once, and a whole life walked through it.
// Real chip formats only (android-key and apple-appattest, attested by the
// tests' root: dev mode), SIM_LEVEL device (iOS none), all three number
// proofs (a code, a text the phone sends, the carrier through Firebase PNV or
// the operator's CAMARA Number Verification),
// the carrier at bind, at verify and by push (a stand-in operator that checks
// every request against the CAMARA definitions), transaction binding, the
// attestation status list (fail closed), SMS budgets and countries, and a
// retiring grant key, rotated again mid-life, and security events pushed to
// the bank's backend (a stand-in receiver that checks every SET), which must
// hear every change of every binding exactly once, in order, across its own
// outages and the worker's restart. Every grant is checked as a
// backend does (tests/lib/grant.mjs: signature against the published JWKS,
// iss, aud, exp, sub, txn); every refusal by its code, with the stored state
// and the texts sent.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createECDH } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker } from "./lib/worker.mjs";
import { checkGrant, grantsChecked } from "./lib/grant.mjs";
import { networkSms, refusal, subscriber, until } from "./lib/phone.mjs";
import { attestedPhone, revokedList } from "./lib/attested-phone.mjs";
import { carrierBindings, clientKey, standInCarrier } from "./lib/carrier.mjs";
import { standInPnv } from "./lib/firebase-pnv.mjs";
import { cellular, standInOperator } from "./lib/nv-operator.mjs";
import { label, standInReceiver } from "./lib/ssf-receiver.mjs";

const API_ROOT = "https://carrier.example/camara";
const TOKEN_URL = "https://carrier.example/oauth/token";
const CLIENT_ID = "bank-simbind";
const STATUS_URL = "https://android.googleapis.com/attestation/status";
const VERIFY_EVERY = 2;
const ADMIN = { authorization: "Bearer dev-only-admin-token" };
const LONG_AGO = "2025-06-01T08:00:00Z";
const carrierKey = clientKey();

/** A grant key: its dev secret and its public JWK under `kid`. */
function grantKey(secret, kid) {
  const ecdh = createECDH("prime256v1");
  ecdh.setPrivateKey(Buffer.from(secret, "base64url"));
  const point = ecdh.getPublicKey();
  const jwk = { kty: "EC", crv: "P-256", x: point.subarray(1, 33).toString("base64url"), y: point.subarray(33).toString("base64url"), kid, alg: "ES256", use: "sig" };
  return { secret, kid, jwk };
}
const G1 = grantKey("dev-only-grant-signing-key-for-local-tests0", "bank-g1");
const G2 = grantKey("dev-only-grant-signing-key-for-local-tests8", "bank-g2");
const G3 = grantKey("dev-only-grant-signing-key-for-local-testsw", "bank-g3");

/** What docs/SECURITY.md recommends for a bank, signing with `signing` while `retiring` is still published. */
function bankProfile(signing, retiring) {
  return {
    CHIP_FORMATS: "android-key,apple-appattest",
    SIM_LEVEL: "device,apple-appattest=none",
    NUMBER_PROOF: "otp,device_sms,firebase_pnv,camara_nv",
    NV_OPENID_URL: `${operator.url}/.well-known/openid-configuration`,
    NV_API_ROOT: operator.url,
    NV_CLIENT_ID: "bank-nv",
    NV_PRIVATE_KEY: nvKey.scalar,
    FIREBASE_PNV_PROJECT_NUMBER: "123456789012",
    FIREBASE_PNV_PROJECT_ID: "simbind-bank",
    FIREBASE_PNV_JWKS_URL: `${pnv.url}/v1beta/jwks`,
    ...carrierBindings({ apiRoot: API_ROOT, tokenUrl: TOKEN_URL, clientId: CLIENT_ID, scalar: carrierKey.scalar, verifyEvery: VERIFY_EVERY, subscriptionSecs: 30 * 24 * 3600 }),
    CARRIER_ON_FAILURE_VERIFY: "closed",
    ATTESTATION_STATUS_URL: STATUS_URL,
    ATTESTATION_STATUS_FAIL_CLOSED: "true",
    SMS_COUNTRIES: "44",
    SMS_PER_HOUR: "200",
    SMS_PER_COUNTRY_PER_HOUR: "100",
    GRANT_SIGNING_KEY: signing.secret,
    GRANT_KEY_ID: signing.kid,
    GRANT_RETIRING_JWKS: JSON.stringify({ keys: [retiring.jwk] }),
    SSF_RECEIVERS: JSON.stringify([{ id: "bank", endpoint: backend.url, audience: "https://bank.example/ssf", authorization_secret: "SSF_AUTH_BANK" }]),
    SSF_AUTH_BANK: BACKEND_AUTH,
    SSF_RETRY_BASE_MS: "50",
    SSF_RETRY_MAX_MS: "1000",
    SSF_TIMEOUT_MS: "500",
  };
}

const state = mkdtempSync(join(tmpdir(), "simbind-bank-"));
// Firebase PNV's token issuer, as the bank's Firebase project sees it.
const pnv = await standInPnv();
// The operator's Number Verification (its authorization server and API).
const nvKey = clientKey();
const operator = await standInOperator({ clientId: "bank-nv", publicKey: nvKey.publicKey });
// The bank's backend, hearing security events (Shared Signals push).
const BACKEND_AUTH = "dev-only-bank-backend-ssf-token";
const backend = await standInReceiver({ transmitter: () => w.url, issuer: "https://simbind.dev.local", audience: "https://bank.example/ssf", authorization: BACKEND_AUTH });
let statusList = revokedList("5ca1ab1e"); // lists no certificate of the test chains
let w;
const carrier = standInCarrier({
  apiRoot: API_ROOT,
  tokenUrl: TOKEN_URL,
  clientId: CLIENT_ID,
  publicKey: carrierKey.publicKey,
  // The sink is the deployment's PUBLIC_URL: here, whichever worker is running.
  deliver: (sink, init) => fetch(w.url + new URL(sink).pathname, init),
});

/** Starts the bank's worker over the walk's storage and refreshes its status list, as its Cron Trigger does. */
async function startBank(signing, retiring) {
  const worker = await startWorker({
    bindings: bankProfile(signing, retiring),
    state,
    outboundService: async (request) => {
      if (request.url.startsWith(STATUS_URL)) return Response.json(statusList);
      if (request.url.startsWith(pnv.url)) return fetch(request.url);
      if (request.url.startsWith(backend.url)) {
        return fetch(request.url, { method: "POST", headers: Object.fromEntries(request.headers), body: await request.text(), redirect: "manual" });
      }
      if (request.url.startsWith(operator.url)) {
        const body = request.method === "GET" ? undefined : await request.text();
        return fetch(request.url, { method: request.method, headers: Object.fromEntries(request.headers), body });
      }
      return carrier.fetch(request);
    },
  });
  await (await worker.mf.getWorker()).scheduled({ cron: "*/15 * * * *" });
  return worker;
}

before(async () => {
  w = await startBank(G2, G1);
  // The callback the bank registered: under its PUBLIC_URL.
  operator.registerRedirect("https://simbind.test/v1/carrier/number-verification/callback");
});
after(async () => {
  await w?.dispose();
  await pnv.close();
  await operator.close();
  await backend.close();
  rmSync(state, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const texts = async (number, kind) => (await w.outbox(number)).filter((m) => kind === undefined || m.kind === kind);
const events = async (bindingId) => (await w.audit(bindingId)).map((e) => `${e.event}${e.code ? `:${e.code}` : ""}`);
const kidOf = (grant) => JSON.parse(Buffer.from(grant.split(".")[0], "base64url")).kid;
const b64 = (bytes) => Buffer.from(bytes).toString("base64url");

/** Three customers: Ana on an Android phone (code by SMS), Ben on an iPhone (his phone texts the token), Cai on Android (her carrier proves the number). */
const ana = { line: subscriber() };
const ben = { line: subscriber() };
const cai = { line: subscriber() };
const dee = { line: subscriber() };
for (const who of [ana, ben, cai, dee]) carrier.numbers.set(who.line.number, { simChange: LONG_AGO, deviceChange: LONG_AGO, swapped: false });
const payment = new Uint8Array(32).fill(0xa5); // SHA-256 of the payment Ana approves, say

/** Ana re-proves her number with a fresh code, signed by her bound chip. */
async function anaRebinds() {
  const { registrationId } = await ana.phone.client.startRegistration(ana.line.number, { proof: "otp" });
  return ana.phone.client.completeBinding(registrationId, await w.otp(ana.line.number));
}

test("bank profile: the deployment publishes what a backend checks, and refuses what the profile leaves out", async () => {
  const discovery = await (await fetch(`${w.url}/.well-known/simbind`)).json();
  assert.deepEqual(discovery.chip_formats, ["android-key", "apple-appattest"]);
  const jwks = await (await fetch(`${w.url}/.well-known/jwks.json`)).json();
  assert.deepEqual(jwks.keys.map((k) => k.kid), ["bank-g2", "bank-g1"], "the signing key, then the retiring one");
  // SMS go to the countries listed only, before anything is stored or sent.
  const abroad = await w.post("/v1/registrations", { phone_number: "+33612345678" });
  assert.equal(`${abroad.status} ${(await abroad.json()).code}`, "400 country_not_allowed");
});

test("bank profile: Ana registers by code, binds her Android chip and SIM; the carrier is asked and she is subscribed", async () => {
  ana.sim = { ...ana.line.simA };
  ana.phone = attestedPhone(w.url, { format: "android-key", sim: ana.sim });
  const { registrationId, proof } = await ana.phone.client.startRegistration(ana.line.number, { proof: "otp" });
  assert.equal(proof, "otp");
  assert.equal((await texts(ana.line.number, "otp")).length, 1, "one code texted");
  const bound = await ana.phone.client.completeBinding(registrationId, await w.otp(ana.line.number));
  assert.equal(`${bound.status} ${bound.rebound}`, "active false");
  ana.bindingId = bound.bindingId;
  const record = await w.bindingRecord(ana.bindingId);
  assert.equal(`${record.status} ${record.chip_format} ${record.counter}`, "active android-key 1");
  assert.deepEqual([record.carrier.known, record.carrier.sim_changed_at], [true, Date.parse(LONG_AGO) / 1000]);
  const asked = carrier.requests.filter((r) => r.body.includes(ana.line.number)).map((r) => r.kind);
  assert.deepEqual(asked.slice(0, 3), ["sim/retrieve-date", "sim/check", "device/retrieve-date"]);
  await until(() => carrier.subscribed(ana.line.number)[0], "Ana's SIM-swap subscription");
  assert.deepEqual(await events(ana.bindingId), ["bound", "carrier_subscribed"]);
  assert.deepEqual(carrier.problems, []);
});

test("bank profile: Ana opens the app (no transaction) and approves a payment (its hash in txn); each grant checked by a backend", async () => {
  const checked = grantsChecked.count;
  const opened = await ana.phone.client.verify(ana.bindingId);
  const openedClaims = await checkGrant(w.url, opened.grant, { sub: ana.bindingId, txn: null });
  assert.equal(kidOf(opened.grant), "bank-g2");
  const paid = await ana.phone.client.verify(ana.bindingId, payment);
  const paidClaims = await checkGrant(w.url, paid.grant, { sub: ana.bindingId, txn: b64(payment) });
  assert.equal(grantsChecked.count, checked + 2, "the suite's fetch checked both on their way in");
  assert.ok(paidClaims.ctr > openedClaims.ctr);
  ana.paymentGrant = paid.grant;
  const record = await w.bindingRecord(ana.bindingId);
  assert.equal(`${record.status} ${record.consecutive_failures}`, "active 0");
  assert.deepEqual((await events(ana.bindingId)).slice(-2), ["verified", "verified"]);
});

test("bank profile: a stranger who knows Ana's binding id (a grant's sub) floods it from 10 addresses; she still verifies every time", async () => {
  const stranger = attestedPhone(w.url, { format: "android-key", sim: ana.line.simA });
  const flood = Promise.all(Array.from({ length: 10 }, async (_, a) => {
    const out = [];
    for (let i = 0; i < 6; i++) {
      const headers = { "cf-connecting-ip": `203.0.113.${a + 1}` };
      const asked = await w.post(`/v1/bindings/${ana.bindingId}/challenge`, { ceremony: "verify" }, headers);
      const body = { challenge: (await asked.json()).challenge, chip: { format: "android-key", key_id: stranger.bridge.chipInfo().keyId }, sim: {}, counter: 1, chip_signature: Buffer.alloc(64, 1).toString("base64url") };
      out.push((await w.post(`/v1/bindings/${ana.bindingId}/verify`, body, headers)).status);
    }
    return out;
  }));
  const grants = [];
  for (let i = 0; i < 5; i++) grants.push((await ana.phone.client.verify(ana.bindingId)).grant);
  const answers = (await flood).flat();
  assert.ok(answers.every((s) => s >= 400 && s < 500), "every stranger's request refused");
  assert.ok(answers.filter((s) => s === 429).length >= 30 - 5, "past the object's cap: refused with nothing written");
  for (const grant of grants) await checkGrant(w.url, grant, { sub: ana.bindingId, txn: null });
  const record = await w.bindingRecord(ana.bindingId);
  assert.equal(`${record.status} ${record.consecutive_failures}`, "active 0");
});

test("bank profile: Ben registers by a text his iPhone sends, binds his App Attest key; no code is ever texted to him", async () => {
  ben.phone = attestedPhone(w.url, { format: "apple-appattest", sim: ben.line.simA, sendNumberProof: networkSms(w.url, ben.line.number) });
  const registration = await ben.phone.client.startRegistration(ben.line.number, { proof: "device_sms" });
  assert.equal(registration.proof, "device_sms");
  await ben.phone.client.sendNumberProof(registration);
  // Someone who read Ben's registration id in a log, with an attested iPhone of their own: refused.
  const snooper = attestedPhone(w.url, { format: "apple-appattest", sim: ben.line.simA });
  const snooped = await refusal(snooper.client.completeBinding(registration.registrationId, undefined, { waitMs: 0 }));
  assert.equal(`${snooped.status} ${snooped.code}`, "401 bind_secret_invalid");
  // A page script cannot have his phone text anything else.
  assert.equal((await refusal(ben.phone.client.sendNumberProof({ ...registration }))).code, "invalid_argument");
  const bound = await ben.phone.client.completeBinding(registration);
  assert.equal(bound.status, "active");
  ben.bindingId = bound.bindingId;
  assert.equal((await texts(ben.line.number, "otp")).length, 0);
  assert.equal((await texts(ben.line.number, "sent")).length, 1, "the one SMS his phone sent");
  const record = await w.bindingRecord(ben.bindingId);
  assert.equal(`${record.status} ${record.chip_format}`, "active apple-appattest");
  const { grant } = await ben.phone.client.verify(ben.bindingId, payment);
  await checkGrant(w.url, grant, { sub: ben.bindingId, txn: b64(payment) });
  await until(() => carrier.subscribed(ben.line.number)[0], "Ben's SIM-swap subscription");
});

test("bank profile: Cai's carrier proves her number through Firebase PNV: no SMS; her grant says so, and a backend demanding it refuses Ana's", async () => {
  const nonces = [];
  cai.phone = attestedPhone(w.url, {
    format: "android-key",
    sim: cai.line.simA,
    firebasePnvToken: (nonce) => {
      nonces.push(nonce);
      return pnv.mint({ sub: cai.line.number, nonce });
    },
  });
  const registration = await cai.phone.client.startRegistration(cai.line.number, { proof: "firebase_pnv" });
  const bound = await cai.phone.client.completeBinding(registration);
  assert.equal(`${bound.status} ${bound.rebound}`, "active false");
  cai.bindingId = bound.bindingId;
  assert.deepEqual(await texts(cai.line.number), [], "no SMS either way");
  const token = cai.phone.exchanges.at(-1).request.firebase_pnv_token;
  // The carrier was asked at bind too, and the attestation checked, as for every bind.
  const asked = carrier.requests.filter((r) => r.body.includes(cai.line.number)).map((r) => r.kind);
  assert.deepEqual(asked.slice(0, 3), ["sim/retrieve-date", "sim/check", "device/retrieve-date"]);
  const record = await w.bindingRecord(cai.bindingId);
  assert.equal(`${record.chip_format} ${record.number_proof}`, "android-key firebase_pnv");
  assert.deepEqual((await w.audit(cai.bindingId)).filter((e) => e.event === "bound").map((e) => e.proof), ["firebase_pnv"]);
  const { grant } = await cai.phone.client.verify(cai.bindingId, payment);
  await checkGrant(w.url, grant, { sub: cai.bindingId, txn: b64(payment), numberProof: "firebase_pnv" });
  // A high-value action: the backend demands a carrier-proven number.
  const anas = (await ana.phone.client.verify(ana.bindingId, payment)).grant;
  await assert.rejects(checkGrant(w.url, anas, { txn: b64(payment), numberProof: "firebase_pnv" }), /number_proof otp is not firebase_pnv/);
  // Her token, captured, binds nothing else: not another phone's bind of her number.
  const thief = attestedPhone(w.url, { format: "android-key", sim: cai.line.simA, firebasePnvToken: () => token });
  const stolen = await thief.client.startRegistration(cai.line.number, { proof: "firebase_pnv" });
  const refused = await refusal(thief.client.completeBinding(stolen));
  assert.equal(`${refused.status} ${refused.code}`, "401 pnv_token_replayed");
  assert.equal((await w.bindingRecord(cai.bindingId)).status, "active");
  await until(() => carrier.subscribed(cai.line.number)[0], "Cai's SIM-swap subscription");
  assert.deepEqual(carrier.problems, []);
});

test("bank profile: Dee's iPhone: her operator proves the number over mobile data (CAMARA Number Verification); the grant says camara_nv", async () => {
  dee.phone = attestedPhone(w.url, { format: "apple-appattest", sim: dee.line.simA, openOverCellular: cellular(dee.line.number, { publicUrl: "https://simbind.test", origin: () => w.url }) });
  const registration = await dee.phone.client.startRegistration(dee.line.number, { proof: "camara_nv" });
  const bound = await dee.phone.client.completeBinding(registration);
  assert.equal(`${bound.status} ${bound.rebound}`, "active false");
  dee.bindingId = bound.bindingId;
  assert.deepEqual(await texts(dee.line.number), [], "no SMS either way");
  const record = await w.bindingRecord(dee.bindingId);
  assert.equal(`${record.chip_format} ${record.number_proof}`, "apple-appattest camara_nv");
  const { grant } = await dee.phone.client.verify(dee.bindingId, payment);
  await checkGrant(w.url, grant, { sub: dee.bindingId, txn: b64(payment), numberProof: "camara_nv" });
  await until(() => carrier.subscribed(dee.line.number)[0], "Dee's SIM-swap subscription");
  assert.deepEqual(operator.problems, []);
  assert.deepEqual(carrier.problems, []);
});

test("bank profile: Ana's SIM changes in her phone: refused sim_changed and texted; her chip re-binds the new SIM with a fresh code", async () => {
  backend.script("500", "503", "timeout"); // the bank's backend is having a bad minute
  Object.assign(ana.sim, ana.line.simB);
  const e = await refusal(ana.phone.client.verify(ana.bindingId));
  assert.equal(`${e.status} ${e.code}`, "403 sim_changed");
  const record = await w.bindingRecord(ana.bindingId);
  assert.equal(`${record.status} ${record.consecutive_failures}`, "active 1");
  assert.equal((await texts(ana.line.number, "alert")).length, 1, "Ana was texted");
  const rebound = await anaRebinds();
  assert.equal(`${rebound.status} ${rebound.rebound} ${rebound.bindingId}`, `active true ${ana.bindingId}`);
  const after = await w.bindingRecord(ana.bindingId);
  assert.equal(`${after.status} ${after.consecutive_failures}`, "active 0");
  assert.equal((await texts(ana.line.number, "alert")).length, 2, "and told of the re-bind");
  await ana.phone.client.verify(ana.bindingId);
  assert.ok((await events(ana.bindingId)).includes("rebound"));
});

test("bank profile: the carrier reports Ana's SIM swapped at verify: suspended at once, refused until she re-binds once the carrier's window has passed", async () => {
  const line = carrier.numbers.get(ana.line.number);
  line.simChange = new Date().toISOString();
  line.swapped = true;
  await sleep(VERIFY_EVERY * 1000 + 100); // the next verification is due to ask
  const alerts = (await texts(ana.line.number, "alert")).length;
  const e = await refusal(ana.phone.client.verify(ana.bindingId, payment));
  assert.equal(`${e.status} ${e.code}`, "403 carrier_sim_swapped");
  const record = await w.bindingRecord(ana.bindingId);
  assert.equal(record.status, "suspended", "at once");
  assert.ok((await events(ana.bindingId)).includes("suspended:carrier_sim_swapped"));
  assert.equal((await texts(ana.line.number, "alert")).length, alerts + 1, "Ana was texted");
  // Retrying (the fraudster's move) gets no grant, whoever asks the carrier.
  for (let i = 0; i < 2; i++) assert.equal((await refusal(ana.phone.client.verify(ana.bindingId, payment))).code, "binding_suspended");
  // A re-bind while the carrier still reports the swap within its window is refused.
  assert.equal((await refusal(anaRebinds())).code, "carrier_sim_swapped");
  assert.equal((await w.bindingRecord(ana.bindingId)).status, "suspended");
  // Once the carrier no longer reports it (the window passed), her chip re-binds.
  line.swapped = false;
  const rebound = await anaRebinds();
  assert.equal(`${rebound.status} ${rebound.rebound}`, "active true");
  const after = await w.bindingRecord(ana.bindingId);
  assert.equal(after.carrier.sim_changed_at, Math.floor(Date.parse(line.simChange) / 1000), "the new baseline");
  await ana.phone.client.verify(ana.bindingId);
  assert.deepEqual(carrier.problems, []);
});

test("bank profile: the carrier pushes a swap of Ben's SIM: suspended at once and texted; an operator who checked with Ben reinstates it", async () => {
  backend.down = true; // down until after the worker's restart below
  const [status] = await carrier.swap(ben.line.number);
  assert.equal(status, 204);
  const record = await w.bindingRecord(ben.bindingId);
  assert.equal(record.status, "suspended");
  assert.ok((await events(ben.bindingId)).includes("suspended:carrier_sim_swapped"));
  assert.equal((await texts(ben.line.number, "alert")).length, 1);
  assert.equal((await refusal(ben.phone.client.verify(ben.bindingId))).code, "binding_suspended");
  const lifted = await w.post(`/v1/admin/bindings/${ben.bindingId}/reinstate`, {}, ADMIN);
  assert.equal(`${lifted.status} ${(await lifted.json()).status}`, "200 active");
  assert.ok((await events(ben.bindingId)).includes("reinstated:operator"));
  const { grant } = await ben.phone.client.verify(ben.bindingId);
  await checkGrant(w.url, grant, { sub: ben.bindingId, txn: null });
  assert.deepEqual(carrier.problems, []);
});

test("bank profile: the grant key rotates mid-life: grants signed before still verify (retiring key), new ones use the new key", async () => {
  await w.dispose();
  w = await startBank(G3, G2);
  backend.down = false;
  for (const who of [ana, ben]) who.phone.reconnect(w.url);
  const jwks = await (await fetch(`${w.url}/.well-known/jwks.json`)).json();
  assert.deepEqual(jwks.keys.map((k) => k.kid), ["bank-g3", "bank-g2"]);
  await checkGrant(w.url, ana.paymentGrant, { sub: ana.bindingId, txn: b64(payment) });
  const { grant } = await ana.phone.client.verify(ana.bindingId);
  assert.equal(kidOf(grant), "bank-g3");
  await checkGrant(w.url, grant, { sub: ana.bindingId, txn: null });
  // The bindings, the carrier and its subscriptions carried over the restart.
  await sleep(VERIFY_EVERY * 1000 + 100);
  await ben.phone.client.verify(ben.bindingId);
  assert.deepEqual(carrier.problems, [], "client assertions from the new isolate verify too");
});

test("bank profile: Ben unbinds (subscription deleted), an operator revokes Ana; both final", async () => {
  const unbound = await ben.phone.client.unbind(ben.bindingId);
  assert.equal(unbound.status, "revoked");
  assert.equal((await refusal(ben.phone.client.verify(ben.bindingId))).code, "binding_revoked");
  await until(() => carrier.subscribed(ben.line.number).length === 0, "Ben's subscription deleted");
  const revokedAna = await w.post(`/v1/admin/bindings/${ana.bindingId}/revoke`, {}, ADMIN);
  assert.equal((await revokedAna.json()).status, "revoked");
  assert.equal((await refusal(ana.phone.client.verify(ana.bindingId))).code, "binding_revoked");
  const reinstated = await w.post(`/v1/admin/bindings/${ana.bindingId}/reinstate`, {}, ADMIN);
  assert.equal(`${reinstated.status} ${(await reinstated.json()).code}`, "403 binding_revoked");
  assert.deepEqual((await events(ben.bindingId)).filter((e) => e === "unbound"), ["unbound"]);
  assert.ok((await events(ana.bindingId)).includes("revoked:operator"));
});

test("bank profile: the status list revokes the test chains' intermediate: a new Android bind is refused", async () => {
  statusList = revokedList("7e57");
  await (await w.mf.getWorker()).scheduled({ cron: "*/15 * * * *" });
  const line = subscriber();
  carrier.numbers.set(line.number, { simChange: LONG_AGO, deviceChange: null, swapped: false });
  const p = attestedPhone(w.url, { format: "android-key", sim: line.simA });
  const { registrationId } = await p.client.startRegistration(line.number, { proof: "otp" });
  const e = await refusal(p.client.completeBinding(registrationId, await w.otp(line.number)));
  assert.equal(`${e.status} ${e.code}`, "403 attestation_revoked");
});

test("bank profile: a thief with Dee's number in another phone proves it by code and tries to bind it: refused, and the bank hears it", async () => {
  const thief = attestedPhone(w.url, { format: "apple-appattest", sim: dee.line.simB });
  const { registrationId } = await thief.client.startRegistration(dee.line.number, { proof: "otp" });
  const e = await refusal(thief.client.completeBinding(registrationId, await w.otp(dee.line.number)));
  assert.equal(`${e.status} ${e.code}`, "409 binding_exists");
  await until(async () => (await w.audit(dee.bindingId)).some((a) => a.event === "denied" && a.ceremony === "bind"), "the takeover noted on Dee's binding");
});

test("bank profile: the bank's backend heard every change of every binding, exactly once, in the order stored, across its outages and the restart", async () => {
  const expected = {
    ana: ["credential-change:create", "credential-change:update", "risk-level-change:HIGH:carrier_sim_swapped", "credential-change:update", "credential-change:revoke"],
    ben: ["credential-change:create", "risk-level-change:HIGH:carrier_sim_swapped", "risk-level-change:LOW:reinstated", "credential-change:delete"],
    cai: ["credential-change:create"],
    dee: ["credential-change:create", "takeover-refused:binding_exists"],
  };
  const who = { ana, ben, cai, dee };
  for (const [name, list] of Object.entries(expected)) {
    const id = who[name].bindingId;
    await until(() => backend.about(id).length >= list.length, `${name}'s events`, 20_000);
    assert.deepEqual(backend.about(id), list, name);
    // The same changes the binding's own trail stored, in its order.
    const trail = (await w.audit(id)).flatMap((a) => ({
      bound: ["credential-change:create"],
      rebound: ["credential-change:update"],
      suspended: [`risk-level-change:HIGH:${a.code}`],
      reinstated: ["risk-level-change:LOW:reinstated"],
      unbound: ["credential-change:delete"],
      revoked: ["credential-change:revoke"],
      denied: a.ceremony === "bind" ? [`takeover-refused:${a.code}`] : [],
    }[a.event] ?? []));
    assert.deepEqual(trail, list, `${name}'s trail`);
  }
  const proofs = backend.events.filter((e) => e.event.change_type === "create").map((e) => e.event.reason_admin.en);
  assert.deepEqual(proofs, ["bound, number proven by otp", "bound, number proven by device_sms", "bound, number proven by firebase_pnv", "bound, number proven by camara_nv"]);
  const failed = backend.pushes.filter((p) => p.status !== 202).map((p) => p.status);
  assert.ok(failed.includes(500) && failed.includes("timeout") && failed.includes(503), `the outages happened: ${failed}`);
  assert.deepEqual(backend.problems, [], "every SET passed the receiver's checks");
  assert.equal(backend.duplicates, 0, "and none was accepted twice");
  assert.equal(backend.events.map(label).length, Object.values(expected).flat().length, "nothing else was sent");
});
