// Response hygiene on every route: no content sniffing, no caching of API
// answers (the JWKS and the discovery document excepted, with a short public
// lifetime), nothing about the configuration in any answer, and the
// discovery document a backend reads instead of our configuration.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startWorker, wranglerVars } from "./lib/worker.mjs";
import { subscriber } from "./lib/phone.mjs";

let w;
before(async () => { w = await startWorker(); });
after(() => w.dispose());

const json = { "content-type": "application/json" };

test("every answer is nosniff; API answers are no-store, keys and discovery briefly public", async () => {
  const s = subscriber();
  const reg = await (await fetch(`${w.url}/v1/registrations`, { method: "POST", headers: json, body: JSON.stringify({ phone_number: s.number }) })).json();
  const requests = [
    ["GET", "/v1/health"],
    ["POST", "/v1/registrations", JSON.stringify({ phone_number: subscriber().number })],
    ["POST", "/v1/registrations", "{not json"],
    ["POST", `/v1/registrations/${reg.registration_id}/challenge`],
    ["POST", `/v1/registrations/${reg.registration_id}/binding`, JSON.stringify({ otp: "000000", evidence: {} })],
    ["POST", "/v1/bindings/bnd_AAAAAAAAAAAAAAAAAAAAAA/challenge", JSON.stringify({ ceremony: "verify" })],
    ["GET", "/v1/admin/bindings/bnd_AAAAAAAAAAAAAAAAAAAAAA"],
    ["GET", "/v1/admin/attestation-status"],
    ["GET", "/nowhere"],
    ["DELETE", "/v1/registrations"],
    ["OPTIONS", "/v1/registrations"],
  ];
  for (const [method, path, body] of requests) {
    const res = await fetch(`${w.url}${path}`, { method, headers: body ? json : {}, body });
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", `${method} ${path}`);
    assert.equal(res.headers.get("cache-control"), "no-store", `${method} ${path} (${res.status})`);
  }
  for (const path of ["/.well-known/jwks.json", "/.well-known/simbind"]) {
    const res = await fetch(`${w.url}${path}`);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", path);
    assert.equal(res.headers.get("cache-control"), "public, max-age=300", path);
  }
});

test("the discovery document names the issuer, audiences, keys, versions and chip formats", async () => {
  const vars = wranglerVars("env.dev.vars");
  const doc = await (await fetch(`${w.url}/.well-known/simbind`)).json();
  assert.deepEqual(doc, {
    issuer: vars.ISSUER,
    grant_audience: vars.GRANT_AUDIENCE,
    audience: vars.AUDIENCE,
    jwks_uri: `${w.url}/.well-known/jwks.json`,
    protocol_versions: [2],
    chip_formats: vars.CHIP_FORMATS.split(","),
    grant_algorithms: ["ES256"],
  });
  const jwks = await (await fetch(doc.jwks_uri)).json();
  assert.equal(jwks.keys[0].alg, "ES256");
  const narrow = await startWorker({ bindings: { CHIP_FORMATS: "apple-appattest" } });
  try {
    assert.deepEqual((await (await fetch(`${narrow.url}/.well-known/simbind`)).json()).chip_formats, ["apple-appattest"]);
  } finally {
    await narrow.dispose();
  }
});

test("a misconfiguration answers a fixed sentence; which setting is wrong stays in the logs", async () => {
  for (const bindings of [
    { ADMIN_TOKEN: undefined },
    { CHIP_FORMATS: "android-key", ANDROID_POLICY: undefined },
    { SMS_PROVIDER: "pigeon" },
  ]) {
    const sw = await startWorker({ bindings });
    try {
      const res = await fetch(`${sw.url}/v1/health`);
      assert.equal(res.status, 503);
      const text = await res.text();
      const problem = JSON.parse(text);
      assert.equal(problem.code, "misconfigured");
      assert.equal(problem.detail, "the service is not configured correctly");
      assert.doesNotMatch(text, /ADMIN_TOKEN|ANDROID_POLICY|SMS_PROVIDER|secret|pigeon|allowedApps/i, JSON.stringify(bindings));
      assert.equal(res.headers.get("cache-control"), "no-store");
    } finally {
      await sw.dispose();
    }
  }
});

test("a method a route does not serve is 405 with Allow, unknown methods included; unknown paths stay 404", async () => {
  const cases = [
    ["DELETE", "/v1/health", "GET"],
    ["HEAD", "/.well-known/jwks.json", "GET"],
    ["QUERY", "/v1/health", "GET"],
    ["PROPFIND", "/v1/admin/attestation-status", "GET"],
    ["SEARCH", "/v1/admin/bindings/bnd_AAAAAAAAAAAAAAAAAAAAAA/audit", "GET"],
    ["GET", "/v1/registrations", "POST"],
    ["PUT", "/v1/bindings/bnd_AAAAAAAAAAAAAAAAAAAAAA/verify", "POST"],
    ["MKCOL", "/v1/admin/bindings/bnd_AAAAAAAAAAAAAAAAAAAAAA/revoke", "POST"],
  ];
  for (const [method, path, allow] of cases) {
    const res = await fetch(`${w.url}${path}`, { method, headers: { authorization: "Bearer dev-only-admin-token" } });
    assert.equal(res.status, 405, `${method} ${path}`);
    assert.equal(res.headers.get("allow"), allow, `${method} ${path}`);
    if (method !== "HEAD") assert.equal((await res.json()).code, "method_not_allowed");
  }
  const nowhere = await fetch(`${w.url}/nowhere`, { method: "QUERY" });
  assert.equal(nowhere.status, 404);
  assert.equal((await nowhere.json()).code, "not_found");
});

test("the discovery document names the configured PUBLIC_URL, never the request's Host", async () => {
  const configured = await startWorker({ bindings: { PUBLIC_URL: "https://simbind.test/" } });
  try {
    for (const host of ["localhost:4321", "127.0.0.1:9"]) {
      const res = await configured.mf.dispatchFetch(`http://${host}/.well-known/simbind`);
      assert.equal(res.status, 200, host);
      assert.equal((await res.json()).jwks_uri, "https://simbind.test/.well-known/jwks.json", host);
    }
  } finally {
    await configured.dispose();
  }
});
