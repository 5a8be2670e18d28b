// The demo page in headless Chromium (playwright-core + Debian's chromium)
// against a real `wrangler dev`: the page drives the wasm client with its
// simulated phone (WebCrypto chip in IndexedDB, SIM tray), and each test
// plays one story a person would try. Every test fails on a console error,
// a page error, a failed request or a 5xx answer; a 4xx answer is expected
// only where the story is a refusal (Chromium logs those to the console).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createPublicKey, verify as verifySignature } from "node:crypto";
import { artifacts, browserSuite } from "./lib/browser.mjs";
import { checkGrant } from "./lib/grant.mjs";

const suite = browserSuite();

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
  const context = await suite.browser.newContext({ viewport });
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
      await checkGrant(suite.server.url, grant, { sub: verify[1], txn });
    })().catch((e) => problems.push(e.message)));
  });
  try {
    const startedAt = performance.now();
    await page.goto(suite.server.url + "/");
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

const ATTACKS = ["swap-sim", "clone-chip", "replay", "carrier-swap"];

/** Which attack buttons are enabled now, by id. */
function enabledAttacks(page) {
  return page.evaluate((ids) => ids.filter((id) => !document.getElementById(id).disabled), ATTACKS);
}

/**
 * The outcome `result` of a click on `button` is where the person looks: its
 * start inside the viewport, and within a screen of the button (not several
 * screens up, as a phone-width page put step 3 above the attack buttons).
 */
async function assertInSight(page, button, result) {
  await page.waitForFunction(() => !document.body.classList.contains("busy"));
  const at = await page.evaluate(([b, r]) => {
    const rect = (sel) => document.querySelector(sel).getBoundingClientRect();
    return { button: rect(b), result: rect(r), height: window.innerHeight };
  }, [button, result]);
  assert.ok(at.result.height > 0, `${result} is shown`);
  assert.ok(at.result.top >= 0 && at.result.top < at.height - 40, `${result} starts in sight (top ${Math.round(at.result.top)} of ${at.height})`);
  const apart = Math.abs(at.result.top - at.button.bottom);
  assert.ok(apart < at.height / 2, `${result} is ${Math.round(apart)}px from ${button}: not where it was pressed`);
}

/** Every label of the payment form sits above its own input, left-aligned with it. */
async function assertLabelsAbove(page, width) {
  const boxes = await page.evaluate(() =>
    [...document.querySelectorAll("#payment-form label")].map((label) => {
      const input = document.getElementById(label.htmlFor);
      const [l, i] = [label.getBoundingClientRect(), input.getBoundingClientRect()];
      return { name: label.textContent, label: { left: l.left, bottom: l.bottom }, input: { left: i.left, top: i.top } };
    }),
  );
  assert.equal(boxes.length, 2);
  for (const { name, label, input } of boxes) {
    assert.ok(label.bottom <= input.top + 1, `${width}px: "${name}" is above its input (label bottom ${label.bottom}, input top ${input.top})`);
    assert.ok(Math.abs(label.left - input.left) < 4, `${width}px: "${name}" is aligned with its own input, not beside another (${label.left} vs ${input.left})`);
  }
}

/** The audit header counts exactly the rows shown. */
async function assertAuditCount(page) {
  const [hint, rows] = await page.evaluate(() => [document.querySelector("#audit-hint").textContent, document.querySelectorAll("#timeline li").length]);
  const n = Number(hint.match(/: (\d+) entr(?:y|ies)/)?.[1]);
  assert.equal(n, rows, `the audit header says ${hint} over ${rows} rows`);
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
    // The controls in the ceremony's order: send the SMS first; Bind waits for it.
    assert.equal(await page.locator("#bind").isDisabled(), true, "Bind waits for the SMS");
    assert.match(await page.locator("#bind-needs").innerText(), /Send the SMS first/);
    assert.match(await page.locator("#send-sms").getAttribute("class"), /\bprimary\b/);
    for (const width of [390, 1280]) {
      await page.setViewportSize({ width, height: 900 });
      const [send, bind] = [await page.locator("#send-sms").boundingBox(), await page.locator("#bind").boundingBox()];
      assert.ok(send.y + send.height <= bind.y, `${width}px: "Send the SMS" (y ${send.y}) comes before "Bind this phone" (y ${bind.y})`);
      if (width === 390) await page.locator("#step-bind").screenshot({ path: `${artifacts}demo-device-sms-order-390.png` });
    }
    // Each refusal of this path has plain words, none the generic "The request was refused."
    const plain = await page.evaluate(async () => {
      const { PLAIN } = await import("/demo/page.js");
      return ["sms_not_received", "sms_sender_mismatch", "sms_token_voided", "sms_token_expired", "number_proof_locked", "bind_secret_invalid"].filter((code) => !(PLAIN[code]?.length > 30));
    });
    assert.deepEqual(plain, [], "device-SMS refusals without plain words");
    await page.getByRole("button", { name: "Send the SMS from this phone", exact: true }).click();
    await page.locator("#stamped-sender").waitFor();
    assert.equal(await page.locator("#bind").isDisabled(), false, "the SMS is in: Bind is next");
    assert.equal(await page.locator("#bind-needs").isHidden(), true);
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
      // Said under the attack buttons, and the grant of the phone as it was is gone from step 3.
      await page.locator("#attack-result .attack-line").waitFor();
      assert.match(await page.locator("#attack-result").innerText(), /now on SIM B/);
      await assertInSight(page, "#swap-sim", "#attack-result");
      assert.equal(await page.locator("#channel-result").isHidden(), true, "the grant from before the swap is cleared");
      await openChannel(page);
      const words = await expectRefusal(page, "sim_changed");
      assert.match(words, /SIM card is not the one registered/);
      assert.match(await sms(page, "alert"), /SimBind alert: a different SIM card/);
      await page.locator("#recover").waitFor();
      await auditEvents(page, "denied", "alert_sent");
      // Back to SIM A: the refusal for SIM B is cleared, and the channel opens (one failure does not suspend).
      await page.getByRole("button", { name: "Back to real chip + SIM A", exact: true }).click();
      await page.locator("#sim-A:checked").waitFor();
      assert.equal(await page.locator("#channel-result").isHidden(), true, "the refusal from before the change is cleared");
      await openChannel(page);
      await expectGrant(page, bindingId);
      // Readable at phone width: nothing spills sideways.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `the page is ${overflow}px wider than a 375px screen`);
    },
    { viewport: { width: 375, height: 812 } },
  );
});

test("cloned chip → refused with chip_mismatch; a bind never binds the clone, and the real chip still works", async () => {
  await withPage("cloned-chip", async (page) => {
    const { number, bindingId } = await bindPhone(page);
    await page.getByRole("button", { name: "Cloned chip", exact: true }).click();
    await page.locator("#chip-card.cloned").waitFor();
    await openChannel(page);
    await expectRefusal(page, "chip_mismatch");
    const row = page.locator('#timeline li[data-event="denied_unverified"][data-code="chip_mismatch"]');
    await row.waitFor();
    assert.match(await row.locator(".ev-text").innerText(), /not the bound chip/);
    assert.equal(await page.locator('#inbox .sms[data-kind="alert"]').count(), 0, "a clone's refusal texts nobody");
    // The owner proves the number again with the clone still in: the bind takes it out, and the real chip binds.
    await sendCode(page, number);
    assert.equal(await enterCodeAndBind(page, 2), bindingId);
    assert.equal(await page.locator("#rebound").innerText(), "true");
    assert.match(await page.locator("#unclone-note").innerText(), /cloned chip was taken out/);
    assert.equal(await page.locator("#chip-card.cloned").count(), 0);
    await openChannel(page);
    await expectGrant(page, bindingId);
    const events = await auditEvents(page, "bound", "denied_unverified", "rebound", "verified");
    assert.deepEqual(events.filter((e) => !e.startsWith("carrier_") && e !== "alert_sent"), ["bound", "denied_unverified", "rebound", "verified"]);
  });
});

for (const width of [390, 1280]) {
  test(`replay of the last verification request → refused with challenge_reused, under the attack buttons, audited as a replay (${width} px)`, async () => {
    await withPage(`replay-${width}`, async (page) => {
      // The attacks are against a binding: none before there is one.
      assert.deepEqual(await enabledAttacks(page), []);
      assert.equal(await page.locator("#attacks-needs").isVisible(), true);
      const { bindingId } = await bindPhone(page);
      assert.deepEqual(await enabledAttacks(page), ["swap-sim", "clone-chip", "carrier-swap"], "a replay needs a request to replay");
      assert.equal(await page.locator("#attacks-needs").isHidden(), true);
      await openChannel(page);
      await expectGrant(page, bindingId);
      assert.deepEqual(await enabledAttacks(page), ATTACKS);
      await page.getByRole("button", { name: "Replay last request", exact: true }).click();
      // The answer is where the button was pressed, and the replayed request's grant is gone from step 3.
      const refused = page.locator('#attack-result .denied[data-code="challenge_reused"]');
      await refused.waitFor();
      assert.equal(await refused.locator("code.code").innerText(), "challenge_reused");
      assert.match(await refused.locator(".plain").innerText(), /already used once/);
      await assertInSight(page, "#replay", "#attack-result");
      await page.screenshot({ path: `${artifacts}demo-replay-${width}-result.png` });
      assert.equal(await page.locator("#channel-result").isHidden(), true, "the grant shown before the replay is cleared");
      assert.match(await page.locator("#attack-log").textContent(), /\/verify[\s\S]*403/);
      // The trail: the worker refused it on its used challenge (nobody authenticated, counted per hour),
      // and the page says so, not "not signed by the bound chip"; the header counts the rows shown.
      const trail = await (await fetch(`${suite.server.url}/dev/bindings/${bindingId}/audit`)).json();
      assert.deepEqual(trail.tallies.map((t) => [t.event, t.code]), [["denied_unverified", "challenge_reused"]]);
      const row = page.locator('#timeline li[data-event="denied_unverified"][data-code="challenge_reused"]');
      await row.waitFor();
      const label = await row.locator(".ev-text").innerText();
      assert.match(label, /replayed request/);
      assert.doesNotMatch(label, /not signed/);
      await assertAuditCount(page);
    }, { viewport: { width, height: width < 500 ? 844 : 900 } });
  });
}

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
    const words = await expectRefusal(page, "binding_suspended");
    assert.match(words, /after repeated failed checks/);
    assert.doesNotMatch(words, /operator/);
    assert.equal(await page.locator("#unbind").isDisabled(), true, "unbind is refused while suspended: not offered");
    // The owner re-proves the number from this phone (SIM B is in it now).
    const reverify = page.getByRole("button", { name: "Re-verify my number", exact: true });
    assert.match(await reverify.getAttribute("class"), /\bprimary\b/);
    await reverify.click();
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
    // Said under the attack buttons, with its cause.
    const reported = page.locator("#attack-result .warn");
    await reported.waitFor();
    assert.match(await reported.innerText(), /operator reported a SIM swap/);
    await assertInSight(page, "#carrier-swap", "#attack-result");
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
    const keys = await (await fetch(`${suite.server.url}/ssf/jwks.json`)).json();
    const jwk = keys.keys.find((k) => k.kid === decoded.header.kid);
    assert.ok(verifySignature("sha256", Buffer.from(`${h}.${c}`), createPublicKey({ key: jwk, format: "jwk" }), Buffer.from(sig, "base64url")), "the SET verifies under the published event key");
    const alert = await sms(page, "alert");
    assert.match(alert, /operator reports the SIM for this number was replaced/);
    // The refusal names the real cause, not failed checks.
    await openChannel(page);
    const words = await expectRefusal(page, "binding_suspended");
    assert.match(words, /mobile operator reported that this number's SIM was replaced/);
    assert.doesNotMatch(words, /after repeated failed checks/);
    // The way out the service supports: re-binding once the swap is older than the window, or an operator.
    const recover = page.locator("#recover-text");
    assert.match(await recover.locator(".way-wait").innerText(), /wait, as the alert SMS says: re-registering with a new SMS code is refused \(carrier_sim_swapped\) until the swap is older than the operator.s window \(CARRIER_MAX_AGE_HOURS, 10 days here\)/i);
    assert.match(await recover.locator(".way-operator").innerText(), /operator lifts the suspension at once \(POST \/v1\/admin\/bindings\/\{id\}\/reinstate\)/);
    // No button offers what is certainly refused without saying so.
    assert.equal(await page.locator("#unbind").isDisabled(), true, "unbind is refused while suspended");
    assert.match(await page.locator("#unbind-needs").innerText(), /binding_suspended/);
    assert.match(await page.locator("#channel-needs").innerText(), /refuses every channel and payment \(binding_suspended\)/);
    assert.equal(await page.locator("#carrier-swap").isDisabled(), true, "already suspended");
    const reverify = page.getByRole("button", { name: "Re-verify anyway (refused while the swap is recent)", exact: true });
    assert.doesNotMatch(await reverify.getAttribute("class"), /\bprimary\b/);
    await page.locator("#step-channel").screenshot({ path: `${artifacts}demo-carrier-swap-way-out.png` });
    // Re-proving the number is refused while the swap is recent, as the page said.
    await reverify.click();
    await page.locator("#register-result .ok").waitFor();
    await page.locator("#recover-result:not([hidden])").waitFor();
    assert.match(await page.locator("#recover-result").innerText(), /Code sent to/);
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
    assert.equal(await page.locator("#bind-result").isHidden(), true, "the binding's \"Bound.\" is cleared once it ended");
    assert.deepEqual(await enabledAttacks(page), [], "no attack without a binding");
  }, { refusals: false });
});

test("confirm a payment: the amount and payee are shown, signed, and bound into the grant's txn", async () => {
  await withPage("payment", async (page) => {
    const { bindingId } = await bindPhone(page);
    // Each label above its own input, at desktop and phone widths.
    await assertLabelsAbove(page, 1280);
    await page.setViewportSize({ width: 390, height: 844 });
    await assertLabelsAbove(page, 390);
    await page.locator("#payment-form").screenshot({ path: `${artifacts}demo-payment-form-390.png` });
    await page.setViewportSize({ width: 1280, height: 900 });
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
