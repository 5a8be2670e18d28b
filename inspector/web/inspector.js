// The evidence inspector's page: reads the form, asks core (in wasm) for the
// report and draws it. It decides nothing itself and sends nothing anywhere.
import init, { inspect } from "./pkg/simbind_inspector.js";
import samples from "./samples.js";

const $ = (id) => document.getElementById(id);
const ui = {
  form: $("form"), sample: $("sample"), format: $("format"), evidence: $("evidence"),
  challenge: $("challenge"), clientDataHash: $("client-data-hash"), appId: $("app-id"),
  environment: $("environment"), jwks: $("jwks"), issuer: $("issuer"), grantAudience: $("grant-audience"),
  transaction: $("transaction"), projectNumber: $("project-number"), projectId: $("project-id"), at: $("at"), atDate: $("at-date"), policy: $("policy"),
  registrationId: $("registration-id"), bindingId: $("binding-id"), audience: $("audience"), publicKey: $("public-key"),
  storedCounter: $("stored-counter"), simKey: $("sim-key"), notCheckedBox: $("not-checked-box"), notChecked: $("not-checked"),
  problem: $("input-problem"), report: $("report"), verdict: $("verdict"), checks: $("checks"),
  chain: $("chain"), decoded: $("decoded"), raw: $("raw"),
};

/** An element with text (never HTML) and attributes. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

const date = (seconds) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");

function showFormat() {
  for (const group of document.querySelectorAll("[data-for]")) group.hidden = !group.dataset.for.split(" ").includes(ui.format.value);
}

function showDate() {
  const at = Number(ui.at.value);
  ui.atDate.textContent = ui.at.value && Number.isSafeInteger(at) && at >= 0 ? date(at) : "";
}

function load(sample) {
  const input = sample.input;
  ui.format.value = input.format;
  ui.evidence.value = { "android-key": input.chain, "apple-assertion": input.assertion }[input.format] ?? input.attestation;
  ui.publicKey.value = input.publicKey ?? "";
  ui.storedCounter.value = input.storedCounter ?? "";
  ui.challenge.value = input.challengeHex ?? "";
  ui.clientDataHash.value = input.clientDataHashHex ?? "";
  ui.appId.value = input.appId ?? "";
  ui.environment.value = input.environment ?? "production";
  ui.at.value = String(input.at);
  ui.policy.value = "";
  showFormat();
  showDate();
}

/** The inspector's input from the form (docs/INSPECTOR.md), or a problem to show. */
function input() {
  const at = Number(ui.at.value.trim());
  if (!ui.at.value.trim() || !Number.isSafeInteger(at) || at < 0) return { problem: "The instant must be Unix seconds." };
  if (ui.format.value === "grant") {
    const transactionHex = ui.transaction.value.trim();
    return {
      format: "grant", token: ui.evidence.value.trim(), jwks: ui.jwks.value, issuer: ui.issuer.value.trim(),
      audience: ui.grantAudience.value.trim(), ...(transactionHex ? { transactionHex } : {}), at,
    };
  }
  if (ui.format.value === "firebase-pnv") {
    return {
      format: "firebase-pnv", token: ui.evidence.value.trim(), jwks: ui.jwks.value,
      projectNumber: ui.projectNumber.value.trim(), projectId: ui.projectId.value.trim(), at,
    };
  }
  // The stored counter belongs to assertions, verify and unbind only.
  const counted = ["apple-assertion", "verify", "unbind"].includes(ui.format.value);
  let storedCounter = null;
  if (counted && ui.storedCounter.value.trim()) {
    storedCounter = Number(ui.storedCounter.value.trim());
    if (!Number.isSafeInteger(storedCounter) || storedCounter < 0) return { problem: "The stored counter must be a whole number." };
  }
  const counter = storedCounter === null ? {} : { storedCounter };
  const simKey = ui.simKey.value.trim() ? { simPublicKey: ui.simKey.value.trim() } : {};
  if (ui.format.value === "apple-assertion") {
    return {
      format: "apple-assertion", assertion: ui.evidence.value.trim(), clientDataHashHex: ui.clientDataHash.value.trim(),
      publicKey: ui.publicKey.value.trim(), appId: ui.appId.value.trim(), ...counter, at,
    };
  }
  const appId = ui.appId.value.trim() ? { appId: ui.appId.value.trim() } : {};
  if (ui.format.value === "verify" || ui.format.value === "unbind") {
    return {
      format: ui.format.value, body: ui.evidence.value, bindingId: ui.bindingId.value.trim(), audience: ui.audience.value.trim(),
      chipPublicKey: ui.publicKey.value.trim(), ...simKey, ...counter, ...appId, at,
    };
  }
  let policy = null;
  if (ui.policy.value.trim()) {
    try {
      policy = JSON.parse(ui.policy.value);
    } catch {
      return { problem: "The policy is not JSON." };
    }
  }
  if (ui.format.value === "bind") {
    return {
      format: "bind", body: ui.evidence.value, registrationId: ui.registrationId.value.trim(), audience: ui.audience.value.trim(),
      environment: ui.environment.value, ...appId, ...(ui.publicKey.value.trim() ? { chipPublicKey: ui.publicKey.value.trim() } : {}), policy, at,
    };
  }
  if (ui.format.value === "android-key") {
    return { format: "android-key", chain: ui.evidence.value, challengeHex: ui.challenge.value.trim(), at, policy };
  }
  return {
    format: "apple-appattest", attestation: ui.evidence.value, clientDataHashHex: ui.clientDataHash.value.trim(),
    appId: ui.appId.value.trim(), environment: ui.environment.value, at,
  };
}

/** What an accepted verdict means, per format. */
const ACCEPTED = {
  "android-key": "the service would bind this key",
  "apple-appattest": "the service would bind this key",
  "apple-assertion": "the attested key signed this, with the counter shown",
  grant: "a backend would accept this grant",
  "firebase-pnv": "the service would take this number as proven",
  bind: "nothing a body alone shows stops this bind (see what is not checked here)",
  verify: "nothing a body alone shows stops this verification (see what is not checked here)",
  unbind: "nothing a body alone shows stops this unbind (see what is not checked here)",
};

const MARK = { passed: "✓", failed: "✗", "not reached": "–" };

function draw(report) {
  ui.report.hidden = false;
  ui.verdict.replaceChildren();
  ui.verdict.className = `verdict ${report.verdict}`;
  if (report.verdict === "accepted") {
    ui.verdict.append(el("strong", { text: "Accepted" }), ` — every check passed; ${ACCEPTED[report.format]}.`);
  } else {
    ui.verdict.append(el("strong", { text: "Refused " }), el("code", { text: report.code }), ` — ${report.detail}.`);
  }
  ui.checks.replaceChildren(...report.checks.map((c) => {
    const item = el("li", { class: `check ${c.result.replace(" ", "-")}` },
      el("span", { class: "mark", "aria-hidden": "true", text: MARK[c.result] }),
      el("span", { class: "name", text: c.check }),
      el("span", { class: "result", text: c.result }));
    if (c.code) item.append(el("span", { class: "why" }, el("code", { text: c.code }), ` ${c.detail}`));
    return item;
  }));
  ui.chain.replaceChildren(...report.chain.map((c, i) => {
    if (!c.parses) return el("li", { class: "cert bad", text: "This certificate does not parse." });
    const role = i === 0 ? "leaf" : c.subject === c.issuer ? "self-signed root" : "intermediate";
    const trust = c.pinnedRoot ? "pinned root key" : c.signedByPinnedRoot ? "signed by a pinned root key" : role.endsWith("root") ? "not a trusted root" : "";
    return el("li", { class: `cert ${c.validAt ? "" : "invalid-at"}` },
      el("p", { class: "role" }, el("strong", { text: role }), trust ? el("span", { class: `trust ${c.pinnedRoot || c.signedByPinnedRoot ? "yes" : "no"}`, text: trust }) : ""),
      el("dl", {},
        el("dt", { text: "subject" }), el("dd", { text: c.subject }),
        el("dt", { text: "issuer" }), el("dd", { text: c.issuer }),
        el("dt", { text: "serial" }), el("dd", { text: c.serial }),
        el("dt", { text: "valid" }), el("dd", { text: `${date(c.notBefore)} → ${date(c.notAfter)} (${c.validAt ? "valid" : "not valid"} at the instant)` }),
        el("dt", { text: "key" }), el("dd", { text: c.key })));
  }));
  const chained = report.format === "android-key" || report.format === "apple-appattest" || report.chain.length > 0;
  $("chain-title").hidden = !chained;
  ui.chain.hidden = !chained;
  if (!report.chain.length && chained) ui.chain.append(el("li", { class: "cert bad", text: "No certificate could be read." }));
  ui.notCheckedBox.hidden = !report.notChecked;
  ui.notChecked.replaceChildren(...(report.notChecked ?? []).map((words) => el("li", { text: words })));
  ui.decoded.replaceChildren(...decoded(report.decoded, report.attested));
  ui.raw.textContent = JSON.stringify(report, null, 2);
}

/** The decoded evidence as term/description pairs, nested objects flattened with dots. */
function decoded(value, attested) {
  const rows = [];
  const walk = (prefix, v) => {
    if (v && typeof v === "object" && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}.${k}` : k, x);
    else rows.push(el("dt", { text: prefix }), el("dd", { text: v === null ? "absent" : Array.isArray(v) ? v.join(", ") : String(v) }));
  };
  walk("", value);
  if (attested) walk("attested", attested);
  if (!rows.length) rows.push(el("dt", { text: "nothing" }), el("dd", { text: "the evidence did not decode" }));
  return rows;
}

function run(event) {
  event?.preventDefault();
  const data = input();
  ui.problem.hidden = !data.problem;
  if (data.problem) {
    ui.problem.textContent = data.problem;
    return;
  }
  const report = JSON.parse(inspect(JSON.stringify(data)));
  if (report.error) {
    ui.problem.hidden = false;
    ui.problem.textContent = report.error;
    ui.report.hidden = true;
    return;
  }
  draw(report);
  ui.report.scrollIntoView({ block: "start", behavior: "instant" });
}

async function main() {
  await init();
  samples.forEach((s, i) => ui.sample.append(el("option", { value: String(i), text: `${s.name} (${s.source})` })));
  ui.sample.addEventListener("change", () => {
    const sample = samples[Number(ui.sample.value)];
    if (sample) {
      load(sample);
      run();
    }
  });
  ui.format.addEventListener("change", showFormat);
  ui.at.addEventListener("input", showDate);
  $("now").addEventListener("click", () => {
    ui.at.value = String(Math.floor(Date.now() / 1000));
    showDate();
  });
  ui.evidence.addEventListener("dragover", (e) => e.preventDefault());
  ui.evidence.addEventListener("drop", async (e) => {
    e.preventDefault();
    const file = e.dataTransfer?.files?.[0];
    if (!file) return;
    const text = await file.text();
    ui.evidence.value = text;
    if (text.includes("-----BEGIN CERTIFICATE-----")) ui.format.value = "android-key";
    showFormat();
  });
  ui.form.addEventListener("submit", run);
  showFormat();
  document.body.dataset.ready = "true";
}

main();
