#!/usr/bin/env bash
# `make test`: installs what is missing, starts a throw-away MongoDB-wire server (memory) and
# Redis on free ports, runs the whole pytest suite against them, and stops them again.
# Arguments go to pytest. TEST_MONGODB_URI / TEST_REDIS_URL use existing servers instead.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/bootstrap.sh"

# The throw-away servers keep their pid files and logs in a temporary directory of their own.
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/safety-test.XXXXXX"); export RUN_DIR
started=()
cleanup() {
  for s in "${started[@]}"; do "$ROOT/scripts/services.sh" "stop-${s%%:*}" "${s##*:}"; done
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${TEST_MONGODB_URI:-}" ]; then
  port=$(free_port)
  started+=("mongo:$port")
  "$ROOT/scripts/services.sh" start-mongo "$port" memory
  export TEST_MONGODB_URI="mongodb://127.0.0.1:$port/safety_test"
fi
if [ -z "${TEST_REDIS_URL:-}" ]; then
  port=$(free_port)
  started+=("redis:$port")
  "$ROOT/scripts/services.sh" start-redis "$port" none
  export TEST_REDIS_URL="redis://127.0.0.1:$port/0"
fi
export MONGO_WIRE_CLASSPATH="${MONGO_WIRE_CLASSPATH:-$TOOLS/mongo-wire/classes:$TOOLS/mongo-wire/lib/*}"

cd "$ROOT"
"$PY" -m pytest "$@"
