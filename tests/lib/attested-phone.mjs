// Phones with real-format chips for the end-to-end tests: an Android phone
// (Android Key Attestation) and an iPhone (App Attest). Their bridges are
// plain objects driven by the project's wasm client; the attestations come
// from core's test-only issuer (`--example test_attestation`), under a root
// that only the dev configuration's ATTESTATION_TEST_ROOT trusts. Signing
// and App Attest assertions are done here with node:crypto, as a Keystore
// or the Secure Enclave would.
import { createECDH, createHash, createPrivateKey, randomBytes, sign } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Bridge, SimBindClient } from "../../wasm-client/pkg/node.js";
import { AUDIENCE } from "./phone.mjs";

const root = new URL("../../", import.meta.url).pathname;
export const TEST_APP_ID = "ABCDE12345.com.example.bank";

/** Runs core's test-only issuer and parses its JSON. */
export function issue(...args) {
  const out = execFileSync(
    "cargo",
    ["run", "-q", "-p", "simbind-core", "--example", "test_attestation", "--", ...args],
    { cwd: root, encoding: "utf8" },
  );
  return JSON.parse(out);
}

/**
 * `issue`, run straight from the issuer binary that an earlier cargo build
 * (`cargo test`, or `issue` itself) left in target/debug/examples: no
 * `cargo run`, so no build and no wait on cargo's lock while another build
 * runs. Falls back to `issue` only when there is no such binary. Pass it as
 * `attestedPhone`'s `issuer`.
 */
export function quickIssuer() {
  const bin = join(root, "target/debug/examples/test_attestation");
  if (!existsSync(bin)) return issue;
  return (...args) => JSON.parse(execFileSync(bin, args, { encoding: "utf8" }));
}

const sha256 = (...parts) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};

/** A fresh P-256 chip key: scalar, node KeyObject, key id. */
function chipKey() {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const d = ecdh.getPrivateKey();
  const point = ecdh.getPublicKey(); // 0x04 || X || Y
  const key = createPrivateKey({
    key: {
      kty: "EC",
      crv: "P-256",
      d: d.toString("base64url"),
      x: point.subarray(1, 33).toString("base64url"),
      y: point.subarray(33, 65).toString("base64url"),
    },
    format: "jwk",
  });
  return { d, key, keyId: sha256(point).toString("base64url") };
}

/** CBOR header for major type `major` and length `n` (n < 65536). */
function head(major, n) {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 256) return Buffer.from([(major << 5) | 24, n]);
  return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
}
const text = (s) => Buffer.concat([head(3, Buffer.byteLength(s)), Buffer.from(s)]);
const bytes = (b) => Buffer.concat([head(2, b.length), b]);

/** An App Attest assertion by `key` over `clientDataHash` with `counter`. */
export function assertion(key, clientDataHash, counter, appId = TEST_APP_ID) {
  const counterBytes = Buffer.alloc(4);
  counterBytes.writeUInt32BE(counter);
  const authData = Buffer.concat([sha256(appId), Buffer.from([0]), counterBytes]);
  const signature = sign("sha256", sha256(authData, clientDataHash), { key, dsaEncoding: "der" });
  return Buffer.concat([
    head(5, 2),
    text("signature"), bytes(signature),
    text("authenticatorData"), bytes(authData),
  ]);
}

/** An attestation status list (Google's shape) that lists `serials` (hex) as revoked. */
export const revokedList = (...serials) => ({
  entries: Object.fromEntries(serials.map((s) => [s, { status: "REVOKED", reason: "KEY_COMPROMISE" }])),
});

/**
 * A phone with a real-format chip. `format` is "android-key" or
 * "apple-appattest" (`sendNumberProof(token)`, when given, lets its bridge
 * text a token; `firebasePnvToken(nonce)`, get a Firebase PNV token); `unlocked` makes the Android attestation report an
 * unlocked bootloader; `issuer` makes the attestations (`issue`, or
 * `quickIssuer()`).
 */
export function attestedPhone(url, { format, sim, unlocked = false, issuer = issue, sendNumberProof, firebasePnvToken, openOverCellular }) {
  const chip = chipKey();
  let attested = false;
  let counter = 0;
  const info = { format, keyId: chip.keyId };
  const bridge = {
    chipInfo: () => ({ ...info }),
    chipAttest: (challenge) => {
      if (attested) return { ...info }; // a key is attested once
      attested = true;
      const hex = Buffer.from(challenge).toString("hex");
      if (format === "android-key") {
        const made = issuer("android", chip.d.toString("hex"), hex, ...(unlocked ? ["unlocked"] : []));
        return { ...info, certificateChain: made.certificateChain };
      }
      return { ...info, attestation: issuer("apple", chip.d.toString("hex"), hex).attestation };
    },
    simInfo: () => ({ ...sim }),
    nextCounter: () => ++counter,
    chipSign: (transcript) => {
      if (format === "android-key") {
        return sign("sha256", transcript, { key: chip.key, dsaEncoding: "ieee-p1363" });
      }
      return assertion(chip.key, sha256(transcript), ++counter);
    },
    ...(sendNumberProof ? { sendNumberProof } : {}),
    ...(firebasePnvToken ? { firebasePnvToken } : {}),
    ...(openOverCellular ? { openOverCellular } : {}),
  };
  const exchanges = [];
  const connect = (base) => {
    const client = new SimBindClient(base, Bridge.fromObject(bridge), AUDIENCE);
    client.onExchange((e) => exchanges.push(e));
    return client;
  };
  const phone = {
    chip,
    bridge,
    client: connect(url),
    /** The same phone, its app now talking to `base` (a restarted deployment). */
    reconnect: (base) => { phone.client = connect(base); },
    exchanges,
    lastRequest: () => exchanges.at(-1).request,
    /** Pretends the key is new again (its next bind carries an attestation). */
    forgetAttestation: () => { attested = false; },
    /** Rewinds the App Attest counter (a cloned or replaying key). */
    setCounter: (n) => { counter = n; },
  };
  return phone;
}
