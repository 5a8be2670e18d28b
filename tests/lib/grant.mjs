// Reads a grant as an app backend does offline: the ES256 signature checked
// with WebCrypto against the JWK set the deployment publishes (found through
// its discovery document), then `iss`, `aud`, `sub`, `exp` and `txn`.
//
// Every suite checks every grant it receives this way: `watchGrants()`
// (installed by tests/lib/worker.mjs and tests/lib/wrangler-dev.mjs) wraps
// this process's `fetch`, so each `200` answer to `POST /v1/bindings/{id}/verify`
// is checked against the challenge it was signed for before the test sees it.
// A grant that fails makes that request throw: no suite can accept a grant
// by its shape.

/**
 * `{ ok, header, claims, jwk }` for `token` against `jwks`; `jwk` is the key
 * its `kid` names (undefined, and `ok` false, when the set has none).
 */
export async function checkGrantSignature(jwks, token) {
  const [h, p, s] = token.split(".");
  const header = JSON.parse(Buffer.from(h, "base64url"));
  const claims = JSON.parse(Buffer.from(p, "base64url"));
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) return { ok: false, header, claims, jwk };
  const key = await crypto.subtle.importKey("jwk", { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, Buffer.from(s ?? "", "base64url"), Buffer.from(`${h}.${p}`));
  return { ok, header, claims, jwk };
}

const realFetch = globalThis.fetch;

/**
 * The deployment's discovery document and JWK set, fetched from `origin` as
 * a backend does: `/.well-known/simbind`, then its `jwks_uri`. A `jwks_uri`
 * on another host (a test's made-up `PUBLIC_URL`) is read from `origin`,
 * under the same path.
 */
export async function publishedKeys(origin) {
  const discovery = await (await realFetch(`${origin}/.well-known/simbind`)).json();
  const jwksUrl = new URL(new URL(discovery.jwks_uri).pathname, origin);
  const jwks = await (await realFetch(jwksUrl)).json();
  return { discovery, jwks };
}

/**
 * Checks `token` as a backend does and returns its claims, or throws naming
 * every check that failed. `origin`: the worker that issued it; `sub`: the
 * binding id; `txn`: the transaction asked for (base64url), or `null` when
 * none was (then the grant must carry none); `numberProof`: how the number
 * must have been proven; `undefined` skips that check.
 */
export async function checkGrant(origin, token, { sub, txn, numberProof } = {}) {
  const { discovery, jwks } = await publishedKeys(origin);
  const problems = [];
  let checked;
  try {
    checked = await checkGrantSignature(jwks, String(token));
  } catch (e) {
    throw new Error(`grant: unreadable (${e.message})`);
  }
  const { ok, header, claims } = checked;
  const now = Math.floor(Date.now() / 1000);
  if (!ok) problems.push(`signature does not verify under the published key ${header.kid}`);
  if (header.alg !== "ES256" || header.typ !== "JWT") problems.push(`header ${JSON.stringify(header)}`);
  if (claims.iss !== discovery.issuer) problems.push(`iss ${claims.iss} is not ${discovery.issuer}`);
  if (claims.aud !== discovery.grant_audience) problems.push(`aud ${claims.aud} is not ${discovery.grant_audience}`);
  if (!(Number.isInteger(claims.exp) && claims.exp > now)) problems.push(`exp ${claims.exp} has passed`);
  if (!(Number.isInteger(claims.iat) && claims.iat <= now + 5 && claims.iat < claims.exp)) problems.push(`iat ${claims.iat}`);
  if (typeof claims.jti !== "string" || claims.jti === "") problems.push("no jti");
  if (sub !== undefined && claims.sub !== sub) problems.push(`sub ${claims.sub} is not ${sub}`);
  if (txn !== undefined && (claims.txn ?? null) !== txn) problems.push(`txn ${claims.txn} is not ${txn}`);
  // How the number was proven: one of the documented proofs (absent only for bindings made before it was recorded).
  if (claims.number_proof !== undefined && !NUMBER_PROOFS.includes(claims.number_proof)) problems.push(`number_proof ${claims.number_proof}`);
  if (numberProof !== undefined && claims.number_proof !== numberProof) problems.push(`number_proof ${claims.number_proof} is not ${numberProof}`);
  if (problems.length) throw new Error(`grant refused as a backend would: ${problems.join("; ")}`);
  return claims;
}

/** The number proofs a grant's `number_proof` may name (docs/PROTOCOL.md §8). */
export const NUMBER_PROOFS = ["otp", "device_sms", "firebase_pnv", "camara_nv"];

/** Challenges seen in this process, by value: the transaction each was bound to (or null). */
const challenges = new Map();
/** How many grants every suite's fetch has checked (a test can assert its own went through). */
export const grantsChecked = { count: 0 };

const VERIFY = /^\/v1\/bindings\/([^/]+)\/verify$/;
const CHALLENGE = /^\/v1\/bindings\/[^/]+\/challenge$/;

/**
 * Puts this process's own `fetch` back: for the benchmark, which checks its
 * grants itself (bench/reference.mjs) and times requests the check would slow.
 */
export function unwatchGrants() {
  globalThis.fetch = realFetch;
}

/** Installs the checking `fetch` once per process (idempotent). */
export function watchGrants() {
  if (globalThis.fetch !== realFetch) return;
  globalThis.fetch = async function checkedFetch(input, init) {
    const response = await realFetch(input, init);
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    if (method !== "POST" || response.status !== 200) return response;
    if (CHALLENGE.test(url.pathname)) {
      const answer = await response.clone().json().catch(() => null);
      if (answer?.challenge) challenges.set(answer.challenge, answer.transaction ?? null);
      return response;
    }
    const verify = url.pathname.match(VERIFY);
    if (!verify) return response;
    const answer = await response.clone().json().catch(() => null);
    const sent = typeof init?.body === "string" ? JSON.parse(init.body) : null;
    // A challenge this process never asked for (a body built by hand from a
    // stored challenge) still gets every check but the transaction's.
    const txn = sent && challenges.has(sent.challenge) ? challenges.get(sent.challenge) : undefined;
    await checkGrant(url.origin, answer?.grant, { sub: decodeURIComponent(verify[1]), txn });
    grantsChecked.count += 1;
    return response;
  };
}
