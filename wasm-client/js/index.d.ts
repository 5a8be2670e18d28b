export { default, initSync, buildTranscript, bindAttestationChallenge } from "./simbind_client.js";
export * from "./client.js";
