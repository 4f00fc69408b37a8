#!/usr/bin/env bash
# `make test`: installs what is missing, starts a throw-away MongoDB-wire server (memory) and
# Redis on free ports, runs the whole pytest suite against them, and stops them again.
# Arguments go to pytest. TEST_MONGODB_URI / TEST_REDIS_URL use existing servers instead.
# The suite runs on every core with pytest-xdist (TEST_WORKERS overrides the count; each worker
# has its own database and Redis db, tests/environment.py); `-n 0` in the arguments runs it in
# this one process instead (for --pdb, -s).
# --dist loadgroup hands out single tests (it balanced better than whole files, loadfile) but
# keeps a module marked xdist_group on one worker.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/bootstrap.sh"
start_scratch_servers TEST memory safety_test
export MONGO_WIRE_CLASSPATH="${MONGO_WIRE_CLASSPATH:-$TOOLS/mongo-wire/classes:$TOOLS/mongo-wire/lib/*}"

cd "$ROOT"
"$PY" -m pytest -n "${TEST_WORKERS:-$(nproc)}" --dist loadgroup "$@"
