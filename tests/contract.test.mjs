// The API contract and the worker agree both ways: every route of the router
// (edge-worker/src/routes/mod.rs) is a path and method of docs/openapi.yaml,
// and every operation there is a route, dev-only exactly where the router
// compiles the route only into the dev build; the router's own list of known
// paths (405 rather than 404) is its route table; and the problem codes the
// contract lists are the codes the source can answer. The answers themselves
// are checked against the contract by scripts/schemathesis.sh.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const root = new URL("../", import.meta.url);
const read = (path) => readFileSync(new URL(path, root), "utf8");

/** docs/openapi.yaml, parsed (the `yaml` devDependency). */
async function spec() {
  let parse;
  try {
    ({ parse } = await import("yaml"));
  } catch {
    assert.fail("tests/contract.test.mjs reads docs/openapi.yaml with the `yaml` package: add \"yaml\": \"2.9.1\" to package.json's devDependencies");
  }
  return parse(read("docs/openapi.yaml"));
}

/** The bodies of every Rust function `name` in `source` (braces matched, string literals skipped). */
function rustFns(source, name) {
  const bodies = [];
  for (const m of source.matchAll(new RegExp(`\\bfn ${name}\\b`, "g"))) {
    const open = source.indexOf("{", m.index);
    let depth = 0;
    for (let i = open; i < source.length; i++) {
      const c = source[i];
      if (c === '"') {
        for (i++; source[i] !== '"'; i++) if (source[i] === "\\") i++;
      } else if (c === "{") depth++;
      else if (c === "}" && --depth === 0) {
        bodies.push(source.slice(open, i + 1));
        break;
      }
    }
  }
  assert.ok(bodies.length > 0, `fn ${name} not found`);
  return bodies;
}
const rustFn = (source, name) => rustFns(source, name)[0];

/** A route key: `GET /v1/bindings/{}/verify` (parameters unnamed, no trailing slash). */
const key = (method, segments) => `${method.toUpperCase()} /${segments.join("/")}`;

/** A Rust slice pattern's elements (`"v1", "registrations", id` …) as path segments; `|` alternatives expanded. */
function expand(pattern) {
  const elements = pattern.split(",").map((e) => e.trim()).filter(Boolean);
  let paths = [[]];
  for (const element of elements) {
    const options = element.split("|").map((o) => o.trim()).map((o) => (/^"[^"]*"$/.test(o) ? o.slice(1, -1) : "{}"));
    paths = paths.flatMap((p) => options.map((o) => [...p, o]));
  }
  return paths;
}

/** The router's table: `{ "GET /v1/health": { dev: false }, … }`, from `dispatch`'s match arms. */
function routerTable() {
  const body = rustFn(read("edge-worker/src/routes/mod.rs"), "dispatch");
  const routes = {};
  let dev = false;
  for (const line of body.split("\n")) {
    if (/^\s*#\[cfg\(feature = "dev"\)\]\s*$/.test(line)) {
      dev = true;
      continue;
    }
    const arm = line.match(/^\s*\((Get|Post|Put|Patch|Delete|Head), \[([^\]]*)\]\)\s*=>/);
    if (arm) {
      for (const segments of expand(arm[2])) routes[key(arm[1], segments)] = { dev };
    }
    if (!/^\s*$/.test(line)) dev = false;
  }
  return routes;
}

/** The router's `allowed()` table (the `Allow` of each 405): `{ "GET /v1/health": { dev: false }, … }`. */
function allowedTable() {
  const body = rustFn(read("edge-worker/src/routes/mod.rs"), "allowed");
  const [getPart, postPart] = body.split("let post");
  const table = {};
  for (const [method, part] of [["Get", getPart], ["Post", postPart.split("match (get, post)")[0]]]) {
    const devAt = part.indexOf('cfg!(feature = "dev")');
    for (const m of part.matchAll(/\[([^\]]*)\]/g)) {
      for (const segments of expand(m[1])) table[key(method, segments)] = { dev: devAt >= 0 && m.index > devAt };
    }
  }
  return table;
}

const METHODS = ["get", "post", "put", "patch", "delete", "head"];

/** The contract's operations: `{ "GET /v1/health": { dev: false, operationId }, … }`. */
function contractTable(doc) {
  const ops = {};
  for (const [path, item] of Object.entries(doc.paths)) {
    const segments = path.replace(/^\/|\/$/g, "").split("/").map((s) => (/^\{[^}]+\}$/.test(s) ? "{}" : s));
    for (const method of METHODS.filter((m) => item[m])) {
      ops[key(method, segments)] = { dev: item[method]["x-dev-only"] === true, operationId: item[method].operationId };
    }
  }
  return ops;
}

test("every route of the router is in docs/openapi.yaml, and every operation there is a route", async () => {
  const routes = routerTable();
  const ops = contractTable(await spec());
  assert.ok(Object.keys(routes).length >= 15, `the route table was not read: ${Object.keys(routes)}`);
  const missingFromSpec = Object.keys(routes).filter((r) => !(r in ops));
  const missingFromRouter = Object.keys(ops).filter((o) => !(o in routes));
  assert.deepEqual(missingFromSpec, [], "routes the contract does not document");
  assert.deepEqual(missingFromRouter, [], "operations the router does not serve");
  for (const [route, { dev }] of Object.entries(routes)) {
    assert.equal(ops[route].dev, dev, `${route}: x-dev-only must be ${dev} (cfg(feature = "dev") in the router)`);
  }
  assert.ok(Object.values(ops).every((o) => o.operationId), "every operation has an operationId");
});

test("the router's Allow table (405 on another method) is exactly its routes", () => {
  assert.deepEqual(allowedTable(), routerTable());
});

test("dev-only operations are marked and tagged as such; the preflight and the 405 are documented", async () => {
  const doc = await spec();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS.filter((m) => item[m])) {
      const op = item[method];
      const dev = op["x-dev-only"] === true;
      assert.equal(path.startsWith("/dev/"), dev, `${method} ${path}: dev routes live under /dev/`);
      assert.equal(op.tags?.includes("dev") ?? false, dev, `${method} ${path}: tag dev`);
      if (dev) assert.match(op.summary, /^DEV ONLY/, `${method} ${path}: summary`);
    }
  }
  assert.match(read("edge-worker/src/lib.rs"), /"OPTIONS" => return http::preflight\(\)/);
  assert.equal(doc["x-cors-preflight"]?.method, "OPTIONS");
  assert.match(doc.info.description, /405 method_not_allowed/);
});

/** Codes the `fn code` methods of `file` return: their `=> "…"` arms. */
function codesOf(file) {
  return rustFns(read(file), "code").flatMap((body) => [...body.matchAll(/=>\s*"([a-z0-9_]+)"/g)].map((m) => m[1]));
}

/** Every problem code the contract lists, with where. */
function contractCodes(doc) {
  const codes = new Map();
  const walk = (node, at) => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${at}/${i}`));
    if (!node || typeof node !== "object") return;
    const code = node.properties?.code;
    if (code) for (const c of code.enum ?? (code.const ? [code.const] : [])) codes.set(c, [...(codes.get(c) ?? []), at]);
    for (const [k, v] of Object.entries(node)) walk(v, `${at}/${k}`);
  };
  walk(doc.paths, "paths");
  walk(doc.components.responses, "components/responses");
  return codes;
}

// Codes of the source that no route answers, and why.
const NEVER_ANSWERED = {
  // A malformed GRANT_SIGNING_KEY is a configuration error: 503 misconfigured.
  invalid_secret_key: "configuration only",
};

test("the problem codes of the contract are the codes the source answers", async () => {
  const doc = await spec();
  const source = new Set([
    ...codesOf("edge-worker/src/problem.rs"),
    ...codesOf("core/src/error.rs"),
    ...codesOf("core/src/attestation/refusal.rs"),
    ...codesOf("core/src/firebase_pnv.rs"),
    ...codesOf("core/src/camara_nv.rs"),
  ]);
  assert.ok(source.size > 60, `codes were not read: ${[...source]}`);
  const listed = contractCodes(doc);
  // 405 is answered on every known path for any other method (info.description).
  listed.set("method_not_allowed", ["info.description"]);
  const unknown = [...listed.keys()].filter((c) => !source.has(c));
  assert.deepEqual(unknown, [], "codes in the contract that the source never answers");
  const undocumented = [...source].filter((c) => !listed.has(c) && !(c in NEVER_ANSWERED));
  assert.deepEqual(undocumented, [], "codes the source answers that no route of the contract lists");
  for (const c of Object.keys(NEVER_ANSWERED)) assert.ok(source.has(c) && !listed.has(c), `${c}: no longer a never-answered code`);
});

/** A challenge's fields (docs/PROTOCOL.md §4): ceremony, subject and transaction. */
function challengeFields(challenge) {
  const raw = Buffer.from(challenge, "base64url");
  let at = 2 + 8 + 8 + 16; // version, ceremony, issued, expires, nonce
  const field = () => {
    const length = raw.readUInt32BE(at);
    const bytes = raw.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    return bytes;
  };
  field(); // the challenge key id
  const subject = field().toString("latin1");
  const transaction = field();
  return { ceremony: ["", "bind", "verify", "unbind"][raw[1]], subject, transaction: transaction.length ? transaction : undefined };
}

test("every example in openapi.yaml that carries a chip signature verifies over today's transcript", async () => {
  const { buildTranscript } = await import("../wasm-client/pkg/testing/node.js");
  const { createPublicKey, verify } = await import("node:crypto");
  const doc = await spec();
  const evidences = [];
  const walk = (node) => {
    if (node === null || typeof node !== "object") return;
    if (typeof node.chip_signature === "string" && node.challenge) evidences.push(node);
    for (const value of Object.values(node)) walk(value);
  };
  walk(doc.paths);
  assert.ok(evidences.length >= 3, "the bind, verify and unbind examples");
  const camel = (wire) => Object.fromEntries(Object.entries(wire).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), v]));
  for (const e of evidences) {
    const { ceremony, subject, transaction } = challengeFields(e.challenge);
    const chip = { format: e.chip.format, serial: e.chip.serial, publicKey: e.chip.public_key };
    const transcript = buildTranscript(ceremony, e.challenge, "simbind-dev", subject, chip, camel(e.sim), e.counter, transaction);
    const point = createPublicKey({ key: Buffer.concat([Buffer.from("3039301306072a8648ce3d020106082a8648ce3d030107032200", "hex"), Buffer.from(e.chip.public_key, "base64url")]), format: "der", type: "spki" });
    const signed = verify("sha256", transcript, { key: point, dsaEncoding: "ieee-p1363" }, Buffer.from(e.chip_signature, "base64url"));
    assert.ok(signed, `the ${ceremony} example's chip_signature does not verify (node scripts/openapi-examples.mjs re-makes them)`);
  }
});
