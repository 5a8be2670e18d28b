#!/usr/bin/env bash
# Runs every fuzz target in core/fuzz for FUZZ_SECONDS each (default 8):
# first every committed seed (the regression inputs), then new inputs kept in
# a scratch corpus. Any crash fails the run and leaves its input in
# core/fuzz/artifacts/<target>/. See docs/DEVELOPING.md.
set -euo pipefail
cd "$(dirname "$0")/../core"
seconds=${FUZZ_SECONDS:-8}
scratch=${FUZZ_SCRATCH:-$(mktemp -d)}
# `-s none`: cargo-fuzz otherwise passes -Zsanitizer, which the stable
# toolchain refuses; core has no unsafe code for a sanitizer to watch.
cargo fuzz build -s none 2>&1 | { grep -Ev '^\s*(Compiling|Downloaded|Downloading)' || true; }
for target in $(cargo fuzz list); do
  mkdir -p "$scratch/$target"
  line=$(cargo fuzz run -s none "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 2>&1 | tee "$scratch/$target.log" \
      | grep -E '^stat::number_of_executed_units' || true)
  if grep -qE 'panicked|ERROR: libFuzzer|SUMMARY: libFuzzer' "$scratch/$target.log"; then
    grep -E -A5 'panicked|ERROR|SUMMARY' "$scratch/$target.log" | head -30
    echo "fuzz: $target crashed; the input is in core/fuzz/artifacts/$target/" >&2
    exit 1
  fi
  printf 'fuzz: %-26s %s executions in %ss, no crash\n' "$target" "${line##*: }" "$seconds"
done
