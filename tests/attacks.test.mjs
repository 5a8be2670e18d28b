// The attacker's suite: each abuse a security review found, run against the
// worker in the real runtime (workerd through Miniflare), with its bound
// asserted. Shared with the hardening issue.
//
// docs/SECURITY.md "Threat model", row by row: where each attacker is run
// against the worker (file: test). Tests named "<attacker>: ..." are here.
//
// SIM thief            attacks: "SIM thief: ..."; properties: "substitution: another chip (same
//                      serial, other key) is refused without alerting"; ceremonies: "a second chip
//                      cannot take a live number (409); after unbind it can"
// SIM swapper          attacks: "SIM swapper: ...", "takeover texts are throttled per binding: ...";
//                      properties: "substitution: another SIM is refused as sim_changed, alerts the
//                      bound number, and suspends after 3"; concurrency: "bind: five chips binding
//                      one number at once, ..."
// phone thief          properties: "substitution: another SIM is refused as sim_changed, alerts the
//                      bound number, and suspends after 3", "substitution: the bound SIM reporting
//                      another number is refused"; concurrency: "suspension: authentic refusals sent
//                      at once ...", "slow SMS: ..."; ceremonies: "a chip bound to one number cannot
//                      bind another (409)" (the stolen phone binding the thief's number)
// key cloner           properties: "counter: a chip counter that does not increase is refused (cloned
//                      key)", "substitution: another chip (same serial, other key) ..."; concurrency:
//                      "cloned key: 20 fresh challenges ...", "cloned key under the default policy:
//                      ..."; attestation: "apple-appattest: a replayed or lower assertion counter ..."
// network attacker     attacks: "network attacker: ..."; properties: "replay: ..." (3), "freshness:
//                      challenges expire", "freshness: a challenge is tied to its binding and its
//                      ceremony", "substitution: a bind-ceremony signature is refused for
//                      verification"; concurrency: "replay: one captured verify body sent 20 times
//                      at once ..."; attacks: "transaction binding: ..." (2), "the client signs only
//                      for its own audience, ..."
// brute forcer         attacks: "brute forcer: ..."; properties: "OTP: five wrong codes lock the
//                      registration ...", "OTP: registrations per number are rate limited ...";
//                      concurrency: "OTP: 20 wrong codes at once ...". Not run: a code refused
//                      after its 5 minutes (the worker reads the real clock; core's otp tests)
// malformed input      bad-input: every test; privacy-config: "problem details never repeat the
//                      input values"; markers: every test (each input of every route, marked);
//                      attacks: "malformed-input sender: ..." (App Attest CBOR with trailing
//                      bytes)
// storage reader       attacks: "storage reader: ..."; privacy-config: "after a full flow, no
//                      number, ICCID, IMSI or chip serial is stored or echoed in clear"
// SMS spammer          attacks: "SMS spammer: ...", "one correct code buys one bind attempt: ...",
//                      "takeover texts are throttled per binding: ..."; properties: "substitution:
//                      another chip (same serial, other key) is refused without alerting"
// SMS pumper           attacks: "SMS pumping: ..." (4); properties: "registrations per sender
//                      address are rate limited across numbers"
// budget drainer       attacks: "SMS pumping: a registration that sends no SMS spends no SMS budget, ...",
//                      "device_sms starts are bounded globally, ..."
// number locker        device-sms: "device_sms starts by strangers do not lock the number out ..."
// page script          client-bridge: "sendNumberProof texts only this client's own device_sms token, ..."
// id snooper           device-sms: "a stranger with only the registration id cannot complete a device_sms bind"
// binding flooder      attacks: "binding flooder: ..." (2)
// audit flooder        attacks: "a flood of unauthenticated refusals is counted, ...", "made-up
//                      binding ids store nothing, ..."
// serial prober        attacks: "an unattested serial is a claim: ..."
// grant reuser         attacks: "transaction binding: the grant carries what the chip signed, ...",
//                      "transaction binding: a relay that swaps the transaction ..."; demo:
//                      "confirm a payment: ...". verify_grant itself is a library call (core tests)
// admin guesser        attacks: "admin guessing: ..."; ceremonies: "operator revoke needs the admin
//                      token; ..." (the constant-time comparison is not observable over HTTP)
// software impostor    attacks: "software impostor: ..."; attestation: "a key that was never
//                      attested cannot bind; ...", "android-key: an unlocked phone is refused ...",
//                      "a format the deployment does not accept is refused at bind"
// attestation replayer attestation: "an attestation is bound to its own bind: replayed into another
//                      registration it is refused"
// racer                concurrency: every test; attacks: "SMS pumping: the global and per-country
//                      hourly budgets ..."
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { devSecrets, OBJECTS, startWorker } from "./lib/worker.mjs";
import { bindPhone, phone, refusal, signedEvidence, subscriber, wireSim } from "./lib/phone.mjs";
import { attestedPhone, quickIssuer } from "./lib/attested-phone.mjs";
import { strangerVerify, strangerWrites } from "./lib/flood.mjs";
import { Bridge, SimBindClient, SoftwareBridge } from "../wasm-client/pkg/testing/node.js";

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

test("a flood of unauthenticated refusals is counted, never displaces real events, and the listing pages", async (t) => {
  // 205 verifications in a few seconds: far above what the edge lets one sender do.
  const w = await startWorker({ requestLimit: 10_000 });
  t.after(() => w.dispose());
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
  // Tallies are per hour: a flood that straddles an hour's end is two of them.
  assert.ok(page1.tallies.length >= 1 && page1.tallies.length <= 2, JSON.stringify(page1.tallies));
  assert.ok(page1.tallies.every((t) => t.event === "denied_unverified"));
  const counted = page1.tallies.reduce((n, t) => n + t.count, 0);
  assert.ok(counted >= 30 && counted < 60, `the strangers' refusals counted up to the object's cap of 30 a minute: ${counted}`);
  const page2 = await w.trail(bindingId, page1.next);
  assert.deepEqual(page2.events.map((e) => e.event), ["bound", ...Array(5).fill("verified")]);
  assert.equal(page2.more, false);
  assert.equal(page2.next, null);
  const seqs = [...page2.events, ...page1.events].map((e) => e.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "pages join in order");
  assert.equal(new Set(seqs).size, 206, "no event twice");
});

/** A bound phone, and a stranger's chip (`serial`) carrying the same SIM. */
async function boundWithStranger(serial) {
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, p, s.number);
  const stranger = new SoftwareBridge(serial);
  stranger.insertSim(s.simA);
  return { p, bindingId, stranger };
}

test("binding flooder: 200 stranger verifies from one address end in 429 at the edge, and the object writes a bounded amount (F8)", async () => {
  const { bindingId, stranger } = await boundWithStranger("FLOOD-1");
  const answers = [];
  for (let i = 0; i < 200; i++) answers.push(await strangerVerify(w, bindingId, stranger, "198.51.100.200"));
  const tally = {};
  for (const a of answers) (tally[a] ??= []).push(a);
  assert.deepEqual(Object.keys(tally).sort(), ["403 chip_mismatch", "429 rate_limited"]);
  // 120 requests a minute per sender and binding pass the edge: 60 verifies
  // (more if the flood straddles a minute), of which the object records 30.
  const refused = tally["403 chip_mismatch"].length;
  assert.ok(refused >= 30 && refused <= 40, `${refused} written by the object`);
  assert.equal(tally["429 rate_limited"].length, 200 - refused, "the rest refused: at the edge, or by the object's cap with nothing written");
  const writes = await strangerWrites(w, bindingId);
  assert.deepEqual(writes, { tallied: refused, nonces: refused }, "one count and one used nonce per refusal, none past the limits");
  // Registration routes are limited the same way, before any KV read or signature check.
  const reg = await w.post("/v1/registrations", { phone_number: subscriber().number });
  const { registration_id: id } = await reg.json();
  const asks = [];
  for (let i = 0; i < 250; i++) asks.push((await w.post(`/v1/registrations/${id}/challenge`, {}, { "cf-connecting-ip": "198.51.100.201" })).status);
  const passed = asks.filter((x) => x === 200).length;
  assert.ok(passed >= 120 && passed <= 240 && passed + asks.filter((x) => x === 429).length === 250, `${passed} of 250 challenges`);
  assert.equal((await w.post(`/v1/registrations/${id}/challenge`, {}, { "cf-connecting-ip": "198.51.100.202" })).status, 200, "another sender is not held");
});

test("binding flooder: the real phone verifies every time under a flood from 20 addresses, and the flood writes at most the object's cap (F8)", async () => {
  const { p, bindingId, stranger } = await boundWithStranger("FLOOD-2");
  const flood = Promise.all(Array.from({ length: 20 }, async (_, a) => {
    const out = [];
    for (let i = 0; i < 10; i++) out.push(await strangerVerify(w, bindingId, stranger, `203.0.113.${a + 1}`));
    return out;
  }));
  const real = [];
  for (let i = 0; i < 20; i++) real.push(await p.client.verify(bindingId).then(() => "granted", (e) => e.code));
  const answers = (await flood).flat();
  assert.deepEqual(real, Array(20).fill("granted"), "the real chip's signed requests all pass");
  const writes = await strangerWrites(w, bindingId);
  assert.ok(writes.tallied >= 30 && writes.tallied <= 40, `the flood wrote ${JSON.stringify(writes)}`);
  assert.equal(writes.nonces, writes.tallied + 20, "a used nonce per counted refusal, and per real verification");
  assert.equal(answers.filter((a) => a === "403 chip_mismatch").length, writes.tallied);
  assert.equal(answers.filter((a) => a === "429 rate_limited").length, 200 - writes.tallied, "past the cap: 429, nothing written");
  const record = await w.bindingRecord(bindingId);
  assert.equal(`${record.status} ${record.consecutive_failures}`, "active 0");
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

test("SMS pumping: an IPv6 home line (/56) is one sender, a site (/48) four; a malformed address is refused", async () => {
  const limited = await startWorker({ bindings: { REGISTRATIONS_PER_IP_PER_HOUR: "3" } });
  try {
    const from = (ip) => ({ "cf-connecting-ip": ip });
    const start = (ip) => limited.post("/v1/registrations", { phone_number: subscriber().number }, from(ip));
    // Three /64s of one /56 (2001:db8:0:1::, :2::, :3:: …): one sender.
    for (const ip of ["2001:db8:0:1::1", "2001:db8:0:2::1", "2001:db8:0:3:abcd:ef01:2345:6789"]) {
      assert.equal((await start(ip)).status, 201, ip);
    }
    const res = await start("2001:db8:0:4::9");
    assert.equal(res.status, 429, "the fourth /64 of the same /56");
    assert.equal(await codeOf(res), "rate_limited");
    assert.ok(Number(res.headers.get("retry-after")) > 0);
    // Other /56s of the same /48 count towards the site's 4 × 3 = 12.
    const site = [];
    for (let line = 1; line <= 4; line++) {
      for (let i = 0; i < 3; i++) site.push((await start(`2001:db8:0:${line}00::${i + 1}`)).status);
    }
    assert.deepEqual(site, [201, 201, 201, 201, 201, 201, 201, 201, 201, 429, 429, 429], "12 for the /48 (3 used above)");
    assert.equal((await start("2001:db8:1::1")).status, 201, "another /48 is another site");
    assert.equal((await start("198.51.100.77")).status, 201, "IPv4: one address, one sender");
    const bad = await start("not-an-address");
    assert.equal(bad.status, 400);
    assert.equal(await codeOf(bad), "invalid_sender_address");
  } finally {
    await limited.dispose();
  }
});

test("SMS pumping: a registration that sends no SMS spends no SMS budget, so refusals cannot drain it (F3)", async () => {
  const w3 = await startWorker({ bindings: { SMS_PER_HOUR: "3", REGISTRATIONS_PER_HOUR: "1" } });
  try {
    const start = (n, i) => w3.post("/v1/registrations", { phone_number: n }, { "cf-connecting-ip": `198.51.100.${i}` });
    const a = subscriber().number;
    assert.equal((await start(a, 1)).status, 201);
    // The drain: 40 more starts for the same number from 40 addresses, each refused by the number's own limit.
    for (let i = 2; i < 42; i++) assert.equal((await start(a, i)).status, 429);
    assert.equal((await w3.outbox(a)).filter((m) => m.kind === "otp").length, 1, "one text sent");
    // Before the fix the budget was gone after two refusals; now two fresh numbers still get their codes.
    assert.equal((await start(subscriber().number, 50)).status, 201, "a fresh number after 40 refused starts");
    assert.equal((await start(subscriber().number, 51)).status, 201);
    const spent = await start(subscriber().number, 52);
    assert.equal(spent.status, 429, "three texts sent: the budget is spent by sending only");
    // That refusal gave the number back its token: once budget is back, the same number can start.
    const rows = await w3.objectRows();
    const levels = Object.entries(rows).filter(([k]) => k.startsWith("NumberObject/") && k.endsWith("/bucket")).map(([, r]) => r[0].level);
    assert.ok(levels.includes(1000), "a number refused by the budget keeps its token");
    // device_sms starts take no SMS budget and none of the number's limit.
    for (let i = 0; i < 3; i++) {
      assert.equal((await w3.post("/v1/registrations", { phone_number: a, proof: "device_sms" }, { "cf-connecting-ip": `198.51.100.${60 + i}` })).status, 201);
    }
  } finally {
    await w3.dispose();
  }
});

test("device_sms starts are bounded globally, per sender, and store nothing past the bound (F3)", async () => {
  const w4 = await startWorker({ bindings: { DEVICE_SMS_STARTS_PER_HOUR: "3" } });
  try {
    const start = (i) => w4.post("/v1/registrations", { phone_number: subscriber().number, proof: "device_sms" }, { "cf-connecting-ip": `2001:db8:${i}::1` });
    for (let i = 1; i <= 3; i++) assert.equal((await start(i)).status, 201);
    const before = Object.keys(await w4.objectRows()).filter((k) => /^(NumberObject|TokenObject)\//.test(k)).length;
    const over = await start(4);
    assert.equal(`${over.status} ${await codeOf(over)}`, "429 rate_limited");
    const after = Object.keys(await w4.objectRows()).filter((k) => /^(NumberObject|TokenObject)\//.test(k)).length;
    assert.equal(after, before, "no number or token object past the bound");
  } finally {
    await w4.dispose();
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
    assert.equal((await start("+33612345678", 5)).status, 201, "the refused +44 gave its global token back");
    const global = await start("+33612345679", 6);
    assert.equal(global.status, 429, "the global budget: 4 texts sent");
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

// ---------- the threat model's attackers (docs/SECURITY.md), one by one ----------

const otherCode = (code) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");
const tallied = (trail, event, code) => trail.tallies.filter((t) => t.event === event && t.code === code).reduce((n, t) => n + t.count, 0);

test("SIM thief: the victim's SIM in the thief's phone is refused at verify (chip_mismatch: nothing changes, nothing texted) and at bind (binding_exists: the owner told once, nothing claimed)", async () => {
  const s = subscriber();
  const victim = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, victim, s.number);
  const before = await w.bindingRecord(bindingId);
  const thief = phone(w.url, { sim: s.simA }); // the thief's own chip, the victim's SIM
  for (let i = 0; i < 4; i++) {
    const e = await refusal(thief.client.verify(bindingId));
    assert.equal(e.code, "chip_mismatch");
    assert.equal(e.status, 403);
  }
  assert.deepEqual(await w.bindingRecord(bindingId), before, "not the bound chip: no failure counted, no suspension");
  assert.equal((await alerts(w, s.number)).length, 0, "and nothing texted");
  assert.equal(tallied(await w.trail(bindingId), "denied_unverified", "chip_mismatch"), 4);

  // The SIM in the thief's phone receives the code: bind the number to the thief's chip.
  const reg = await registered(w, s.number);
  const body = { otp: reg.otp, evidence: await signedEvidence(thief.device, reg.challenge, "bind", reg.id) };
  const res = await w.post(`/v1/registrations/${reg.id}/binding`, body);
  assert.equal(res.status, 409);
  assert.equal(await codeOf(res), "binding_exists");
  assert.equal(await codeOf(await w.post(`/v1/registrations/${reg.id}/binding`, body)), "registration_not_found", "the code bought one attempt");
  assert.deepEqual(await w.bindingRecord(bindingId), before, "the binding keeps its chip, SIM and counter");
  assert.equal((await alerts(w, s.number)).length, 1, "a correct code against a live binding: the owner is told");
  assert.deepEqual((await w.audit(bindingId)).map((e) => `${e.event}:${e.code ?? ""}`).slice(-2), ["denied:binding_exists", "alert_sent:binding_exists"]);
  await victim.client.verify(bindingId);
  // The refused bind claimed nothing for the thief's chip: it still binds the thief's own number.
  const own = subscriber();
  thief.device.insertSim(own.simA);
  const theirs = await bindPhone(w, thief, own.number);
  assert.notEqual(theirs.bindingId, bindingId);
});

test("SIM swapper: the number's codes on a new SIM do not move the binding (binding_exists, the owner told once, the binding as it was); only the bound chip re-binds", async () => {
  const s = subscriber();
  const owner = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, owner, s.number);
  const before = await w.bindingRecord(bindingId);
  const swapper = phone(w.url, { sim: s.simB }); // the carrier moved the number to SIM B, in the swapper's phone
  for (let i = 0; i < 3; i++) {
    const reg = await registered(w, s.number); // the code reaches SIM B
    const body = { otp: reg.otp, evidence: await signedEvidence(swapper.device, reg.challenge, "bind", reg.id) };
    const res = await w.post(`/v1/registrations/${reg.id}/binding`, body);
    assert.equal(res.status, 409, `attempt ${i + 1}`);
    assert.equal(await codeOf(res), "binding_exists");
  }
  assert.deepEqual(await w.bindingRecord(bindingId), before, "the binding keeps the owner's chip and SIM");
  assert.equal((await alerts(w, s.number)).length, 1, "one takeover text an hour");
  const trail = await w.trail(bindingId);
  assert.equal(trail.events.filter((e) => e.event === "denied" && e.code === "binding_exists").length, 1);
  assert.equal(tallied(trail, "takeover_suppressed", "binding_exists"), 2);
  // Nor can the swapper's phone act for the binding.
  assert.equal((await refusal(swapper.client.verify(bindingId))).code, "chip_mismatch");
  await owner.client.verify(bindingId);
  // Moving the binding to SIM B takes the bound chip: the owner re-proves the number with it.
  owner.device.insertSim(s.simB);
  const again = await bindPhone(w, owner, s.number);
  assert.equal(again.bindingId, bindingId);
  assert.equal(again.rebound, true);
  assert.equal(await codeOf(await w.post(`/v1/bindings/${bindingId}/verify`, await signedEvidence(swapper.device, await (await w.post(`/v1/bindings/${bindingId}/challenge`, { ceremony: "verify" })).json(), "verify", bindingId))), "chip_mismatch");
});

test("network attacker: a captured verify changed in any signed field, or mixed with another capture, is refused as unauthenticated and changes nothing", async () => {
  const s = subscriber();
  const other = subscriber();
  const p = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, p, s.number);
  await p.client.verify(bindingId);
  const before = await w.bindingRecord(bindingId);
  // A body the phone signed and the attacker caught before the worker saw it.
  const capture = async (ceremony = "verify") => {
    const challenge = await (await w.post(`/v1/bindings/${bindingId}/challenge`, { ceremony })).json();
    return signedEvidence(p.device, challenge, ceremony, bindingId);
  };
  const send = async (body, route = "verify") => {
    const res = await w.post(`/v1/bindings/${bindingId}/${route}`, body);
    return `${res.status} ${await codeOf(res)}`;
  };
  const tampered = {
    counter: (b) => ({ ...b, counter: b.counter + 1000 }),
    "sim.iccid": (b) => ({ ...b, sim: { ...b.sim, iccid: s.simB.iccid } }),
    "sim.imsi": (b) => ({ ...b, sim: { ...b.sim, imsi: s.simB.imsi } }),
    "sim.msisdn": (b) => ({ ...b, sim: { ...b.sim, msisdn: other.number } }),
    "sim.subscription_id": (b) => ({ ...b, sim: { ...b.sim, subscription_id: b.sim.subscription_id + 1 } }),
    "sim.slot_index": (b) => ({ ...b, sim: { ...b.sim, slot_index: 1 } }),
    "sim.embedded": (b) => ({ ...b, sim: { ...b.sim, embedded: !b.sim.embedded } }),
    "whole SIM": (b) => ({ ...b, sim: wireSim(other.simA) }),
  };
  for (const [field, change] of Object.entries(tampered)) {
    // The signature is checked before the SIM is compared: never sim_changed or number_changed.
    assert.equal(await send(change(await capture())), "401 bad_signature", field);
  }
  const [a, b] = [await capture(), await capture()];
  assert.equal(await send({ ...a, challenge: b.challenge }), "401 bad_signature", "one capture's challenge, another's signature");
  const [c, d] = [await capture(), await capture()];
  assert.equal(await send({ ...c, chip_signature: d.chip_signature }), "401 bad_signature", "one capture's fields, another's signature");
  assert.equal(await send(await capture(), "unbind"), "401 challenge_wrong_ceremony", "a captured verify does not unbind");
  assert.equal(await send({ ...(await capture()), chip: { ...a.chip, serial: `${a.chip.serial}X` } }), "403 chip_mismatch");

  assert.deepEqual(await w.bindingRecord(bindingId), before, "no counter advanced, no failure counted, still active");
  assert.equal((await alerts(w, s.number)).length, 0, "no text");
  assert.equal(tallied(await w.trail(bindingId), "denied_unverified", "bad_signature"), 10);
  await p.client.verify(bindingId);
});

test("brute forcer: a code is good for 5 minutes, and an hour of guessing one number is 5 registrations × 5 guesses, after which even the right codes fail", async () => {
  const strict = await startWorker({ bindings: { REGISTRATIONS_PER_HOUR: undefined } }); // the default: 5
  try {
    const s = subscriber();
    const p = phone(strict.url, { sim: s.simA });
    const answers = [];
    const registrations = [];
    for (let r = 0; r < 5; r++) {
      const now = Math.floor(Date.now() / 1000);
      const reg = await registered(strict, s.number);
      assert.ok(Math.abs(reg.challenge.otp_expires_at - now - 300) <= 1, "the code expires in 5 minutes");
      registrations.push(reg);
      for (let g = 0; g < 5; g++) {
        const body = { otp: otherCode(reg.otp), evidence: await signedEvidence(p.device, reg.challenge, "bind", reg.id) };
        answers.push(await codeOf(await strict.post(`/v1/registrations/${reg.id}/binding`, body)));
      }
    }
    assert.deepEqual(answers, Array(5).fill([...Array(4).fill("otp_invalid"), "otp_attempts_exhausted"]).flat());
    const sixth = await strict.post("/v1/registrations", { phone_number: s.number });
    assert.equal(sixth.status, 429);
    assert.equal(await codeOf(sixth), "rate_limited");
    assert.ok(Number(sixth.headers.get("retry-after")) > 0);
    for (const reg of registrations) {
      const body = { otp: reg.otp, evidence: await signedEvidence(p.device, reg.challenge, "bind", reg.id) };
      const res = await strict.post(`/v1/registrations/${reg.id}/binding`, body);
      assert.equal(res.status, 429);
      assert.equal(await codeOf(res), "otp_attempts_exhausted", "the right code, too late");
    }
    assert.equal((await strict.outbox(s.number)).length, 5, "five codes texted, no sixth");
    const rows = await strict.objectRows();
    assert.ok(!Object.keys(rows).some((t) => t.startsWith("BindingObject/") || t.endsWith("/bound")), "nothing bound");
  } finally {
    await strict.dispose();
  }
});

test("SMS spammer: forged SIM-change reports and wrong codes against a live binding text nobody, suspend nothing and change nothing", async () => {
  const s = subscriber();
  const v = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, v, s.number);
  const before = await w.bindingRecord(bindingId);
  // The spammer knows the binding id and the victim chip's serial and public key, not its private key.
  const spammer = new SoftwareBridge(v.serial);
  spammer.insertSim(s.simB);
  for (let i = 0; i < 6; i++) { // twice the suspension threshold
    const challenge = await (await w.post(`/v1/bindings/${bindingId}/challenge`, { ceremony: "verify" })).json();
    const body = await signedEvidence(spammer, challenge, "verify", bindingId);
    const res = await w.post(`/v1/bindings/${bindingId}/verify`, { ...body, chip: { ...body.chip, public_key: v.device.chipInfo().publicKey } });
    assert.equal(res.status, 401);
    assert.equal(await codeOf(res), "bad_signature", "a report of another SIM the bound chip did not sign");
  }
  // Wrong codes for the victim's number (the spammer cannot read its SMS).
  for (let i = 0; i < 3; i++) {
    const reg = await registered(w, s.number);
    const body = { otp: otherCode(reg.otp), evidence: await signedEvidence(spammer, reg.challenge, "bind", reg.id) };
    const res = await w.post(`/v1/registrations/${reg.id}/binding`, body);
    assert.equal(res.status, 401);
    assert.equal(await codeOf(res), "otp_invalid");
  }
  assert.deepEqual(await w.bindingRecord(bindingId), before, "active, no failure counted");
  const texts = await w.outbox(s.number);
  assert.equal(texts.filter((m) => m.kind === "alert").length, 0, "no alert for what the bound chip did not sign, nor for a wrong code");
  assert.equal(texts.filter((m) => m.kind === "otp").length, 4, "only the codes asked for (the victim's own and three, limited per number)");
  const trail = await w.trail(bindingId);
  assert.equal(tallied(trail, "denied_unverified", "bad_signature"), 6);
  assert.ok(!trail.events.some((e) => e.event === "denied"), "nothing listed one by one");
  await v.client.verify(bindingId);
});

test("storage reader: no number, ICCID, IMSI, serial, sender address or code is stored in any encoding; hashes are keyed, objects named by them, registration ids seal them", async () => {
  const store = await startWorker();
  try {
    const pepper = devSecrets().ID_HASH_PEPPER;
    const field = (b) => { const len = Buffer.alloc(4); len.writeUInt32BE(Buffer.byteLength(b)); return Buffer.concat([len, Buffer.from(b)]); };
    const idInput = (kind, value) => Buffer.concat([field("SIMBIND-ID"), field(kind), field(value)]);
    const keyed = (kind, value) => createHmac("sha256", pepper).update(idInput(kind, value)).digest("hex");
    const v4 = "198.51.100.23";
    const v6 = "2001:db8:5:6::7";
    const from = (ip) => ({ "cf-connecting-ip": ip });
    /** Registers `number` from the sender `ip`, then binds it with `p`'s client. */
    const bindFrom = async (p, number, ip) => {
      const res = await store.post("/v1/registrations", { phone_number: number }, from(ip));
      assert.equal(res.status, 201);
      const { registration_id: id } = await res.json();
      return p.client.completeBinding(id, await store.otp(number));
    };

    const s = subscriber();
    const t = subscriber();
    const p = phone(store.url, { sim: { ...s.simA, secretKey: Buffer.alloc(32, 0x47).toString("base64url") } });
    const { bindingId } = await bindFrom(p, s.number, v4);
    await p.client.verify(bindingId);
    p.device.insertSim(s.simB);
    assert.equal((await refusal(p.client.verify(bindingId))).code, "sim_changed");
    assert.equal((await bindFrom(p, s.number, v6)).rebound, true, "re-bound to SIM B");
    await p.client.verify(bindingId);
    const stranger = phone(store.url, { sim: s.simA });
    assert.equal((await refusal(stranger.client.verify(bindingId))).code, "chip_mismatch");
    const taker = phone(store.url, { sim: s.simB });
    assert.equal((await refusal(bindFrom(taker, s.number, v6))).code, "binding_exists");
    // A registration never completed, with a wrong guess; and a second one for the same number.
    const pending = [];
    for (let i = 0; i < 2; i++) {
      const res = await store.post("/v1/registrations", { phone_number: t.number }, from(v6));
      const { registration_id: id, ...challenge } = await res.json();
      pending.push(id);
      const body = { otp: otherCode(await store.otp(t.number)), evidence: await signedEvidence(taker.device, challenge, "bind", id) };
      assert.equal(await codeOf(await store.post(`/v1/registrations/${id}/binding`, body)), "otp_invalid");
    }
    const guess = await fetch(`${store.url}/v1/admin/bindings/${bindingId}`, { headers: { authorization: "Bearer guess", ...from(v4) } });
    assert.equal(guess.status, 401);

    const identifiers = [
      s.number, s.number.slice(1), t.number, t.number.slice(1),
      s.simA.iccid, s.simA.imsi, s.simB.iccid, s.simB.imsi, t.simA.iccid,
      p.serial, stranger.serial, taker.serial,
      v4, v6, "2001:db8:5:6", "127.0.0.1",
    ];
    const forms = identifiers.flatMap((x) => [x, Buffer.from(x).toString("hex"), Buffer.from(x).toString("base64url"), Buffer.from(x).toString("base64")]);
    const codes = [...(await store.outbox(s.number)), ...(await store.outbox(t.number))].filter((m) => m.kind === "otp").map((m) => m.text.slice(0, 6));
    assert.equal(codes.length, 5);

    const rows = await store.objectRows();
    for (const table of ["BindingObject/*/record", "BindingObject/*/audit", "BindingObject/*/tally", "NumberObject/*/registration", "NumberObject/*/bound", "ChipObject/*/holder", "LimiterObject/*/bucket"]) {
      const [cls, , name] = table.split("/");
      assert.ok(Object.keys(rows).some((k) => k.startsWith(`${cls}/`) && k.endsWith(`/${name}`)), `the flow stored ${table}`);
    }
    const text = JSON.stringify(rows);
    const lower = text.toLowerCase();
    for (const form of forms) assert.ok(!lower.includes(form.toLowerCase()), `a row holds ${form}`);
    // Codes: no string stored (nested JSON included) holds one.
    const strings = [];
    const walk = (v) => {
      if (typeof v === "string") {
        strings.push(v);
        if (/^[[{]/.test(v)) { try { walk(JSON.parse(v)); } catch { /* not JSON */ } }
      } else if (v && typeof v === "object") Object.values(v).forEach(walk);
    };
    walk(rows);
    for (const code of codes) assert.ok(!strings.some((x) => x.includes(code)), `a stored string holds the code ${code}`);
    const files = store.storageBytes();
    for (const [file, bytes] of Object.entries(files)) {
      for (const form of forms) {
        assert.ok(!bytes.includes(Buffer.from(form)), `${file} holds ${form}`);
        assert.ok(!file.includes(form), `${file} is named by ${form}`);
      }
    }
    for (const [key, value] of Object.entries(await store.kvDump())) {
      assert.match(key, /^outbox:[0-9a-f]{64}:/, "KV holds only the dev outbox, keyed by a hash");
      for (const form of forms) assert.ok(!key.includes(form) && !value.includes(form), `KV ${key} holds ${form}`);
    }

    // The hashes are keyed with the pepper: the keyed ones are stored, no unkeyed one is.
    for (const [kind, value] of [["msisdn", s.number], ["iccid", s.simB.iccid], ["imsi", s.simB.imsi]]) {
      assert.ok(text.includes(keyed(kind, value)), `the ${kind} is stored as its keyed hash`);
      for (const unkeyed of [
        createHash("sha256").update(value).digest(),
        createHash("sha256").update(idInput(kind, value)).digest(),
        createHmac("sha256", "").update(idInput(kind, value)).digest(),
      ]) {
        assert.ok(!lower.includes(unkeyed.toString("hex")) && !text.includes(unkeyed.toString("base64url")), `an unkeyed ${kind} hash is stored`);
      }
    }
    // Objects are named by keyed hashes, never by an identifier.
    const ids = new Set(Object.keys(files).map((f) => f.split("/").at(-1).replace(/\.sqlite.*$/, "")));
    const idOf = async (binding, name) => (await store.mf.getDurableObjectNamespace(binding)).idFromName(name).toString();
    assert.ok(ids.has(await idOf("NUMBERS", keyed("msisdn", s.number).slice(0, 32))), "the number's object is named by its keyed hash");
    assert.ok(ids.has(await idOf("LIMITS", `registration-sender:${keyed("client-ip", `v4:${v4}`)}`)), "the sender's bucket is named by its keyed hash");
    assert.ok(ids.has(await idOf("LIMITS", `admin-failures:${keyed("client-ip", `v4:${v4}`)}`)));
    const clearNames = [...identifiers, `v4:${v4}`, "v6:2001:db8:5::/56", "v6:2001:db8:5::/48"].flatMap((x) => [x, `registration-sender:${x}`, `admin-failures:${x}`]);
    for (const binding of Object.keys(OBJECTS)) {
      for (const name of clearNames) assert.ok(!ids.has(await idOf(binding, name)), `${binding} has an object named ${name}`);
    }
    // A registration id seals its number key: the key is not in it, and two ids of one number share nothing.
    const key = Buffer.from(keyed("msisdn", t.number).slice(0, 32), "hex");
    const bodies = pending.map((id) => Buffer.from(id.slice(4), "base64url"));
    for (const [i, body] of bodies.entries()) {
      assert.equal(body.length, 44);
      assert.ok(!body.includes(key) && !pending[i].includes(key.toString("hex")) && !pending[i].includes(key.toString("base64url")), "the number key in clear in a registration id");
    }
    assert.notDeepEqual(bodies[0].subarray(12, 28), bodies[1].subarray(12, 28), "two registrations of one number look unrelated");
  } finally {
    await store.dispose();
  }
});

test("software impostor: where only the real formats are accepted, a software key binds as none of them", async () => {
  const issuer = quickIssuer();
  const bind = async (world, p, number) => {
    const { registrationId } = await p.client.startRegistration(number);
    return p.client.completeBinding(registrationId, await world.otp(number));
  };
  const production = await startWorker({ bindings: { CHIP_FORMATS: "android-key,apple-appattest" } });
  // Without the tests' root, the tests' attestations are as good as self-made ones.
  const untrusting = await startWorker({ bindings: { CHIP_FORMATS: "android-key,apple-appattest", ATTESTATION_TEST_ROOT: undefined } });
  try {
    const s = subscriber();
    const script = phone(production.url, { sim: s.simA }); // a software P-256 key, as itself
    const e = await refusal(bindPhone(production, script, s.number));
    assert.equal(e.code, "attestation_format_not_allowed");
    assert.equal(e.status, 403);
    for (const format of ["android-key", "apple-appattest"]) {
      const unattested = attestedPhone(production.url, { format, sim: s.simA, issuer });
      unattested.bridge.chipAttest = undefined; // a software key claiming the format, with nothing to show
      const missing = await refusal(bind(production, unattested, s.number));
      assert.equal(missing.code, "attestation_required", format);
      assert.equal(missing.status, 400);
      const selfMade = attestedPhone(untrusting.url, { format, sim: s.simA, issuer });
      const untrusted = await refusal(bind(untrusting, selfMade, s.number));
      assert.equal(untrusted.code, "attestation_untrusted_root", format);
      assert.equal(untrusted.status, 403);
    }
    for (const world of [production, untrusting]) {
      const rows = await world.objectRows();
      assert.ok(!Object.keys(rows).some((t) => t.startsWith("BindingObject/") || t.startsWith("ChipObject/")), "no binding, no chip claimed");
      assert.equal((await world.outbox(s.number)).filter((m) => m.kind === "alert").length, 0);
    }
    // The same number then binds from a phone whose key the trusted root attests.
    const real = attestedPhone(production.url, { format: "android-key", sim: s.simA, issuer });
    assert.equal((await bind(production, real, s.number)).status, "active");
  } finally {
    await production.dispose();
    await untrusting.dispose();
  }
});

test("malformed-input sender: an App Attest attestation object or assertion with bytes after its CBOR item is refused", async () => {
  const issuer = quickIssuer();
  const bind = async (p, s) => {
    const { registrationId } = await p.client.startRegistration(s.number);
    return p.client.completeBinding(registrationId, await w.otp(s.number));
  };
  const s = subscriber();
  const p = attestedPhone(w.url, { format: "apple-appattest", sim: s.simA, issuer });
  const attest = p.bridge.chipAttest;
  p.bridge.chipAttest = (challenge) => { const made = attest(challenge); return { ...made, attestation: `${made.attestation}AAAA` }; }; // 3 bytes after the map
  const e = await refusal(bind(p, s));
  assert.equal(e.code, "attestation_malformed");
  const t = subscriber();
  const q = attestedPhone(w.url, { format: "apple-appattest", sim: t.simA, issuer });
  const { bindingId } = await bind(q, t);
  const assert_ = q.bridge.chipSign;
  q.bridge.chipSign = (transcript) => Buffer.concat([Buffer.from(assert_(transcript)), Buffer.alloc(3)]);
  const f = await refusal(q.client.verify(bindingId));
  assert.ok(["bad_signature", "invalid_signature_encoding"].includes(f.code), f.code);
});
