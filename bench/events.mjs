// Measurement: how long a security event takes from the change to the
// receiver's 202, beside a plain verification, in one run on one worker (the
// dev build in workerd through Miniflare, a stand-in receiver on loopback
// that checks every SET, tests/lib/ssf-receiver.mjs). A change here is an
// operator's suspension lifted or a revoke: timed from the admin request's
// start to the moment the receiver accepted the event (the push runs in the
// binding object's alarm after the answer). Asserts nothing; prints a table.
//
//   node bench/events.mjs [changes, default 40]
import { startWorker, wranglerVars } from "../tests/lib/worker.mjs";
import { bindPhone, phone, subscriber } from "../tests/lib/phone.mjs";
import { standInReceiver } from "../tests/lib/ssf-receiver.mjs";

const n = Number(process.argv[2] ?? 40);
const ADMIN = { authorization: "Bearer dev-only-admin-token" };
let w;
const receiver = await standInReceiver({ transmitter: () => w.url, issuer: wranglerVars().ISSUER, audience: "bench" });
const arrived = new Map(); // jti → ms
const push = receiver.events.push.bind(receiver.events);
receiver.events.push = (...e) => {
  for (const x of e) arrived.set(`${x.subId.id} ${x.event.simbind_change}`, performance.now());
  return push(...e);
};
w = await startWorker({
  bindings: { SSF_RECEIVERS: JSON.stringify([{ id: "bench", endpoint: receiver.url, audience: "bench" }]), REGISTRATIONS_PER_IP_PER_HOUR: "100000" },
  requestLimit: 100_000,
});

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const until = async (key) => {
  for (let i = 0; i < 2000 && !arrived.has(key); i++) await new Promise((r) => setTimeout(r, 1));
  return arrived.get(key);
};
try {
  const verify = [];
  const event = [];
  for (let round = -1; round < n; round += 1) {
    const s = subscriber();
    const p = phone(w.url, { sim: s.simA });
    const { bindingId } = await bindPhone(w, p, s.number);
    await until(`${bindingId} bound`);
    let t = performance.now();
    await p.client.verify(bindingId);
    if (round >= 0) verify.push(performance.now() - t);
    t = performance.now();
    const res = await w.post(`/v1/admin/bindings/${bindingId}/revoke`, {}, ADMIN);
    if (res.status !== 200) throw new Error(`revoke ${res.status}`);
    const at = await until(`${bindingId} revoked`);
    if (at === undefined) throw new Error("the event never arrived");
    if (round >= 0) event.push(at - t);
  }
  const row = (name, xs) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return `| ${name} | ${xs.length} | ${quantile(sorted, 0.5).toFixed(1)} | ${quantile(sorted, 0.99).toFixed(1)} |`;
  };
  console.log("| measured | n | p50 ms | p99 ms |\n|---|---|---|---|");
  console.log(row("verify (challenge + verify, as the app sees it)", verify));
  console.log(row("revoke → the receiver's 202 for its event", event));
  if (receiver.problems.length) console.log(`receiver problems: ${receiver.problems.join("; ")}`);
} finally {
  await w.dispose();
  await receiver.close();
}
