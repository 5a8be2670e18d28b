// The attacks panel: replay a captured request, a carrier-reported swap, and
// the phone changes (another SIM, a cloned chip), plus unbind and re-verify.
import { setBindingStatus } from "./audit.js";
import { $, act, announce, API, asError, el, refusal, refusedText, session, show, state, success, ui } from "./page.js";
import { sendCode, showGrant } from "./steps.js";

export async function replay() {
  const last = state.lastVerify;
  if (!last) {
    announce("Open a secure channel first: there is no request to replay yet.");
    return;
  }
  await act("channel-log", "Replaying the last verification request", async (exchanges) => {
    clearInterval(session.grantTimer);
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
export async function carrierSwap() {
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

export async function unbind() {
  if (!state.bindingId) return;
  await act("unbind-log", "Unbinding this phone", async () => {
    try {
      const u = await session.client.unbind(state.bindingId);
      clearInterval(session.grantTimer);
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

export async function reverify() {
  ui.number.value = state.number;
  // Move focus before hiding the focused button, so it is never lost to <body>.
  ui.number.focus();
  $("recover").hidden = true;
  await sendCode();
}

export function phoneAction(fn, words) {
  return act(null, "Changing the phone", async () => {
    await fn();
    announce(words());
  });
}
