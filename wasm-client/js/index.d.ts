export { default, initSync, buildTranscript, bindAttestationChallenge, firebasePnvNonce } from "./simbind_client.js";
export * from "./client.js";
