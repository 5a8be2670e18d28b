// Seeds a running dev worker for scripts/schemathesis.sh: a live binding
// (bound and verified once by a software chip, so its audit trail has
// events), a pending registration of another number, and that number's
// outbox. Prints their ids as JSON: generated requests then reach real
// records, not only 404s. Usage: node tests/contract/seed.mjs URL
import { bindPhone, phone, subscriber } from "../lib/phone.mjs";

const url = process.argv[2]?.replace(/\/$/, "");
if (!url) {
  console.error("usage: node tests/contract/seed.mjs URL");
  process.exit(2);
}

async function otp(number) {
  const res = await fetch(`${url}/dev/outbox?phone_number=${encodeURIComponent(number)}`);
  if (!res.ok) throw new Error(`outbox: ${res.status} ${await res.text()}`);
  return (await res.json()).messages.filter((m) => m.kind === "otp").at(-1).text.match(/\d{6}/)[0];
}

const bound = subscriber();
const p = phone(url, { sim: bound.simA });
const { bindingId } = await bindPhone({ otp }, p, bound.number);
await p.client.verify(bindingId);

const pending = subscriber();
const res = await fetch(`${url}/v1/registrations`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ phone_number: pending.number }),
});
if (res.status !== 201) throw new Error(`registration: ${res.status} ${await res.text()}`);
const { registration_id: registrationId } = await res.json();

console.log(JSON.stringify({ binding_id: bindingId, registration_id: registrationId, phone_numbers: [bound.number, pending.number] }));
