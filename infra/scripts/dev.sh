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

say "building the gateway and the functions for this machine"
CGO_ENABLED=0 go build -o "$STATE/bin/tokenim-local" ./infra/local/cmd/tokenim-local
# Refuse early, before starting anything, if make dev already runs here.
"$STATE/bin/tokenim-local" -check
make -s build-local

started=""
moto_pid=""
cleanup() {
  if [[ -n "$moto_pid" ]]; then kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; fi
  if [[ -n "$started" ]]; then say "stopping the emulator"; ./infra/emulator/down >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z "${AWS_ENDPOINT_URL:-}" ]]; then
  if [[ -x infra/emulator/up ]]; then
    before=$(cat "$STATE/emulator.pid" 2>/dev/null || true)
    say "starting the AWS emulator (${EMULATOR:-localstack}); the first run installs it"
    eval "$(./infra/emulator/up)"
    after=$(cat "$STATE/emulator.pid" 2>/dev/null || true)
    # Stop it on exit only if this run started it (up reuses a running one).
    if [[ -n "$after" && "$after" != "$before" ]]; then started=1; fi
  else
    # Fallback while infra/emulator is not there: a private moto_server.
    command -v moto_server >/dev/null || { say "no infra/emulator/up and no moto_server (pip install 'moto[server]')"; exit 1; }
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    moto_server -H 127.0.0.1 -p "$port" >"$STATE/moto.log" 2>&1 &
    moto_pid=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null && break; sleep 0.2; done
    export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  fi
fi
say "AWS endpoint: $AWS_ENDPOINT_URL"
# Not exec: the traps above stop the emulator after the gateway exits.
"$STATE/bin/tokenim-local" "$@" &
gw=$!
trap 'kill -INT $gw 2>/dev/null || true' INT TERM
wait "$gw" || true  # returns early when Ctrl-C runs the trap
status=0
wait "$gw" || status=$? # the gateway's own exit status (0 after Ctrl-C)
exit "$status"
