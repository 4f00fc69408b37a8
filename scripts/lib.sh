# Shared helpers for the project's scripts: paths, logging, ports and pid files.
# Sourced, never run. Everything the scripts create lives under the git-ignored
# .venv/ .tools/ .data/ and .run/ directories of the checkout.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
TOOLS="$ROOT/.tools"
RUN_DIR="${RUN_DIR:-$ROOT/.run}"
DATA_DIR="${DATA_DIR:-$ROOT/.data}"
PY="$VENV/bin/python"

say() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port: an unused loopback port chosen by the kernel.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# pid_alive PIDFILE: true when the pid file names a running process.
pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_port PORT SECONDS PIDFILE NAME LOG: wait until PORT answers; fail clearly when the
# process died or the time ran out, showing the end of its log.
wait_port() {
  local port=$1 secs=$2 pidfile=$3 name=$4 log=$5 i
  for ((i = 0; i < secs * 10; i++)); do
    port_open "$port" && return 0
    if ! pid_alive "$pidfile"; then
      tail -n 20 "$log" >&2 2>/dev/null
      die "$name exited during start-up (log: $log)"
    fi
    sleep 0.1
  done
  tail -n 20 "$log" >&2 2>/dev/null
  die "$name did not listen on 127.0.0.1:$port within ${secs}s (log: $log)"
}

# stop_pid PIDFILE NAME: SIGTERM, wait up to 10 s, then SIGKILL; removes the pid file.
stop_pid() {
  local pidfile=$1 name=$2 pid i
  if pid_alive "$pidfile"; then
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name (pid $pid) ignored SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  rm -f "$pidfile"
}

# supervise NAME LOG COMMAND...: run COMMAND in the background (output appended to LOG, or to
# this terminal when LOG is -) and start it again whenever it exits, after 1 s, then 2, 4, …
# up to 30 s while it keeps failing (1 s again once it ran a minute), saying so each time.
# SIGTERM to the supervisor stops the command and the supervisor. Pid files: NAME.pid (the
# supervisor) and NAME.child.pid (the command) under RUN_DIR.
supervise() {
  local name=$1 log=$2
  shift 2
  (
    set +e
    child='' sleeper='' stopping=0 delay=1
    trap 'stopping=1; kill -TERM $child $sleeper 2>/dev/null' TERM
    while :; do
      # A session of its own: Ctrl-C reaches this script, which stops everything in order.
      if [ "$log" = - ]; then setsid "$@" </dev/null & else setsid "$@" >>"$log" 2>&1 </dev/null & fi
      child=$!
      echo "$child" >"$RUN_DIR/$name.child.pid"
      started_at=$SECONDS
      wait "$child"
      status=$?
      while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done  # a trap woke wait
      rm -f "$RUN_DIR/$name.child.pid"
      child=''
      [ "$stopping" = 1 ] && exit 0
      ((SECONDS - started_at >= 60)) && delay=1
      say "$name exited with status $status; restarting it in ${delay}s"
      sleep "$delay" &
      sleeper=$!
      wait "$sleeper"
      sleeper=''
      [ "$stopping" = 1 ] && exit 0
      say "restarting $name"
      delay=$((delay * 2 > 30 ? 30 : delay * 2))
    done
  ) &
  echo $! >"$RUN_DIR/$name.pid"
}

# claim_port PORT PIDFILE NAME: decide what to do about PORT before starting NAME.
# Returns 0 when NAME is already running there (reuse it), 1 when the port is free
# (start it); exits with a clear message when a stranger holds the port.
claim_port() {
  local port=$1 pidfile=$2 name=$3
  if pid_alive "$pidfile"; then
    port_open "$port" && return 0
    die "$name (pid $(cat "$pidfile")) is running but not listening on $port; stop it: make stop"
  fi
  if [ -e "$pidfile" ]; then
    say "removing stale pid file $pidfile (process $(cat "$pidfile" 2>/dev/null) is gone)"
    rm -f "$pidfile"
  fi
  if port_open "$port"; then
    die "port $port is in use by another program; free it or choose another port for $name"
  fi
  return 1
}

# start_scratch_servers PREFIX MONGO_STORE DB: throw-away MongoDB-wire (MONGO_STORE: memory, or
# "disk" for the persistent store in a temporary directory) and Redis servers on free ports,
# with their pid files and logs in a temporary RUN_DIR; exports PREFIX_MONGODB_URI and
# PREFIX_REDIS_URL (unless already set: then those servers are used) and stops everything
# it started when the calling script exits.
start_scratch_servers() {
  local prefix=$1 store=$2 db=$3 port
  RUN_DIR=$(mktemp -d); export RUN_DIR
  SCRATCH_STARTED=()
  trap _stop_scratch_servers EXIT
  trap 'exit 130' INT TERM
  local mongo_var="${prefix}_MONGODB_URI" redis_var="${prefix}_REDIS_URL"
  if [ -z "${!mongo_var:-}" ]; then
    port=$(free_port); SCRATCH_STARTED+=("mongo:$port")
    [ "$store" = disk ] && store="$RUN_DIR/mongo"
    "$ROOT/scripts/services.sh" start-mongo "$port" "$store"
    export "$mongo_var=mongodb://127.0.0.1:$port/$db"
  fi
  if [ -z "${!redis_var:-}" ]; then
    port=$(free_port); SCRATCH_STARTED+=("redis:$port")
    "$ROOT/scripts/services.sh" start-redis "$port" none
    export "$redis_var=redis://127.0.0.1:$port/0"
  fi
}

_stop_scratch_servers() {
  local s
  for s in "${SCRATCH_STARTED[@]}"; do
    "$ROOT/scripts/services.sh" "stop-${s%%:*}" "${s##*:}"
  done
  rm -rf "$RUN_DIR"
}
