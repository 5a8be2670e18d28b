// A stand-in Shared Signals receiver (RFC 8935 push endpoint) that checks
// every SET the way a receiver library does, on a real loopback HTTP server:
// media type and Authorization header; JOSE `typ` secevent+jwt and `alg`;
// the signature against the key set found through the transmitter's
// `/.well-known/ssf-configuration` (`jwks_uri`); `iss`, `aud`, `iat` fresh,
// `jti` present and unique (a repeat is acknowledged and not counted again:
// the receiver dedupes, as RFC 8935 expects), `sub_id`, exactly one event,
// no `sub`. A SET that fails is answered 400 `invalid_request` and listed in
// `problems` (every suite asserts that list stays empty).
//
// On command it answers otherwise: `receiver.script("500", "429:1", "410",
// "400", "timeout", …)` queues answers for the next pushes (then 202 again);
// `receiver.down = true` answers 503 to everything until set back.
import { createServer } from "node:http";
import { createPublicKey, verify as verifySignature } from "node:crypto";

/**
 * Starts the receiver. `transmitter()`: the worker's origin (read at each
 * key fetch: a restarted worker moves); `issuer`, `audience`, `authorization`:
 * what each SET must carry; `maxAgeSecs`: how old `iat` may be.
 */
export async function standInReceiver({ transmitter, issuer, audience, authorization, maxAgeSecs = 3600 }) {
  const receiver = {
    /** Accepted SETs, deduplicated by jti, in arrival order: { jti, type, event, subId, iat, alg, token }. */
    events: [],
    /** Every push received, duplicates and refusals included: { status, jti, at }. */
    pushes: [],
    /** Checks that failed. */
    problems: [],
    /** Repeats of an accepted jti (acknowledged, not counted again). */
    duplicates: 0,
    down: false,
    answers: [],
    held: [],
    script(...answers) { receiver.answers.push(...answers); },
    /** Events about `id` (opaque subject), as `type-tail:detail` labels. */
    about(id) {
      return receiver.events.filter((e) => e.subId.id === id).map(label);
    },
    close: () => new Promise((resolve) => { for (const r of receiver.held) r.destroy(); server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
  let keys;
  async function keySet(refresh) {
    if (keys && !refresh) return keys;
    const origin = transmitter();
    const config = await (await fetch(`${origin}/.well-known/ssf-configuration`)).json();
    if (config.issuer !== issuer) receiver.problems.push(`configuration issuer ${config.issuer}`);
    if (!config.delivery_methods_supported?.includes("urn:ietf:rfc:8935")) receiver.problems.push("push not offered");
    // A jwks_uri on the deployment's made-up public host is read from the worker, same path.
    keys = await (await fetch(new URL(new URL(config.jwks_uri).pathname, origin))).json();
    return keys;
  }
  async function check(headers, body) {
    const problems = [];
    if (headers["content-type"] !== "application/secevent+jwt") problems.push(`content-type ${headers["content-type"]}`);
    if (authorization !== undefined && headers.authorization !== authorization) problems.push("authorization header");
    const parts = body.split(".");
    if (parts.length !== 3) return { problems: [...problems, "not a compact JWS"] };
    const [h, p, s] = parts;
    const header = JSON.parse(Buffer.from(h, "base64url"));
    const claims = JSON.parse(Buffer.from(p, "base64url"));
    if (header.typ !== "secevent+jwt") problems.push(`typ ${header.typ}`);
    if (!["RS256", "ES256"].includes(header.alg)) problems.push(`alg ${header.alg}`);
    let jwk = (await keySet(false)).keys.find((k) => k.kid === header.kid);
    if (!jwk) jwk = (await keySet(true)).keys.find((k) => k.kid === header.kid);
    if (!jwk) problems.push(`no published key ${header.kid}`);
    else {
      if (jwk.alg !== header.alg) problems.push(`key ${jwk.kid} is for ${jwk.alg}, not ${header.alg}`);
      if (jwk.kty === "RSA" && Buffer.from(jwk.n, "base64url").length * 8 < 2048) problems.push("RSA key under 2048 bits");
      const key = createPublicKey({ key: jwk, format: "jwk" });
      const ok = verifySignature("sha256", Buffer.from(`${h}.${p}`), header.alg === "ES256" ? { key, dsaEncoding: "ieee-p1363" } : key, Buffer.from(s, "base64url"));
      if (!ok) problems.push("signature does not verify");
    }
    const now = Math.floor(Date.now() / 1000);
    if (claims.iss !== issuer) problems.push(`iss ${claims.iss}`);
    if (claims.aud !== audience) problems.push(`aud ${claims.aud}`);
    if (!(Number.isInteger(claims.iat) && claims.iat <= now + 60 && claims.iat >= now - maxAgeSecs)) problems.push(`iat ${claims.iat}`);
    if (typeof claims.jti !== "string" || claims.jti.length < 16) problems.push("jti");
    if ("sub" in claims) problems.push("a sub claim");
    if (!claims.sub_id?.format) problems.push("no sub_id");
    const types = Object.keys(claims.events ?? {});
    if (types.length !== 1) problems.push(`${types.length} events`);
    return { problems, header, claims, type: types[0] };
  }
  /**
   * Takes SETs fetched by polling (RFC 8936's `sets`, in the order given):
   * each checked as a pushed one is, recorded once; answers the `jti`s to
   * acknowledge and the `setErrs` for those that failed.
   */
  receiver.takePolled = async (sets) => {
    const ack = [];
    const setErrs = {};
    for (const [jti, token] of Object.entries(sets)) {
      const checked = await check({ "content-type": "application/secevent+jwt", authorization }, token);
      if (checked.claims?.jti !== jti) checked.problems.push(`the poll's key ${jti} is not the SET's jti`);
      if (checked.problems.length) {
        receiver.problems.push(...checked.problems);
        setErrs[jti] = { err: "invalid_request", description: "the SET failed a check" };
        continue;
      }
      if (receiver.events.some((e) => e.jti === jti)) receiver.duplicates++;
      else receiver.events.push({ jti, type: checked.type, event: checked.claims.events[checked.type], subId: checked.claims.sub_id, iat: checked.claims.iat, alg: checked.header.alg, token });
      ack.push(jti);
    }
    return { ack, setErrs };
  };
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString();
    const answer = (status, json, headers = {}) => {
      res.writeHead(status, { ...(json ? { "content-type": "application/json" } : {}), ...headers });
      res.end(json ? JSON.stringify(json) : undefined);
    };
    if (req.method !== "POST") return answer(405);
    if (receiver.down) { receiver.pushes.push({ status: 503, at: Date.now() }); return answer(503); }
    const scripted = receiver.answers.shift();
    if (scripted === "timeout") { receiver.pushes.push({ status: "timeout", at: Date.now() }); receiver.held.push(res.socket); return; }
    if (scripted) {
      const [code, wait] = scripted.split(":");
      receiver.pushes.push({ status: Number(code), at: Date.now() });
      if (code === "429") return answer(429, null, { "retry-after": wait ?? "1" });
      if (code === "400") return answer(400, { err: "invalid_request", description: "refused on command" });
      return answer(Number(code));
    }
    let checked;
    try {
      checked = await check(req.headers, body);
    } catch (e) {
      checked = { problems: [`unreadable: ${e.message}`] };
    }
    const jti = checked.claims?.jti;
    receiver.pushes.push({ status: checked.problems.length ? 400 : 202, jti, at: Date.now() });
    if (checked.problems.length) {
      receiver.problems.push(...checked.problems);
      return answer(400, { err: "invalid_request", description: "the SET failed a check" });
    }
    if (receiver.events.some((e) => e.jti === jti)) receiver.duplicates++;
    else receiver.events.push({ jti, type: checked.type, event: checked.claims.events[checked.type], subId: checked.claims.sub_id, iat: checked.claims.iat, alg: checked.header.alg, token: body });
    answer(202);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${server.address().port}/events`;
  return receiver;
}

/** An event as a short label: `credential-change:create`, `risk-level-change:HIGH:sim_changed`, `takeover-refused:chip_already_bound`. */
export function label(e) {
  const kind = e.type.split("/").at(-1);
  const d = e.event;
  if (kind === "credential-change") return `${kind}:${d.change_type}`;
  if (kind === "risk-level-change") return `${kind}:${d.current_level}:${d.risk_reason}`;
  if (kind === "takeover-refused") return `${kind}:${d.reason}`;
  return kind;
}

/** `SSF_RECEIVERS` for receivers `{ id, url, ...options }`. */
export function receiversVar(...receivers) {
  return JSON.stringify(receivers.map(({ url, ...r }) => ({ endpoint: url, ...r })));
}
