// Benchmark yardstick: the same real-time verification, by the project's own
// client, against the plain-JavaScript reference worker (bench/reference-worker.mjs,
// WebCrypto + one SQLite Durable Object) running in Miniflare. A benchmark,
// not a test: it checks that the reference does the real work (and refuses
// what SimBind refuses: bench/self-check.mjs), then measures.
//
//   node bench/reference.mjs                   # PHONES=16 SECONDS=10 by default
//   PHONES=4 SECONDS=3 node bench/reference.mjs
//
//   import { phase, prepareReference, runReference } from "./bench/reference.mjs";
//   const r = await runReference({ phones: 16, seconds: 10 });   // r.rows: one per route × concurrency
//   const ref = await prepareReference({ phones: 16 });          // checked and warm: phase(c, s, ref.verify)
//
// Phases, SECONDS each, in this order: the trivial read route and verify at
// 1 phone, then both at PHONES phones at once. requests/s is completed
// requests over the phase's measured wall time.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Miniflare } from "miniflare";
import { devSecrets, wranglerVars } from "../tests/lib/worker.mjs";
import { phone, subscriber, wireSim } from "../tests/lib/phone.mjs";
import { checkGrantSignature } from "../tests/lib/grant.mjs";
import { b64u, challengeBytes, grantSigningInput, idHash, transcript } from "./reference-worker.mjs";
import { refusals } from "./self-check.mjs";
import { unwatchGrants } from "../tests/lib/grant.mjs";

// The suites check every grant in their fetch; the benchmark checks its
// grants itself and times plain requests.
unwatchGrants();

const here = new URL("./", import.meta.url);
const ADMIN = { authorization: `Bearer ${devSecrets().ADMIN_TOKEN}` };

/** Starts the reference worker in workerd (Miniflare), dev vars and secrets, SQLite objects on disk. */
export async function startReference() {
  const state = mkdtempSync(join(tmpdir(), "simbind-ref-do-"));
  const mf = new Miniflare({
    modules: true,
    scriptPath: new URL("reference-worker.mjs", here).pathname,
    compatibilityDate: "2026-04-01",
    durableObjects: { BINDINGS: { className: "ReferenceBinding", useSQLite: true } },
    durableObjectsPersist: state,
    cf: false,
    host: "127.0.0.1",
    port: 0,
    bindings: { ...wranglerVars("env.dev.vars"), ...devSecrets() },
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return { url, async dispose() { await mf.dispose(); rmSync(state, { recursive: true, force: true }); } };
}

/** The reference worker's byte layouts against docs/PROTOCOL.md §10 (run in Node's WebCrypto). */
async function checkVectors() {
  const doc = readFileSync(new URL("../docs/PROTOCOL.md", here), "utf8");
  const block = doc.slice(doc.indexOf("<!-- BEGIN TEST VECTORS -->"), doc.indexOf("<!-- END TEST VECTORS -->"));
  const v = JSON.parse(block.slice(block.indexOf("```json") + 7, block.lastIndexOf("```")));
  const hex = (h) => Uint8Array.from(Buffer.from(h ?? "", "hex"));
  const key = (s) => crypto.subtle.importKey("raw", new TextEncoder().encode(s), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const expect = (ok, what) => { if (!ok) throw new Error(`reference worker disagrees with PROTOCOL.md §10: ${what}`); };
  const c = v.challenge;
  const raw = await challengeBytes(await key(c.key_utf8), { ceremony: c.ceremony, issuedAt: c.issued_at, ttl: c.ttl, nonce: hex(c.nonce_hex), keyId: c.key_id, subject: c.subject, transaction: hex(c.transaction_hex) });
  expect(Buffer.from(raw).toString("hex") === c.challenge_hex && b64u(raw) === c.challenge_b64url, "challenge");
  for (const t of v.transcripts) {
    const bytes = transcript({ ceremony: t.ceremony, challenge: hex(t.challenge_hex), audience: t.audience, subject: t.subject, transaction: hex(t.transaction_hex), serial: t.chip_serial,
      chipKey: hex(t.chip_public_key_hex), sim: t.sim, simKey: hex(t.sim_public_key_hex), counter: t.counter });
    expect(Buffer.from(bytes).toString("hex") === t.transcript_hex, `transcript (${t.ceremony}, counter ${t.counter})`);
  }
  for (const h of v.id_hashes) expect((await idHash(await key(h.pepper_utf8), h.kind, h.value)) === h.hash_hex, `id_hash ${h.kind}`);
  expect(v.grant.jwt.startsWith(`${grantSigningInput(v.grant.kid, v.grant.claims)}.`), "grant header and claims encoding");
  return "challenge, 3 transcripts, id hashes, grant header and claims: byte-identical to the vectors";
}

/** Checks one grant the reference answered: ES256 signature against its JWKS, header and claims. */
async function checkGrant(url, grant, bindingId, transaction) {
  const jwks = await (await fetch(`${url}/.well-known/jwks.json`)).json();
  const { ok, header, claims } = await checkGrantSignature(jwks, grant);
  const vars = wranglerVars("env.dev.vars"), now = Date.now() / 1000;
  const problems = [
    !ok && "signature does not verify",
    JSON.stringify(header) !== JSON.stringify({ alg: "ES256", kid: vars.GRANT_KEY_ID, typ: "JWT" }) && "header",
    claims.iss !== vars.ISSUER && "iss", claims.aud !== vars.GRANT_AUDIENCE && "aud", claims.sub !== bindingId && "sub",
    !(claims.exp > now && claims.exp - claims.iat <= 300) && "exp", !Number.isSafeInteger(claims.ctr) && "ctr",
    claims.txn !== (transaction ? Buffer.from(transaction).toString("base64url") : undefined) && "txn",
  ].filter(Boolean);
  if (problems.length) throw new Error(`the reference's grant is wrong: ${problems.join(", ")}`);
  return { kid: header.kid, ctr: claims.ctr, txn: claims.txn };
}

/** Runs `concurrency` loops of `step(i)` for `seconds`: requests/s, p50, p99 (ms), errors. */
export async function phase(concurrency, seconds, step) {
  const latencies = [];
  let errors = 0, firstError;
  const started = performance.now(), end = started + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async (_, i) => {
    while (performance.now() < end) {
      const t = performance.now();
      try { await step(i); } catch (e) { errors++; firstError ??= e.code ?? e.message; }
      latencies.push(performance.now() - t);
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), n: latencies.length, errors, ...(firstError && { firstError }) };
}

/**
 * Starts the reference, seeds `phones` bindings and checks it (vectors, a
 * real grant, the self-check's refusals), then warms each phone up: its
 * url, checks, `verify(i)` and `read(i)` steps for phase(), and dispose().
 */
export async function prepareReference({ phones = 16 } = {}) {
  const vectors = await checkVectors();
  const ref = await startReference();
  try {
    const url = ref.url;
    const bound = [];
    for (let i = 0; i < phones; i++) {
      const p = phone(url, { sim: subscriber().simA });
      const chip = p.device.chipInfo(), sim = p.device.simInfo();
      const res = await fetch(`${url}/v1/ref/seed`, {
        method: "POST", headers: { "content-type": "application/json", ...ADMIN },
        body: JSON.stringify({ chip: { format: chip.format, serial: chip.serial, public_key: chip.publicKey }, sim: wireSim(sim), counter: 0 }),
      });
      if (res.status !== 201) throw new Error(`seed: ${res.status} ${await res.text()}`);
      bound.push({ p, bindingId: (await res.json()).binding_id });
    }
    // Once: the grant is real (WebCrypto against the JWKS), a transaction-bound one too;
    // then the refusals SimBind makes on the same requests (bench/self-check.mjs).
    const { p, bindingId } = bound[0];
    const plain = await checkGrant(url, (await p.client.verify(bindingId)).grant, bindingId);
    const txn = Uint8Array.from(Buffer.from("7f4b9f96ae88f1c1e1e5128760e6d950d975feb387c32e410ca7172274d09006", "hex"));
    const bound2 = await checkGrant(url, (await p.client.verify(bindingId, txn)).grant, bindingId, txn);
    const selfCheck = await refusals(url, p, bindingId);
    const checks = { vectors, grant: `ES256 grant verified against /.well-known/jwks.json (kid ${plain.kid}, ctr ${plain.ctr}); transaction-bound grant txn=${bound2.txn}`, selfCheck };
    for (const b of bound) await b.p.client.verify(b.bindingId); // warm-up: one verify per phone
    const read = async (i) => {
      const res = await fetch(`${url}/v1/ref/read/${bound[i].bindingId}`);
      if (res.status !== 200) throw new Error(`read ${res.status}`);
      await res.arrayBuffer();
    };
    const verify = (i) => bound[i].p.client.verify(bound[i].bindingId);
    return { url, phones, checks, read, verify, dispose: () => ref.dispose() };
  } catch (e) {
    await ref.dispose();
    throw e;
  }
}

/** Starts the reference, seeds `phones` bindings, checks it, measures; disposes of it. */
export async function runReference({ phones = 16, seconds = 10 } = {}) {
  const ref = await prepareReference({ phones });
  try {
    const rows = [];
    for (const concurrency of [...new Set([1, phones])]) {
      rows.push({ route: "read", concurrency, ...(await phase(concurrency, seconds, ref.read)) });
      rows.push({ route: "verify", concurrency, ...(await phase(concurrency, seconds, ref.verify)) });
    }
    return { worker: "reference (JavaScript, WebCrypto, Miniflare)", phones, seconds, rows, checks: ref.checks };
  } finally {
    await ref.dispose();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await runReference({ phones: Number(process.env.PHONES ?? 16), seconds: Number(process.env.SECONDS ?? 10) });
  const names = { read: "GET /v1/ref/read/{id} (one object read)", verify: "verify (challenge + verify → grant)" };
  console.log(`\nReference worker (bench/reference-worker.mjs) in Miniflare: ${r.phones} phones seeded, ${r.seconds} s per phase`);
  console.log(`checks: ${r.checks.vectors}\n        ${r.checks.grant}\n${r.checks.selfCheck.lines.join("\n")}\n`);
  console.log("| route | phones at once | requests/s | p50 ms | p99 ms | requests | errors |");
  console.log("|---|---|---|---|---|---|---|");
  for (const x of r.rows) {
    console.log(`| ${names[x.route]} | ${x.concurrency} | ${x.rps.toFixed(0)} | ${x.p50.toFixed(2)} | ${x.p99.toFixed(2)} | ${x.n} | ${x.errors}${x.firstError ? ` (${x.firstError})` : ""} |`);
  }
}
