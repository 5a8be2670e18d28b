// Privacy (no identifier in clear anywhere in KV or responses), secrets and
// dev mode, and the webhook SMS provider through Miniflare's outbound hook.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PRODUCTION_BINDINGS as PRODUCTION, startWorker, wranglerVars } from "./lib/worker.mjs";
import { bindPhone, phone, refusal, subscriber } from "./lib/phone.mjs";

const SECRETS = ["CHALLENGE_HMAC_KEY", "GRANT_SIGNING_KEY", "ID_HASH_PEPPER", "ADMIN_TOKEN", "SMS_WEBHOOK_TOKEN"];

/** Starts the worker with `bindings` and expects every route to answer 503 `misconfigured`. */
async function refusesToServe(bindings, why) {
  const w = await startWorker({ bindings });
  try {
    const res = await fetch(`${w.url}/v1/health`);
    assert.equal(res.status, 503, why);
    assert.equal((await res.json()).code, "misconfigured", why);
  } finally {
    await w.dispose();
  }
}

test("after a full flow, no number, ICCID, IMSI or chip serial is stored or echoed in clear", async () => {
  const w = await startWorker();
  try {
    const s = subscriber();
    const p = phone(w.url, { sim: s.simA });
    const { bindingId } = await bindPhone(w, p, s.number);
    await p.client.verify(bindingId);
    p.device.insertSim(s.simB);
    await refusal(p.client.verify(bindingId));
    p.device.insertSim(s.simA);
    await p.client.unbind(bindingId);
    const secrets = [s.number, s.number.slice(1), s.simA.iccid, s.simA.imsi, s.simB.iccid, s.simB.imsi, p.serial];
    // Every row of every object, and every byte their SQLite files hold.
    const { objects } = await w.dump();
    const tables = Object.keys(objects);
    for (const table of ["BindingObject/*/record", "BindingObject/*/audit", "BindingObject/*/used_nonce", "NumberObject/*/bucket"]) {
      const [cls, , name] = table.split("/");
      assert.ok(tables.some((t) => t.startsWith(`${cls}/`) && t.endsWith(`/${name}`)), `the flow stored ${table}`);
    }
    for (const [table, rows] of Object.entries(objects)) {
      const text = JSON.stringify(rows);
      for (const secret of secrets) assert.ok(!text.includes(secret), `${table} holds an identifier`);
    }
    assert.ok(!tables.some((t) => t.endsWith("/bound") || t.endsWith("/holder")), "the unbind released the number and chip indexes");
    const files = w.storageBytes();
    assert.ok(Object.keys(files).length > 4, "the objects wrote their databases");
    for (const [file, bytes] of Object.entries(files)) {
      for (const secret of secrets) {
        assert.ok(!bytes.includes(Buffer.from(secret)), `${file} holds an identifier in clear`);
        assert.ok(!file.includes(secret), `${file} is named by an identifier`);
      }
    }
    // KV holds only the dev outbox, keyed by hashes.
    for (const [key, value] of Object.entries(await w.kvDump())) {
      assert.match(key, /^outbox:[0-9a-f]{64}:/);
      for (const secret of secrets) assert.ok(!key.includes(secret), `KV key ${key} holds an identifier`);
      assert.ok(!value.includes(s.simA.iccid) && !value.includes(s.simA.imsi), `outbox ${key} holds a SIM identifier`);
    }
    for (const exchange of p.exchanges) {
      const answer = JSON.stringify(exchange.response);
      for (const secret of secrets) assert.ok(!answer.includes(secret), `response to ${exchange.url} echoes an identifier`);
    }
  } finally {
    await w.dispose();
  }
});

test("outside dev mode, a missing secret refuses service with 503", async () => {
  for (const missing of SECRETS) {
    const w = await startWorker({ bindings: { ...PRODUCTION, [missing]: undefined } });
    try {
      const res = await fetch(`${w.url}/v1/health`);
      assert.equal(res.status, 503, missing);
      const body = await res.json();
      assert.equal(body.code, "misconfigured");
      assert.doesNotMatch(JSON.stringify(body), new RegExp(missing), "the secret's name stays in the logs");
      assert.equal((await w.post("/v1/registrations", { phone_number: "+447700900123" })).status, 503);
    } finally {
      await w.dispose();
    }
  }
});

test("outside dev mode, dev-valued or short secrets, the outbox and loose settings are refused", async () => {
  for (const name of SECRETS) {
    await refusesToServe({ ...PRODUCTION, [name]: "dev-only-0123456789abcdef0123456789abcdef" }, `${name} dev value`);
  }
  await refusesToServe({ ...PRODUCTION, ADMIN_TOKEN: "short-admin-token" }, "short secret");
  await refusesToServe({ ...PRODUCTION, SMS_PROVIDER: "outbox" }, "outbox outside dev");
  const testRoot = wranglerVars("env.dev.vars").ATTESTATION_TEST_ROOT;
  await refusesToServe({ ...PRODUCTION, ATTESTATION_TEST_ROOT: testRoot }, "test attestation root outside dev");
  await refusesToServe({ ...PRODUCTION, CHIP_FORMATS: "android-key", ANDROID_POLICY: undefined }, "android-key without allowed apps");
  await refusesToServe({ ...PRODUCTION, SMS_WEBHOOK_URL: "http://sms.example/v1" }, "plain-http webhook");
  await refusesToServe({ ...PRODUCTION, PUBLIC_URL: undefined }, "no PUBLIC_URL outside dev");
  await refusesToServe({ ...PRODUCTION, PUBLIC_URL: "http://simbind.example" }, "plain-http PUBLIC_URL");
  await refusesToServe({ ...PRODUCTION, REQUIRE_SIM_SIGNATURE: "yes" }, "loose boolean");
  await refusesToServe({ ...PRODUCTION, SIM_LEVEL: "strict" }, "unknown SIM level");
  await refusesToServe({ ...PRODUCTION, SIM_LEVEL: "device,tpm=none" }, "SIM level for an unknown chip format");
  await refusesToServe({ ...PRODUCTION, VENDOR_ROOTS: "{}" }, "empty vendor roots");
  await refusesToServe({ ...PRODUCTION, CHALLENGE_KEY_ID_PREVIOUS: "c0" }, "previous key id without its secret");
});

test("in dev mode, a non-dev secret is refused (dev mode opens the outbox)", async () => {
  await refusesToServe({ ADMIN_TOKEN: PRODUCTION.ADMIN_TOKEN }, "production token in dev mode");
});

test("problem details never repeat the input values", async () => {
  const w = await startWorker();
  try {
    for (const body of [
      '{"phone_number": 447700900123}',
      '{"phone_number": "+447700900123", "8944100000000000018": 1}',
      '{"phone_number": ["234150000000001"]}',
    ]) {
      const res = await w.post("/v1/registrations", body);
      assert.equal(res.status, 400);
      const text = await res.text();
      for (const value of ["447700900123", "8944100000000000018", "234150000000001"]) {
        assert.ok(!text.includes(value), `problem echoes ${value}: ${text}`);
      }
    }
  } finally {
    await w.dispose();
  }
});

test("production config: serves, dev routes answer 404, SMS goes to the webhook with its bearer secret", async () => {
  const delivered = [];
  let fail = false;
  const w = await startWorker({
    bindings: PRODUCTION,
    outboundService: async (request) => {
      delivered.push({ url: request.url, auth: request.headers.get("authorization"), body: await request.json() });
      return new Response(fail ? "down" : "{}", { status: fail ? 503 : 202 });
    },
  });
  try {
    const health = await fetch(`${w.url}/v1/health`);
    assert.equal(health.status, 200, "the production configuration serves");
    assert.equal((await fetch(`${w.url}/dev/outbox?phone_number=%2B447700900123`)).status, 404);
    assert.equal((await fetch(`${w.url}/dev/bindings/bnd_AAAAAAAAAAAAAAAAAAAAAA/audit`)).status, 404);

    const s = subscriber();
    const p = phone(w.url, { sim: s.simA });
    const { registrationId } = await p.client.startRegistration(s.number);
    assert.equal(delivered.length, 1);
    assert.equal(delivered[0].url, "https://sms.example/v1/messages");
    assert.equal(delivered[0].auth, "Bearer prod-webhook-token-for-tests-0123456789");
    assert.equal(delivered[0].body.to, s.number);
    assert.equal(delivered[0].body.kind, "otp");
    const code = delivered[0].body.text.match(/\d{6}/)[0];
    const { bindingId } = await p.client.completeBinding(registrationId, code);

    p.device.insertSim(s.simB);
    assert.equal((await refusal(p.client.verify(bindingId))).code, "sim_changed");
    const alert = delivered.at(-1);
    assert.equal(alert.body.kind, "alert");
    assert.equal(alert.body.to, s.number, "the alert goes to the bound number");

    fail = true;
    const e = await refusal(p.client.startRegistration(subscriber().number));
    assert.equal(e.code, "sms_delivery_failed");
    assert.equal(e.status, 502);
  } finally {
    await w.dispose();
  }
});
