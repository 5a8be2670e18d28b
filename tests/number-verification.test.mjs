// The CAMARA Number Verification proof in workerd, against a stand-in
// operator that checks every request as the published definition and the
// CAMARA security profile say: the phone opens the worker's authorization
// URL over mobile data, the operator authenticates it by its data session
// and redirects to the worker's callback, where the service redeems the
// code and asks /verify itself; the bind then needs nothing more. Replayed
// callbacks are answered once (also in parallel), a number the operator
// does not see is refused, and only the operator's own "cannot help" lets a
// bank that requires a carrier proof fall back to an SMS proof.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./lib/worker.mjs";
import { phone, refusal, subscriber } from "./lib/phone.mjs";
import { checkGrant } from "./lib/grant.mjs";
import { clientKey } from "./lib/carrier.mjs";
import { cellular, standInOperator } from "./lib/nv-operator.mjs";

const CALLBACK = "/v1/carrier/number-verification/callback";
const key = clientKey();
let op;
let w;

before(async () => {
  op = await standInOperator({ clientId: "bank-nv", publicKey: key.publicKey });
  w = await startWorker({ bindings: op.bindings({ scalar: key.scalar }) });
  op.registerRedirect(w.url + CALLBACK);
});
after(async () => {
  await w.dispose();
  await op.close();
});

/** A phone whose data session the network sees as `seenAs` (none: on Wi-Fi). */
function nvPhone(world, s, { seenAs = s.number, hops = [] } = {}) {
  return phone(world.url, { sim: s.simA, openOverCellular: cellular(seenAs, { seen: hops }) });
}

test("the operator proves the number over the phone's data session: no SMS, the grant and the trail name camara_nv", async () => {
  const s = subscriber();
  const hops = [];
  const p = nvPhone(w, s, { hops });
  const registration = await p.client.startRegistration(s.number, { proof: "camara_nv" });
  assert.equal(registration.proof, "camara_nv");
  const started = Date.now();
  const bound = await p.client.completeBinding(registration);
  const ms = Date.now() - started;
  assert.equal(bound.status, "active");
  assert.deepEqual(await w.outbox(s.number), [], "no SMS either way");
  // authorize (operator) → 302 → callback (worker): the service asked the operator itself.
  assert.deepEqual(hops.map((h) => h.status), [302, 200]);
  assert.ok(hops[1].url.startsWith(w.url + CALLBACK));
  const paths = op.requests.map((r) => `${r.method} ${r.path}`);
  for (const want of ["GET /.well-known/openid-configuration", "GET /authorize", "POST /token", "POST /number-verification/v2/verify"]) {
    assert.ok(paths.includes(want), want);
  }
  const bind = p.exchanges.at(-1).request;
  assert.equal(bind.otp ?? bind.bind_secret ?? bind.firebase_pnv_token, undefined, "the bind carries no proof of its own");
  const { grant } = await p.client.verify(bound.bindingId);
  await checkGrant(w.url, grant, { sub: bound.bindingId, numberProof: "camara_nv" });
  assert.equal((await w.audit(bound.bindingId)).find((e) => e.event === "bound").proof, "camara_nv");
  assert.deepEqual(op.problems, []);
  console.log(`# camara_nv bind: ${ms} ms (challenge, authorization, operator, callback, bind)`);
});

/** A phone whose bridge follows the operator's redirect but not the one to the callback (captured), and tells the client "verified". */
function capturingPhone(world, s) {
  const p = phone(world.url, {
    sim: s.simA,
    openOverCellular: async (url) => {
      const res = await fetch(url, { redirect: "manual", headers: { "x-network-msisdn": s.number } });
      p.captured = res.headers.get("location");
      return { status: 200, body: JSON.stringify({ number_verified: true }) };
    },
  });
  return p;
}

const outcome = async (url) => {
  const r = await fetch(url);
  return `${r.status} ${(await r.json()).code ?? "verified"}`;
};

test("a callback is answered once: a replayed redirect, also in parallel, a forged state, and a code from another authorization prove nothing", async () => {
  const s = subscriber();
  const p = capturingPhone(w, s);
  const registration = await p.client.startRegistration(s.number, { proof: "camara_nv" });
  // The phone believed a forged "verified": the bind is refused, nothing was verified.
  const early = await refusal(p.client.completeBinding(registration));
  assert.equal(`${early.status} ${early.code}`, "409 nv_not_proven");
  // Ten replays of the captured redirect at once: one is taken, the others refused.
  const answers = await Promise.all(Array.from({ length: 10 }, () => outcome(p.captured)));
  assert.equal(answers.filter((a) => a === "200 verified").length, 1, answers.join(", "));
  assert.deepEqual([...new Set(answers.filter((a) => a !== "200 verified"))], ["409 nv_state_used"]);
  // The state names the registration and this bind's challenge: a forged one is refused.
  const forged = new URL(p.captured);
  forged.searchParams.set("state", `${registration.registrationId}.${"A".repeat(43)}`);
  assert.equal(await outcome(forged), "401 nv_state_invalid");
  // Two more authorizations of the number: C's code with B's state. The operator bound the
  // code to C's PKCE challenge, and B's verifier is another: the code is refused, B proves nothing.
  const [b, c] = [capturingPhone(w, s), capturingPhone(w, s)];
  const regB = await b.client.startRegistration(s.number, { proof: "camara_nv" });
  const regC = await c.client.startRegistration(s.number, { proof: "camara_nv" });
  await refusal(b.client.completeBinding(regB));
  await refusal(c.client.completeBinding(regC));
  const swapped = new URL(b.captured);
  swapped.searchParams.set("code", new URL(c.captured).searchParams.get("code"));
  assert.equal(await outcome(swapped), "403 nv_authorization_denied");
  const late = await refusal(b.client.completeBinding(regB));
  assert.equal(`${late.status} ${late.code}`, "403 nv_authorization_denied", "B's bind says why");
  // C's own redirect now: its code was presented once already, so it is not redeemed again.
  assert.equal(await outcome(c.captured), "409 nv_state_used");
  assert.deepEqual(op.problems, []);
});

test("a phone the operator does not see on its network: refused, and only then may a bank that requires a carrier proof fall back to a code", async () => {
  const strict = await startWorker({ bindings: op.bindings({ scalar: key.scalar, extra: { REQUIRE_CARRIER_PROOF: "true" } }) });
  op.registerRedirect(strict.url + CALLBACK);
  try {
    const s = subscriber();
    // Without a carrier proof first: refused.
    const direct = await strict.post("/v1/registrations", { phone_number: s.number, proof: "otp" });
    assert.equal(`${direct.status} ${(await direct.json()).code}`, "403 carrier_proof_required");
    // On Wi-Fi: the operator's /verify answers 403 USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK to the service.
    const p = nvPhone(strict, s, { seenAs: null });
    const registration = await p.client.startRegistration(s.number, { proof: "camara_nv" });
    const refused = await refusal(p.client.completeBinding(registration));
    assert.equal(`${refused.status} ${refused.code}`, "403 nv_not_mobile_network");
    assert.equal(await strict.outbox(s.number).then((m) => m.length), 0);
    // The operator said it cannot help: one fallback registration of the same number.
    const other = subscriber();
    const elsewhere = await strict.post("/v1/registrations", { phone_number: other.number, proof: "otp", fallback_from: registration.registrationId });
    assert.equal(`${elsewhere.status} ${(await elsewhere.json()).code}`, "403 carrier_proof_required", "not for another number");
    const fallback = await p.client.startRegistration(s.number, { proof: "otp", fallbackFrom: registration });
    assert.equal(fallback.proof, "otp");
    const bound = await p.client.completeBinding(fallback.registrationId, await strict.otp(s.number));
    assert.equal(bound.status, "active");
    const again = await strict.post("/v1/registrations", { phone_number: s.number, proof: "otp", fallback_from: registration.registrationId });
    assert.equal(`${again.status} ${(await again.json()).code}`, "403 carrier_proof_required", "once");
    // The phone's own word (an error redirect) allows no fallback.
    op.offNetwork = "error";
    const t = subscriber();
    const q = nvPhone(strict, t, { seenAs: null });
    const denied = await q.client.startRegistration(t.number, { proof: "camara_nv" });
    const said = await refusal(q.client.completeBinding(denied));
    assert.equal(`${said.status} ${said.code}`, "403 nv_authorization_denied");
    const noFallback = await strict.post("/v1/registrations", { phone_number: t.number, proof: "otp", fallback_from: denied.registrationId });
    assert.equal(`${noFallback.status} ${(await noFallback.json()).code}`, "403 carrier_proof_required");
  } finally {
    op.offNetwork = "token";
    await strict.dispose();
  }
});

test("the operator says another number, or does not answer: refused with its code, no fallback", async () => {
  const s = subscriber();
  const other = subscriber();
  const p = nvPhone(w, s, { seenAs: other.number });
  const registration = await p.client.startRegistration(s.number, { proof: "camara_nv" });
  const refused = await refusal(p.client.completeBinding(registration));
  assert.equal(`${refused.status} ${refused.code}`, "403 nv_not_verified");
  for (const [status, code] of [[429, "503 nv_unavailable"], [500, "503 nv_unavailable"], [404, "403 nv_not_supported"], [422, "403 nv_not_supported"]]) {
    op.failVerify = status;
    try {
      const t = subscriber();
      const q = nvPhone(w, t);
      const reg = await q.client.startRegistration(t.number, { proof: "camara_nv" });
      const e = await refusal(q.client.completeBinding(reg));
      assert.equal(`${e.status} ${e.code}`, code, `operator ${status}`);
    } finally {
      op.failVerify = undefined;
    }
  }
  assert.deepEqual(op.problems, []);
});
