#!/usr/bin/env bash
# Contract fuzzing: Schemathesis generates requests from docs/openapi.yaml and
# checks every answer of the worker against it (status, schema, media type,
# headers), with positive and negative data and stateful links.
#
#   scripts/schemathesis.sh          # starts `wrangler dev --env dev` itself
#   scripts/schemathesis.sh URL      # a dev worker already running at URL
#                                    # (e.g. `make dev`: the run leaves its
#                                    # records and registrations in its state)
#
# Needs the dev build and the client (edge-worker/build-dev, wasm-client/pkg:
# `make build`; this script builds nothing), node_modules (scripts/setup.sh)
# and the project-local virtualenv:
#
#   python3 -m venv .venv && .venv/bin/pip install schemathesis==4.32.5
#
# Bounded to about 75 seconds: SCHEMATHESIS_MAX_EXAMPLES cases per operation
# and phase (default 40), SCHEMATHESIS_MAX_TIME seconds of Schemathesis
# (default 60), a hard timeout on top, and a 60 s limit on wrangler's start.
# SCHEMATHESIS_SEED=N replays a run; SCHEMATHESIS_REPORT_DIR=DIR keeps reports
# (JUnit, HAR). Exit status: Schemathesis' own (0: green).
#
# Before fuzzing, tests/contract/seed.mjs makes a live binding (bound and
# verified by a software chip) and a pending registration; generated requests
# use their ids half of the time, so the answers of real records (admin
# summaries, audit pages, challenges, `otp_invalid`, `binding_revoked` once a
# generated revoke went through, ...) are checked too, not only 404s. The
# signed ceremonies themselves (bind, verify, unbind that succeed) stay in the
# end-to-end suites: generated data cannot sign a transcript.
#
# Checks run, and why some are left out:
#   not_a_server_error, status_code_conformance, content_type_conformance
#     (every error application/problem+json), response_schema_conformance
#     (every problem with a code documented for that route and status),
#     response_headers_conformance (Cache-Control, X-Content-Type-Options,
#     Vary, Retry-After on 429), negative_data_rejection (schema-invalid input
#     refused; 410 and 413 count as refusals too: an expired challenge, a body
#     over 8 KiB), missing_required_header (no Authorization on an admin route
#     is 401), ignored_auth (admin routes refuse no and a wrong token),
#     ensure_resource_availability (a created registration is found by its
#     links), unsupported_method (a method a route does not serve is 405
#     with `Allow`).
#   Left out:
#   - positive_data_acceptance: a schema-valid request is rightly refused by
#     a security API: a random signature is `bad_signature`, a random but
#     well-formed id names nothing (404), an ICCID fails its Luhn digit, a
#     public key is off the curve, a number's registrations run out (429).
#     The schema cannot express signatures, so "valid per schema" never means
#     "must succeed" here.
#   - use_after_free: about DELETE; this API has none (unbind and revoke are
#     POSTs whose effect the end-to-end suites check).
#   - allow_header_conformance, object_level_authorization: no OPTIONS
#     `Allow` lists, and one admin identity only: nothing for them to compare.
#
# Rate limits: the dev worker's budgets (registrations per number and per
# sender, SMS per hour, admin failures per sender) are live. Generated
# registrations do hit `429 rate_limited` (with Retry-After): a documented
# answer, not a failure. tests/contract/hooks.py gives each generated request
# its own CF-Connecting-IP, so the admin lockout (10 failures per sender and
# hour) does not turn every admin answer into a 429 within seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="4.32.5"
ST="$ROOT/.venv/bin/schemathesis"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-40}"
MAX_TIME="${SCHEMATHESIS_MAX_TIME:-60}"
HARD_TIMEOUT=$((MAX_TIME + 45))

if [ ! -x "$ST" ]; then
  echo "schemathesis: no $ST; create the virtualenv first:" >&2
  echo "  python3 -m venv .venv && .venv/bin/pip install schemathesis==$VERSION" >&2
  exit 2
fi
if [ "$("$ST" --version | awk '{print $NF}')" != "$VERSION" ]; then
  echo "schemathesis: .venv has $("$ST" --version), this script is pinned to $VERSION:" >&2
  echo "  .venv/bin/pip install schemathesis==$VERSION" >&2
  exit 2
fi

export PATH="$ROOT/node_modules/.bin:$PATH"
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
export PYTHONDONTWRITEBYTECODE=1 # loading tests/contract/hooks.py leaves no __pycache__

WORK="$(mktemp -d "${TMPDIR:-/tmp}/simbind-schemathesis-XXXXXX")"
WRANGLER_PID=""
cleanup() {
  if [ -n "$WRANGLER_PID" ]; then
    kill -TERM -- "-$WRANGLER_PID" 2>/dev/null || true
    wait "$WRANGLER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

URL="${1:-}"
if [ -z "$URL" ]; then
  [ -f "$ROOT/edge-worker/build-dev/index_bg.wasm" ] || { echo "no edge-worker/build-dev: run make build" >&2; exit 2; }
  # A snapshot of the dev build, so a rebuild during the run cannot reload
  # the worker under it; wrangler reads a copy of wrangler.toml pointing at
  # it (same [env.dev], demo assets and .dev.vars), and keeps its state here.
  mkdir "$WORK/build-dev"
  cp -R "$ROOT/edge-worker/build-dev/." "$WORK/build-dev/"
  ln -s "$ROOT/.dev.vars" "$WORK/.dev.vars"
  sed -e "s#^main = \"edge-worker/build-dev/index.js\"#main = \"$WORK/build-dev/index.js\"#" \
      -e "s#^main = \"edge-worker/build/index.js\"#main = \"$ROOT/edge-worker/build/index.js\"#" \
      -e "s#^directory = \"web-demo\"#directory = \"$ROOT/web-demo\"#" \
      "$ROOT/wrangler.toml" > "$WORK/wrangler.toml"
  grep -q "^main = \"$WORK/build-dev/index.js\"" "$WORK/wrangler.toml" || { echo "wrangler.toml: [env.dev] main not found" >&2; exit 2; }
  PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  URL="http://127.0.0.1:$PORT"
  setsid wrangler dev --config "$WORK/wrangler.toml" --env dev --ip 127.0.0.1 --port "$PORT" \
    --persist-to "$WORK/state" --log-level warn < /dev/null > "$WORK/wrangler.log" 2>&1 &
  WRANGLER_PID=$!
  deadline=$((SECONDS + 60))
  until curl -sf -o /dev/null "$URL/v1/health"; do
    if [ "$SECONDS" -ge "$deadline" ] || ! kill -0 "$WRANGLER_PID" 2>/dev/null; then
      echo "wrangler dev did not start:" >&2
      cat "$WORK/wrangler.log" >&2
      exit 2
    fi
    sleep 0.25
  done
  echo "wrangler dev --env dev on $URL"
fi
URL="${URL%/}"

# The dev admin token (dev-only, .dev.vars), for the admin security scheme.
if [ -z "${SIMBIND_ADMIN_TOKEN:-}" ]; then
  SIMBIND_ADMIN_TOKEN="$(sed -n 's/^ADMIN_TOKEN=//p' "$ROOT/.dev.vars")"
fi
export SIMBIND_ADMIN_TOKEN

# Real records for generated requests to reach (dev mode only: it reads the
# code from the dev outbox).
BINDINGS='[]' REGISTRATIONS='[]' NUMBERS='[]'
if node "$ROOT/tests/contract/seed.mjs" "$URL" > "$WORK/seed.json" 2> "$WORK/seed.log"; then
  BINDINGS="$(python3 -c 'import json,sys; print(json.dumps([json.load(open(sys.argv[1]))["binding_id"]]))' "$WORK/seed.json")"
  REGISTRATIONS="$(python3 -c 'import json,sys; print(json.dumps([json.load(open(sys.argv[1]))["registration_id"]]))' "$WORK/seed.json")"
  NUMBERS="$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["phone_numbers"]))' "$WORK/seed.json")"
  echo "seeded: $(cat "$WORK/seed.json")"
else
  echo "seeding failed (not a dev worker?); fuzzing without real records:" >&2
  cat "$WORK/seed.log" >&2
fi

cat > "$WORK/schemathesis.toml" <<EOF
hooks = "$ROOT/tests/contract/hooks.py"

[auth.openapi.adminToken]
bearer = "\${SIMBIND_ADMIN_TOKEN}"

[checks.negative_data_rejection]
expected-statuses = [400, 401, 403, 404, 409, 410, 413, 415, 429]
EOF
if [ "$BINDINGS" != "[]" ]; then
  cat >> "$WORK/schemathesis.toml" <<EOF

[dictionaries.bindings]
values = $BINDINGS

[dictionaries.registrations]
values = $REGISTRATIONS

[dictionaries.numbers]
values = $NUMBERS

[parameters]
"path.binding_id" = { dictionary = "bindings", probability = 0.5 }
"path.registration_id" = { dictionary = "registrations", probability = 0.5 }
"query.phone_number" = { dictionary = "numbers", probability = 0.5 }
EOF
fi

CHECKS="not_a_server_error,status_code_conformance,content_type_conformance"
CHECKS="$CHECKS,response_schema_conformance,response_headers_conformance"
CHECKS="$CHECKS,negative_data_rejection,missing_required_header,ignored_auth"
CHECKS="$CHECKS,ensure_resource_availability,unsupported_method"

args=(
  --config-file "$WORK/schemathesis.toml"
  run "$ROOT/docs/openapi.yaml"
  --url "$URL"
  --checks "$CHECKS"
  --mode all
  --phases examples,coverage,fuzzing,stateful
  --max-examples "$MAX_EXAMPLES"
  --max-time "$MAX_TIME"
  --request-timeout 10
  --workers 1 # the host has 2 cores; with 2 workers Hypothesis hit CPython
              # 3.11's "AST constructor recursion depth mismatch" (gh-106905)
  --generation-database none
  --no-color
)
[ -n "${SCHEMATHESIS_SEED:-}" ] && args+=(--seed "$SCHEMATHESIS_SEED")
# SCHEMATHESIS_REPORT_DIR=DIR keeps a JUnit report and a HAR of every exchange.
[ -n "${SCHEMATHESIS_REPORT_DIR:-}" ] && args+=(--report junit,har --report-dir "$(mkdir -p "$SCHEMATHESIS_REPORT_DIR" && cd "$SCHEMATHESIS_REPORT_DIR" && pwd)")

# Run from the scratch directory: Schemathesis writes nothing into the repo.
cd "$WORK"
status=0
timeout --kill-after=10 "$HARD_TIMEOUT" "$ST" "${args[@]}" || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "schemathesis: hard timeout ($HARD_TIMEOUT s)" >&2
fi
exit "$status"
