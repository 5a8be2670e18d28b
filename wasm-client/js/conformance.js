// The bridge conformance kit: drives an app's native bridge (Android
// strings-only object or iOS message handler) through every method and every
// ceremony against a dev or staging deployment, and reports each check
// passed, failed (with the reason) or skipped. Every reply is read by the
// client's own wasm (simbind-core), every ceremony judged by the deployment:
// the kit decides nothing the product does not.
import { Bridge, SimBindClient } from "./client.js";
import { buildTranscript } from "./simbind_client.js";

/** The checks, in the order they run (wasm-client/hosts/README.md says what each catches). */
export const CHECKS = [
  ["host.present", "the bridge is there: the Android object or the iOS message handler"],
  ["host.methods", "the methods the chip's format needs are there"],
  ["host.subframe", "the bridge is not reachable from a sub-frame, of this origin or another"],
  ["chipInfo.reply", "chipInfo() answers a chip the client accepts"],
  ["simInfo.reply", "simInfo() answers SIM fields the client accepts (absent, never empty)"],
  ["sendNumberProof.token-only", "sendNumberProof() refuses anything but a SimBind token"],
  ["bind.ceremony", "a bind succeeds: the attestation made for its challenge, the transcript signed by the attested key"],
  ["verify.ceremony", "verifications succeed, one bound to a transaction"],
  ["counter.increasing", "every counter the chip hands out is above the one before"],
  ["chipSign.refuses-stale-counter", "chipSign() refuses a transcript whose counter is not the one it just handed out"],
  ["chipSign.refuses-garbage", "chipSign() refuses bytes that are not a transcript"],
  ["errors.mapped", "refusals are thrown (or rejected), so the client reports bridge_failed, never a value"],
  ["unbind.ceremony", "unbind succeeds, signed by the bound chip"],
].map(([id, title]) => ({ id, title }));

const NOT_TOKENS = ["hello", "+447700900123", "SB-ABCDEFGHI", "SB-ABCDEFGHIJK", "SB-ILOU123456", "sb-abcdefghjk", "SB-ABCDEFGHJK links this number"];

/** What a refusal code from the client or the deployment most often means for a host. */
const HINTS = {
  bad_signature: "the deployment could not verify chipSign's signature: sign exactly the transcript bytes, SHA-256 ECDSA P-256, with the attested key, as 64-byte r‖s",
  attestation_challenge_mismatch: "chipAttest made the key for another challenge: pass the challenge it is given to setAttestationChallenge / attestKey(clientDataHash:)",
  attestation_key_mismatch: "the attested key is not the key chipInfo names",
  bridge_malformed_reply: "a reply is not the documented shape (a signature must be 64 bytes r‖s, base64url on Android)",
  counter_replayed: "nextCounter handed out a counter not above the last one the deployment saw",
  bridge_failed: "a bridge method threw",
  bridge_method_missing: "a method the ceremony needs is missing",
  attestation_required: "the chip offered no attestation: a real-format key is attested once, and this one was attested in an earlier run: reset the chip (clear the app's data) before each run",
  sms_not_received: "the deployment never saw the SMS: send the token, from the SIM that carries the number, to the pinned inbound number",
};

function reasonOf(e) {
  const code = typeof e?.code === "string" ? e.code : "unexpected";
  const detail = typeof e?.detail === "string" ? e.detail : typeof e?.message === "string" ? e.message : String(e);
  return { code, reason: HINTS[code] ? `${code}: ${HINTS[code]} (${detail})` : `${code}: ${detail}` };
}

/** The host's raw call and method test, each call recorded. */
function open(host, record) {
  if (host?.kind === "ios") {
    const handler = globalThis.webkit?.messageHandlers?.[host.name];
    if (typeof handler?.postMessage !== "function") return null;
    const call = (method, args) => handler.postMessage({ method, args });
    return { bridge: new Bridge(recorded(call, record), () => true, true), has: null };
  }
  const object = host?.object ?? (host?.name ? globalThis[host.name] : undefined);
  if (object === null || typeof object !== "object") return null;
  const has = (method) => typeof object[method] === "function";
  const call = (method, args) => object[method](...args);
  return { bridge: new Bridge(recorded(call, record), has, true), has };
}

function recorded(call, record) {
  return async (method, args) => {
    try {
      const reply = await call(method, args);
      record.push({ method, reply });
      return reply;
    } catch (e) {
      record.push({ method, threw: true });
      throw e;
    }
  };
}

/**
 * Runs the kit. `host`: `{kind: "android", name: "SimBindNative"}` (or
 * `object`), or `{kind: "ios", name: "simbind"}`. `baseUrl` and `audience`:
 * the deployment (dev or staging). `phoneNumber`: the number of the SIM in
 * the phone. `readCode(number)`: the one-time code the deployment texted
 * (dev: its outbox; staging: ask the tester), used when the bridge cannot
 * send the SMS itself. `probeFrames()`: whether the bridge is visible in a
 * sub-frame (the kit's page provides it; absent, that check is skipped).
 * `proof`: how the bind proves the number, `device_sms` (the default when
 * the bridge can send the SMS) or `otp`.
 * Resolves with `{kit, deployment, host, when, results: [{id, title, status,
 * reason, code?}], passed, failed, skipped}`: JSON for a CI.
 */
export async function runConformance({ baseUrl, audience, host, phoneNumber, readCode, probeFrames, proof, now = () => new Date() }) {
  const results = new Map(CHECKS.map((c) => [c.id, { ...c, status: "skipped", reason: "not reached" }]));
  const pass = (id, reason = "") => Object.assign(results.get(id), { status: "passed", reason });
  const fail = (id, reason, code) => Object.assign(results.get(id), { status: "failed", reason, ...(code ? { code } : {}) });
  const skip = (id, reason) => Object.assign(results.get(id), { status: "skipped", reason });
  const failWith = (id, e) => {
    const { code, reason } = reasonOf(e);
    fail(id, reason, code);
  };
  const record = [];
  const report = () => {
    const list = [...results.values()];
    const count = (s) => list.filter((r) => r.status === s).length;
    return { kit: "simbind-bridge-conformance/1", deployment: baseUrl, host: { kind: host?.kind, name: host?.name ?? null }, when: now().toISOString(), results: list, passed: count("passed"), failed: count("failed"), skipped: count("skipped") };
  };

  const opened = open(host, record);
  if (!opened) {
    fail("host.present", host?.kind === "ios" ? `webkit.messageHandlers.${host?.name} is missing` : `no bridge object ${host?.name ?? ""}`.trim(), "bridge_unavailable");
    for (const c of CHECKS.slice(1)) skip(c.id, "no bridge");
    return report();
  }
  pass("host.present");
  const { bridge, has } = opened;

  if (probeFrames) {
    try {
      const seen = await probeFrames();
      const where = Object.entries(seen).filter(([, visible]) => visible).map(([frame]) => frame);
      if (where.length) fail("host.subframe", `the bridge is visible in: ${where.join(", ")}; expose it to the main frame of the app's own origin only`);
      else pass("host.subframe", Object.keys(seen).join(", "));
    } catch (e) {
      fail("host.subframe", `the sub-frame probe did not answer (${e?.message ?? e})`);
    }
  } else {
    skip("host.subframe", "needs the kit's page (sub-frames) to run");
  }

  let chip;
  try {
    chip = await bridge.call("chipInfo");
    buildTranscript("verify", "A".repeat(43), audience, "probe", chip, {}, 1);
    pass("chipInfo.reply");
  } catch (e) {
    failWith("chipInfo.reply", e);
  }
  const chipFields = typeof chip === "string" ? safeJson(chip) : chip;
  const format = chipFields?.format ?? "simbind-p256";
  const counted = format !== "apple-appattest";

  if (has) {
    const needed = ["chipInfo", "simInfo", "chipSign", ...(counted ? ["nextCounter"] : []), ...(format === "simbind-p256" ? [] : ["chipAttest"])];
    const missing = needed.filter((m) => !has(m));
    const optional = ["sendNumberProof", "firebasePnvToken", "openOverCellular", "simSign"].filter((m) => has(m));
    if (missing.length) fail("host.methods", `missing: ${missing.join(", ")}`, "bridge_method_missing");
    else pass("host.methods", `${format}; optional methods offered: ${optional.join(", ") || "none"}`);
  } else {
    skip("host.methods", "a message handler answers any method name: the ceremonies below call each one");
  }

  let sim;
  try {
    sim = await bridge.call("simInfo");
    buildTranscript("verify", "A".repeat(43), audience, "probe", chip ?? {}, sim, 1);
    pass("simInfo.reply");
  } catch (e) {
    failWith("simInfo.reply", e);
  }

  const sends = has ? has("sendNumberProof") : true;
  if (sends) {
    const accepted = [];
    for (const text of NOT_TOKENS) {
      try {
        await bridge.callText("sendNumberProof", text);
        accepted.push(JSON.stringify(text));
      } catch {
        // Refused, as it must be.
      }
    }
    if (accepted.length) fail("sendNumberProof.token-only", `did not refuse ${accepted.length} argument(s) that are not a token, e.g. ${accepted[0]}: throw for anything but ^SB-[0-9A-HJKMNP-TV-Z]{10}$`);
    else pass("sendNumberProof.token-only", `${NOT_TOKENS.length} non-tokens refused`);
  } else {
    skip("sendNumberProof.token-only", "the bridge offers no sendNumberProof");
  }

  const client = new SimBindClient(baseUrl, bridge, audience);
  const viaSms = (proof ?? (sends ? "device_sms" : "otp")) === "device_sms";
  let bindingId;
  try {
    if (viaSms) {
      const registration = await client.startRegistration(phoneNumber, { proof: "device_sms" });
      await client.sendNumberProof(registration);
      ({ bindingId } = await client.completeBinding(registration));
      pass("bind.ceremony", "proven by an SMS the phone sent (device_sms)");
    } else {
      if (typeof readCode !== "function") throw Object.assign(new Error("no way to read the code: pass readCode"), { code: "kit_misconfigured" });
      const { registrationId } = await client.startRegistration(phoneNumber, { proof: "otp" });
      ({ bindingId } = await client.completeBinding(registrationId, await readCode(phoneNumber)));
      pass("bind.ceremony", "proven by a one-time code");
    }
  } catch (e) {
    failWith("bind.ceremony", e);
  }
  // A message handler refuses an unknown method as it refuses a non-token:
  // only a device-SMS bind shows the method is there.
  const tokenOnly = results.get("sendNumberProof.token-only");
  if (!has && tokenOnly.status === "passed" && !(viaSms && bindingId)) {
    skip("sendNumberProof.token-only", "a message handler refuses an unknown method too: bind by device_sms to show sendNumberProof is there");
  }

  if (bindingId) {
    try {
      await client.verify(bindingId);
      const payment = await crypto.subtle.digest("SHA-256", new TextEncoder().encode("conformance kit: pay 1.00 EUR"));
      await client.verify(bindingId, payment);
      pass("verify.ceremony", "two grants, one bound to a transaction");
    } catch (e) {
      failWith("verify.ceremony", e);
    }
  } else {
    skip("verify.ceremony", "no binding");
  }

  const counters = record.filter((r) => r.method === "nextCounter" && !r.threw).map((r) => Number(r.reply));
  if (!counted) skip("counter.increasing", "App Attest keeps its counter in its assertions");
  else if (counters.length < 2) skip("counter.increasing", "fewer than two counters were handed out");
  else {
    const at = counters.findIndex((c, i) => i > 0 && !(c > counters[i - 1]));
    if (at > 0 || counters.some((c) => !Number.isSafeInteger(c))) fail("counter.increasing", `counters handed out: ${counters.join(", ")}`, "counter_replayed");
    else pass("counter.increasing", counters.join(", "));
  }

  // Refusals the host must make itself, each judged by whether it threw.
  const refusals = [];
  const mustRefuse = async (id, bytes, why) => {
    const before = record.length;
    let reply;
    try {
      reply = await bridge.call("chipSign", bytes);
    } catch (e) {
      refusals.push({ id, threw: e?.code === "bridge_failed", reply: undefined });
      pass(id, "refused");
      return;
    }
    const raw = record.slice(before).at(-1)?.reply ?? reply;
    refusals.push({ id, threw: false, reply: raw });
    if (isErrorValue(raw)) fail(id, `it answered ${describe(raw)} instead of refusing: a refusal is an exception (Android) or a rejected promise (iOS)`);
    else fail(id, `${why}; it answered ${describe(raw)}`);
  };
  if (!counted) skip("chipSign.refuses-stale-counter", "App Attest has no counter of the host's");
  else if (!bindingId || !counters.length || !chip) skip("chipSign.refuses-stale-counter", "no verification ran");
  else {
    const stale = buildTranscript("verify", "A".repeat(43), audience, bindingId, chip, sim ?? {}, counters.at(-1));
    await mustRefuse("chipSign.refuses-stale-counter", stale, "it signed a transcript carrying a counter already used: parse the transcript's trailing counter and refuse unless it is the one nextCounter just handed out");
  }
  await mustRefuse("chipSign.refuses-garbage", new Uint8Array(16), "it signed 16 zero bytes that are not a transcript: parse the transcript (PROTOCOL.md §3) before signing");

  const quiet = refusals.filter((r) => !r.threw);
  if (!refusals.length) skip("errors.mapped", "no refusal was asked for");
  else if (quiet.some((r) => isErrorValue(r.reply))) {
    const value = quiet.find((r) => isErrorValue(r.reply)).reply;
    fail("errors.mapped", `a refusal came back as a value (${describe(value)}) instead of an exception: throw (Android) or reject (iOS), so the client reports bridge_failed`);
  } else if (quiet.length) skip("errors.mapped", "the host signed what it should have refused (see above)");
  else pass("errors.mapped", `${refusals.length} refusals thrown, reported as bridge_failed`);

  if (bindingId) {
    try {
      await client.unbind(bindingId);
      pass("unbind.ceremony");
    } catch (e) {
      failWith("unbind.ceremony", e);
    }
  } else {
    skip("unbind.ceremony", "no binding");
  }
  return report();
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A value that stands for an error rather than a signature. */
function isErrorValue(reply) {
  return reply == null || reply === "" || (typeof reply === "object" && !(reply instanceof Uint8Array)) || (typeof reply === "string" && /error|refus|denied|invalid/i.test(reply));
}

function describe(reply) {
  if (reply === undefined) return "nothing";
  if (reply === null) return "null";
  const text = typeof reply === "string" ? reply : reply instanceof Uint8Array ? `${reply.length} bytes` : JSON.stringify(reply);
  return text.length > 40 ? `${JSON.stringify(text.slice(0, 40))}…` : JSON.stringify(text);
}
