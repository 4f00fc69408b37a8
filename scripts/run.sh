#!/usr/bin/env bash
# `make run`: installs what is missing, starts the embedded MongoDB-wire server (persistent,
# under .data/) and Redis unless MONGODB_URI / REDIS_URL point elsewhere, publishes the
# checklists, seeds the demo, then serves the API under gunicorn with an RQ worker and the
# periodic-job scheduler. Each of those three is supervised: when one exits it is started
# again, with back-off, and the restart is said here. Ctrl-C stops everything this script
# started (servers it reused stay up).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/bootstrap.sh"

MONGO_PORT=${MONGO_PORT:-27117}
REDIS_PORT=${REDIS_PORT:-6380}
export HOST=${HOST:-127.0.0.1} PORT=${PORT:-8000}
mkdir -p "$RUN_DIR"
SUPERVISED=(api worker scheduler)
for name in "${SUPERVISED[@]}"; do
  pid_alive "$RUN_DIR/$name.pid" && die "the $name is already running (pid $(cat "$RUN_DIR/$name.pid")); stop it first: make stop"
done
port_open "$PORT" && die "port $PORT is in use; set PORT to another one"

# From here on, Ctrl-C or any failure stops what this run started, and only that.
started=()
cleanup() {
  set +e
  for name in "${SUPERVISED[@]}"; do
    if [[ " ${started[*]} " == *" $name "* ]]; then
      stop_pid "$RUN_DIR/$name.pid" "$name"
      stop_pid "$RUN_DIR/$name.child.pid" "$name"  # in case its supervisor had to be killed
    fi
  done
  for s in "${started[@]}"; do
    case "$s" in mongo:* | redis:*) "$ROOT/scripts/services.sh" "stop-${s%%:*}" "${s##*:}" ;; esac
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

seed_default=0
if [ -z "${MONGODB_URI:-}" ]; then
  port_open "$MONGO_PORT" && pid_alive "$RUN_DIR/mongo-wire-$MONGO_PORT.pid" || started+=("mongo:$MONGO_PORT")
  "$ROOT/scripts/services.sh" start-mongo "$MONGO_PORT" "$DATA_DIR/mongo"
  export MONGODB_URI="mongodb://127.0.0.1:$MONGO_PORT/safety"
  seed_default=1   # the embedded database is ours: the demo goes in
fi
if [ -z "${REDIS_URL:-}" ]; then
  port_open "$REDIS_PORT" && pid_alive "$RUN_DIR/redis-$REDIS_PORT.pid" || started+=("redis:$REDIS_PORT")
  "$ROOT/scripts/services.sh" start-redis "$REDIS_PORT" "$DATA_DIR/redis"
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
fi
if [ -z "${SECRET_KEY:-}" ]; then
  # Embedded mode only: a random key kept with the data, so tokens and QR signatures survive
  # restarts. Production sets SECRET_KEY explicitly.
  mkdir -p "$DATA_DIR"
  [ -s "$DATA_DIR/secret_key" ] || "$PY" -c 'import secrets; print(secrets.token_urlsafe(48))' >"$DATA_DIR/secret_key"
  SECRET_KEY=$(cat "$DATA_DIR/secret_key"); export SECRET_KEY
fi
if [ -z "${AUDIT_SIGNING_KEY:-}" ]; then
  # Likewise the Ed25519 seed that signs the audit chains: generated once, kept with the data
  # (a new key would still verify old signatures only with the old public key).
  mkdir -p "$DATA_DIR"
  [ -s "$DATA_DIR/audit_signing_key" ] || (umask 077 && "$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())' >"$DATA_DIR/audit_signing_key")
  AUDIT_SIGNING_KEY=$(cat "$DATA_DIR/audit_signing_key"); export AUDIT_SIGNING_KEY
fi

flask=("$VENV/bin/flask" --app server.app:create_app)
"${flask[@]}" init-db
# Seeding first: it marks a new embedded database as the project's own.
if [ "${SEED_DEMO:-$seed_default}" = 1 ]; then "${flask[@]}" seed-demo; fi
"${flask[@]}" publish-checklists

supervise worker "$RUN_DIR/worker.log" "$PY" -m server.jobs.worker
started+=(worker)
supervise scheduler "$RUN_DIR/scheduler.log" "$PY" -m server.jobs.scheduler
started+=(scheduler)
supervise api - "$VENV/bin/gunicorn" -c python:server.gunicorn_conf --bind "$HOST:$PORT" --workers "${WEB_CONCURRENCY:-2}" \
  --threads 4 --access-logfile - "server.app:create_app()"
started+=(api)
wait_port "$PORT" 30 "$RUN_DIR/api.pid" api /dev/null
say "API on http://$HOST:$PORT  (docs: http://$HOST:$PORT/docs, health: /health)"
say "logs: $RUN_DIR/worker.log, $RUN_DIR/scheduler.log; Ctrl-C stops everything started here"
wait "$(cat "$RUN_DIR/api.pid")"
