// The deployable configuration: what `wrangler deploy` would upload for the
// top level and for --env production carries no dev route, no outbox, no dev
// vars and no demo assets; the dev build refuses to serve a real host; the
// production build refuses dev mode.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker } from "./lib/worker.mjs";

const root = new URL("../", import.meta.url).pathname;
const MARKER = "x-simbind-dev-build"; // set by every dev route, see edge-worker/src/routes/dev.rs

/** `wrangler deploy --dry-run` for `env` (none: the top level): its output and bundled wasm. */
function dryRun(env) {
  const out = mkdtempSync(join(tmpdir(), "simbind-dry-"));
  try {
    const args = ["deploy", "--dry-run", "--outdir", out, ...(env ? ["--env", env] : [])];
    const run = spawnSync(join(root, "node_modules/.bin/wrangler"), args, {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const wasm = readdirSync(out).find((f) => f.endsWith(".wasm"));
    return { log: run.stdout + run.stderr, wasm: readFileSync(join(out, wasm)) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

test("the top level and --env production bundle no dev route, outbox, dev var or demo asset", { timeout: 60_000 }, () => {
  for (const env of [undefined, "production"]) {
    const { log, wasm } = dryRun(env);
    const what = env ?? "top level";
    assert.ok(!wasm.includes(Buffer.from(MARKER)), `${what}: the bundle holds a dev route`);
    assert.doesNotMatch(log, /assets directory/i, `${what}: demo assets uploaded`);
    assert.doesNotMatch(log, /SIMBIND_KV|outbox|"dev"|dev-only-|ATTESTATION_TEST_ROOT/, `${what}: dev binding or var`);
    assert.match(log, /ATTESTATION_STATUS/, `${what}: the status list's KV namespace`);
    assert.match(log, /SIMBIND_ENV \("production"\)/, what);
    assert.match(log, /env\.BINDINGS \(BindingObject\)/, what);
  }
  // The control: the dev environment does bundle them.
  const dev = dryRun("dev");
  assert.ok(dev.wasm.includes(Buffer.from(MARKER)));
  assert.match(dev.log, /Read \d+ files from the assets directory/);
});

test("the production build refuses dev mode; the dev build serves dev mode on localhost only", async () => {
  const prod = await startWorker({ build: "build" });
  try {
    const res = await fetch(`${prod.url}/v1/health`);
    assert.equal(res.status, 503);
    assert.equal((await res.json()).code, "misconfigured");
    const outbox = await fetch(`${prod.url}/dev/outbox?phone_number=%2B447700900123`);
    assert.equal(outbox.status, 503, "no outbox in the production build");
  } finally {
    await prod.dispose();
  }
  const dev = await startWorker();
  try {
    assert.equal((await fetch(`${dev.url}/v1/health`)).status, 200);
    const outside = await dev.mf.dispatchFetch("https://simbind.example/dev/outbox?phone_number=%2B447700900123");
    assert.equal(outside.status, 503, "dev mode on a real hostname");
    assert.equal((await outside.json()).code, "misconfigured");
    const marked = await fetch(`${dev.url}/dev/outbox?phone_number=%2B447700900123`);
    assert.equal(marked.headers.get(MARKER), "1");
  } finally {
    await dev.dispose();
  }
});
