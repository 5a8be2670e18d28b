// CPU per request in the worker, as the runtime counts it: workerd gives the
// worker no CPU clock (its timers stand still while it computes), so this
// measures from outside. Miniflare opens workerd's V8 inspector
// (`inspectorPort`); the DevTools protocol's sampling Profiler runs on the
// worker's isolate (`core:user:`, the Durable Objects included) around one
// request at a time, and the request's CPU is the time of every sample that
// is not `(idle)`: JavaScript, wasm, and the runtime's native work on that
// thread (WebCrypto included). Node's own `--cpu-prof` would profile the
// test process instead.
//
//   node bench/cpu.mjs          # RUNS=15 by default; CPU_ONLY=text for some rows;
//                               # CPU_FRAMES=N each row's costliest functions
//                               # (CPU_FRAMES_TOTAL=1: callees counted), for a
//                               # build with names given as CPU_BUILD=dir
//   import { runCpu } from "./bench/cpu.mjs";  const r = await runCpu({ runs: 15 });
//
// Rows: one P-256 verification (the verify request) and its challenge
// request, a bind challenge alone, a bind with an
// attested Android key and one with an App Attest object (core's test issuer,
// under the dev test root: accepted), and a bind carrying a real Pixel 9a
// chain (P-384 root) and a real iPhone App Attest object: both refused, at
// the certificates' dates, only after every chain signature was checked.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import WebSocket from "ws";
import { startWorker } from "../tests/lib/worker.mjs";
import { freePort } from "../tests/lib/wrangler-dev.mjs";
import { bindPhone, phone, signedEvidence, subscriber, wireSim } from "../tests/lib/phone.mjs";
import { attestedPhone, quickIssuer } from "../tests/lib/attested-phone.mjs";
import { unwatchGrants } from "../tests/lib/grant.mjs";

unwatchGrants();

const fixtures = new URL("../core/tests/fixtures/attestation/", import.meta.url);

/** A DevTools protocol session on the worker's isolate. */
async function inspect(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/core:user:`);
  await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
  let id = 0;
  const waiting = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(data);
    const w = msg.id !== undefined && waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.error) w.reject(new Error(`${msg.error.message}`));
    else w.resolve(msg.result);
  });
  const send = (method, params = {}) => new Promise((resolve, reject) => {
    waiting.set(++id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params }));
  });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: INTERVAL_US });
  return { send, close: () => ws.close() };
}

/** Where a sample's own frame is: a step of the request's work. */
function stepOf(frame) {
  const { functionName: name, url } = frame;
  if (name === "(garbage collector)") return "GC";
  if (name === "(program)") return "runtime (native)";
  if (name.startsWith("wasm-function") || url.includes("wasm")) return "wasm (core and the worker's Rust)";
  if (name === "js-to-wasm" || name === "wasm-to-js" || name.startsWith("js-to-wasm:")) return "JS↔wasm calls";
  if (url.endsWith("index.js")) return "wasm-bindgen glue (JS)";
  if (["verify", "sign", "importKey", "exportKey", "digest"].includes(name)) return "WebCrypto";
  if (["exec", "toArray", "one", "raw", "next", "databaseSize"].includes(name) || url.includes("sql")) return "SQL (object storage)";
  return "other runtime calls (fetch, streams, headers)";
}

/** The CPU (ms) the isolate spent on `step()`: the non-idle samples' time; `steps`, when given, adds each step's share (µs), and `byFrame` each function's (µs). */
async function cpuOf(session, step, steps, byFrame) {
  await session.send("Profiler.start");
  let result;
  try {
    result = await step();
  } finally {
    const { profile } = await session.send("Profiler.stop");
    const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id));
    let busy = 0;
    // workerd samples only while the isolate is entered: busy stretches come
    // as samples about 120 µs apart, and a longer delta spans time the
    // isolate was waiting (the first one, from the start, always does).
    // Each sample counts for its delta, at most CAP_US.
    const self = new Map();
    profile.samples.forEach((node, i) => {
      if (idle.has(node)) return;
      const dt = Math.min(profile.timeDeltas[i] ?? 0, CAP_US);
      busy += dt;
      self.set(node, (self.get(node) ?? 0) + dt);
    });
    if (steps) {
      const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
      for (const [node, dt] of self) {
        const k = stepOf(frames.get(node));
        steps.set(k, (steps.get(k) ?? 0) + dt);
      }
    }
    const names = new Map(profile.nodes.map((n) => [n.id, `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.split("/").pop()}`]));
    if (byFrame) {
      // Self time by frame, and (CPU_FRAMES_TOTAL=1) time including callees.
      const parent = new Map();
      for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
      for (const [n, t] of self) {
        const seen = new Set();
        for (let m = n; m !== undefined && (seen.size === 0 || process.env.CPU_FRAMES_TOTAL); m = parent.get(m)) seen.add(names.get(m));
        for (const k of seen) byFrame.set(k, (byFrame.get(k) ?? 0) + t);
      }
    }
    const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([n, t]) => `${names.get(n)} ${(t / 1000).toFixed(2)}`);
    // CPU_DEBUG=1: each request's CPU, its samples and where they fell.
    if (process.env.CPU_DEBUG) console.error(`${(busy / 1000).toFixed(2)} ms, ${profile.samples.length} samples: ${top.join(" | ")}`);
    result = { ...result, ms: busy / 1000 };
  }
  return result;
}

/** The sampling interval asked for (workerd's sampler delivers about 120 µs
 * while the isolate runs), and the most one sample may count for (µs). */
const INTERVAL_US = 50;
const CAP_US = 300;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A registration with its code, ready for the bind request. */
async function registered(w, number) {
  const res = await w.post("/v1/registrations", { phone_number: number });
  const { registration_id: id } = await res.json();
  return { id, otp: await w.otp(number) };
}

/** A bind body carrying a real phone's attestation: it will be refused, after the chain's signatures. */
async function realBind(w, chip) {
  const s = subscriber();
  const { id, otp } = await registered(w, s.number);
  const challenge = await (await w.post(`/v1/registrations/${id}/challenge`, { ceremony: "bind" })).json();
  const body = {
    otp,
    evidence: {
      // App Attest's transcript counter is 0: its assertion carries the real one.
      challenge: challenge.challenge, chip, sim: wireSim(s.simA), counter: chip.format === "apple-appattest" ? 0 : 1,
      chip_signature: Buffer.alloc(64, 1).toString("base64url"),
    },
  };
  return async () => {
    const r = await w.post(`/v1/registrations/${id}/binding`, body);
    return { status: r.status, code: (await r.json()).code };
  };
}

/** Each row: median and max CPU over `runs` requests (after one unmeasured, to warm the isolate's code for it), and the answer seen. */
export async function runCpu({ runs = 15 } = {}) {
  const port = await freePort();
  // Objects in memory: creating their SQLite files on disk is I/O, not CPU.
  // CPU_BUILD=dir: another build of the worker (one with names, for CPU_FRAMES).
  const w = await startWorker({ inspectorPort: port, requestLimit: 10_000, inMemory: true, ...(process.env.CPU_BUILD && { build: process.env.CPU_BUILD }) });
  const session = await inspect(port);
  const rows = [];
  // `expected`: the answer every run must get ("200", or "403 attestation_expired");
  // a row with any other answer measured something else and says so.
  const measure = async (what, expected, prepare) => {
    // CPU_ONLY=text: only the rows whose name contains it.
    if (process.env.CPU_ONLY && !what.includes(process.env.CPU_ONLY)) return;
    const ms = [];
    const steps = new Map();
    // CPU_FRAMES=N: the row's N costliest frames (self time), for a build with names.
    const frames = process.env.CPU_FRAMES ? new Map() : null;
    const unexpected = [];
    await (await prepare())();
    for (let i = 0; i < runs; i++) {
      // A request the sampler never caught (no sample inside it) is not a
      // measurement of zero: send another, up to three times.
      let r;
      for (let attempt = 0; attempt < 3 && !(r?.ms > 0); attempt++) r = await cpuOf(session, await prepare(), steps, frames);
      ms.push(r.ms);
      const answer = r.status === 200 ? "200" : `${r.status} ${r.code ?? ""}`.trim();
      if (answer !== expected) unexpected.push(answer);
    }
    if (frames) {
      const top = [...frames].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.CPU_FRAMES));
      const kind = process.env.CPU_FRAMES_TOTAL ? "total (callees included)" : "self";
      console.error(`${what}, mean ${kind} ms per request:\n${top.map(([k, us]) => `  ${(us / 1000 / runs).toFixed(3)} ${k}`).join("\n")}`);
    }
    // Each step's mean CPU per request (ms), largest first.
    const perStep = [...steps].sort((a, b) => b[1] - a[1]).map(([k, us]) => [k, us / 1000 / runs]);
    const failed = unexpected.length ? `${unexpected.length} of ${runs} answered ${unexpected[0]}, not ${expected}` : null;
    rows.push({ what, median: median(ms), max: Math.max(...ms), answer: expected, runs, steps: perStep, failed });
  };
  try {
    // One P-256 verification: the verify request alone (its challenge fetched before).
    const s = subscriber();
    const p = phone(w.url, { sim: s.simA });
    const { bindingId } = await bindPhone(w, p, s.number);
    await measure("verify request (one P-256 transcript signature)", "200", async () => {
      const challenge = await (await w.post(`/v1/bindings/${bindingId}/challenge`, { ceremony: "verify" })).json();
      const body = await signedEvidence(p.device, challenge, "verify", bindingId);
      return async () => {
        const r = await w.post(`/v1/bindings/${bindingId}/verify`, body);
        return { status: r.status, code: (await r.json()).code };
      };
    });
    // Its challenge: a phone's verification is this request and the one above.
    await measure("verify challenge request", "200", async () => async () => {
      const r = await w.post(`/v1/bindings/${bindingId}/challenge`, { ceremony: "verify" });
      return { status: r.status, code: (await r.json()).code };
    });
    // A bind challenge alone, to subtract from the rows that include one.
    await measure("bind challenge request alone", "200", async () => {
      const t = subscriber();
      const { id } = await registered(w, t.number);
      return async () => {
        const r = await w.post(`/v1/registrations/${id}/challenge`, { ceremony: "bind" });
        return { status: r.status, code: (await r.json()).code };
      };
    });
    // Attested keys, accepted: the bind ceremony's challenge and bind requests.
    const issuer = quickIssuer();
    for (const format of ["android-key", "apple-appattest"]) {
      await measure(`${format} bind, test root (challenge + bind, accepted)`, "200", async () => {
        const t = subscriber();
        const q = attestedPhone(w.url, { format, sim: t.simA, issuer });
        const { registrationId } = await q.client.startRegistration(t.number);
        const otp = await w.otp(t.number);
        return async () => {
          try {
            const bound = await q.client.completeBinding(registrationId, otp);
            return { status: bound.status === "active" ? 200 : 500, code: bound.status };
          } catch (e) {
            return { status: e.status ?? 500, code: e.code ?? e.message };
          }
        };
      });
    }
    // Real phones' evidence: every chain signature checked, then refused by date.
    const pem = readFileSync(new URL("android/tegu_sdk36_TEE_EC_2026_ROOT.pem", fixtures), "utf8");
    const chain = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/g)]
      .map((m) => Buffer.from(m[1].replace(/\s/g, ""), "base64").toString("base64url"));
    await measure("bind carrying a real Pixel 9a chain, P-384 root (refused by date after its signatures)", "403 attestation_expired", () =>
      realBind(w, { format: "android-key", key_id: "A".repeat(43), certificate_chain: chain }));
    const apple = JSON.parse(readFileSync(new URL("apple/devicecheck-appattest.json", fixtures), "utf8"))[0];
    await measure("bind carrying a real iPhone App Attest object (refused by date after its signatures)", "403 attestation_expired", () =>
      realBind(w, {
        format: "apple-appattest",
        key_id: Buffer.from(apple.keyId, "base64").toString("base64url"),
        attestation: Buffer.from(apple.attestation, "base64").toString("base64url"),
      }));
  } finally {
    session.close();
    await w.dispose();
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await runCpu({ runs: Number(process.env.RUNS ?? 15) });
  console.log("| request | CPU ms, median | max | answer | runs |\n|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.what} | ${r.median.toFixed(2)} | ${r.max.toFixed(2)} | ${r.failed ?? r.answer} | ${r.runs} |`);
  for (const r of rows) console.log(`\n${r.what}, mean CPU per request by step (ms): ${r.steps.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(" · ")}`);
}
