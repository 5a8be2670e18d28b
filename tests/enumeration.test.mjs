// An outsider cannot tell a bound number from an unbound one at registration,
// nor an active binding from a suspended or revoked one at the holder routes:
// the state is told only to the bound chip, after its signature verified.
// (The measurement with timings: bench/enumeration.mjs.)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./lib/worker.mjs";
import { bindPhone, phone, signedEvidence, subscriber } from "./lib/phone.mjs";

let w;
before(async () => { w = await startWorker(); });
after(() => w.dispose());

const ADMIN = { authorization: "Bearer dev-only-admin-token" };

/** What an outsider sees of an answer: status, code, field names and size. */
async function seen(res) {
  const text = await res.text();
  const body = JSON.parse(text);
  return { status: res.status, code: body.code ?? null, fields: Object.keys(body).sort(), size: text.length };
}

test("registration answers a bound and an unbound number alike, and texts both", async () => {
  const boundOne = subscriber();
  await bindPhone(w, phone(w.url, { sim: boundOne.simA }), boundOne.number);
  const free = subscriber();
  const answers = [];
  for (const number of [boundOne.number, free.number]) {
    const before = (await w.outbox(number)).length;
    answers.push(await seen(await w.post("/v1/registrations", { phone_number: number })));
    assert.equal((await w.outbox(number)).length, before + 1, "one code texted");
  }
  assert.equal(answers[0].status, 201);
  assert.deepEqual(answers[0], answers[1]);
});

async function states() {
  const out = {};
  for (const state of ["active", "suspended", "revoked"]) {
    const s = subscriber();
    const p = phone(w.url, { sim: s.simA });
    const { bindingId } = await bindPhone(w, p, s.number);
    if (state === "suspended") {
      p.device.insertSim(s.simB);
      for (let i = 0; i < 3; i++) await p.client.verify(bindingId).catch(() => {});
      p.device.insertSim(s.simA);
    }
    if (state === "revoked") {
      assert.equal((await fetch(`${w.url}/v1/admin/bindings/${bindingId}/revoke`, { method: "POST", headers: ADMIN })).status, 200);
    }
    assert.equal((await w.bindingRecord(bindingId)).status, state);
    out[state] = { p, s, bindingId };
  }
  return out;
}

test("the holder routes answer an outsider the same for active, suspended and revoked bindings", async () => {
  const bindings = await states();
  const outsider = phone(w.url, { sim: subscriber().simA });
  const answers = {};
  for (const [state, { bindingId }] of Object.entries(bindings)) {
    const res = await w.post(`/v1/bindings/${bindingId}/challenge`, { ceremony: "verify" });
    const challenge = await res.clone().json();
    const challengeSeen = await seen(res);
    const verify = await seen(await w.post(`/v1/bindings/${bindingId}/verify`, await signedEvidence(outsider.device, challenge, "verify", bindingId)));
    const c2 = await (await w.post(`/v1/bindings/${bindingId}/challenge`, { ceremony: "unbind" })).json();
    const unbind = await seen(await w.post(`/v1/bindings/${bindingId}/unbind`, await signedEvidence(outsider.device, c2, "unbind", bindingId)));
    answers[state] = { challengeSeen, verify, unbind };
  }
  assert.equal(answers.active.challengeSeen.status, 200);
  assert.equal(answers.active.verify.code, "chip_mismatch");
  assert.deepEqual(answers.suspended, answers.active);
  assert.deepEqual(answers.revoked, answers.active);
});

test("the bound chip alone learns the state, and learning it changes nothing", async () => {
  const bindings = await states();
  for (const [state, code] of [["suspended", "binding_suspended"], ["revoked", "binding_revoked"]]) {
    const { p, s, bindingId } = bindings[state];
    const recordBefore = await w.bindingRecord(bindingId);
    const textsBefore = (await w.outbox(s.number)).length;
    for (let i = 0; i < 3; i++) {
      const res = await w.post(`/v1/bindings/${bindingId}/verify`, await signedEvidence(p.device, await (await w.post(`/v1/bindings/${bindingId}/challenge`, { ceremony: "verify" })).json(), "verify", bindingId));
      assert.equal(res.status, 403);
      assert.equal((await res.json()).code, code);
    }
    const recordAfter = await w.bindingRecord(bindingId);
    assert.equal(recordAfter.counter, recordBefore.counter, "counter unchanged");
    assert.equal(recordAfter.consecutive_failures, recordBefore.consecutive_failures, "not counted");
    assert.equal((await w.outbox(s.number)).length, textsBefore, "nobody texted");
  }
});
