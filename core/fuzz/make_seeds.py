#!/usr/bin/env python3
"""Writes the committed seed corpus (corpus/<target>/) from the real fixtures
and the test vectors in docs/PROTOCOL.md. Run from anywhere; idempotent."""
import base64, glob, hashlib, json, os, re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
FIX = os.path.join(ROOT, "core", "tests", "fixtures", "attestation")


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4))


def write(target, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    name = "seed-" + hashlib.sha256(data).hexdigest()[:16]
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def pem_ders(text):
    blocks = re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S)
    return [base64.b64decode("".join(b.split())) for b in blocks]


def main():
    doc = open(os.path.join(ROOT, "docs", "PROTOCOL.md")).read()
    block = doc.split("<!-- BEGIN TEST VECTORS -->")[1].split("```json")[1].split("```")[0]
    vectors = json.loads(block)

    # Android chains, each certificate prefixed by its 2-byte length.
    for pem in sorted(glob.glob(os.path.join(FIX, "android", "*.pem"))):
        ders = pem_ders(open(pem).read())
        write("android_attestation", b"".join(len(d).to_bytes(2, "big") + d for d in ders))
    write("android_attestation", open(os.path.join(FIX, "android", "sample_revocation_status.json")).read())
    write("android_attestation", '{"minSecurityLevel":"TRUSTED_ENVIRONMENT","requireLocked":true,'
          '"requireVerifiedBoot":true,"allowedApps":[{"package":"com.example.bank",'
          '"signatureSha256":["' + "ab" * 32 + '"]}]}')

    # App Attest objects and assertions.
    apple = json.load(open(os.path.join(FIX, "apple", "devicecheck-appattest.json")))
    for item in apple:
        for key in ("attestation", "assertion"):
            if isinstance(item.get(key), str):
                write("apple_appattest", unb64(item[key]))
    dev = json.load(open(os.path.join(FIX, "apple", "node-app-attest_attestation-development.json")))
    write("apple_appattest", unb64(dev["attestation"]))
    for t in vectors["attested_chips"]["transcripts"]:
        if "assertion_hex" in t:
            write("apple_appattest", bytes.fromhex(t["assertion_hex"]))

    # Challenges and transcripts.
    write("challenge_and_transcript", bytes.fromhex(vectors["challenge"]["challenge_hex"]))
    for t in vectors["transcripts"] + vectors["attested_chips"]["transcripts"]:
        write("challenge_and_transcript", bytes.fromhex(t["transcript_hex"]))

    # Keys, signatures, base64url.
    for t in vectors["transcripts"] + vectors["attested_chips"]["transcripts"]:
        for key in ("chip_public_key_hex", "chip_public_key_uncompressed_hex", "sim_public_key_hex"):
            if t.get(key):
                write("keys_and_signatures", bytes.fromhex(t[key]))
        if "chip_signature_hex" in t:
            write("keys_and_signatures", bytes.fromhex(t["chip_signature_hex"]))
    write("keys_and_signatures", vectors["challenge"]["challenge_b64url"])

    # Grants and JWKS.
    grant = vectors.get("grant", {})
    for key in ("token", "jwt", "grant"):
        if isinstance(grant.get(key), str):
            write("grant", grant[key])
    if "jwks" in grant:
        write("grant", json.dumps(grant["jwks"]))

    # Identifiers and sealed values.
    for text in ("+447700900123", "+14155550100", "8944100000000000018", "234150000000001",
                 "CHIP-0001", "bnd_AQEBAQEBAQEBAQEBAQEBAQ", "reg_AAAAAAAAAAAAAAAAAAAAAA",
                 "123456", "2001:db8::1", "192.0.2.7", "android-key", "apple-appattest",
                 "simbind-p256", b64u(b"\x7f" * 32)):
        write("identifiers", text)

    # Request bodies: the first byte picks the type (0 register, 1 challenge,
    # 2 bind, 3 evidence).
    t = vectors["transcripts"][0]
    evidence = {
        "challenge": b64u(bytes.fromhex(t["challenge_hex"])),
        "chip": {"format": "simbind-p256", "serial": t.get("chip_serial", "CHIP-0001"),
                 "public_key": b64u(bytes.fromhex(t["chip_public_key_hex"]))},
        "sim": {"iccid": t["iccid"], "imsi": t["imsi"], "msisdn": t["msisdn"]},
        "counter": t["counter"],
        "chip_signature": b64u(bytes.fromhex(t["chip_signature_hex"])),
    }
    write("request_body", b"\x00" + json.dumps({"phone_number": "+447700900123"}).encode())
    write("request_body", b"\x01" + json.dumps({"ceremony": "verify", "transaction": b64u(b"\x01" * 32)}).encode())
    write("request_body", b"\x02" + json.dumps({"otp": "123456", "evidence": evidence}).encode())
    write("request_body", b"\x03" + json.dumps(evidence).encode())
    a = vectors["attested_chips"]["transcripts"][0]
    write("request_body", b"\x03" + json.dumps({
        "challenge": b64u(bytes.fromhex(a["challenge_hex"])),
        "chip": {"format": "android-key", "key_id": a["key_id"]},
        "sim": {"iccid": a["iccid"], "imsi": a["imsi"], "msisdn": a["msisdn"]},
        "counter": a["counter"],
        "chip_signature": b64u(bytes.fromhex(a["chip_signature_hex"])),
    }).encode())


if __name__ == "__main__":
    main()
