// docs/PROTOCOL.md test vectors, checked from JavaScript: the transcript is
// rebuilt through the packaged client, and every signature is verified by
// WebCrypto — an implementation of P-256 independent of the Rust one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { bindAttestationChallenge, buildTranscript, firebasePnvNonce } from "../wasm-client/pkg/node.js";
import { checkGrantSignature } from "./lib/grant.mjs";

const doc = readFileSync(new URL("../docs/PROTOCOL.md", import.meta.url), "utf8");
const block = doc.slice(doc.indexOf("<!-- BEGIN TEST VECTORS -->"), doc.indexOf("<!-- END TEST VECTORS -->"));
const vectors = JSON.parse(block.slice(block.indexOf("```json") + 7, block.lastIndexOf("```")));
const hex = (h) => Buffer.from(h, "hex");

async function ecdsaVerify(publicKeyCompressedHex, signatureHex, message) {
  // WebCrypto's raw import takes uncompressed points only; Node's KeyObject
  // decompresses the SEC1 point (wrapped in SPKI) and hands WebCrypto a JWK.
  const { createPublicKey } = await import("node:crypto");
  const spkiPrefix = Buffer.from("3039301306072a8648ce3d020106082a8648ce3d030107032200", "hex");
  const key = createPublicKey({ key: Buffer.concat([spkiPrefix, hex(publicKeyCompressedHex)]), format: "der", type: "spki" });
  const jwk = key.export({ format: "jwk" });
  const imported = await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, imported, hex(signatureHex), message);
}

/** PROTOCOL.md §3: the SIM block's fields, in order. */
const SIM_FIELDS = ["msisdn", "iccid", "imsi", "eid", "subscription_id", "slot_index", "card_id", "port_index", "embedded", "mcc", "mnc"];
/** A SIM field's canonical text: decimal integers, 1/0 for the eSIM flag, empty when absent. */
const canonical = (value) => (value === undefined ? "" : value === true ? "1" : value === false ? "0" : String(value));
/** field(x) = u32be(len) || x. */
function field(x) {
  const bytes = Buffer.from(x);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}
/** A wire SIM (snake_case) as a bridge reports it (camelCase). */
const bridgeSim = (wire) => Object.fromEntries(Object.entries(wire).map(([k, val]) => [k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()), val]));

test("transcript vectors: client encoding matches, WebCrypto verifies the signatures", async () => {
  for (const v of vectors.transcripts) {
    const chip = { format: "simbind-p256", serial: v.chip_serial, publicKey: hex(v.chip_public_key_hex).toString("base64url") };
    const sim = bridgeSim(v.sim);
    // The SIM block from this document alone: field(value) per SIM field in order, empty when absent.
    assert.deepEqual(v.sim_block.map(([name]) => name), SIM_FIELDS);
    assert.deepEqual(v.sim_block.map(([name, value]) => value), SIM_FIELDS.map((name) => canonical(v.sim[name])));
    assert.equal(Buffer.concat(v.sim_block.map(([, value]) => field(value))).toString("hex"), v.sim_block_hex);
    assert.ok(v.transcript_hex.includes(field(hex(v.sim_block_hex)).toString("hex")), "the transcript carries the block as one field");
    if (v.sim_public_key_hex) sim.publicKey = hex(v.sim_public_key_hex).toString("base64url");
    const challenge = hex(v.challenge_hex).toString("base64url");
    const transaction = v.transaction_hex ? hex(v.transaction_hex) : undefined;
    const bytes = buildTranscript(v.ceremony, challenge, v.audience, v.subject, chip, sim, v.counter, transaction);
    assert.equal(Buffer.from(bytes).toString("hex"), v.transcript_hex);
    assert.ok(await ecdsaVerify(v.chip_public_key_hex, v.chip_signature_hex, bytes), "chip signature");
    if (v.sim_signature_hex) assert.ok(await ecdsaVerify(v.sim_public_key_hex, v.sim_signature_hex, bytes), "SIM signature");
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 1] ^= 1;
    assert.equal(await ecdsaVerify(v.chip_public_key_hex, v.chip_signature_hex, tampered), false);
  }
});

test("chip certificate and grant vectors verify with WebCrypto", async () => {
  const c = vectors.chip_certificate;
  assert.ok(await ecdsaVerify(c.root_public_key_hex, c.signature_hex, hex(c.message_hex)));
  const g = vectors.grant;
  const { ok, header, claims } = await checkGrantSignature(g.jwks, g.jwt);
  assert.ok(ok);
  assert.deepEqual(header, { alg: "ES256", kid: g.kid, typ: "JWT" });
  assert.deepEqual(claims, g.claims);
});

test("challenge and hash vectors match Node's own HMAC-SHA256", async () => {
  const { createHmac } = await import("node:crypto");
  const field = (b) => { const len = Buffer.alloc(4); len.writeUInt32BE(b.length); return Buffer.concat([len, Buffer.from(b)]); };
  const c = vectors.challenge;
  const challenge = hex(c.challenge_hex);
  const body = challenge.subarray(0, challenge.length - 32);
  const mac = createHmac("sha256", c.key_utf8).update(field("SIMBIND-CHALLENGE")).update(body).digest();
  assert.deepEqual(mac, challenge.subarray(challenge.length - 32));
  assert.equal(body.readBigUInt64BE(2), BigInt(c.issued_at));
  assert.equal(body.readBigUInt64BE(10), BigInt(c.issued_at + c.ttl));
  assert.equal(body.subarray(18, 34).toString("hex"), c.nonce_hex);
  // The challenge body ends with field(transaction) (PROTOCOL.md §4).
  const txn = hex(c.transaction_hex);
  assert.deepEqual(body.subarray(body.length - 4 - txn.length), field(txn));
  const { createHash } = await import("node:crypto");
  const worked = createHash("sha256").update("SIMBIND-EXAMPLE-PAYMENT\namount=42.00 EUR\npayee=ACME Ltd").digest("hex");
  assert.equal(c.transaction_hex, worked, "the worked example's hash");
  for (const v of vectors.id_hashes) {
    const h = createHmac("sha256", v.pepper_utf8).update(Buffer.concat([field("SIMBIND-ID"), field(v.kind), field(v.value)])).digest("hex");
    assert.equal(h, v.hash_hex);
  }
  const o = vectors.otp_hash;
  const otp = createHmac("sha256", o.key_utf8).update(Buffer.concat([field("SIMBIND-OTP"), field(o.registration_id), field(o.code)])).digest("base64url");
  assert.equal(otp, o.hash_b64url);
  // The device-SMS token and webhook (PROTOCOL.md §9), from the document alone.
  const d = vectors.device_sms;
  const bits = Buffer.from(d.random_hex, "hex").readBigUInt64BE() & ((1n << 50n) - 1n);
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  const token = "SB-" + Array.from({ length: 10 }, (_, i) => alphabet[Number((bits >> BigInt(5 * (9 - i))) & 31n)]).join("");
  assert.equal(token, d.token);
  assert.equal(d.text, `${token} links this number to your phone in SimBind.`);
  const tokenHash = createHmac("sha256", d.pepper_utf8).update(Buffer.concat([field("SIMBIND-SMS-TOKEN"), field(d.registration_id), field(token)])).digest("base64url");
  assert.equal(tokenHash, d.token_hash_b64url);
  const secretHash = createHmac("sha256", d.pepper_utf8).update(Buffer.concat([field("SIMBIND-BIND-SECRET"), field(d.registration_id), field(d.bind_secret)])).digest("base64url");
  assert.equal(secretHash, d.bind_secret_hash_b64url);
  assert.equal(Buffer.from(d.bind_secret, "base64url").length, 16);
  const wh = d.webhook;
  const webhookMac = createHmac("sha256", wh.secret_utf8).update(`${wh.timestamp}.${wh.body}`).digest("hex");
  assert.equal(wh.signature_header, `t=${wh.timestamp},v1=${webhookMac}`);
  assert.equal(JSON.parse(wh.body).text, d.text);
  // The sealed contact (PROTOCOL.md §6): ChaCha20-Poly1305, binding id as AAD.
  const { createDecipheriv } = await import("node:crypto");
  const sc = vectors.sealed_contact;
  const sealed = Buffer.from(sc.sealed_b64url, "base64url");
  const contactKey = createHmac("sha256", sc.pepper_utf8).update(field("SIMBIND-CONTACT-KEY")).digest();
  assert.equal(sealed.subarray(0, 12).toString("hex"), sc.nonce_hex);
  const open = (aad) => {
    const d = createDecipheriv("chacha20-poly1305", contactKey, sealed.subarray(0, 12), { authTagLength: 16 });
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]).toString();
  };
  assert.equal(open(sc.binding_id), sc.number);
  assert.throws(() => open("bnd_other"), "the binding id is bound as associated data");
});

test("attested-chip vectors: the client derives the bind challenge and encodes real-format transcripts", async () => {
  const { createHash, createPublicKey, verify } = await import("node:crypto");
  const a = vectors.attested_chips;
  const b = a.bind_attestation_challenge;
  const derived = bindAttestationChallenge(hex(b.challenge_hex).toString("base64url"), b.audience, b.registration_id);
  assert.equal(Buffer.from(derived).toString("hex"), b.attestation_challenge_hex);
  // And from this document alone: SHA-256 of the four length-prefixed fields.
  const field = (x) => { const len = Buffer.alloc(4); len.writeUInt32BE(Buffer.byteLength(x)); return Buffer.concat([len, Buffer.from(x)]); };
  const own = createHash("sha256").update(Buffer.concat([field("SIMBIND-ATTEST-BIND"), field(hex(b.challenge_hex)), field(b.audience), field(b.registration_id)])).digest("hex");
  assert.equal(own, b.attestation_challenge_hex);
  for (const v of a.transcripts) {
    const point = hex(v.chip_public_key_uncompressed_hex);
    assert.equal(createHash("sha256").update(point).digest("base64url"), v.key_id, "key id = SHA-256 of the point");
    const chip = { format: v.format, keyId: v.key_id };
    const sim = bridgeSim(v.sim);
    const bytes = buildTranscript(v.ceremony, hex(v.challenge_hex).toString("base64url"), v.audience, v.subject, chip, sim, v.counter);
    assert.equal(Buffer.from(bytes).toString("hex"), v.transcript_hex);
    const key = createPublicKey({ key: { kty: "EC", crv: "P-256", x: point.subarray(1, 33).toString("base64url"), y: point.subarray(33).toString("base64url") }, format: "jwk" });
    if (v.format === "android-key") {
      assert.ok(verify("sha256", bytes, { key, dsaEncoding: "ieee-p1363" }, hex(v.chip_signature_hex)));
    } else {
      // The assertion: CBOR {signature, authenticatorData}; the signature is
      // ECDSA (DER) over SHA-256(authenticatorData || SHA-256(transcript)).
      const clientDataHash = createHash("sha256").update(bytes).digest();
      assert.equal(clientDataHash.toString("hex"), v.client_data_hash_hex);
      const assertion = hex(v.assertion_hex);
      const at = (name) => assertion.indexOf(Buffer.from(name)) + name.length;
      const byteString = (i) => (assertion[i] === 0x58 ? assertion.subarray(i + 2, i + 2 + assertion[i + 1]) : assertion.subarray(i + 1, i + 1 + (assertion[i] & 0x1f)));
      const signature = byteString(at("signature"));
      const authData = byteString(at("authenticatorData"));
      assert.equal(authData.readUInt32BE(33), v.assertion_counter);
      assert.deepEqual(authData.subarray(0, 32), createHash("sha256").update(v.app_id).digest());
      const nonce = createHash("sha256").update(Buffer.concat([authData, clientDataHash])).digest();
      assert.ok(verify("sha256", nonce, { key, dsaEncoding: "der" }, signature));
    }
  }
});

test("firebase_pnv vector: the client derives the nonce, and the token verifies as a backend checks it", async () => {
  const { createHash, createPublicKey, verify } = await import("node:crypto");
  const v = vectors.firebase_pnv;
  const challenge = hex(v.challenge_hex);
  assert.equal(firebasePnvNonce(challenge.toString("base64url"), v.audience, v.registration_id), v.nonce);
  // From this document alone: SHA-256 of the four length-prefixed fields, base64url.
  const field = (x) => { const len = Buffer.alloc(4); len.writeUInt32BE(Buffer.byteLength(x)); return Buffer.concat([len, Buffer.from(x)]); };
  const own = createHash("sha256").update(Buffer.concat([field("SIMBIND-PNV-NONCE"), field(challenge), field(v.audience), field(v.registration_id)])).digest("base64url");
  assert.equal(own, v.nonce);
  // The token: ES256 by the key its kid names, Firebase's iss/aud for the project, the nonce.
  const [h, c, s] = v.token.split(".");
  const header = JSON.parse(Buffer.from(h, "base64url"));
  const claims = JSON.parse(Buffer.from(c, "base64url"));
  assert.deepEqual([header.alg, header.typ], ["ES256", "JWT"]);
  const jwk = v.jwks.keys.find((k) => k.kid === header.kid);
  const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: "jwk" });
  assert.ok(verify("sha256", Buffer.from(`${h}.${c}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url")));
  const project = (p) => `https://fpnv.googleapis.com/projects/${p}`;
  assert.equal(claims.iss, project(v.project_number));
  assert.ok(claims.aud.includes(project(v.project_number)) && claims.aud.includes(project(v.project_id)));
  assert.equal(claims.nonce, v.nonce);
  assert.ok(claims.iat <= v.now && v.now < claims.exp);
});

test("camara_nv vector: state, nonce and PKCE as the document derives them", async () => {
  const { createHash, createHmac } = await import("node:crypto");
  const v = vectors.camara_nv;
  const challenge = hex(v.challenge_hex);
  const field = (x) => { const len = Buffer.alloc(4); len.writeUInt32BE(Buffer.byteLength(x)); return Buffer.concat([len, Buffer.from(x)]); };
  const digest = (domain) => createHash("sha256").update(Buffer.concat([field(domain), field(challenge), field(v.audience), field(v.registration_id)])).digest("base64url");
  assert.equal(v.state, `${v.registration_id}.${digest("SIMBIND-NV-STATE")}`);
  assert.equal(v.nonce, digest("SIMBIND-NV-NONCE"));
  const verifier = createHmac("sha256", v.pepper_utf8).update(Buffer.concat([field("SIMBIND-NV-PKCE"), field(v.registration_id), field(challenge)])).digest("base64url");
  assert.equal(v.code_verifier, verifier);
  assert.equal(v.code_challenge, createHash("sha256").update(verifier).digest("base64url"), "S256");
  assert.equal(v.hashed_phone_number, createHash("sha256").update(v.number).digest("hex"));
});
