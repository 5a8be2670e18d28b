// Growth: does a binding, a number or a chip get slower as its object fills?
// One binding whose object holds ENTRIES audit events and ENTRIES used nonces
// of its challenge window, and its number and chip index objects holding
// ENTRIES rows each, seeded straight into their SQLite files (Debian's
// sqlite3, between two starts of the runtime over the same storage), against
// a fresh binding, number and chip in the same run.
//
//   node bench/growth.mjs              # ENTRIES=100000
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { phase } from "./reference.mjs";
import { startWorker } from "../tests/lib/worker.mjs";
import { bindPhone, phone, subscriber } from "../tests/lib/phone.mjs";

// One binding verified and re-bound far faster than a phone would: the
// budgets and the per-sender request limit sized for it (still asked); the
// other phases of bench/run.mjs use them too.
export const REQUEST_LIMIT = 1_000_000;
export const LIMITS = { REGISTRATIONS_PER_HOUR: "1000000", REGISTRATIONS_PER_IP_PER_HOUR: "1000000", SMS_PER_HOUR: "1000000", SMS_PER_COUNTRY_PER_HOUR: "1000000" };

function sql(file, statements) {
  execFileSync("sqlite3", [file], { input: `BEGIN;\n${statements}\nCOMMIT;\n` });
}

/** The object (file id) of `className` whose `table` has a row with `binding_id`. */
function objectHolding(rows, className, table, bindingId) {
  const key = Object.keys(rows).find((k) => k.startsWith(`${className}/`) && k.endsWith(`/${table}`) && rows[k].some((r) => r.binding_id === bindingId));
  if (!key) throw new Error(`no ${className} holds ${bindingId}`);
  return key.split("/")[1];
}

export async function runGrowth({ entries = 100_000, seconds = 5 } = {}) {
  const state = mkdtempSync(join(tmpdir(), "simbind-growth-"));
  try {
    let w = await startWorker({ state, bindings: LIMITS, requestLimit: REQUEST_LIMIT });
    const fresh = { s: subscriber() }, grown = { s: subscriber() };
    for (const x of [fresh, grown]) {
      x.p = phone(w.url, { sim: x.s.simA });
      x.bindingId = (await bindPhone(w, x.p, x.s.number)).bindingId;
    }
    const rows = await w.objectRows();
    const ns = await w.mf.getDurableObjectNamespace("BINDINGS");
    const files = {
      binding: w.objectFile("BINDINGS", ns.idFromName(grown.bindingId).toString()),
      number: w.objectFile("NUMBERS", objectHolding(rows, "NumberObject", "bound", grown.bindingId)),
      chip: w.objectFile("CHIPS", objectHolding(rows, "ChipObject", "holder", grown.bindingId)),
    };
    await w.mf.dispose();
    const nowMs = Date.now(), later = Math.floor(nowMs / 1000) + 3600;
    const series = (n) => `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n})`;
    sql(files.binding, `${series(entries)} INSERT INTO audit (at, event, ceremony, code) SELECT ${nowMs} - i, 'verified', 'verify', NULL FROM n;
${series(entries)} INSERT INTO used_nonce (nonce, expires_at) SELECT printf('seed-%08d', i), ${later} FROM n;`);
    sql(files.number, `${series(entries)} INSERT INTO registration (id, expires_at, json) SELECT printf('reg_seed_%08d', i), ${later}, '{}' FROM n;`);
    sql(files.chip, `${series(entries)} INSERT INTO holder (serial, binding_id) SELECT printf('seed-%08d', i), 'bnd_seed' FROM n;`);
    w = await startWorker({ state, bindings: LIMITS, requestLimit: REQUEST_LIMIT });
    try {
      // The same phones (key and serial), talking to the restarted runtime.
      for (const x of [fresh, grown]) x.p = phone(w.url, { sim: x.s.simA, key: x.p.device.exportKey(), serial: x.p.serial });
      const out = {};
      for (const [name, x] of [["fresh", fresh], ["grown", grown]]) {
        x.p.device.setCounter(100);
        await x.p.client.verify(x.bindingId); // warm-up
        out[`verify ${name}`] = await phase(1, seconds, () => x.p.client.verify(x.bindingId));
        // A bind on the same number by the same chip: registration, code, re-bind.
        out[`bind ${name}`] = await phase(1, seconds, () => bindPhone(w, x.p, x.s.number));
      }
      return { entries, seconds, out };
    } finally {
      await w.dispose();
    }
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await runGrowth({ entries: Number(process.env.ENTRIES ?? 100_000), seconds: Number(process.env.SECONDS ?? 5) });
  console.log(`\n${r.entries} audit events + used nonces in one binding, ${r.entries} rows in its number and chip objects\n`);
  console.log("| ceremony | p50 ms | p99 ms | n |");
  console.log("|---|---|---|---|");
  for (const [k, v] of Object.entries(r.out)) console.log(`| ${k} | ${v.p50.toFixed(2)} | ${v.p99.toFixed(2)} | ${v.n} |`);
}
