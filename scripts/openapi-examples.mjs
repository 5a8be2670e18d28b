// Re-makes the signed examples of docs/openapi.yaml (the bind, verify and
// unbind bodies, the challenges and ids they name) from a real run against
// the dev worker, so they verify over today's transcript; every instant in
// the examples moves with them. Run after `make build` when the transcript
// or the challenge changes: `node scripts/openapi-examples.mjs`.
// tests/contract.test.mjs checks every signed example on every run.
import { readFileSync, writeFileSync } from "node:fs";
import { parse } from "yaml";
import { startWorker } from "../tests/lib/worker.mjs";
import { Bridge, SimBindClient, SoftwareBridge } from "../wasm-client/pkg/testing/node.js";

const file = new URL("../docs/openapi.yaml", import.meta.url);
const text = readFileSync(file, "utf8");
const doc = parse(text);

/** The example of `path`'s POST request body. */
const requestExample = (path) => doc.paths[path].post.requestBody.content["application/json"].example;
const responseExample = (path, status) => doc.paths[path].post.responses[status].content["application/json"].example;

const old = {
  registration: responseExample("/v1/registrations", "201"),
  bindChallenge: responseExample("/v1/registrations/{registration_id}/challenge", "200"),
  bind: requestExample("/v1/registrations/{registration_id}/binding"),
  verifyChallenge: responseExample("/v1/bindings/{binding_id}/challenge", "200"),
  verify: requestExample("/v1/bindings/{binding_id}/verify"),
  unbind: requestExample("/v1/bindings/{binding_id}/unbind"),
};
const number = old.bind.evidence.sim.msisdn;
const transaction = Buffer.from(old.verifyChallenge.transaction, "base64url");

// A fixed chip key, so re-running changes only what time changes.
const chip = SoftwareBridge.withKey(old.bind.evidence.chip.serial, new Uint8Array(32).fill(0x2a));
const { msisdn, iccid, imsi, subscription_id, slot_index, card_id, port_index, embedded, mcc, mnc } = old.bind.evidence.sim;
chip.insertSim({ msisdn, iccid, imsi, subscriptionId: subscription_id, slotIndex: slot_index, cardId: card_id, portIndex: port_index, embedded, mcc, mnc });

const w = await startWorker();
const seen = [];
try {
  const client = new SimBindClient(w.url, Bridge.fromObject(chip), "simbind-dev");
  client.onExchange((e) => seen.push(e));
  const { registrationId } = await client.startRegistration(number);
  const { bindingId } = await client.completeBinding(registrationId, await w.otp(number));
  await client.verify(bindingId, transaction);
  await client.unbind(bindingId);
} finally {
  await w.dispose();
}
const at = (suffix, nth = 0) => seen.filter((e) => e.url.endsWith(suffix))[nth];
const made = {
  registration: at("/v1/registrations").response,
  bindChallenge: at("/challenge", 0).response,
  bind: at("/binding").request,
  verifyChallenge: at("/challenge", 1).response,
  verify: at("/verify").request,
  unbind: at("/unbind").request,
};

// Old value → new value, for every string the signatures depend on.
const swaps = new Map([
  [old.registration.registration_id, made.registration.registration_id],
  [old.registration.challenge, made.registration.challenge],
  [old.bindChallenge.challenge, made.bindChallenge.challenge],
  [old.bind.evidence.challenge, made.bind.evidence.challenge],
  [old.bind.evidence.chip.public_key, made.bind.evidence.chip.public_key],
  [old.bind.evidence.chip_signature, made.bind.evidence.chip_signature],
  [old.verifyChallenge.challenge, made.verifyChallenge.challenge],
  [old.verify.challenge, made.verify.challenge],
  [old.verify.chip_signature, made.verify.chip_signature],
  [old.unbind.challenge, made.unbind.challenge],
  [old.unbind.chip_signature, made.unbind.chip_signature],
]);
// The binding id, named in the verify challenge.
const bindingIn = (challenge) => Buffer.from(challenge, "base64url").toString("latin1").match(/bnd_[A-Za-z0-9_-]{22}/)[0];
swaps.set(bindingIn(old.verify.challenge), bindingIn(made.verify.challenge));

// Every instant moves by as much as the registration's challenge did (its
// issue time: bytes 2..10 of the challenge, PROTOCOL.md §4).
const issued = (challenge) => Number(Buffer.from(challenge, "base64url").readBigUInt64BE(2));
const delta = issued(made.registration.challenge) - issued(old.registration.challenge);
let out = text;
for (const [from, to] of swaps) out = out.split(from).join(to);
out = out
  .replace(/\b17\d{11}\b/g, (ms) => String(Number(ms) + delta * 1000))
  .replace(/\b17\d{8}\b/g, (s) => {
    const n = Number(s) + delta;
    return String(Number(s) % 3600 === 0 ? n - (n % 3600) : n);
  });
writeFileSync(file, out);
console.log(`openapi.yaml: ${swaps.size} signed values re-made, instants moved by ${delta} s`);
