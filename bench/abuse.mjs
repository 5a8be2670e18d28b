// Measurement: the abuse figures of the 2026-12 security review (F3-F6, F8,
// F9, F12), as numbers, against this checkout's dev build or another's
// (`--root DIR`: a checkout with its own `make build-worker build-client`),
// so before and after come from one script on one machine. Asserts nothing:
// the pass/fail checks are tests/attacks.test.mjs, device-sms.test.mjs,
// client-bridge.test.mjs, carrier.test.mjs and bad-input.test.mjs.
//
//   node bench/abuse.mjs                 # this checkout
//   node bench/abuse.mjs --root /tmp/old # another build, same measurements
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { clientKey, standInCarrier, carrierBindings } from "../tests/lib/carrier.mjs";
import { strangerVerify, strangerWrites } from "../tests/lib/flood.mjs";

const at = process.argv.indexOf("--root");
const root = pathToFileURL(`${resolve(at > 0 ? process.argv[at + 1] : ".")}/`);
const { startWorker } = await import(new URL("tests/lib/worker.mjs", root));
const { bindPhone, phone, signedEvidence, subscriber } = await import(new URL("tests/lib/phone.mjs", root));
const { Bridge, SimBindClient, SoftwareBridge } = await import(new URL("wasm-client/pkg/testing/node.js", root));
const AUDIENCE = "simbind-dev";
const INBOUND = "+447700900999";
const from = (ip) => ({ "cf-connecting-ip": ip });
const count = (list) => list.reduce((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {});
const codeOf = async (res) => `${res.status}${res.ok ? "" : ` ${(await res.json()).code}`}`;
const results = {};

async function withWorker(options, run) {
  const w = await startWorker(options);
  try {
    return await run(w);
  } finally {
    await w.dispose();
  }
}

// F3: 200 registrations for one number from 200 addresses, then 20 fresh numbers.
results.F3_drain = await withWorker({ bindings: { SMS_PER_HOUR: "100", REGISTRATIONS_PER_HOUR: "5" } }, async (w) => {
  const a = subscriber().number;
  for (let i = 0; i < 200; i++) await w.post("/v1/registrations", { phone_number: a }, from(`198.51.${i >> 8}.${i & 255}`));
  const fresh = [];
  for (let i = 0; i < 20; i++) fresh.push((await w.post("/v1/registrations", { phone_number: subscriber().number }, from(`203.0.113.${i}`))).status);
  return { texts_to_the_drained_number: (await w.outbox(a)).filter((m) => m.kind === "otp").length, fresh_numbers_refused_of_20: fresh.filter((s) => s === 429).length };
});

// F3: 50 /64s of one IPv6 /56 (and /48), default per-sender limit (20 an hour).
results.F3_ipv6 = await withWorker({ bindings: { REGISTRATIONS_PER_IP_PER_HOUR: "20" } }, async (w) => {
  const statuses = [];
  for (let i = 0; i < 50; i++) statuses.push((await w.post("/v1/registrations", { phone_number: subscriber().number }, from(`2001:db8:0:${i.toString(16)}::1`))).status);
  return { accepted_of_50_from_one_56: statuses.filter((s) => s === 201).length };
});

// F5: five device_sms starts by strangers, then the owner's code.
results.F5_lockout = await withWorker({ bindings: { REGISTRATIONS_PER_HOUR: "5" } }, async (w) => {
  const n = subscriber().number;
  for (let i = 0; i < 5; i++) await w.post("/v1/registrations", { phone_number: n, proof: "device_sms" }, from(`198.51.100.${i}`));
  return { owner_otp_start: await codeOf(await w.post("/v1/registrations", { phone_number: n }, from("203.0.113.9"))) };
});

// F6: the phone texts its token; a stranger with the registration id alone binds.
results.F6_id_alone = await withWorker({}, async (w) => {
  const s = subscriber();
  const started = await (await w.post("/v1/registrations", { phone_number: s.number, proof: "device_sms" })).json();
  await w.post("/dev/sms/send", { from: s.number, to: started.device_sms.to, text: started.device_sms.text });
  const stranger = new SoftwareBridge("STRANGER-1");
  stranger.insertSim(s.simA);
  const id = started.registration_id;
  const challenge = await (await w.post(`/v1/registrations/${id}/challenge`, {})).json();
  const evidence = await signedEvidence(stranger, challenge, "bind", id);
  return { stranger_bind: await codeOf(await w.post(`/v1/registrations/${id}/binding`, { evidence })) };
});

// F4: a page script hands the client a forged registration.
results.F4_forged = await withWorker({}, async (w) => {
  const sent = [];
  const device = new SoftwareBridge("F4-1");
  device.insertSim(subscriber().simA);
  const host = {
    chipInfo: () => device.chipInfo(), simInfo: () => device.simInfo(), nextCounter: () => device.nextCounter(), chipSign: (t) => device.chipSign(t),
    sendSms: (...args) => sent.push(args), sendNumberProof: (...args) => sent.push(args),
  };
  const client = new SimBindClient(w.url, Bridge.fromObject(host), AUDIENCE);
  const outcome = await client.sendNumberProof({ deviceSms: { to: "+449098790000", text: "Reply YES to win" } }).then(() => "sent", (e) => e.code);
  return { outcome, texts_sent: sent.length };
});

// F8: 200 stranger verifies from one address; then the real phone under a flood from 20 addresses.
results.F8 = await withWorker({}, async (w) => {
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA });
  const { bindingId } = await bindPhone(w, p, s.number);
  const stranger = new SoftwareBridge("F8-1");
  stranger.insertSim(s.simA);
  const one = [];
  for (let i = 0; i < 200; i++) one.push(await strangerVerify(w, bindingId, stranger, "198.51.100.200"));
  const fromOne = { answers: count(one), writes: await strangerWrites(w, bindingId) };
  const t = subscriber();
  const real = phone(w.url, { sim: t.simA });
  const second = await bindPhone(w, real, t.number);
  const flooder = new SoftwareBridge("F8-2");
  flooder.insertSim(t.simA);
  const flood = Promise.all(Array.from({ length: 20 }, async (_, a) => {
    const out = [];
    for (let i = 0; i < 10; i++) out.push(await strangerVerify(w, second.bindingId, flooder, `203.0.113.${a + 1}`));
    return out;
  }));
  let granted = 0;
  const ms = [];
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    granted += await real.client.verify(second.bindingId).then(() => 1, () => 0);
    ms.push(performance.now() - started);
  }
  const answers = count((await flood).flat());
  ms.sort((x, y) => x - y);
  return { from_one_address: fromOne, under_flood: { real_phone_granted_of_20: granted, real_phone_p50_ms: Math.round(ms[10]), flood_answers: answers, writes: await strangerWrites(w, second.bindingId) } };
});

// F9: a 20 MB and a trickling carrier answer at bind (CARRIER_TIMEOUT_MS 500).
results.F9 = {};
for (const fail of ["huge", "trickle"]) {
  const API_ROOT = "https://carrier.example/camara";
  const TOKEN_URL = "https://carrier.example/oauth/token";
  const key = clientKey();
  const carrier = standInCarrier({ apiRoot: API_ROOT, tokenUrl: TOKEN_URL, clientId: "c", publicKey: key.publicKey, anyNumber: { simChange: "2025-06-01T08:00:00Z", deviceChange: null, swapped: false } });
  results.F9[fail] = await withWorker({ bindings: carrierBindings({ apiRoot: API_ROOT, tokenUrl: TOKEN_URL, clientId: "c", scalar: key.scalar }), outboundService: (r) => carrier.fetch(r) }, async (w) => {
    const s = subscriber();
    carrier.fail = fail;
    const started = performance.now();
    const answer = await bindPhone(w, phone(w.url, { sim: s.simA }), s.number).then((b) => b.status, (e) => `${e.status} ${e.code}`);
    const ms = Math.round(performance.now() - started);
    carrier.fail = null;
    const next = subscriber();
    const after = await bindPhone(w, phone(w.url, { sim: next.simA }), next.number).then((b) => b.status, (e) => `${e.status} ${e.code}`);
    return { bind: answer, ms, next_bind: after };
  });
}

// F12: a bind body with a 16 KiB attestation (the documented limit).
results.F12 = await withWorker({}, async (w) => {
  const started = await (await w.post("/v1/registrations", { phone_number: subscriber().number })).json();
  const body = JSON.stringify({ otp: "123456", evidence: { challenge: started.challenge, chip: { format: "apple-appattest", key_id: Buffer.alloc(32, 7).toString("base64url"), attestation: Buffer.alloc(16 * 1024, 0xa0).toString("base64url") }, sim: {}, counter: 0, chip_signature: "AAAA" } });
  return { body_bytes: body.length, answer: await codeOf(await w.post(`/v1/registrations/${started.registration_id}/binding`, body)) };
});

console.log(JSON.stringify(results, null, 2));
