#!/usr/bin/env bash
# `make bench [ONLY=<part>]`: runs every benchmark part (bench/<part>.py) or one, against a
# MongoDB-wire server on its persistent H2 store (as `make run` uses) and a Redis, both
# started here on free ports and stopped afterwards. Each part prints its figures and ends
# with one `TARGET <name> measured=<value> target=<op><value> PASS|MISS` line per target.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/bootstrap.sh"

start_scratch_servers BENCH disk safety_bench

cd "$ROOT"
if [ -n "${1:-}" ]; then
  parts=("$1")
  [ -f "bench/$1.py" ] || die "no benchmark part '$1' (bench/$1.py)"
else
  parts=()
  for f in bench/*.py; do
    name=$(basename "$f" .py)
    case "$name" in __init__|common) continue ;; esac
    parts+=("$name")
  done
fi
status=0
for part in "${parts[@]}"; do
  say "part $part"
  "$PY" -m "bench.$part" || status=1
done
exit $status
