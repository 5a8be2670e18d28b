// Simulated phones for the end-to-end tests, built on the wasm client's
// SoftwareBridge, so transcripts come from the same core as the worker's.
import { Bridge, SimBindClient, SoftwareBridge, buildTranscript } from "../../wasm-client/pkg/testing/node.js";

export const NUMBER = "+447700900123";
export const OTHER_NUMBER = "+447700900456";
/** What an ordinary Android app reads of a physical SIM in slot 0 (the dev deployment's `SIM_LEVEL` is `device`). */
export const DEVICE_FIELDS = { subscriptionId: 1, slotIndex: 0, cardId: 0, portIndex: 0, embedded: false, mcc: "234", mnc: "15" };
/** Two SIMs for one number, as a privileged app reads them: B is a new subscription in the same slot. */
export const SIM_A = { ...DEVICE_FIELDS, iccid: "8944100000000000018", imsi: "234150000000001", msisdn: NUMBER };
export const SIM_B = { ...DEVICE_FIELDS, subscriptionId: 2, iccid: "8944100000000000026", imsi: "234150000000002", msisdn: NUMBER };

let serials = 0;

/** The dev deployment's audience (wrangler.toml `AUDIENCE`): what every test client signs for. */
export const AUDIENCE = "simbind-dev";

/**
 * A phone: a software chip with a SIM, and a client bound to `url`. With
 * `sendNumberProof(token)` its bridge can also text a token (the device-SMS
 * proof); with `firebasePnvToken(nonce)`, get a Firebase PNV token; with
 * `openOverCellular(url)`, open the operator's authorization over mobile data.
 */
export function phone(url, { sim = SIM_A, serial = `CHIP-${++serials}-${process.pid}`, key, audience = AUDIENCE, sendNumberProof, firebasePnvToken, openOverCellular } = {}) {
  const device = key ? SoftwareBridge.withKey(serial, key) : new SoftwareBridge(serial);
  device.insertSim(sim);
  const extra = Object.fromEntries(Object.entries({ sendNumberProof, firebasePnvToken, openOverCellular }).filter(([, f]) => f));
  const host = Object.keys(extra).length
    ? {
        chipInfo: () => device.chipInfo(),
        simInfo: () => device.simInfo(),
        nextCounter: () => device.nextCounter(),
        chipSign: (t) => device.chipSign(t),
        simSign: (t) => device.simSign(t),
        ...extra,
      }
    : device;
  const client = new SimBindClient(url, Bridge.fromObject(host), audience);
  const exchanges = [];
  client.onExchange((e) => exchanges.push(e));
  return { device, client, serial, exchanges, lastRequest: () => exchanges.at(-1).request };
}

/** Registers `number` on `p` and binds it with the OTP from the dev outbox. */
export async function bindPhone(w, p, number = NUMBER) {
  const { registrationId } = await p.client.startRegistration(number);
  const binding = await p.client.completeBinding(registrationId, await w.otp(number));
  return { registrationId, ...binding };
}

/** Waits until `check()` is truthy (work a worker does on its own: an alarm, a push) and returns its value. */
export async function until(check, what = "a condition", ms = 10_000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Awaits a rejected promise and returns the SimBindError. */
export async function refusal(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected a refusal, got success");
}

let numbers = 0;

/** Appends a Luhn check digit. */
export function luhn(body) {
  let sum = 0;
  [...body].reverse().forEach((ch, i) => {
    let d = Number(ch);
    if (i % 2 === 0) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
  });
  return body + ((10 - (sum % 10)) % 10);
}

/** A fresh number and two SIMs carrying it (A and B), unique per call. */
export function subscriber() {
  const n = String(++numbers).padStart(4, "0");
  const pid = String(process.pid % 10000).padStart(4, "0");
  const number = `+4477${pid}${n}`;
  const sim = (slot) => ({
    ...DEVICE_FIELDS,
    subscriptionId: slot,
    iccid: luhn(`894410${pid}${n}00${slot}`),
    imsi: `23415${pid}${n}${slot}`,
    msisdn: number,
  });
  return { number, simA: sim(1), simB: sim(2) };
}

/** A bridge SIM (camelCase) in its wire form (snake_case), without its key. */
export function wireSim(sim) {
  const wire = {};
  for (const [name, value] of Object.entries(sim)) {
    if (name === "publicKey" || name === "secretKey") continue;
    wire[name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value;
  }
  return wire;
}

/** Signs evidence by hand, for requests the client would never build. */
export async function signedEvidence(device, challenge, ceremony, subject) {
  const chip = device.chipInfo();
  const sim = device.simInfo();
  const counter = device.nextCounter();
  const transaction = challenge.transaction ? Buffer.from(challenge.transaction, "base64url") : undefined;
  const transcript = buildTranscript(ceremony, challenge.challenge, challenge.audience, subject, chip, sim, counter, transaction);
  return {
    challenge: challenge.challenge,
    chip: { format: chip.format, serial: chip.serial, public_key: chip.publicKey },
    sim: wireSim(sim),
    counter,
    chip_signature: Buffer.from(device.chipSign(transcript)).toString("base64url"),
  };
}

/** The dev deployment's inbound number (wrangler.toml `SMS_INBOUND_NUMBER`): what a test app pins. */
export const INBOUND_NUMBER = "+447700900999";

/**
 * A native `sendNumberProof(token)` for `phone()`, as the bridge contract
 * asks: only a token, texted to the app's pinned inbound number with a
 * text the native side builds. The dev stand-in for the network and the SMS
 * provider (`POST /dev/sms/send`) stamps `from` as the sender. Each answer
 * (`{seen}`) is pushed to `sent`.
 */
export function networkSms(url, from, sent = []) {
  return async (token) => {
    if (!/^SB-[0-9A-HJKMNP-TV-Z]{10}$/.test(token)) throw new Error("not a SimBind token");
    const text = `${token} links this number to your phone in SimBind demo.`;
    const res = await fetch(`${url}/dev/sms/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ from, to: INBOUND_NUMBER, text }) });
    if (res.status !== 200) throw new Error(`dev SMS: ${res.status}`);
    sent.push(await res.json());
  };
}
