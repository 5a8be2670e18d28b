// The three steps: register a number (code or device SMS), bind this phone,
// open a secure channel (a grant, or a payment bound to its transaction).
import { offerRecovery, offerReverify, setBindingStatus } from "./audit.js";
import { $, act, announce, asError, clearOutcomes, el, normalizeNumber, persist, pretty, refusal, refusedText, session, show, state, success, time, ui } from "./page.js";
import { startInbox } from "./phone-panel.js";

// ---------- actions ----------

/**
 * Enables each button only when its action means something now, and says
 * why beside the ones that would certainly be refused (a suspended binding).
 */
export function refreshButtons() {
  const bound = Boolean(state.bindingId);
  const suspended = bound && state.bindingStatus === "suspended";
  // Device SMS: the ceremony sends the SMS first, then binds.
  const smsFirst = state.proof === "device_sms" && Boolean(state.registrationId) && !state.smsSent;
  $("bind").disabled = !state.registrationId || smsFirst;
  $("send-sms").classList.toggle("primary", smsFirst);
  $("bind-needs").hidden = !smsFirst;
  const needs = $("channel-needs");
  needs.hidden = bound && !suspended;
  needs.textContent = suspended
    ? "The binding is suspended: the edge refuses every channel and payment (binding_suspended) until it is restored, as told below."
    : "Bind this phone first (steps 1 and 2).";
  $("open-channel").disabled = !bound;
  $("confirm-payment").disabled = !bound;
  $("unbind").disabled = !bound || suspended;
  $("unbind-needs").hidden = !suspended;
  $("audit-refresh").disabled = !state.lastBindingId;
  // The attacks are against a binding: none before there is one.
  const phone = session.phone?.state;
  $("attacks-needs").hidden = bound;
  $("swap-sim").disabled = !bound || !phone?.sims;
  $("clone-chip").disabled = !bound || phone?.chip === "clone";
  $("replay").disabled = !bound || !state.lastVerify;
  $("carrier-swap").disabled = !bound || suspended;
  $("restore").disabled = !phone || (phone.chip === "real" && phone.slot === "A");
}

export async function sendCode(event) {
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
    // A new registration: what the steps below showed is stale.
    clearOutcomes("register-result", "bind-result", "channel-result", "unbind-result", "attack-result");
    state.smsSent = false;
    try {
      const proof = document.querySelector('input[name="proof"]:checked')?.value ?? "otp";
      const reg = await session.client.startRegistration(number, { proof });
      const numberChanged = number !== state.number;
      Object.assign(state, { number, registration: reg, registrationId: reg.registrationId, registeredAt: Date.now(), proof: reg.proof, deviceSms: reg.deviceSms ?? null });
      persist();
      await session.phone.setNumber(number);
      if (numberChanged) startInbox();
      $("bind-result").hidden = true;
      $("device-sms-sent").hidden = true;
      showProof();
      // A carrier proof: who proves the number, and how step 2 asks it.
      const carrier = {
        firebase_pnv: ["the carrier", "the phone asks Firebase Phone Number Verification, with a nonce made from the bind's challenge"],
        camara_nv: ["the operator", "the phone opens the operator's page over mobile data, and the service asks the operator's Number Verification itself"],
      }[reg.proof];
      if (carrier) {
        const [who, how] = carrier;
        show(
          "register-result",
          success(
            `Registered ${number}: ${who} proves it when this phone binds. No SMS is sent.`,
            el("p", {}, "Registration ", el("code", { text: reg.registrationId }), `. In step 2 ${how}.`),
          ),
        );
        announce(`Registered. Bind this phone in step 2: ${who} proves the number.`);
        $("bind").focus();
      } else if (reg.proof === "device_sms") {
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
export function showProof() {
  const bySms = state.proof === "device_sms" && state.registrationId && state.deviceSms;
  const byCarrier = ["firebase_pnv", "camara_nv"].includes(state.proof) && Boolean(state.registrationId);
  $("device-sms").hidden = !bySms;
  ui.otp.hidden = Boolean(bySms) || byCarrier;
  $("bind-form").querySelector('label[for="otp"]').hidden = Boolean(bySms) || byCarrier;
  if (bySms) $("device-sms-what").textContent = `Text “${state.deviceSms.text}” to ${state.deviceSms.to}.`;
}

export async function sendSms() {
  if (!state.registrationId || !state.deviceSms) return;
  await act("bind-log", "Sending the SMS from this phone", async () => {
    clearOutcomes("bind-result");
    try {
      await session.client.sendNumberProof(state.registration);
    } catch (e) {
      show("bind-result", refusal(asError(e), "Not sent"));
      announce(refusedText("SMS not sent", asError(e)));
    }
  });
}

/** Firebase (the dev issuer) verified the number with the carrier: say which, before the bind's answer. */
export function carrierVerified({ detail: { number } }) {
  const note = $("device-sms-sent");
  note.hidden = false;
  note.replaceChildren("Firebase verified ", el("code", { id: "carrier-number", text: number }), " with the carrier, for this bind only: its token is in the bind request below.");
}

/** The phone opened the operator's page over mobile data: say which number the network saw. */
export function operatorVerified({ detail: { number } }) {
  const note = $("device-sms-sent");
  note.hidden = false;
  note.replaceChildren("The operator saw ", el("code", { id: "operator-number", text: number }), " on its network and redirected to the service, which asked its Number Verification: the exchange is below.");
}

/** The stand-in network delivered the phone's SMS: show the sender it stamped. */
export function smsSent({ detail: { from, to, seen } }) {
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
  state.smsSent = true;
  refreshButtons();
  announce(`SMS delivered from ${from}: ${words}. Now bind this phone.`);
  $("bind").focus();
}

export async function bind(event) {
  event?.preventDefault();
  const otp = state.proof === "otp" || !state.proof ? ui.otp.value.trim() : undefined;
  if (!state.registrationId) {
    announce("Send a code first (step 1).");
    return;
  }
  await act("bind-log", "Binding this phone", async () => {
    // A new bind: a grant, an unbind or an attack shown before is stale.
    clearOutcomes("bind-result", "channel-result", "unbind-result", "attack-result");
    $("recover-result").hidden = true;
    // A phone binds with its own chip: a clone left in from an attack never is.
    const unclone = session.phone.state.chip === "clone";
    if (unclone) await session.phone.useRealChip();
    try {
      // The registration object carries its bind secret inside the client (device SMS).
      const registration = state.registration?.registrationId === state.registrationId ? state.registration : state.registrationId;
      const b = await session.client.completeBinding(registration, otp, { waitMs: 10000 });
      const provenBy = { otp: "a code texted to it", device_sms: "an SMS this phone sent", firebase_pnv: "the carrier (Firebase PNV), no SMS", camara_nv: "the operator (CAMARA Number Verification), no SMS" }[state.proof ?? "otp"];
      const previous = state.bindingId;
      Object.assign(state, { registration: null, registrationId: null, bindingId: b.bindingId, lastBindingId: b.bindingId, proof: null, deviceSms: null, smsSent: false, suspendedBy: null });
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
          unclone ? el("p", { class: "note", id: "unclone-note", text: "The cloned chip was taken out first: this phone binds with its own chip, never a clone." }) : null,
          el("dl", { class: "facts" },
            el("div", {}, el("dt", { text: "Binding id" }), el("dd", {}, el("code", { id: "binding-id", text: b.bindingId }))),
            el("div", {}, el("dt", { text: "Status" }), el("dd", {}, el("code", { text: b.status }))),
            el("div", {}, el("dt", { text: "Number proven by" }), el("dd", { id: "proven-by", text: provenBy })),
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

export function showGrant(g, payment) {
  clearInterval(session.grantTimer);
  const { header, claims } = decodeJwt(g.grant);
  const expiry = el("span", { class: "expiry", id: "grant-expiry" });
  const tick = () => {
    const left = g.expiresAt - Math.floor(Date.now() / 1000);
    if (left <= 0) {
      expiry.textContent = "expired: open the channel again for a new grant";
      expiry.classList.add("gone");
      clearInterval(session.grantTimer);
    } else {
      expiry.textContent = `expires in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    }
  };
  tick();
  session.grantTimer = setInterval(tick, 1000);
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
    offerRecovery();
  } else if (err.code === "binding_not_found") {
    // The server no longer knows this binding (its local KV was reset): start over.
    Object.assign(state, { bindingId: null, lastBindingId: null, bindingStatus: null });
    persist();
    refreshButtons();
  } else if (err.code === "sim_changed") {
    offerReverify("Did you change your SIM yourself? Re-verify your number with a new SMS code to move the binding to the SIM now in this phone.");
  }
}

export async function openChannel() {
  if (!state.bindingId) return;
  await act("channel-log", "Opening a secure channel", async () => {
    clearOutcomes("channel-result");
    $("recover").hidden = true;
    $("recover-result").hidden = true;
    try {
      const g = await session.client.verify(state.bindingId);
      showGrant(g);
      announce("Secure channel open: the edge issued a grant.");
    } catch (e) {
      clearInterval(session.grantTimer);
      const err = asError(e);
      show("channel-result", refusal(err));
      explainDenial(err);
      announce(refusedText("Secure channel refused", err));
    }
  });
}

export async function confirmPayment(event) {
  event.preventDefault();
  if (!state.bindingId) return;
  const amount = $("pay-amount").value.trim();
  const payee = $("pay-payee").value.trim();
  if (!/^\d{1,9}(\.\d{2})?$/.test(amount) || !payee) {
    announce("Enter an amount such as 42.00 and a payee.");
    return;
  }
  await act("channel-log", `Confirming a payment of ${amount} EUR to ${payee}`, async () => {
    clearOutcomes("channel-result");
    $("recover").hidden = true;
    $("recover-result").hidden = true;
    try {
      const txn = await paymentTransaction(amount, payee);
      const g = await session.client.verify(state.bindingId, txn);
      showGrant(g, { amount, payee, txn: b64url(txn) });
      announce(`Payment of ${amount} EUR to ${payee} confirmed: the grant is bound to it.`);
    } catch (e) {
      clearInterval(session.grantTimer);
      const err = asError(e);
      show("channel-result", refusal(err));
      explainDenial(err);
      announce(refusedText("Payment refused", err));
    }
  });
}
