// The audit panel: the binding's trail as the dev route serves it, the
// binding status (and the cause of a suspension) it implies, and the way out
// of a suspension the service supports.
import { $, API, byCarrier, el, eventText, persist, renderExchanges, state, time } from "./page.js";

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
  const tallies = (body.tallies || []).map((t) => ({ at: t.last_at, event: t.event, code: t.code, count: t.count, tally: true }));
  const items = [...events, ...tallies].sort((a, b) => a.at - b.at);
  // One count for the rows shown: a tally is one row, however many refusals it counts.
  const counted = tallies.length ? ` (refusals nobody authenticated are counted per hour, one row each)` : "";
  $("audit-hint").textContent = `Binding ${id}: ${items.length} entr${items.length === 1 ? "y" : "ies"}, oldest first${counted}.`;
  $("timeline").replaceChildren(
    ...items.map((e) =>
      el(
        "li",
        { class: `event ev-${e.event}`, "data-event": e.event, "data-code": e.code },
        el("time", { datetime: new Date(e.at).toISOString(), text: time(e.at) }),
        el("span", { class: "ev-text" }, e.tally && e.count > 1 ? `${e.count} × ` : "", eventText(e)),
        el("span", { class: "ev-tags" }, el("code", { text: e.event }), e.ceremony ? el("code", { text: e.ceremony }) : null, e.code ? el("code", { class: "code", text: e.code }) : null, e.proof ? el("code", { class: "proof", title: "how the number was proven", text: e.proof }) : null),
      ),
    ),
  );
  updateBindingStatus(events);
}

/** The binding's status, and what suspended it, as its audit trail tells it. */
function updateBindingStatus(events) {
  let status = state.bindingStatus;
  let cause = state.suspendedBy;
  for (const e of events) {
    if (e.event === "bound" || e.event === "rebound" || e.event === "verified" || e.event === "reinstated") [status, cause] = ["active", null];
    else if (e.event === "suspended") [status, cause] = ["suspended", e.code ?? null];
    else if (e.event === "unbound" || e.event === "revoked" || e.event === "replaced") [status, cause] = ["revoked", null];
  }
  state.suspendedBy = cause;
  setBindingStatus(status);
}

export function setBindingStatus(status) {
  state.bindingStatus = status;
  if (status !== "suspended") state.suspendedBy = null;
  persist();
  const badge = $("binding-badge");
  badge.hidden = !status || !state.bindingId;
  badge.className = `binding-badge ${status || ""}`;
  badge.textContent = { active: "Binding active", suspended: "Binding suspended", revoked: "Unbound" }[status] || "";
  if (status === "suspended" && state.bindingId) offerRecovery();
}

/** The suspension's way out, by its cause: re-verifying, or (after a carrier-reported swap) waiting or an operator. */
export function offerRecovery() {
  if (byCarrier(state.suspendedBy)) {
    const what = state.suspendedBy === "carrier_sim_swapped" ? "this number's SIM was replaced (a SIM swap)" : "this number moved to another device";
    offerReverify(
      [
        el("p", { class: "recover-cause" }, `The mobile operator reported that ${what}, so the binding was suspended at once: every secure channel, payment and unbind is refused (`, el("code", { text: "binding_suspended" }), ")."),
        el("p", {}, "If it was you, there are two ways out:"),
        el("ul", { class: "ways" },
          el("li", { class: "way-wait" }, "Wait, as the alert SMS says: re-registering with a new SMS code is refused (", el("code", { text: "carrier_sim_swapped" }), ") until the swap is older than the operator's window (", el("code", { text: "CARRIER_MAX_AGE_HOURS" }), ", 10 days here); after that it restores the binding."),
          el("li", { class: "way-operator" }, "Or ask support: after checking with you, an operator lifts the suspension at once (", el("code", { text: "POST /v1/admin/bindings/{id}/reinstate" }), ") or ends the binding (", el("code", { text: "…/revoke" }), ").")),
        el("p", {}, "If it was not you, call your mobile operator now: a stolen number looks exactly like this."),
      ],
      { label: "Re-verify anyway (refused while the swap is recent)", primary: false },
    );
  } else {
    offerReverify([el("p", { class: "recover-cause", text: "The binding is suspended after repeated failed checks from this phone: every secure channel, payment and unbind is refused. Prove you still own the number with a new SMS code, using this phone and the SIM now in it." })]);
  }
}

/** Shows the recovery box of step 3: what happened (`words`, text or nodes) and the re-verify button, labelled as what it will do. */
export function offerReverify(words, { label = "Re-verify my number", primary = true } = {}) {
  $("recover-text").replaceChildren(...(typeof words === "string" ? [el("p", { class: "recover-cause", text: words })] : words));
  const button = $("reverify");
  button.textContent = label;
  button.className = primary ? "btn primary" : "btn";
  $("recover").hidden = false;
}
