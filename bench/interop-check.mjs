// Cross-check of the reference worker (bench/reference-worker.mjs) against the
// real one (the dev build, edge-worker/build-dev, in Miniflare as the tests run
// it): a challenge issued by either is accepted by the other's verify for the
// same binding, so the challenge format, key id, HMAC key, transcript and id
// hashes are the same; and both publish the same JWKS. Not a benchmark; it
// prints what it checked and exits non-zero on a difference.
//
//   node bench/interop-check.mjs
import { startWorker } from "../tests/lib/worker.mjs";
import { bindPhone, phone, signedEvidence, subscriber, wireSim } from "../tests/lib/phone.mjs";
import { startReference } from "./reference.mjs";

const json = { "content-type": "application/json" };
const post = async (url, body, headers = {}) => {
  const res = await fetch(url, { method: "POST", headers: { ...json, ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
};

const real = await startWorker();
const ref = await startReference();
let failed = false;
const check = (ok, what, detail = "") => { console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? `: ${detail}` : ""}`); failed ||= !ok; };
try {
  const s = subscriber();
  const p = phone(real.url, { sim: s.simA });
  const { bindingId } = await bindPhone(real, p, s.number); // the chip counter is now 1
  const chip = p.device.chipInfo();
  const seeded = await post(`${ref.url}/v1/ref/seed`, {
    binding_id: bindingId, chip: { format: chip.format, serial: chip.serial, public_key: chip.publicKey }, sim: wireSim(p.device.simInfo()), counter: 1,
  }, { authorization: "Bearer dev-only-admin-token" });
  check(seeded.status === 201, "reference seeded with the real binding's id, chip and SIM");

  const grants = []; // [reference's, real's]
  for (const [from, to, name] of [[real, ref, "real challenge → reference verify"], [ref, real, "reference challenge → real verify"]]) {
    const ch = await post(`${from.url}/v1/bindings/${bindingId}/challenge`, { ceremony: "verify" });
    const evidence = await signedEvidence(p.device, ch.body, "verify", bindingId);
    const res = await post(`${to.url}/v1/bindings/${bindingId}/verify`, evidence);
    check(res.status === 200 && typeof res.body.grant === "string", name, `${res.status} ${res.body.code ?? res.body.token_type}`);
    grants.push(res.body);
  }
  const shape = ({ grant, ...rest }) => {
    const [h, c] = grant.split(".").slice(0, 2).map((x) => JSON.parse(Buffer.from(x, "base64url")));
    return `response {${Object.keys(rest)}} header ${JSON.stringify(h)} claims {${Object.keys(c)}}`;
  };
  check(shape(grants[0]) === shape(grants[1]), "same verify response and grant layout", shape(grants[0]));
  const [a, b] = await Promise.all([real, ref].map(async (w) => (await fetch(`${w.url}/.well-known/jwks.json`)).json()));
  check(JSON.stringify(a) === JSON.stringify(b), "same JWKS", JSON.stringify(b.keys.map((k) => k.kid)));
  const [ra, rb] = await Promise.all([real, ref].map(async (w) => {
    const ch = await post(`${w.url}/v1/bindings/${bindingId}/challenge`, { ceremony: "verify", transaction: "f0uflq6I8cHh5RKHYObZUNl1_rOHwy5BDKcXInTQkAY" });
    return Object.keys(ch.body).sort().join(",");
  }));
  check(ra === rb, "same challenge response fields", rb);
} finally {
  await ref.dispose();
  await real.dispose();
}
process.exit(failed ? 1 : 0);
