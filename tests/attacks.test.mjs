// The attacker's suite: each abuse a security review found, run against the
// worker in the real runtime (workerd through Miniflare), with its bound
// asserted. Shared with the hardening issue.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startWorker } from "./lib/worker.mjs";
import { bindPhone, phone, signedEvidence, subscriber } from "./lib/phone.mjs";
import { Bridge, SimBindClient } from "../wasm-client/pkg/node.js";

const ADMIN = "Bearer dev-only-admin-token";

let w;
before(async () => { w = await startWorker(); });
after(() => w.dispose());

const alerts = async (worker, number) => (await worker.outbox(number)).filter((m) => m.kind === "alert");
const codeOf = async (res) => (res.ok ? "ok" : (await res.json()).code);

/** Registers `number` from `p` and returns the id, its bind challenge and the code. */
async function registered(worker, number, headers = {}) {
  const res = await worker.post("/v1/registrations", { phone_number: number }, headers);
  assert.equal(res.status, 201, await res.clone().text());
  const { registration_id, ...challenge } = await res.json();
  return { id: registration_id, challenge, otp: await worker.otp(number) };
}

test("one correct code buys one bind attempt: 30 binds with the victim's chip text the victim once", async () => {
  const victim = subscriber();
  const v = phone(w.url, { sim: victim.simA });
  await bindPhone(w, v, victim.number);
  // The worst case: the attacker holds the victim chip's serial and key.
  const attacker = subscriber();
  const a = phone(w.url, { sim: attacker.simA, serial: v.serial, key: v.device.exportKey() });
  const reg = await registered(w, attacker.number);
  const answers = [];
  let challenge = reg.challenge;
  for (let i = 0; i < 30; i++) {
    const body = { otp: reg.otp, evidence: await signedEvidence(a.device, challenge, "bind", reg.id) };
    answers.push(await codeOf(await w.post(`/v1/registrations/${reg.id}/binding`, body)));
    const next = await w.post(`/v1/registrations/${reg.id}/challenge`, {});
    if (next.ok) challenge = await next.json();
  }
  assert.deepEqual(answers, ["chip_already_bound", ...Array(29).fill("registration_not_found")]);
  assert.equal((await alerts(w, victim.number)).length, 1, "texts to the victim per correct code");
});

test("takeover texts are throttled per binding: five codes for a bound number, one text, four counted", async () => {
  // A SIM swapper receives the victim's codes and tries to bind the number to their phone.
  const s = subscriber();
  const owner = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, owner, s.number);
  const swapper = phone(w.url, { sim: s.simB });
  for (let i = 0; i < 5; i++) {
    const reg = await registered(w, s.number);
    const body = { otp: reg.otp, evidence: await signedEvidence(swapper.device, reg.challenge, "bind", reg.id) };
    assert.equal(await codeOf(await w.post(`/v1/registrations/${reg.id}/binding`, body)), "binding_exists");
  }
  assert.equal((await alerts(w, s.number)).length, 1, "at most one takeover text an hour");
  const trail = await w.trail(bindingId);
  assert.equal(trail.events.filter((e) => e.event === "denied").length, 1);
  assert.deepEqual(trail.tallies.map((t) => [t.event, t.code, t.count]), [["takeover_suppressed", "binding_exists", 4]]);
});

test("an unattested serial is a claim: another key under the victim's serial binds its own number, blocks nobody, texts nobody", async () => {
  const victim = subscriber();
  const v = phone(w.url, { sim: victim.simA });
  const { bindingId } = await bindPhone(w, v, victim.number);
  const squatter = subscriber();
  const s = phone(w.url, { sim: squatter.simA, serial: v.serial }); // same serial, its own key
  const squatted = await bindPhone(w, s, squatter.number);
  assert.match(squatted.bindingId, /^bnd_/, "no 201/409 oracle on whether a serial is bound");
  await v.client.verify(bindingId);
  assert.equal((await alerts(w, victim.number)).length, 0);
  // The other order: a serial squatted first does not keep its real chip out.
  const late = subscriber();
  const first = phone(w.url, { sim: subscriber().simA, serial: `REAL-${process.pid}-x` });
  const real = phone(w.url, { sim: late.simA, serial: first.serial });
  await bindPhone(w, first, first.device.simInfo().msisdn);
  const bound = await bindPhone(w, real, late.number);
  await real.client.verify(bound.bindingId);
});

test("a flood of unauthenticated refusals is counted, never displaces real events, and the listing pages", async () => {
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, p, s.number);
  const strangers = Array.from({ length: 4 }, () => phone(w.url, { sim: s.simA }));
  await Promise.all(
    Array.from({ length: 200 }, (_, i) => strangers[i % 4].client.verify(bindingId).catch((e) => e.code)),
  );
  for (let i = 0; i < 205; i++) await p.client.verify(bindingId);
  const page1 = await w.trail(bindingId);
  assert.equal(page1.events.length, 200);
  assert.ok(page1.events.every((e) => e.event === "verified"), "only real events are listed");
  assert.equal(page1.more, true);
  assert.equal(page1.tallies.length, 1);
  assert.equal(page1.tallies[0].event, "denied_unverified");
  assert.equal(page1.tallies[0].count, 200, "every stranger's refusal counted");
  const page2 = await w.trail(bindingId, page1.next);
  assert.deepEqual(page2.events.map((e) => e.event), ["bound", ...Array(5).fill("verified")]);
  assert.equal(page2.more, false);
  assert.equal(page2.next, null);
  const seqs = [...page2.events, ...page1.events].map((e) => e.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "pages join in order");
  assert.equal(new Set(seqs).size, 206, "no event twice");
});

test("made-up binding ids store nothing, whatever route they are sent to", async () => {
  const before = await w.objectRows({ includeEmpty: true });
  const good = phone(w.url, { sim: subscriber().simA });
  for (let i = 0; i < 10; i++) {
    const id = `bnd_${randomBytes(16).toString("base64url")}`;
    const challenge = { challenge: randomBytes(40).toString("base64url"), audience: "simbind-dev" };
    const evidence = await signedEvidence(good.device, challenge, "verify", id);
    assert.equal((await w.post(`/v1/bindings/${id}/verify`, evidence)).status, 404);
    assert.equal((await w.post(`/v1/bindings/${id}/challenge`, { ceremony: "verify" })).status, 404);
    assert.equal((await fetch(`${w.url}/v1/admin/bindings/${id}`, { headers: { authorization: ADMIN } })).status, 404);
  }
  // Miniflare opens a file for every object it starts; what matters is that
  // none of them gained a table, let alone a row.
  assert.deepEqual(await w.objectRows({ includeEmpty: true }), before, "no table, no row");
});

test("SMS pumping: one /64 is one sender; a malformed address is refused", async () => {
  const limited = await startWorker({ bindings: { REGISTRATIONS_PER_IP_PER_HOUR: "3" } });
  try {
    const from = (ip) => ({ "cf-connecting-ip": ip });
    const start = (ip) => limited.post("/v1/registrations", { phone_number: subscriber().number }, from(ip));
    for (const ip of ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:abcd:ef01:2345:6789"]) {
      assert.equal((await start(ip)).status, 201, ip);
    }
    const res = await start("2001:db8:1:2:ffff::9");
    assert.equal(res.status, 429, "the same /64");
    assert.equal(await codeOf(res), "rate_limited");
    assert.ok(Number(res.headers.get("retry-after")) > 0);
    assert.equal((await start("2001:db8:1:3::1")).status, 201, "the next /64 is another sender");
    const bad = await start("not-an-address");
    assert.equal(bad.status, 400);
    assert.equal(await codeOf(bad), "invalid_sender_address");
  } finally {
    await limited.dispose();
  }
});

test("SMS pumping: destinations outside the allow-list are refused, nothing sent or stored", async () => {
  const strict = await startWorker({ bindings: { SMS_COUNTRIES: "44,353" } });
  try {
    const before = await strict.dump();
    for (const number of ["+14155550100", "+8613812345678", "+35812345678"]) {
      const res = await strict.post("/v1/registrations", { phone_number: number });
      assert.equal(res.status, 400, number);
      assert.equal(await codeOf(res), "country_not_allowed");
      assert.equal((await strict.outbox(number)).length, 0);
    }
    assert.deepEqual(await strict.dump(), before, "nothing stored");
    assert.equal((await strict.post("/v1/registrations", { phone_number: "+353871234567" })).status, 201);
    assert.equal((await strict.post("/v1/registrations", { phone_number: subscriber().number })).status, 201);
  } finally {
    await strict.dispose();
  }
});

test("SMS pumping: the global and per-country hourly budgets hold across numbers and senders", async () => {
  const budget = await startWorker({ bindings: { SMS_PER_HOUR: "4", SMS_PER_COUNTRY_PER_HOUR: "2" } });
  try {
    const start = (number, i) => budget.post("/v1/registrations", { phone_number: number }, { "cf-connecting-ip": `198.51.100.${i}` });
    assert.equal((await start(subscriber().number, 1)).status, 201);
    assert.equal((await start(subscriber().number, 2)).status, 201);
    const country = await start(subscriber().number, 3);
    assert.equal(country.status, 429, "a third +44 SMS this hour");
    assert.ok(Number(country.headers.get("retry-after")) > 0);
    assert.equal((await start("+353871234567", 4)).status, 201, "another country's budget");
    const global = await start("+33612345678", 5);
    assert.equal(global.status, 429, "the global budget: 4 taken (the refused +44 took a global token)");
  } finally {
    await budget.dispose();
  }
});

test("admin guessing: failures are tallied and lock the sender out, even with the right token", async () => {
  const guarded = await startWorker({ bindings: { ADMIN_FAILURES_PER_HOUR: "3" } });
  try {
    const s = subscriber();
    const { bindingId } = await bindPhone(guarded, phone(guarded.url, { sim: s.simA }), s.number);
    const show = (token, ip = "203.0.113.5") =>
      fetch(`${guarded.url}/v1/admin/bindings/${bindingId}`, { headers: { authorization: token, "cf-connecting-ip": ip } });
    for (let i = 0; i < 3; i++) assert.equal((await show(`Bearer guess-${i}`)).status, 401);
    const locked = await show("Bearer guess-4");
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get("retry-after")) > 0);
    assert.equal((await show(ADMIN)).status, 429, "locked out whatever the token");
    assert.equal((await show(ADMIN, "203.0.113.6")).status, 200, "another sender is not");
    const trail = await guarded.trail(bindingId);
    assert.deepEqual(trail.tallies.map((t) => [t.event, t.count]), [["admin_unauthorized", 3]]);
  } finally {
    await guarded.dispose();
  }
});

// ---------- transaction binding ----------

const sha256 = async (text) => Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
const claimsOf = (grant) => JSON.parse(Buffer.from(grant.split(".")[1], "base64url"));

test("transaction binding: the grant carries what the chip signed, and nothing else passes for it", async () => {
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, p, s.number);
  const pay42 = await sha256("pay 42.00 EUR to ACME Ltd");
  const pay4200 = await sha256("pay 4200.00 EUR to EVIL Ltd");
  const paid = await p.client.verify(bindingId, pay42);
  assert.equal(claimsOf(paid.grant).txn, pay42.toString("base64url"), "the grant names its transaction");
  assert.notEqual(claimsOf(paid.grant).txn, pay4200.toString("base64url"));
  const opened = await p.client.verify(bindingId);
  assert.equal(claimsOf(opened.grant).txn, undefined, "an 'app opened' grant names none");

  // A challenge for one payment, a signature over another: refused.
  const challenge = await (await w.post(`/v1/bindings/${bindingId}/challenge`, { ceremony: "verify", transaction: pay42.toString("base64url") })).json();
  assert.equal(challenge.transaction, pay42.toString("base64url"), "echoed for the phone to show and sign");
  const swapped = await signedEvidence(p.device, { ...challenge, transaction: pay4200.toString("base64url") }, "verify", bindingId);
  assert.equal(await codeOf(await w.post(`/v1/bindings/${bindingId}/verify`, swapped)), "bad_signature");
  // Rewriting the transaction inside the challenge breaks its MAC.
  const raw = Buffer.from(challenge.challenge, "base64url");
  raw[raw.length - 33] ^= 1;
  const forged = await signedEvidence(p.device, { ...challenge, challenge: raw.toString("base64url") }, "verify", bindingId);
  assert.equal(await codeOf(await w.post(`/v1/bindings/${bindingId}/verify`, forged)), "challenge_invalid");
  // At most 64 bytes, canonical base64url.
  for (const transaction of [Buffer.alloc(65, 1).toString("base64url"), "", "AQID="]) {
    const res = await w.post(`/v1/bindings/${bindingId}/challenge`, { ceremony: "verify", transaction });
    assert.equal(res.status, 400, JSON.stringify(transaction));
  }
});

test("transaction binding: a relay that swaps the transaction in the challenge is refused before anything is signed", async () => {
  const { createServer } = await import("node:http");
  const evil = Buffer.alloc(32, 0xee).toString("base64url");
  const relay = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const upstream = await fetch(w.url + req.url, { method: req.method, headers: { "content-type": "application/json" }, body: req.method === "POST" ? Buffer.concat(chunks) : undefined });
    let body = await upstream.text();
    if (req.url.endsWith("/challenge") && upstream.ok) body = JSON.stringify({ ...JSON.parse(body), transaction: evil });
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" });
    res.end(body);
  });
  await new Promise((r) => relay.listen(0, "127.0.0.1", r));
  try {
    const s = subscriber();
    const direct = phone(w.url, { sim: s.simA });
    const { bindingId } = await bindPhone(w, direct, s.number);
    let signed = 0;
    const host = {
      chipInfo: () => direct.device.chipInfo(),
      simInfo: () => direct.device.simInfo(),
      nextCounter: () => direct.device.nextCounter(),
      chipSign: (t) => { signed++; return direct.device.chipSign(t); },
    };
    const through = (url) => new SimBindClient(url, Bridge.fromObject(host), "simbind-dev");
    const e = await through(`http://127.0.0.1:${relay.address().port}`).verify(bindingId, await sha256("pay 1 EUR")).catch((x) => x);
    assert.equal(e.code, "transaction_mismatch");
    assert.equal(e.source, "client");
    assert.equal(signed, 0, "the chip signed nothing");
    await through(w.url).verify(bindingId, await sha256("pay 1 EUR"));
    assert.equal(signed, 1, "the same host signs when the challenge is the one asked for");
  } finally {
    relay.close();
  }
});

test("the client signs only for its own audience, and talks https (or localhost) only", async () => {
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, p, s.number);
  let signed = 0;
  const host = {
    chipInfo: () => p.device.chipInfo(),
    simInfo: () => p.device.simInfo(),
    nextCounter: () => p.device.nextCounter(),
    chipSign: (t) => { signed++; return p.device.chipSign(t); },
  };
  // A client configured for another deployment, pointed (as by a relay) at this one.
  const misled = new SimBindClient(w.url, Bridge.fromObject(host), "simbind-production");
  const e = await misled.verify(bindingId).catch((x) => x);
  assert.equal(e.code, "audience_mismatch");
  assert.equal(e.source, "client");
  assert.equal(signed, 0, "nothing signed for another audience");
  await new SimBindClient(w.url, Bridge.fromObject(host), "simbind-dev").verify(bindingId);
  assert.equal(signed, 1);
  for (const url of ["http://simbind.example", "ftp://127.0.0.1", "http://127.0.0.1.evil.example", "http://localhost.evil.example:8787"]) {
    assert.throws(() => new SimBindClient(url, Bridge.fromObject(host), "simbind-dev"), (x) => x.code === "insecure_base_url", url);
  }
  for (const url of ["https://simbind.example", "http://localhost:8787", "http://127.0.0.1", "http://[::1]:8787/"]) {
    assert.ok(new SimBindClient(url, Bridge.fromObject(host), "simbind-dev"), url);
  }
  assert.throws(() => new SimBindClient("https://simbind.example", Bridge.fromObject(host), ""), (x) => x.code === "missing_audience");
});
