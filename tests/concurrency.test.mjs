// Exact state under concurrency: requests released at the same moment against
// the real runtime (workerd through Miniflare, Durable Objects on SQLite).
// Each test failed on the KV design, where every ceremony read, decided and
// wrote back with awaits in between.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./lib/worker.mjs";
import { bindPhone, phone, refusal, signedEvidence, subscriber } from "./lib/phone.mjs";

const PARALLEL = 20;
const ADMIN = { authorization: "Bearer dev-only-admin-token" };

let w;
let lenient; // suspends only after 100 authentic failures, so 19 refusals stay refusals
before(async () => {
  w = await startWorker();
  lenient = await startWorker({ bindings: { MAX_CONSECUTIVE_FAILURES: "100" } });
});
after(async () => {
  await w.dispose();
  await lenient.dispose();
});

async function bound(worker = w) {
  const s = subscriber();
  const p = phone(worker.url, { sim: s.simA });
  const binding = await bindPhone(worker, p, s.number);
  return { s, p, ...binding };
}

async function challengeFor(bindingId, ceremony = "verify", worker = w) {
  const res = await worker.post(`/v1/bindings/${bindingId}/challenge`, { ceremony });
  assert.equal(res.status, 200);
  return res.json();
}

/** Sends every body at once; returns [status, code] per answer. */
async function allAtOnce(worker, path, bodies) {
  const answers = await Promise.all(bodies.map((b) => worker.post(path, b)));
  return Promise.all(answers.map(async (r) => [r.status, r.ok ? "ok" : (await r.json()).code]));
}

function tally(results) {
  const out = {};
  for (const [status, code] of results) out[`${status} ${code}`] = (out[`${status} ${code}`] ?? 0) + 1;
  return out;
}

/** Signed verify bodies, each over its own fresh challenge, all with counter `counter`. */
async function sameCounterBodies(p, bindingId, counter, n, worker = w) {
  const bodies = [];
  for (let i = 0; i < n; i++) {
    const challenge = await challengeFor(bindingId, "verify", worker);
    p.device.setCounter(counter - 1);
    bodies.push(await signedEvidence(p.device, challenge, "verify", bindingId));
  }
  return bodies;
}

/** Signed verify bodies over fresh challenges with increasing counters. */
async function freshBodies(p, bindingId, n, worker = w) {
  const bodies = [];
  for (let i = 0; i < n; i++) {
    bodies.push(await signedEvidence(p.device, await challengeFor(bindingId, "verify", worker), "verify", bindingId));
  }
  return bodies;
}

test("replay: one captured verify body sent 20 times at once gets exactly one grant", async () => {
  const { p, bindingId } = await bound();
  const [body] = await freshBodies(p, bindingId, 1);
  const results = await allAtOnce(w, `/v1/bindings/${bindingId}/verify`, Array(PARALLEL).fill(body));
  assert.deepEqual(tally(results), { "200 ok": 1, [`403 challenge_reused`]: PARALLEL - 1 });
});

test("cloned key: 20 fresh challenges signed with one counter, at once: exactly one grant", async () => {
  const { p, bindingId } = await bound(lenient);
  const bodies = await sameCounterBodies(p, bindingId, 5, PARALLEL, lenient);
  const results = await allAtOnce(lenient, `/v1/bindings/${bindingId}/verify`, bodies);
  assert.deepEqual(tally(results), { "200 ok": 1, "403 counter_replayed": PARALLEL - 1 });
  const record = await lenient.bindingRecord(bindingId);
  assert.equal(record.counter, 5);
  assert.equal(record.consecutive_failures, PARALLEL - 1, "every clone attempt counted");
});

test("cloned key under the default policy: one grant, then suspension after exactly 3 clone attempts", async () => {
  const { p, bindingId } = await bound();
  const bodies = await sameCounterBodies(p, bindingId, 5, PARALLEL);
  const results = await allAtOnce(w, `/v1/bindings/${bindingId}/verify`, bodies);
  assert.deepEqual(tally(results), { "200 ok": 1, "403 counter_replayed": 3, "403 binding_suspended": PARALLEL - 4 });
  const record = await w.bindingRecord(bindingId);
  assert.equal(record.status, "suspended");
  assert.equal(record.consecutive_failures, 3);
});

test("OTP: 20 wrong codes at once count exactly as sequential guesses, and lock out the right code", async () => {
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA });
  const { registrationId } = await p.client.startRegistration(s.number);
  const right = await w.otp(s.number);
  const wrong = right === "000000" ? "111111" : "000000";
  const bodies = [];
  for (let i = 0; i < PARALLEL; i++) {
    const res = await w.post(`/v1/registrations/${registrationId}/challenge`, {});
    assert.equal(res.status, 200);
    bodies.push({ otp: wrong, evidence: await signedEvidence(p.device, await res.json(), "bind", registrationId) });
  }
  const results = await allAtOnce(w, `/v1/registrations/${registrationId}/binding`, bodies);
  assert.deepEqual(tally(results), { "401 otp_invalid": 4, "429 otp_attempts_exhausted": PARALLEL - 4 });
  const res = await w.post(`/v1/registrations/${registrationId}/challenge`, {});
  const evidence = await signedEvidence(p.device, await res.json(), "bind", registrationId);
  const last = await w.post(`/v1/registrations/${registrationId}/binding`, { otp: right, evidence });
  assert.equal(last.status, 429);
  assert.equal((await last.json()).code, "otp_attempts_exhausted", "the right code is refused after the lock");
});

test("bind: five chips binding one number at once, each with its own right code: exactly one binding", async () => {
  const s = subscriber();
  const phones = Array.from({ length: 5 }, () => phone(w.url, { sim: s.simA }));
  const attempts = [];
  for (const p of phones) {
    const reg = await w.post("/v1/registrations", { phone_number: s.number });
    const { registration_id, ...challenge } = await reg.json();
    const otp = await w.otp(s.number);
    attempts.push({ id: registration_id, body: { otp, evidence: await signedEvidence(p.device, challenge, "bind", registration_id) } });
  }
  const answers = await Promise.all(attempts.map((a) => w.post(`/v1/registrations/${a.id}/binding`, a.body)));
  const results = await Promise.all(answers.map(async (r) => [r.status, await r.json()]));
  const won = results.filter(([status]) => status === 201);
  assert.equal(won.length, 1, JSON.stringify(results));
  assert.deepEqual(results.filter(([status]) => status !== 201).map(([st, b]) => `${st} ${b.code}`), Array(4).fill("409 binding_exists"));
  // The winner's chip holds the number; the owner heard of the attempts once
  // (takeover alerts are throttled), and the other three are counted.
  const winner = phones[results.findIndex(([status]) => status === 201)];
  await winner.client.verify(won[0][1].binding_id);
  const trail = await w.trail(won[0][1].binding_id);
  assert.equal(trail.events.filter((e) => e.event === "denied" && e.code === "binding_exists").length, 1);
  assert.deepEqual(trail.tallies.map((t) => [t.event, t.code, t.count]), [["takeover_suppressed", "binding_exists", 3]]);
});

test("bind: one registration's right code sent by two chips at once binds exactly once", async () => {
  const s = subscriber();
  const a = phone(w.url, { sim: s.simA });
  const b = phone(w.url, { sim: s.simA });
  const reg = await (await w.post("/v1/registrations", { phone_number: s.number })).json();
  const otp = await w.otp(s.number);
  const second = await (await w.post(`/v1/registrations/${reg.registration_id}/challenge`, {})).json();
  const bodies = [
    { otp, evidence: await signedEvidence(a.device, reg, "bind", reg.registration_id) },
    { otp, evidence: await signedEvidence(b.device, second, "bind", reg.registration_id) },
  ];
  const results = await allAtOnce(w, `/v1/registrations/${reg.registration_id}/binding`, bodies);
  assert.deepEqual(tally(results), { "201 ok": 1, "404 registration_not_found": 1 });
});

test("bind: one chip bound to two numbers at once: exactly one binding, the other chip_already_bound", async () => {
  const x = subscriber();
  const y = subscriber();
  const serial = `SHARED-${process.pid}-${Date.now()}`;
  const px = phone(w.url, { sim: x.simA, serial });
  const py = phone(w.url, { sim: y.simA, serial, key: px.device.exportKey() });
  const attempts = [];
  for (const [p, s] of [[px, x], [py, y]]) {
    const { registration_id, ...challenge } = await (await w.post("/v1/registrations", { phone_number: s.number })).json();
    attempts.push({ id: registration_id, body: { otp: await w.otp(s.number), evidence: await signedEvidence(p.device, challenge, "bind", registration_id) } });
  }
  const answers = await Promise.all(attempts.map((a) => w.post(`/v1/registrations/${a.id}/binding`, a.body)));
  const results = await Promise.all(answers.map(async (r) => [r.status, r.ok ? "ok" : (await r.json()).code]));
  assert.deepEqual(tally(results), { "201 ok": 1, "409 chip_already_bound": 1 });
});

test("revoke, then verify at once: binding_revoked, and the number is free again", async () => {
  const { s, p, bindingId } = await bound();
  const [body] = await freshBodies(p, bindingId, 1);
  const revoked = await fetch(`${w.url}/v1/admin/bindings/${bindingId}/revoke`, { method: "POST", headers: ADMIN });
  assert.equal(revoked.status, 200);
  const res = await w.post(`/v1/bindings/${bindingId}/verify`, body);
  assert.equal(res.status, 403);
  assert.equal((await res.json()).code, "binding_revoked");
  const other = phone(w.url, { sim: s.simA });
  const again = await bindPhone(w, other, s.number);
  assert.notEqual(again.bindingId, bindingId, "a revoked binding frees its number");
});

test("suspension: authentic refusals sent at once suspend after exactly the configured count, seen at once", async () => {
  const { s, p, bindingId } = await bound();
  p.device.insertSim(s.simB);
  const bodies = await freshBodies(p, bindingId, 10);
  const results = await allAtOnce(w, `/v1/bindings/${bindingId}/verify`, bodies);
  assert.deepEqual(tally(results), { "403 sim_changed": 3, "403 binding_suspended": 7 });
  const record = await w.bindingRecord(bindingId);
  assert.equal(record.status, "suspended");
  assert.equal(record.consecutive_failures, 3);
  assert.equal((await w.outbox(s.number)).filter((m) => m.kind === "alert").length, 3, "one alert per authentic refusal");
  p.device.insertSim(s.simA);
  const [next] = await freshBodies(p, bindingId, 1);
  const res = await w.post(`/v1/bindings/${bindingId}/verify`, next);
  assert.equal((await res.json()).code, "binding_suspended", "the very next request sees the suspension");
});

/**
 * A worker whose SMS provider (a webhook) takes `alertMs` to accept each
 * alert; every message it took is pushed to `delivered`.
 */
async function slowSmsWorker(alertMs, delivered, bindings = {}) {
  return startWorker({
    bindings: { SMS_PROVIDER: "webhook", SMS_WEBHOOK_URL: "http://sms.test/v1/messages", SMS_WEBHOOK_TOKEN: "dev-only-webhook-token", ...bindings },
    outboundService: async (request) => {
      const body = await request.json();
      if (body.kind === "alert") await new Promise((r) => setTimeout(r, alertMs));
      delivered.push(body);
      return new Response("{}", { status: 202 });
    },
  });
}

test("slow SMS: authentic refusals at once while each alert takes a second are all counted", async () => {
  const delivered = [];
  const slow = await slowSmsWorker(1000, delivered, { MAX_CONSECUTIVE_FAILURES: "50" });
  try {
    const s = subscriber();
    const p = phone(slow.url, { sim: s.simA });
    const { registrationId } = await p.client.startRegistration(s.number);
    const code = delivered.findLast((m) => m.kind === "otp").text.slice(0, 6);
    const { bindingId } = await p.client.completeBinding(registrationId, code);
    p.device.insertSim(s.simB);
    const bodies = await freshBodies(p, bindingId, 10, slow);
    const started = Date.now();
    const results = await allAtOnce(slow, `/v1/bindings/${bindingId}/verify`, bodies);
    // Each body carries the next counter, but ten requests sent at once may
    // reach the binding in any order: one that arrives after a higher counter
    // is refused as counter_replayed. Both are authentic refusals.
    const counts = tally(results);
    assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), 10);
    for (const key of Object.keys(counts)) assert.ok(["403 sim_changed", "403 counter_replayed"].includes(key), key);
    assert.ok(counts["403 sim_changed"] >= 1, "the first to arrive sees the other SIM");
    assert.ok(Date.now() - started >= 1000, "the alerts were slow");
    const record = await slow.bindingRecord(bindingId);
    assert.equal(record.consecutive_failures, 10, "every refusal counted although each SMS held its request");
    assert.equal(delivered.filter((m) => m.kind === "alert").length, 10);
  } finally {
    await slow.dispose();
  }
});

test("slow SMS: a takeover alert is sent after the number's bind lock is free, so the next bind of the number does not wait for the provider (F10)", async () => {
  const delivered = [];
  const slow = await slowSmsWorker(2000, delivered);
  try {
    const s = subscriber();
    const codeFor = () => delivered.findLast((m) => m.kind === "otp").text.slice(0, 6);
    const owner = phone(slow.url, { sim: s.simA });
    const first = await owner.client.startRegistration(s.number);
    await owner.client.completeBinding(first.registrationId, codeFor());
    // Two other phones with the number's codes: each is refused binding_exists.
    const takers = [];
    for (let i = 0; i < 2; i++) {
      const p = phone(slow.url, { sim: s.simB });
      const { registrationId } = await p.client.startRegistration(s.number);
      takers.push({ p, registrationId, code: codeFor() });
    }
    const [b, c] = takers;
    const bDone = refusal(b.p.client.completeBinding(b.registrationId, b.code));
    await new Promise((r) => setTimeout(r, 400)); // b's alert is on its way (2 s)
    const started = Date.now();
    const cRefused = await refusal(c.p.client.completeBinding(c.registrationId, c.code));
    const waited = Date.now() - started;
    assert.equal(cRefused.code, "binding_exists");
    assert.equal((await bDone).code, "binding_exists");
    assert.ok(waited < 1200, `the second bind waited ${waited} ms for the first one's alert`);
    assert.equal(delivered.filter((m) => m.kind === "alert").length, 1, "one takeover text an hour");
  } finally {
    await slow.dispose();
  }
});

test("one phone verifying 10 times a second for 3 seconds: every request passes, the counter is the last one sent", async () => {
  const { p, bindingId } = await bound();
  const end = Date.now() + 3000;
  let passed = 0;
  while (Date.now() < end) {
    const started = Date.now();
    await p.client.verify(bindingId);
    passed++;
    await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - started))));
  }
  assert.ok(passed >= 20, `${passed} verifications in 3 s`);
  const record = await w.bindingRecord(bindingId);
  assert.equal(record.counter, p.lastRequest().counter);
  assert.equal(record.consecutive_failures, 0);
});
