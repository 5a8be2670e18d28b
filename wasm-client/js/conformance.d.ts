/** One check of the bridge conformance kit. */
export interface ConformanceCheck {
  id: string;
  title: string;
}

/** A check's outcome: `reason` says why it failed (or what passed), `code` the client's or the deployment's code. */
export interface ConformanceResult extends ConformanceCheck {
  status: "passed" | "failed" | "skipped";
  reason: string;
  code?: string;
}

/** The kit's report: JSON for a CI. */
export interface ConformanceReport {
  kit: "simbind-bridge-conformance/1";
  deployment: string;
  host: { kind: "android" | "ios"; name: string | null };
  when: string;
  results: ConformanceResult[];
  passed: number;
  failed: number;
  skipped: number;
}

/** Every check, in the order it runs. */
export const CHECKS: ConformanceCheck[];

/** Drives the bridge through every method and ceremony against a dev or staging deployment. */
export function runConformance(options: {
  baseUrl: string;
  audience: string;
  host: { kind: "android"; name?: string; object?: object } | { kind: "ios"; name: string };
  phoneNumber: string;
  readCode?: (phoneNumber: string) => Promise<string> | string;
  probeFrames?: () => Promise<Record<string, boolean>>;
  proof?: "device_sms" | "otp";
  now?: () => Date;
}): Promise<ConformanceReport>;
