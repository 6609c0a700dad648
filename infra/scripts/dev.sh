#!/usr/bin/env bash
# make dev: the whole TokenIM stack on this machine, no AWS account
# (docs/local.md). Builds the functions for this machine, starts an AWS
# emulator unless AWS_ENDPOINT_URL is set (EMULATOR=localstack|moto),
# runs infra/local's gateway, and stops what it started on Ctrl-C.
#   TOKENIM_REST_ADDR (127.0.0.1:3000), TOKENIM_WS_ADDR (127.0.0.1:3001),
#   TOKENIM_CONCURRENCY (10 sandboxes per function), TOKENIM_QUIET=1 (no function logs)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
STATE="$ROOT/.tokenim"
mkdir -p "$STATE/bin"
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test} AWS_REGION=${AWS_REGION:-us-east-1}

say() { echo "[dev] $*" >&2; }

say "building the gateway"
CGO_ENABLED=0 go build -o "$STATE/bin/tokenim-local" ./infra/local/cmd/tokenim-local
# Refuse early, before starting anything, if make dev already runs here.
"$STATE/bin/tokenim-local" -check

started=""
moto_pid=""
up_pid=""
before=$(cat "$STATE/emulator.pid" 2>/dev/null || true)
cleanup() {
  if [[ -n "$up_pid" ]]; then kill "$up_pid" 2>/dev/null || true; wait "$up_pid" 2>/dev/null || true; fi
  if [[ -n "$moto_pid" ]]; then kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; fi
  # Stop the emulator on exit only if this run started it (up reuses a running one).
  local after
  after=$(cat "$STATE/emulator.pid" 2>/dev/null || true)
  if [[ -n "$started" || ( -n "$up_pid" && -n "$after" && "$after" != "$before" ) ]]; then
    say "stopping the emulator"; ./infra/emulator/down >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The emulator starts (and, the first time, installs) while the functions
# build: the two take about as long on a second clone.
if [[ -z "${AWS_ENDPOINT_URL:-}" && -x infra/emulator/up ]]; then
  say "starting the AWS emulator (${EMULATOR:-localstack}) while building; the first run installs it"
  ./infra/emulator/up >"$STATE/emulator.env" &
  up_pid=$!
fi

say "building the functions for this machine"
make -s build-local
# The API reference at /docs (infra/docs/build.sh: Swagger UI, installed once).
./infra/docs/build.sh "$STATE/docs" || say "API reference not built (needs npm): /docs says how to build it"

if [[ -n "$up_pid" ]]; then
  wait "$up_pid" || true   # on failure up prints "exit 1", which the eval runs
  up_pid=""
  eval "$(cat "$STATE/emulator.env")"
  after=$(cat "$STATE/emulator.pid" 2>/dev/null || true)
  if [[ -n "$after" && "$after" != "$before" ]]; then started=1; fi
elif [[ -z "${AWS_ENDPOINT_URL:-}" ]]; then
  # Fallback while infra/emulator is not there: a private moto_server.
  command -v moto_server >/dev/null || { say "no infra/emulator/up and no moto_server (pip install 'moto[server]')"; exit 1; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  moto_server -H 127.0.0.1 -p "$port" >"$STATE/moto.log" 2>&1 &
  moto_pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null && break; sleep 0.2; done
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
fi
say "AWS endpoint: $AWS_ENDPOINT_URL"
say "events on the bus: curl http://${TOKENIM_REST_ADDR:-127.0.0.1:3000}/_local/events (docs/events.md)"
say "a pre-send hook on a local receiver: ./infra/scripts/dev.sh -param PreSendHookUrl=http://127.0.0.1:9000/hook -param LocalHttpTargets=true"
say "webhooks to a local receiver: start with -param LocalHttpTargets=true, then POST /v1/webhooks {\"url\":\"http://127.0.0.1:9000/hook\"} with an admin token (docs/events.md, Webhooks)"
# Not exec: the traps above stop the emulator after the gateway exits.
"$STATE/bin/tokenim-local" "$@" &
gw=$!
trap 'kill -INT $gw 2>/dev/null || true' INT TERM
wait "$gw" || true  # returns early when Ctrl-C runs the trap
status=0
wait "$gw" || status=$? # the gateway's own exit status (0 after Ctrl-C)
exit "$status"
