// Starts the real `wrangler dev` as `make dev` does (built worker, demo
// assets, local KV in a temporary directory) on a free port, and stops its
// whole process group (wrangler and workerd) afterwards.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().on("error", reject).listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** `wrangler dev` on a free loopback port; resolves once `/v1/health` answers. */
export async function startWrangler({ timeoutMs = 60_000 } = {}) {
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), "simbind-demo-"));
  const child = spawn(
    join(root, "node_modules/.bin/wrangler"),
    ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state, "--log-level", "warn"],
    {
      cwd: root,
      detached: true, // its own process group, so workerd goes with it
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    },
  );
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  let exited = false;
  const exit = new Promise((resolve) => child.once("exit", () => resolve((exited = true))));
  const url = `http://127.0.0.1:${port}`;

  async function stop() {
    if (!exited) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
      await Promise.race([exit, new Promise((r) => setTimeout(r, 5000))]);
      if (!exited) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {}
        await exit;
      }
    } else {
      // wrangler is gone; make sure nothing of its group survived.
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }
    rmSync(state, { recursive: true, force: true });
  }

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${url}/v1/health`)).ok) break;
    } catch {}
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, port, stop, log: () => log };
}
