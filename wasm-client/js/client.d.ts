/** A SimBind bridge host: every method may return a value or a promise (wasm-client/README.md). */
export interface SimBindBridge {
  chipInfo(): ChipInfo | string | Promise<ChipInfo | string>;
  chipAttest?(challenge: Uint8Array): ChipInfo | string | Promise<ChipInfo | string>;
  simInfo(): SimInfo | string | Promise<SimInfo | string>;
  nextCounter(): number | string | Promise<number | string>;
  chipSign(transcript: Uint8Array): Uint8Array | string | Promise<Uint8Array | string>;
  simSign?(transcript: Uint8Array): Uint8Array | string | Promise<Uint8Array | string>;
  /** `device_sms`: text `token` (`SB-` and 10 characters, nothing else) to the app's pinned inbound number, with a text the native side builds itself. */
  sendNumberProof?(token: string): unknown | Promise<unknown>;
  /** `firebase_pnv`: run Firebase PNV's custom flow with `nonce` (base64url) over the SIM's carrier and return its token (a JWT). */
  firebasePnvToken?(nonce: string): string | Promise<string>;
  /** `camara_nv`: open `url` over mobile data only, follow every redirect, and resolve with the last answer, `{status, body}` (or JSON text of it). */
  openOverCellular?(url: string): { status: number; body: string } | string | Promise<{ status: number; body: string } | string>;
}
/** What `chipInfo()` (and `chipAttest()`) reports. */
export type ChipInfo =
  | { format?: "simbind-p256"; serial: string; publicKey: string; certificate?: { vendor: string; notAfter: number; signature: string } }
  | { format: "android-key"; keyId: string; certificateChain?: string[] }
  | { format: "apple-appattest"; keyId: string; attestation?: string };
/** What `simInfo()` reports: the subscription carrying the number, each field only where the app can read it. */
export interface SimInfo {
  subscriptionId?: number; slotIndex?: number; cardId?: number; portIndex?: number; embedded?: boolean;
  mcc?: string; mnc?: string; iccid?: string; imsi?: string; eid?: string; msisdn?: string; publicKey?: string;
}
/** Answer of `startRegistration`: a code was sent by SMS to the number (`otp`), the phone must send one (`device_sms`), or Firebase proves it at bind (`firebase_pnv`). */
export interface Registration {
  registrationId: string; proof: "otp" | "device_sms" | "firebase_pnv" | "camara_nv"; otpExpiresAt?: number;
  /** `to` (E.164) and `text` (the token template) are checked by the client; the token and the bind secret stay inside it. */
  deviceSms?: Readonly<{ to: string; text: string; expiresAt: number }>;
}
/** Answer of `completeBinding`. */
export interface Binding { bindingId: string; status: "active" | "suspended" | "revoked"; rebound: boolean; }
/** Answer of `verify`: a short-lived ES256 JWT for the app's backend. */
export interface Grant { grant: string; tokenType: string; expiresAt: number; }
/** Answer of `unbind`. */
export interface Unbound { bindingId: string; status: string; }
/** One HTTP exchange, reported to `onExchange` listeners. */
export interface Exchange { method: string; url: string; request: unknown; status: number; response: unknown; }
/** Thrown by every method: `code` is stable; `source` says who failed. */
export interface SimBindError extends Error {
  name: "SimBindError"; code: string; status: number;
  source: "server" | "bridge" | "client"; detail: string;
}

/** The native bridge: one interface over the three host conventions. */
export class Bridge {
  private constructor();
  /** Wraps an object implementing the SimBind bridge interface. */
  static fromObject(object: SimBindBridge): Bridge;
  /** Adapts an Android `addJavascriptInterface` object (e.g. `window.SimBindNative`). */
  static fromAndroid(object: object): Bridge;
  /** Adapts the iOS handler `webkit.messageHandlers[name]`. */
  static fromIos(name: string): Bridge;
  /** Whether the host offers `method`. */
  has(method: string): boolean;
}

/** A SimBind client: a worker base URL, a native bridge and the audience it signs for. */
export class SimBindClient {
  /** `baseUrl` is `https://` (plain `http://` only to localhost); `audience` is the deployment's `AUDIENCE`. */
  constructor(baseUrl: string, bridge: Bridge, audience: string);
  /** Calls `listener(exchange)` after every HTTP exchange (for logs and demos). */
  onExchange(listener: (exchange: Exchange) => void): void;
  /** Starts registering `phoneNumber` (E.164), proven by a code the worker texts (`otp`) or an SMS the phone sends (`device_sms`). */
  startRegistration(phoneNumber: string, options?: { proof?: "otp" | "device_sms" | "firebase_pnv" | "camara_nv"; fallbackFrom?: Registration | string }): Promise<Registration>;
  /** `device_sms`: has the phone text the token of a registration this client started (the bridge's `sendNumberProof(token)`); any other object: `invalid_argument`, nothing sent. */
  sendNumberProof(registration: Registration): Promise<void>;
  /** Binds this phone's chip and SIM to the registered number: with the `otp` it received (the registration or its id), or, for a `device_sms` registration this client started, without one after `sendNumberProof` (waits up to `waitMs`, default 30 s, for the SMS to arrive). */
  completeBinding(registration: Registration | string, otp?: string, options?: { waitMs?: number }): Promise<Binding>;
  /**
   * Real-time verification; `transaction` (a Uint8Array or ArrayBuffer of 1 to 64 bytes,
   * e.g. a SHA-256 digest) binds the signature and the grant to one action. Any other
   * value is refused (`invalid_transaction`) before anything is sent or signed.
   */
  verify(bindingId: string, transaction?: Uint8Array | ArrayBuffer): Promise<Grant>;
  /** Ends the binding, signed by the bound chip. */
  unbind(bindingId: string): Promise<Unbound>;
}
