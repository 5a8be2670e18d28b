// Turns wasm-pack's output in wasm-client/pkg into the published npm
// package: name, exports for browsers and Node, types, files, README.
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

const root = new URL("../wasm-client/", import.meta.url);
const pkg = new URL("pkg/", root);
const generated = JSON.parse(readFileSync(new URL("package.json", pkg), "utf8"));

for (const file of ["node.js", "node.d.ts"]) copyFileSync(new URL(`js/${file}`, root), new URL(file, pkg));
// The testing entry: the same client built with the software chip
// (`--features testing`), under pkg/testing/. Production never loads it.
const testing = new URL("testing/", pkg);
rmSync(testing, { recursive: true, force: true });
mkdirSync(testing, { recursive: true });
for (const file of ["simbind_client.js", "simbind_client.d.ts", "simbind_client_bg.wasm", "simbind_client_bg.wasm.d.ts"]) {
  copyFileSync(new URL(`pkg-testing/${file}`, root), new URL(file, testing));
}
for (const file of ["node.js", "node.d.ts"]) copyFileSync(new URL(`js/${file}`, root), new URL(file, testing));
copyFileSync(new URL("README.md", root), new URL("README.md", pkg));
copyFileSync(new URL("../LICENSE", root), new URL("LICENSE", pkg));

const manifest = {
  name: "simbind-client",
  version: generated.version,
  description: "SimBind client: binds a phone number to the phone's secure chip and SIM, verified at the edge.",
  license: "Apache-2.0",
  type: "module",
  main: "./node.js",
  module: "./simbind_client.js",
  types: "./simbind_client.d.ts",
  exports: {
    ".": {
      node: { types: "./node.d.ts", default: "./node.js" },
      types: "./simbind_client.d.ts",
      default: "./simbind_client.js",
    },
    "./simbind_client_bg.wasm": "./simbind_client_bg.wasm",
    "./testing": {
      node: { types: "./testing/node.d.ts", default: "./testing/node.js" },
      types: "./testing/simbind_client.d.ts",
      default: "./testing/simbind_client.js",
    },
  },
  files: [
    "simbind_client.js",
    "simbind_client.d.ts",
    "simbind_client_bg.wasm",
    "simbind_client_bg.wasm.d.ts",
    "node.js",
    "node.d.ts",
    "testing/",
    "README.md",
    "LICENSE",
  ],
  sideEffects: ["./node.js"],
  engines: { node: ">=18" },
  keywords: ["sim-swap", "device-binding", "p256", "webassembly", "cloudflare-workers"],
};
writeFileSync(new URL("package.json", pkg), JSON.stringify(manifest, null, 2) + "\n");
// The demo page loads the same package, served as static assets.
const vendor = new URL("../web-demo/vendor/simbind-client/", root);
rmSync(vendor, { recursive: true, force: true });
mkdirSync(vendor, { recursive: true });
for (const file of ["simbind_client.js", "simbind_client_bg.wasm", "simbind_client.d.ts"]) cpSync(new URL(file, pkg), new URL(file, vendor));
console.log(`packaged simbind-client@${manifest.version}`);
