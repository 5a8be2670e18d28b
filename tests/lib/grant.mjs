// Reads a grant as an app backend does offline: the ES256 signature checked
// with WebCrypto against a JWK set.

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
  const ok = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, Buffer.from(s, "base64url"), Buffer.from(`${h}.${p}`));
  return { ok, header, claims, jwk };
}
