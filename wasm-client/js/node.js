// Node entry point: loads the wasm module synchronously from the package
// directory, then exposes the same API as the browser entry. `init()` is
// kept (already done) so code written for browsers runs unchanged.
import { readFileSync } from "node:fs";
import { initSync } from "./index.js";

initSync({ module: readFileSync(new URL("./simbind_client_bg.wasm", import.meta.url)) });

export * from "./index.js";

/** The module is loaded on import in Node; this resolves at once. */
export default async function init() {}
