// Security events pushed to the relying party (OpenID Shared Signals 1.0,
// RFC 8935 push) in workerd: each stored change of a binding yields its
// CAEP event, signed (RS256, or ES256 where a receiver asked), delivered by
// the binding object's alarm at least once and in the order stored, across
// receiver outages, 429s with Retry-After, timeouts, a 410 that disables the
// stream, and a worker restart. Two stand-in receivers check every SET as a
// receiver library does (tests/lib/ssf-receiver.mjs). Retry intervals are
// milliseconds here (SSF_RETRY_*), so nothing waits for real schedules.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker, wranglerVars } from "./lib/worker.mjs";
import { bindPhone, phone, refusal, subscriber, until } from "./lib/phone.mjs";
import { carrierBindings, clientKey, standInCarrier } from "./lib/carrier.mjs";
import { checkGrant } from "./lib/grant.mjs";
import { label, receiversVar, standInReceiver } from "./lib/ssf-receiver.mjs";

const ISSUER = wranglerVars().ISSUER;
const RISK = "https://schemas.openid.net/secevent/caep/event-type/risk-level-change";
const CREDENTIAL = "https://schemas.openid.net/secevent/caep/event-type/credential-change";
const ADMIN = { authorization: "Bearer dev-only-admin-token" };
const BANK_AUTH = "dev-only-bank-receiver-token";
const API_ROOT = "https://carrier.example/camara";
const TOKEN_URL = "https://carrier.example/oauth/token";
const CLIENT_ID = "simbind-events";
const carrierKey = clientKey();

let w;
const state = mkdtempSync(join(tmpdir(), "simbind-events-"));
const bank = await standInReceiver({ transmitter: () => w.url, issuer: ISSUER, audience: "https://bank.example/ssf", authorization: BANK_AUTH });
const fraud = await standInReceiver({ transmitter: () => w.url, issuer: ISSUER, audience: "fraud-desk" });
// A SIEM that cannot take pushes: it polls (RFC 8936) with its own token.
const SIEM_AUTH = "dev-only-siem-poll-token"; // a dev secret starts `dev-only-`; in production, e.g. `Bearer …`
const siem = await standInReceiver({ transmitter: () => w.url, issuer: ISSUER, audience: "siem" });
const carrier = standInCarrier({
  apiRoot: API_ROOT,
  tokenUrl: TOKEN_URL,
  clientId: CLIENT_ID,
  publicKey: carrierKey.publicKey,
  deliver: (sink, init) => fetch(w.url + new URL(sink).pathname, init),
});

const BINDINGS = {
  SSF_RECEIVERS: receiversVar(
    { id: "bank", url: bank.url, audience: "https://bank.example/ssf", authorization_secret: "SSF_AUTH_BANK" },
    { id: "fraud", url: fraud.url, audience: "fraud-desk", alg: "ES256", subject: "phone_number", events: [RISK, CREDENTIAL] },
  ).replace(/]$/, `,${JSON.stringify({ id: "siem", delivery: "poll", authorization_secret: "SSF_AUTH_SIEM" })}]`),
  SSF_AUTH_BANK: BANK_AUTH,
  SSF_AUTH_SIEM: SIEM_AUTH,
  SSF_RETRY_BASE_MS: "40",
  SSF_RETRY_MAX_MS: "1500",
  SSF_TIMEOUT_MS: "400",
  SSF_DISABLE_AFTER: "4",
  ...carrierBindings({ apiRoot: API_ROOT, tokenUrl: TOKEN_URL, clientId: CLIENT_ID, scalar: carrierKey.scalar, subscriptionSecs: 30 * 24 * 3600 }),
};

/** The worker's outbound requests: pushes to the receivers go out for real, the rest to the carrier. */
async function outbound(request) {
  if (!request.url.startsWith("http://127.0.0.1:")) return carrier.fetch(request);
  const init = { method: request.method, headers: Object.fromEntries(request.headers), body: await request.text(), redirect: "manual" };
  return fetch(request.url, init);
}
const start = () => startWorker({ bindings: BINDINGS, state, outboundService: outbound, requestLimit: 100_000 });

before(async () => { w = await start(); });
after(async () => {
  await w?.dispose();
  await bank.close();
  await fraud.close();
  await siem.close();
  rmSync(state, { recursive: true, force: true });
});

const admin = (path, body) => w.post(`/v1/admin${path}`, body ?? {}, ADMIN);
const streams = async () => Object.fromEntries((await (await fetch(`${w.url}/v1/admin/ssf/streams`, { headers: ADMIN })).json()).streams.map((s) => [s.stream_id, s]));
/** The audit trail's events that yield security events, as receiver labels. */
const stored = async (id) => (await w.audit(id)).flatMap((e) => ({
  bound: ["credential-change:create"],
  rebound: ["credential-change:update"],
  suspended: [`risk-level-change:HIGH:${e.code}`],
  reinstated: ["risk-level-change:LOW:reinstated"],
  unbound: ["credential-change:delete"],
  revoked: ["credential-change:revoke"],
}[e.event] ?? []));

/** A subscriber the carrier knows, bound on a new phone. */
async function bound() {
  const s = subscriber();
  carrier.numbers.set(s.number, { simChange: "2025-06-01T08:00:00Z", deviceChange: null, swapped: false });
  const p = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, p, s.number);
  return { s, p, bindingId };
}

test("the transmitter publishes its configuration and event keys, apart from the grant keys", async () => {
  const config = await (await fetch(`${w.url}/.well-known/ssf-configuration`)).json();
  // The deployment's PUBLIC_URL names the key set (here a made-up host: read from the worker).
  assert.deepEqual(config, { spec_version: "1_0", issuer: ISSUER, jwks_uri: "https://simbind.test/ssf/jwks.json", delivery_methods_supported: ["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"], default_subjects: "ALL" });
  const events = await (await fetch(`${w.url}/ssf/jwks.json`)).json();
  assert.deepEqual(events.keys.map((k) => `${k.kty} ${k.alg}`), ["RSA RS256", "EC ES256"]);
  assert.equal(Buffer.from(events.keys[0].n, "base64url").length, 256, "a 2048-bit modulus");
  assert.ok(events.keys.every((k) => !("d" in k)));
  const grants = await (await fetch(`${w.url}/.well-known/jwks.json`)).json();
  const eventPoints = new Set(events.keys.filter((k) => k.kty === "EC").map((k) => `${k.x}.${k.y}`));
  assert.ok(grants.keys.length > 0 && grants.keys.every((k) => k.kty === "EC" && !eventPoints.has(`${k.x}.${k.y}`)), "no event key among the grant keys, by the key itself");
  assert.ok(!grants.keys.some((k) => events.keys.some((e) => e.kid === k.kid)));
});

test("a binding's life reaches the bank in order, each event once; the fraud desk gets it by number, in ES256, even after the revoke clears the number", async () => {
  const { s, p, bindingId } = await bound();
  await p.client.verify(bindingId);
  p.device.insertSim(s.simB);
  for (let i = 0; i < 3; i++) assert.equal((await refusal(p.client.verify(bindingId))).code, "sim_changed");
  assert.equal((await w.bindingRecord(bindingId)).status, "suspended");
  assert.equal((await admin(`/bindings/${bindingId}/reinstate`)).status, 200);
  assert.equal((await admin(`/bindings/${bindingId}/revoke`)).status, 200);
  const expected = ["credential-change:create", "risk-level-change:HIGH:sim_changed", "risk-level-change:LOW:reinstated", "credential-change:revoke"];
  await until(() => bank.about(bindingId).length >= 4, "the bank's four events");
  assert.deepEqual(bank.about(bindingId), expected);
  assert.deepEqual(await stored(bindingId), expected, "the same changes, in the order stored");
  const mine = bank.events.filter((e) => e.subId.id === bindingId);
  assert.ok(mine.every((e) => e.alg === "RS256" && e.event.event_timestamp <= Math.floor(Date.now() / 1000)));
  await until(() => fraud.events.filter((e) => e.subId.phone_number === s.number).length >= 4, "the fraud desk's four events");
  const desk = fraud.events.filter((e) => e.subId.phone_number === s.number);
  assert.deepEqual(desk.map((e) => `${e.alg} ${e.subId.format} ${label(e)}`), expected.map((x) => `ES256 phone_number ${x}`));
  // A grant verifier never accepts a SET, even one signed ES256 like a grant: its key is not a grant key.
  await assert.rejects(checkGrant(w.url, desk[0].token), /signature does not verify under the published key/);
  assert.deepEqual([...bank.problems, ...fraud.problems], []);
  assert.equal(bank.duplicates + fraud.duplicates, 0);
});

test("outages, a timeout and a 429 with Retry-After delay delivery but lose and reorder nothing", async () => {
  bank.script("500", "503", "timeout", "429:1");
  const before = bank.pushes.length;
  const { bindingId } = await bound();
  assert.equal((await admin(`/bindings/${bindingId}/revoke`)).status, 200);
  await until(() => bank.about(bindingId).length >= 2, "both events after the outage", 20_000);
  assert.deepEqual(bank.about(bindingId), ["credential-change:create", "credential-change:revoke"]);
  const attempts = bank.pushes.slice(before);
  assert.deepEqual(attempts.slice(0, 4).map((p) => p.status), [500, 503, "timeout", 429]);
  assert.ok(attempts[4].at - attempts[3].at >= 1000, `the 429's Retry-After (1 s) was honoured: ${attempts[4].at - attempts[3].at} ms`);
  assert.ok(attempts[1].at - attempts[0].at < 1000, "other failures wait the (short) backoff");
  const bankStream = (await streams()).bank;
  assert.equal(bankStream.status, "enabled");
  assert.equal(bankStream.failures_in_a_row, 0, "transient failures never count toward disabling");
  assert.deepEqual(bank.problems, []);
});

test("a SET the receiver refuses (400) is dropped and counted; the next one still arrives", async () => {
  const { rejected } = (await streams()).bank;
  bank.script("400");
  const { bindingId } = await bound();
  assert.equal((await admin(`/bindings/${bindingId}/revoke`)).status, 200);
  await until(() => bank.about(bindingId).length >= 1, "the revoke");
  assert.deepEqual(bank.about(bindingId), ["credential-change:revoke"]);
  assert.equal((await streams()).bank.rejected, rejected + 1);
});

test("parallel changes to one binding reach the receiver in the order they were stored", async () => {
  const { bindingId, s } = await bound();
  const sub = await until(() => carrier.subscribed(s.number)[0], "a subscription");
  const t = Date.now() + 5000;
  const changes = [];
  for (let i = 0; i < 6; i++) {
    changes.push(carrier.notify(sub, "org.camaraproject.sim-swap-subscriptions.v0.swapped", {}, { time: new Date(t + i * 2000) }));
    changes.push(admin(`/bindings/${bindingId}/reinstate`));
  }
  await Promise.all(changes);
  const expected = await stored(bindingId);
  assert.ok(expected.length >= 3, `several changes were stored: ${expected}`);
  await until(() => bank.about(bindingId).length >= expected.length, "every stored change");
  assert.deepEqual(bank.about(bindingId), expected);
  assert.deepEqual(bank.problems, []);
});

test("a 410 disables the stream: later events are dropped and counted, never sent; the operator re-enables it and verifies", async () => {
  bank.script("410");
  const { bindingId } = await bound();
  await until(async () => (await streams()).bank.status === "disabled", "the stream disabled");
  const off = (await streams()).bank;
  assert.equal(off.reason, "the receiver answered 410 Gone");
  assert.equal(off.last_error, "http_410");
  const pushes = bank.pushes.length;
  assert.equal((await admin(`/bindings/${bindingId}/revoke`)).status, 200);
  await until(async () => (await streams()).bank.dropped >= off.dropped + 1, "the revoke dropped");
  assert.equal(bank.pushes.length, pushes, "nothing more was sent");
  assert.deepEqual(bank.about(bindingId), []);
  const refused = await admin("/ssf/streams/bank/verify", { state: "s-1" });
  assert.equal(refused.status, 409);
  const on = await admin("/ssf/streams/bank/status", { status: "enabled", reason: "receiver fixed" });
  assert.equal((await on.json()).status, "enabled");
  const verified = await (await admin("/ssf/streams/bank/verify", { state: "s-1" })).json();
  assert.equal(verified.delivered, true);
  const last = bank.events.at(-1);
  assert.equal(last.type, "https://schemas.openid.net/secevent/ssf/event-type/verification");
  assert.deepEqual([last.event, last.subId], [{ state: "s-1" }, { format: "opaque", id: "bank" }]);
  const { bindingId: next } = await bound();
  await until(() => bank.about(next).length >= 1, "events flow again");
  assert.deepEqual(bank.problems, []);
});

test("a paused stream holds its events and delivers them once enabled", async () => {
  assert.equal((await admin("/ssf/streams/bank/status", { status: "paused" })).status, 200);
  const { bindingId } = await bound();
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(bank.about(bindingId), [], "held while paused");
  assert.equal((await admin("/ssf/streams/bank/status", { status: "enabled" })).status, 200);
  await until(() => bank.about(bindingId).length >= 1, "delivered after enabling", 15_000);
  assert.deepEqual(bank.about(bindingId), ["credential-change:create"]);
});

test("events stored while the receiver is down survive a worker restart and arrive once", async () => {
  bank.down = true;
  const { bindingId } = await bound();
  assert.equal((await admin(`/bindings/${bindingId}/revoke`)).status, 200);
  await until(() => bank.pushes.filter((p) => p.status === 503).length >= 2, "attempts while down");
  await w.dispose();
  w = await start();
  bank.down = false;
  await until(() => bank.about(bindingId).length >= 2, "delivery after the restart", 20_000);
  assert.deepEqual(bank.about(bindingId), ["credential-change:create", "credential-change:revoke"]);
  assert.deepEqual(bank.problems, []);
});

test("the operator routes refuse a wrong token and an unknown stream; the configuration route is absent without receivers", async () => {
  const wrong = await fetch(`${w.url}/v1/admin/ssf/streams`, { headers: { authorization: "Bearer nope" } });
  assert.equal(wrong.status, 401);
  assert.equal((await (await admin("/ssf/streams/nobody/status", { status: "paused" })).json()).code, "stream_not_found");
  assert.equal((await (await admin("/ssf/streams/bank/status", { status: "off" })).json()).code, "invalid_field");
  const plain = await startWorker();
  try {
    assert.equal((await fetch(`${plain.url}/.well-known/ssf-configuration`)).status, 404);
    assert.equal((await fetch(`${plain.url}/ssf/jwks.json`)).status, 404);
  } finally {
    await plain.dispose();
  }
});

/** One RFC 8936 poll by the SIEM: acknowledges `ack`, reports `setErrs`. */
async function poll(body, authorization = SIEM_AUTH) {
  const res = await fetch(`${w.url}/ssf/poll/siem`, { method: "POST", headers: { "content-type": "application/json", authorization }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

test("a receiver that cannot take pushes polls (RFC 8936): SETs in the order stored, kept until acknowledged, each checked", async () => {
  // Whatever earlier tests queued: taken and acknowledged first.
  for (let more = true; more;) {
    const { body } = await poll({ maxEvents: 100, returnImmediately: true });
    const { ack } = await siem.takePolled(body.sets);
    await poll({ ack, maxEvents: 0 });
    more = body.moreAvailable;
  }
  const { bindingId } = await bound();
  assert.equal((await admin(`/bindings/${bindingId}/revoke`)).status, 200);
  const first = await until(async () => {
    const { body } = await poll({ maxEvents: 1, returnImmediately: true });
    return Object.keys(body.sets).length && body.moreAvailable ? body : undefined;
  }, "two SETs queued");
  // Not acknowledged: the same SET comes again (at least once).
  const again = (await poll({ maxEvents: 1 })).body;
  assert.deepEqual(Object.keys(again.sets), Object.keys(first.sets));
  const both = (await poll({ maxEvents: 10 })).body;
  assert.equal(Object.keys(both.sets).length, 2);
  assert.equal(both.moreAvailable, false);
  const { ack, setErrs } = await siem.takePolled(both.sets);
  assert.deepEqual(setErrs, {});
  assert.deepEqual(siem.about(bindingId), ["credential-change:create", "credential-change:revoke"]);
  const { delivered } = (await streams()).siem;
  const after = (await poll({ ack, maxEvents: 10 })).body;
  assert.deepEqual(after, { sets: {}, moreAvailable: false });
  assert.equal((await streams()).siem.delivered, delivered + 2, "acknowledged SETs count as delivered");
  assert.deepEqual(siem.problems, []);
});

test("a poll without the stream's token is refused, and refused SETs are counted", async () => {
  for (const wrong of ["Bearer nope", "", BANK_AUTH]) {
    const refused = await poll({}, wrong);
    assert.equal(`${refused.status} ${refused.body.code}`, "401 poll_unauthorized");
  }
  const bank = await fetch(`${w.url}/ssf/poll/bank`, { method: "POST", headers: { "content-type": "application/json", authorization: BANK_AUTH }, body: "{}" });
  assert.equal(bank.status, 401, "a push stream cannot be polled, even with its own header");
  assert.equal((await poll({ ack: Array(201).fill("j") })).body.code, "invalid_field");
  assert.equal((await poll({ maxEvents: -1 })).body.code, "invalid_field");
  const { bindingId } = await bound();
  const queued = await until(async () => {
    const { body } = await poll({ maxEvents: 10 });
    return Object.keys(body.sets).length ? body : undefined;
  }, "the bind's SET");
  const { rejected } = (await streams()).siem;
  const [jti] = Object.keys(queued.sets);
  await poll({ setErrs: { [jti]: { err: "invalid_request", description: "refused by the test" } }, maxEvents: 0 });
  assert.equal((await streams()).siem.rejected, rejected + 1);
  assert.deepEqual((await poll({ maxEvents: 10 })).body.sets, {});
  assert.ok(bindingId);
});

test("an outbox that cannot deliver stays bounded: past the cap the oldest events go, counted, and the rest arrive in order", async () => {
  const down = await standInReceiver({ transmitter: () => small.url, issuer: ISSUER, audience: "small" });
  down.down = true;
  const small = await startWorker({
    bindings: { SSF_RECEIVERS: receiversVar({ id: "small", url: down.url, audience: "small" }), SSF_OUTBOX_CAP: "3", SSF_RETRY_BASE_MS: "40", SSF_RETRY_MAX_MS: "300" },
    outboundService: outbound,
  });
  try {
    const s = subscriber();
    const p = phone(small.url, { sim: s.simA });
    const { bindingId } = await bindPhone(small, p, s.number);
    p.device.insertSim(s.simB);
    for (let i = 0; i < 3; i++) await refusal(p.client.verify(bindingId));
    assert.equal((await small.post(`/v1/admin/bindings/${bindingId}/reinstate`, {}, ADMIN)).status, 200);
    assert.equal((await small.post(`/v1/admin/bindings/${bindingId}/revoke`, {}, ADMIN)).status, 200);
    const rows = (await small.objectByName("BINDINGS", bindingId)).event_out ?? [];
    assert.equal(rows.length, 3, "four events stored, three kept");
    down.down = false;
    await until(() => down.about(bindingId).length >= 3, "the three kept events");
    assert.deepEqual(down.about(bindingId), ["risk-level-change:HIGH:sim_changed", "risk-level-change:LOW:reinstated", "credential-change:revoke"]);
    const listed = await (await fetch(`${small.url}/v1/admin/ssf/streams`, { headers: ADMIN })).json();
    assert.equal(listed.streams[0].dropped, 1, "the bind's event, dropped and counted");
    assert.deepEqual(down.problems, []);
  } finally {
    await small.dispose();
    await down.close();
  }
});
