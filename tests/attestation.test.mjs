// Real chip formats end to end in workerd: binds and verifications with
// Android Key Attestation and Apple App Attest through the project's
// client, the attestation status list refreshed by the Cron Trigger from an
// intercepted fetch, and the configuration that refuses to start unsafe.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startWorker } from "./lib/worker.mjs";
import { refusal, subscriber } from "./lib/phone.mjs";
import { attestedPhone, revokedList } from "./lib/attested-phone.mjs";

let w;
before(async () => { w = await startWorker(); });
after(() => w.dispose());

async function bind(p, s, world = w) {
  const { registrationId } = await p.client.startRegistration(s.number);
  return p.client.completeBinding(registrationId, await world.otp(s.number));
}

for (const format of ["android-key", "apple-appattest"]) {
  test(`${format}: bind with the attestation, then verify and unbind with the attested key`, async () => {
    const s = subscriber();
    const p = attestedPhone(w.url, { format, sim: s.simA });
    const bound = await bind(p, s);
    assert.equal(bound.status, "active");
    const sent = p.lastRequest().evidence.chip;
    assert.equal(sent.format, format);
    assert.equal(sent.key_id, p.chip.keyId);
    assert.ok(sent.certificate_chain || sent.attestation, "the first bind carries the attestation");
    for (let i = 0; i < 2; i++) {
      const grant = await p.client.verify(bound.bindingId);
      assert.equal(grant.tokenType, "SimBind-Grant");
      const chip = p.lastRequest().chip;
      assert.deepEqual(Object.keys(chip).sort(), ["format", "key_id"], "verify sends only the key id");
    }
    const record = await w.bindingRecord(bound.bindingId);
    assert.equal(record.chip_format, format);
    if (format === "apple-appattest") {
      assert.ok(record.attestation_receipt, "the App Attest receipt is kept with the binding");
      assert.equal(record.counter, 3, "the counter is the assertions' (bind 1, verify 2 and 3)");
    }
    const unbound = await p.client.unbind(bound.bindingId);
    assert.equal(unbound.status, "revoked");
  });
}

test("apple-appattest: a replayed or lower assertion counter is refused and counts as authentic", async () => {
  const s = subscriber();
  const p = attestedPhone(w.url, { format: "apple-appattest", sim: s.simA });
  const bound = await bind(p, s);
  await p.client.verify(bound.bindingId);
  p.setCounter(0); // the next assertion carries counter 1 again
  const e = await refusal(p.client.verify(bound.bindingId));
  assert.equal(e.code, "counter_replayed");
  const record = await w.bindingRecord(bound.bindingId);
  assert.equal(record.consecutive_failures, 1, "the bound key signed it: it counts");
});

test("android-key: an unlocked phone is refused at bind with its own code", async () => {
  const s = subscriber();
  const p = attestedPhone(w.url, { format: "android-key", sim: s.simA, unlocked: true });
  const e = await refusal(bind(p, s));
  assert.equal(e.code, "attestation_device_not_locked");
  assert.equal(e.status, 403);
});

test("a key that was never attested cannot bind; the bound key re-proves without one", async () => {
  const s = subscriber();
  const p = attestedPhone(w.url, { format: "android-key", sim: s.simA });
  p.bridge.chipAttest = undefined; // a bridge that cannot attest
  const e = await refusal(bind(p, s));
  assert.equal(e.code, "attestation_required");
  const q = attestedPhone(w.url, { format: "android-key", sim: s.simA });
  const first = await bind(q, s);
  // A new SIM on the same phone: the bound key re-proves the number.
  q.bridge.simInfo = () => ({ ...s.simB });
  const again = await bind(q, s);
  assert.equal(again.bindingId, first.bindingId);
  assert.equal(again.rebound, true);
  assert.equal(q.lastRequest().evidence.chip.certificate_chain, undefined, "no second attestation");
});

test("an attestation is bound to its own bind: replayed into another registration it is refused", async () => {
  const s = subscriber();
  const p = attestedPhone(w.url, { format: "android-key", sim: s.simA });
  const { registrationId } = await p.client.startRegistration(s.number);
  const code = await w.otp(s.number);
  // Capture the first bind's attested request without sending it, by making
  // the bind fail on a wrong code first; then replay its chain elsewhere.
  const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
  await refusal(p.client.completeBinding(registrationId, wrong));
  const chain = p.lastRequest().evidence.chip.certificate_chain;
  assert.ok(chain);
  const again = await p.client.startRegistration(s.number);
  p.forgetAttestation();
  p.bridge.chipAttest = () => ({ format: "android-key", keyId: p.chip.keyId, certificateChain: chain });
  const e = await refusal(p.client.completeBinding(again.registrationId, await w.otp(s.number)));
  assert.equal(e.code, "attestation_challenge_mismatch");
});

/** The DER certificates (base64url) of a real fixture chain, leaf first. */
function realChain(file) {
  const pem = readFileSync(new URL(`../core/tests/fixtures/attestation/android/${file}`, import.meta.url), "utf8");
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/g)]
    .map((m) => Buffer.from(m[1].replace(/\s+/g, ""), "base64").toString("base64url"));
}

test("real Google chains are checked by the runtime's WebCrypto: the RSA-4096 and P-384 roots verify, a forged link does not", async () => {
  // Real phones' chains were made for their own challenges: a chain that
  // verifies link by link up to a pinned root reaches the challenge check
  // (attestation_challenge_mismatch); one forged byte in a signature stops
  // it at the chain. The worker ships no RSA or P-384 code: WebCrypto
  // answers these checks, core decides.
  // The tegu chain's intermediates are short-lived and have expired by now:
  // dates are checked only after every signature has verified.
  const cases = [
    ["sony-xperia10-iii_sdk33_TEE_EC.pem", "RSA-4096 root, factory intermediates", "attestation_challenge_mismatch"],
    ["tegu_sdk36_TEE_EC_2026_ROOT.pem", "P-384 Key Attestation CA1 root", "attestation_expired"],
  ];
  for (const [file, what, verified] of cases) {
    const chain = realChain(file);
    for (const [name, certificateChain, expected] of [
      ["as the phone made it", chain, verified],
      ["one signature byte forged", [...chain.slice(0, 1), forgeSignature(chain[1]), ...chain.slice(2)], "attestation_signature_invalid"],
    ]) {
      const s = subscriber();
      const p = attestedPhone(w.url, { format: "android-key", sim: s.simA });
      p.bridge.chipAttest = () => ({ format: "android-key", keyId: p.chip.keyId, certificateChain });
      const e = await refusal(bind(p, s));
      assert.equal(e.code, expected, `${what}, ${name}`);
    }
  }
});

/** A certificate (base64url DER) with the last byte of its signature inverted. */
function forgeSignature(der) {
  const bytes = Buffer.from(der, "base64url");
  bytes[bytes.length - 1] ^= 0xff;
  return bytes.toString("base64url");
}

test("the Cron Trigger refreshes the status list from its URL; a listed certificate is refused", async () => {
  const served = [];
  let list = revokedList("7e57", "5ca1ab1e"); // the test intermediate's serial, and another
  const sw = await startWorker({
    // Two KV writes a run: the list (2 entries) lands in one run, the later
    // change (one added, two removed) takes two.
    bindings: { ATTESTATION_STATUS_FAIL_CLOSED: "true", ATTESTATION_STATUS_WRITES_PER_RUN: "2" },
    outboundService: async (request) => {
      served.push(request.url);
      return new Response(JSON.stringify(list), { headers: { "content-type": "application/json" } });
    },
  });
  try {
    const s = subscriber();
    // Never refreshed: fail closed.
    const p = attestedPhone(sw.url, { format: "android-key", sim: s.simA });
    assert.equal((await refusal(bind(p, s, sw))).code, "attestation_status_unavailable");
    const worker = await sw.mf.getWorker();
    await worker.scheduled({ cron: "*/15 * * * *" });
    assert.deepEqual(served, ["https://android.googleapis.com/attestation/status"]);
    const kv = await sw.mf.getKVNamespace("ATTESTATION_STATUS");
    assert.ok(await kv.get("serial:7e57"), "one KV entry per listed serial");
    const admin = { authorization: "Bearer dev-only-admin-token" };
    const meta = await (await fetch(`${sw.url}/v1/admin/attestation-status`, { headers: admin })).json();
    assert.equal(meta.entries, 2);
    assert.equal(meta.pending, 0);
    assert.equal(meta.stale, false);
    const q = attestedPhone(sw.url, { format: "android-key", sim: s.simA });
    assert.equal((await refusal(bind(q, s, sw))).code, "attestation_revoked");
    // Taken off the list: the change is applied over two runs, then binds again.
    list = revokedList("abcdef");
    await worker.scheduled({ cron: "*/15 * * * *" });
    const half = await (await fetch(`${sw.url}/v1/admin/attestation-status`, { headers: admin })).json();
    assert.equal(half.pending, 1, "three changes, two writes a run");
    await worker.scheduled({ cron: "*/15 * * * *" });
    assert.equal(await kv.get("serial:7e57"), null, "removed entries are deleted");
    assert.ok(await kv.get("serial:abcdef"));
    const done = await (await fetch(`${sw.url}/v1/admin/attestation-status`, { headers: admin })).json();
    assert.deepEqual([done.entries, done.pending], [1, 0]);
    const r = attestedPhone(sw.url, { format: "android-key", sim: s.simA });
    assert.equal((await bind(r, s, sw)).status, "active");
  } finally {
    await sw.dispose();
  }
});

// Staleness, made deterministic: instead of waiting out the maximum age,
// the tests backdate `refreshed_at` in the `meta` record the refresh wrote
// (the one value every bind and the admin route read the list's age from).
const MAX_AGE = 3600;
const ADMIN = { authorization: "Bearer dev-only-admin-token" };
const CRON = { cron: "*/15 * * * *" };

/** A worker with a one-hour maximum age whose Cron Trigger is served `served.list`. */
function statusWorker(bindings, served) {
  return startWorker({
    bindings: { ATTESTATION_STATUS_MAX_AGE_SECS: String(MAX_AGE), ...bindings },
    outboundService: async () =>
      new Response(JSON.stringify(served.list), { headers: { "content-type": "application/json" } }),
  });
}

async function adminStatus(sw) {
  const res = await fetch(`${sw.url}/v1/admin/attestation-status`, { headers: ADMIN });
  assert.equal(res.status, 200);
  return res.json();
}

/** Backdates the last successful refresh to `age` seconds ago; returns that instant. */
async function ageList(sw, age) {
  const kv = await sw.mf.getKVNamespace("ATTESTATION_STATUS");
  const meta = JSON.parse(await kv.get("meta"));
  assert.ok(meta.refreshed_at > 0, "a refresh succeeded before");
  const refreshedAt = Math.floor(Date.now() / 1000) - age;
  await kv.put("meta", JSON.stringify({ ...meta, refreshed_at: refreshedAt }));
  return refreshedAt;
}

const android = (sw, s) => bind(attestedPhone(sw.url, { format: "android-key", sim: s.simA }), s, sw);

test("a status list older than ATTESTATION_STATUS_MAX_AGE_SECS fails android-key binds closed until the next refresh", async () => {
  const served = { list: revokedList("5ca1ab1e") }; // lists no certificate of the test chains
  const sw = await statusWorker({ ATTESTATION_STATUS_FAIL_CLOSED: "true" }, served);
  try {
    const worker = await sw.mf.getWorker();
    await worker.scheduled(CRON);
    const fresh = await adminStatus(sw);
    assert.deepEqual([fresh.stale, fresh.fail_closed, fresh.entries, fresh.pending], [false, true, 1, 0]);
    // Just inside the maximum age the list still counts.
    await ageList(sw, MAX_AGE - 300);
    assert.equal((await adminStatus(sw)).stale, false);
    assert.equal((await android(sw, subscriber())).status, "active");
    // Past it: binds fail closed with the documented code.
    const refreshedAt = await ageList(sw, MAX_AGE + 300);
    const stale = await adminStatus(sw);
    assert.deepEqual([stale.refreshed_at, stale.stale, stale.fail_closed], [refreshedAt, true, true]);
    const e = await refusal(android(sw, subscriber()));
    assert.equal(e.code, "attestation_status_unavailable");
    assert.equal(e.status, 403);
    // The list is Android's: App Attest binds are not held up by it.
    const s = subscriber();
    const iphone = attestedPhone(sw.url, { format: "apple-appattest", sim: s.simA });
    assert.equal((await bind(iphone, s, sw)).status, "active");
    // The next successful refresh makes it current again.
    await worker.scheduled(CRON);
    const again = await adminStatus(sw);
    assert.equal(again.stale, false);
    assert.ok(again.refreshed_at > refreshedAt);
    assert.equal((await android(sw, subscriber())).status, "active");
  } finally {
    await sw.dispose();
  }
});

test("with ATTESTATION_STATUS_FAIL_CLOSED=false a stale list lets android-key binds through, and what it lists still counts", async () => {
  const served = { list: revokedList("5ca1ab1e") };
  const sw = await statusWorker({ ATTESTATION_STATUS_FAIL_CLOSED: "false" }, served);
  try {
    const worker = await sw.mf.getWorker();
    await worker.scheduled(CRON);
    const refreshedAt = await ageList(sw, MAX_AGE + 300);
    const stale = await adminStatus(sw);
    assert.deepEqual([stale.refreshed_at, stale.stale, stale.fail_closed], [refreshedAt, true, false]);
    assert.equal((await android(sw, subscriber())).status, "active");
    // Failing open skips only the age check: a certificate the stored list
    // names (the test intermediate, serial 7e57) is still refused.
    served.list = revokedList("7e57");
    await worker.scheduled(CRON);
    await ageList(sw, MAX_AGE + 300);
    assert.equal((await adminStatus(sw)).stale, true);
    assert.equal((await refusal(android(sw, subscriber()))).code, "attestation_revoked");
  } finally {
    await sw.dispose();
  }
});

test("a deployment that accepts a real format without an allow-list refuses to start", async () => {
  for (const [format, bindings] of [
    ["android-key", { ANDROID_POLICY: undefined }],
    ["apple-appattest", { APPLE_APP_IDS: "" }],
  ]) {
    const sw = await startWorker({ bindings: { CHIP_FORMATS: format, ...bindings } });
    try {
      const res = await fetch(`${sw.url}/v1/health`);
      assert.equal(res.status, 503, format);
      assert.equal((await res.json()).code, "misconfigured");
    } finally {
      await sw.dispose();
    }
  }
});

test("a format the deployment does not accept is refused at bind", async () => {
  const sw = await startWorker({ bindings: { CHIP_FORMATS: "simbind-p256" } });
  try {
    const s = subscriber();
    const p = attestedPhone(sw.url, { format: "apple-appattest", sim: s.simA });
    assert.equal((await refusal(bind(p, s, sw))).code, "attestation_format_not_allowed");
  } finally {
    await sw.dispose();
  }
});
