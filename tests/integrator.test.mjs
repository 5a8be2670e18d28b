// What an app team gets: `npm pack` the built client, install the tarball in
// a fresh project, import it from plain Node ESM, and run register → bind →
// verify → SIM swap → denied → unbind against the worker in workerd.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorker } from "./lib/worker.mjs";
import { subscriber } from "./lib/phone.mjs";
import { checkGrant } from "./lib/grant.mjs";

let w;
let dir;
before(async () => {
  w = await startWorker();
  dir = mkdtempSync(join(tmpdir(), "simbind-integrator-"));
});
after(async () => {
  await w.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test("the packed npm package works from a fresh project", { timeout: 120_000 }, async () => {
  const pkg = new URL("../wasm-client/pkg/", import.meta.url).pathname;
  const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", dir], { cwd: pkg, encoding: "utf8" }));
  const files = packed[0].files.map((f) => f.path).sort();
  const entry = ["client.d.ts", "client.js", "index.d.ts", "index.js", "node.d.ts", "node.js", "simbind_client.d.ts", "simbind_client.js", "simbind_client_bg.wasm", "simbind_client_bg.wasm.d.ts"];
  const kit = ["conformance.d.ts", "conformance.js"];
  assert.deepEqual(files, ["LICENSE", "README.md", "package.json", ...entry, ...kit, ...entry.map((f) => `testing/${f}`)].sort());
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "integrator-app", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", join(dir, packed[0].filename)], { cwd: dir });

  const declared = (entry) => ["index.d.ts", "client.d.ts", "simbind_client.d.ts"].map((f) => readFileSync(join(dir, "node_modules/@simbind/client", entry, f), "utf8")).join("\n");
  const types = declared("");
  for (const name of ["class SimBindClient", "class Bridge", "buildTranscript", "interface SimBindError", "Promise<Grant>", "interface SimBindBridge"]) {
    assert.ok(types.includes(name), `types declare ${name}`);
  }
  assert.ok(!types.includes("Evidence"), "the shell's wasm steps are not part of the typed API");
  // The software chip (and its key export) is in the testing entry only.
  assert.ok(!types.includes("SoftwareBridge"), "the production entry has no software chip");
  const production = execFileSync("node", ["--input-type=module", "-e", 'const m = await import("@simbind/client"); console.log(JSON.stringify(["SoftwareBridge" in m, "SimBindClient" in m]))'], { cwd: dir, encoding: "utf8" });
  assert.deepEqual(JSON.parse(production), [false, true]);
  // The bridge conformance kit is an entry of its own, typed.
  const kitEntry = execFileSync("node", ["--input-type=module", "-e", 'await import("@simbind/client"); const k = await import("@simbind/client/conformance"); console.log(JSON.stringify([typeof k.runConformance, k.CHECKS.map((c) => c.id)]))'], { cwd: dir, encoding: "utf8" });
  const [runType, ids] = JSON.parse(kitEntry);
  assert.equal(runType, "function");
  assert.ok(ids.includes("chipSign.refuses-stale-counter") && ids.includes("host.subframe"), ids.join());
  assert.match(readFileSync(join(dir, "node_modules/@simbind/client/conformance.d.ts"), "utf8"), /export function runConformance/);
  const testingTypes = declared("testing");
  assert.ok(testingTypes.includes("class SoftwareBridge") && testingTypes.includes("exportKey"));
  assert.match(readFileSync(join(dir, "node_modules/@simbind/client/testing/index.d.ts"), "utf8"), /SoftwareBridge/);

  const s = subscriber();
  const app = `
    import init, { SimBindClient, Bridge, SoftwareBridge } from "@simbind/client/testing";
    await init(); // as the README shows for browsers; a no-op in Node
    const [url, number, simA, simB] = process.argv.slice(2).map((a, i) => (i < 2 ? a : JSON.parse(a)));
    const phone = new SoftwareBridge("INTEGRATOR-1");
    phone.insertSim(simA);
    const client = new SimBindClient(url, Bridge.fromObject(phone), "simbind-dev");
    const out = {};
    const { registrationId } = await client.startRegistration(number);
    const outbox = await (await fetch(url + "/dev/outbox?phone_number=" + encodeURIComponent(number))).json();
    const code = outbox.messages.at(-1).text.slice(0, 6);
    const { bindingId } = await client.completeBinding(registrationId, code);
    out.grant = await client.verify(bindingId);
    phone.insertSim(simB);
    try { await client.verify(bindingId); } catch (e) { out.denied = { name: e.name, code: e.code, status: e.status, source: e.source }; }
    phone.insertSim(simA);
    out.unbound = await client.unbind(bindingId);
    console.log(JSON.stringify(out));
  `;
  writeFileSync(join(dir, "app.mjs"), app);
  const output = execFileSync("node", ["app.mjs", w.url, s.number, JSON.stringify(s.simA), JSON.stringify(s.simB)], { cwd: dir, encoding: "utf8" });
  const out = JSON.parse(output.trim().split("\n").at(-1));
  assert.equal(out.grant.grant.split(".").length, 3);
  assert.ok(out.grant.expiresAt > Date.now() / 1000);
  assert.deepEqual(out.denied, { name: "SimBindError", code: "sim_changed", status: 403, source: "server" });
  assert.equal(out.unbound.status, "revoked");
});

test("the client README's quickstart is a file, shown in the README as it is, and runs as written from a fresh project", { timeout: 120_000 }, async () => {
  const example = new URL("../wasm-client/examples/quickstart.mjs", import.meta.url);
  const source = readFileSync(example, "utf8");
  const readme = readFileSync(new URL("../wasm-client/README.md", import.meta.url), "utf8");
  assert.ok(readme.includes("```js\n" + source + "```"), "wasm-client/README.md shows examples/quickstart.mjs verbatim");
  // The install the README gives: the tarball `npm pack` makes of the built package.
  const pkg = new URL("../wasm-client/pkg/", import.meta.url).pathname;
  const app = mkdtempSync(join(tmpdir(), "simbind-quickstart-"));
  try {
    const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", app], { cwd: pkg, encoding: "utf8" }));
    assert.equal(packed[0].name, "@simbind/client", "a scoped name nobody else can publish");
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "quickstart", private: true }));
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", join(app, packed[0].filename)], { cwd: app });
    writeFileSync(join(app, "quickstart.mjs"), source);
    const { number } = subscriber();
    const output = execFileSync("node", ["quickstart.mjs"], { cwd: app, encoding: "utf8", env: { ...process.env, SIMBIND_URL: w.url, SIMBIND_NUMBER: number } });
    const out = JSON.parse(output.trim().split("\n").at(-1));
    await checkGrant(w.url, out.grant, { sub: out.bindingId, txn: null });
    const digest = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("pay 42.00 EUR to ACME Ltd"))).toString("base64url");
    await checkGrant(w.url, out.paid, { sub: out.bindingId, txn: digest });
    assert.deepEqual([out.refused, out.unbound], ["sim_changed", "revoked"]);
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
});
