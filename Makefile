# SimBind: `make dev` serves the API and the demo; `make test` runs every suite.
# Both install what they need first (scripts/setup.sh, idempotent and pinned).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/.tools/bin:$(HOME)/.cargo/bin:$(PATH)
export WASM_BINDGEN_BIN := $(HOME)/.cargo/bin/wasm-bindgen
export WASM_OPT_BIN := $(CURDIR)/node_modules/.bin/wasm-opt
export ESBUILD_BIN := $(CURDIR)/node_modules/@esbuild/linux-x64/bin/esbuild
export WRANGLER_SEND_METRICS := false
export CLOUDFLARE_CF_FETCH_ENABLED := false
export CARGO_TERM_COLOR := never
# Each stage of setup and test prints its time; `make test` ends with the table.
STAGE := scripts/stage.sh

.PHONY: stage-reset setup build build-worker build-client build-inspector dev test lint test-rust test-fuzz test-wasm test-e2e test-contract test-bench bench bench-core size mutants fuzz clean

setup:
	@./scripts/setup.sh

build: setup build-worker build-client build-inspector

# Two builds: edge-worker/build (production: no dev routes, no outbox; the top
# level of wrangler.toml) and edge-worker/build-dev (cargo feature `dev`:
# `make dev`, the tests).
# Every crate of the worker's module built for size (opt-level z), not only the
# worker's own (Cargo.toml): 21 KB gzip less upload, and the same verification
# throughput as at "s" when the two builds ran side by side (2026-12-06). Not
# in Cargo.toml, where it would also apply to the client's crates, which come
# out larger at z.
WORKER_CARGO := CARGO_PROFILE_RELEASE_OPT_LEVEL=z
# The standard library rebuilt with the worker (rust-src, set up by
# scripts/setup.sh) at the same size setting, with panics that stop at once
# (`immediate-abort`: no message or location, the runtime's trap is the
# report), no derived Debug output, and sha2's compact SHA-256:
# 26 KB gzip less upload (2026-12-07; docs/DEVELOPING.md). build-std and the
# two -Z flags are unstable: RUSTC_BOOTSTRAP lets the image's stable compiler
# take them, as the fuzz targets already do.
WORKER_CARGO += RUSTC_BOOTSTRAP=1 CARGO_UNSTABLE_BUILD_STD=std,panic_abort
WORKER_CARGO += RUSTFLAGS='-Zunstable-options -Cpanic=immediate-abort -Csymbol-mangling-version=legacy -Zfmt-debug=none --cfg sha2_backend_soft="compact"'
build-worker:
	@$(STAGE) begin build-worker
	cd edge-worker && $(WORKER_CARGO) worker-build --release 2>&1 | { grep -Ev '^\s*(Compiling|Downloaded|Downloading)' || true; }
	# The production module as cargo left it, names kept: `make size` reads it.
	cp target/wasm32-unknown-unknown/release/simbind_edge_worker.wasm target/edge-worker-named.wasm
	cd edge-worker && $(WORKER_CARGO) worker-build --release --out-dir build-dev --features dev 2>&1 | { grep -Ev '^\s*(Compiling|Downloaded|Downloading)' || true; }
	# worker-build keeps the name sections; strip them (about 95 KB of the upload),
	# after dropping the exported classes nothing uses (scripts/drop-exports.py).
	for b in build build-dev; do python3 scripts/drop-exports.py edge-worker/$$b/index_bg.wasm; \
	  wasm-opt -Oz --strip-debug --strip-producers edge-worker/$$b/index_bg.wasm -o edge-worker/$$b/index_bg.wasm; done
	@$(STAGE) end build-worker

# Two builds of the client: the production entry (no software chip, no key
# export) and `@simbind/client/testing` (with SoftwareBridge: tests only).
# Each is what wasm-pack would run (cargo, wasm-bindgen, wasm-opt -O), without
# installing wasm-pack: a fresh machine spends no minutes compiling it.
CLIENT_WASM := target/wasm32-unknown-unknown/release/simbind_client.wasm
build-client:
	@$(STAGE) begin build-client
	cargo build --quiet --lib --release --target wasm32-unknown-unknown -p simbind-client
	wasm-bindgen $(CLIENT_WASM) --out-dir wasm-client/pkg --typescript --target web --out-name simbind_client
	cargo build --quiet --lib --release --target wasm32-unknown-unknown -p simbind-client --features testing
	wasm-bindgen $(CLIENT_WASM) --out-dir wasm-client/pkg-testing --typescript --target web --out-name simbind_client
	for d in pkg pkg-testing; do wasm-opt -O wasm-client/$$d/simbind_client_bg.wasm -o wasm-client/$$d/simbind_client_bg.wasm; done
	node scripts/package-client.mjs
	@$(STAGE) end build-client

# The evidence inspector: core's checks in wasm and its page (inspector/web,
# a static site of its own), copied under the demo's assets for `make dev`.
INSPECTOR_WASM := target/wasm32-unknown-unknown/release/simbind_inspector.wasm
build-inspector:
	@$(STAGE) begin build-inspector
	cargo build --quiet --lib --release --target wasm32-unknown-unknown -p simbind-inspector
	wasm-bindgen $(INSPECTOR_WASM) --out-dir inspector/web/pkg --target web --out-name simbind_inspector
	wasm-opt -Oz inspector/web/pkg/simbind_inspector_bg.wasm -o inspector/web/pkg/simbind_inspector_bg.wasm
	node scripts/inspector-samples.mjs
	rm -rf web-demo/inspector && cp -r inspector/web web-demo/inspector && rm -f web-demo/inspector/_headers web-demo/inspector/.gitignore
	@$(STAGE) end build-inspector

dev: build
	@echo "SimBind: API and demo on http://127.0.0.1:8787 (Ctrl-C to stop)"
	wrangler dev --env dev --ip 127.0.0.1 --port 8787 --persist-to .wrangler/state < /dev/null

lint: setup
	@$(STAGE) begin lint
	cargo fmt --all --check
	cargo clippy -p simbind-core --all-targets -- -D warnings
	cargo clippy -p simbind-core --lib --target wasm32-unknown-unknown -- -D warnings
	cargo clippy -p simbind-core --lib --no-default-features --target wasm32-unknown-unknown -- -D warnings
	cargo clippy --target wasm32-unknown-unknown -p simbind-client -p simbind-inspector --lib -- -D warnings
	cargo clippy --target wasm32-unknown-unknown -p simbind-edge-worker -p simbind-client --features simbind-client/testing --all-targets -- -D warnings
	cargo clippy --target wasm32-unknown-unknown -p simbind-edge-worker --features dev --all-targets -- -D warnings
	# Licences, bans and sources (advisories need the advisory database, which
	# a deployment's CI fetches: docs/DEVELOPING.md).
	cargo deny --all-features check --hide-inclusion-graph licenses bans sources
	@$(STAGE) end lint

test-rust: setup
	@$(STAGE) begin test-rust
	cargo test -p simbind-core
	# The worker's build of core: chain signatures answered by the host only.
	cargo test -p simbind-core --no-default-features --test host_only_signatures
	@$(STAGE) end test-rust

# Every fuzz target for a few seconds, after replaying the committed seeds
# (the regression inputs). `make fuzz FUZZ_SECONDS=600` for a real run.
test-fuzz: setup
	@$(STAGE) begin test-fuzz
	FUZZ_SECONDS=$${FUZZ_SECONDS:-4} scripts/fuzz.sh
	@$(STAGE) end test-fuzz

fuzz: setup
	FUZZ_SECONDS=$${FUZZ_SECONDS:-600} scripts/fuzz.sh

test-wasm: setup
	@$(STAGE) begin test-wasm
	# wasm-bindgen's test runner, as `wasm-pack test` would drive it: in Node,
	# then in headless Chromium (its options in wasm-client/webdriver.json).
	cd wasm-client && WASM_BINDGEN_TEST_ONLY_NODE=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
	  cargo test --target wasm32-unknown-unknown --features testing 2>&1 | grep -Ev "^\s*(Compiling|Downloaded|Downloading)"
	cd wasm-client && WASM_BINDGEN_TEST_ONLY_WEB=1 CHROMEDRIVER=/usr/bin/chromedriver CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
	  cargo test --target wasm32-unknown-unknown --features testing 2>&1 | grep -Ev "^\s*(Compiling|Downloaded|Downloading)"
	@$(STAGE) end test-wasm

test-e2e: build
	@$(STAGE) begin test-e2e
	node --test --test-concurrency=1 tests/*.test.mjs
	@$(STAGE) end test-e2e

# Schemathesis against `wrangler dev` from docs/openapi.yaml (about 75 s).
test-contract: build
	@$(STAGE) begin test-contract
	scripts/schemathesis.sh
	@$(STAGE) end test-contract

test: stage-reset setup lint test-rust test-fuzz test-wasm test-e2e test-contract test-bench
	@$(STAGE) report

stage-reset:
	@$(STAGE) reset

# One table, every figure beside a reference measured in the same run,
# written to bench/RESULTS.md (about 6 minutes). `make bench-core` runs the
# criterion benches of core alone.
bench: build
	node bench/run.mjs

bench-core: setup
	cargo bench -p simbind-core --bench protocol
	cargo bench -p simbind-core --bench attestation

# The benchmark harness at a tiny size (seconds, asserts nothing, writes
# nothing): so it cannot rot.
test-bench: build
	@$(STAGE) begin test-bench
	BENCH_TINY=1 node bench/run.mjs > /dev/null
	@$(STAGE) end test-bench

size: build
	@for f in edge-worker/build/index_bg.wasm edge-worker/build-dev/index_bg.wasm wasm-client/pkg/simbind_client_bg.wasm; do \
	  printf '%-45s %8d bytes raw %8d gzip\n' $$f $$(stat -c %s $$f) $$(gzip -9c $$f | wc -c); done
	@# Each part's share of the production worker: wasm-bindgen and the same
	@# optimisation as the upload, with the function names kept.
	@wasm-bindgen target/edge-worker-named.wasm --out-dir target/size-worker --target web --keep-debug
	@python3 scripts/drop-exports.py target/size-worker/edge-worker-named_bg.wasm
	@wasm-opt -Oz -g target/size-worker/edge-worker-named_bg.wasm -o target/size-worker/named.opt.wasm
	@python3 scripts/wasm-size.py target/size-worker/named.opt.wasm --top 40

# Every check in core defended by a test (723 mutants, over an hour on 2 cores; not
# part of `make test`). cargo-mutants is installed here, pinned, on first use.
mutants: setup
	@[ "$$(cargo mutants --version 2>/dev/null | awk '{print $$NF}')" = "27.1.0" ] || cargo install cargo-mutants --version =27.1.0 --locked
	cargo mutants -p simbind-core

clean:
	rm -rf edge-worker/build edge-worker/build-dev wasm-client/pkg wasm-client/pkg-testing dist
