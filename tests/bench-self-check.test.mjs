// The benchmark's honesty check (bench/self-check.mjs) can fail: against a
// worker that accepts everything each refusal is reported missing, and
// against one that refuses everything the accepted verifications are. The
// run that passes it against both real workers is `make test`'s
// `test-bench` (BENCH_TINY=1 node bench/run.mjs exits non-zero otherwise).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { phone } from "./lib/phone.mjs";
import { refusals } from "../bench/self-check.mjs";
import { unwatchGrants } from "./lib/grant.mjs";

// The stub's grants are not real: the suites' grant check is for real workers.
unwatchGrants();

const BINDING = "bnd_AAAAAAAAAAAAAAAAAAAAAA";

/** A stub worker answering every verify with `verify(n)` (n counts verify requests). */
async function stub(verify) {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const challenge = { challenge: Buffer.alloc(80, 7).toString("base64url"), audience: "simbind-dev", ceremony: "verify" };
      const [status, body] = req.url.endsWith("/challenge") ? [200, challenge] : verify(n++);
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

test("a worker that skips every check fails each refusal, by name", async () => {
  const s = await stub(() => [200, { grant: "a.b.c", token_type: "SimBind-Grant", expires_at: 1 }]);
  try {
    const r = await refusals(s.url, phone(s.url), BINDING);
    assert.equal(r.ok, false);
    assert.equal(r.lines.length, 7);
    const failed = r.lines.filter((l) => l.startsWith("FAIL")).map((l) => l.match(/expected (\w+)/)[1]);
    assert.deepEqual(failed, ["challenge_reused", "counter_replayed", "bad_signature", "challenge_invalid", "challenge_expired"]);
  } finally {
    await s.close();
  }
});

test("a worker that refuses everything fails the accepted verifications", async () => {
  const s = await stub(() => [403, { code: "bad_signature" }]);
  try {
    const r = await refusals(s.url, phone(s.url), BINDING);
    assert.equal(r.ok, false);
    assert.match(r.lines[0], /^FAIL a signed verification: expected accepted, got 403 bad_signature/);
    assert.match(r.lines.at(-1), /^FAIL a signed verification after them/);
    assert.match(r.lines.find((l) => l.includes("signed over other bytes")), /^ok /);
  } finally {
    await s.close();
  }
});
