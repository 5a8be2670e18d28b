// The demo's simulated phone: a secure chip and a SIM tray, exposed through
// the SimBind bridge interface (wasm-client/README.md, "The bridge contract").
//
// The chip key is a WebCrypto P-256 key pair generated NON-extractable and
// kept in IndexedDB (CryptoKey objects are structured-cloneable), so the
// private key never exists as bytes in JavaScript and survives a reload. The
// serial, the monotonic counter and the SIM tray persist with it.
//
// Nothing here encodes the protocol: the wasm client builds the transcript
// and hands the bytes to chipSign().

const DB_NAME = "simbind-demo-phone";
const STORE = "device";
const KEY = "phone";
const ECDSA = { name: "ECDSA", namedCurve: "P-256" };
const SIGN = { name: "ECDSA", hash: "SHA-256" };
/** What a native app pins: the deployment's inbound number (wrangler.toml's dev `SMS_INBOUND_NUMBER`) and its own name. */
const INBOUND_NUMBER = "+447700900999";
const APP_NAME = "SimBind demo";

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function openDb() {
  const req = indexedDB.open(DB_NAME, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(STORE);
  return request(req);
}

async function load(db) {
  return request(db.transaction(STORE, "readonly").objectStore(STORE).get(KEY));
}

function save(db, record) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, "readwrite");
    tx.objectStore(STORE).put(record, KEY);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("IndexedDB write aborted"));
  });
}

/** Unpadded base64url of bytes. */
export function b64u(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomDigits(n) {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return Array.from(bytes, (b) => String(b % 10)).join("");
}

function randomHex(n) {
  return Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase();
}

/** `body` followed by its Luhn check digit (ISO/IEC 7812, as ICCIDs use). */
export function luhn(body) {
  let sum = 0;
  [...body].reverse().forEach((ch, i) => {
    let d = Number(ch);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  });
  return body + ((10 - (sum % 10)) % 10);
}

/** `body` (30 digits) followed by its two EID check digits: the whole is 1 mod 97 (GSMA SGP.29). */
export function eidCheck(body) {
  const remainder = [...body].reduce((r, d) => (r * 10 + Number(d)) % 97, 0);
  return body + String(98 - ((remainder * 100) % 97)).padStart(2, "0");
}

/**
 * The two subscriptions of the phone's dual-SIM tray, both carrying the
 * number: SIM A a physical card in slot 1 (index 0), SIM B an eSIM profile on
 * the phone's eUICC (slot 2, index 1, with its EID). Each has what Android
 * reports: a subscription id, slot and card ids, port, the eSIM flag and the
 * operator's MCC/MNC (234/15); and what a privileged app also reads: ICCID
 * (89 44 10 + 12 digits + Luhn), IMSI (234 15 + 10 digits), EID.
 */
function newSims() {
  const first = 1 + Number(randomDigits(3));
  const card = (slotIndex, embedded) => ({
    subscriptionId: first + slotIndex,
    slotIndex,
    cardId: slotIndex,
    portIndex: 0,
    embedded,
    mcc: "234",
    mnc: "15",
    iccid: luhn(`894410${randomDigits(12)}`),
    imsi: `23415${randomDigits(10)}`,
    ...(embedded ? { eid: eidCheck(`8904903200${randomDigits(20)}`) } : {}),
  });
  return { A: card(0, false), B: card(1, true) };
}

/** A chip key pair: the private half can sign, never be exported. */
async function newChipKey(counter) {
  const keys = await crypto.subtle.generateKey(ECDSA, false, ["sign", "verify"]);
  // Public keys are always exportable; "raw" is the 65-byte SEC1 point.
  const publicKey = b64u(await crypto.subtle.exportKey("raw", keys.publicKey));
  return { privateKey: keys.privateKey, publicKey, counter };
}

/**
 * Opens (or creates, on first visit) the phone stored in this browser.
 * The returned phone is an EventTarget firing "change" whenever its chip,
 * counter or SIM tray changes.
 */
export async function openPhone() {
  const db = await openDb();
  let record = await load(db);
  if (record?.sims && record.sims.A.subscriptionId === undefined) {
    record.sims = null; // SIMs from before SIM identity v2: issued again for the next number
    record.msisdn = null;
  }
  if (!record) {
    record = {
      serial: `SBX-${randomHex(6)}`,
      real: await newChipKey(0),
      clone: null,
      chip: "real",
      msisdn: null,
      sims: null,
      slot: "A",
    };
    await save(db, record);
  }
  return new Phone(db, record);
}

export class Phone extends EventTarget {
  #db;
  #record;
  #queue = Promise.resolve();

  constructor(db, record) {
    super();
    this.#db = db;
    this.#record = record;
    const phone = this;
    /** The SimBind bridge interface, for `Bridge.fromObject`. */
    this.bridge = Object.freeze({
      chipInfo: () => phone.#chipInfo(),
      simInfo: () => phone.#simInfo(),
      nextCounter: () => phone.#nextCounter(),
      chipSign: (transcript) => phone.#chipSign(transcript),
      sendNumberProof: (token) => phone.#sendNumberProof(token),
      firebasePnvToken: (nonce) => phone.#firebasePnvToken(nonce),
      openOverCellular: (url) => phone.#openOverCellular(url),
    });
  }

  /** Runs `fn` after every earlier change, then persists and notifies. */
  #change(fn) {
    const run = this.#queue.then(async () => {
      const result = await fn(this.#record);
      await save(this.#db, this.#record);
      this.dispatchEvent(new Event("change"));
      return result;
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  #activeChip() {
    const r = this.#record;
    return r.chip === "clone" && r.clone ? r.clone : r.real;
  }

  // ---- the bridge ----

  #chipInfo() {
    return { format: "simbind-p256", serial: this.#record.serial, publicKey: this.#activeChip().publicKey };
  }

  #simInfo() {
    const r = this.#record;
    if (!r.sims || !r.msisdn) throw new Error("no SIM card in the tray");
    return { ...r.sims[r.slot], msisdn: r.msisdn };
  }

  /**
   * Texts a SimBind token from the number on the subscription in use, as
   * the bridge contract asks of a native app: the token only (anything else
   * is refused), to the app's pinned inbound number, in a text built here.
   * There is no phone network here: the dev-only stand-in (`POST
   * /dev/sms/send`) plays the network, which stamps that number as the
   * sender, and the provider, which signs the webhook. Fires "sms-sent"
   * with `{ from, to, seen }`.
   */
  async #sendNumberProof(token) {
    if (!/^SB-[0-9A-HJKMNP-TV-Z]{10}$/.test(token)) throw new Error("not a SimBind token");
    const from = this.#record.msisdn;
    if (!from) throw new Error("no SIM card in the tray");
    const to = INBOUND_NUMBER;
    const res = await fetch(`${location.origin}/dev/sms/send`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ from, to, text: `${token} links this number to your phone in ${APP_NAME}.` }),
    });
    if (res.status !== 200) throw new Error(`the network refused the SMS (${res.status})`);
    const { seen } = await res.json();
    this.dispatchEvent(new CustomEvent("sms-sent", { detail: { from, to, seen } }));
    return seen;
  }

  /**
   * Firebase Phone Number Verification's custom flow, as a native app runs
   * it with the nonce the client derived for this bind: Firebase asks the
   * carrier over the SIM in use and returns a token naming its number.
   * Here the dev issuer (`POST /dev/firebase-pnv/token`) plays Firebase and
   * the carrier. Fires "carrier-verified" with `{ number, token }`.
   */
  async #firebasePnvToken(nonce) {
    if (!/^[A-Za-z0-9_-]{43}$/.test(nonce)) throw new Error("not a SimBind nonce");
    const number = this.#record.msisdn;
    if (!number) throw new Error("no SIM card in the tray");
    const res = await fetch(`${location.origin}/dev/firebase-pnv/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ phone_number: number, nonce }),
    });
    if (res.status !== 200) throw new Error(`Firebase could not verify the number (${res.status})`);
    const { token } = await res.json();
    this.dispatchEvent(new CustomEvent("carrier-verified", { detail: { number, token } }));
    return token;
  }

  /**
   * Opens the operator's authorization URL "over mobile data" and follows
   * every redirect, as a native app does on the cellular network only: the
   * dev operator (`GET /dev/operator/authorize`) sees the data session's
   * number in `x-network-msisdn` (the network's view, played here), then
   * redirects to the worker's callback, whose answer this resolves with.
   * Only the dev worker's own origin is opened. Fires "operator-verified".
   */
  async #openOverCellular(url) {
    if (!url.startsWith(`${location.origin}/dev/operator/authorize?`)) throw new Error("not the dev operator");
    const number = this.#record.msisdn;
    if (!number) throw new Error("no SIM card in the tray");
    const res = await fetch(url, { headers: { "x-network-msisdn": number } });
    const body = await res.text();
    this.dispatchEvent(new CustomEvent("operator-verified", { detail: { number, status: res.status } }));
    return { status: res.status, body };
  }

  #nextCounter() {
    // Strictly increasing, across tabs too: under a Web Lock, start from the
    // highest value stored, and persist before handing it out.
    const step = () =>
      this.#change(async (r) => {
        const stored = await load(this.#db);
        const storedChip = stored && (r.chip === "clone" ? stored.clone : stored.real);
        const chip = this.#activeChip();
        chip.counter = Math.max(chip.counter, storedChip?.counter ?? 0) + 1;
        return chip.counter;
      });
    return navigator.locks ? navigator.locks.request("simbind-demo-chip-counter", step) : step();
  }

  async #chipSign(transcript) {
    const bytes = new Uint8Array(transcript).slice();
    const signature = await crypto.subtle.sign(SIGN, this.#activeChip().privateKey, bytes);
    return new Uint8Array(signature); // WebCrypto's ECDSA output is r || s, 64 bytes
  }

  // ---- what the page shows and the attack buttons ----

  /** A snapshot for display. */
  get state() {
    const r = this.#record;
    const chip = this.#activeChip();
    return {
      serial: r.serial,
      chip: r.chip === "clone" && r.clone ? "clone" : "real",
      publicKey: chip.publicKey,
      counter: chip.counter,
      realCounter: r.real.counter,
      msisdn: r.msisdn,
      slot: r.slot,
      sims: r.sims ? { A: { ...r.sims.A }, B: { ...r.sims.B } } : null,
    };
  }

  /** Gives the phone two subscriptions carrying `msisdn`: SIM A (physical, in use) and SIM B (eSIM). */
  setNumber(msisdn) {
    return this.#change((r) => {
      if (r.msisdn === msisdn && r.sims) return;
      r.msisdn = msisdn;
      r.sims = newSims();
      r.slot = "A";
    });
  }

  /** Makes SIM `slot` ("A" or "B") the subscription the app reads. */
  insertSim(slot) {
    if (slot !== "A" && slot !== "B") throw new Error(`no SIM ${slot}`);
    return this.#change((r) => {
      r.slot = slot;
    });
  }

  /** Moves the number to the other subscription (physical SIM ↔ eSIM). */
  swapSim() {
    return this.#change((r) => {
      r.slot = r.slot === "A" ? "B" : "A";
    });
  }

  /**
   * Replaces the chip by a clone: a different key pair claiming the same
   * serial, with a counter far ahead of the real one.
   */
  useClonedChip() {
    return this.#change(async (r) => {
      if (!r.clone) r.clone = await newChipKey(r.real.counter + 1000);
      r.clone.counter = Math.max(r.clone.counter, r.real.counter + 1000);
      r.chip = "clone";
    });
  }

  /** The real chip back in, the SIM left as it is (a phone binds with its own chip). */
  useRealChip() {
    return this.#change((r) => {
      r.chip = "real";
    });
  }

  /** The real chip and SIM A, as the owner's phone should be. */
  restore() {
    return this.#change((r) => {
      r.chip = "real";
      r.slot = "A";
    });
  }
}
