// Starts the built edge worker (the dev build) in workerd through Miniflare,
// configured from wrangler.toml's [env.dev.vars] and .dev.vars, so tests run
// what `make dev` runs:
// the same Durable Object classes on SQLite, persisted to a throw-away
// directory so tests can see every object that was ever written.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { watchGrants } from "./grant.mjs";

// Every grant this suite receives is checked as a backend would (tests/lib/grant.mjs).
watchGrants();

/** The worker's Durable Object namespaces (binding → class), as in wrangler.toml. */
export const OBJECTS = {
  BINDINGS: "BindingObject",
  NUMBERS: "NumberObject",
  CHIPS: "ChipObject",
  LIMITS: "LimiterObject",
  SMS_TOKENS: "TokenObject",
  STREAMS: "StreamObject",
};

const root = new URL("../../", import.meta.url);

/** Key/value pairs of one `[section]` of wrangler.toml (flat string values). */
export function wranglerVars(section = "env.dev.vars") {
  const vars = {};
  let inside = false;
  for (const line of readFileSync(new URL("wrangler.toml", root), "utf8").split("\n")) {
    const header = line.match(/^\s*\[+([^\]]+)\]+/);
    if (header) { inside = header[1].trim() === section; continue; }
    // Basic strings ("..."), or literal strings ('...', JSON values).
    const kv = inside && line.match(/^\s*([A-Z0-9_]+)\s*=\s*(?:"(.*)"|'(.*)')\s*$/);
    if (kv) vars[kv[1]] = kv[2] ?? kv[3];
  }
  return vars;
}

/** The dev secrets from .dev.vars. */
export function devSecrets() {
  const secrets = {};
  for (const line of readFileSync(new URL(".dev.vars", root), "utf8").split("\n")) {
    const kv = line.match(/^([A-Z0-9_]+)=(.*)$/);
    if (kv) secrets[kv[1]] = kv[2];
  }
  return secrets;
}

/**
 * A production configuration over the dev build: webhook SMS, production
 * secrets (none `dev-only-`), an allow-list and a public URL; the tests'
 * attestation root removed (it is dev-only).
 */
export const PRODUCTION_BINDINGS = Object.freeze({
  SIMBIND_ENV: "production",
  SMS_PROVIDER: "webhook",
  SMS_WEBHOOK_URL: "https://sms.example/v1/messages",
  SMS_WEBHOOK_TOKEN: "prod-webhook-token-for-tests-0123456789",
  CHALLENGE_HMAC_KEY: "prod-challenge-key-for-tests-0123456789",
  GRANT_SIGNING_KEY: "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA",
  ID_HASH_PEPPER: "prod-pepper-for-tests-0123456789abcdef",
  ADMIN_TOKEN: "prod-admin-token-for-tests-0123456789",
  SMS_INBOUND_SECRET: "prod-sms-inbound-secret-for-tests-0123456789",
  NV_PRIVATE_KEY: "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA",
  SMS_COUNTRIES: "44",
  PUBLIC_URL: "https://simbind.example",
  // The end-to-end tests' attestation root is a dev-only setting.
  ATTESTATION_TEST_ROOT: undefined,
});

/** The dev carrier's settings in [env.dev.vars]: left out of Miniflare workers. */
const DEV_CARRIER = ["CARRIER_API_ROOT", "CARRIER_TOKEN_URL", "CARRIER_CLIENT_ID", "CARRIER_SUBSCRIBE", "DEV_CARRIER_CLIENT_KEY"];
/** The dev receiver of security events ([env.dev.vars]): left out too; a suite that tests events names its own. */
const DEV_RECEIVERS = ["SSF_RECEIVERS"];

/** The per-sender request limit of wrangler.toml's dev `[[env.dev.ratelimits]]` (requests a minute). */
export function devRequestLimit() {
  const toml = readFileSync(new URL("wrangler.toml", root), "utf8");
  const section = toml.slice(toml.indexOf("[[env.dev.ratelimits]]"));
  return Number(section.match(/simple = \{ limit = (\d+), period = 60 \}/)[1]);
}

/**
 * Starts the worker on a free loopback port. `bindings` override the dev
 * configuration (a value of `undefined` removes a binding). `requestLimit`:
 * the `REQUEST_LIMIT` binding's requests a minute per sender and subject
 * (wrangler.toml's by default; a suite that verifies one binding faster
 * than a phone would raises it). Miniflare stamps every request
 * `cf-connecting-ip: 127.0.0.1`, so the test process is one sender.
 */
export async function startWorker({ bindings = {}, outboundService, build: buildDir = "build-dev", state: kept, requestLimit = devRequestLimit(), inspectorPort, inMemory = false } = {}) {
  const merged = { ...wranglerVars("env.dev.vars"), ...devSecrets() };
  // The dev carrier serves `wrangler dev`; here a test brings its own carrier or none.
  for (const k of [...DEV_CARRIER, ...DEV_RECEIVERS]) delete merged[k];
  Object.assign(merged, bindings);
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  const build = new URL(`edge-worker/${buildDir}/`, root).pathname;
  // `state`: the caller's folder for the objects' SQLite, kept on dispose
  // (a restart over the same storage); otherwise a throw-away one.
  const state = kept ?? mkdtempSync(join(tmpdir(), "simbind-do-"));
  const durableObjects = Object.fromEntries(
    Object.entries(OBJECTS).map(([binding, className]) => [binding, { className, useSQLite: true }]),
  );
  const mf = new Miniflare({
    modules: [
      { type: "ESModule", path: `${build}index.js` },
      { type: "CompiledWasm", path: `${build}index_bg.wasm` },
    ],
    modulesRoot: build,
    compatibilityDate: "2026-04-01",
    kvNamespaces: ["SIMBIND_KV", "ATTESTATION_STATUS"],
    kvPersist: false,
    durableObjects,
    durableObjectsPersist: inMemory ? false : state,
    ratelimits: { REQUEST_LIMIT: { simple: { limit: requestLimit, period: 60 } } },
    cf: false,
    host: "127.0.0.1",
    port: 0,
    bindings: merged,
    outboundService,
    ...(inspectorPort !== undefined && { inspectorPort }),
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  const kv = await mf.getKVNamespace("SIMBIND_KV");
  return {
    mf,
    url,
    kv,
    /** Every KV key and value (only the dev outbox lives there). */
    async kvDump() {
      const out = {};
      let cursor;
      do {
        const page = await kv.list({ cursor });
        for (const { name } of page.keys) out[name] = await kv.get(name);
        cursor = page.list_complete ? undefined : page.cursor;
      } while (cursor);
      return out;
    },
    /**
     * Every row of every table of every Durable Object ever written, keyed
     * `Class/id/table`, read through the objects' dev-only `dump` operation.
     */
    async objectRows({ includeEmpty = false } = {}) {
      const out = {};
      for (const [binding, className] of Object.entries(OBJECTS)) {
        const ns = await mf.getDurableObjectNamespace(binding);
        for (const file of objectFiles(className)) {
          const id = file.replace(/\.sqlite$/, "");
          const res = await ns.get(ns.idFromString(id)).fetch("https://object/dump", { method: "POST", body: "{}" });
          if (!res.ok) throw new Error(`dump of ${className}/${id}: ${res.status} ${await res.text()}`);
          for (const [table, rows] of Object.entries(await res.json())) {
            if (rows.length || includeEmpty) out[`${className}/${id}/${table}`] = rows;
          }
        }
      }
      return out;
    },
    /** The rows of one object, by namespace binding and object name. */
    async objectByName(binding, name) {
      const ns = await mf.getDurableObjectNamespace(binding);
      const res = await ns.get(ns.idFromName(name)).fetch("https://object/dump", { method: "POST", body: "{}" });
      if (!res.ok) throw new Error(`dump of ${binding}/${name}: ${res.status}`);
      return res.json();
    },
    /** The stored record of a binding (its object's `record` row). */
    async bindingRecord(bindingId) {
      const { record } = await this.objectByName("BINDINGS", bindingId);
      return record?.[0] ? { version: record[0].version, ...JSON.parse(record[0].json) } : undefined;
    },
    /** Everything stored: KV and every object's rows. */
    async dump() {
      return { kv: await this.kvDump(), objects: await this.objectRows() };
    },
    /** The raw bytes of every file the objects' SQLite wrote (WAL included). */
    storageBytes() {
      const out = {};
      for (const dir of readdirSync(state)) {
        for (const file of readdirSync(join(state, dir))) out[`${dir}/${file}`] = readFileSync(join(state, dir, file));
      }
      return out;
    },
    post(path, body, headers = {}) {
      return fetch(url + path, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
    },
    async outbox(number) {
      const res = await fetch(`${url}/dev/outbox?phone_number=${encodeURIComponent(number)}`);
      return (await res.json()).messages;
    },
    async otp(number) {
      const messages = (await this.outbox(number)).filter((m) => m.kind === "otp");
      return messages.at(-1).text.match(/\d{6}/)[0];
    },
    async audit(bindingId) {
      return (await this.trail(bindingId)).events;
    },
    /** The whole audit listing: events, cursor and tallies. */
    async trail(bindingId, before) {
      const query = before === undefined ? "" : `?before=${before}`;
      const res = await fetch(`${url}/dev/bindings/${bindingId}/audit${query}`);
      return res.json();
    },
    /** The SQLite file of an object, by namespace binding and hex id. */
    objectFile(binding, id) {
      return join(state, `-${OBJECTS[binding]}`, `${id}.sqlite`);
    },
    async dispose() {
      await mf.dispose();
      if (!kept) rmSync(state, { recursive: true, force: true });
    },
  };

  function objectFiles(className) {
    try {
      return readdirSync(join(state, `-${className}`)).filter((f) => /^[0-9a-f]{64}\.sqlite$/.test(f));
    } catch {
      return [];
    }
  }
}
