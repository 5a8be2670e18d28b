// Starts the real `wrangler dev` as `make dev` does (built worker, local KV,
// demo assets), runs a binding and a verification against it, stops it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startWranglerDev } from "./lib/wrangler-dev.mjs";
import { bindPhone, phone, subscriber } from "./lib/phone.mjs";

test("wrangler dev serves the API and the demo; bind + verify work against it", { timeout: 90_000 }, async () => {
  const dev = await startWranglerDev();
  try {
    const page = await fetch(`${dev.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /SimBind/);
    const s = subscriber();
    const p = phone(dev.url, { sim: s.simA });
    const { bindingId } = await bindPhone(dev, p, s.number);
    const grant = await p.client.verify(bindingId);
    assert.equal(grant.grant.split(".").length, 3);
  } finally {
    await dev.stop();
  }
  // The whole process group is gone: nothing still answers on the port.
  await assert.rejects(fetch(`${dev.url}/v1/health`));
});
