// A stand-in for Firebase Phone Number Verification's token issuer, as a
// backend sees it: a JWKS endpoint (with Cache-Control, counting fetches,
// keys that rotate) and tokens of Firebase's documented shape, ES256 over
// `header.claims` with `typ` JWT and a `kid`; `iss` the project number's
// URL, `aud` the project number's and id's URLs, `sub` the verified E.164
// number, `iat`, `exp`, `jti` and the app's `nonce`.
import { createServer } from "node:http";
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";

const b64u = (x) => Buffer.from(typeof x === "string" ? x : JSON.stringify(x)).toString("base64url");

/** The project the stand-in issues for, as a deployment configures it. */
export const PROJECT = { number: "123456789012", id: "simbind-bank" };
const PREFIX = "https://fpnv.googleapis.com/projects/";

/**
 * Starts the issuer on a loopback port. `maxAge`: the key set's
 * `Cache-Control: max-age`. Returns its URL, the worker bindings that point
 * a deployment at it, `mint(...)` to make tokens, `rotate()` to publish a
 * new key, and `fetches` (how often the key set was read).
 */
export async function standInPnv({ maxAge = 3600 } = {}) {
  const keys = new Map();
  const published = new Set();
  const addKey = () => {
    const kid = `pnv-${keys.size + 1}-${randomBytes(3).toString("hex")}`;
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    keys.set(kid, { privateKey, jwk: { ...publicKey.export({ format: "jwk" }), kid, alg: "ES256", use: "sig" } });
    published.add(kid);
    return kid;
  };
  let current = addKey();
  const state = { fetches: 0 };
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/v1beta/jwks") {
      state.fetches += 1;
      const body = JSON.stringify({ keys: [...published].map((kid) => keys.get(kid).jwk) });
      res.writeHead(200, { "content-type": "application/json", "cache-control": `public, max-age=${maxAge}` });
      return res.end(body);
    }
    res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    get fetches() {
      return state.fetches;
    },
    get kid() {
      return current;
    },
    /** The deployment's settings for this issuer (NUMBER_PROOF keeps `otp` first). */
    bindings: (extra = {}) => ({
      NUMBER_PROOF: "otp,device_sms,firebase_pnv",
      FIREBASE_PNV_PROJECT_NUMBER: PROJECT.number,
      FIREBASE_PNV_PROJECT_ID: PROJECT.id,
      FIREBASE_PNV_JWKS_URL: `${url}/v1beta/jwks`,
      ...extra,
    }),
    /** Publishes a new signing key beside the old ones and signs with it from now on. */
    rotate() {
      current = addKey();
      return current;
    },
    /**
     * A token verifying `sub` with `nonce` (omit for Firebase's default flow).
     * `claims`/`header` override or (with `undefined`) remove fields; `kid`
     * signs with a key of that id, made on the spot if unknown (unpublished).
     */
    mint({ sub, nonce, claims = {}, header = {}, kid = current, now = Math.floor(Date.now() / 1000) } = {}) {
      if (!keys.has(kid)) {
        const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
        keys.set(kid, { privateKey, jwk: { ...publicKey.export({ format: "jwk" }), kid } });
      }
      const h = { alg: "ES256", kid, typ: "JWT", ...header };
      const c = {
        iss: PREFIX + PROJECT.number,
        aud: [PREFIX + PROJECT.number, PREFIX + PROJECT.id],
        sub,
        iat: now,
        exp: now + 3600,
        jti: randomBytes(16).toString("base64url"),
        ...(nonce === undefined ? {} : { nonce }),
        ...claims,
      };
      for (const o of [h, c]) for (const [k, v] of Object.entries(o)) if (v === undefined) delete o[k];
      const input = `${b64u(h)}.${b64u(c)}`;
      const signature = sign("sha256", Buffer.from(input), { key: keys.get(kid).privateKey, dsaEncoding: "ieee-p1363" });
      return `${input}.${signature.toString("base64url")}`;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
