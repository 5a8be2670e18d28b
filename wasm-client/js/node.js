// Node entry point: loads the wasm module synchronously from the package
// directory, then exposes the same API as the browser entry.
import { readFileSync } from "node:fs";
import { initSync } from "./simbind_client.js";

initSync({ module: readFileSync(new URL("./simbind_client_bg.wasm", import.meta.url)) });

export * from "./simbind_client.js";
