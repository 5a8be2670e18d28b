#!/usr/bin/env bash
# Times the stages of `make setup` and `make test`, so a slow first run says
# where its minutes went (docs/DEVELOPING.md keeps the table of a fresh
# machine's run).
#   stage.sh begin NAME   a stage starts
#   stage.sh end NAME     it ended: prints "[stage] NAME: N s" and keeps the line
#   stage.sh report       the stages of this run, in order, and their total
#   stage.sh reset        forget the stages of an earlier run
set -euo pipefail
dir="$(dirname "$0")/../.stages"
mkdir -p "$dir"
case "${1:-}" in
  begin) date +%s > "$dir/$2.start" ;;
  end)
    start=$(cat "$dir/$2.start" 2>/dev/null || date +%s)
    line=$(printf '%-28s %5d s' "$2" $(( $(date +%s) - start )))
    echo "[stage] $line"
    echo "$line" >> "$dir/times"
    ;;
  report)
    [ -f "$dir/times" ] || exit 0
    echo "[stage] ---- where this run's time went ----"
    sed 's/^/[stage] /' "$dir/times"
    awk '{ s += $(NF-1) } END { printf "[stage] %-28s %5d s\n", "total", s }' "$dir/times"
    ;;
  reset) rm -rf "$dir" ;;
  *) echo "usage: stage.sh begin|end NAME | report | reset" >&2; exit 2 ;;
esac
