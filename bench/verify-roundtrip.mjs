// Benchmark: one real-time verification (challenge + chip signature + verify
// → grant) against `wrangler dev`, from Node and from headless Chromium,
// both through the simbind-client package: `node bench/verify-roundtrip.mjs`.
import { chromium } from "playwright-core";
import { startWranglerDev } from "../tests/lib/wrangler-dev.mjs";
import { bindPhone, phone, subscriber } from "../tests/lib/phone.mjs";

const RUNS = Number(process.env.RUNS ?? 200);
const WARMUP = 10;

function stats(label, ms) {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  console.log(`${label}: n=${ms.length} median=${at(0.5).toFixed(2)} ms p95=${at(0.95).toFixed(2)} ms min=${sorted[0].toFixed(2)} ms`);
}

const dev = await startWranglerDev();
try {
  const s = subscriber();
  const p = phone(dev.url, { sim: s.simA });
  const { bindingId } = await bindPhone(dev, p, s.number);
  const node = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const t = performance.now();
    await p.client.verify(bindingId);
    if (i >= WARMUP) node.push(performance.now() - t);
  }
  stats("verify() round trip, Node", node);

  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${dev.url}/v1/health`); // any same-origin page
    const number = subscriber().number;
    const timings = await page.evaluate(async ({ number, runs, warmup }) => {
      const m = await import("/vendor/simbind-client/simbind_client.js");
      await m.default();
      const phone = new m.SoftwareBridge("BENCH-CHROMIUM");
      phone.insertSim({ iccid: "8944100000000000018", imsi: "234150000000001", msisdn: number });
      const client = new m.SimBindClient(location.origin, m.Bridge.fromObject(phone), "simbind-dev");
      const { registrationId } = await client.startRegistration(number);
      const outbox = await (await fetch(`/dev/outbox?phone_number=${encodeURIComponent(number)}`)).json();
      const { bindingId } = await client.completeBinding(registrationId, outbox.messages.at(-1).text.slice(0, 6));
      const out = [];
      for (let i = 0; i < warmup + runs; i++) {
        const t = performance.now();
        await client.verify(bindingId);
        if (i >= warmup) out.push(performance.now() - t);
      }
      return out;
    }, { number, runs: RUNS, warmup: WARMUP });
    stats("verify() round trip, Chromium", timings);
  } finally {
    await browser.close();
  }
} finally {
  await dev.stop();
}
