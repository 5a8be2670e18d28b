// The demo page in headless Chromium (playwright-core + Debian's chromium)
// against a real `wrangler dev`: the page drives the wasm client with its
// simulated phone (WebCrypto chip in IndexedDB, SIM tray), and each test
// plays one story a person would try. Every test fails on a console error,
// a page error, a failed request or a 5xx answer; a 4xx answer is expected
// only where the story is a refusal (Chromium logs those to the console).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { createPublicKey, verify as verifySignature } from "node:crypto";
import { chromium } from "playwright-core";
import { startWranglerDev } from "./lib/wrangler-dev.mjs";
import { checkGrant } from "./lib/grant.mjs";

const artifacts = new URL("artifacts/", import.meta.url).pathname;
mkdirSync(artifacts, { recursive: true });

let server;
let browser;

before(async () => {
  [server, browser] = await Promise.all([
    startWranglerDev(),
    chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"],
    }),
  ]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

let numbers = 0;
/** A phone number used by no other test of this run (valid E.164, UK mobile range). */
function freshNumber() {
  const pid = String(process.pid % 10000).padStart(4, "0");
  return `+4477${pid}${String(++numbers).padStart(4, "0")}`;
}

const EXPECTED_4XX = /^Failed to load resource: the server responded with a status of 4\d\d\b/;

/**
 * Runs `story(page)` in a fresh browser context (fresh IndexedDB, so a fresh
 * phone), saves tests/artifacts/demo-<name>.png, and fails on any console
 * error (other than Chromium's note about a 4xx answer), page error, failed
 * request or 5xx response.
 */
async function withPage(name, story, { viewport = { width: 1280, height: 900 }, refusals = true } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems = [];
  let closing = false;
  let navigating = false;
  page.on("console", (msg) => {
    if (closing || msg.type() !== "error") return;
    if (EXPECTED_4XX.test(msg.text())) return;
    problems.push(`console error: ${msg.text()}`);
  });
  page.on("pageerror", (e) => !closing && problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    // A reload cancels the inbox poll in flight: that one is expected.
    if (closing || (navigating && r.failure()?.errorText === "net::ERR_ABORTED")) return;
    problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  // Every grant the page receives is checked as a backend would (tests/lib/grant.mjs):
  // signature against the published JWKS, iss, aud, exp, sub, and the txn its challenge asked.
  const grantChecks = [];
  const challenged = new Map();
  page.on("response", (r) => {
    if (closing) return;
    // 4xx only in stories that are about a refusal; 5xx never.
    if (r.status() >= 500 || (!refusals && r.status() >= 400)) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
    if (r.request().method() !== "POST" || r.status() !== 200) return;
    const path = new URL(r.url()).pathname;
    if (/^\/v1\/bindings\/[^/]+\/challenge$/.test(path)) {
      grantChecks.push(r.json().then((a) => challenged.set(a.challenge, a.transaction ?? null), () => {}));
    }
    const verify = path.match(/^\/v1\/bindings\/([^/]+)\/verify$/);
    if (!verify) return;
    const earlier = grantChecks.slice();
    grantChecks.push((async () => {
      const { grant } = await r.json();
      await Promise.allSettled(earlier);
      const sent = JSON.parse(r.request().postData() ?? "{}");
      const txn = challenged.has(sent.challenge) ? challenged.get(sent.challenge) : undefined;
      await checkGrant(server.url, grant, { sub: verify[1], txn });
    })().catch((e) => problems.push(e.message)));
  });
  try {
    const startedAt = performance.now();
    await page.goto(server.url + "/");
    await page.locator("body.ready").waitFor();
    const reload = async () => {
      navigating = true;
      await page.reload();
      await page.locator("body.ready").waitFor();
      navigating = false;
    };
    await story(page, { startedAt, reload });
    await Promise.all(grantChecks);
  } finally {
    await page.screenshot({ path: `${artifacts}demo-${name}.png`, fullPage: true }).catch(() => {});
    closing = true;
    await context.close();
  }
  assert.deepEqual(problems, [], `problems on the page:\n${problems.join("\n")}`);
}

// ---------- steps a person takes ----------

/** The text of the newest SMS of `kind` once `count` of them arrived in the on-page inbox. */
async function sms(page, kind, count = 1) {
  const items = page.locator(`#inbox .sms[data-kind="${kind}"]`);
  await page.waitForFunction(
    ([k, n]) => document.querySelectorAll(`#inbox .sms[data-kind="${k}"]`).length >= n,
    [kind, count],
  );
  return items.first().locator(".sms-text").innerText(); // newest first
}

async function sendCode(page, number) {
  await page.getByLabel("Phone number, international format").fill(number);
  await page.getByRole("button", { name: "Send code", exact: true }).click();
  await page.locator("#register-result .ok").waitFor();
}

async function enterCodeAndBind(page, otpCount = 1) {
  const text = await sms(page, "otp", otpCount);
  const code = text.match(/\b\d{6}\b/)[0];
  await page.getByLabel("Code from the SMS").fill(code);
  await page.getByRole("button", { name: "Bind this phone", exact: true }).click();
  await page.locator("#bind-result .ok, #bind-result .denied").waitFor();
  assert.equal(await page.locator("#bind-result .denied").count(), 0, await page.locator("#bind-result").innerText());
  return page.locator("#binding-id").innerText();
}

async function bindPhone(page, number = freshNumber()) {
  await sendCode(page, number);
  const bindingId = await enterCodeAndBind(page);
  return { number, bindingId };
}

/** Clicks "Open secure channel" and waits for this click's outcome. */
async function openChannel(page) {
  const before = await page.locator("#channel-result").getAttribute("data-seq");
  await page.getByRole("button", { name: "Open secure channel", exact: true }).click();
  await page.waitForFunction((seq) => {
    const box = document.querySelector("#channel-result");
    return !box.hidden && box.dataset.seq !== seq && !document.body.classList.contains("busy");
  }, before);
  return page.locator("#channel-result");
}

async function expectRefusal(page, code) {
  const refusal = page.locator(`#channel-result .denied[data-code="${code}"]`);
  await refusal.waitFor();
  // The developer code is on screen, and so are plain words.
  assert.equal(await refusal.locator("code.code").innerText(), code);
  const words = await refusal.locator(".plain").innerText();
  assert.ok(words.length > 40 && !words.includes(code), `plain words for ${code}: ${words}`);
  return words;
}

async function expectGrant(page, bindingId) {
  await page.locator("#grant-claims").waitFor();
  const claims = JSON.parse(await page.locator("#grant-claims").innerText());
  const header = JSON.parse(await page.locator("#grant-header").innerText());
  assert.equal(header.alg, "ES256");
  assert.equal(claims.sub, bindingId);
  assert.ok(claims.exp > claims.iat);
  assert.match(await page.locator("#grant-expiry").innerText(), /^expires in [0-9]:[0-5][0-9]$/);
  return claims;
}

async function auditEvents(page, ...expected) {
  await page.waitForFunction(
    (want) => {
      const have = [...document.querySelectorAll("#timeline li")].map((li) => li.dataset.event);
      return want.every((e) => have.includes(e));
    },
    expected,
  );
  return page.locator("#timeline li").evaluateAll((lis) => lis.map((li) => li.dataset.event));
}

// ---------- the stories ----------

test("happy path: number → code from the inbox → bind → secure channel → grant → audit", async (t) => {
  await withPage("happy-path", async (page, { startedAt, reload }) => {
    const number = freshNumber();
    // Keyboard only: type the number, Enter submits; focus moves to the code.
    await page.getByLabel("Phone number, international format").fill(number);
    await page.getByLabel("Phone number, international format").press("Enter");
    await page.locator("#register-result .ok").waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), "otp");
    const text = await sms(page, "otp");
    assert.match(text, /\b\d{6}\b is your SimBind demo code to link this number to a new phone/);
    await page.keyboard.type(text.match(/\b\d{6}\b/)[0]);
    await page.keyboard.press("Enter");
    await page.locator("#bind-result .ok").waitFor();
    const bindingId = await page.locator("#binding-id").innerText();
    assert.match(bindingId, /^bnd_/);
    assert.equal(await page.locator("#rebound").innerText(), "false");
    // The SIM tray issued two valid SIMs carrying the number.
    const iccids = await page.locator("#sims .sim code[id$=iccid]").allInnerTexts();
    assert.equal(new Set(iccids).size, 2);
    for (const iccid of iccids) assert.match(iccid, /^89\d{16,18}$/);

    await openChannel(page);
    const claims = await expectGrant(page, bindingId);
    assert.equal(typeof claims.ctr, "number");
    // Each step shows what was sent and what came back.
    assert.match(await page.locator("#channel-log summary").innerText(), /2 requests/);
    assert.match(await page.locator("#bind-log").textContent(), /\/v1\/registrations\/.+\/binding/);
    const events = await auditEvents(page, "bound", "verified");
    // The dev carrier's subscription is made on its own, in between or after.
    assert.deepEqual(events.filter((e) => !e.startsWith("carrier_")), ["bound", "verified"]);
    const ms = Math.round(performance.now() - startedAt);
    t.diagnostic(`happy path wall time (page load → code → bind → grant → audit timeline): ${ms} ms`);

    // The chip key is a non-extractable WebCrypto key kept in IndexedDB ...
    const stored = await page.evaluate(async () => {
      const db = await new Promise((ok, ko) => Object.assign(indexedDB.open("simbind-demo-phone"), { onsuccess: (e) => ok(e.target.result), onerror: ko }));
      const phone = await new Promise((ok, ko) => Object.assign(db.transaction("device").objectStore("device").get("phone"), { onsuccess: (e) => ok(e.target.result), onerror: ko }));
      const key = phone.real.privateKey;
      return { type: key.type, extractable: key.extractable, curve: key.algorithm.namedCurve, serial: phone.serial, publicKey: phone.real.publicKey, counter: phone.real.counter };
    });
    assert.deepEqual([stored.type, stored.extractable, stored.curve], ["private", false, "P-256"]);
    // ... so the same phone, counter and binding survive a reload, and the channel opens again.
    await reload();
    assert.equal(await page.locator("#chip-serial").innerText(), stored.serial);
    assert.equal(await page.locator("#chip-key").getAttribute("title"), stored.publicKey);
    assert.equal(await page.locator("#chip-counter").innerText(), String(stored.counter));
    await openChannel(page);
    const again = await expectGrant(page, bindingId);
    assert.ok(again.ctr > claims.ctr, "the counter keeps increasing across reloads");
  }, { refusals: false });
});

test("proof by an SMS the phone sends: the network-stamped sender arrives, the phone binds without a code", async () => {
  await withPage("device-sms", async (page) => {
    const number = freshNumber();
    await page.getByLabel("an SMS this phone sends").check();
    await sendCode(page, number);
    await page.locator("#device-sms:not([hidden])").waitFor();
    assert.match(await page.locator("#device-sms-what").innerText(), /^Text “SB-[0-9A-Z]{10} links this number/);
    assert.equal(await page.getByLabel("Code from the SMS").isVisible(), false, "no code to type");
    await page.getByRole("button", { name: "Send the SMS from this phone", exact: true }).click();
    await page.locator("#stamped-sender").waitFor();
    assert.equal(await page.locator("#stamped-sender").innerText(), number, "the sender the network stamped");
    assert.match(await page.locator("#device-sms-sent").innerText(), /the registration recorded it/);
    assert.match(await sms(page, "sent"), /^SB-[0-9A-Z]{10} /, "the phone's own messages show what it sent");
    await page.getByRole("button", { name: "Bind this phone", exact: true }).click();
    await page.locator("#bind-result .ok").waitFor();
    const bindingId = await page.locator("#binding-id").innerText();
    await openChannel(page);
    await expectGrant(page, bindingId);
  }, { refusals: false });
});

test("proof by the carrier (Firebase PNV): no SMS anywhere, the token is in the bind request, and the grant says how the number was proven", async () => {
  await withPage("carrier-proof", async (page) => {
    const number = freshNumber();
    await page.getByLabel("the carrier (Firebase PNV), no SMS").check();
    await sendCode(page, number);
    assert.match(await page.locator("#register-result").innerText(), /No SMS is sent/);
    assert.equal(await page.getByLabel("Code from the SMS").isVisible(), false, "no code to type");
    await page.getByRole("button", { name: "Bind this phone", exact: true }).click();
    await page.locator("#bind-result .ok").waitFor();
    assert.equal(await page.locator("#carrier-number").innerText(), number, "the number Firebase verified with the carrier");
    assert.equal(await page.locator("#proven-by").innerText(), "the carrier (Firebase PNV), no SMS");
    const log = await page.locator("#bind-log").textContent();
    assert.match(log, /firebase_pnv_token/, "the carrier's answer is in the exchange panel");
    assert.equal(await page.locator("#inbox .sms").count(), 0, "no SMS in the phone's messages");
    const bindingId = await page.locator("#binding-id").innerText();
    await openChannel(page);
    const claims = await expectGrant(page, bindingId);
    assert.equal(claims.number_proof, "firebase_pnv");
    await page.screenshot({ path: `${artifacts}carrier-proof.png`, fullPage: true });
  }, { refusals: false });
});

test("proof by the operator (CAMARA Number Verification): the phone opens the operator's page, the service asks it, no SMS", async () => {
  await withPage("operator-proof", async (page) => {
    const number = freshNumber();
    await page.getByLabel("the operator (CAMARA Number Verification), no SMS").check();
    await sendCode(page, number);
    assert.match(await page.locator("#register-result").innerText(), /No SMS is sent/);
    await page.getByRole("button", { name: "Bind this phone", exact: true }).click();
    await page.locator("#bind-result .ok").waitFor();
    assert.equal(await page.locator("#proven-by").innerText(), "the operator (CAMARA Number Verification), no SMS");
    const log = await page.locator("#bind-log").textContent();
    assert.match(log, /carrier-authorization/, "the authorization the service made");
    assert.match(log, /number_verified/, "and the operator's answer, through the callback");
    assert.equal(await page.locator("#inbox .sms").count(), 0, "no SMS in the phone's messages");
    const bindingId = await page.locator("#binding-id").innerText();
    await openChannel(page);
    const claims = await expectGrant(page, bindingId);
    assert.equal(claims.number_proof, "camara_nv");
    await page.screenshot({ path: `${artifacts}operator-proof.png`, fullPage: true });
  }, { refusals: false });
});

test("swap SIM → refused with sim_changed, and an alert SMS reaches the number (375 px wide)", async () => {
  await withPage(
    "swap-sim-375",
    async (page) => {
      const { bindingId } = await bindPhone(page);
      await openChannel(page);
      await expectGrant(page, bindingId);
      await page.getByRole("button", { name: "Swap SIM", exact: true }).click();
      await page.locator("#sim-B:checked").waitFor();
      await openChannel(page);
      const words = await expectRefusal(page, "sim_changed");
      assert.match(words, /SIM card is not the one registered/);
      assert.match(await sms(page, "alert"), /SimBind alert: a different SIM card/);
      await page.locator("#recover").waitFor();
      await auditEvents(page, "denied", "alert_sent");
      // Readable at phone width: nothing spills sideways.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `the page is ${overflow}px wider than a 375px screen`);
    },
    { viewport: { width: 375, height: 812 } },
  );
});

test("cloned chip → refused with chip_mismatch; the real chip still works", async () => {
  await withPage("cloned-chip", async (page) => {
    const { bindingId } = await bindPhone(page);
    await page.getByRole("button", { name: "Cloned chip", exact: true }).click();
    await page.locator("#chip-card.cloned").waitFor();
    await openChannel(page);
    await expectRefusal(page, "chip_mismatch");
    await page.getByRole("button", { name: "Back to real chip + SIM A", exact: true }).click();
    await page.locator("#chip-card:not(.cloned)").waitFor();
    await openChannel(page);
    await expectGrant(page, bindingId);
    const events = await auditEvents(page, "bound", "denied_unverified", "verified");
    assert.deepEqual(events.filter((e) => !e.startsWith("carrier_")), ["bound", "denied_unverified", "verified"]);
    assert.equal(await page.locator('#inbox .sms[data-kind="alert"]').count(), 0);
  });
});

test("replay of the last verification request → refused with challenge_reused", async () => {
  await withPage("replay", async (page) => {
    const { bindingId } = await bindPhone(page);
    await openChannel(page);
    await expectGrant(page, bindingId);
    await page.getByRole("button", { name: "Replay last request", exact: true }).click();
    await expectRefusal(page, "challenge_reused");
    assert.match(await page.locator("#channel-log").textContent(), /\/verify[\s\S]*403/);
  });
});

test("three SIM swaps suspend the binding; the owner re-proves the number and it is rebound", async () => {
  await withPage("rebind", async (page) => {
    const { bindingId } = await bindPhone(page);
    await page.getByRole("button", { name: "Swap SIM", exact: true }).click();
    for (let i = 0; i < 3; i++) {
      await openChannel(page);
      await expectRefusal(page, "sim_changed");
    }
    await page.locator("#binding-badge.suspended").waitFor();
    await auditEvents(page, "suspended");
    await openChannel(page);
    await expectRefusal(page, "binding_suspended");
    // The owner re-proves the number from this phone (SIM B is in it now).
    await page.getByRole("button", { name: "Re-verify my number", exact: true }).click();
    await page.locator("#register-result .ok").waitFor();
    const rebound = await enterCodeAndBind(page, 2);
    assert.equal(rebound, bindingId);
    assert.equal(await page.locator("#rebound").innerText(), "true");
    await openChannel(page);
    await expectGrant(page, bindingId);
    await auditEvents(page, "rebound", "verified");
  });
});

test("the carrier reports a SIM swap: the binding is suspended at once, and re-binding is refused while the swap is recent", async () => {
  await withPage("carrier-swap", async (page) => {
    const { bindingId } = await bindPhone(page);
    // The binding subscribes at the dev carrier right after bind.
    await page.waitForFunction(async () => {
      document.querySelector("#audit-refresh").click();
      await new Promise((r) => setTimeout(r, 200));
      return [...document.querySelectorAll("#timeline li")].some((li) => li.dataset.event === "carrier_subscribed");
    }, null, { polling: 300 });
    await page.getByRole("button", { name: "Carrier reports a SIM swap", exact: true }).click();
    await page.locator("#binding-badge.suspended").waitFor();
    const suspended = page.locator('#timeline li[data-event="suspended"]');
    await suspended.waitFor();
    assert.match(await suspended.innerText(), /carrier reported a SIM swap/);
    // The bank's backend panel: the suspension arrived as a signed event, decoded beside the raw token.
    await page.locator('#bank-events li[data-change="bound"]').waitFor();
    const pushed = page.locator('#bank-events li[data-change="suspended"]');
    await pushed.waitFor();
    assert.match(await pushed.innerText(), /Risk HIGH: the binding is suspended \(carrier_sim_swapped\)/);
    await pushed.locator("summary").click();
    const decoded = JSON.parse(await pushed.locator(".set-decoded").innerText());
    assert.equal(decoded.header.typ, "secevent+jwt");
    assert.deepEqual(decoded.claims.sub_id, { format: "opaque", id: bindingId });
    assert.equal(decoded.claims.events["https://schemas.openid.net/secevent/caep/event-type/risk-level-change"].risk_reason, "carrier_sim_swapped");
    const raw = await pushed.locator(".set-raw").innerText();
    const [h, c, sig] = raw.split(".");
    assert.deepEqual(JSON.parse(Buffer.from(c, "base64url")), decoded.claims, "the decoded claims are the raw token's");
    const keys = await (await fetch(`${server.url}/ssf/jwks.json`)).json();
    const jwk = keys.keys.find((k) => k.kid === decoded.header.kid);
    assert.ok(verifySignature("sha256", Buffer.from(`${h}.${c}`), createPublicKey({ key: jwk, format: "jwk" }), Buffer.from(sig, "base64url")), "the SET verifies under the published event key");
    assert.match(await sms(page, "alert"), /operator/);
    await openChannel(page);
    await expectRefusal(page, "binding_suspended");
    // Re-proving the number does not help while the swap is recent.
    await page.getByRole("button", { name: "Re-verify my number", exact: true }).click();
    await page.locator("#register-result .ok").waitFor();
    const text = await sms(page, "otp", 2);
    await page.getByLabel("Code from the SMS").fill(text.match(/\b\d{6}\b/)[0]);
    await page.getByRole("button", { name: "Bind this phone", exact: true }).click();
    const refused = page.locator('#bind-result .denied[data-code="carrier_sim_swapped"]');
    await refused.waitFor();
    assert.match(await refused.locator(".plain").innerText(), /operator/);
    assert.ok(bindingId.startsWith("bnd_"));
  });
});

test("unbind: signed by the chip, the binding ends", async () => {
  await withPage("unbind", async (page) => {
    // This time the code comes through the page's "From Messages" suggestion.
    await sendCode(page, freshNumber());
    const code = (await sms(page, "otp")).match(/\b\d{6}\b/)[0];
    await page.getByRole("button", { name: "Use this code", exact: true }).click();
    assert.equal(await page.getByLabel("Code from the SMS").inputValue(), code);
    await page.getByRole("button", { name: "Bind this phone", exact: true }).click();
    await page.locator("#bind-result .ok").waitFor();
    const bindingId = await page.locator("#binding-id").innerText();
    await page.getByRole("button", { name: "Unbind this phone", exact: true }).click();
    await page.locator("#unbind-result .ok").waitFor();
    assert.equal(await page.locator("#unbind-status").innerText(), "revoked");
    assert.match(await page.locator("#unbind-result").innerText(), new RegExp(bindingId));
    await auditEvents(page, "bound", "unbound");
    assert.equal(await page.getByRole("button", { name: "Open secure channel", exact: true }).isDisabled(), true);
  }, { refusals: false });
});

test("confirm a payment: the amount and payee are shown, signed, and bound into the grant's txn", async () => {
  await withPage("payment", async (page) => {
    const { bindingId } = await bindPhone(page);
    await page.getByLabel("Amount (EUR)").fill("42.00");
    await page.getByLabel("Payee", { exact: true }).fill("ACME Ltd");
    await page.getByRole("button", { name: "Confirm payment", exact: true }).click();
    await page.locator("#payment-proof").waitFor();
    const claims = await expectGrant(page, bindingId);
    assert.equal(await page.locator("#payment-summary").innerText(), "42.00 EUR to ACME Ltd");
    // PROTOCOL.md §4's worked example: SHA-256 of the canonical payment text.
    assert.equal(claims.txn, "f0uflq6I8cHh5RKHYObZUNl1_rOHwy5BDKcXInTQkAY");
    assert.equal(await page.locator("#grant-txn").innerText(), claims.txn);
    assert.match(await page.locator("#payment-proof").innerText(), /accepts the grant for that payment only/);
    // A plain secure channel afterwards carries no transaction.
    await openChannel(page);
    const plain = await expectGrant(page, bindingId);
    assert.equal(plain.txn, undefined);
  });
});
