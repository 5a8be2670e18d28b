// `make bench`: every figure beside a reference measured in the same run,
// printed as one table and written to bench/RESULTS.md.
//
//   node bench/run.mjs                 # full run (about 6 minutes)
//   BENCH_TINY=1 node bench/run.mjs    # `make test`: seconds, nothing written,
//                                      # so the harness cannot rot
//
// Rows: P-256 verify (native core, core in wasm under Node, WebCrypto in the
// same Node process); real-time verification at 1 and 16 phones against
// `wrangler dev` next to a one-object-read route of the same worker; the same
// ceremony against the plain-JavaScript reference worker (bench/reference-worker.mjs)
// and SimBind, both in Miniflare at once with their phases alternating, after
// both pass the same refusals (bench/self-check.mjs: no ratio otherwise); time per ceremony; CPU per
// request in the worker, binds with real chains included (bench/cpu.mjs);
// growth (bench/growth.mjs); sizes; cold start.
import { execFileSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { phase, prepareReference } from "./reference.mjs";
import { LIMITS, REQUEST_LIMIT, runGrowth } from "./growth.mjs";
import { startWorker } from "../tests/lib/worker.mjs";
import { startWranglerDev } from "../tests/lib/wrangler-dev.mjs";
import { bindPhone, phone, subscriber } from "../tests/lib/phone.mjs";
import { unwatchGrants } from "../tests/lib/grant.mjs";
import { refusals } from "./self-check.mjs";
import { runCpu } from "./cpu.mjs";

// The suites check every grant in their fetch; the benchmark checks its
// grants itself and times plain requests.
unwatchGrants();

const root = new URL("../", import.meta.url).pathname;
const TINY = process.env.BENCH_TINY === "1";
const PHONES = TINY ? 2 : 16;
const SECONDS = TINY ? 0.5 : Number(process.env.SECONDS ?? 8);
const ADMIN = { authorization: "Bearer dev-only-admin-token" };
const rows = [];
const row = (group, what, value, reference, ratio) => rows.push({ group, what, value, reference, ratio });
/** No ratio from a phase in which a request failed (a refusal is not a verification): why, or null. */
const failed = (...phases) => {
  const bad = phases.filter((x) => x.errors);
  if (!bad.length) return null;
  errorsSeen += bad.length;
  return `none: ${bad.map((x) => `${x.errors} of ${x.n} failed (${x.firstError})`).join("; ")}`;
};
let errorsSeen = 0;
const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "—");
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: root, encoding: "utf8", maxBuffer: 1 << 26, ...opts });

// --- P-256 verify: the same primitive three ways -----------------------------
if (!TINY) {
  const native = JSON.parse(run("cargo", ["run", "--release", "-q", "-p", "simbind-core", "--example", "bench_p256"]));
  // wasm-bindgen's test runner in Node, as `make test-wasm` drives it.
  const runner = { ...process.env, WASM_BINDGEN_TEST_ONLY_NODE: "1", CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER: "wasm-bindgen-test-runner" };
  const cost = run("cargo", ["test", "--target", "wasm32-unknown-unknown", "--release", "--test", "cost", "--", "--include-ignored"], { cwd: join(root, "wasm-client"), env: runner, stdio: ["ignore", "pipe", "ignore"] });
  const m = cost.match(/P-256 verify: ([\d.]+) ms in wasm, ([\d.]+) ms WebCrypto/);
  if (!m) throw new Error(`no P-256 line in the cost test's output:\n${cost}`);
  const [wasm, webcrypto] = [Number(m[1]), Number(m[2])];
  row("P-256 verify (ops/s)", "core, native (release)", f(1000 / native.verify_ms, 0), `WebCrypto ${f(1000 / webcrypto, 0)}`, `${f(webcrypto / native.verify_ms, 2)}× WebCrypto`);
  row("P-256 verify (ops/s)", "core in wasm, Node (V8)", f(1000 / wasm, 0), `WebCrypto ${f(1000 / webcrypto, 0)}`, `${f(webcrypto / wasm, 2)}× WebCrypto`);
  // A bind's extra CPU with a real-format chip: the attestation checked by
  // core in wasm on V8 (workerd's engine), per real chain and object, and
  // the worker's way for Android chains (core decides, WebCrypto answers
  // each chain signature).
  const p256 = Number(cost.match(/reference: P-256 transcript verify in wasm: ([\d.]+) ms/)?.[1]);
  for (const [, label, ms] of cost.matchAll(/^(.+?): ([\d.]+) ms (?:in wasm|with WebCrypto) = [\d.]+x the P-256 reference$/gm)) {
    row("attestation check at bind (V8), ms", label, f(Number(ms), 2), `P-256 transcript verify ${f(p256, 3)}`, `${f(Number(ms) / p256, 1)}× P-256`);
  }
  // What a verification request costs core before storage, beside the same
  // P-256 reference: where the time goes that the reference worker saves.
  const req = cost.match(/verification request in wasm: JSON ([\d.]+) ms, validation ([\d.]+) ms \(a key's first decompression ([\d.]+) ms\), SIM hashes ([\d.]+) ms/);
  if (!req) throw new Error(`no verification request line in the cost test's output:\n${cost}`);
  row("one verification request in core (wasm, V8), ms", "JSON read · validation, its chip key parsed before · SIM hashes (a key's first decompression: a square root, once per key and isolate)", `${req[1]} · ${req[2]} · ${req[4]} (${req[3]})`, `P-256 transcript verify ${f(p256, 3)}`, "");
}

// --- Real-time verification against wrangler dev ------------------------------
async function bindAll(target, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const s = subscriber();
    const p = phone(target.url, { sim: s.simA });
    const { bindingId } = await bindPhone(target, p, s.number);
    out.push({ p, bindingId, s });
  }
  for (const b of out) await b.p.client.verify(b.bindingId); // warm-up
  return out;
}

/** Binds `phones` phones to `target`, then times its read route and verification at 1 and `phones` at once. */
async function simbindPhases(target, phones) {
  const bound = await bindAll(target, phones);
  const read = async (i) => {
    const res = await fetch(`${target.url}/v1/admin/bindings/${bound[i].bindingId}`, { headers: ADMIN });
    if (res.status !== 200) throw new Error(`read ${res.status}`);
    await res.arrayBuffer();
  };
  const verify = (i) => bound[i].p.client.verify(bound[i].bindingId);
  const out = {};
  for (const c of [1, phones]) {
    out[`read${c}`] = await phase(c, SECONDS, read);
    out[`verify${c}`] = await phase(c, SECONDS, verify);
  }
  return out;
}

// The per-sender request limit is on (the limiter is asked on every request)
// but sized for a benchmark that verifies one binding far faster than a
// phone would: a refused request is not a verification.
const dev = await startWranglerDev({ requestLimit: REQUEST_LIMIT });
let wranglerFigures;
try {
  wranglerFigures = await simbindPhases(dev, PHONES);
} finally {
  await dev.stop();
}
for (const c of [1, PHONES]) {
  const v = wranglerFigures[`verify${c}`], r = wranglerFigures[`read${c}`];
  row(`verification, wrangler dev, ${c} phone${c > 1 ? "s" : ""}`, `verify/s · p50 · p99 ms`, `${f(v.rps, 0)} · ${f(v.p50)} · ${f(v.p99)}`, `read route ${f(r.rps, 0)} · ${f(r.p50)} · ${f(r.p99)}`, failed(v, r) ?? `${f(v.rps / r.rps, 2)} of read; p99/p50 ${f(v.p99 / v.p50)}; a verification is two requests (challenge, verify): p50 ${f(v.p50 / (2 * r.p50), 2)}× two reads`);
}

// --- The same ceremony: SimBind and the reference worker, both in Miniflare ---
// Both run at once and their phases alternate, ROUNDS times at each
// concurrency (the order swapped each round, so each goes first as often),
// so a slower stretch of the machine falls on both; each figure is the round
// with the median rate (the upper one of the middle two).
// Registration budgets sized for the bind phase's hundreds of registrations
// from one address: the budgets bench/growth.mjs sizes for its own load.
const ROUNDS = TINY ? 1 : 4;
const mf = await startWorker({ requestLimit: REQUEST_LIMIT, bindings: LIMITS });
let ref, serverTimes, simbindCheck;
const mfFigures = {}, refFigures = {};
try {
  // The same requests the reference must refuse, and SimBind's answers.
  const s = subscriber();
  const checked = phone(mf.url, { sim: s.simA });
  simbindCheck = await refusals(mf.url, checked, (await bindPhone(mf, checked, s.number)).bindingId);
  const bound = await bindAll(mf, PHONES);
  ref = await prepareReference({ phones: PHONES });
  const simbindVerify = (i) => bound[i].p.client.verify(bound[i].bindingId);
  const runs = { simbind: {}, reference: {} };
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of [1, PHONES]) {
      const order = round % 2 ? ["reference", "simbind"] : ["simbind", "reference"];
      for (const who of order) {
        const step = who === "simbind" ? simbindVerify : ref.verify;
        (runs[who][c] ??= []).push(await phase(c, SECONDS, step));
      }
    }
  }
  // The round with the median rate; its errors, or any other round's.
  const pick = (xs) => {
    const median = [...xs].sort((a, b) => a.rps - b.rps)[Math.floor(xs.length / 2)];
    const bad = xs.find((x) => x.errors);
    return bad ? { ...median, errors: bad.errors, firstError: bad.firstError, n: bad.n } : { ...median, rounds: xs.map((x) => x.rps) };
  };
  for (const c of [1, PHONES]) {
    mfFigures[c] = pick(runs.simbind[c]);
    refFigures[c] = pick(runs.reference[c]);
  }
  // Server time per request: one caller, the answer's latency minus that of
  // `/v1/health` (the worker's own route that touches no storage), over the
  // same loopback (the CPU rows below measure the isolate's own time).
  const single = async (step, what) => {
    const x = await phase(1, SECONDS, step);
    if (!x.errors) return x.p50;
    errorsSeen++;
    console.error(`${what}: ${x.errors} of ${x.n} failed (${x.firstError}): no figure`);
    return NaN;
  };
  const b = bound[0];
  const floor = await single(async () => (await fetch(`${mf.url}/v1/health`)).arrayBuffer(), "health");
  const challenge = await single(async () => {
    const res = await mf.post(`/v1/bindings/${b.bindingId}/challenge`, { ceremony: "verify" });
    if (res.status !== 200) throw new Error(`challenge ${res.status}`);
    await res.arrayBuffer();
  }, "challenge");
  const verify = await single(() => b.p.client.verify(b.bindingId), "verify");
  // A new number each time: a bind is a first bind, never a refused re-bind.
  const bindStep = async () => {
    const s = subscriber();
    await bindPhone(mf, phone(mf.url, { sim: s.simA }), s.number);
  };
  const bind = await single(bindStep, "bind");
  serverTimes = { floor, challenge, verify, bind };
} finally {
  try {
    await mf.dispose();
  } finally {
    await ref?.dispose();
  }
}
// No ratio against a reference that does not refuse what SimBind refuses.
const honest = ref.checks.selfCheck.ok && simbindCheck.ok;
const selfCheckLines = [
  ...ref.checks.selfCheck.lines.map((l) => `reference: ${l}`),
  ...simbindCheck.lines.map((l) => `SimBind:   ${l}`),
];
console.error(`self-check (bench/self-check.mjs): ${honest ? "passed" : "FAILED: no ratio against the reference"}\n${selfCheckLines.join("\n")}`);
const roundsOf = (x) => (x.rounds?.length > 1 ? ` (rounds ${x.rounds.map((r) => f(r, 0)).join(", ")})` : "");
for (const c of [1, PHONES]) {
  const refVerify = refFigures[c];
  const sv = mfFigures[c];
  row(`verification, Miniflare, ${c} phone${c > 1 ? "s" : ""}`, "SimBind verify/s · p50 · p99 ms", `${f(sv.rps, 0)} · ${f(sv.p50)} · ${f(sv.p99)}${roundsOf(sv)}`, `reference worker ${f(refVerify.rps, 0)} · ${f(refVerify.p50)} · ${f(refVerify.p99)}${roundsOf(refVerify)}`, honest ? failed(sv, refVerify) ?? `${f(sv.rps / refVerify.rps, 2)} of reference` : "none: the self-check failed");
}
for (const k of ["challenge", "verify", "bind"]) {
  row("time per ceremony beyond /v1/health (ms, p50, one phone; client signing included)", k, f(serverTimes[k] - serverTimes.floor, 2), `/v1/health p50 ${f(serverTimes.floor, 2)}`, k === "bind" ? "register + code + bind: 3 requests" : k === "verify" ? "challenge + verify: 2 requests" : "1 request");
}

// --- CPU per request in the worker (bench/cpu.mjs: workerd's V8 profiler) ----
const cpu = await runCpu({ runs: TINY ? 1 : 15 });
const verifyCpu = cpu.find((r) => r.what.startsWith("verify request"));
for (const r of cpu) {
  if (r.failed) errorsSeen++;
  row("CPU per request in the worker, ms (Miniflare; workerd's V8 sampling profiler, non-idle samples)", r.what,
    r.failed ? `none: ${r.failed}` : `${f(r.median, 2)} median · ${f(r.max, 2)} max (${r.answer})`,
    `verify request ${f(verifyCpu.median, 2)}`, r.failed || verifyCpu.failed ? "" : `${f(r.median / verifyCpu.median, 1)}× verify; free plan's limit 10 ms`);
}
// Where a verification's CPU goes, by the profile's own frames.
row("CPU per request in the worker, ms (Miniflare; workerd's V8 sampling profiler, non-idle samples)", "verify request, mean by step",
  verifyCpu.steps.map(([k, v]) => `${k} ${f(v, 2)}`).join(" · "), "", "");

// --- Growth: full objects against fresh ones, same run -----------------------
const growth = await runGrowth({ entries: TINY ? 200 : 100_000, seconds: TINY ? 0.5 : Math.min(SECONDS, 5) });
for (const k of ["verify", "bind"]) {
  const g = growth.out[`${k} grown`], fr = growth.out[`${k} fresh`];
  row(`growth (${growth.entries} audit events + nonces; number and chip objects of ${growth.entries} rows)`, `${k} p50 · p99 ms`, `${f(g.p50)} · ${f(g.p99)}`, `fresh ${f(fr.p50)} · ${f(fr.p99)}`, failed(g, fr) ?? `${f(g.p50 / fr.p50, 2)}× fresh`);
}

// --- Sizes and cold start -----------------------------------------------------
const size = (path) => {
  const bytes = readFileSync(join(root, path));
  return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
};
const kb = (n) => `${f(n / 1024, 0)} KB`;
for (const [what, path, target] of [
  ["worker wasm (production build)", "edge-worker/build/index_bg.wasm", 300 * 1024],
  ["client wasm", "wasm-client/pkg/simbind_client_bg.wasm", 50 * 1024],
]) {
  const s = size(path);
  row("size", what, `${kb(s.raw)} raw · ${kb(s.gzip)} gzip`, `target ${kb(target)} gzip`, `${f(s.gzip / target, 2)} of target`);
}
{
  // What a page loads beside the wasm: the entry, the shell and wasm-bindgen's glue.
  const js = ["index.js", "client.js", "simbind_client.js"].map((f) => readFileSync(join(root, "wasm-client/pkg", f)));
  const raw = js.reduce((n, b) => n + b.length, 0);
  row("size", "client JavaScript (entry, shell, glue)", `${kb(raw)} raw · ${kb(gzipSync(Buffer.concat(js), { level: 9 }).length)} gzip`, "", "");
}
const out = mkdtempSync(join(tmpdir(), "simbind-dry-"));
try {
  const dry = run(join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--env", "production", "--outdir", out], { env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, stdio: ["ignore", "pipe", "pipe"] });
  const upload = dry.match(/Total Upload: ([^\n]+)/);
  row("size", "wrangler deploy --dry-run --env production", upload ? upload[1].trim() : "—", "", "");
} finally {
  rmSync(out, { recursive: true, force: true });
}
const colds = [];
for (let i = 0; i < (TINY ? 1 : 5); i++) {
  const t0 = performance.now();
  const w = await startWorker();
  const t1 = performance.now();
  await (await fetch(`${w.url}/v1/health`)).arrayBuffer();
  colds.push([t1 - t0, performance.now() - t1]);
  await w.dispose();
}
colds.sort((a, b) => a[1] - b[1]);
const [start, first] = colds[Math.floor(colds.length / 2)];
row("cold start (Miniflare, median of runs)", "fresh isolate → first answer (ms)", f(first), `runtime start ${f(start, 0)} ms`, "");

// --- The table ----------------------------------------------------------------
const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}`;
const header = `| group | what | value | reference (same run) | ratio |\n|---|---|---|---|---|`;
const table = [header, ...rows.map((r) => `| ${r.group} | ${r.what} | ${r.value} | ${r.reference} | ${r.ratio} |`)].join("\n");
console.log(`\n${table}\n`);
if (!TINY) {
  const check = `Self-check (bench/self-check.mjs), the same requests to both workers before any ratio: ${honest ? "passed" : "**FAILED: no ratio against the reference**"}.\n\n${selfCheckLines.map((l) => `    ${l}`).join("\n")}\n`;
  const doc = `# Benchmark results\n\n\`make bench\` on ${new Date().toISOString().slice(0, 10)}, ${machine}; ${PHONES} phones, ${SECONDS} s per phase.\nEvery figure sits beside a reference measured in the same run; see bench/run.mjs for how each is taken.\n\n${table}\n\n${check}`;
  writeFileSync(join(root, "bench/RESULTS.md"), doc);
  console.log("written to bench/RESULTS.md");
}
// A reference that does less than SimBind is no yardstick, and a phase with
// failed requests measured something else: fail the run (`make test` runs
// this at a tiny size, so neither check can rot).
if (!honest || errorsSeen) process.exitCode = 1;
