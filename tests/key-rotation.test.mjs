// Grant key rotation: the retiring key stays in the JWKS (GRANT_RETIRING_JWKS)
// so grants it signed still verify offline, new grants use the newest key,
// and once the retiring key is removed its grants no longer verify.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startWorker } from "./lib/worker.mjs";
import { bindPhone, phone, subscriber } from "./lib/phone.mjs";
import { checkGrantSignature } from "./lib/grant.mjs";

const ROTATED = {
  GRANT_SIGNING_KEY: "dev-only-grant-signing-key-for-local-tests4",
  GRANT_KEY_ID: "dev-g2",
};

async function jwksOf(worker) {
  return (await fetch(`${worker.url}/.well-known/jwks.json`)).json();
}

/** Whether `token` verifies against `jwks` (false when its kid is not there). */
const verifiesWith = async (jwks, token) => (await checkGrantSignature(jwks, token)).ok;

const kidOf = (token) => JSON.parse(Buffer.from(token.split(".")[0], "base64url")).kid;

async function grantFrom(worker) {
  const s = subscriber();
  const p = phone(worker.url, { sim: s.simA });
  const { bindingId } = await bindPhone(worker, p, s.number);
  return (await p.client.verify(bindingId)).grant;
}

test("a grant signed with the retiring key verifies until the key is removed; new grants use the newest", async () => {
  const before = await startWorker();
  const rotating = await startWorker({ bindings: { ...ROTATED, GRANT_RETIRING_JWKS: JSON.stringify(await jwksOf(before)) } });
  const rotated = await startWorker({ bindings: ROTATED });
  try {
    const old = await grantFrom(before);
    assert.equal(kidOf(old), "dev-g1");
    const during = await jwksOf(rotating);
    assert.deepEqual(during.keys.map((k) => k.kid), ["dev-g2", "dev-g1"], "both keys published, the newest first");
    assert.ok(await verifiesWith(during, old), "the retiring key's grant still verifies");
    const fresh = await grantFrom(rotating);
    assert.equal(kidOf(fresh), "dev-g2", "new grants are signed with the newest key");
    assert.ok(await verifiesWith(during, fresh));
    const after = await jwksOf(rotated);
    assert.deepEqual(after.keys.map((k) => k.kid), ["dev-g2"]);
    assert.equal(await verifiesWith(after, old), false, "removed: the old grant no longer verifies");
    assert.ok(await verifiesWith(after, fresh));
  } finally {
    await Promise.all([before.dispose(), rotating.dispose(), rotated.dispose()]);
  }
});

test("retiring keys that are not distinct ES256 keys refuse service with the fixed text", async () => {
  const before = await startWorker();
  const jwks = await jwksOf(before);
  await before.dispose();
  const wrongAlg = { keys: [{ ...jwks.keys[0], alg: "RS256" }] };
  for (const retiring of [JSON.stringify(jwks) /* same kid as the signing key */, JSON.stringify(wrongAlg), "[]"]) {
    const w = await startWorker({ bindings: { GRANT_RETIRING_JWKS: retiring } });
    try {
      const res = await fetch(`${w.url}/.well-known/jwks.json`);
      const body = await res.json();
      assert.equal(body.code, "misconfigured", retiring);
      assert.equal(body.detail, "the service is not configured correctly");
    } finally {
      await w.dispose();
    }
  }
});
