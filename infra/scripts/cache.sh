# Sourced, not run: the per-user install cache every clone shares
# (README, "A faster first make dev"). What make dev and make test install
# (LocalStack's venv, DynamoDB Local, LocalStack's service catalog, npm
# packages) lives once per user and version under
#   ${TOKENIM_CACHE:-${XDG_CACHE_HOME:-~/.cache}/tokenim}
# and each clone's .tokenim/ links to it, so a second clone installs
# nothing. Entries are named by version (or a hash of what pins it), so
# clones on different versions do not share one; `rm -rf` the folder to
# reclaim the space.
TOKENIM_CACHE=${TOKENIM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/tokenim}
export TOKENIM_CACHE

# cache_lock NAME: hold an exclusive lock until the calling shell exits, so
# two clones installing the same entry at once install it once.
cache_lock() {
  mkdir -p "$TOKENIM_CACHE"
  exec {TOKENIM_LOCK_FD}>"$TOKENIM_CACHE/.$1.lock"
  if ! flock -n "$TOKENIM_LOCK_FD"; then
    echo "[cache] waiting for another install of $1 (lock $TOKENIM_CACHE/.$1.lock)" >&2
    flock "$TOKENIM_LOCK_FD"
  fi
}

# with_progress LABEL LOG CMD...: run CMD with its output in LOG, printing
# every 5 s how long it has run and the log's last line (what it fetches).
with_progress() {
  local label=$1 log=$2 pid t0 status last
  shift 2
  t0=$(date +%s)
  "$@" >"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null || break
    last=$(tail -n 1 "$log" 2>/dev/null | tr -d '\r' | cut -c1-90)
    echo "[$label] $(( $(date +%s) - t0 ))s … ${last}" >&2
  done
  status=0
  wait "$pid" || status=$?
  return "$status"
}
