// Starts the real `wrangler dev` as `make dev` does (built worker, local
// Durable Objects and KV, demo assets, the dev carrier), walks the part of
// the bank profile (tests/bank-profile.test.mjs) that make dev's own
// configuration runs, then a binding, a verification and the two races that
// matter most against it, and stops it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startWranglerDev } from "./lib/wrangler-dev.mjs";
import { checkGrant, grantsChecked } from "./lib/grant.mjs";
import { bindPhone, phone, refusal, signedEvidence, subscriber } from "./lib/phone.mjs";

const ADMIN = { authorization: "Bearer dev-only-admin-token" };
let dev;
before(async () => { dev = await startWranglerDev(); });
after(async () => { await dev?.stop(); });

const admin = async (path, method = "GET") => (await fetch(`${dev.url}/v1/admin/bindings/${path}`, { method, headers: ADMIN })).json();
const outbox = async (number, kind) => (await (await fetch(`${dev.url}/dev/outbox?phone_number=${encodeURIComponent(number)}`)).json()).messages.filter((m) => m.kind === kind);

test("bank profile on make dev's configuration: register, bind, verify with and without a transaction, carrier push, unbind", { timeout: 60_000 }, async () => {
  const s = subscriber();
  const p = phone(dev.url, { sim: s.simA });
  const { bindingId, status } = await bindPhone(dev, p, s.number);
  assert.equal(status, "active", "the dev carrier accepted the client assertion and was asked");
  const checked = grantsChecked.count;
  const opened = await p.client.verify(bindingId);
  await checkGrant(dev.url, opened.grant, { sub: bindingId, txn: null });
  const payment = new Uint8Array(32).fill(0x5a);
  const paid = await p.client.verify(bindingId, payment);
  await checkGrant(dev.url, paid.grant, { sub: bindingId, txn: Buffer.from(payment).toString("base64url") });
  assert.equal(grantsChecked.count, checked + 2);
  assert.equal((await admin(bindingId)).status, "active");
  // The binding subscribes at the dev carrier right after bind; a swap it reports suspends at once.
  const end = Date.now() + 10_000;
  while (!(await admin(`${bindingId}/audit`)).events.some((e) => e.event === "carrier_subscribed")) {
    assert.ok(Date.now() < end, "subscribed at the dev carrier");
    await new Promise((r) => setTimeout(r, 100));
  }
  const swap = await fetch(`${dev.url}/dev/carrier/swap`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ phone_number: s.number }) });
  assert.deepEqual(await swap.json(), { notified: 1 });
  assert.equal((await admin(bindingId)).status, "suspended");
  assert.equal((await outbox(s.number, "alert")).length, 1, "the owner was texted");
  assert.equal((await refusal(p.client.verify(bindingId))).code, "binding_suspended");
  const lifted = await admin(`${bindingId}/reinstate`, "POST");
  assert.equal(lifted.status, "active");
  await p.client.verify(bindingId);
  const unbound = await p.client.unbind(bindingId);
  assert.equal(unbound.status, "revoked");
  assert.equal((await admin(bindingId)).status, "revoked");
});

const PARALLEL = 20;

async function atOnce(url, path, bodies) {
  const post = (b) => fetch(url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(b) });
  const answers = await Promise.all(bodies.map(post));
  const codes = await Promise.all(answers.map(async (r) => (r.ok ? "ok" : (await r.json()).code)));
  const tally = {};
  for (const c of codes) tally[c] = (tally[c] ?? 0) + 1;
  return tally;
}

test("wrangler dev serves the API and the demo; bind, verify and parallel replays are exact", { timeout: 90_000 }, async () => {
  try {
    const page = await fetch(`${dev.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /SimBind/);
    // web-demo/_headers: the page's own policy (assets bypass the worker).
    assert.match(page.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
    assert.doesNotMatch(page.headers.get("content-security-policy") ?? "", /unsafe-inline/);
    assert.equal(page.headers.get("referrer-policy"), "no-referrer");
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
    const s = subscriber();
    const p = phone(dev.url, { sim: s.simA });
    const { bindingId } = await bindPhone(dev, p, s.number);
    const grant = await p.client.verify(bindingId);
    await checkGrant(dev.url, grant.grant, { sub: bindingId, txn: null });

    const challenge = async () =>
      (await fetch(`${dev.url}/v1/bindings/${bindingId}/challenge`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"ceremony":"verify"}',
      })).json();
    // One captured body, 20 times at once: one grant.
    const captured = await signedEvidence(p.device, await challenge(), "verify", bindingId);
    const path = `/v1/bindings/${bindingId}/verify`;
    assert.deepEqual(await atOnce(dev.url, path, Array(PARALLEL).fill(captured)), { ok: 1, challenge_reused: PARALLEL - 1 });
    // A cloned key: 3 fresh challenges, one counter, at once: one grant, then refusals.
    const base = p.device.nextCounter() + 10;
    const clones = [];
    for (let i = 0; i < 3; i++) {
      const c = await challenge();
      p.device.setCounter(base);
      clones.push(await signedEvidence(p.device, c, "verify", bindingId));
    }
    assert.deepEqual(await atOnce(dev.url, path, clones), { ok: 1, counter_replayed: 2 });
  } finally {
    await dev.stop();
  }
  // The whole process group is gone: nothing still answers on the port.
  await assert.rejects(fetch(`${dev.url}/v1/health`));
  dev = undefined;
});
