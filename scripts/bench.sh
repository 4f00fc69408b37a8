#!/usr/bin/env bash
# `make bench [ONLY=<part>]`: runs every benchmark part (bench/<part>.py) or one, against a
# MongoDB-wire server on its persistent H2 store (as `make run` uses) and a Redis, both
# started here on free ports and stopped afterwards. Each part prints its figures and ends
# with one `TARGET <name> measured=<value> target=<op><value> PASS|MISS` line per target.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/bootstrap.sh"

RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/safety-bench.XXXXXX"); export RUN_DIR
started=()
cleanup() {
  for s in "${started[@]}"; do "$ROOT/scripts/services.sh" "stop-${s%%:*}" "${s##*:}"; done
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(free_port); started+=("mongo:$port")
"$ROOT/scripts/services.sh" start-mongo "$port" "$RUN_DIR/mongo"
export BENCH_MONGODB_URI="mongodb://127.0.0.1:$port/safety_bench"
port=$(free_port); started+=("redis:$port")
"$ROOT/scripts/services.sh" start-redis "$port" none
export BENCH_REDIS_URL="redis://127.0.0.1:$port/0"

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
