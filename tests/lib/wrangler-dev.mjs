// Starts the real `wrangler dev` (as `make dev` does) on a free loopback port
// with a throw-away local KV, and stops its whole process group.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { watchGrants } from "./grant.mjs";

// Every grant this suite receives is checked as a backend would (tests/lib/grant.mjs).
watchGrants();

const root = new URL("../../", import.meta.url).pathname;

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `/v1/health` answers; `stop()` ends wrangler and workerd. */
export async function startWranglerDev({ timeoutMs = 60_000 } = {}) {
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), "simbind-wrangler-"));
  const child = spawn(join(root, "node_modules/.bin/wrangler"), ["dev", "--env", "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state, "--log-level", "warn"], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const exited = new Promise((r) => child.once("exit", r));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    await exited;
    rmSync(state, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${url}/v1/health`)).ok) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    stop,
    log: () => log,
    /** The latest one-time code texted to `number` (dev outbox). */
    async otp(number) {
      const res = await fetch(`${url}/dev/outbox?phone_number=${encodeURIComponent(number)}`);
      return (await res.json()).messages.filter((m) => m.kind === "otp").at(-1).text.slice(0, 6);
    },
  };
}
