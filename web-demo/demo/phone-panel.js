// The phone panel: the simulated phone's chip and SIM, and its SMS inbox.
import { $, API, el, session, shortKey, state, time } from "./page.js";

// ---------- the phone panel ----------

export function renderPhone() {
  const s = session.phone.state;
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
}

// ---------- SMS inbox ----------

let inboxSeen = -1;
let inboxTimer = 0;
let inboxBusy = false;

export async function refreshInbox() {
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

export function startInbox() {
  clearInterval(inboxTimer);
  inboxSeen = -1;
  $("inbox").replaceChildren();
  $("inbox-empty").hidden = false;
  $("inbox-count").textContent = "";
  if (!state.number) return;
  refreshInbox();
  inboxTimer = setInterval(refreshInbox, 3000);
}
