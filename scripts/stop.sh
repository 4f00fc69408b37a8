#!/usr/bin/env bash
# Stops every process whose pid file is under .run/ (left by an interrupted run): supervisors
# first (so that none restarts what it supervises), then what they ran, then the servers.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
shopt -s nullglob
supervisors=() children=() servers=()
for pidfile in "$RUN_DIR"/*.pid; do
  case "$(basename "$pidfile")" in
    *.child.pid) children+=("$pidfile") ;;
    mongo-wire-* | redis-*) servers+=("$pidfile") ;;
    *) supervisors+=("$pidfile") ;;
  esac
done
for pidfile in "${supervisors[@]}" "${children[@]}" "${servers[@]}"; do
  stop_pid "$pidfile" "$(basename "$pidfile" .pid)"
  say "stopped $(basename "$pidfile" .pid)"
done
