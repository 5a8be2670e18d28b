export * from "./simbind_client.js";
