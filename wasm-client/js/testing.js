// The testing entry of simbind-client (`simbind-client/testing`): the same
// client, built with the software chip and SIM (`SoftwareBridge`, which
// exports its key). For tests and demos only; production never loads it.
export { default, initSync, buildTranscript, bindAttestationChallenge, firebasePnvNonce, SoftwareBridge } from "./simbind_client.js";
export { Bridge, SimBindClient } from "./client.js";
