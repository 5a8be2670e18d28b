export * from "./index.js";
/** The module is loaded on import in Node; this resolves at once. */
export default function init(): Promise<void>;
