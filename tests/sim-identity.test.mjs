// SIM identity v2 in workerd: what an ordinary Android app, a privileged app
// and an iOS app can report, and what each deployment level makes of it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./lib/worker.mjs";
import { DEVICE_FIELDS, bindPhone, phone, refusal, subscriber } from "./lib/phone.mjs";
import { attestedPhone } from "./lib/attested-phone.mjs";

let w;
before(async () => { w = await startWorker(); }); // SIM_LEVEL = "device,apple-appattest=none"
after(() => w.dispose());

/** What an ordinary Android app reads: no ICCID, IMSI, EID or number. */
const ordinary = (subscriptionId = 7) => ({ ...DEVICE_FIELDS, subscriptionId });

test("an ordinary Android app binds with what READ_PHONE_STATE gives, and each move of the number is sim_changed", async () => {
  const s = subscriber();
  const p = phone(w.url, { sim: ordinary() });
  const { bindingId } = await bindPhone(w, p, s.number);
  assert.deepEqual(p.lastRequest().evidence.sim, { subscription_id: 7, slot_index: 0, card_id: 0, port_index: 0, embedded: false, mcc: "234", mnc: "15" });
  await p.client.verify(bindingId);
  const record = await w.bindingRecord(bindingId);
  assert.deepEqual(Object.keys(record.sim).sort(), ["card_id", "embedded", "mcc", "mnc", "port_index", "slot_index", "subscription_id"]);
  for (const hash of Object.values(record.sim)) assert.match(hash, /^[0-9a-f]{64}$/, "only keyed hashes are kept");

  const moves = {
    "a new physical SIM in the slot": ordinary(8),
    "a new eSIM profile": { ...ordinary(9), cardId: 1, embedded: true },
    "the number moved to the other slot": { ...ordinary(), slotIndex: 1 },
  };
  for (const [why, sim] of Object.entries(moves)) {
    p.device.insertSim(sim);
    assert.equal((await refusal(p.client.verify(bindingId))).code, "sim_changed", why);
  }
  // Three authentic refusals in a row suspend, as with any SIM change.
  assert.equal((await w.bindingRecord(bindingId)).status, "suspended");

  // A field the level requires that the phone stops reporting is a change too.
  const t = subscriber();
  const q = phone(w.url, { sim: ordinary() });
  const other = await bindPhone(w, q, t.number);
  const { subscriptionId, ...withoutSubscription } = ordinary();
  q.device.insertSim(withoutSubscription);
  assert.equal((await refusal(q.client.verify(other.bindingId))).code, "sim_changed");
});

test("a field reported only after the bind is not compared; a bound one that differs is", async () => {
  const s = subscriber();
  const p = phone(w.url, { sim: ordinary() });
  const { bindingId } = await bindPhone(w, p, s.number);
  p.device.insertSim({ ...ordinary(), iccid: s.simB.iccid, msisdn: s.number });
  await p.client.verify(bindingId);
  const q = phone(w.url, { sim: { ...ordinary(), msisdn: s.number } });
  const t = subscriber();
  const bound = await bindPhone(w, q, t.number).catch((e) => e);
  assert.equal(bound.code, "number_mismatch", "a reported number must be the registered one");
});

test("a privileged deployment refuses an ordinary app's SIM at bind, and binds a privileged app's", async () => {
  const strict = await startWorker({ bindings: { SIM_LEVEL: "privileged" } });
  try {
    const s = subscriber();
    const p = phone(strict.url, { sim: ordinary() });
    const e = await refusal(bindPhone(strict, p, s.number));
    assert.equal(`${e.status} ${e.code}`, "403 sim_evidence_required");
    const q = phone(strict.url, { sim: { iccid: s.simA.iccid, imsi: s.simA.imsi } });
    const { bindingId } = await bindPhone(strict, q, s.number);
    await q.client.verify(bindingId);
    q.device.insertSim({ iccid: s.simB.iccid, imsi: s.simB.imsi });
    assert.equal((await refusal(q.client.verify(bindingId))).code, "sim_changed");
  } finally {
    await strict.dispose();
  }
});

test("iOS reports nothing SIM-specific: App Attest binds at level none, and an Android key still needs the device fields", async () => {
  const s = subscriber();
  const iphone = attestedPhone(w.url, { format: "apple-appattest", sim: {} });
  const { registrationId } = await iphone.client.startRegistration(s.number);
  const { bindingId } = await iphone.client.completeBinding(registrationId, await w.otp(s.number));
  assert.deepEqual(iphone.lastRequest().evidence.sim, {});
  await iphone.client.verify(bindingId);
  assert.deepEqual((await w.bindingRecord(bindingId)).sim, {});

  const t = subscriber();
  const android = attestedPhone(w.url, { format: "android-key", sim: {} });
  const started = await android.client.startRegistration(t.number);
  const e = await refusal(android.client.completeBinding(started.registrationId, await w.otp(t.number)));
  assert.equal(e.code, "sim_evidence_required");
});
