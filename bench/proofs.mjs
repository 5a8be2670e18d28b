// Measurement: how long a bind takes with each number proof, in one run on
// one worker (the dev build in workerd through Miniflare, with the tests'
// stand-ins: an SMS outbox, the network's inbound webhook, a Firebase PNV
// issuer and a Number Verification operator on loopback). Each bind is timed
// from the registration's start to the binding's answer, as the app sees
// it: the code read from the outbox for `otp`, the phone's SMS for
// `device_sms`, the token for `firebase_pnv`, the operator's round trips for
// `camara_nv`. Asserts nothing (the suites do); prints a table.
//
//   node bench/proofs.mjs [binds per proof, default 20]
import { startWorker } from "../tests/lib/worker.mjs";
import { networkSms, phone, subscriber } from "../tests/lib/phone.mjs";
import { standInPnv } from "../tests/lib/firebase-pnv.mjs";
import { cellular, standInOperator } from "../tests/lib/nv-operator.mjs";
import { clientKey } from "../tests/lib/carrier.mjs";

const n = Number(process.argv[2] ?? 20);
const pnv = await standInPnv();
const key = clientKey();
const op = await standInOperator({ clientId: "bench-nv", publicKey: key.publicKey });
const w = await startWorker({
  bindings: { ...pnv.bindings(), ...op.bindings({ scalar: key.scalar }), NUMBER_PROOF: "otp,device_sms,firebase_pnv,camara_nv", REGISTRATIONS_PER_IP_PER_HOUR: "100000" },
  requestLimit: 100_000,
});
op.registerRedirect(`${w.url}/v1/carrier/number-verification/callback`);

const proofs = {
  otp: async (s, p) => {
    const { registrationId } = await p.client.startRegistration(s.number, { proof: "otp" });
    return p.client.completeBinding(registrationId, await w.otp(s.number));
  },
  device_sms: async (s, p) => {
    const reg = await p.client.startRegistration(s.number, { proof: "device_sms" });
    await p.client.sendNumberProof(reg);
    return p.client.completeBinding(reg);
  },
  firebase_pnv: async (s, p) => p.client.completeBinding(await p.client.startRegistration(s.number, { proof: "firebase_pnv" })),
  camara_nv: async (s, p) => p.client.completeBinding(await p.client.startRegistration(s.number, { proof: "camara_nv" })),
};

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const rows = [];
try {
  // One warm-up bind each (isolate, objects, key set, discovery), then n timed, interleaved.
  const times = Object.fromEntries(Object.keys(proofs).map((k) => [k, []]));
  for (let round = -1; round < n; round += 1) {
    for (const [name, bind] of Object.entries(proofs)) {
      const s = subscriber();
      const p = phone(w.url, {
        sim: s.simA,
        sendNumberProof: networkSms(w.url, s.number),
        firebasePnvToken: (nonce) => pnv.mint({ sub: s.number, nonce }),
        openOverCellular: cellular(s.number),
      });
      const started = performance.now();
      const bound = await bind(s, p);
      if (bound.status !== "active") throw new Error(`${name}: ${bound.status}`);
      if (round >= 0) times[name].push(performance.now() - started);
    }
  }
  const otpP50 = quantile([...times.otp].sort((a, b) => a - b), 0.5);
  for (const [name, list] of Object.entries(times)) {
    const sorted = [...list].sort((a, b) => a - b);
    const p50 = quantile(sorted, 0.5);
    rows.push(`| ${name} | ${n} | ${p50.toFixed(1)} | ${quantile(sorted, 0.9).toFixed(1)} | ${(p50 / otpP50).toFixed(2)} |`);
  }
} finally {
  await w.dispose();
  await pnv.close();
  await op.close();
}
console.log("| proof | binds | p50 ms | p90 ms | p50 ÷ otp |\n|---|---|---|---|---|");
console.log(rows.join("\n"));
