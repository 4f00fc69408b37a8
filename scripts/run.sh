#!/usr/bin/env bash
# `make run`: installs what is missing, starts the embedded MongoDB-wire server (persistent,
# under .data/) and Redis unless MONGODB_URI / REDIS_URL point elsewhere, publishes the
# checklists, seeds the demo, then serves the API under gunicorn with an RQ worker and its
# scheduler. Ctrl-C stops everything this script started (servers it reused stay up).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/bootstrap.sh"

MONGO_PORT=${MONGO_PORT:-27117}
REDIS_PORT=${REDIS_PORT:-6380}
export HOST=${HOST:-127.0.0.1} PORT=${PORT:-8000}
pid_alive "$RUN_DIR/api.pid" && die "the API is already running (pid $(cat "$RUN_DIR/api.pid")); stop it first: make stop"
port_open "$PORT" && die "port $PORT is in use; set PORT to another one"

# From here on, Ctrl-C or any failure stops what this run started, and only that.
started=()
cleanup() {
  set +e
  for name in api worker; do
    [[ " ${started[*]} " == *" $name "* ]] && stop_pid "$RUN_DIR/$name.pid" "$name"
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

flask=("$VENV/bin/flask" --app server.app:create_app)
"${flask[@]}" init-db
# Seeding first: it marks a new embedded database as the project's own.
if [ "${SEED_DEMO:-$seed_default}" = 1 ]; then "${flask[@]}" seed-demo; fi
"${flask[@]}" publish-checklists

nohup "$PY" -m server.jobs.worker >"$RUN_DIR/worker.log" 2>&1 </dev/null &
echo $! >"$RUN_DIR/worker.pid"
started+=(worker)
"$VENV/bin/gunicorn" -c python:server.gunicorn_conf --bind "$HOST:$PORT" --workers "${WEB_CONCURRENCY:-2}" --threads 4 \
  --access-logfile - "server.app:create_app()" &
gunicorn_pid=$!
echo "$gunicorn_pid" >"$RUN_DIR/api.pid"
started+=(api)
wait_port "$PORT" 30 "$RUN_DIR/api.pid" api /dev/null
say "API on http://$HOST:$PORT  (docs: http://$HOST:$PORT/docs, health: /health)"
say "worker log: $RUN_DIR/worker.log; Ctrl-C stops everything started here"
wait "$gunicorn_pid"
