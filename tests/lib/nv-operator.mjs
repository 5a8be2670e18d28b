// A stand-in operator for CAMARA Number Verification v2.1.0, checking every
// request as ../shared/specs/camara/number-verification.yaml and the CAMARA
// Security and Interoperability Profile say, and refusing what a real one
// refuses: OpenID discovery; an authorization endpoint that takes only a
// signed request object (ES256 by the client's registered key; iss, aud,
// iat, exp − iat ≤ 300 s, a fresh jti; parameters matching the query;
// openid, the verify scope and one dpv: purpose; PKCE S256; state, nonce,
// prompt=none) and authenticates the phone by its data session (the test
// bridge sends `x-network-msisdn`, the number the network sees); a token
// endpoint taking `private_key_jwt` (aud = the token endpoint, ≤ 300 s, a
// fresh jti), single-use codes (60 s) bound to client, redirect and PKCE;
// single-use 300 s access tokens; and `/verify` with exactly one of
// `phoneNumber` or `hashedPhoneNumber`. Every deviation is also listed in
// `problems` (a test asserts it stays empty).
import { createServer } from "node:http";
import { createHash, generateKeyPairSync, randomBytes, sign, verify } from "node:crypto";

const b64u = (x) => Buffer.from(typeof x === "string" ? x : JSON.stringify(x)).toString("base64url");
const sha256 = (x) => createHash("sha256").update(x).digest();
const now = () => Math.floor(Date.now() / 1000);
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const NOT_BY_NETWORK = "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK";

/** Reads a compact ES256 JWS signed by `key` (a KeyObject): its claims, or why not. */
function readJws(token, key) {
  const parts = String(token ?? "").split(".");
  if (parts.length !== 3) return { error: "not a compact JWS" };
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], "base64url"));
    claims = JSON.parse(Buffer.from(parts[1], "base64url"));
  } catch {
    return { error: "unreadable JWS" };
  }
  if (header.alg !== "ES256") return { error: `alg ${header.alg}` };
  const ok = verify("sha256", Buffer.from(`${parts[0]}.${parts[1]}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(parts[2], "base64url"));
  return ok ? { header, claims } : { error: "signature does not verify" };
}

/**
 * Starts the operator on a loopback port. `clientId` and `publicKey` (a
 * KeyObject of the client's P-256 key): the client registered at onboarding; redirect
 * URIs are registered with `registerRedirect(uri)`. `offNetwork`: what a
 * phone not seen on the mobile network gets: `"token"` (a token not
 * obtained by the network: `/verify` answers 403
 * USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK) or `"error"` (a redirect with
 * `error=access_denied`). Set `failVerify` to a status for `/verify` to
 * answer instead (an outage, a rate limit).
 */
export async function standInOperator({ clientId, publicKey, offNetwork = "token" }) {
  const clientKey = publicKey;
  const signing = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const redirects = new Set();
  const seenJti = new Set();
  const codes = new Map(); // code → { redirectUri, challenge, nonce, msisdn, byNetwork, expires, used }
  const tokens = new Map(); // token → { msisdn, byNetwork, scope, expires, used }
  const state = { problems: [], requests: [], failVerify: undefined, offNetwork };
  let base;

  const refuse = (res, status, body, problem) => {
    if (problem) state.problems.push(problem);
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const fresh = (claims, aud, what) => {
    const t = now();
    if (claims.aud !== aud && !(Array.isArray(claims.aud) && claims.aud.includes(aud))) return `${what}: aud ${claims.aud}`;
    if (!Number.isInteger(claims.exp) || claims.exp <= t) return `${what}: expired`;
    if (Number.isInteger(claims.iat) && (claims.iat > t + 5 || claims.exp - claims.iat > 300)) return `${what}: iat/exp`;
    if (!Number.isInteger(claims.iat) && claims.exp - t > 300) return `${what}: exp too far`;
    if (typeof claims.jti !== "string" || claims.jti === "" || seenJti.has(claims.jti)) return `${what}: jti missing or reused`;
    seenJti.add(claims.jti);
    return null;
  };

  const authorize = (url, req, res) => {
    const q = url.searchParams;
    const redirectUri = q.get("redirect_uri");
    if (q.get("client_id") !== clientId || !redirects.has(redirectUri)) {
      // The profile: never redirect to an unregistered URI or for an unknown client.
      return refuse(res, 400, { error: "invalid_request" }, `authorize: client ${q.get("client_id")} or redirect ${redirectUri}`);
    }
    const back = (params) => {
      const to = new URL(redirectUri);
      for (const [k, v] of Object.entries(params)) to.searchParams.set(k, v);
      res.writeHead(302, { location: to.toString() });
      res.end();
    };
    const jws = readJws(q.get("request"), clientKey);
    if (jws.error) return back({ error: "invalid_request_object" }), state.problems.push(`authorize: ${jws.error}`);
    const c = jws.claims;
    const problem =
      fresh(c, `${base}/authorize`, "request object") ??
      (c.iss !== clientId ? "request object: iss" : null) ??
      (["response_type", "client_id", "redirect_uri", "scope"].find((k) => c[k] !== q.get(k)) ? "request object: parameters differ from the query" : null) ??
      (c.response_type !== "code" ? "response_type" : null) ??
      (!String(c.scope).split(" ").includes("openid") || !String(c.scope).split(" ").includes("number-verification:verify") ? "scope" : null) ??
      (String(c.scope).split(" ").filter((s) => s.startsWith("dpv:")).length !== 1 ? "scope: exactly one dpv: purpose" : null) ??
      (c.code_challenge_method !== "S256" || !/^[A-Za-z0-9_-]{43}$/.test(c.code_challenge ?? "") ? "PKCE" : null) ??
      (!c.state || !c.nonce ? "state and nonce" : null) ??
      (c.prompt !== "none" ? "prompt=none" : null);
    if (problem) {
      state.problems.push(`authorize: ${problem}`);
      return back({ error: "invalid_request_object", state: c.state ?? "" });
    }
    const msisdn = req.headers["x-network-msisdn"];
    if (!msisdn && state.offNetwork === "error") return back({ error: "access_denied", state: c.state });
    const code = randomBytes(24).toString("base64url");
    codes.set(code, { redirectUri, challenge: c.code_challenge, nonce: c.nonce, msisdn, byNetwork: Boolean(msisdn), scope: c.scope, expires: now() + 60, used: false });
    return back({ code, state: c.state });
  };

  const token = (form, res) => {
    const jws = readJws(form.get("client_assertion"), clientKey);
    if (form.get("client_assertion_type") !== ASSERTION_TYPE || jws.error) {
      return refuse(res, 401, { error: "invalid_client" }, `token: client assertion ${jws.error ?? "type"}`);
    }
    const c = jws.claims;
    const bad = fresh(c, `${base}/token`, "client assertion") ?? (c.iss !== clientId || c.sub !== clientId ? "client assertion: iss/sub" : null);
    if (bad) return refuse(res, 401, { error: "invalid_client" }, `token: ${bad}`);
    if (form.get("grant_type") !== "authorization_code") return refuse(res, 400, { error: "unsupported_grant_type" }, "token: grant_type");
    const grant = codes.get(form.get("code"));
    // A reused, unknown or expired code, another redirect or verifier: invalid_grant (not a deviation of ours to list).
    if (!grant || grant.used || grant.expires <= now()) return refuse(res, 400, { error: "invalid_grant" });
    grant.used = true;
    if (grant.redirectUri !== form.get("redirect_uri")) return refuse(res, 400, { error: "invalid_grant" }, "token: redirect_uri differs");
    if (sha256(form.get("code_verifier") ?? "").toString("base64url") !== grant.challenge) return refuse(res, 400, { error: "invalid_grant" });
    const accessToken = randomBytes(24).toString("base64url");
    tokens.set(accessToken, { msisdn: grant.msisdn, byNetwork: grant.byNetwork, scope: grant.scope, expires: now() + 300, used: false });
    const t = now();
    const idClaims = { iss: base, sub: randomBytes(8).toString("hex"), aud: clientId, iat: t, exp: t + 300, nonce: grant.nonce, amr: [grant.byNetwork ? "nbua" : "otp"] };
    const header = b64u({ alg: "ES256", typ: "JWT", kid: "op-1" });
    const input = `${header}.${b64u(idClaims)}`;
    const idToken = `${input}.${sign("sha256", Buffer.from(input), { key: signing.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify({ access_token: accessToken, token_type: "Bearer", expires_in: 300, id_token: idToken }));
  };

  const verifyNumber = (req, body, res) => {
    const correlator = req.headers["x-correlator"];
    const error = (status, code, message) => {
      res.writeHead(status, { "content-type": "application/json", ...(correlator ? { "x-correlator": correlator } : {}) });
      res.end(JSON.stringify({ status, code, message }));
    };
    if (correlator !== undefined && !/^[a-zA-Z0-9-_:;.\/<>{}]{0,256}$/.test(correlator)) {
      state.problems.push("verify: x-correlator pattern");
      return error(400, "INVALID_ARGUMENT", "x-correlator");
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const grant = tokens.get(bearer);
    if (!grant || grant.used || grant.expires <= now()) return error(401, "UNAUTHENTICATED", "Request not authenticated due to missing, invalid, or expired credentials.");
    grant.used = true; // single use (CAMARA guidance)
    if (!grant.scope.split(" ").includes("number-verification:verify")) return error(403, "PERMISSION_DENIED", "scope");
    let parsed;
    try {
      parsed = JSON.parse(body);
    } catch {
      state.problems.push("verify: body is not JSON");
      return error(400, "INVALID_ARGUMENT", "body");
    }
    const keys = parsed && typeof parsed === "object" && !Array.isArray(parsed) ? Object.keys(parsed) : [];
    const shapeOk = keys.length === 1 && (
      (keys[0] === "phoneNumber" && /^\+[1-9][0-9]{4,14}$/.test(parsed.phoneNumber)) ||
      (keys[0] === "hashedPhoneNumber" && /^[a-fA-F0-9]{64}$/.test(parsed.hashedPhoneNumber)));
    if (!shapeOk) {
      state.problems.push(`verify: body ${body}`);
      return error(400, "INVALID_ARGUMENT", "Client specified an invalid argument, request body or query param");
    }
    if (state.failVerify) return error(state.failVerify, state.failVerify === 429 ? "TOO_MANY_REQUESTS" : "SERVER_ERROR", "fail mode");
    if (!grant.byNetwork) return error(403, NOT_BY_NETWORK, "Client must authenticate via the mobile network to use this service");
    const hashed = parsed.hashedPhoneNumber?.toLowerCase() ?? sha256(parsed.phoneNumber).toString("hex");
    res.writeHead(200, { "content-type": "application/json", ...(correlator ? { "x-correlator": correlator } : {}) });
    res.end(JSON.stringify({ devicePhoneNumberVerified: hashed === sha256(grant.msisdn).toString("hex") }));
  };

  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url, base);
      const body = Buffer.concat(chunks).toString();
      state.requests.push({ method: req.method, path: url.pathname });
      if (req.method === "GET" && url.pathname === "/.well-known/openid-configuration") {
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify({ issuer: base, authorization_endpoint: `${base}/authorize`, token_endpoint: `${base}/token`, jwks_uri: `${base}/jwks`, response_types_supported: ["code"], code_challenge_methods_supported: ["S256"], token_endpoint_auth_methods_supported: ["private_key_jwt"], request_object_signing_alg_values_supported: ["ES256"] }));
      }
      if (req.method === "GET" && url.pathname === "/authorize") return authorize(url, req, res);
      if (req.method === "POST" && url.pathname === "/token") {
        if (!String(req.headers["content-type"]).startsWith("application/x-www-form-urlencoded")) return refuse(res, 400, { error: "invalid_request" }, "token: content type");
        return token(new URLSearchParams(body), res);
      }
      if (req.method === "POST" && url.pathname === "/number-verification/v2/verify") return verifyNumber(req, body, res);
      res.writeHead(404).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${server.address().port}`;
  return {
    url: base,
    get problems() {
      return state.problems;
    },
    get requests() {
      return state.requests;
    },
    set failVerify(status) {
      state.failVerify = status;
    },
    set offNetwork(mode) {
      state.offNetwork = mode;
    },
    registerRedirect: (uri) => redirects.add(uri),
    /** The worker settings for this operator (NUMBER_PROOF keeps `otp` first). */
    bindings: ({ scalar, extra = {} }) => ({
      NUMBER_PROOF: "otp,device_sms,camara_nv",
      NV_OPENID_URL: `${base}/.well-known/openid-configuration`,
      NV_API_ROOT: base,
      NV_CLIENT_ID: clientId,
      NV_PRIVATE_KEY: scalar,
      ...extra,
    }),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * The bridge's `openOverCellular(url)` for a phone whose data session the
 * network sees as `msisdn` (none: Wi-Fi): GETs `url`, follows each redirect
 * (the operator's, then the worker's callback) and resolves with the last
 * answer, `{status, body}`. `origin`: where the deployment's `PUBLIC_URL`
 * really runs in a test (the callback is registered under `PUBLIC_URL`).
 */
export function cellular(msisdn, { seen = [], publicUrl, origin } = {}) {
  return async (start) => {
    let url = start;
    for (let hop = 0; hop < 5; hop += 1) {
      const res = await fetch(url, { redirect: "manual", headers: msisdn ? { "x-network-msisdn": msisdn } : {} });
      seen.push({ url, status: res.status });
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        url = new URL(location, url).toString();
        if (publicUrl && origin && url.startsWith(publicUrl)) url = origin() + url.slice(publicUrl.length);
        continue;
      }
      return { status: res.status, body: await res.text() };
    }
    throw new Error("too many redirects");
  };
}
