// The carrier's SIM-swap signals in workerd: the worker authenticates to a
// stand-in CAMARA carrier (tests/lib/carrier.mjs, which checks every request
// against the official definitions) with a private_key_jwt client
// assertion, asks SIM Swap and Device Swap at bind and, by policy, at verify,
// and does what the policy says when the carrier does not answer.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, wranglerVars } from "./lib/worker.mjs";
import { checkGrant } from "./lib/grant.mjs";
import { bindPhone, phone, refusal, signedEvidence, subscriber } from "./lib/phone.mjs";
import { carrierBindings, clientKey, standInCarrier } from "./lib/carrier.mjs";

const API_ROOT = "https://carrier.example/camara";
const TOKEN_URL = "https://carrier.example/oauth/token";
const CLIENT_ID = "simbind-test-client";
const key = clientKey();
const LONG_AGO = "2025-06-01T08:00:00Z";

/** A worker with its own stand-in carrier; `bindings` add to the carrier's. */
async function withCarrier(bindings = {}, { verifyEvery } = {}) {
  const carrier = standInCarrier({ apiRoot: API_ROOT, tokenUrl: TOKEN_URL, clientId: CLIENT_ID, publicKey: key.publicKey });
  const w = await startWorker({
    bindings: { ...carrierBindings({ apiRoot: API_ROOT, tokenUrl: TOKEN_URL, clientId: CLIENT_ID, scalar: key.scalar, verifyEvery }), ...bindings },
    outboundService: (request) => carrier.fetch(request),
  });
  return { w, carrier };
}

/** A subscriber the carrier knows, with a SIM activated long ago. */
function known(carrier, line = {}) {
  const s = subscriber();
  carrier.numbers.set(s.number, { simChange: LONG_AGO, deviceChange: LONG_AGO, swapped: false, ...line });
  return s;
}

/** How many times the carrier was asked `retrieve-date` for `number`. */
const retrieveDates = (carrier, number) => carrier.requests.filter((r) => r.kind === "sim/retrieve-date" && r.body.includes(number)).length;

let plain; // a worker that asks the carrier at bind only
before(async () => { plain = await withCarrier(); });
after(() => plain.w.dispose());

test("a bind asks the carrier, authenticated by a client assertion the token endpoint accepts, and keeps the dates as its baseline", async () => {
  const { w, carrier } = plain;
  const s = known(carrier);
  const p = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, p, s.number);
  assert.deepEqual(carrier.problems, [], "every request matched the CAMARA definitions");
  const kinds = carrier.requests.filter((r) => r.body.includes(s.number)).map((r) => r.kind);
  assert.deepEqual(kinds, ["sim/retrieve-date", "sim/check", "device/retrieve-date"]);
  const { header, claims } = carrier.assertions.at(-1);
  assert.equal(header.alg, "ES256");
  assert.equal(claims.iss, CLIENT_ID);
  assert.equal(claims.sub, CLIENT_ID);
  assert.equal(claims.aud, TOKEN_URL);
  assert.ok(claims.exp - claims.iat <= 300 && claims.exp > claims.iat);
  assert.match(claims.jti, /^[A-Za-z0-9_-]{22}$/);
  const check = carrier.requests.find((r) => r.kind === "sim/check" && r.body.includes(s.number));
  assert.deepEqual(JSON.parse(check.body), { phoneNumber: s.number, maxAge: 240 });
  assert.match(check.headers["x-correlator"], /^[A-Za-z0-9_-]{16}$/);
  const record = await w.bindingRecord(bindingId);
  assert.deepEqual(record.carrier, { sim_changed_at: Date.parse(LONG_AGO) / 1000, device_changed_at: Date.parse(LONG_AGO) / 1000, known: true, checked_at: record.carrier.checked_at });
  // The token is cached: a second bind asks for none.
  const issued = carrier.tokensIssued;
  const t = known(carrier);
  await bindPhone(w, phone(w.url, { sim: t.simA }), t.number);
  assert.equal(carrier.tokensIssued, issued);
});

test("a SIM swapped within maxAge refuses the bind: carrier_sim_swapped", async () => {
  const { w, carrier } = plain;
  const s = known(carrier, { simChange: new Date().toISOString(), swapped: true });
  const e = await refusal(bindPhone(w, phone(w.url, { sim: s.simA }), s.number));
  assert.equal(`${e.status} ${e.code}`, "403 carrier_sim_swapped");
  // A recent first activation is not a swap: `check` says so, and the bind goes ahead.
  const t = known(carrier, { simChange: new Date().toISOString(), swapped: false });
  const bound = await bindPhone(w, phone(w.url, { sim: t.simA }), t.number);
  assert.equal(bound.status, "active");
  assert.deepEqual(carrier.problems, []);
});

test("without an answer a bind fails closed by default: timeout, 404, 422, 429 and an outage are each carrier_unavailable", async () => {
  const { w, carrier } = plain;
  for (const fail of ["timeout", 404, 422, 429, 500]) {
    const s = known(carrier);
    carrier.fail = fail;
    try {
      const e = await refusal(bindPhone(w, phone(w.url, { sim: s.simA }), s.number));
      assert.equal(`${e.status} ${e.code}`, "503 carrier_unavailable", String(fail));
    } finally {
      carrier.fail = null;
    }
  }
  assert.deepEqual(carrier.problems, []);
});

test("a carrier answer is read with a size cap and under the deadline: 20 MB or a trickling body is carrier_unavailable, and the next bind succeeds (F9)", async () => {
  const { w, carrier } = plain;
  for (const fail of ["huge", "trickle"]) {
    const s = known(carrier);
    carrier.fail = fail;
    const started = Date.now();
    try {
      const e = await refusal(bindPhone(w, phone(w.url, { sim: s.simA }), s.number));
      assert.equal(`${e.status} ${e.code}`, "503 carrier_unavailable", fail);
    } finally {
      carrier.fail = null;
    }
    // CARRIER_TIMEOUT_MS is 500: one call, one deadline (not a second per byte).
    assert.ok(Date.now() - started < 4000, `${fail}: answered in ${Date.now() - started} ms`);
    const next = known(carrier);
    const { status } = await bindPhone(w, phone(w.url, { sim: next.simA }), next.number);
    assert.equal(status, "active", `${fail}: the number's object still serves`);
  }
  assert.deepEqual(carrier.problems, []);
});

test("a revoked token is asked for again, once", async () => {
  const { w, carrier } = plain;
  carrier.tokens.clear(); // the operator forgot every token it issued
  const issued = carrier.tokensIssued;
  const s = known(carrier);
  await bindPhone(w, phone(w.url, { sim: s.simA }), s.number);
  assert.equal(carrier.tokensIssued, issued + 1);
  assert.deepEqual(carrier.problems, []);
});

test("open at bind goes ahead without the carrier, and the first answer at verify becomes the baseline", async () => {
  const { w, carrier } = await withCarrier({ CARRIER_ON_FAILURE_BIND: "open" }, { verifyEvery: 0 });
  try {
    const s = known(carrier);
    carrier.fail = 500;
    const p = phone(w.url, { sim: s.simA });
    const { bindingId } = await bindPhone(w, p, s.number);
    carrier.fail = null;
    assert.equal((await w.bindingRecord(bindingId)).carrier.known, false);
    await p.client.verify(bindingId);
    assert.equal((await w.bindingRecord(bindingId)).carrier.known, true);
  } finally {
    await w.dispose();
  }
});

test("at verify, a SIM or device change after the baseline is refused, texted and suspends at once; no answer is open by default and audited", async () => {
  const { w, carrier } = await withCarrier({}, { verifyEvery: 0 });
  try {
    const s = known(carrier);
    const p = phone(w.url, { sim: s.simA });
    const { bindingId } = await bindPhone(w, p, s.number);
    await p.client.verify(bindingId);
    // No answer: the verification goes ahead, and the trail says why the carrier was silent.
    carrier.fail = 429;
    await p.client.verify(bindingId);
    carrier.fail = null;
    const trail = await w.audit(bindingId);
    assert.ok(trail.some((e) => e.event === "carrier_unanswered" && e.code === "carrier_rate_limited"), JSON.stringify(trail));
    // The carrier now reports a SIM swap after the bind: the first refusal suspends, like the push.
    carrier.numbers.get(s.number).simChange = new Date(Date.now() + 1000).toISOString();
    carrier.numbers.get(s.number).swapped = true;
    assert.equal(`${(await refusal(p.client.verify(bindingId))).code}`, "carrier_sim_swapped");
    const record = await w.bindingRecord(bindingId);
    assert.equal(record.status, "suspended", "a carrier swap suspends at once");
    assert.equal(record.consecutive_failures, 1);
    const events = (await w.audit(bindingId)).map((e) => `${e.event}:${e.code ?? ""}`);
    assert.ok(events.includes("suspended:carrier_sim_swapped"), events.join(" "));
    const alerts = (await w.outbox(s.number)).filter((m) => m.kind === "alert");
    assert.equal(alerts.length, 1, "the owner was texted once");
    // Every later verification is refused, whoever asks the carrier.
    for (let i = 0; i < 2; i++) assert.equal((await refusal(p.client.verify(bindingId))).code, "binding_suspended");
    // The way out: a re-bind, refused while the carrier reports the swap within its window ...
    assert.equal((await refusal(bindPhone(w, p, s.number))).code, "carrier_sim_swapped");
    assert.equal((await w.bindingRecord(bindingId)).status, "suspended");
    // ... and accepted with the bound chip once it no longer does: a new baseline.
    carrier.numbers.get(s.number).simChange = new Date(Date.now() - 30 * 24 * 3600e3).toISOString();
    carrier.numbers.get(s.number).swapped = false;
    const rebound = await bindPhone(w, p, s.number);
    assert.equal(rebound.bindingId, bindingId, "the same binding, active again");
    await p.client.verify(bindingId);
    // A device change after the baseline suspends the same way.
    carrier.numbers.get(s.number).deviceChange = new Date(Date.now() + 1000).toISOString();
    assert.equal((await refusal(p.client.verify(bindingId))).code, "carrier_device_swapped");
    assert.equal((await refusal(p.client.verify(bindingId))).code, "binding_suspended");
    assert.deepEqual(carrier.problems, []);
  } finally {
    await w.dispose();
  }
});

test("a carrier swap at verify holds on every verification, asked or not: no grant until the owner re-binds", async () => {
  // F2 of the 2026-12 review: the check is due once per interval, and the
  // verification right after a refusal used to ask nobody and get a grant.
  const { w, carrier } = await withCarrier({}, { verifyEvery: 2 });
  try {
    const s = known(carrier);
    const p = phone(w.url, { sim: s.simA });
    const { bindingId } = await bindPhone(w, p, s.number);
    carrier.numbers.get(s.number).simChange = new Date(Date.now() + 1000).toISOString();
    await new Promise((r) => setTimeout(r, 2100)); // the next verification is due to ask
    const payment = new Uint8Array(32).fill(7);
    assert.equal((await refusal(p.client.verify(bindingId, payment))).code, "carrier_sim_swapped");
    for (let i = 0; i < 3; i++) assert.equal((await refusal(p.client.verify(bindingId, payment))).code, "binding_suspended");
    assert.equal((await w.bindingRecord(bindingId)).status, "suspended");
  } finally {
    await w.dispose();
  }
});

test("fail-closed verify stays closed while the carrier is silent, asking again each time", async () => {
  const { w, carrier } = await withCarrier({ CARRIER_ON_FAILURE_VERIFY: "closed" }, { verifyEvery: 2 });
  try {
    const s = known(carrier);
    const p = phone(w.url, { sim: s.simA });
    const { bindingId } = await bindPhone(w, p, s.number);
    const asked = () => retrieveDates(carrier, s.number);
    await new Promise((r) => setTimeout(r, 2100));
    carrier.fail = 500;
    for (let i = 1; i <= 3; i++) {
      const e = await refusal(p.client.verify(bindingId));
      assert.equal(`${e.status} ${e.code}`, "503 carrier_unavailable", `attempt ${i}`);
    }
    assert.equal(asked(), 4, "the bind, then each verification asked again");
    const record = await w.bindingRecord(bindingId);
    assert.equal(`${record.status} ${record.consecutive_failures}`, "active 0", "not the owner's doing");
    carrier.fail = null;
    await p.client.verify(bindingId);
    assert.equal(asked(), 5);
    await p.client.verify(bindingId);
    assert.equal(asked(), 5, "answered: not asked again within the interval");
  } finally {
    await w.dispose();
  }
});

test("an operator reinstates a binding the carrier suspended, audited; swaps reported after it suspend again", async () => {
  const { w, carrier } = await withCarrier({}, { verifyEvery: 0 });
  const ADMIN = { authorization: "Bearer dev-only-admin-token" };
  try {
    const s = known(carrier);
    const p = phone(w.url, { sim: s.simA });
    const { bindingId } = await bindPhone(w, p, s.number);
    const reinstate = (headers) => w.post(`/v1/admin/bindings/${bindingId}/reinstate`, {}, headers);
    // Active: nothing to lift, nothing changes.
    const idle = await reinstate(ADMIN);
    assert.equal(idle.status, 200);
    assert.equal((await idle.json()).status, "active");
    carrier.numbers.get(s.number).simChange = new Date(Date.now() - 2000).toISOString(); // after the bind's baseline
    assert.equal((await refusal(p.client.verify(bindingId))).code, "carrier_sim_swapped");
    assert.equal((await reinstate({ authorization: "Bearer wrong" })).status, 401);
    assert.equal((await w.bindingRecord(bindingId)).status, "suspended", "not without the admin token");
    const lifted = await reinstate(ADMIN);
    assert.equal(lifted.status, 200);
    const summary = await lifted.json();
    assert.equal(`${summary.status} ${summary.consecutive_failures}`, "active 0");
    const events = (await w.audit(bindingId)).map((e) => `${e.event}:${e.code ?? ""}`);
    assert.equal(events.filter((e) => e === "reinstated:operator").length, 1, events.join(" "));
    // The swap the operator checked passes; a later one suspends again.
    await p.client.verify(bindingId);
    carrier.numbers.get(s.number).simChange = new Date(Date.now() + 2000).toISOString();
    assert.equal((await refusal(p.client.verify(bindingId))).code, "carrier_sim_swapped");
    // A revoked binding stays revoked.
    await w.post(`/v1/admin/bindings/${bindingId}/revoke`, {}, ADMIN);
    const refused = await reinstate(ADMIN);
    assert.equal(`${refused.status} ${(await refused.json()).code}`, "403 binding_revoked");
    assert.deepEqual(carrier.problems, []);
  } finally {
    await w.dispose();
  }
});

test("grants and client assertions each carry their own key in one isolate, whichever is signed first", async () => {
  // F1 of the 2026-12 review: one cached WebCrypto key signed both.
  const state = mkdtempSync(join(tmpdir(), "simbind-f1-"));
  const carrier = standInCarrier({ apiRoot: API_ROOT, tokenUrl: TOKEN_URL, clientId: CLIENT_ID, publicKey: key.publicKey });
  const start = () =>
    startWorker({
      bindings: carrierBindings({ apiRoot: API_ROOT, tokenUrl: TOKEN_URL, clientId: CLIENT_ID, scalar: key.scalar }),
      outboundService: (request) => carrier.fetch(request),
      state,
    });
  const s = known(carrier);
  let bound;
  let w = await start();
  try {
    // A client assertion first (the bind), then a grant: the suite's fetch
    // checks it against the published JWKS, and so does this test.
    bound = phone(w.url, { sim: s.simA });
    const { bindingId } = await bindPhone(w, bound, s.number);
    bound.bindingId = bindingId;
    const { grant } = await bound.client.verify(bindingId);
    assert.equal((await checkGrant(w.url, grant, { sub: bindingId, txn: null })).sub, bindingId);
  } finally {
    await w.dispose();
  }
  w = await start();
  try {
    // A new isolate over the same objects: a grant first (signed by hand
    // with the bound chip), then a client assertion.
    const { bindingId, device } = bound;
    const challenge = await (await w.post(`/v1/bindings/${bindingId}/challenge`, { ceremony: "verify" })).json();
    const verified = await w.post(`/v1/bindings/${bindingId}/verify`, await signedEvidence(device, challenge, "verify", bindingId));
    assert.equal(verified.status, 200);
    await checkGrant(w.url, (await verified.json()).grant, { sub: bindingId, txn: null });
    const t = known(carrier);
    const before = carrier.assertions.length;
    const second = await bindPhone(w, phone(w.url, { sim: t.simA }), t.number);
    assert.equal(second.status, "active");
    assert.ok(carrier.assertions.length > before, "a new isolate asked for a token");
    assert.deepEqual(carrier.problems, [], "every client assertion verified under the carrier key");
  } finally {
    await w.dispose();
    rmSync(state, { recursive: true, force: true });
  }
});

test("verify asks the carrier at most once per interval; fail-closed verify refuses without counting", async () => {
  const { w, carrier } = await withCarrier({ CARRIER_ON_FAILURE_VERIFY: "closed" }, { verifyEvery: 3600 });
  try {
    const s = known(carrier);
    const p = phone(w.url, { sim: s.simA });
    const { bindingId } = await bindPhone(w, p, s.number);
    const asked = () => retrieveDates(carrier, s.number);
    assert.equal(asked(), 1, "at bind");
    for (let i = 0; i < 3; i++) await p.client.verify(bindingId);
    assert.equal(asked(), 1, "the bind's answer is fresh for an hour");
  } finally {
    await w.dispose();
  }
  const closed = await withCarrier({ CARRIER_ON_FAILURE_VERIFY: "closed" }, { verifyEvery: 0 });
  try {
    const { w, carrier } = closed;
    const s = known(carrier);
    const p = phone(w.url, { sim: s.simA });
    const { bindingId } = await bindPhone(w, p, s.number);
    carrier.fail = "timeout";
    const e = await refusal(p.client.verify(bindingId));
    assert.equal(`${e.status} ${e.code}`, "503 carrier_unavailable");
    carrier.fail = null;
    const record = await w.bindingRecord(bindingId);
    assert.equal(record.consecutive_failures, 0, "not the owner's doing: not counted");
    assert.equal((await w.outbox(s.number)).filter((m) => m.kind === "alert").length, 0);
    await p.client.verify(bindingId);
  } finally {
    await closed.w.dispose();
  }
});

test("carrier settings are checked at start: a token endpoint, a P-256 key, open or closed (dev allows a plain-http carrier)", async () => {
  for (const [bindings, why] of [
    [{ CARRIER_API_ROOT: "http://carrier.example/camara" }, "plain-http API root"],
    [{ CARRIER_TOKEN_URL: undefined }, "no token endpoint"],
    [{ CARRIER_PRIVATE_KEY: "not-a-key" }, "a key that is not a P-256 scalar"],
    [{ CARRIER_ON_FAILURE_BIND: "maybe" }, "a failure mode that is neither open nor closed"],
  ]) {
    const { w } = await withCarrier({ ...bindings });
    try {
      const res = await fetch(`${w.url}/v1/health`);
      const expected = why === "plain-http API root" ? 200 : 503; // dev mode allows http to a local carrier
      assert.equal(res.status, expected, why);
    } finally {
      await w.dispose();
    }
  }
});

test("the dev carrier that make dev runs refuses a client assertion the registered key did not sign, as an operator does", async () => {
  const vars = wranglerVars("env.dev.vars");
  const devCarrier = Object.fromEntries(["CARRIER_API_ROOT", "CARRIER_TOKEN_URL", "CARRIER_CLIENT_ID", "DEV_CARRIER_CLIENT_KEY"].map((k) => [k, vars[k]]));
  const other = clientKey();
  const otherPublic = Buffer.from(other.publicKey.export({ format: "der", type: "spki" })).subarray(-65).toString("base64url");
  for (const [bindings, expected, why] of [
    [devCarrier, "active", "the dev configuration"],
    [{ ...devCarrier, DEV_CARRIER_CLIENT_KEY: otherPublic }, "503 carrier_unavailable", "another key registered for the client"],
    [{ ...devCarrier, CARRIER_PRIVATE_KEY: other.scalar }, "503 carrier_unavailable", "signed with another key"],
    [{ ...devCarrier, CARRIER_CLIENT_ID: "someone-else" }, "503 carrier_unavailable", "another client id"],
  ]) {
    const w = await startWorker({ bindings });
    try {
      const s = subscriber();
      const p = phone(w.url, { sim: s.simA });
      const bound = await bindPhone(w, p, s.number).catch((e) => e);
      assert.equal(bound.status === "active" ? "active" : `${bound.status} ${bound.code}`, expected, why);
      // Bound after a carrier check: the baseline is the dev carrier's, and grants verify.
      if (bound.status === "active") {
        assert.equal((await w.bindingRecord(bound.bindingId)).carrier.known, true);
        await p.client.verify(bound.bindingId);
      }
    } finally {
      await w.dispose();
    }
  }
});
