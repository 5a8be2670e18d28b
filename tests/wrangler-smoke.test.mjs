// Starts the real `wrangler dev` as `make dev` does (built worker, local
// Durable Objects and KV, demo assets), runs a binding, a verification and
// the two races that matter most against it, stops it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startWranglerDev } from "./lib/wrangler-dev.mjs";
import { bindPhone, phone, signedEvidence, subscriber } from "./lib/phone.mjs";

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
  const dev = await startWranglerDev();
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
    assert.equal(grant.grant.split(".").length, 3);

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
});
