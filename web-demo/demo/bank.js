// The bank's backend panel: the security events the service pushed for this
// binding (Shared Signals: signed SETs, here taken by the dev receiver and
// read back through GET /dev/ssf/events), newest first, each in words, then
// decoded (header and claims) beside the raw token as it travelled. The page
// decodes the token only to show it; the signature is checked by the tests'
// receiver (tests/lib/ssf-receiver.mjs), as a bank's would.
import { $, API, el, PLAIN, state, time } from "./page.js";

let timer;

/** Polls the dev receiver every two seconds, while the page is open. */
export function startBankPanel() {
  clearInterval(timer);
  refreshBank().catch(() => {});
  timer = setInterval(() => refreshBank().catch(() => {}), 2000);
}

function decodePart(part) {
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, "=")), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

/** A SET's event in words. */
function eventWords(type, event) {
  const kind = type.split("/").at(-1);
  if (kind === "credential-change") {
    return {
      create: "Binding created: this phone's chip and SIM now carry the number",
      update: "Re-bound to a new SIM (the number proven again)",
      delete: "Unbound by the phone",
      revoke: "Revoked by an operator",
    }[event.change_type] || `Credential ${event.change_type}`;
  }
  if (kind === "risk-level-change") {
    if (event.current_level === "LOW") return "Risk back to LOW: the suspension was lifted";
    const why = PLAIN[event.risk_reason] ? ` (${event.risk_reason})` : "";
    return `Risk HIGH: the binding is suspended${why}`;
  }
  if (kind === "takeover-refused") return `Someone tried to take the number over: refused (${event.reason})`;
  if (kind === "carrier-subscription-ended") return "The carrier ended its SIM-swap watch (a new one was made)";
  return kind;
}

export async function refreshBank() {
  const id = state.lastBindingId;
  const list = $("bank-events");
  if (!id) {
    list.replaceChildren();
    $("bank-hint").textContent = "Bind the phone: every change to its binding is pushed here, signed.";
    return;
  }
  const res = await fetch(`${API}/dev/ssf/events`, { cache: "no-store" });
  if (!res.ok) {
    $("bank-hint").textContent = `The bank's backend is unavailable (HTTP ${res.status}).`;
    return;
  }
  const { events } = await res.json();
  const mine = events
    .map((e) => {
      const [h, c] = e.token.split(".");
      return { ...e, header: decodePart(h), claims: decodePart(c) };
    })
    .filter((e) => e.claims?.sub_id?.id === id)
    .reverse();
  if (list.childElementCount === mine.length) return;
  $("bank-hint").textContent = mine.length
    ? `${mine.length} event${mine.length === 1 ? "" : "s"} pushed for ${id}, newest first.`
    : "No event yet for this binding.";
  list.replaceChildren(
    ...mine.map((e) => {
      const [type, event] = Object.entries(e.claims.events || {})[0] || ["", {}];
      const level = event.current_level === "HIGH" || type.endsWith("takeover-refused") ? "risk" : "info";
      return el(
        "li",
        { class: `set set-${level}`, "data-type": type.split("/").at(-1), "data-change": event.simbind_change },
        el("time", { datetime: new Date(e.at).toISOString(), text: time(e.at) }),
        el("span", { class: "ev-text", text: eventWords(type, event) }),
        el(
          "details",
          { class: "set-detail" },
          el("summary", { text: `Signed event (${e.header?.alg}, ${e.header?.typ})` }),
          el("div", { class: "set-cols" },
            el("pre", { class: "set-decoded", text: JSON.stringify({ header: e.header, claims: e.claims }, null, 2) }),
            el("code", { class: "set-raw", text: e.token })),
        ),
      );
    }),
  );
}
