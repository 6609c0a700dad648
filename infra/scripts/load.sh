#!/usr/bin/env bash
# make test-load: the concurrent load test of issue 21 (docs/testing.md,
# "Load test"). Builds the functions and tokenim-local for this machine,
# starts an emulator unless AWS_ENDPOINT_URL is set (EMULATOR, default moto
# here), and runs infra/load, which starts its own tokenim-local with
# LOAD_SANDBOXES sandboxes per function. Extra arguments go to infra/load
# (go run ./infra/load -h lists them). Exit status 1 when a count is not 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
STATE=.tokenim
mkdir -p "$STATE/bin"
echo "== building the functions and tokenim-local" >&2
CGO_ENABLED=0 go build -o "$STATE/bin/tokenim-local" ./infra/local/cmd/tokenim-local
make -s build-local
CGO_ENABLED=0 go build -o "$STATE/bin/tokenim-load" ./infra/load
exec ./infra/scripts/with-emulator.sh "$STATE/bin/tokenim-load" -sandboxes "${LOAD_SANDBOXES:-150}" "$@"
