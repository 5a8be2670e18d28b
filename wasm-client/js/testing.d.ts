export { default, initSync, buildTranscript, bindAttestationChallenge, firebasePnvNonce, SoftwareBridge } from "./simbind_client.js";
export * from "./client.js";
