// The SimBind demo page: drives the wasm client (the same package an app
// ships) against the edge worker served on this origin, with the simulated
// phone of phone.js as its native bridge. No protocol encoding happens here.
import init, { Bridge, SimBindClient } from "./vendor/simbind-client/index.js";
import { openPhone } from "./phone.js";

const $ = (id) => document.getElementById(id);
const API = location.origin;
/** The deployment this page's client signs for (wrangler.toml's dev AUDIENCE). */
const AUDIENCE = "simbind-dev";
const SAVED = "simbind-demo";

/** What a user should read for each stable code (the code is shown too). */
const PLAIN = {
  sim_changed: "This SIM card is not the one registered to this phone. The secure channel stays closed, and the owner of the number was alerted by SMS.",
  number_changed: "The SIM now reports a different phone number from the one registered to this phone.",
  chip_mismatch: "This phone's secure chip is not the one bound to the number. It looks like a cloned or different chip, so the request is refused.",
  counter_replayed: "The secure chip's counter did not increase: a copy of this phone's key may be in use elsewhere.",
  challenge_reused: "This exact request was already used once. A replayed message is refused.",
  challenge_expired: "The request's challenge has expired (they last at most 2 minutes), so it is refused. Open the channel again for a fresh one.",
  challenge_invalid: "The server's challenge in this request is not valid.",
  challenge_wrong_ceremony: "The challenge in this request was issued for another kind of check.",
  challenge_wrong_subject: "The challenge in this request was issued for another binding or registration.",
  binding_suspended: "This binding is suspended after repeated failed checks. Re-verify your number with a new SMS code to restore it.",
  carrier_sim_swapped: "The mobile operator reports that this number's SIM was replaced recently. Until that is old enough (10 days here), the number cannot be bound again: a stolen number looks exactly like this.",
  carrier_device_swapped: "The mobile operator reports that this number moved to another device after it was bound.",
  carrier_unavailable: "The mobile operator could not be asked about this number's SIM just now, so the check is refused. Try again in a moment.",
  binding_revoked: "This binding has ended (unbound by the phone or revoked by an operator). Register again to use it.",
  binding_not_found: "This binding does not exist (any more). Register again.",
  bad_signature: "The secure chip's signature does not match what was sent.",
  otp_invalid: "That code is not right. Check the SMS and try again.",
  otp_expired: "That code has expired. Send a new one.",
  otp_attempts_exhausted: "Too many wrong codes. Send a new code and try again.",
  invalid_otp_format: "The code is the 6 digits from the SMS.",
  registration_not_found: "That code request has expired or was already used. Send a new code.",
  rate_limited: "Too many codes were requested for this number. Try again later.",
  invalid_phone_number: "Enter the number in international format, starting with + and the country code, e.g. +447700900123.",
  number_mismatch: "The SIM in this phone does not carry the number you registered.",
  binding_exists: "This number is already bound to another phone. Unbind it there first.",
  chip_already_bound: "This phone's chip is already bound to another number. Unbind it first.",
  sms_delivery_failed: "The SMS could not be sent. Try again in a moment.",
  network_error: "The SimBind server could not be reached. Check the connection and try again.",
  bridge_failed: "The phone's secure chip or SIM could not be read.",
  bridge_malformed_reply: "The phone's secure chip or SIM gave an answer the app cannot use.",
  misconfigured: "The SimBind server is not configured. This is for the operator to fix.",
  internal: "The SimBind server had a problem. Try again.",
};

/** Audit events in words. */
const EVENTS = {
  bound: "Phone bound to the number",
  rebound: "Number re-proved: binding restored on this phone",
  verified: "Secure channel opened: grant issued",
  denied: "Refused",
  denied_unverified: "Refused (not signed by the bound chip)",
  suspended: "Binding suspended after repeated failures",
  alert_sent: "Alert SMS sent to the bound number",
  alert_failed: "Alert SMS could not be sent",
  unbound: "Unbound by the phone's chip",
  replaced: "Replaced by a new binding",
  revoked: "Revoked by an operator",
  takeover_suppressed: "More takeover attempts (owner already alerted this hour)",
  admin_unauthorized: "Admin request with a wrong token",
  carrier_subscribed: "The carrier will report SIM swaps of this number (subscribed)",
  carrier_subscription_failed: "The carrier subscription could not be made or ended (retrying)",
  carrier_subscription_ended: "The carrier ended its subscription (subscribing again)",
  carrier_unsubscribed: "The carrier subscription was deleted",
  carrier_unanswered: "The carrier did not answer",
};

/** An audit event in words: a suspension says what caused it. */
function eventText(e) {
  if (e.event === "suspended" && e.code === "carrier_sim_swapped") return "Binding suspended at once: the carrier reported a SIM swap";
  return EVENTS[e.event] || e.event;
}

const ui = {
  status: $("status"),
  number: $("number"),
  otp: $("otp"),
  buttons: ["send-code", "send-sms", "bind", "open-channel", "confirm-payment", "audit-refresh", "unbind", "swap-sim", "clone-chip", "replay", "carrier-swap", "restore", "reverify", "autofill-use"].map($),
};

let client;
let phone;
let grantTimer = 0;
let current = null; // exchanges of the action in progress
const state = {
  number: "",
  registrationId: null,
  /** The registration object the client returned (device SMS needs it: its token and bind secret stay in the client). */
  registration: null,
  registeredAt: 0,
  bindingId: null,
  lastBindingId: null,
  bindingStatus: null,
  lastVerify: null, // { url, request } of the last verify request sent
  ...savedState(),
};

/** What an earlier visit saved; nothing when storage is unreadable or corrupt. */
function savedState() {
  try {
    return JSON.parse(localStorage.getItem(SAVED) || "{}");
  } catch {
    return {};
  }
}

function persist() {
  const { number, registrationId, registeredAt, bindingId, lastBindingId, bindingStatus } = state;
  localStorage.setItem(SAVED, JSON.stringify({ number, registrationId, registeredAt, bindingId, lastBindingId, bindingStatus }));
}

// ---------- small DOM helpers ----------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

function pretty(value) {
  return JSON.stringify(value, null, 2);
}

function announce(text) {
  ui.status.textContent = text;
}

/** An outcome for the status line: what happened, in words, then the code. */
function refusedText(what, err) {
  return `${what}. ${PLAIN[err.code] || err.detail || ""} (${err.code})`;
}

function time(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function shortKey(key) {
  return key.length > 24 ? `${key.slice(0, 12)}…${key.slice(-8)}` : key;
}

function path(url) {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

function normalizeNumber(text) {
  return text.replace(/[\s().-]/g, "");
}

// ---------- outcomes ----------

let shown = 0;
function show(boxId, node) {
  const box = $(boxId);
  box.replaceChildren(node);
  box.hidden = false;
  box.dataset.seq = String(++shown);
}

function success(title, ...details) {
  return el("div", { class: "ok" }, el("p", { class: "outcome-title" }, el("span", { class: "icon", "aria-hidden": "true", text: "✓" }), title), ...details);
}

/** A refusal in plain words, with the developer's view underneath. */
function refusal(error, lead = "Refused") {
  const code = error.code || "unknown_error";
  const plain = PLAIN[code] || (error.source === "bridge" ? PLAIN.bridge_failed : "The request was refused.");
  const facts = [error.status ? `HTTP ${error.status}` : null, error.source ? `source ${error.source}` : null].filter(Boolean);
  return el(
    "div",
    { class: "denied", "data-code": code },
    el("p", { class: "outcome-title" }, el("span", { class: "icon", "aria-hidden": "true", text: "✕" }), lead),
    el("p", { class: "plain", text: plain }),
    el(
      "p",
      { class: "dev" },
      "For developers: ",
      el("code", { class: "code", text: code }),
      facts.length ? ` · ${facts.join(" · ")}` : "",
      error.detail ? el("span", { class: "detail" }, ` · “${error.detail}”`) : null,
    ),
  );
}

function renderExchanges(logId, exchanges) {
  const log = $(logId);
  if (!exchanges.length) return;
  const n = exchanges.length;
  const items = exchanges.map((e) =>
    el(
      "li",
      { class: "exchange" },
      el(
        "p",
        { class: "ex-head" },
        el("span", { class: "method", text: e.method }),
        " ",
        el("code", { class: "url", text: path(e.url) }),
        " ",
        el("span", { class: `http ${e.status >= 200 && e.status < 300 ? "good" : "bad"}`, text: e.status ? `→ ${e.status}` : "→ no answer" }),
      ),
      e.request !== undefined ? el("div", {}, el("p", { class: "ex-label", text: "Sent" }), el("pre", { text: pretty(e.request) })) : null,
      el("div", {}, el("p", { class: "ex-label", text: "Came back" }), el("pre", { text: pretty(e.response) })),
    ),
  );
  log.replaceChildren(
    el("summary", {}, `What was sent and what came back (${n} request${n === 1 ? "" : "s"})`),
    el("ol", { class: "exchange-list" }, items),
  );
  log.hidden = false;
}

// ---------- the phone panel ----------

function renderPhone() {
  const s = phone.state;
  $("chip-serial").textContent = s.serial;
  $("chip-key").textContent = shortKey(s.publicKey);
  $("chip-key").title = s.publicKey;
  $("chip-counter").textContent = String(s.counter);
  const cloned = s.chip === "clone";
  $("chip-card").classList.toggle("cloned", cloned);
  $("chip-note").textContent = cloned
    ? "CLONED chip: another key pair claiming this serial, with a counter far ahead."
    : "Non-extractable WebCrypto P-256 key, kept in this browser's IndexedDB (format simbind-p256: a software chip for this demo; real phones prove theirs with Android Key Attestation or Apple App Attest).";
  const hasSims = Boolean(s.sims);
  $("sims").hidden = !hasSims;
  $("tray-empty").hidden = hasSims;
  $("sim-number").hidden = !hasSims;
  if (hasSims) {
    for (const slot of ["A", "B"]) {
      const sim = s.sims[slot];
      $(`sim-${slot}-subscription`).textContent = String(sim.subscriptionId);
      $(`sim-${slot}-card`).textContent = String(sim.cardId);
      $(`sim-${slot}-iccid`).textContent = sim.iccid;
      $(`sim-${slot}-imsi`).textContent = sim.imsi;
      if (sim.eid) $(`sim-${slot}-eid`).textContent = sim.eid;
      const radio = $(`sim-${slot}`);
      radio.checked = s.slot === slot;
      radio.closest(".sim").classList.toggle("inserted", s.slot === slot);
    }
    $("sim-number").textContent = `Both carry ${s.msisdn}. The app reads the checked one: moving the number to the other is a new subscription, which the edge refuses as a SIM change.`;
    $("bar-carrier").textContent = `SIM ${s.slot} · ${s.msisdn}`;
  } else {
    $("bar-carrier").textContent = "No SIM";
  }
  const changes = [];
  if (cloned) changes.push("the cloned chip is in the phone");
  if (hasSims && s.slot !== "A") changes.push(`the number is on SIM ${s.slot} (${s.sims[s.slot].embedded ? "the eSIM" : "the physical SIM"})`);
  $("attack-state").textContent = changes.length ? `Now: ${changes.join(" and ")}.` : "Now: the real chip and SIM A.";
  $("swap-sim").disabled = !hasSims;
  $("replay").disabled = !state.lastVerify;
}

// ---------- SMS inbox ----------

let inboxSeen = -1;
let inboxTimer = 0;
let inboxBusy = false;

async function refreshInbox() {
  if (!state.number || inboxBusy) return;
  inboxBusy = true;
  try {
    const res = await fetch(`${API}/dev/outbox?phone_number=${encodeURIComponent(state.number)}`, { cache: "no-store" });
    if (!res.ok) {
      $("inbox-empty").textContent = res.status === 404 ? "The development SMS outbox is off on this server." : `Messages unavailable (HTTP ${res.status}).`;
      return;
    }
    renderInbox((await res.json()).messages || []);
  } catch {
    // Offline for a moment: the next poll tries again.
  } finally {
    inboxBusy = false;
  }
}

function renderInbox(messages) {
  $("inbox-empty").hidden = messages.length > 0;
  $("inbox-empty").textContent = "No messages yet.";
  $("inbox-count").textContent = messages.length ? `(${messages.length})` : "";
  const fresh = inboxSeen >= 0 && messages.length > inboxSeen ? messages.slice(inboxSeen) : [];
  if (messages.length !== inboxSeen) {
    const items = [...messages].reverse().map((m) =>
      el(
        "li",
        { class: `sms ${m.kind === "alert" ? "alert" : m.kind === "sent" ? "sent" : "otp"}`, "data-kind": m.kind },
        el("p", { class: "sms-meta" }, el("span", { class: "sms-from", text: m.kind === "alert" ? "SimBind security alert" : m.kind === "sent" ? "Sent from this phone" : "SimBind" }), el("time", { datetime: new Date(m.at).toISOString(), text: time(m.at) })),
        el("p", { class: "sms-text", text: m.text }),
      ),
    );
    $("inbox").replaceChildren(...items);
    // A scrolling list must be reachable by keyboard.
    if (items.length) $("inbox").setAttribute("tabindex", "0");
    else $("inbox").removeAttribute("tabindex");
    inboxSeen = messages.length;
  }
  // Own live region: an arriving SMS must not replace the outcome just announced.
  for (const m of fresh) $("sms-status").textContent = `New SMS${m.kind === "alert" ? " (security alert)" : ""}: ${m.text}`;
  // One-time code autofill, like a phone's keyboard offers it.
  const code = [...messages].reverse().find((m) => m.kind === "otp" && m.at >= state.registeredAt - 5000);
  const digits = code && state.registrationId ? code.text.match(/\b\d{6}\b/) : null;
  $("autofill").hidden = !digits || $("otp").value === digits[0];
  if (digits) $("autofill-code").textContent = digits[0];
}

function startInbox() {
  clearInterval(inboxTimer);
  inboxSeen = -1;
  $("inbox").replaceChildren();
  $("inbox-empty").hidden = false;
  $("inbox-count").textContent = "";
  if (!state.number) return;
  refreshInbox();
  inboxTimer = setInterval(refreshInbox, 3000);
}

// ---------- audit timeline ----------

async function refreshAudit(log = false) {
  const id = state.lastBindingId;
  if (!id) {
    $("timeline").replaceChildren();
    $("audit-hint").textContent = "Bind the phone to start its audit trail.";
    return;
  }
  const url = `${API}/dev/bindings/${encodeURIComponent(id)}/audit`;
  const res = await fetch(url, { cache: "no-store" });
  const body = await res.json();
  if (log) renderExchanges("audit-log", [{ method: "GET", url, status: res.status, response: body }]);
  if (!res.ok) {
    $("audit-hint").textContent = `The audit trail is unavailable (HTTP ${res.status}, ${body.code}).`;
    return;
  }
  // The worker lists events oldest first, in the order each request wrote them,
  // and counts what nobody authenticated per hour (tallies): shown at their latest.
  const events = body.events || [];
  const tallies = (body.tallies || []).map((t) => ({ at: t.last_at, event: t.event, code: t.code, count: t.count }));
  const items = [...events, ...tallies].sort((a, b) => a.at - b.at);
  $("audit-hint").textContent = `Binding ${id}: ${events.length} event${events.length === 1 ? "" : "s"}, oldest first.`;
  $("timeline").replaceChildren(
    ...items.map((e) =>
      el(
        "li",
        { class: `event ev-${e.event}`, "data-event": e.event },
        el("time", { datetime: new Date(e.at).toISOString(), text: time(e.at) }),
        el("span", { class: "ev-text" }, e.count > 1 ? `${e.count} × ` : "", eventText(e), e.code && e.event.startsWith("denied") ? `: ${PLAIN[e.code] ? shortReason(e.code) : e.code}` : ""),
        el("span", { class: "ev-tags" }, el("code", { text: e.event }), e.ceremony ? el("code", { text: e.ceremony }) : null, e.code ? el("code", { class: "code", text: e.code }) : null),
      ),
    ),
  );
  updateBindingStatus(events);
}

function shortReason(code) {
  return {
    sim_changed: "different SIM",
    number_changed: "different number",
    chip_mismatch: "different chip",
    counter_replayed: "counter went backwards",
    challenge_reused: "replayed request",
    challenge_expired: "expired challenge",
    bad_signature: "bad signature",
  }[code] || code;
}

/** The binding's status, as its audit trail tells it. */
function updateBindingStatus(events) {
  let status = state.bindingStatus;
  for (const e of events) {
    if (e.event === "bound" || e.event === "rebound" || e.event === "verified") status = "active";
    else if (e.event === "suspended") status = "suspended";
    else if (e.event === "unbound" || e.event === "revoked" || e.event === "replaced") status = "revoked";
  }
  setBindingStatus(status);
}

function setBindingStatus(status) {
  state.bindingStatus = status;
  persist();
  const badge = $("binding-badge");
  badge.hidden = !status || !state.bindingId;
  badge.className = `binding-badge ${status || ""}`;
  badge.textContent = { active: "Binding active", suspended: "Binding suspended", revoked: "Unbound" }[status] || "";
  if (status === "suspended" && state.bindingId) {
    offerReverify("The binding is suspended. Prove you still own the number with a new SMS code, using this phone and the SIM now in it.");
  }
}

function offerReverify(text) {
  $("recover-text").textContent = text;
  $("recover").hidden = false;
}

// ---------- actions ----------

function refreshButtons() {
  $("channel-needs").hidden = Boolean(state.bindingId);
  $("bind").disabled = !state.registrationId;
  $("open-channel").disabled = !state.bindingId;
  $("confirm-payment").disabled = !state.bindingId;
  $("unbind").disabled = !state.bindingId;
  $("audit-refresh").disabled = !state.lastBindingId;
  $("replay").disabled = !state.lastVerify;
  $("carrier-swap").disabled = !state.bindingId;
}

/**
 * Runs one user action after the ones before it (a click during a ceremony
 * waits its turn), its HTTP exchanges logged under its step.
 */
let queue = Promise.resolve();
let pending = 0;
function act(logId, label, fn) {
  pending += 1;
  document.body.classList.add("busy");
  document.querySelector("main").setAttribute("aria-busy", "true");
  const run = queue.then(async () => {
    announce(`${label}…`);
    const exchanges = [];
    current = exchanges;
    try {
      await fn(exchanges);
    } finally {
      current = null;
      if (logId) renderExchanges(logId, exchanges);
      refreshButtons();
      renderPhone();
      await Promise.allSettled([refreshInbox(), refreshAudit()]);
      pending -= 1;
      if (pending === 0) {
        document.body.classList.remove("busy");
        document.querySelector("main").removeAttribute("aria-busy");
      }
    }
  });
  queue = run.catch(() => {});
  return run;
}

function isSimBindError(e) {
  return e && e.name === "SimBindError";
}

function asError(e) {
  if (isSimBindError(e)) return e;
  return { code: "unexpected", status: 0, source: "client", detail: String(e?.message || e) };
}

async function sendCode(event) {
  event?.preventDefault();
  const number = normalizeNumber(ui.number.value);
  ui.number.value = number;
  if (!number) {
    show("register-result", refusal({ code: "invalid_phone_number", source: "client", status: 0 }, "Check the number"));
    announce("Enter your phone number first.");
    ui.number.focus();
    return;
  }
  if (state.bindingId && state.bindingStatus !== "revoked" && number !== state.number) {
    show("register-result", refusal({ code: "chip_already_bound", source: "client", status: 0, detail: `this phone is bound to ${state.number}` }, "Not sent"));
    announce(`This phone is bound to ${state.number}. Unbind it before registering another number.`);
    return;
  }
  await act("register-log", `Sending a code to ${number}`, async () => {
    try {
      const proof = document.querySelector('input[name="proof"]:checked')?.value ?? "otp";
      const reg = await client.startRegistration(number, { proof });
      const numberChanged = number !== state.number;
      Object.assign(state, { number, registration: reg, registrationId: reg.registrationId, registeredAt: Date.now(), proof: reg.proof, deviceSms: reg.deviceSms ?? null });
      persist();
      await phone.setNumber(number);
      if (numberChanged) startInbox();
      $("bind-result").hidden = true;
      $("device-sms-sent").hidden = true;
      showProof();
      if (reg.proof === "device_sms") {
        show(
          "register-result",
          success(
            `Registered ${number}: now this phone proves it by sending an SMS.`,
            el("p", {}, "Registration ", el("code", { text: reg.registrationId }), `. The token is valid until ${time(reg.deviceSms.expiresAt * 1000)}.`),
          ),
        );
        announce(`Registered. Send the SMS from this phone in step 2.`);
        $("send-sms").focus();
      } else {
        show(
          "register-result",
          success(
            `Code sent to ${number}.`,
            el("p", {}, "Registration ", el("code", { text: reg.registrationId }), `. The code is valid until ${time(reg.otpExpiresAt * 1000)}; it is in the phone's messages.`),
          ),
        );
        announce(`Code sent to ${number}. Enter it in step 2.`);
        ui.otp.value = "";
        ui.otp.focus();
      }
    } catch (e) {
      show("register-result", refusal(asError(e), "Not sent"));
      announce(refusedText("Code not sent", asError(e)));
    }
  });
}

/** Step 2 as the registration's proof needs it: a code field, or the SMS to send. */
function showProof() {
  const bySms = state.proof === "device_sms" && state.registrationId && state.deviceSms;
  $("device-sms").hidden = !bySms;
  ui.otp.hidden = Boolean(bySms);
  $("bind-form").querySelector('label[for="otp"]').hidden = Boolean(bySms);
  if (bySms) $("device-sms-what").textContent = `Text “${state.deviceSms.text}” to ${state.deviceSms.to}.`;
}

async function sendSms() {
  if (!state.registrationId || !state.deviceSms) return;
  await act("bind-log", "Sending the SMS from this phone", async () => {
    try {
      await client.sendNumberProof(state.registration);
    } catch (e) {
      show("bind-result", refusal(asError(e), "Not sent"));
      announce(refusedText("SMS not sent", asError(e)));
    }
  });
}

/** The stand-in network delivered the phone's SMS: show the sender it stamped. */
function smsSent({ detail: { from, to, seen } }) {
  const words = {
    recorded: "the registration recorded it",
    repeated: "the registration had it already",
    voided: "a second sender: the token is now void",
    expired: "the token had expired",
    unknown: "no registration has this token",
  }[seen] ?? seen;
  const note = $("device-sms-sent");
  note.hidden = false;
  note.replaceChildren("The virtual number ", el("code", { text: to }), " received it from ", el("code", { id: "stamped-sender", text: from }), ` (the sender the network stamped): ${words}.`);
  announce(`SMS delivered from ${from}: ${words}. Now bind this phone.`);
  $("bind").focus();
}

async function bind(event) {
  event?.preventDefault();
  const otp = state.proof === "device_sms" ? undefined : ui.otp.value.trim();
  if (!state.registrationId) {
    announce("Send a code first (step 1).");
    return;
  }
  await act("bind-log", "Binding this phone", async () => {
    try {
      // The registration object carries its bind secret inside the client (device SMS).
      const registration = state.registration?.registrationId === state.registrationId ? state.registration : state.registrationId;
      const b = await client.completeBinding(registration, otp, { waitMs: 10000 });
      const previous = state.bindingId;
      Object.assign(state, { registration: null, registrationId: null, bindingId: b.bindingId, lastBindingId: b.bindingId, proof: null, deviceSms: null });
      showProof();
      $("device-sms-sent").hidden = true;
      persist();
      setBindingStatus(b.status);
      $("recover").hidden = true;
      const words = b.rebound
        ? `Number re-proved: the binding is restored on this phone, with the SIM now in it${previous === b.bindingId ? " (same binding id)" : ""}.`
        : "This phone is bound to the number: its chip key and the SIM in it are registered.";
      show(
        "bind-result",
        success(
          b.rebound ? "Rebound." : "Bound.",
          el("p", {}, words),
          el("dl", { class: "facts" },
            el("div", {}, el("dt", { text: "Binding id" }), el("dd", {}, el("code", { id: "binding-id", text: b.bindingId }))),
            el("div", {}, el("dt", { text: "Status" }), el("dd", {}, el("code", { text: b.status }))),
            el("div", {}, el("dt", { text: "Rebound" }), el("dd", {}, el("code", { id: "rebound", text: String(b.rebound) })))),
        ),
      );
      $("autofill").hidden = true;
      ui.otp.value = "";
      announce(b.rebound ? "Rebound: the binding is active again. Open a secure channel (step 3)." : "Bound. Now open a secure channel (step 3).");
      $("open-channel").disabled = false;
      $("confirm-payment").disabled = false;
      $("open-channel").focus();
    } catch (e) {
      const err = asError(e);
      show("bind-result", refusal(err, "Not bound"));
      announce(refusedText("Not bound", err));
    }
  });
}

function decodeJwt(token) {
  const part = (s) => JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0))));
  const [header, claims] = token.split(".");
  return { header: part(header), claims: part(claims) };
}

/** What a bank's backend hashes for a payment (PROTOCOL.md §4's worked example). */
async function paymentTransaction(amount, payee) {
  const text = `SIMBIND-EXAMPLE-PAYMENT\namount=${amount} EUR\npayee=${payee}`;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function showGrant(g, payment) {
  clearInterval(grantTimer);
  const { header, claims } = decodeJwt(g.grant);
  const expiry = el("span", { class: "expiry", id: "grant-expiry" });
  const tick = () => {
    const left = g.expiresAt - Math.floor(Date.now() / 1000);
    if (left <= 0) {
      expiry.textContent = "expired: open the channel again for a new grant";
      expiry.classList.add("gone");
      clearInterval(grantTimer);
    } else {
      expiry.textContent = `expires in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    }
  };
  tick();
  grantTimer = setInterval(tick, 1000);
  show(
    "channel-result",
    success(
      "Secure channel open.",
      el("p", {}, "The edge issued a grant (", el("code", { text: g.tokenType }), "), ", expiry, ". The app's backend checks it offline against ", el("a", { href: "/.well-known/jwks.json" }, el("code", { text: "/.well-known/jwks.json" })), "."),
      el("div", { class: "jwt" },
        el("div", {}, el("p", { class: "ex-label", text: "Header" }), el("pre", { id: "grant-header", text: pretty(header) })),
        el("div", {}, el("p", { class: "ex-label", text: "Claims" }), el("pre", { id: "grant-claims", text: pretty(claims) }))),
      el("p", { class: "hint caption" }, "sub is the binding id, ctr the chip counter it was signed with, exp the moment the grant stops being accepted (", time(claims.exp * 1000), "), jti its unique id."),
      payment
        ? el("p", { class: "payment-proof", id: "payment-proof" },
            "Payment confirmed: ", el("strong", { id: "payment-summary", text: `${payment.amount} EUR to ${payment.payee}` }),
            ". The grant's ", el("code", { text: "txn" }), " is SHA-256 of exactly that, ", el("code", { id: "grant-txn", text: claims.txn }),
            claims.txn === payment.txn ? ": the backend recomputes it from the payment it executes and accepts the grant for that payment only." : ": it does NOT match the payment.")
        : el("p", { class: "hint caption" }, "No transaction is bound (no txn claim): a backend must not accept this grant for a payment."),
      el("details", { class: "raw" }, el("summary", {}, "The grant as sent (ES256 JWT)"), el("pre", { class: "token", text: g.grant })),
    ),
  );
}

function explainDenial(err) {
  if (err.code === "binding_suspended") {
    offerReverify("The binding is suspended. Prove you still own the number with a new SMS code, using this phone and the SIM now in it.");
  } else if (err.code === "binding_not_found") {
    // The server no longer knows this binding (its local KV was reset): start over.
    Object.assign(state, { bindingId: null, lastBindingId: null, bindingStatus: null });
    persist();
    refreshButtons();
  } else if (err.code === "sim_changed") {
    offerReverify("Did you change your SIM yourself? Re-verify your number with a new SMS code to move the binding to the SIM now in this phone.");
  }
}

async function openChannel() {
  if (!state.bindingId) return;
  await act("channel-log", "Opening a secure channel", async () => {
    clearInterval(grantTimer);
    $("recover").hidden = true;
    try {
      const g = await client.verify(state.bindingId);
      showGrant(g);
      announce("Secure channel open: the edge issued a grant.");
    } catch (e) {
      clearInterval(grantTimer);
      const err = asError(e);
      show("channel-result", refusal(err));
      explainDenial(err);
      announce(refusedText("Secure channel refused", err));
    }
  });
}

async function confirmPayment(event) {
  event.preventDefault();
  if (!state.bindingId) return;
  const amount = $("pay-amount").value.trim();
  const payee = $("pay-payee").value.trim();
  if (!/^\d{1,9}(\.\d{2})?$/.test(amount) || !payee) {
    announce("Enter an amount such as 42.00 and a payee.");
    return;
  }
  await act("channel-log", `Confirming a payment of ${amount} EUR to ${payee}`, async () => {
    clearInterval(grantTimer);
    $("recover").hidden = true;
    try {
      const txn = await paymentTransaction(amount, payee);
      const g = await client.verify(state.bindingId, txn);
      showGrant(g, { amount, payee, txn: b64url(txn) });
      announce(`Payment of ${amount} EUR to ${payee} confirmed: the grant is bound to it.`);
    } catch (e) {
      clearInterval(grantTimer);
      const err = asError(e);
      show("channel-result", refusal(err));
      explainDenial(err);
      announce(refusedText("Payment refused", err));
    }
  });
}

async function replay() {
  const last = state.lastVerify;
  if (!last) {
    announce("Open a secure channel first: there is no request to replay yet.");
    return;
  }
  await act("channel-log", "Replaying the last verification request", async (exchanges) => {
    clearInterval(grantTimer);
    $("recover").hidden = true;
    try {
      const res = await fetch(last.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(last.request) });
      const body = await res.json();
      exchanges.push({ method: "POST", url: last.url, request: last.request, status: res.status, response: body });
      if (res.ok) {
        showGrant({ grant: body.grant, tokenType: body.token_type, expiresAt: body.expires_at });
        announce("The replayed request was accepted.");
      } else {
        const err = { code: body.code, status: res.status, source: "server", detail: body.detail };
        show("channel-result", refusal(err, "Replay refused"));
        announce(refusedText("Replayed request refused", err));
      }
    } catch (e) {
      show("channel-result", refusal({ code: "network_error", status: 0, source: "client", detail: String(e.message || e) }, "Replay failed"));
    }
  });
}

/**
 * The dev carrier swaps this number's SIM, as a criminal's SIM-swap fraud
 * would at the operator, and pushes it to SimBind's subscription sink.
 */
async function carrierSwap() {
  if (!state.number) return;
  await act("channel-log", "The carrier reports a SIM swap", async (exchanges) => {
    const url = `${API}/dev/carrier/swap`;
    const request = { phone_number: state.number };
    try {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) });
      const body = await res.json();
      exchanges.push({ method: "POST", url, request, status: res.status, response: body });
      if (!res.ok) {
        announce(`The stand-in carrier is not available on this server (HTTP ${res.status}).`);
      } else if (body.notified > 0) {
        announce("The carrier told SimBind this number's SIM was swapped: the binding is suspended, before the phone does anything.");
      } else {
        announce("The carrier recorded a SIM swap, but held no subscription for this number yet: SimBind finds out at the next bind.");
      }
    } catch (e) {
      announce(`The stand-in carrier could not be reached: ${e.message || e}`);
    }
  });
}

async function unbind() {
  if (!state.bindingId) return;
  await act("unbind-log", "Unbinding this phone", async () => {
    try {
      const u = await client.unbind(state.bindingId);
      clearInterval(grantTimer);
      Object.assign(state, { bindingId: null, registration: null, registrationId: null, lastVerify: null });
      setBindingStatus("revoked");
      $("recover").hidden = true;
      show("unbind-result", success("Unbound.", el("p", {}, "Binding ", el("code", { text: u.bindingId }), " is now ", el("code", { id: "unbind-status", text: u.status }), ". This phone no longer holds the number; register again to bind it.")));
      announce("Unbound. Register again to bind this phone.");
      ui.number.focus();
    } catch (e) {
      const err = asError(e);
      show("unbind-result", refusal(err, "Not unbound"));
      announce(refusedText("Not unbound", err));
    }
  });
}

async function reverify() {
  ui.number.value = state.number;
  // Move focus before hiding the focused button, so it is never lost to <body>.
  ui.number.focus();
  $("recover").hidden = true;
  await sendCode();
}

function phoneAction(fn, words) {
  return act(null, "Changing the phone", async () => {
    await fn();
    announce(words());
  });
}

// ---------- start ----------

async function main() {
  ui.number.value = state.number || `+447700900${String(Math.floor(Math.random() * 1000)).padStart(3, "0")}`;
  try {
    [phone] = await Promise.all([openPhone(), init()]);
  } catch (e) {
    announce(`The demo could not start: ${e.message || e}. It needs a browser with WebAssembly, WebCrypto and IndexedDB.`);
    throw e;
  }
  client = new SimBindClient(API, Bridge.fromObject(phone.bridge), AUDIENCE);
  client.onExchange((exchange) => {
    current?.push(exchange);
    if (exchange.method === "POST" && /\/v1\/bindings\/[^/]+\/verify$/.test(path(exchange.url))) {
      state.lastVerify = { url: exchange.url, request: exchange.request };
    }
  });
  phone.addEventListener("change", renderPhone);
  phone.addEventListener("sms-sent", smsSent);
  $("send-sms").addEventListener("click", sendSms);

  $("register-form").addEventListener("submit", sendCode);
  $("bind-form").addEventListener("submit", bind);
  $("open-channel").addEventListener("click", openChannel);
  $("payment-form").addEventListener("submit", confirmPayment);
  $("unbind").addEventListener("click", unbind);
  $("reverify").addEventListener("click", reverify);
  $("audit-refresh").addEventListener("click", () => refreshAudit(true).catch(() => announce("The audit trail could not be loaded.")));
  $("autofill-use").addEventListener("click", () => {
    ui.otp.value = $("autofill-code").textContent;
    $("autofill").hidden = true;
    $("bind").focus();
  });
  $("swap-sim").addEventListener("click", () =>
    phoneAction(() => phone.swapSim(), () => `The number is now on SIM ${phone.state.slot}, a new subscription for the phone. Open a secure channel to see what the edge says.`));
  $("clone-chip").addEventListener("click", () =>
    phoneAction(() => phone.useClonedChip(), () => "A cloned chip (another key, same serial, high counter) is now in the phone. Open a secure channel."));
  $("restore").addEventListener("click", () =>
    phoneAction(() => phone.restore(), () => "Back to the real chip and SIM A."));
  $("replay").addEventListener("click", replay);
  $("carrier-swap").addEventListener("click", carrierSwap);
  for (const slot of ["A", "B"]) {
    $(`sim-${slot}`).addEventListener("change", () => phoneAction(() => phone.insertSim(slot), () => `The app now reads SIM ${slot}.`));
  }
  $("reset").addEventListener("click", async () => {
    await queue;
    localStorage.removeItem(SAVED);
    await new Promise((resolve) => {
      const req = indexedDB.deleteDatabase("simbind-demo-phone");
      req.onsuccess = req.onerror = req.onblocked = resolve;
    });
    location.reload();
  });

  renderPhone();
  refreshButtons();
  showProof();
  if (state.bindingId) setBindingStatus(state.bindingStatus);
  startInbox();
  try {
    await refreshAudit();
  } catch {
    announce("The audit trail could not be loaded.");
  }
  document.body.classList.add("ready");
  announce(state.bindingId ? `This phone is bound to ${state.number}. Open a secure channel (step 3).` : "Ready. Enter your number and send a code (step 1).");
}

main();
