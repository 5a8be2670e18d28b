export { default, initSync, buildTranscript, bindAttestationChallenge, SoftwareBridge } from "./simbind_client.js";
export * from "./client.js";
