// CAMARA SIM-swap subscriptions in workerd: each binding's object creates a
// subscription at the stand-in carrier after bind (checked against
// sim-swap-subscriptions.yaml), replaces it before it expires and deletes
// it after unbind; the carrier's CloudEvents reach POST /v1/webhooks/carrier
// with the bearer credential the worker registered, and a swap suspends the
// binding at once.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./lib/worker.mjs";
import { bindPhone, phone, refusal, subscriber, until } from "./lib/phone.mjs";
import { carrierBindings, clientKey, standInCarrier } from "./lib/carrier.mjs";

const API_ROOT = "https://carrier.example/camara";
const TOKEN_URL = "https://carrier.example/oauth/token";
const CLIENT_ID = "simbind-test-client";
const SINK = "https://simbind.test/v1/webhooks/carrier";
const key = clientKey();
const DAY = 24 * 3600;

/** A worker keeping subscriptions of `subscriptionSecs`, with its own stand-in carrier. */
async function withSubscriptions(subscriptionSecs = 30 * DAY) {
  let url;
  const carrier = standInCarrier({
    apiRoot: API_ROOT,
    tokenUrl: TOKEN_URL,
    clientId: CLIENT_ID,
    publicKey: key.publicKey,
    // The sink is the deployment's PUBLIC_URL; here it is this worker.
    deliver: (sink, init) => fetch(url + new URL(sink).pathname, init),
  });
  const w = await startWorker({
    bindings: carrierBindings({ apiRoot: API_ROOT, tokenUrl: TOKEN_URL, clientId: CLIENT_ID, scalar: key.scalar, subscriptionSecs }),
    outboundService: (request) => carrier.fetch(request),
  });
  url = w.url;
  return { w, carrier };
}

/** A subscriber the carrier knows, bound on a new phone. */
async function bound({ w, carrier }) {
  const s = subscriber();
  carrier.numbers.set(s.number, { simChange: "2025-06-01T08:00:00Z", deviceChange: null, swapped: false });
  const p = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, p, s.number);
  return { s, p, bindingId };
}

const live = (carrier, number) => until(() => carrier.subscribed(number)[0], "a subscription");

let shared;
before(async () => { shared = await withSubscriptions(); });
after(() => shared.w.dispose());

test("a bind subscribes, with a bearer sink credential the spec allows; a swap pushed to the sink suspends the binding at once and texts the owner", async () => {
  const { w, carrier } = shared;
  const { s, p, bindingId } = await bound(shared);
  const sub = await live(carrier, s.number);
  assert.deepEqual(carrier.problems, [], "every request matched the CAMARA definitions");
  const { request } = sub;
  assert.equal(request.sink, SINK);
  assert.deepEqual(request.types, ["org.camaraproject.sim-swap-subscriptions.v0.swapped"]);
  assert.equal(request.config.subscriptionDetail.phoneNumber, s.number);
  assert.equal(request.sinkCredential.credentialType, "ACCESSTOKEN");
  assert.equal(request.sinkCredential.accessTokenType, "bearer");
  // F11 of the 2026-12 review: a sealed handle, not the binding id (every grant's `sub`).
  assert.match(request.sinkCredential.accessToken, /^snk_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  assert.ok(!request.sinkCredential.accessToken.includes(bindingId.slice(4)), "the carrier cannot link the number to grants");
  const lifetime = Date.parse(request.config.subscriptionExpireTime) / 1000 - Date.now() / 1000;
  assert.ok(Math.abs(lifetime - 30 * DAY) < 60, "asked for 30 days");
  assert.equal(request.sinkCredential.accessTokenExpiresUtc, request.config.subscriptionExpireTime);
  const record = await w.bindingRecord(bindingId);
  assert.equal(record.subscription.id, sub.id);
  assert.ok(!JSON.stringify(record).includes(request.sinkCredential.accessToken.split(".")[1]), "only the credential's hash is kept");
  await p.client.verify(bindingId);

  const [status] = await carrier.swap(s.number);
  assert.equal(status, 204);
  assert.equal((await w.bindingRecord(bindingId)).status, "suspended", "suspended by the notification, before any verify");
  assert.equal((await refusal(p.client.verify(bindingId))).code, "binding_suspended");
  const alerts = (await w.outbox(s.number)).filter((m) => m.kind === "alert");
  assert.equal(alerts.length, 1);
  assert.match(alerts[0].text, /operator/);
  // The way out it names is the one that works: re-binding is refused while the swap is recent.
  assert.match(alerts[0].text, /waiting period, or your provider can restore it/);
  assert.doesNotMatch(alerts[0].text, /re-register with a code/);
  const trail = await w.audit(bindingId);
  assert.ok(trail.some((e) => e.event === "suspended" && e.code === "carrier_sim_swapped"), JSON.stringify(trail));
  // The same notification again changes nothing and texts no one.
  assert.equal(await carrier.notify(sub, "org.camaraproject.sim-swap-subscriptions.v0.swapped"), 204);
  assert.equal((await w.outbox(s.number)).filter((m) => m.kind === "alert").length, 1);
  // Re-binding within maxAge is refused: the carrier's check now says swapped.
  assert.equal((await refusal(bindPhone(w, p, s.number))).code, "carrier_sim_swapped");
  assert.deepEqual(carrier.problems, []);
});

test("eight copies of a swap notification at once suspend the binding once and text once", async () => {
  const { w, carrier } = shared;
  const { s, bindingId } = await bound(shared);
  const sub = await live(carrier, s.number);
  carrier.numbers.get(s.number).simChange = new Date().toISOString();
  const statuses = await Promise.all(Array.from({ length: 8 }, () => carrier.notify(sub, "org.camaraproject.sim-swap-subscriptions.v0.swapped")));
  assert.deepEqual(statuses, Array(8).fill(204));
  const record = await w.bindingRecord(bindingId);
  assert.equal(record.status, "suspended");
  assert.equal((await w.outbox(s.number)).filter((m) => m.kind === "alert").length, 1);
  const suspended = (await w.audit(bindingId)).filter((e) => e.event === "suspended");
  assert.equal(suspended.length, 1);
});

test("the sink takes only a live subscription's credential, naming its own subscription; it reads only CloudEvents", async () => {
  const { w, carrier } = shared;
  const { s, bindingId } = await bound(shared);
  const sub = await live(carrier, s.number);
  const other = await bound(shared);
  const otherSub = await live(carrier, other.s.number);
  const [handle, secret] = sub.token.split(".");
  const otherHandle = otherSub.token.split(".")[0];
  const forged = `${handle}.${Buffer.alloc(32, 7).toString("base64url")}`;
  for (const [token, why] of [
    [forged, "a made-up secret"],
    [`${otherHandle}.${secret}`, "this secret for another binding"],
    [`${bindingId}.${secret}`, "the binding id in clear"],
    [`snk_${Buffer.alloc(54, 1).toString("base64url")}.${secret}`, "a handle this deployment did not seal"],
    [otherSub.token, "another binding's credential"],
    ["not-a-credential", "no handle"],
  ]) {
    const status = await carrier.notify(sub, "org.camaraproject.sim-swap-subscriptions.v0.swapped", {}, { token });
    assert.equal(status, 401, why);
    assert.deepEqual(JSON.parse(carrier.deliveries.at(-1).body).code, "sink_unauthorized", why);
    assert.ok(!carrier.deliveries.at(-1).body.includes(s.number), "nothing echoed");
  }
  // Its own credential, but another subscription's id.
  assert.equal(await carrier.notify(sub, "org.camaraproject.sim-swap-subscriptions.v0.swapped", { subscriptionId: otherSub.id }), 401);
  assert.equal((await w.bindingRecord(bindingId)).status, "active", "nothing refused changed the binding");
  const send = (body, headers = {}) => w.post("/v1/webhooks/carrier", body, { "content-type": "application/cloudevents+json", authorization: `Bearer ${sub.token}`, ...headers });
  const event = { id: "1", source: API_ROOT, type: "org.camaraproject.sim-swap-subscriptions.v0.swapped", specversion: "1.0", time: new Date().toISOString(), data: { subscriptionId: sub.id } };
  for (const [body, why] of [
    ["{", "not JSON"],
    [{ ...event, specversion: "0.3" }, "another CloudEvents version"],
    [{ ...event, time: "yesterday" }, "no RFC 3339 time"],
    [{ ...event, data: {} }, "a swap naming no subscription"],
  ]) {
    const res = await send(body);
    assert.equal(res.status, 400, why);
    assert.equal((await res.json()).code, "sink_event_invalid", why);
  }
  const res = await send(event, { authorization: "" });
  assert.equal(`${res.status} ${(await res.json()).code}`, "401 sink_unauthorized");
  assert.equal((await send(event, { "content-type": "text/plain" })).status, 415);
  assert.equal((await w.bindingRecord(bindingId)).status, "active");
  // An event the sink has no use for is taken and changes nothing.
  assert.equal(await carrier.notify(sub, "org.camaraproject.api-name.v0.subscription-started", { initiationReason: "SUBSCRIPTION_CREATED" }), 204);
  assert.deepEqual(carrier.problems, []);
});

test("a re-bind keeps the binding's subscription: one per binding, whatever the binds", async () => {
  const { w, carrier } = shared;
  const { s, p, bindingId } = await bound(shared);
  const sub = await live(carrier, s.number);
  await until(async () => (await w.bindingRecord(bindingId)).subscription?.id === sub.id, "the record to keep it");
  const again = await bindPhone(w, p, s.number);
  assert.equal(again.bindingId, bindingId);
  assert.equal(again.rebound, true);
  assert.equal((await w.bindingRecord(bindingId)).subscription.id, sub.id);
  await new Promise((r) => setTimeout(r, 300)); // an alarm the re-bind set would have run by now
  assert.deepEqual(carrier.subscribed(s.number).map((x) => x.id), [sub.id]);
  assert.equal(await carrier.notify(sub, "org.camaraproject.sim-swap-subscriptions.v0.swapped"), 204);
  assert.equal((await w.bindingRecord(bindingId)).status, "suspended");
});

test("unbind deletes the subscription; while the carrier cannot delete it, its notifications are 410 so it stops", async () => {
  const { w, carrier } = await withSubscriptions(16); // retries every 2 s
  try {
    const { s, p, bindingId } = await bound({ w, carrier });
    const sub = await live(carrier, s.number);
    carrier.fail = 500;
    await p.client.unbind(bindingId);
    await until(async () => (await w.audit(bindingId)).some((e) => e.event === "carrier_subscription_failed"), "a failed delete");
    assert.equal(await carrier.notify(sub, "org.camaraproject.sim-swap-subscriptions.v0.swapped"), 410);
    assert.equal(JSON.parse(carrier.deliveries.at(-1).body).code, "sink_gone");
    sub.status = "ACTIVE"; // the carrier ignored the 410
    carrier.fail = null;
    await until(() => sub.status === "DELETED", "the retried delete");
    await until(async () => !(await w.bindingRecord(bindingId)).subscription, "the record to forget it");
    assert.ok((await w.audit(bindingId)).some((e) => e.event === "carrier_unsubscribed"));
    assert.equal(await carrier.notify(sub, "org.camaraproject.sim-swap-subscriptions.v0.swapped"), 401);
    assert.deepEqual(carrier.problems, []);
  } finally {
    await w.dispose();
  }
});

test("a subscription is replaced before it expires, the old one deleted; one the carrier ends is made again", async () => {
  const { w, carrier } = await withSubscriptions(8); // renewed after 6 s
  try {
    const { s, bindingId } = await bound({ w, carrier });
    const first = await live(carrier, s.number);
    const second = await until(() => carrier.subscribed(s.number).find((x) => x.id !== first.id), "a renewal", 12_000);
    await until(() => first.status === "DELETED", "the old one deleted");
    assert.equal((await w.bindingRecord(bindingId)).subscription.id, second.id);
    assert.equal(await carrier.notify(first, "org.camaraproject.sim-swap-subscriptions.v0.swapped"), 401, "the old credential is dead");
    assert.equal(await carrier.end(second, "NETWORK_TERMINATED"), 204);
    const third = await until(() => carrier.subscribed(s.number).find((x) => x.id !== second.id && x.id !== first.id), "a new subscription");
    assert.equal((await w.bindingRecord(bindingId)).subscription.id, third.id);
    assert.ok((await w.audit(bindingId)).some((e) => e.event === "carrier_subscription_ended"));
    assert.deepEqual(carrier.problems, []);
  } finally {
    await w.dispose();
  }
});

test("without CARRIER_SUBSCRIBE there is no sink", async () => {
  const w = await startWorker();
  try {
    const res = await w.post("/v1/webhooks/carrier", "{}", { "content-type": "application/cloudevents+json" });
    assert.equal(res.status, 404);
  } finally {
    await w.dispose();
  }
});
