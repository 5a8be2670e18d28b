// Starts the real `wrangler dev` (as `make dev` does) on a free loopback port
// with a throw-away local KV, and stops its whole process group.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { watchGrants } from "./grant.mjs";

// Every grant this suite receives is checked as a backend would (tests/lib/grant.mjs).
watchGrants();

const root = new URL("../../", import.meta.url).pathname;

/** A loopback port nothing listens on now. */
export function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `/v1/health` answers; `stop()` ends wrangler and workerd. */
/** A copy of wrangler.toml, next to it, with the dev request limit set to `limit`. */
function limitedConfig(limit, port) {
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  const at = toml.indexOf("[[env.dev.ratelimits]]");
  const pattern = /simple = \{ limit = \d+, period = 60 \}/;
  if (at < 0 || !pattern.test(toml.slice(at))) throw new Error("wrangler.toml has no [[env.dev.ratelimits]] simple limit to raise");
  const limited = toml.slice(0, at) + toml.slice(at).replace(pattern, `simple = { limit = ${limit}, period = 60 }`);
  const path = join(root, `.wrangler-limit-${port}.toml`);
  writeFileSync(path, limited);
  // Gone even if the run dies before stop().
  process.once("exit", () => rmSync(path, { force: true }));
  return path;
}

export async function startWranglerDev({ timeoutMs = 60_000, requestLimit } = {}) {
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), "simbind-wrangler-"));
  // `requestLimit`: the dev `REQUEST_LIMIT` (requests a minute per sender and
  // subject) in a copy of wrangler.toml beside it (its paths are relative),
  // for a benchmark that verifies one binding faster than a phone would.
  const config = requestLimit === undefined ? [] : ["--config", limitedConfig(requestLimit, port)];
  const child = spawn(join(root, "node_modules/.bin/wrangler"), ["dev", "--env", "dev", ...config, "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state, "--log-level", "warn"], {
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
    if (config.length) rmSync(config[1], { force: true });
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
