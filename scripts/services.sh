#!/usr/bin/env bash
# Starts and stops the two servers the service stands on, on loopback, each with its own
# port, pid file, log and data directory:
#   services.sh start-mongo PORT (memory|DIR)   embedded MongoDB-wire server
#   services.sh start-redis PORT (none|DIR)     Debian's redis-server (DIR: append-only file)
#   services.sh stop-mongo PORT | stop-redis PORT
# A second start on the same port reuses the running server; a stale pid file is removed; a
# port held by another program is an error, never a hang.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
mkdir -p "$RUN_DIR"

start_mongo() {
  local port=$1 store=$2 pidfile="$RUN_DIR/mongo-wire-$1.pid" log="$RUN_DIR/mongo-wire-$1.log"
  claim_port "$port" "$pidfile" "mongo-wire" && { say "mongo-wire already running on $port"; return 0; }
  local args=(--host 127.0.0.1 --port "$port")
  if [ "$store" = memory ]; then args+=(--memory); else mkdir -p "$store"; args+=(--data "$store/wire.mv"); fi
  nohup java -Xss4m -cp "$TOOLS/mongo-wire/classes:$TOOLS/mongo-wire/lib/*" MongoWire "${args[@]}" \
    >"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  wait_port "$port" 60 "$pidfile" mongo-wire "$log"
  say "mongo-wire listening on 127.0.0.1:$port ($store)"
}

start_redis() {
  local port=$1 store=$2 pidfile="$RUN_DIR/redis-$1.pid" log="$RUN_DIR/redis-$1.log"
  claim_port "$port" "$pidfile" "redis-server" && { say "redis-server already running on $port"; return 0; }
  local args=(--bind 127.0.0.1 --port "$port" --daemonize no --save "" --protected-mode yes)
  if [ "$store" = none ]; then
    args+=(--appendonly no --dir "$RUN_DIR")
  else
    mkdir -p "$store"; args+=(--appendonly yes --dir "$store")
  fi
  nohup redis-server "${args[@]}" >"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  wait_port "$port" 20 "$pidfile" redis-server "$log"
  say "redis-server listening on 127.0.0.1:$port ($store)"
}

case "${1:-}" in
  start-mongo) start_mongo "$2" "$3" ;;
  start-redis) start_redis "$2" "$3" ;;
  stop-mongo) stop_pid "$RUN_DIR/mongo-wire-$2.pid" mongo-wire ;;
  stop-redis) stop_pid "$RUN_DIR/redis-$2.pid" redis-server ;;
  *) die "usage: services.sh start-mongo|start-redis|stop-mongo|stop-redis PORT [STORE]" ;;
esac
