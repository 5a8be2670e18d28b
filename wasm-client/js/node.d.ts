export * from "./simbind_client.js";
/** The module is loaded on import in Node; this resolves at once. */
export default function init(): Promise<void>;
