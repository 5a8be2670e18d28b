// Benchmark: real-time verification by 16 phones at once against `wrangler dev`,
// next to the worker's trivial one-read route (admin show) in the same run.
// A benchmark, not a test: it prints a table and asserts nothing.
//
//   node tests/bench/concurrent-verify.mjs            # starts wrangler dev itself
//   SIMBIND_URL=http://127.0.0.1:8787 node tests/bench/concurrent-verify.mjs
//
// PHONES (16) and SECONDS (10) per phase can be set in the environment.
import { startWranglerDev } from "../lib/wrangler-dev.mjs";
import { bindPhone, phone, subscriber } from "../lib/phone.mjs";

const PHONES = Number(process.env.PHONES ?? 16);
const SECONDS = Number(process.env.SECONDS ?? 10);
const ADMIN = { authorization: "Bearer dev-only-admin-token" };

const dev = process.env.SIMBIND_URL ? null : await startWranglerDev();
const url = process.env.SIMBIND_URL ?? dev.url;
const target = {
  url,
  async otp(number) {
    const res = await fetch(`${url}/dev/outbox?phone_number=${encodeURIComponent(number)}`);
    return (await res.json()).messages.filter((m) => m.kind === "otp").at(-1).text.slice(0, 6);
  },
};

/** Runs `PHONES` loops of `step` for `SECONDS`; returns requests/s, p50, p99 (ms), errors. */
async function phase(step) {
  const latencies = [];
  let errors = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: PHONES }, async (_, i) => {
      while (performance.now() < end) {
        const started = performance.now();
        try {
          await step(i);
        } catch {
          errors++;
        }
        latencies.push(performance.now() - started);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { rps: latencies.length / SECONDS, p50: at(0.5), p99: at(0.99), n: latencies.length, errors };
}

try {
  const phones = [];
  for (let i = 0; i < PHONES; i++) {
    const s = subscriber();
    const p = phone(url, { sim: s.simA });
    const { bindingId } = await bindPhone(target, p, s.number);
    phones.push({ p, bindingId });
  }
  const show = await phase(async (i) => {
    const res = await fetch(`${url}/v1/admin/bindings/${phones[i].bindingId}`, { headers: ADMIN });
    if (res.status !== 200) throw new Error(`show ${res.status}`);
    await res.arrayBuffer();
  });
  const verify = await phase((i) => phones[i].p.client.verify(phones[i].bindingId));
  const row = (name, r) =>
    `| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.n} | ${r.errors} |`;
  console.log(`\n${PHONES} concurrent phones, ${SECONDS} s per phase, against ${process.env.SIMBIND_URL ? url : "wrangler dev"}\n`);
  console.log("| route | requests/s | p50 ms | p99 ms | requests | errors |");
  console.log("|---|---|---|---|---|---|");
  console.log(row("admin show (lockout check + one object read)", show));
  console.log(row("verify (challenge + verify)", verify));
  console.log(`\nverify / show throughput ratio: ${(verify.rps / show.rps).toFixed(2)}`);
} finally {
  await dev?.stop();
}
