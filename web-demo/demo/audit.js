// The audit panel: the binding's trail as the dev route serves it, and the
// binding status it implies.
import { $, API, el, eventText, persist, PLAIN, renderExchanges, state, time } from "./page.js";

// ---------- audit timeline ----------

export async function refreshAudit(log = false) {
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
        el("span", { class: "ev-tags" }, el("code", { text: e.event }), e.ceremony ? el("code", { text: e.ceremony }) : null, e.code ? el("code", { class: "code", text: e.code }) : null, e.proof ? el("code", { class: "proof", title: "how the number was proven", text: e.proof }) : null),
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

export function setBindingStatus(status) {
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

export function offerReverify(text) {
  $("recover-text").textContent = text;
  $("recover").hidden = false;
}
