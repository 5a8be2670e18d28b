// The attacks panel: replay a captured request, a carrier-reported swap, and
// the phone changes (another SIM, a cloned chip), each answered under the
// attack buttons; plus unbind and re-verify.
import { setBindingStatus } from "./audit.js";
import { $, act, announce, API, asError, clearOutcomes, el, notice, refusal, refusedText, session, show, state, success, ui } from "./page.js";
import { sendCode } from "./steps.js";

export async function replay() {
  const last = state.lastVerify;
  if (!last) {
    announce("Open a secure channel first: there is no request to replay yet.");
    return;
  }
  await act("attack-log", "Replaying the last verification request", async (exchanges) => {
    // The grant step 3 showed belongs to the request being replayed: stale now.
    clearOutcomes("attack-result", "channel-result");
    $("recover").hidden = true;
    try {
      const res = await fetch(last.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(last.request) });
      const body = await res.json();
      exchanges.push({ method: "POST", url: last.url, request: last.request, status: res.status, response: body });
      if (res.ok) {
        show("attack-result", success("The replayed request was accepted.", el("p", {}, "The edge issued another grant for a request it had already answered: this should never happen.")));
        announce("The replayed request was accepted.");
      } else {
        const err = { code: body.code, status: res.status, source: "server", detail: body.detail };
        show("attack-result", refusal(err, "Replay refused"));
        announce(refusedText("Replayed request refused", err));
      }
    } catch (e) {
      show("attack-result", refusal({ code: "network_error", status: 0, source: "client", detail: String(e.message || e) }, "Replay failed"));
    }
  });
}

/**
 * The dev carrier swaps this number's SIM, as a criminal's SIM-swap fraud
 * would at the operator, and pushes it to SimBind's subscription sink.
 */
export async function carrierSwap() {
  if (!state.number) return;
  await act("attack-log", "The carrier reports a SIM swap", async (exchanges) => {
    clearOutcomes("attack-result", "channel-result");
    const url = `${API}/dev/carrier/swap`;
    const request = { phone_number: state.number };
    try {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) });
      const body = await res.json();
      exchanges.push({ method: "POST", url, request, status: res.status, response: body });
      if (!res.ok) {
        show("attack-result", refusal({ code: body.code, status: res.status, source: "server", detail: body.detail }, "The stand-in carrier is not available on this server"));
        announce(`The stand-in carrier is not available on this server (HTTP ${res.status}).`);
      } else if (body.notified > 0) {
        show(
          "attack-result",
          notice(
            "Binding suspended: the operator reported a SIM swap.",
            el("p", { id: "carrier-swap-cause" }, `At the mobile operator, ${state.number} moved to a new SIM, and the operator told SimBind through its subscription. SimBind suspended the binding at once (before the phone did anything), texted the number and pushed a signed event to the bank (step 5).`),
            el("p", {}, "Every secure channel, payment and unbind is now refused (", el("code", { text: "binding_suspended" }), "); re-binding is refused (", el("code", { text: "carrier_sim_swapped" }), ") until the swap is 10 days old, or an operator restores it. Step 3 says what the owner can do."),
          ),
        );
        announce("The carrier told SimBind this number's SIM was swapped: the binding is suspended, before the phone does anything.");
      } else {
        show("attack-result", notice("The carrier recorded a SIM swap, but held no subscription for this number yet.", el("p", {}, "SimBind finds out at the next bind, or when the subscription is made.")));
        announce("The carrier recorded a SIM swap, but held no subscription for this number yet: SimBind finds out at the next bind.");
      }
    } catch (e) {
      show("attack-result", refusal({ code: "network_error", status: 0, source: "client", detail: String(e.message || e) }, "The stand-in carrier could not be reached"));
      announce(`The stand-in carrier could not be reached: ${e.message || e}`);
    }
  });
}

export async function unbind() {
  if (!state.bindingId) return;
  await act("unbind-log", "Unbinding this phone", async () => {
    clearOutcomes("unbind-result");
    try {
      const u = await session.client.unbind(state.bindingId);
      Object.assign(state, { bindingId: null, registration: null, registrationId: null, lastVerify: null });
      setBindingStatus("revoked");
      // The binding has ended: its "Bound.", grant and attacks are history.
      clearOutcomes("bind-result", "channel-result", "attack-result");
      $("recover").hidden = true;
      show("unbind-result", success("Unbound.", el("p", {}, "Binding ", el("code", { text: u.bindingId }), " is now ", el("code", { id: "unbind-status", text: u.status }), ". This phone no longer holds the number; register again to bind it.")));
      announce("Unbound. Register again to bind this phone.");
      // The next step is step 1's number; the viewport stays on this result (a phone-width screen).
      ui.number.focus({ preventScroll: true });
    } catch (e) {
      const err = asError(e);
      show("unbind-result", refusal(err, "Not unbound"));
      announce(refusedText("Not unbound", err));
    }
  });
}

/** Re-registers the number from step 3's recovery box; says there what happened, and moves on to the code (step 2). */
export async function reverify() {
  ui.number.value = state.number;
  const line = $("recover-result");
  line.hidden = true;
  await sendCode();
  const sent = $("register-result").querySelector(".ok");
  line.textContent = sent ? `${sent.querySelector(".outcome-title").textContent.replace(/^✓/, "")} Go on in step 2 (above) to bind again.` : "Not sent: step 1 says why.";
  line.hidden = false;
}

/** A change to the phone (SIM, chip): said under the attack buttons; a grant shown before it is stale. */
export function phoneAction(fn, words) {
  return act(null, "Changing the phone", async () => {
    clearOutcomes("attack-result", "channel-result");
    if (state.bindingStatus !== "suspended") $("recover").hidden = true; // it answered the refusal before the change
    await fn();
    const text = words();
    show("attack-result", el("p", { class: "attack-line", text }));
    announce(text);
  });
}
