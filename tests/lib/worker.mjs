// Starts the built edge worker in workerd through Miniflare, configured from
// wrangler.toml's [vars] and .dev.vars, so tests run what `make dev` runs.
import { readFileSync } from "node:fs";
import { Miniflare } from "miniflare";

const root = new URL("../../", import.meta.url);

/** Key/value pairs of one `[section]` of wrangler.toml (flat string values). */
export function wranglerVars(section = "vars") {
  const vars = {};
  let inside = false;
  for (const line of readFileSync(new URL("wrangler.toml", root), "utf8").split("\n")) {
    const header = line.match(/^\s*\[+([^\]]+)\]+/);
    if (header) { inside = header[1].trim() === section; continue; }
    const kv = inside && line.match(/^\s*([A-Z0-9_]+)\s*=\s*"(.*)"\s*$/);
    if (kv) vars[kv[1]] = kv[2];
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
 * Starts the worker on a free loopback port. `bindings` override the dev
 * configuration (a value of `undefined` removes a binding).
 */
export async function startWorker({ bindings = {}, outboundService } = {}) {
  const merged = { ...wranglerVars("vars"), ...devSecrets(), ...bindings };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  const build = new URL("edge-worker/build/", root).pathname;
  const mf = new Miniflare({
    modules: [
      { type: "ESModule", path: `${build}index.js` },
      { type: "CompiledWasm", path: `${build}index_bg.wasm` },
    ],
    modulesRoot: build,
    compatibilityDate: "2026-04-01",
    kvNamespaces: ["SIMBIND_KV"],
    kvPersist: false,
    cf: false,
    host: "127.0.0.1",
    port: 0,
    bindings: merged,
    outboundService,
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  const kv = await mf.getKVNamespace("SIMBIND_KV");
  return {
    mf,
    url,
    kv,
    /** Every KV key and value. */
    async dump() {
      const out = {};
      let cursor;
      do {
        const page = await kv.list({ cursor });
        for (const { name } of page.keys) out[name] = await kv.get(name);
        cursor = page.list_complete ? undefined : page.cursor;
      } while (cursor);
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
      const res = await fetch(`${url}/dev/bindings/${bindingId}/audit`);
      return (await res.json()).events;
    },
    dispose: () => mf.dispose(),
  };
}
