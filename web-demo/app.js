// The SimBind demo page: drives the wasm client (the same package an app
// ships) against the edge worker served on this origin, with the simulated
// phone of phone.js as its native bridge. No protocol encoding happens here:
// each panel is a module under demo/; this file starts them.
import init, { Bridge, SimBindClient } from "./vendor/simbind-client/index.js";
import { openPhone } from "./phone.js";
import { carrierSwap, phoneAction, replay, reverify, unbind } from "./demo/attacks.js";
import { refreshAudit, setBindingStatus } from "./demo/audit.js";
import { startBankPanel } from "./demo/bank.js";
import { $, announce, API, AUDIENCE, idle, path, SAVED, session, state, ui } from "./demo/page.js";
import { renderPhone, startInbox } from "./demo/phone-panel.js";
import { bind, carrierVerified, confirmPayment, operatorVerified, openChannel, refreshButtons, sendCode, sendSms, showProof, smsSent } from "./demo/steps.js";

// ---------- start ----------

async function main() {
  ui.number.value = state.number || `+447700900${String(Math.floor(Math.random() * 1000)).padStart(3, "0")}`;
  try {
    [session.phone] = await Promise.all([openPhone(), init()]);
  } catch (e) {
    announce(`The demo could not start: ${e.message || e}. It needs a browser with WebAssembly, WebCrypto and IndexedDB.`);
    throw e;
  }
  session.client = new SimBindClient(API, Bridge.fromObject(session.phone.bridge), AUDIENCE);
  session.client.onExchange((exchange) => {
    session.current?.push(exchange);
    if (exchange.method === "POST" && /\/v1\/bindings\/[^/]+\/verify$/.test(path(exchange.url))) {
      state.lastVerify = { url: exchange.url, request: exchange.request };
    }
  });
  session.phone.addEventListener("change", () => {
    renderPhone();
    refreshButtons();
  });
  session.phone.addEventListener("sms-sent", smsSent);
  session.phone.addEventListener("carrier-verified", carrierVerified);
  session.phone.addEventListener("operator-verified", operatorVerified);
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
    phoneAction(() => session.phone.swapSim(), () => `The number is now on SIM ${session.phone.state.slot}, a new subscription for the phone. Open a secure channel to see what the edge says.`));
  $("clone-chip").addEventListener("click", () =>
    phoneAction(() => session.phone.useClonedChip(), () => "A cloned chip (another key, same serial, high counter) is now in the phone. Open a secure channel."));
  $("restore").addEventListener("click", () =>
    phoneAction(() => session.phone.restore(), () => "Back to the real chip and SIM A."));
  $("replay").addEventListener("click", replay);
  $("carrier-swap").addEventListener("click", carrierSwap);
  for (const slot of ["A", "B"]) {
    $(`sim-${slot}`).addEventListener("change", () => phoneAction(() => session.phone.insertSim(slot), () => `The app now reads SIM ${slot}.`));
  }
  $("reset").addEventListener("click", async () => {
    await idle();
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
  startBankPanel();
  try {
    await refreshAudit();
  } catch {
    announce("The audit trail could not be loaded.");
  }
  refreshButtons(); // the trail tells whether the binding is suspended
  document.body.classList.add("ready");
  announce(state.bindingId ? `This phone is bound to ${state.number}. Open a secure channel (step 3).` : "Ready. Enter your number and send a code (step 1).");
}

main();
