// The bridge conformance kit (@simbind/client/conformance and its page,
// /kit/ under `wrangler dev`) in headless Chromium, as an app team runs it
// in its WebView: the project's reference hosts (Android-style object and
// iOS-style message handler, tests/lib/reference-hosts.mjs) pass every check;
// each deliberately broken bridge is caught by the check that names its
// fault, with the reason. Fails on any console or page error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { artifacts, browserSuite } from "./lib/browser.mjs";
import { install, referenceHost } from "./lib/reference-hosts.mjs";

const suite = browserSuite();

let numbers = 0;
function freshNumber() {
  const pid = String(process.pid % 10000).padStart(4, "0");
  return `+4477${pid}8${String(++numbers).padStart(3, "0")}`;
}

// Chromium logs the deployment's expected refusals (a broken bridge's bind or
// verify) as failed resources; nothing else may reach the console.
const EXPECTED_4XX = /^Failed to load resource: the server responded with a status of 4\d\d\b/;

/** Runs the kit's page against `host` (`kind`: android or ios); returns its JSON report. */
async function runKit(kind, broken = null, { viewport = { width: 1280, height: 900 }, screenshot, proof = "device_sms" } = {}) {
  const context = await suite.browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => m.type() === "error" && !EXPECTED_4XX.test(m.text()) && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(e.message));
  const number = freshNumber();
  try {
    await install(page, referenceHost({ origin: suite.server.url, number, broken }), { kind, origin: suite.server.url });
    await page.goto(`${suite.server.url}/kit/`);
    await page.waitForSelector("body[data-ready=true]");
    assert.equal(await page.inputValue("#audience"), "simbind-dev", "read from /.well-known/simbind");
    if (kind === "ios") await page.check("input[name=kind][value=ios]");
    await page.check(`input[name=proof][value=${proof}]`);
    await page.fill("#number", number);
    await page.click("#run");
    await page.waitForSelector("body[data-done=true]", { timeout: 60_000 });
    const report = await page.evaluate(() => window.simbindConformance);
    // The table shows what the JSON says.
    const rows = await page.$$eval("#table tbody tr", (trs) => trs.map((tr) => [tr.dataset.check, tr.className]));
    assert.deepEqual(rows, report.results.map((r) => [r.id, r.status]));
    // Readable on the phone it runs on: nothing wider than the screen.
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), "no horizontal scroll");
    if (screenshot) await page.screenshot({ path: `${artifacts}${screenshot}`, fullPage: true });
    assert.deepEqual(problems, []);
    return report;
  } finally {
    await context.close();
  }
}

const byId = (report) => Object.fromEntries(report.results.map((r) => [r.id, r]));

for (const kind of ["android", "ios"]) {
  test(`the ${kind} reference host passes every check of the kit, sub-frames included`, async () => {
    // iOS proves the number by the SMS the phone sends (which shows its handler has
    // sendNumberProof); Android by the code read from the dev outbox.
    const proof = kind === "ios" ? "device_sms" : "otp";
    const report = await runKit(kind, null, { screenshot: `kit-${kind}-reference.png`, proof });
    // A message handler cannot list its methods: the ceremonies call each one.
    const unsure = kind === "ios" ? ["host.methods"] : [];
    const failed = report.results.filter((r) => r.status !== "passed" && !unsure.includes(r.id));
    assert.deepEqual(failed, [], JSON.stringify(report, null, 1));
    for (const id of unsure) assert.equal(byId(report)[id].status, "skipped");
    assert.equal(report.host.kind, kind);
    assert.match(byId(report)["bind.ceremony"].reason, proof === "otp" ? /one-time code/ : /device_sms/);
    writeFileSync(`${artifacts}kit-${kind}-reference.json`, JSON.stringify(report, null, 2));
  });
}

// Each broken bridge, the check that must catch it and what its reason must say.
const BROKEN = [
  ["signsPrehashed", "bind.ceremony", /bad_signature: .*sign exactly the transcript bytes/],
  ["derSignature", "bind.ceremony", /bridge_malformed_reply/],
  ["counterStuck", "counter.increasing", /counters handed out: 7, 7/],
  ["signsAnything", "chipSign.refuses-stale-counter", /signed a transcript carrying a counter already used/],
  ["signsAnything", "chipSign.refuses-garbage", /signed 16 zero bytes/],
  ["smsAnyText", "sendNumberProof.token-only", /did not refuse 7 argument\(s\) that are not a token/],
  ["emptyStrings", "simInfo.reply", /invalid_iccid/],
  ["allFrames", "host.subframe", /visible in: a sub-frame of another origin \(sandboxed\), a sub-frame of this origin/],
  ["errorValues", "errors.mapped", /came back as a value \("error: /],
  ["errorValues", "chipSign.refuses-garbage", /answered "error: not a transcript" instead of refusing/],
  ["noCounter", "host.methods", /missing: nextCounter/],
];

test("every deliberately broken bridge is caught by the check that names its fault, with the reason", async () => {
  const verdicts = {};
  for (const broken of new Set(BROKEN.map(([b]) => b))) {
    const report = await runKit("android", broken, broken === "signsAnything" ? { viewport: { width: 390, height: 844 }, screenshot: "kit-broken-390.png" } : {});
    const results = byId(report);
    verdicts[broken] = report.results.filter((r) => r.status === "failed").map((r) => `${r.id}: ${r.reason}`);
    for (const [b, id, reason] of BROKEN.filter(([b]) => b === broken)) {
      assert.equal(results[id].status, "failed", `${b} → ${id}: ${JSON.stringify(results[id])}`);
      assert.match(results[id].reason, reason, b);
    }
    assert.ok(report.failed >= 1 && report.failed < report.results.length, broken);
  }
  writeFileSync(`${artifacts}kit-broken-verdicts.json`, JSON.stringify(verdicts, null, 2));
});
