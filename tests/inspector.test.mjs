// The evidence inspector's page (inspector/web, served by `wrangler dev` under
// /inspector/) in headless Chromium: every real sample gives the verdict the
// library call gives (core/tests/attest_command.rs shows the library call
// gives the `attest` command's), each check drawn in order, the chain and the
// decoded evidence shown, nothing sent anywhere, at 1280 and 390 px.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { artifacts, browserSuite } from "./lib/browser.mjs";
import { initSync, inspect } from "../inspector/web/pkg/simbind_inspector.js";
import samples from "../inspector/web/samples.js";
import { bindPhone, phone, subscriber } from "./lib/phone.mjs";

initSync({ module: readFileSync(new URL("../inspector/web/pkg/simbind_inspector_bg.wasm", import.meta.url)) });
const suite = browserSuite();

/**
 * Opens the inspector in a fresh context, runs `story(page, requests)`, and
 * fails on any console error, page error or failed request. `requests`
 * collects every request made after the page is ready.
 */
async function withInspector(viewport, story) {
  const context = await suite.browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  const requests = [];
  let ready = false;
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`failed: ${r.url()}`));
  page.on("request", (r) => ready && requests.push(`${r.method()} ${r.url()}`));
  try {
    const answer = await page.goto(`${suite.server.url}/inspector/`);
    assert.equal(answer.status(), 200);
    await page.waitForSelector("body[data-ready=true]");
    ready = true;
    await story(page, requests);
  } finally {
    await context.close();
  }
  assert.deepEqual(problems, []);
}

async function pick(page, index) {
  await page.selectOption("#sample", String(index));
  await page.waitForSelector("#report:not([hidden])");
}

const shown = (page) => page.evaluate(() => ({
  verdict: document.getElementById("verdict").textContent,
  refused: document.getElementById("verdict").classList.contains("refused"),
  checks: [...document.querySelectorAll("#checks li")].map((li) => ({
    name: li.querySelector(".name").textContent,
    result: li.querySelector(".result").textContent,
    code: li.querySelector(".why code")?.textContent ?? null,
  })),
  certs: document.querySelectorAll("#chain li.cert").length,
  decoded: document.getElementById("decoded").textContent,
}));

test("every real sample: the page shows the library's verdict, each check in order, the chain and the decoded evidence; no request carries it", async () => {
  assert.ok(samples.length >= 10, "Android and Apple samples");
  assert.equal(samples.filter((s) => s.input.format === "apple-assertion").length, 3, "every real assertion");
  await withInspector({ width: 1280, height: 900 }, async (page, requests) => {
    for (const [i, sample] of samples.entries()) {
      const expected = JSON.parse(inspect(JSON.stringify(sample.input)));
      assert.equal(expected.error, undefined, sample.name);
      await pick(page, i);
      const got = await shown(page);
      assert.equal(got.refused, expected.verdict === "refused", sample.name);
      if (expected.code) assert.match(got.verdict, new RegExp(`Refused ${expected.code}`), sample.name);
      else assert.match(got.verdict, /^Accepted/, sample.name);
      assert.deepEqual(
        got.checks,
        expected.checks.map((c) => ({ name: c.check, result: c.result, code: c.code ?? null })),
        sample.name,
      );
      assert.equal(got.certs, expected.chain.length, sample.name);
      if (sample.input.format === "android-key") assert.match(got.decoded, /keyDescription\.attestationSecurityLevel/);
      else if (sample.input.format === "apple-assertion") {
        assert.equal(expected.verdict, "accepted", `${sample.name}: a real assertion verifies with its attested key`);
        assert.match(got.decoded, new RegExp(`authenticatorData\\.counter${expected.attested.counter}`));
      } else assert.match(got.decoded, /authData\.rpIdHashHex/);
      if (i === 0) await page.screenshot({ path: `${artifacts}inspector-accepted.png`, fullPage: true });
    }
    assert.deepEqual(requests, [], "the evidence never leaves the page");
  });
});

test("a real chain under a root that is not Google's: refused for its root, the links shown verified, the root marked untrusted (390 px)", async () => {
  const index = samples.findIndex((s) => s.source.includes("marlin"));
  await withInspector({ width: 390, height: 844 }, async (page) => {
    await pick(page, index);
    const got = await shown(page);
    assert.match(got.verdict, /Refused attestation_untrusted_root/);
    const byName = Object.fromEntries(got.checks.map((c) => [c.name, c]));
    assert.equal(byName["each certificate names and is signed by the next"].result, "passed");
    assert.equal(byName["the chain ends at a pinned Google root key"].code, "attestation_untrusted_root");
    assert.match(await page.locator("#chain li.cert").last().innerText(), /not a trusted root/);
    // Nothing wider than the phone's screen.
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), "no horizontal scroll");
    await page.screenshot({ path: `${artifacts}inspector-untrusted-root-390.png`, fullPage: true });
  });
});

test("pasted evidence: a wrong challenge, a later instant and a strict policy each refuse with their own code; a bad instant or policy is an input problem", async () => {
  const tegu = samples.find((s) => s.source.includes("tegu_sdk36_TEE"));
  await withInspector({ width: 1280, height: 900 }, async (page) => {
    await page.selectOption("#format", "android-key");
    await page.fill("#evidence", tegu.input.chain);
    await page.fill("#challenge", "00ff");
    await page.fill("#at", String(tegu.input.at));
    await page.click("#inspect");
    assert.match((await shown(page)).verdict, /Refused attestation_challenge_mismatch/);
    await page.fill("#challenge", tegu.input.challengeHex);
    await page.click("#inspect");
    assert.match((await shown(page)).verdict, /^Accepted/);
    await page.fill("#policy", '{"minSecurityLevel": "strongbox"}');
    await page.click("#inspect");
    assert.match((await shown(page)).verdict, /Refused attestation_security_level/);
    await page.fill("#policy", "");
    await page.fill("#at", "4000000000");
    await page.click("#inspect");
    assert.match((await shown(page)).verdict, /Refused attestation_expired/);
    assert.match(await page.locator("#chain").innerText(), /not valid at the instant/);
    await page.fill("#at", "yesterday");
    await page.click("#inspect");
    assert.equal(await page.locator("#input-problem").innerText(), "The instant must be Unix seconds.");
    await page.fill("#at", String(tegu.input.at));
    await page.fill("#policy", '{"requireLocked": "maybe"}');
    await page.click("#inspect");
    assert.equal(await page.locator("#input-problem").innerText(), "`policy` is not a policy");
  });
});

test("a real grant from the dev worker, pasted with its JWKS: accepted as a backend would; later, or for another transaction, refused at the check that names it", async () => {
  const s = subscriber();
  const p = phone(suite.server.url, { sim: s.simA });
  const { bindingId } = await bindPhone(suite.server, p, s.number);
  const { grant } = await p.client.verify(bindingId);
  const discovery = await (await fetch(`${suite.server.url}/.well-known/simbind`)).json();
  const jwks = await (await fetch(`${suite.server.url}/.well-known/jwks.json`)).text();
  const now = Math.floor(Date.now() / 1000);
  await withInspector({ width: 1280, height: 900 }, async (page, requests) => {
    await page.selectOption("#format", "grant");
    assert.equal(await page.isVisible("#challenge"), false, "the Android fields are hidden");
    await page.fill("#evidence", grant);
    await page.fill("#jwks", jwks);
    await page.fill("#issuer", discovery.issuer);
    await page.fill("#grant-audience", discovery.grant_audience);
    await page.fill("#at", String(now));
    await page.click("#inspect");
    let got = await shown(page);
    assert.match(got.verdict, /^Accepted/);
    assert.ok(got.checks.every((c) => c.result === "passed"), JSON.stringify(got.checks));
    assert.match(got.decoded, new RegExp(`claims\\.sub${bindingId}`));
    assert.equal(await page.isVisible("#chain"), false, "a token has no chain to draw");
    await page.fill("#at", String(now + 3600));
    await page.click("#inspect");
    got = await shown(page);
    assert.match(got.verdict, /Refused grant_expired/);
    assert.equal(got.checks.find((c) => c.result === "failed").code, "grant_expired");
    await page.fill("#at", String(now));
    await page.fill("#transaction", "00ff");
    await page.click("#inspect");
    assert.match((await shown(page)).verdict, /Refused grant_wrong_transaction/);
    await page.screenshot({ path: `${artifacts}inspector-grant.png`, fullPage: true });
    assert.deepEqual(requests, [], "the grant never leaves the page");
  });
});

test("whole bodies a phone sent the dev worker: the bind and the verify accepted with what a body cannot show listed; another registration, a replayed counter refused at their checks (390 px)", async () => {
  const s = subscriber();
  const p = phone(suite.server.url, { sim: s.simA });
  const { registrationId, bindingId } = await bindPhone(suite.server, p, s.number);
  const bindBody = p.lastRequest();
  assert.ok(bindBody.evidence, "the bind body");
  await p.client.verify(bindingId);
  const verifyBody = p.lastRequest();
  const { audience } = await (await fetch(`${suite.server.url}/.well-known/simbind`)).json();
  const now = Math.floor(Date.now() / 1000);
  await withInspector({ width: 390, height: 844 }, async (page, requests) => {
    await page.selectOption("#format", "bind");
    assert.equal(await page.isVisible("#registration-id"), true);
    assert.equal(await page.isVisible("#binding-id"), false, "only the bind's fields");
    await page.fill("#evidence", JSON.stringify(bindBody, null, 2));
    await page.fill("#registration-id", registrationId);
    await page.fill("#audience", audience);
    await page.fill("#at", String(now));
    await page.click("#inspect");
    let got = await shown(page);
    const expected = JSON.parse(inspect(JSON.stringify({ format: "bind", body: bindBody, registrationId, audience, environment: "production", at: now, policy: null })));
    assert.match(got.verdict, /^Accepted/, JSON.stringify(got.checks));
    assert.deepEqual(got.checks.map((c) => c.name), expected.checks.map((c) => c.check));
    assert.ok(got.checks.every((c) => c.result === "passed"));
    const notChecked = await page.locator("#not-checked li").allInnerTexts();
    assert.deepEqual(notChecked, expected.notChecked);
    assert.ok(notChecked.some((n) => /MAC and single use/.test(n)), "the page says what it cannot check");
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true, "no horizontal scroll");
    await page.screenshot({ path: `${artifacts}inspector-bind-body.png`, fullPage: true });

    await page.fill("#registration-id", "reg_AAAAAAAAAAAAAAAAAAAAAA");
    await page.click("#inspect");
    got = await shown(page);
    assert.match(got.verdict, /Refused challenge_wrong_subject/);
    assert.equal(got.checks.find((c) => c.result === "failed").code, "challenge_wrong_subject");

    await page.selectOption("#format", "verify");
    await page.fill("#evidence", JSON.stringify(verifyBody));
    await page.fill("#binding-id", bindingId);
    await page.fill("#public-key", bindBody.evidence.chip.public_key);
    await page.fill("#stored-counter", String(verifyBody.counter - 1));
    await page.click("#inspect");
    got = await shown(page);
    assert.match(got.verdict, /^Accepted/, JSON.stringify(got.checks));
    await page.fill("#stored-counter", String(verifyBody.counter));
    await page.click("#inspect");
    got = await shown(page);
    assert.match(got.verdict, /Refused counter_replayed/);
    assert.deepEqual(requests, [], "the bodies never leave the page");
  });
});

test("wrangler dev serves the inspector with the demo's Content-Security-Policy", async () => {
  const res = await fetch(`${suite.server.url}/inspector/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-security-policy") ?? "", /connect-src 'self'/);
  assert.match(await res.text(), /Nothing you paste leaves this page/);
});
