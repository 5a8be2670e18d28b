// Measurement: can an outsider tell a bound number from an unbound one at
// registration, or a suspended binding from an active one (or a stored id from
// a random one) at the holder routes? Prints, per class, the answers (status
// and code), the body fields, body sizes and latency. Asserts nothing: the
// pass/fail checks are in tests/enumeration.test.mjs.
//
//   node bench/enumeration.mjs        # ROUNDS (200) requests per class
import { startWorker } from "../tests/lib/worker.mjs";
import { bindPhone, phone, signedEvidence, subscriber } from "../tests/lib/phone.mjs";

const ROUNDS = Number(process.env.ROUNDS ?? 200);
const w = await startWorker({
  bindings: {
    REGISTRATIONS_PER_HOUR: "100000",
    REGISTRATIONS_PER_IP_PER_HOUR: "100000",
    SMS_PER_HOUR: "1000000",
    SMS_PER_COUNTRY_PER_HOUR: "1000000",
    MAX_CONSECUTIVE_FAILURES: "1",
  },
});

function shape(body) {
  return JSON.stringify(Object.keys(body).sort());
}

async function measure(label, send) {
  const answers = {};
  const shapes = new Set();
  const sizes = [];
  const ms = [];
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now();
    const res = await send(i);
    const text = await res.text();
    ms.push(performance.now() - started);
    const body = JSON.parse(text);
    const key = `${res.status} ${body.code ?? "ok"}`;
    answers[key] = (answers[key] ?? 0) + 1;
    shapes.add(shape(body));
    sizes.push(text.length);
  }
  ms.sort((a, b) => a - b);
  const q = (p) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))].toFixed(2);
  return { label, answers: JSON.stringify(answers), fields: [...shapes].join(" "), bytes: `${Math.min(...sizes)}-${Math.max(...sizes)}`, p50: q(0.5), p90: q(0.9) };
}

// Registration: ten bound and ten unbound numbers, registered in turn.
const bound = [];
for (let i = 0; i < 10; i++) {
  const s = subscriber();
  await bindPhone(w, phone(w.url, { sim: s.simA }), s.number);
  bound.push(s.number);
}
const unbound = Array.from({ length: 10 }, () => subscriber().number);
const rows = [];
const register = (numbers) => (i) => w.post("/v1/registrations", { phone_number: numbers[i % numbers.length] });
for (let round = 0; round < 2; round++) {
  rows.push(await measure("register: bound number", register(bound)));
  rows.push(await measure("register: unbound number", register(unbound)));
}

// Holder routes: an active binding, a suspended one, and random ids.
const active = subscriber();
const pa = phone(w.url, { sim: active.simA });
const { bindingId: activeId } = await bindPhone(w, pa, active.number);
const suspended = subscriber();
const ps = phone(w.url, { sim: suspended.simA });
const { bindingId: suspendedId } = await bindPhone(w, ps, suspended.number);
ps.device.insertSim(suspended.simB);
await ps.client.verify(suspendedId).catch(() => {}); // sim_changed: suspended at once (MAX 1)
const random = () => `bnd_${Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url")}`;
const challenge = (id) => () => w.post(`/v1/bindings/${id}/challenge`, { ceremony: "verify" });
// An outsider's verify: a fresh challenge for the id, signed by its own key.
const outsider = phone(w.url, { sim: subscriber().simA });
const forged = (idFor) => async () => {
  const id = idFor();
  const c = await w.post(`/v1/bindings/${id}/challenge`, { ceremony: "verify" });
  const body = c.ok ? await c.json() : { challenge: "AAAA", audience: "simbind-dev" };
  return w.post(`/v1/bindings/${id}/verify`, await signedEvidence(outsider.device, body, "verify", id));
};
for (let round = 0; round < 2; round++) {
  rows.push(await measure("challenge: active binding", challenge(activeId)));
  rows.push(await measure("challenge: suspended binding", challenge(suspendedId)));
  rows.push(await measure("challenge: random id", () => challenge(random())()));
  rows.push(await measure("outsider verify: active", forged(() => activeId)));
  rows.push(await measure("outsider verify: suspended", forged(() => suspendedId)));
  rows.push(await measure("outsider verify: random id", forged(random)));
}
await w.dispose();
// The second round of each class only: the first warms the runtime up.
const seen = new Set();
console.table(rows.reverse().filter((r) => !seen.has(r.label) && seen.add(r.label)).reverse());
