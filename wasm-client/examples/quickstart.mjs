// Try SimBind without a phone: a simulated chip (the package's `testing`
// entry, never for production) against `make dev` on this machine. In dev
// no SMS leaves the worker: the code lands in the dev outbox
// (GET /dev/outbox?phone_number=…), where this script reads it.
import { Bridge, SimBindClient, SoftwareBridge } from "@simbind/client/testing";

const url = process.env.SIMBIND_URL ?? "http://127.0.0.1:8787"; // `make dev`
const number = process.env.SIMBIND_NUMBER ?? "+447700900123";

const phone = new SoftwareBridge("CHIP-QUICKSTART");
// What an ordinary Android app reads of its SIM (make dev's SIM_LEVEL is `device`).
phone.insertSim({ subscriptionId: 1, slotIndex: 0, cardId: 0, portIndex: 0, embedded: false, mcc: "234", mnc: "15" });
const client = new SimBindClient(url, Bridge.fromObject(phone), "simbind-dev"); // the deployment's AUDIENCE

const { registrationId } = await client.startRegistration(number);
const outbox = await (await fetch(`${url}/dev/outbox?phone_number=${encodeURIComponent(number)}`)).json();
const code = outbox.messages.filter((m) => m.kind === "otp").at(-1).text.slice(0, 6);
const { bindingId } = await client.completeBinding(registrationId, code);

const { grant } = await client.verify(bindingId); // send `grant` to your backend
const payment = await crypto.subtle.digest("SHA-256", new TextEncoder().encode("pay 42.00 EUR to ACME Ltd"));
const paid = await client.verify(bindingId, payment); // its grant's `txn` is this digest

phone.insertSim({ subscriptionId: 2, slotIndex: 0, cardId: 0, portIndex: 0, embedded: false, mcc: "234", mnc: "15" });
let refused;
try {
  await client.verify(bindingId);
} catch (e) {
  refused = e.code; // "sim_changed": another SIM in the bound phone
}
phone.insertSim({ subscriptionId: 1, slotIndex: 0, cardId: 0, portIndex: 0, embedded: false, mcc: "234", mnc: "15" }); // the bound SIM again
const unbound = await client.unbind(bindingId);
console.log(JSON.stringify({ bindingId, grant, paid: paid.grant, refused, unbound: unbound.status }));
