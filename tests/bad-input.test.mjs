// Bad input: every malformed request gets a problem+json 4xx with a stable
// code, never a 500, and leaves every object's storage and KV exactly as it was.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./lib/worker.mjs";
import { bindPhone, phone, subscriber } from "./lib/phone.mjs";

let w;
let bindingId;
let registrationId;
let good; // a well-formed verify body to corrupt field by field

before(async () => {
  w = await startWorker();
  const s = subscriber();
  const p = phone(w.url, { sim: s.simA });
  ({ bindingId } = await bindPhone(w, p, s.number));
  await p.client.verify(bindingId);
  good = p.lastRequest();
  ({ registrationId } = await p.client.startRegistration(subscriber().number));
});
after(() => w.dispose());

/** Sends a raw request; asserts the problem status and code, and that nothing stored changed. */
async function refused(path, body, status, code, headers = { "content-type": "application/json" }) {
  const before = await w.dump();
  const res = await fetch(w.url + path, { method: "POST", headers, body });
  const text = await res.text();
  assert.equal(res.status, status, `${path} ${text}`);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const problem = JSON.parse(text);
  assert.equal(problem.code, code, text);
  assert.equal(problem.status, status);
  assert.deepEqual(await w.dump(), before, "nothing stored");
  return problem;
}

const verifyPath = () => `/v1/bindings/${bindingId}/verify`;
const withField = (patch) => JSON.stringify({ ...good, ...patch });
const withChip = (patch) => withField({ chip: { ...good.chip, ...patch } });
const withSim = (patch) => withField({ sim: { ...good.sim, ...patch } });

test("malformed JSON", async () => {
  await refused(verifyPath(), "{not json", 400, "malformed_json");
  await refused(verifyPath(), "", 400, "malformed_json");
  await refused("/v1/registrations", '{"phone_number": "+447700900123"', 400, "malformed_json");
});

test("wrong types, unknown and missing fields", async () => {
  await refused("/v1/registrations", JSON.stringify({ phone_number: 447700900123 }), 400, "invalid_field");
  await refused("/v1/registrations", JSON.stringify([]), 400, "invalid_field");
  await refused("/v1/registrations", JSON.stringify({ phone_number: "+447700900123", admin: true }), 400, "unknown_field");
  await refused("/v1/registrations", JSON.stringify({}), 400, "missing_field");
  await refused(verifyPath(), withField({ counter: "7" }), 400, "invalid_field");
  await refused(verifyPath(), withField({ counter: -1 }), 400, "invalid_field");
  await refused(verifyPath(), withField({ counter: 2 ** 53 }), 400, "out_of_range");
  await refused(verifyPath(), withChip({ extra: 1 }), 400, "unknown_field");
});

test("a body that is a JSON array, not an object, is invalid_field (serde would read it as the fields in order)", async () => {
  await refused("/v1/registrations", JSON.stringify(["+447700900123"]), 400, "invalid_field");
  await refused(`/v1/bindings/${bindingId}/challenge`, JSON.stringify(["verify"]), 400, "invalid_field");
  await refused(`/v1/registrations/${registrationId}/binding`, " []", 400, "invalid_field");
  await refused(verifyPath(), JSON.stringify(Object.values(good)), 400, "invalid_field");
});

test("oversized bodies are 413, wrong content types 415", async () => {
  const huge = JSON.stringify({ phone_number: "+447700900123", pad: "x".repeat(9000) });
  await refused("/v1/registrations", huge, 413, "body_too_large");
  await refused(verifyPath(), withField({ chip_signature: "A".repeat(9000) }), 413, "body_too_large");
  // F12: a bind body carries the documented 16 KiB attestation (40 KiB in all), and no more.
  const keyId = Buffer.alloc(32, 7).toString("base64url");
  const bind = (attestation) => JSON.stringify({ otp: "123456", evidence: { ...good, chip: { format: "apple-appattest", key_id: keyId, attestation } } });
  const largest = bind(Buffer.alloc(16 * 1024, 0xa0).toString("base64url"));
  assert.ok(largest.length > 22_000);
  const res = await w.post(`/v1/registrations/${registrationId}/binding`, largest);
  assert.notEqual(res.status, 413, "the largest attestation fits the bind body");
  assert.equal(res.status < 500, true);
  await refused(`/v1/registrations/${registrationId}/binding`, bind("A".repeat(41 * 1024)), 413, "body_too_large");
  await refused("/v1/registrations", '{"phone_number":"+447700900123"}', 415, "unsupported_media_type", { "content-type": "text/plain" });
  await refused("/v1/registrations", '{"phone_number":"+447700900123"}', 415, "unsupported_media_type", {});
});

test("bad base64, invalid curve points, wrong signature lengths", async () => {
  await refused(verifyPath(), withField({ chip_signature: "not*base64" }), 400, "invalid_base64");
  await refused(verifyPath(), withField({ chip_signature: good.chip_signature + "==" }), 400, "invalid_base64");
  await refused(verifyPath(), withField({ challenge: "%%%" }), 400, "invalid_base64");
  const notOnCurve = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString("base64url");
  await refused(verifyPath(), withChip({ public_key: notOnCurve }), 400, "invalid_public_key");
  await refused(verifyPath(), withChip({ public_key: Buffer.from([0]).toString("base64url") }), 400, "invalid_public_key");
  await refused(verifyPath(), withChip({ public_key: Buffer.concat([Buffer.from([2]), Buffer.alloc(32, 0xff)]).toString("base64url") }), 400, "invalid_public_key");
  await refused(verifyPath(), withField({ chip_signature: Buffer.alloc(63, 1).toString("base64url") }), 400, "invalid_signature_encoding");
  await refused(verifyPath(), withField({ chip_signature: Buffer.alloc(72, 1).toString("base64url") }), 400, "invalid_signature_encoding");
  await refused(verifyPath(), withField({ chip_signature: Buffer.alloc(64, 0).toString("base64url") }), 400, "invalid_signature_encoding");
});

test("invalid ICCID (Luhn), IMSI, EID (mod 97), MCC/MNC, SIM indexes, E.164, serial, format", async () => {
  const badLuhn = good.sim.iccid.slice(0, -1) + ((Number(good.sim.iccid.at(-1)) + 1) % 10);
  await refused(verifyPath(), withSim({ iccid: badLuhn }), 400, "invalid_iccid_checksum");
  await refused(verifyPath(), withSim({ iccid: "12345" }), 400, "invalid_iccid");
  await refused(verifyPath(), withSim({ imsi: "999150000000001" }), 400, "invalid_imsi");
  await refused(verifyPath(), withSim({ msisdn: "07700900123" }), 400, "invalid_phone_number");
  await refused(verifyPath(), withSim({ eid: "89049032001234567890123456789058" }), 400, "invalid_eid_checksum");
  await refused(verifyPath(), withSim({ eid: "8904903200123456789012345678905" }), 400, "invalid_eid");
  await refused(verifyPath(), withSim({ mcc: "999" }), 400, "invalid_mcc_mnc");
  await refused(verifyPath(), withSim({ mnc: "1" }), 400, "invalid_mcc_mnc");
  await refused(verifyPath(), withSim({ mnc: undefined }), 400, "invalid_mcc_mnc");
  await refused(verifyPath(), withSim({ slot_index: 16 }), 400, "out_of_range");
  await refused(verifyPath(), withSim({ subscription_id: 2 ** 31 }), 400, "out_of_range");
  await refused(verifyPath(), withSim({ card_id: -1 }), 400, "invalid_field");
  await refused(verifyPath(), withSim({ embedded: "yes" }), 400, "invalid_field");
  await refused(verifyPath(), withSim({ slot: 0 }), 400, "unknown_field");
  await refused(verifyPath(), withChip({ serial: "no spaces allowed" }), 400, "invalid_chip_serial");
  await refused(verifyPath(), withChip({ format: "tpm-2" }), 400, "unsupported_attestation_format");
  await refused(verifyPath(), withChip({ format: "android-key" }), 400, "invalid_chip_shape");
  // A field the chip's format requires, left out: still the shape (docs/API.md, the chip object).
  await refused(verifyPath(), withChip({ serial: undefined }), 400, "invalid_chip_shape");
  await refused(verifyPath(), withChip({ public_key: undefined }), 400, "invalid_chip_shape");
  await refused("/v1/registrations", JSON.stringify({ phone_number: "+44 7700 900123" }), 400, "invalid_phone_number");
  // Too short for a UK mobile number (8 national digits, not 10): refused before any SMS.
  // (A SIM's own msisdn keeps the E.164 form check only: it is compared, not texted.)
  await refused("/v1/registrations", JSON.stringify({ phone_number: "+4477009001" }), 400, "invalid_phone_number");
});

test("bad ids and OTP shapes", async () => {
  await refused("/v1/bindings/bnd_short/verify", JSON.stringify(good), 400, "invalid_id");
  await refused(`/v1/bindings/${bindingId}/challenge`, JSON.stringify({ ceremony: "bind" }), 400, "out_of_range");
  const bind = JSON.stringify({ otp: "12ab56", evidence: good });
  await refused(`/v1/registrations/${registrationId}/binding`, bind, 400, "invalid_otp_format");
  // A wrong (well-formed) code with malformed evidence: refused before the code is
  // checked, so no attempt is counted.
  const badEvidence = JSON.stringify({ otp: "000000", evidence: { ...good, chip_signature: "AAAA" } });
  await refused(`/v1/registrations/${registrationId}/binding`, badEvidence, 400, "invalid_signature_encoding");
});

test("the dev outbox refuses a malformed number, and none or two (openapi.yaml: missing_field)", async () => {
  const res = await fetch(`${w.url}/dev/outbox?phone_number=12`);
  assert.equal(res.status, 400);
  assert.equal((await res.json()).code, "invalid_phone_number");
  const n = encodeURIComponent("+447700900123");
  for (const query of ["", `?phone_number=${n}&phone_number=${n}`, `?phone_number=${n}&phone_number=12`]) {
    const answer = await fetch(`${w.url}/dev/outbox${query}`);
    assert.equal(`${answer.status} ${(await answer.json()).code}`, "400 missing_field", query);
  }
  assert.equal((await fetch(`${w.url}/dev/outbox?phone_number=${n}&other=1`)).status, 200, "other parameters are ignored");
});
