// The benchmark's honesty check: before any ratio is printed, the reference
// worker and SimBind are each sent the same requests and must refuse each one
// for the same reason. A reference that skipped a check (the challenge's MAC
// or expiry, the chip signature, the counter, the nonce's single use, the
// durable write) would be faster for it, so `make bench` prints no ratio
// against a reference that fails this (bench/run.mjs).
//
//   const r = await refusals(url, p, bindingId);   // { ok, lines }
//
// `p` is a phone (tests/lib/phone.mjs) bound to `bindingId` on the worker at
// `url`: bound by the ceremony on SimBind, seeded on the reference.
import { buildTranscript } from "../wasm-client/pkg/testing/node.js";
import { devSecrets, wranglerVars } from "../tests/lib/worker.mjs";
import { wireSim } from "../tests/lib/phone.mjs";
import { b64u, challengeBytes } from "./reference-worker.mjs";

const JSON_HEADERS = { "content-type": "application/json" };

async function post(url, path, body) {
  const res = await fetch(`${url}${path}`, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(body) });
  const text = await res.text();
  let parsed = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the code below stays undefined and the check fails.
  }
  return { status: res.status, body: parsed };
}

/** A verify body for `challenge` (the challenge route's answer), signed by the phone's chip over `counter`. */
function evidence(p, challenge, bindingId, counter, { signOther = false } = {}) {
  const chip = p.device.chipInfo();
  const sim = p.device.simInfo();
  const transcript = buildTranscript("verify", challenge.challenge, challenge.audience, bindingId, chip, sim, counter, undefined);
  const signed = signOther ? Uint8Array.from(transcript, (b, i) => (i === transcript.length - 1 ? b ^ 1 : b)) : transcript;
  return {
    challenge: challenge.challenge,
    chip: { format: chip.format, serial: chip.serial, public_key: chip.publicKey },
    sim: wireSim(sim),
    counter,
    chip_signature: Buffer.from(p.device.chipSign(signed)).toString("base64url"),
  };
}

/** A verify challenge for `bindingId` issued 200 s ago with the dev deployment's key: expired, MAC valid. */
async function expiredChallenge(bindingId) {
  const secret = devSecrets().CHALLENGE_HMAC_KEY;
  const keyId = wranglerVars("env.dev.vars").CHALLENGE_KEY_ID ?? "c1";
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const issuedAt = Math.floor(Date.now() / 1000) - 200;
  const raw = await challengeBytes(key, { ceremony: "verify", issuedAt, ttl: 120, nonce: crypto.getRandomValues(new Uint8Array(16)), keyId, subject: bindingId, transaction: new Uint8Array(0) });
  return b64u(raw);
}

/**
 * Sends the worker at `url` one accepted verification and five it must
 * refuse, each for one check, then one more accepted (the state the refusals
 * left is still exact). Answers `{ ok, lines }`: a line per request, with the
 * code expected and the one answered.
 */
export async function refusals(url, p, bindingId) {
  const lines = [];
  let ok = true;
  const expect = (what, answer, code) => {
    const got = answer.status === 200 ? "200 (accepted)" : `${answer.status} ${answer.body.code}`;
    const passed = code === "accepted" ? answer.status === 200 && typeof answer.body.grant === "string" : answer.status !== 200 && answer.body.code === code;
    ok &&= passed;
    lines.push(`${passed ? "ok  " : "FAIL"} ${what}: expected ${code}, got ${got}`);
  };
  const challenge = async () => (await post(url, `/v1/bindings/${bindingId}/challenge`, { ceremony: "verify" })).body;
  let counter = p.device.nextCounter();

  const first = evidence(p, await challenge(), bindingId, counter);
  expect("a signed verification", await post(url, `/v1/bindings/${bindingId}/verify`, first), "accepted");
  expect("the same body again (the nonce is single use)", await post(url, `/v1/bindings/${bindingId}/verify`, first), "challenge_reused");
  expect("a fresh challenge, the counter already used (the write persisted)",
    await post(url, `/v1/bindings/${bindingId}/verify`, evidence(p, await challenge(), bindingId, counter)), "counter_replayed");
  counter = p.device.nextCounter();
  expect("signed over other bytes (the chip signature)",
    await post(url, `/v1/bindings/${bindingId}/verify`, evidence(p, await challenge(), bindingId, counter, { signOther: true })), "bad_signature");
  const forged = await challenge();
  const bytes = Buffer.from(forged.challenge, "base64url");
  bytes[bytes.length - 1] ^= 1;
  expect("a challenge whose MAC was altered",
    await post(url, `/v1/bindings/${bindingId}/verify`, evidence(p, { ...forged, challenge: bytes.toString("base64url") }, bindingId, counter)), "challenge_invalid");
  const stale = { challenge: await expiredChallenge(bindingId), audience: forged.audience };
  expect("a challenge with a valid MAC, expired", await post(url, `/v1/bindings/${bindingId}/verify`, evidence(p, stale, bindingId, counter)), "challenge_expired");
  counter = p.device.nextCounter();
  expect("a signed verification after them", await post(url, `/v1/bindings/${bindingId}/verify`, evidence(p, await challenge(), bindingId, counter)), "accepted");
  return { ok, lines };
}
