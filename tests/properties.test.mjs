// The brief's properties, each as a refusal by the real worker: replay,
// freshness, counter, substitution (SIM, chip, number, challenge, ceremony),
// one-time-code brute force, suspension and alerts.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./lib/worker.mjs";
import { bindPhone, phone, refusal, signedEvidence, subscriber } from "./lib/phone.mjs";
import { Bridge, SimBindClient, SoftwareBridge } from "../wasm-client/pkg/testing/node.js";

let w;
before(async () => { w = await startWorker(); });
after(() => w.dispose());

async function bound() {
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA });
  const binding = await bindPhone(w, p, s.number);
  return { s, p, ...binding };
}

async function problem(res) {
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  return { status: res.status, ...(await res.json()) };
}

async function challengeFor(bindingId, ceremony = "verify") {
  return (await w.post(`/v1/bindings/${bindingId}/challenge`, { ceremony })).json();
}

test("replay: a captured verification, sent again, is refused", async () => {
  const { p, bindingId } = await bound();
  await p.client.verify(bindingId);
  const captured = p.lastRequest();
  const res = await problem(await w.post(`/v1/bindings/${bindingId}/verify`, captured));
  assert.equal(res.code, "challenge_reused");
  assert.equal(res.status, 403);
});

test("replay: a captured binding message, sent again, is refused", async () => {
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA });
  const { registrationId } = await p.client.startRegistration(s.number);
  await p.client.completeBinding(registrationId, await w.otp(s.number));
  const captured = p.lastRequest();
  const res = await problem(await w.post(`/v1/registrations/${registrationId}/binding`, captured));
  assert.equal(res.code, "registration_not_found", "the registration was consumed");
  // Even under a new registration for the same number, the old challenge is dead.
  const { registrationId: second } = await p.client.startRegistration(s.number);
  const again = await problem(await w.post(`/v1/registrations/${second}/binding`, { ...captured, otp: await w.otp(s.number) }));
  assert.equal(again.code, "challenge_wrong_subject");
});

test("replay: a refused bind with the right code uses up its registration, and with it the challenge", async () => {
  const s = subscriber();
  const other = subscriber();
  const p = phone(w.url, { sim: other.simA }); // carries another number: bind refused
  const { registrationId } = await p.client.startRegistration(s.number);
  const code = await w.otp(s.number);
  assert.equal((await refusal(p.client.completeBinding(registrationId, code))).code, "number_mismatch");
  const captured = p.lastRequest();
  const again = await problem(await w.post(`/v1/registrations/${registrationId}/binding`, captured));
  assert.equal(again.code, "registration_not_found");
  const fresh = await w.post(`/v1/registrations/${registrationId}/challenge`, {});
  assert.equal(fresh.status, 404, "no new challenge for a used-up registration");
});

test("freshness: challenges expire", async () => {
  // 2 s, so the bind inside bindPhone always has at least a second to spare.
  const short = await startWorker({ bindings: { CHALLENGE_TTL_SECS: "2" } });
  try {
    const s = subscriber();
    const p = phone(short.url, { sim: s.simA });
    const { bindingId } = await bindPhone(short, p, s.number);
    const challenge = await (await short.post(`/v1/bindings/${bindingId}/challenge`, { ceremony: "verify" })).json();
    assert.ok(challenge.expires_at - Math.floor(Date.now() / 1000) <= 2);
    await new Promise((r) => setTimeout(r, 3100));
    const body = await signedEvidence(p.device, challenge, "verify", bindingId);
    const res = await problem(await short.post(`/v1/bindings/${bindingId}/verify`, body));
    assert.equal(res.code, "challenge_expired");
    assert.equal(res.status, 410);
  } finally {
    await short.dispose();
  }
});

test("freshness: a challenge is tied to its binding and its ceremony", async () => {
  const a = await bound();
  const b = await bound();
  const foreign = await challengeFor(b.bindingId);
  const body = await signedEvidence(a.p.device, foreign, "verify", a.bindingId);
  assert.equal((await problem(await w.post(`/v1/bindings/${a.bindingId}/verify`, body))).code, "challenge_wrong_subject");
  const unbindChallenge = await challengeFor(a.bindingId, "unbind");
  const body2 = await signedEvidence(a.p.device, unbindChallenge, "verify", a.bindingId);
  assert.equal((await problem(await w.post(`/v1/bindings/${a.bindingId}/verify`, body2))).code, "challenge_wrong_ceremony");
  const forged = { ...body2, challenge: Buffer.from("not a challenge at all, just bytes............").toString("base64url") };
  assert.equal((await problem(await w.post(`/v1/bindings/${a.bindingId}/verify`, forged))).code, "challenge_invalid");
});

test("substitution: a bind-ceremony signature is refused for verification", async () => {
  const { p, bindingId } = await bound();
  const challenge = await challengeFor(bindingId);
  const body = await signedEvidence(p.device, challenge, "bind", bindingId);
  const res = await problem(await w.post(`/v1/bindings/${bindingId}/verify`, body));
  assert.equal(res.code, "bad_signature");
  assert.equal(res.status, 401);
});

test("counter: a chip counter that does not increase is refused (cloned key)", async () => {
  const { p, bindingId } = await bound();
  await p.client.verify(bindingId); // counter 2
  const clone = phone(w.url, { serial: p.serial, key: p.device.exportKey(), sim: p.device.simInfo() });
  clone.device.setCounter(1); // next is 2: not above the stored 2
  const e = await refusal(clone.client.verify(bindingId));
  assert.equal(e.code, "counter_replayed");
  assert.equal(e.source, "server");
  await p.client.verify(bindingId); // the real chip (counter 3) still passes
});

test("substitution: another SIM is refused as sim_changed, alerts the bound number, and suspends after 3", async () => {
  const { s, p, bindingId } = await bound();
  p.device.insertSim(s.simB);
  for (let i = 1; i <= 3; i++) {
    const e = await refusal(p.client.verify(bindingId));
    assert.equal(e.code, "sim_changed", `attempt ${i}`);
    assert.equal(e.status, 403);
  }
  const alerts = (await w.outbox(s.number)).filter((m) => m.kind === "alert");
  assert.equal(alerts.length, 3);
  assert.match(alerts[2].text, /suspended/);
  p.device.insertSim(s.simA);
  assert.equal((await refusal(p.client.verify(bindingId))).code, "binding_suspended");
  const events = (await w.audit(bindingId)).map((e) => `${e.event}:${e.code ?? ""}`);
  assert.deepEqual(events.filter((e) => e.startsWith("suspended")), ["suspended:sim_changed"]);
  assert.equal(events.filter((e) => e === "alert_sent:sim_changed").length, 3);
  assert.deepEqual(events.slice(-3), ["denied:sim_changed", "suspended:sim_changed", "alert_sent:sim_changed"], "events keep the order they were written in");
  // The owner re-proves the number with the bound chip: active again.
  const again = await bindPhone(w, p, s.number);
  assert.equal(again.rebound, true);
  await p.client.verify(bindingId);
});

test("substitution: another chip (same serial, other key) is refused without alerting", async () => {
  const { s, p, bindingId } = await bound();
  const impostor = phone(w.url, { serial: p.serial, sim: s.simA });
  impostor.device.setCounter(100);
  assert.equal((await refusal(impostor.client.verify(bindingId))).code, "chip_mismatch");
  const other = phone(w.url, { sim: s.simA });
  const before = await w.bindingRecord(bindingId);
  for (let i = 0; i < 5; i++) assert.equal((await refusal(other.client.verify(bindingId))).code, "chip_mismatch");
  assert.deepEqual(await w.bindingRecord(bindingId), before, "unauthenticated: the binding is unchanged");
  assert.equal((await w.outbox(s.number)).filter((m) => m.kind === "alert").length, 0, "unauthenticated: no SMS");
  const trail = await w.trail(bindingId);
  assert.equal(trail.events.filter((e) => e.event === "denied_unverified").length, 0, "not listed one by one");
  assert.deepEqual(trail.tallies.map((t) => [t.event, t.code, t.count]), [["denied_unverified", "chip_mismatch", 6]], "counted per reason and hour");
  await p.client.verify(bindingId);
});

test("substitution: the bound SIM reporting another number is refused", async () => {
  const { s, p, bindingId } = await bound();
  p.device.insertSim({ ...s.simA, msisdn: "+447700999999" });
  assert.equal((await refusal(p.client.verify(bindingId))).code, "number_changed");
});

test("substitution: binding with a SIM that carries another number is refused", async () => {
  const s = subscriber();
  const other = subscriber();
  const p = phone(w.url, { sim: other.simA });
  const e = await refusal(bindPhone(w, p, s.number));
  assert.equal(e.code, "number_mismatch");
});

test("OTP: five wrong codes lock the registration with 429 and Retry-After", async () => {
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA });
  const { registrationId } = await p.client.startRegistration(s.number);
  const right = await w.otp(s.number);
  const wrong = right === "000000" ? "111111" : "000000";
  for (let i = 1; i <= 4; i++) {
    const e = await refusal(p.client.completeBinding(registrationId, wrong));
    assert.equal(e.code, "otp_invalid", `attempt ${i}`);
    assert.equal(e.status, 401);
  }
  const locked = await refusal(p.client.completeBinding(registrationId, wrong));
  assert.equal(locked.code, "otp_attempts_exhausted");
  assert.equal(locked.status, 429);
  const e = await refusal(p.client.completeBinding(registrationId, right));
  assert.equal(e.code, "otp_attempts_exhausted", "even the right code is refused now");
  const raw = await w.post(`/v1/registrations/${registrationId}/binding`, { ...p.lastRequest(), otp: right });
  assert.equal(raw.status, 429);
  assert.equal(raw.headers.get("retry-after"), "600", "the registration's lifetime (API.md)");
});

test("OTP: registrations per number are rate limited with 429 and Retry-After", async () => {
  const limited = await startWorker({ bindings: { REGISTRATIONS_PER_HOUR: "2" } });
  try {
    const { number } = subscriber();
    for (let i = 0; i < 2; i++) assert.equal((await limited.post("/v1/registrations", { phone_number: number })).status, 201);
    const res = await limited.post("/v1/registrations", { phone_number: number });
    assert.equal(res.status, 429);
    assert.equal((await res.json()).code, "rate_limited");
    assert.ok(Number(res.headers.get("retry-after")) > 0);
    assert.equal((await limited.outbox(number)).length, 2, "no SMS for the refused request");
  } finally {
    await limited.dispose();
  }
});

test("SIM applet key: a SIM bound with a key must sign again, with that key", async () => {
  const s = subscriber();
  const simKey = Buffer.alloc(32, 0x44).toString("base64url");
  const keyed = { ...s.simA, secretKey: simKey };
  const p = phone(w.url, { sim: keyed });
  const { bindingId } = await bindPhone(w, p, s.number);
  await p.client.verify(bindingId);
  assert.ok(p.lastRequest().sim_signature, "the SIM signed");

  p.device.insertSim(s.simA); // the same card identifiers, but no applet key
  assert.equal((await refusal(p.client.verify(bindingId))).code, "sim_signature_required");

  p.device.insertSim(keyed);
  const forger = new SoftwareBridge("FORGER-1");
  forger.insertSim({ ...s.simA, secretKey: Buffer.alloc(32, 0x45).toString("base64url") });
  const host = {
    chipInfo: () => p.device.chipInfo(),
    simInfo: () => p.device.simInfo(),
    nextCounter: () => p.device.nextCounter(),
    chipSign: (t) => p.device.chipSign(t),
    simSign: (t) => forger.simSign(t), // right SIM key claimed, wrong key signs
  };
  const client = new SimBindClient(w.url, Bridge.fromObject(host), "simbind-dev");
  assert.equal((await refusal(client.verify(bindingId))).code, "bad_sim_signature");
  await p.client.verify(bindingId);
});

test("REQUIRE_SIM_SIGNATURE=true: a SIM without its own key cannot bind", async () => {
  const strict = await startWorker({ bindings: { REQUIRE_SIM_SIGNATURE: "true" } });
  try {
    const s = subscriber();
    const e = await refusal(bindPhone(strict, phone(strict.url, { sim: s.simA }), s.number));
    assert.equal(e.code, "sim_signature_required");
    const keyed = { ...s.simA, secretKey: Buffer.alloc(32, 0x46).toString("base64url") };
    const { bindingId } = await bindPhone(strict, phone(strict.url, { sim: keyed }), s.number);
    assert.match(bindingId, /^bnd_/);
  } finally {
    await strict.dispose();
  }
});

test("registrations per sender address are rate limited across numbers", async () => {
  const limited = await startWorker({ bindings: { REGISTRATIONS_PER_IP_PER_HOUR: "2" } });
  try {
    const from = (ip) => ({ "cf-connecting-ip": ip });
    for (let i = 0; i < 2; i++) {
      assert.equal((await limited.post("/v1/registrations", { phone_number: subscriber().number }, from("198.51.100.7"))).status, 201);
    }
    const res = await limited.post("/v1/registrations", { phone_number: subscriber().number }, from("198.51.100.7"));
    assert.equal(res.status, 429);
    assert.equal((await res.json()).code, "rate_limited");
    assert.ok(Number(res.headers.get("retry-after")) > 0);
    const other = await limited.post("/v1/registrations", { phone_number: subscriber().number }, from("198.51.100.8"));
    assert.equal(other.status, 201, "another address is not affected");
  } finally {
    await limited.dispose();
  }
});

test("vendor roots configured: a certificate from the root binds; a wrong one is refused", async () => {
  // The vendor side, written from PROTOCOL.md §7 with node:crypto (P1363 signatures).
  const { generateKeyPairSync, sign } = await import("node:crypto");
  const root = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const { x, y } = root.publicKey.export({ format: "jwk" });
  const rootSec1 = Buffer.concat([Buffer.from([2 + (Buffer.from(y, "base64url")[31] & 1)]), Buffer.from(x, "base64url")]);
  const field = (b) => { const len = Buffer.alloc(4); len.writeUInt32BE(b.length); return Buffer.concat([len, Buffer.from(b)]); };
  const u64 = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; };
  const inAYear = Math.floor(Date.now() / 1000) + 365 * 86400;
  const certify = (chip, key, vendor, notAfter = inAYear) => {
    const message = Buffer.concat([field("SIMBIND-CHIP-CERT"), field("simbind-p256"), field(vendor), u64(notAfter), field(chip.serial), field(Buffer.from(chip.publicKey, "base64url"))]);
    return { vendor, notAfter, signature: sign("sha256", message, { key, dsaEncoding: "ieee-p1363" }).toString("base64url") };
  };
  const strict = await startWorker({ bindings: { VENDOR_ROOTS: JSON.stringify({ acme: rootSec1.toString("base64url") }) } });
  try {
    const certified = (sim, key, vendor, notAfter) => {
      const device = new SoftwareBridge(`CERT-${vendor}-${Math.random().toString(36).slice(2, 8)}`);
      device.insertSim(sim);
      const host = {
        chipInfo: () => ({ ...device.chipInfo(), certificate: certify(device.chipInfo(), key, vendor, notAfter) }),
        simInfo: () => device.simInfo(),
        nextCounter: () => device.nextCounter(),
        chipSign: (t) => device.chipSign(t),
      };
      return { client: new SimBindClient(strict.url, Bridge.fromObject(host), "simbind-dev"), device };
    };
    const good = subscriber();
    const p = certified(good.simA, root.privateKey, "acme");
    const { bindingId } = await bindPhone(strict, p, good.number);
    await p.client.verify(bindingId);
    const s = subscriber();
    assert.equal((await refusal(bindPhone(strict, certified(s.simA, other.privateKey, "acme"), s.number))).code, "chip_certificate_invalid");
    assert.equal((await refusal(bindPhone(strict, certified(s.simA, root.privateKey, "globex"), s.number))).code, "chip_certificate_invalid");
    const expired = Math.floor(Date.now() / 1000) - 1;
    assert.equal((await refusal(bindPhone(strict, certified(s.simA, root.privateKey, "acme", expired), s.number))).code, "chip_certificate_expired");
  } finally {
    await strict.dispose();
  }
});

test("vendor roots configured: a chip without a certificate cannot bind", async () => {
  const strict = await startWorker({
    bindings: { VENDOR_ROOTS: JSON.stringify({ acme: "A2sX0fLhLEJH-Lzm5WOkQPJ3A32BLeszoPShOUXYmMKW" }) },
  });
  try {
    const s = subscriber();
    const e = await refusal(bindPhone(strict, phone(strict.url, { sim: s.simA }), s.number));
    assert.equal(e.code, "chip_certificate_required");
  } finally {
    await strict.dispose();
  }
});

test("REVOKED_CHIPS: a chip revoked by serial or by key cannot bind; others can", async () => {
  const bySerial = phone("http://127.0.0.1", { sim: subscriber().simA, serial: `REVOKED-${process.pid}` });
  const byKey = new SoftwareBridge(`KEYED-${process.pid}`);
  const revoked = JSON.stringify({ serials: [bySerial.serial], keys: [byKey.chipInfo().publicKey] });
  const strict = await startWorker({ bindings: { REVOKED_CHIPS: revoked } });
  try {
    const s = subscriber();
    assert.equal((await refusal(bindPhone(strict, phone(strict.url, { sim: s.simA, serial: bySerial.serial }), s.number))).code, "chip_revoked");
    const k = subscriber();
    const keyed = phone(strict.url, { sim: k.simA, key: byKey.exportKey() });
    assert.equal((await refusal(bindPhone(strict, keyed, k.number))).code, "chip_revoked");
    const ok = subscriber();
    await bindPhone(strict, phone(strict.url, { sim: ok.simA }), ok.number);
  } finally {
    await strict.dispose();
  }
  const bad = await startWorker({ bindings: { REVOKED_CHIPS: '{"serials":["no spaces allowed"]}' } });
  try {
    assert.equal((await fetch(`${bad.url}/v1/health`)).status, 503, "a malformed deny-list refuses to serve");
  } finally {
    await bad.dispose();
  }
});
