#!/usr/bin/env bash
# Stops every process whose pid file is under .run/ (left by an interrupted run).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
shopt -s nullglob
for pidfile in "$RUN_DIR"/*.pid; do
  stop_pid "$pidfile" "$(basename "$pidfile" .pid)"
  say "stopped $(basename "$pidfile" .pid)"
done
