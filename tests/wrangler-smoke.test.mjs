// Starts the real `wrangler dev` as `make dev` does (built worker, local KV,
// demo assets), runs a binding and a verification against it, stops it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { bindPhone, phone, subscriber } from "./lib/phone.mjs";

const root = new URL("../", import.meta.url).pathname;

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

test("wrangler dev serves the API and the demo; bind + verify work against it", { timeout: 90_000 }, async () => {
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), "simbind-wrangler-"));
  const child = spawn(join(root, "node_modules/.bin/wrangler"), ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state, "--log-level", "warn"], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        if ((await fetch(`${url}/v1/health`)).ok) break;
      } catch {}
      if (Date.now() > deadline) throw new Error(`wrangler dev did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /SimBind/);
    const s = subscriber();
    const p = phone(url, { sim: s.simA });
    const w = {
      otp: async (n) => {
        const res = await fetch(`${url}/dev/outbox?phone_number=${encodeURIComponent(n)}`);
        return (await res.json()).messages.at(-1).text.slice(0, 6);
      },
    };
    const { bindingId } = await bindPhone(w, p, s.number);
    const grant = await p.client.verify(bindingId);
    assert.equal(grant.grant.split(".").length, 3);
  } finally {
    process.kill(-child.pid, "SIGTERM");
    await new Promise((r) => child.once("exit", r));
    rmSync(state, { recursive: true, force: true });
  }
  // The whole process group is gone: nothing still answers on the port.
  await assert.rejects(fetch(`${url}/v1/health`));
});
