// Turns wasm-bindgen's output in wasm-client/pkg into the published npm
// package: name, version, exports for browsers and Node, types, files, README.
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

const root = new URL("../wasm-client/", import.meta.url);
const pkg = new URL("pkg/", root);
// The version is the workspace's (Cargo.toml), as the crate's own.
const workspace = readFileSync(new URL("../Cargo.toml", root), "utf8");
const version = workspace.match(/^\[workspace\.package\][^[]*?^version\s*=\s*"([^"]+)"/m)?.[1];
if (!version) throw new Error("no version in Cargo.toml [workspace.package]");

// The JavaScript shell (bridge hosts, fetch, the order of the steps) and the
// entry points, beside wasm-bindgen's glue.
const shell = ["client.js", "client.d.ts", "node.js", "node.d.ts"];
// The bridge conformance kit: an entry of its own (`@simbind/client/conformance`).
const kit = ["conformance.js", "conformance.d.ts"];
for (const file of [...shell, ...kit, "index.js", "index.d.ts"]) copyFileSync(new URL(`js/${file}`, root), new URL(file, pkg));
// The testing entry: the same client built with the software chip
// (`--features testing`), under pkg/testing/. Production never loads it.
const testing = new URL("testing/", pkg);
rmSync(testing, { recursive: true, force: true });
mkdirSync(testing, { recursive: true });
for (const file of ["simbind_client.js", "simbind_client.d.ts", "simbind_client_bg.wasm", "simbind_client_bg.wasm.d.ts"]) {
  copyFileSync(new URL(`pkg-testing/${file}`, root), new URL(file, testing));
}
for (const file of shell) copyFileSync(new URL(`js/${file}`, root), new URL(file, testing));
copyFileSync(new URL("js/testing.js", root), new URL("index.js", testing));
copyFileSync(new URL("js/testing.d.ts", root), new URL("index.d.ts", testing));
copyFileSync(new URL("README.md", root), new URL("README.md", pkg));
copyFileSync(new URL("../LICENSE", root), new URL("LICENSE", pkg));

const manifest = {
  // Scoped: only the scope's owner can publish under @simbind, so no one can
  // squat the name an app team installs (reserve the scope before publishing).
  name: "@simbind/client",
  version,
  description: "SimBind client: binds a phone number to the phone's secure chip and SIM, verified at the edge.",
  license: "Apache-2.0",
  type: "module",
  main: "./node.js",
  module: "./index.js",
  types: "./index.d.ts",
  exports: {
    ".": {
      node: { types: "./node.d.ts", default: "./node.js" },
      types: "./index.d.ts",
      default: "./index.js",
    },
    "./simbind_client_bg.wasm": "./simbind_client_bg.wasm",
    "./conformance": {
      types: "./conformance.d.ts",
      default: "./conformance.js",
    },
    "./testing": {
      node: { types: "./testing/node.d.ts", default: "./testing/node.js" },
      types: "./testing/index.d.ts",
      default: "./testing/index.js",
    },
  },
  files: [
    "index.js",
    "index.d.ts",
    "client.js",
    "client.d.ts",
    "simbind_client.js",
    "simbind_client.d.ts",
    "simbind_client_bg.wasm",
    "simbind_client_bg.wasm.d.ts",
    "node.js",
    "node.d.ts",
    "conformance.js",
    "conformance.d.ts",
    "testing/",
    "README.md",
    "LICENSE",
  ],
  sideEffects: ["./node.js", "./testing/node.js"],
  engines: { node: ">=18" },
  keywords: ["sim-swap", "device-binding", "p256", "webassembly", "cloudflare-workers"],
};
writeFileSync(new URL("package.json", pkg), JSON.stringify(manifest, null, 2) + "\n");
// The demo page loads the same package, served as static assets.
const vendor = new URL("../web-demo/vendor/simbind-client/", root);
rmSync(vendor, { recursive: true, force: true });
mkdirSync(vendor, { recursive: true });
for (const file of ["index.js", "client.js", "conformance.js", "simbind_client.js", "simbind_client_bg.wasm", "simbind_client.d.ts"]) cpSync(new URL(file, pkg), new URL(file, vendor));
console.log(`packaged ${manifest.name}@${manifest.version}`);
