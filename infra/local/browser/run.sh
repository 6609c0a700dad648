#!/usr/bin/env bash
# Browser test of the demo client (make test runs it under the emulator):
# installs Debian's chromium and playwright-core (pinned, into
# .tokenim/browser) when missing, starts tokenim-local on free ports with a
# private state dir, runs demo.test.mjs with node's test runner, stops it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
cd "$ROOT"
: "${AWS_ENDPOINT_URL:?set AWS_ENDPOINT_URL (run through infra/scripts/with-emulator.sh)}"
DIR="$ROOT/.tokenim/browser"
mkdir -p "$DIR"

if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing chromium (Debian package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! cmp -s "$HERE/package.json" "$DIR/package.json" || [[ ! -d "$DIR/node_modules/playwright-core" ]]; then
  echo "== installing playwright-core into $DIR"
  cp "$HERE/package.json" "$DIR/package.json"
  (cd "$DIR" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
cp "$HERE/demo.test.mjs" "$DIR/demo.test.mjs"

make -s build-local
CGO_ENABLED=0 go build -o "$DIR/tokenim-local" ./infra/local/cmd/tokenim-local
STATE=$(mktemp -d)
"$DIR/tokenim-local" -rest 127.0.0.1:0 -ws 127.0.0.1:0 -state "$STATE" -bin "$ROOT/.tokenim/bin" \
  -prefix "browser$RANDOM-" >"$STATE/gateway.log" 2>&1 &
gw=$!
cleanup() { kill -TERM "$gw" 2>/dev/null || true; wait "$gw" 2>/dev/null || true; rm -rf "$STATE"; }
trap cleanup EXIT
for _ in $(seq 1 240); do
  [[ -f "$STATE/local.json" ]] && break
  kill -0 "$gw" 2>/dev/null || { cat "$STATE/gateway.log"; exit 1; }
  sleep 0.5
done
[[ -f "$STATE/local.json" ]] || { echo "tokenim-local did not start"; cat "$STATE/gateway.log"; exit 1; }
echo "== browser test (chromium $(chromium --version 2>/dev/null | awk '{print $2}'))"
LOCAL_JSON="$STATE/local.json" NODE_PATH="$DIR/node_modules" node --test --test-reporter=spec "$DIR/demo.test.mjs" \
  || { echo "----- gateway log"; tail -n 60 "$STATE/gateway.log"; exit 1; }
