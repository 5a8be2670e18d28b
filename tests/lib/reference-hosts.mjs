// The project's reference bridge hosts, as the conformance kit meets them in
// a WebView: the native side (here in Node, over a software chip) behind an
// Android-style object or an iOS-style message handler, both strings only,
// exposed to the main frame of the app's origin only. They follow the
// contract of wasm-client/hosts/ (Kotlin and Swift): the token-only SMS to the
// pinned inbound number, a transcript parsed before it is signed (its serial
// and its counter the ones the host handed out), refusals thrown. Each
// `broken` option breaks one rule, as app teams do; the kit must catch each.
import { createHash } from "node:crypto";
import { SoftwareBridge } from "../../wasm-client/pkg/testing/node.js";
import { DEVICE_FIELDS } from "./phone.mjs";

/** What the app pins: the deployment's inbound number (dev `SMS_INBOUND_NUMBER`) and its own name. */
const INBOUND_NUMBER = "+447700900999";
const APP_NAME = "SimBind kit test";
const TOKEN = /^SB-[0-9A-HJKMNP-TV-Z]{10}$/;
const DOMAIN = Buffer.from("SIMBIND-TRANSCRIPT");

const b64u = (bytes) => Buffer.from(bytes).toString("base64url");
const unb64u = (text) => {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("not base64url");
  return new Uint8Array(Buffer.from(text, "base64url"));
};

/** The transcript's fields (docs/PROTOCOL.md §3): u32 length-prefixed, a u16 version after the domain, a u64 counter last. */
function parseTranscript(bytes) {
  const buf = Buffer.from(bytes);
  let at = 0;
  const field = () => {
    if (at + 4 > buf.length) throw new Error("not a transcript");
    const len = buf.readUInt32BE(at);
    if (at + 4 + len > buf.length) throw new Error("not a transcript");
    const value = buf.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    return value;
  };
  if (!field().equals(DOMAIN)) throw new Error("not a transcript");
  if (at + 2 > buf.length || buf.readUInt16BE(at) !== 2) throw new Error("unknown transcript version");
  at += 2;
  const [ceremony, , audience, subject, , serial] = Array.from({ length: 6 }, field);
  field(); // chip key
  field(); // SIM block
  field(); // SIM key
  if (at + 8 !== buf.length) throw new Error("not a transcript");
  return { ceremony: ceremony.toString(), audience: audience.toString(), subject: subject.toString(), serial: serial.toString(), counter: Number(buf.readBigUInt64BE(at)) };
}

/** r ‖ s as DER, what Keystore returns before a host converts it. */
function der(signature) {
  const int = (b) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    let v = b.subarray(i);
    if (v[0] & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return Buffer.concat([Buffer.from([2, v.length]), v]);
  };
  const body = Buffer.concat([int(Buffer.from(signature.subarray(0, 32))), int(Buffer.from(signature.subarray(32)))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/**
 * A host for `number` against the dev deployment at `origin` (where the
 * phone's SMS goes through `POST /dev/sms/send`). `broken`: one of
 * `signsPrehashed`, `derSignature`, `counterStuck`, `signsAnything`,
 * `smsAnyText`, `emptyStrings`, `allFrames`, `errorValues`, `noCounter`.
 */
export function referenceHost({ origin, number, broken = null }) {
  const serial = `KIT-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const chip = new SoftwareBridge(serial);
  chip.insertSim(broken === "emptyStrings" ? { ...DEVICE_FIELDS, iccid: "" } : DEVICE_FIELDS);
  let issued = null;
  const refuse = (why) => {
    if (broken === "errorValues") return `error: ${why}`;
    throw new Error(why);
  };
  const methods = {
    chipInfo: () => JSON.stringify(chip.chipInfo()),
    simInfo: () => JSON.stringify(chip.simInfo()),
    nextCounter: () => {
      if (broken === "counterStuck") return "7";
      issued = Number(chip.nextCounter());
      return String(issued);
    },
    chipSign: (transcript) => {
      let bytes;
      try {
        bytes = unb64u(transcript);
        if (broken !== "signsAnything") {
          const t = parseTranscript(bytes);
          if (t.serial !== serial) return refuse("the transcript names another chip");
          if (broken !== "counterStuck" && (issued === null || t.counter !== issued)) return refuse("the transcript's counter is not the one just handed out");
          issued = null; // each counter signs once
        }
      } catch (e) {
        return refuse(e.message);
      }
      if (broken === "signsPrehashed") return b64u(chip.chipSign(createHash("sha256").update(bytes).digest()));
      const signature = chip.chipSign(bytes);
      return b64u(broken === "derSignature" ? der(signature) : signature);
    },
    sendNumberProof: async (token) => {
      if (broken !== "smsAnyText" && !TOKEN.test(token)) return refuse("not a SimBind token");
      if (!TOKEN.test(token)) return "sent"; // the broken host "sends" whatever it is given
      const res = await fetch(`${origin}/dev/sms/send`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ from: number, to: INBOUND_NUMBER, text: `${token} links this number to your phone in ${APP_NAME}.` }),
      });
      if (res.status !== 200) throw new Error(`the network refused the SMS (${res.status})`);
      return "sent";
    },
  };
  if (broken === "noCounter") delete methods.nextCounter;
  return { methods, broken };
}

/**
 * Installs `host` in `page` as an Android-style object (`kind: "android"`,
 * `window.SimBindNative`) or an iOS-style handler (`webkit.messageHandlers.simbind`):
 * in the main frame of `origin` only (unless broken `allFrames`), and the
 * native side answers calls from that frame only.
 */
export async function install(page, host, { kind, origin }) {
  await page.exposeBinding("__simbindNative", async ({ frame }, method, args) => {
    const pinned = frame === page.mainFrame() && new URL(frame.url()).origin === origin;
    if (!pinned && host.broken !== "allFrames") throw new Error("not the app's own frame");
    const f = host.methods[method];
    if (typeof f !== "function") throw new Error(`no method ${method}`);
    return f(...args);
  });
  await page.addInitScript(({ kind, names, everywhere }) => {
    if (!everywhere && window.top !== window) return;
    const call = (method, args) => window.__simbindNative(method, args);
    if (kind === "ios") {
      window.webkit = { messageHandlers: { simbind: { postMessage: ({ method, args }) => call(method, args) } } };
    } else {
      window.SimBindNative = Object.fromEntries(names.map((m) => [m, (...args) => call(m, args)]));
    }
  }, { kind, names: Object.keys(host.methods), everywhere: host.broken === "allFrames" });
}
