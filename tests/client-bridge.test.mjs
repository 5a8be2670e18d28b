// The client's bridge hosts (wasm-client/js/client.js) as real hosts behave:
// an Android `addJavascriptInterface` object (synchronous, strings in and
// out) and an iOS `WKScriptMessageHandlerWithReply` (postMessage promises),
// both wrapping a software phone, through whole ceremonies against the
// worker; and their failures, each a typed SimBindError.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./lib/worker.mjs";
import { AUDIENCE, bindPhone, phone, refusal, subscriber } from "./lib/phone.mjs";
import { Bridge, SimBindClient, SoftwareBridge } from "../wasm-client/pkg/testing/node.js";

let w;
before(async () => { w = await startWorker(); });
after(() => w.dispose());

const b64u = (bytes) => Buffer.from(bytes).toString("base64url");
const unb64u = (text) => new Uint8Array(Buffer.from(text, "base64url"));

/** An Android host over `device`: every argument and reply is a string, as `@JavascriptInterface` allows. */
function androidHost(device, seen = []) {
  const strings = (method, f) => (...args) => {
    seen.push([method, args.map((a) => typeof a)]);
    return f(...args);
  };
  return {
    chipInfo: strings("chipInfo", () => JSON.stringify(device.chipInfo())),
    simInfo: strings("simInfo", () => JSON.stringify(device.simInfo())),
    nextCounter: strings("nextCounter", () => String(device.nextCounter())),
    chipSign: strings("chipSign", (t) => b64u(device.chipSign(unb64u(t)))),
  };
}

/** Installs an iOS handler `name` over `device`: postMessage({method, args}) answers with a promise. */
function installIosHost(name, device, mode = "ok") {
  globalThis.webkit = { messageHandlers: { [name]: { postMessage({ method, args }) {
    if (mode === "rejects") return Promise.reject(new Error("native handler failed"));
    switch (method) {
      case "chipInfo": return Promise.resolve(device.chipInfo());
      case "simInfo": return Promise.resolve(mode === "garbage" ? { iccid: 42 } : JSON.stringify(device.simInfo()));
      case "nextCounter": return Promise.resolve(device.nextCounter());
      case "chipSign": return Promise.resolve(b64u(device.chipSign(unb64u(args[0]))));
      default: return Promise.reject(new Error(`unknown method ${method}`));
    }
  } } } };
}

/** A bound software phone on a fresh number, and a client factory for other hosts over the same chip. */
async function boundPhone() {
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, p, s.number);
  const over = (bridge) => new SimBindClient(w.url, bridge, AUDIENCE);
  return { p, bindingId, over };
}

test("Android host: bind and verify with strings only (JSON, decimal counter, base64url)", async () => {
  const s = subscriber();
  const device = new SoftwareBridge(`ANDROID-${process.pid}`);
  device.insertSim(s.simA);
  const seen = [];
  const client = new SimBindClient(w.url, Bridge.fromAndroid(androidHost(device, seen)), AUDIENCE);
  const { registrationId } = await client.startRegistration(s.number);
  const { bindingId, status } = await client.completeBinding(registrationId, await w.otp(s.number));
  assert.equal(status, "active");
  const grant = await client.verify(bindingId);
  assert.equal(grant.grant.split(".").length, 3);
  const signs = seen.filter(([m]) => m === "chipSign");
  assert.equal(signs.length, 2);
  assert.ok(signs.every(([, types]) => types.length === 1 && types[0] === "string"), "the transcript went as base64url text");
  assert.ok(seen.filter(([m]) => m !== "chipSign").every(([, types]) => types.length === 0));
});

test("iOS host: verify through postMessage promises", async () => {
  const { p, bindingId, over } = await boundPhone();
  installIosHost("simbind", p.device);
  try {
    const grant = await over(Bridge.fromIos("simbind")).verify(bindingId);
    assert.equal(grant.tokenType, "SimBind-Grant");
  } finally {
    delete globalThis.webkit;
  }
});

test("missing hosts and methods are bridge_unavailable and bridge_method_missing", async () => {
  for (const make of [() => Bridge.fromAndroid(undefined), () => Bridge.fromObject(null), () => Bridge.fromIos("simbind")]) {
    const e = (() => { try { make(); } catch (e) { return e; } })();
    assert.equal(e?.name, "SimBindError");
    assert.deepEqual([e.code, e.source, e.status], ["bridge_unavailable", "bridge", 0]);
  }
  globalThis.webkit = { messageHandlers: { other: { postMessage() {} } } };
  assert.throws(() => Bridge.fromIos("simbind"), { code: "bridge_unavailable" });
  delete globalThis.webkit;
  const { bindingId, over } = await boundPhone();
  const e = await refusal(over(Bridge.fromObject({})).verify(bindingId));
  assert.deepEqual([e.code, e.source], ["bridge_method_missing", "bridge"]);
});

test("a host that throws or rejects is bridge_failed, with the host's message", async () => {
  const { p, bindingId, over } = await boundPhone();
  const throwing = { ...androidHost(p.device), chipInfo() { throw new Error("java.lang.SecurityException: chip locked"); } };
  const e = await refusal(over(Bridge.fromAndroid(throwing)).verify(bindingId));
  assert.deepEqual([e.code, e.source], ["bridge_failed", "bridge"]);
  assert.match(e.detail, /chipInfo: java.lang.SecurityException: chip locked/);
  installIosHost("simbind", p.device, "rejects");
  try {
    const r = await refusal(over(Bridge.fromIos("simbind")).verify(bindingId));
    assert.equal(r.code, "bridge_failed");
    assert.match(r.detail, /native handler failed/);
  } finally {
    delete globalThis.webkit;
  }
});

test("malformed replies are bridge_malformed_reply and name no reported value", async () => {
  const { p, bindingId, over } = await boundPhone();
  const cases = {
    "chip JSON": { chipInfo: () => "{not json" },
    "chip field": { chipInfo: () => JSON.stringify({ ...p.device.chipInfo(), extra: 1 }) },
    "short signature": { chipSign: () => "AAAA" },
    "counter": { nextCounter: () => "seven" },
  };
  for (const [name, override] of Object.entries(cases)) {
    const e = await refusal(over(Bridge.fromAndroid({ ...androidHost(p.device), ...override })).verify(bindingId));
    assert.deepEqual([e.code, e.source], ["bridge_malformed_reply", "bridge"], name);
  }
  installIosHost("simbind", p.device, "garbage");
  try {
    const e = await refusal(over(Bridge.fromIos("simbind")).verify(bindingId));
    assert.equal(e.code, "bridge_malformed_reply");
  } finally {
    delete globalThis.webkit;
  }
  const sim = p.device.simInfo();
  const e = await refusal(over(Bridge.fromAndroid({ ...androidHost(p.device), simInfo: () => JSON.stringify({ ...sim, imsi: 42 }) })).verify(bindingId));
  assert.equal(e.code, "bridge_malformed_reply");
  assert.ok(!e.detail.includes(sim.iccid) && !e.message.includes(sim.iccid), "the reply is not echoed");
});

test("a listener sees each exchange, and its own failure does not break the ceremony", async () => {
  const { p, bindingId } = await boundPhone();
  const client = new SimBindClient(w.url, Bridge.fromObject(p.device), AUDIENCE);
  client.onExchange(() => { throw new Error("listener bug"); });
  assert.equal((await client.verify(bindingId)).tokenType, "SimBind-Grant");
  const seen = [];
  client.onExchange((x) => seen.push(x));
  await client.verify(bindingId);
  assert.deepEqual(seen.map((x) => [x.method, new URL(x.url).pathname, x.status]), [
    ["POST", `/v1/bindings/${bindingId}/challenge`, 200],
    ["POST", `/v1/bindings/${bindingId}/verify`, 200],
  ]);
  assert.equal(seen[0].request.ceremony, "verify");
  assert.equal(typeof seen[1].response.grant, "string");
});

test("the constructor refuses plain http off this machine, a missing audience and a bare object", () => {
  const bridge = Bridge.fromObject({});
  assert.throws(() => new SimBindClient("http://simbind.example", bridge, AUDIENCE), { code: "insecure_base_url" });
  assert.throws(() => new SimBindClient("http://localhost.evil.example", bridge, AUDIENCE), { code: "insecure_base_url" });
  assert.throws(() => new SimBindClient(w.url, bridge, ""), { code: "missing_audience" });
  assert.throws(() => new SimBindClient(w.url, {}, AUDIENCE), { code: "bridge_unavailable" });
  for (const ok of ["https://simbind.example", "http://localhost:8787", "http://127.0.0.1", "http://[::1]:1/"]) {
    assert.ok(new SimBindClient(ok, bridge, AUDIENCE));
  }
});

test("verify signs exactly the documented transaction types and refuses every other value before anything is sent", async () => {
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, p, s.number);
  const txnOf = (grant) => JSON.parse(Buffer.from(grant.split(".")[1], "base64url")).txn;
  // A Uint8Array (a Node Buffer is one) and an ArrayBuffer (what crypto.subtle.digest returns).
  const bytes = new Uint8Array(32).fill(3);
  assert.equal(txnOf((await p.client.verify(bindingId, bytes)).grant), b64u(bytes));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode("pay 42.00 EUR to ACME"));
  assert.equal(txnOf((await p.client.verify(bindingId, digest)).grant), b64u(new Uint8Array(digest)));
  assert.equal(txnOf((await p.client.verify(bindingId, Buffer.from("payment-123"))).grant), b64u(Buffer.from("payment-123")));
  assert.equal(txnOf((await p.client.verify(bindingId, new Uint8Array(64).fill(1))).grant).length, 86, "64 bytes");
  assert.equal(txnOf((await p.client.verify(bindingId)).grant), undefined, "none");
  assert.equal(txnOf((await p.client.verify(bindingId, null)).grant), undefined, "null is none");
  // Everything else: refused, nothing sent, nothing signed.
  const before = p.exchanges.length;
  const counter = p.device.nextCounter();
  for (const [value, what] of [
    ["payment-123", "a string"],
    [42, "a number"],
    [[1, 2, 3], "an array"],
    [new Uint8Array(0), "an empty Uint8Array"],
    [new ArrayBuffer(0), "an empty ArrayBuffer"],
    [new Uint8Array(65), "65 bytes"],
    [new Uint16Array(4), "another typed array"],
    [new DataView(new ArrayBuffer(8)), "a DataView"],
    [{ 0: 1, length: 1 }, "an array-like object"],
    [true, "a boolean"],
  ]) {
    const e = await refusal(p.client.verify(bindingId, value));
    assert.equal(`${e.name} ${e.code} ${e.status} ${e.source}`, "SimBindError invalid_transaction 0 client", what);
  }
  assert.equal(p.exchanges.length, before, "no request was sent");
  assert.equal(p.device.nextCounter(), counter + 1, "the chip signed nothing");
});

test("sendNumberProof texts only this client's own device_sms token, and the bridge gets the token alone (F4)", async () => {
  const sent = [];
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA, sendNumberProof: (...args) => { sent.push(args); } });
  const forged = [
    { deviceSms: { to: "+449098790000", text: "Reply YES to win" } },
    { registrationId: "reg_x", proof: "device_sms", deviceSms: { to: "+447700900999", text: "SB-7K2M9QX4TZ links this number to your phone in SimBind demo." } },
    undefined,
    "reg_x",
  ];
  for (const registration of forged) {
    const e = await refusal(p.client.sendNumberProof(registration));
    assert.equal(`${e.source} ${e.code}`, "client invalid_argument");
  }
  // A copy of a real registration (say, the attacker's own, from another device) is not this client's.
  const real = await p.client.startRegistration(s.number, { proof: "device_sms" });
  assert.equal((await refusal(p.client.sendNumberProof({ ...real, deviceSms: { ...real.deviceSms } }))).code, "invalid_argument");
  assert.equal((await refusal(p.client.completeBinding({ ...real }))).code, "invalid_argument");
  assert.deepEqual(sent, [], "nothing was sent");
  assert.ok(Object.isFrozen(real) && Object.isFrozen(real.deviceSms), "the registration cannot be edited");
  assert.equal(real.deviceSms.token, undefined, "the token stays inside the client");
  await p.client.sendNumberProof(real);
  assert.deepEqual(sent, [[real.deviceSms.text.slice(0, 13)]], "the bridge got the token and nothing else");
  // An OTP registration has no token to send.
  const byCode = phone(w.url, { sim: subscriber().simA, sendNumberProof: () => sent.push("otp") }).client;
  const otp = await byCode.startRegistration(subscriber().number, { proof: "otp" });
  assert.equal((await refusal(byCode.sendNumberProof(otp))).code, "invalid_argument");
  assert.equal(sent.length, 1);
});
