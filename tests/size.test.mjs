// The production worker's upload stays within its budget, and keeps the cuts
// that brought it there (issue 25): each is a library instantiated for a
// second type or wrapper where one does, invisible in the source and easy to
// bring back. The budget only moves down; raising it is a decision for the
// issue that needs it, with the growth named.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = new URL("../", import.meta.url);
/** Bytes, gzip -9, of `edge-worker/build/index_bg.wasm` (332,804 on 2026-12-07):
 * below the 337 KB issue 25 set as the least it must reach. */
const BUDGET = 334_000;

test("the production worker's wasm is within its gzip budget", () => {
  const wasm = readFileSync(new URL("edge-worker/build/index_bg.wasm", root));
  const size = gzipSync(wasm, { level: 9 }).length;
  assert.ok(size <= BUDGET, `${size} B gzip, over the ${BUDGET} B budget`);
});

test("the production worker exports no class nothing constructs (scripts/drop-exports.py)", () => {
  const wasm = readFileSync(new URL("edge-worker/build/index_bg.wasm", root));
  const names = exportNames(wasm);
  // The objects' classes are exported: the check reads real names.
  assert.ok(names.includes("bindingobject_fetch"));
  const unused = /(containerstartupoptions|minifyconfig|r2range|intounderlying(byte)?source|intounderlyingsink)_/;
  assert.deepEqual(names.filter((n) => unused.test(n)), []);
});

test("the worker parses and writes JSON with one reader and one writer, and reads rows, KV and sends requests without serde wrappers", () => {
  // The production module as cargo left it, names kept (make build-worker).
  const named = fileURLToPath(new URL("target/edge-worker-named.wasm", root));
  const count = (text) =>
    Number(execFileSync("python3", [fileURLToPath(new URL("scripts/wasm-size.py", root)), named, "--count", text]));
  // Names are read: a module without them would pass the checks below unseen.
  assert.ok(count("serde_json::read::SliceRead") > 0);
  // serde_json::from_str: a second copy of every deserializer it reaches.
  assert.equal(count("serde_json::read::StrRead"), 0);
  // Rows into derived structs through serde_wasm_bindgen (objects/sql.rs reads columns).
  assert.equal(count("SqlStorageCursor::to_array"), 0);
  // KV values the same way (attestation.rs reads bytes).
  assert.equal(count("GetOptionsBuilder::json"), 0);
  // The worker crate's RequestInit serializes its cf options through serde (http::outbound).
  assert.equal(count("worker::request::Request::new_with_init"), 0);
  // A Value written by its Display: a second serializer (codec::json_text).
  assert.equal(count("serde_json::value::Value as core::fmt::Display"), 0);
  // Collecting into a map sorts first (maps are filled by insert).
  assert.equal(count("drift::sort"), 0);
  // A general X.509 decoder decodes every name's strings (core's reader keeps names as bytes).
  assert.equal(count("x509_cert::"), 0);
  // #[durable_object] alone exports every handler of every object: the
  // WebSocket ones no object has (each #[durable_object(fetch)] or (alarm)).
  assert.equal(count("websocket_message"), 0);
  // The worker crate's KV builders and rate limiter pass their options through
  // serde_wasm_bindgen, whose number conversions bring float formatting (kv.rs
  // and request_limit.rs call the runtime's methods).
  assert.equal(count("kv::builder"), 0);
  assert.equal(count("RateLimiter"), 0);
  assert.equal(count("float_to_decimal"), 0);
  // Panics stop at once (the Makefile's build-std with panic=immediate-abort):
  // the precompiled std formats every panic's message and location.
  assert.equal(count("core::panicking"), 0);
});

/** The export names of a wasm module, read from its export section (node's
 * WebAssembly cannot compile the worker: it uses GC reference types). */
function exportNames(wasm) {
  let pos = 8;
  const leb = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = wasm[pos++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (pos < wasm.length) {
    const id = wasm[pos++];
    const size = leb();
    const end = pos + size;
    if (id === 7) {
      const names = [];
      for (let count = leb(); count > 0; count--) {
        const length = leb();
        names.push(wasm.subarray(pos, pos + length).toString());
        pos += length + 1; // the name, then its kind
        leb(); // its index
      }
      return names;
    }
    pos = end;
  }
  return [];
}
