// The production entry of simbind-client: the client and its bridge, and the
// two protocol helpers. No software chip: that is `simbind-client/testing`.
export { default, initSync, buildTranscript, bindAttestationChallenge, firebasePnvNonce } from "./simbind_client.js";
export { Bridge, SimBindClient } from "./client.js";
