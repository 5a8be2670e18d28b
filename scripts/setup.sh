#!/usr/bin/env bash
# Installs every tool SimBind builds and tests with, pinned, idempotently.
# Only the package registries are used; nothing is downloaded from elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130
WORKER_BUILD_VERSION=0.8.7
WASM_PACK_VERSION=0.15.1
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '[setup] %s\n' "$*"; }

# Rust target (RUSTUP_AUTO_INSTALL=0: rustup must be asked explicitly).
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
for comp in clippy rustfmt; do
  rustup component list --installed | grep -q "^$comp" || rustup component add "$comp"
done

# Debian packages: Chromium + driver for browser tests. Debian's binaryen (v108)
# breaks wasm-bindgen output, so it must not be on PATH.
apt_install() {
  local need=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
  if [ ${#need[@]} -gt 0 ]; then
    say "apt-get install ${need[*]}"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}
apt_install chromium chromium-driver
if dpkg -s binaryen >/dev/null 2>&1; then
  say "removing Debian binaryen (too old, corrupts wasm-bindgen output)"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get remove -y -qq binaryen >/dev/null
fi

# Cargo-installed tools, each at an exact version.
cargo_tool() { # crate version binary [--locked]
  local crate=$1 version=$2 bin=$3; shift 3
  if [ "$("$bin" --version 2>/dev/null | awk '{print $NF}')" = "$version" ]; then return; fi
  say "cargo install $crate $version"
  cargo install "$crate" --version "=$version" "$@"
}
# wasm-bindgen-cli without --locked: one locked dependency is missing upstream.
cargo_tool wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen
cargo_tool worker-build "$WORKER_BUILD_VERSION" worker-build --locked
cargo_tool wasm-pack "$WASM_PACK_VERSION" wasm-pack --locked

# npm tooling (wrangler, miniflare, binaryen's wasm-opt, playwright-core).
if [ ! -f node_modules/.setup-stamp ] || [ package-lock.json -nt node_modules/.setup-stamp ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.setup-stamp
fi
say "ready"
