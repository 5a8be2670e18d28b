// A stranger who knows a binding id and floods its object: the requests the
// attacker's suite and bench/abuse.mjs send, and what they count.
import { signedEvidence } from "./phone.mjs";

const codeOf = async (res) => (res.ok ? "ok" : (await res.json()).code);

/** A stranger's verify of `bindingId` from `ip`: a fresh challenge, evidence from `device` (not the bound chip); the answer as "status code". */
export async function strangerVerify(worker, bindingId, device, ip) {
  const headers = { "cf-connecting-ip": ip };
  const asked = await worker.post(`/v1/bindings/${bindingId}/challenge`, { ceremony: "verify" }, headers);
  if (asked.status !== 200) return `${asked.status} ${await codeOf(asked)}`;
  const body = await signedEvidence(device, await asked.json(), "verify", bindingId);
  const res = await worker.post(`/v1/bindings/${bindingId}/verify`, body, headers);
  return `${res.status} ${await codeOf(res)}`;
}

/** How many writes the binding's object made for unauthenticated refusals: its tally counts and used nonces. */
export async function strangerWrites(worker, bindingId) {
  const rows = await worker.objectByName("BINDINGS", bindingId);
  const tallied = (rows.tally ?? []).filter((t) => t.event === "denied_unverified").reduce((n, t) => n + t.count, 0);
  return { tallied, nonces: (rows.used_nonce ?? []).length };
}
