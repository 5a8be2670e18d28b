// The Firebase PNV number proof in workerd, against a stand-in issuer that
// speaks Firebase's token format: the phone gets a token for this bind's
// nonce and binds with no SMS anywhere; every other token is refused with
// its own code, replays exactly once under parallel binds, and the grant
// and the audit trail name the proof.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./lib/worker.mjs";
import { phone, refusal, subscriber } from "./lib/phone.mjs";
import { checkGrant } from "./lib/grant.mjs";
import { standInPnv } from "./lib/firebase-pnv.mjs";

let pnv;
let w;
before(async () => {
  pnv = await standInPnv();
  w = await startWorker({ bindings: pnv.bindings() });
});
after(async () => {
  await w.dispose();
  await pnv.close();
});

/** A phone whose bridge gets tokens from the stand-in (`tamper` rewrites each). */
function pnvPhone(world, s, { tamper = (args) => args, sub = s.number, issuer = pnv } = {}) {
  const nonces = [];
  const p = phone(world.url, {
    sim: s.simA,
    firebasePnvToken: (nonce) => {
      nonces.push(nonce);
      return issuer.mint(tamper({ sub, nonce }));
    },
  });
  return { ...p, nonces };
}

/** Binds `s` with a PNV token made by `tamper`; the refusal's "status code", or "201". */
async function bindWith(world, tamper, { s = subscriber(), issuer = pnv } = {}) {
  const p = pnvPhone(world, s, { tamper, issuer });
  const registration = await p.client.startRegistration(s.number, { proof: "firebase_pnv" });
  try {
    await p.client.completeBinding(registration);
    return "201";
  } catch (e) {
    return `${e.status} ${e.code}`;
  }
}

/** Re-sends the phone's last bind body with another token (and `extra` fields): the answer's "status code". */
async function resend(world, p, token, extra = {}) {
  const last = p.exchanges.at(-1);
  const res = await world.post(new URL(last.url).pathname, { ...last.request, firebase_pnv_token: token, ...extra });
  const body = await res.json();
  return `${res.status} ${body.code ?? ""}`.trim();
}

test("the carrier proves the number through Firebase: no SMS, and the grant and trail name the proof", async () => {
  const s = subscriber();
  const p = pnvPhone(w, s);
  const registration = await p.client.startRegistration(s.number, { proof: "firebase_pnv" });
  assert.equal(registration.proof, "firebase_pnv");
  assert.equal(registration.otpExpiresAt, undefined);
  assert.equal(registration.deviceSms, undefined);
  const bound = await p.client.completeBinding(registration);
  assert.equal(bound.status, "active");
  assert.deepEqual(await w.outbox(s.number), [], "no SMS was sent or received for this number");
  // The bridge was asked once, with this bind's nonce, and the token went in the body.
  assert.equal(p.nonces.length, 1);
  assert.match(p.nonces[0], /^[A-Za-z0-9_-]{43}$/);
  const sent = p.lastRequest();
  assert.equal(typeof sent.firebase_pnv_token, "string");
  assert.equal(sent.otp, undefined);
  assert.equal(sent.bind_secret, undefined);
  const claims = JSON.parse(Buffer.from(sent.firebase_pnv_token.split(".")[1], "base64url"));
  assert.equal(claims.nonce, p.nonces[0]);
  const { grant } = await p.client.verify(bound.bindingId);
  const checked = await checkGrant(w.url, grant, { sub: bound.bindingId, numberProof: "firebase_pnv" });
  assert.equal(checked.number_proof, "firebase_pnv");
  const events = await w.audit(bound.bindingId);
  assert.deepEqual(events.filter((e) => e.event === "bound").map((e) => e.proof), ["firebase_pnv"]);
  // An OTP-bound number says so too.
  const o = subscriber();
  const q = phone(w.url, { sim: o.simA });
  const otpReg = await q.client.startRegistration(o.number, { proof: "otp" });
  const otpBound = await q.client.completeBinding(otpReg.registrationId, await w.otp(o.number));
  const otpGrant = await q.client.verify(otpBound.bindingId);
  await checkGrant(w.url, otpGrant.grant, { numberProof: "otp" });
  assert.equal((await w.audit(otpBound.bindingId)).find((e) => e.event === "bound").proof, "otp");
});

test("tokens of another project, number, time or signer are refused with their codes", async () => {
  const other = "https://fpnv.googleapis.com/projects/999999999999";
  const ago = Math.floor(Date.now() / 1000) - 7200;
  const cases = {
    "401 pnv_wrong_project": (a) => ({ ...a, claims: { iss: other } }),
    "401 pnv_wrong_project ": (a) => ({ ...a, claims: { aud: [other, "https://fpnv.googleapis.com/projects/simbind-bank"] } }),
    "410 pnv_token_expired": (a) => ({ ...a, now: ago }),
    "401 pnv_token_not_yet_valid": (a) => ({ ...a, now: Math.floor(Date.now() / 1000) + 600 }),
    "403 pnv_number_mismatch": (a) => ({ ...a, sub: subscriber().number }),
    "401 pnv_nonce_mismatch": (a) => ({ ...a, nonce: "A".repeat(43) }),
    "401 pnv_nonce_mismatch ": (a) => ({ ...a, nonce: undefined }),
    "400 pnv_token_malformed": (a) => ({ ...a, header: { typ: "at+jwt" } }),
    "400 pnv_token_malformed ": (a) => ({ ...a, claims: { sub: "447700900123" } }),
  };
  for (const [want, tamper] of Object.entries(cases)) {
    assert.equal(await bindWith(w, tamper), want.trim(), want);
  }
});

test("a token with another registration's nonce proves nothing, and a used token never binds again", async () => {
  const s = subscriber();
  const a = pnvPhone(w, s);
  const regA = await a.client.startRegistration(s.number, { proof: "firebase_pnv" });
  await a.client.completeBinding(regA);
  const tokenA = a.lastRequest().firebase_pnv_token;
  // A second registration of the same number, its bind carrying A's token.
  const b = pnvPhone(w, s, { tamper: () => ({ sub: s.number, nonce: a.nonces[0] }) });
  const regB = await b.client.startRegistration(s.number, { proof: "firebase_pnv" });
  const refused = await refusal(b.client.completeBinding(regB));
  assert.equal(`${refused.status} ${refused.code}`, "401 pnv_nonce_mismatch");
  assert.equal(await resend(w, b, tokenA), "401 pnv_token_replayed", "the captured token itself: already used");
  // The registration counts refused tokens: five lock it.
  for (let i = 0; i < 3; i += 1) assert.equal(await resend(w, b, tokenA), "401 pnv_token_replayed");
  assert.equal(await resend(w, b, tokenA), "429 number_proof_locked");
  // Another registration's bind body with a token for a third number.
  const c = subscriber();
  assert.equal(await resend(w, a, pnv.mint({ sub: c.number, nonce: a.nonces[0] })), "404 registration_not_found", "A's registration is used up");
});

test("an otp registration takes no token, and a firebase_pnv registration needs one", async () => {
  const s = subscriber();
  const p = pnvPhone(w, s);
  const reg = await p.client.startRegistration(s.number, { proof: "otp" });
  await refusal(p.client.completeBinding(reg, "000000"));
  const token = pnv.mint({ sub: s.number, nonce: "x" });
  assert.match(await resend(w, p, token), /^400 /);
  const u = subscriber();
  const r = pnvPhone(w, u);
  const reg3 = await r.client.startRegistration(u.number, { proof: "firebase_pnv" });
  const both = await refusal(r.client.completeBinding(reg3, "123456"));
  assert.equal(`${both.status} ${both.code}`, "400 invalid_field", "a code and a token: never both");
  assert.equal(await resend(w, r, undefined, { otp: undefined }), "400 missing_field");
  assert.equal(await resend(w, r, undefined, { otp: undefined, bind_secret: "KioqKioqKioqKioqKioqKg" }), "400 invalid_field");
});

test("unknown key ids: the key set is fetched again at most once per 5 minutes, however many arrive", async () => {
  const before = pnv.fetches;
  assert.ok(before >= 1, "the key set was fetched for the first token");
  const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => bindWith(w, (a) => ({ ...a, kid: `made-up-${i}` }))));
  assert.deepEqual([...new Set(outcomes)], ["401 pnv_key_unknown"]);
  assert.ok(pnv.fetches - before <= 1, `${pnv.fetches - before} fetches for 20 unknown key ids`);
  // A forged signature under a published kid.
  const s = subscriber();
  const forge = (nonce) => {
    const [h, c] = pnv.mint({ sub: s.number, nonce }).split(".");
    return `${h}.${c}.${Buffer.alloc(64, 7).toString("base64url")}`;
  };
  const p = phone(w.url, { sim: s.simA, firebasePnvToken: forge });
  const reg = await p.client.startRegistration(s.number, { proof: "firebase_pnv" });
  const forged = await refusal(p.client.completeBinding(reg));
  assert.equal(`${forged.status} ${forged.code}`, "401 pnv_signature_invalid");
});

test("a new worker fetches a rotated key set, and a key Firebase no longer publishes is refused", async () => {
  const issuer = await standInPnv({ maxAge: 120 });
  const old = issuer.kid;
  issuer.rotate();
  const fresh = await startWorker({ bindings: issuer.bindings() });
  try {
    const viaNew = await bindWith(fresh, (a) => ({ ...a, kid: issuer.kid }), { issuer });
    assert.equal(viaNew, "201", "signed with the new key, published beside the old");
    assert.equal(await bindWith(fresh, (a) => ({ ...a, kid: old }), { issuer }), "201", "the old key still verifies while published");
    assert.equal(await bindWith(fresh, (a) => ({ ...a, kid: "retired" }), { issuer }), "401 pnv_key_unknown");
    assert.equal(issuer.fetches, 1, "one fetch, kept by its Cache-Control");
  } finally {
    await fresh.dispose();
    await issuer.close();
  }
  // No key set at all: the bind cannot be decided.
  const dark = await startWorker({ bindings: pnv.bindings({ FIREBASE_PNV_JWKS_URL: "http://127.0.0.1:9/v1beta/jwks" }) });
  try {
    assert.equal(await bindWith(dark, (a) => a), "503 pnv_keys_unavailable");
  } finally {
    await dark.dispose();
  }
});

test("parallel replays of one default-flow token bind exactly once", async () => {
  // Firebase's default flow: no nonce of ours, so only the token id stops a replay.
  const lenient = await startWorker({ bindings: pnv.bindings({ FIREBASE_PNV_NONCE: "optional" }) });
  try {
    const s = subscriber();
    const token = pnv.mint({ sub: s.number });
    const phones = Array.from({ length: 8 }, () => phone(lenient.url, { sim: s.simA, firebasePnvToken: () => token }));
    const registrations = [];
    for (const p of phones) registrations.push(await p.client.startRegistration(s.number, { proof: "firebase_pnv" }));
    const outcomes = await Promise.all(
      phones.map((p, i) => p.client.completeBinding(registrations[i]).then(() => "201", (e) => `${e.status} ${e.code}`)),
    );
    assert.deepEqual(outcomes.filter((o) => o === "201").length, 1, outcomes.join(", "));
    assert.deepEqual([...new Set(outcomes.filter((o) => o !== "201"))], ["401 pnv_token_replayed"]);
    // A token with a nonce must still carry this bind's.
    assert.equal(await bindWith(lenient, (a) => ({ ...a, nonce: "B".repeat(43) })), "401 pnv_nonce_mismatch");
  } finally {
    await lenient.dispose();
  }
});
