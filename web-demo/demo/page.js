// What every panel of the demo shares: the page's words for each refusal and
// audit event, its state (saved between visits), small DOM helpers, how an
// outcome is shown, and the queue every user action runs in.
import { refreshAudit } from "./audit.js";
import { refreshInbox, renderPhone } from "./phone-panel.js";
import { refreshButtons } from "./steps.js";

export const $ = (id) => document.getElementById(id);
export const API = location.origin;
/** The deployment this page's client signs for (wrangler.toml's dev AUDIENCE). */
export const AUDIENCE = "simbind-dev";
export const SAVED = "simbind-demo";

/** What a user should read for each stable code (the code is shown too). */
export const PLAIN = {
  sim_changed: "This SIM card is not the one registered to this phone. The secure channel stays closed, and the owner of the number was alerted by SMS.",
  number_changed: "The SIM now reports a different phone number from the one registered to this phone.",
  chip_mismatch: "This phone's secure chip is not the one bound to the number. It looks like a cloned or different chip, so the request is refused.",
  counter_replayed: "The secure chip's counter did not increase: a copy of this phone's key may be in use elsewhere.",
  challenge_reused: "This exact request was already used once. A replayed message is refused.",
  challenge_expired: "The request's challenge has expired (they last at most 2 minutes), so it is refused. Open the channel again for a fresh one.",
  challenge_invalid: "The server's challenge in this request is not valid.",
  challenge_wrong_ceremony: "The challenge in this request was issued for another kind of check.",
  challenge_wrong_subject: "The challenge in this request was issued for another binding or registration.",
  binding_suspended: "This binding is suspended: after repeated failed checks, or because the mobile operator reported a SIM swap. Re-verify your number with a new SMS code to restore it (after a reported swap, only once the operator's swap window has passed, or through support).",
  carrier_sim_swapped: "The mobile operator reports that this number's SIM was replaced recently. Until that is old enough (10 days here), the number cannot be bound again: a stolen number looks exactly like this. Before then only an operator can restore the binding, after checking with you.",
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
  rate_limited: "Too many requests for this number or from this network just now. Try again later.",
  sms_not_received: "The SMS from this phone has not reached the service yet. Send it (step 2) first, then bind.",
  sms_sender_mismatch: "The SMS came from another number than the one you registered.",
  sms_token_voided: "That SMS token was sent from two different numbers, so it no longer proves either. Start again.",
  sms_token_expired: "The SMS token has expired. Start again.",
  number_proof_locked: "Too many failed attempts for this registration. Start again.",
  bind_secret_invalid: "This registration was started on another device or page. Start again here.",
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

/**
 * A suspension in words, by what caused it (the code of the audit trail's
 * `suspended` event): the cause, and the way out the service supports.
 */
export const SUSPENDED_BY = {
  carrier_sim_swapped: "This binding is suspended because the mobile operator reported that this number's SIM was replaced (a SIM swap), not because of failed checks. Every secure channel, payment and unbind is refused until it is restored (step 3 says how).",
  carrier_device_swapped: "This binding is suspended because the mobile operator reported that this number moved to another device, not because of failed checks. Every secure channel, payment and unbind is refused until it is restored (step 3 says how).",
  counted: "This binding is suspended after repeated failed checks from this phone. Every secure channel, payment and unbind is refused until you re-verify your number with a new SMS code.",
};

/** Whether a suspension came from the mobile operator (a re-bind is refused while it is recent). */
export function byCarrier(code) {
  return code === "carrier_sim_swapped" || code === "carrier_device_swapped";
}

/** The plain words for a refusal `code`; a suspension names its cause when the trail told it. */
export function plainFor(code) {
  if (code === "binding_suspended" && state.suspendedBy) return SUSPENDED_BY[byCarrier(state.suspendedBy) ? state.suspendedBy : "counted"];
  return PLAIN[code];
}

/** Audit events in words. */
const EVENTS = {
  bound: "Phone bound to the number",
  rebound: "Number re-proved: binding restored on this phone",
  verified: "Secure channel opened: grant issued",
  denied: "Refused",
  denied_unverified: "Refused (not counted against the binding)",
  suspended: "Binding suspended after repeated failures",
  reinstated: "Suspension lifted by an operator",
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

/**
 * Refusals nobody authenticated (the worker counts them per hour as
 * `denied_unverified`), by the check that stopped them: the chip's
 * signature was not what refused most of them.
 */
const UNCOUNTED = {
  challenge_reused: "Refused: a replayed request (its challenge was already used)",
  challenge_expired: "Refused: the request's challenge had expired",
  challenge_invalid: "Refused: not a challenge this server issued",
  challenge_wrong_ceremony: "Refused: a challenge issued for another kind of check",
  challenge_wrong_subject: "Refused: a challenge issued for another binding",
  chip_mismatch: "Refused: not the bound chip (another key for this serial)",
  bad_signature: "Refused: not signed by the bound chip",
  binding_suspended: "Refused: the binding is suspended",
  binding_revoked: "Refused: the binding has ended",
  chip_revoked: "Refused: the chip is on the deny-list",
};

/** Why an authentic request was refused, in a few words. */
const REASONS = {
  sim_changed: "different SIM",
  number_changed: "different number",
  counter_replayed: "counter went backwards",
  carrier_sim_swapped: "the operator reports a recent SIM swap",
  carrier_device_swapped: "the operator reports the number moved to another device",
  carrier_unavailable: "the operator could not be asked",
  binding_exists: "someone proved the number for another phone",
  chip_already_bound: "another number tried to bind this phone's chip",
};

/** An audit event in words, by its event and code: a suspension says what caused it, a refusal what refused it. */
export function eventText(e) {
  if (e.event === "suspended" && e.code === "carrier_sim_swapped") return "Binding suspended at once: the carrier reported a SIM swap";
  if (e.event === "suspended" && e.code === "carrier_device_swapped") return "Binding suspended at once: the carrier reported the number in another device";
  if (e.event === "denied_unverified") return UNCOUNTED[e.code] || `${EVENTS.denied_unverified}: ${e.code}`;
  if (e.event === "denied" && e.code) return `${EVENTS.denied}: ${REASONS[e.code] || e.code}`;
  return EVENTS[e.event] || e.event;
}

export const ui = {
  status: $("status"),
  number: $("number"),
  otp: $("otp"),
  buttons: ["send-code", "send-sms", "bind", "open-channel", "confirm-payment", "audit-refresh", "unbind", "swap-sim", "clone-chip", "replay", "carrier-swap", "restore", "reverify", "autofill-use"].map($),
};

/** What the page's modules share and change: the client, the phone, the grant's timer, the exchanges of the action in progress. */
export const session = { client: null, phone: null, grantTimer: 0, current: null };
export const state = {
  number: "",
  registrationId: null,
  /** The registration object the client returned (device SMS needs it: its token and bind secret stay in the client). */
  registration: null,
  registeredAt: 0,
  bindingId: null,
  lastBindingId: null,
  bindingStatus: null,
  /** The code of the suspension in force, as the audit trail tells it (null when not suspended). */
  suspendedBy: null,
  /** Device SMS: the phone sent its SMS for the registration in progress (Bind waits for it). */
  smsSent: false,
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

export function persist() {
  const { number, registrationId, registeredAt, bindingId, lastBindingId, bindingStatus, suspendedBy } = state;
  localStorage.setItem(SAVED, JSON.stringify({ number, registrationId, registeredAt, bindingId, lastBindingId, bindingStatus, suspendedBy }));
}

// ---------- small DOM helpers ----------

export function el(tag, attrs = {}, ...children) {
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

export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

export function announce(text) {
  ui.status.textContent = text;
}

/** An outcome for the status line: what happened, in words, then the code. */
export function refusedText(what, err) {
  return `${what}. ${plainFor(err.code) || err.detail || ""} (${err.code})`;
}

export function time(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function shortKey(key) {
  return key.length > 24 ? `${key.slice(0, 12)}…${key.slice(-8)}` : key;
}

export function path(url) {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

export function normalizeNumber(text) {
  return text.replace(/[\s().-]/g, "");
}

// ---------- outcomes ----------

let shown = 0;
let lastShown = null;
/** Shows an action's outcome in its box, next to what was pressed, and scrolls it into sight if it is not. */
export function show(boxId, node) {
  const box = $(boxId);
  box.replaceChildren(node);
  box.hidden = false;
  box.dataset.seq = String(++shown);
  lastShown = box;
  reveal(box);
}

/** Scrolls `node` into the viewport when its start is out of sight (a phone-width screen). */
function reveal(node) {
  const top = node.getBoundingClientRect().top;
  if (top >= 0 && top <= window.innerHeight - 48) return;
  node.scrollIntoView({ block: node.offsetHeight > window.innerHeight ? "start" : "nearest" });
}

/**
 * Hides outcomes an action makes stale, as it starts: a grant shown before
 * the phone changed, a "Bound." before a new registration.
 */
export function clearOutcomes(...boxIds) {
  for (const id of boxIds) {
    if (id === "channel-result") clearInterval(session.grantTimer);
    const box = $(id);
    box.hidden = true;
    box.replaceChildren();
  }
}

export function success(title, ...details) {
  return el("div", { class: "ok" }, el("p", { class: "outcome-title" }, el("span", { class: "icon", "aria-hidden": "true", text: "✓" }), title), ...details);
}

/** Something that happened to the phone or the number: neither a grant nor a refusal. */
export function notice(title, ...details) {
  return el("div", { class: "warn" }, el("p", { class: "outcome-title" }, el("span", { class: "icon", "aria-hidden": "true", text: "!" }), title), ...details);
}

/** A refusal in plain words, with the developer's view underneath. */
export function refusal(error, lead = "Refused") {
  const code = error.code || "unknown_error";
  const plain = plainFor(code) || (error.source === "bridge" ? PLAIN.bridge_failed : "The request was refused.");
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

export function renderExchanges(logId, exchanges) {
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

/**
 * Runs one user action after the ones before it (a click during a ceremony
 * waits its turn), its HTTP exchanges logged under its step.
 */
let queue = Promise.resolve();
let pending = 0;
export function act(logId, label, fn) {
  pending += 1;
  document.body.classList.add("busy");
  document.querySelector("main").setAttribute("aria-busy", "true");
  const run = queue.then(async () => {
    announce(`${label}…`);
    const shownBefore = shown;
    const exchanges = [];
    session.current = exchanges;
    try {
      await fn(exchanges);
    } finally {
      session.current = null;
      if (logId) renderExchanges(logId, exchanges);
      refreshButtons();
      renderPhone();
      await Promise.allSettled([refreshInbox(), refreshAudit()]);
      refreshButtons(); // the trail may have told a new status (suspended)
      // What the refreshes added above it (an SMS in the inbox) may have pushed the outcome out of sight.
      if (shown !== shownBefore && !lastShown.hidden) reveal(lastShown);
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

export function asError(e) {
  if (isSimBindError(e)) return e;
  return { code: "unexpected", status: 0, source: "client", detail: String(e?.message || e) };
}

/** Resolves once every action queued so far has run. */
export function idle() {
  return queue;
}
