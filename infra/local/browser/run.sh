#!/usr/bin/env bash
# Browser test of the demo client (make test runs it under the emulator):
# installs Debian's chromium and playwright-core (pinned, into
# the per-user install cache) when missing, starts tokenim-local on free ports with a
# private state dir, runs demo.test.mjs, docs.test.mjs and push.test.mjs
# (or BROWSER_TESTS) with node's test runner, stops it.
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
# playwright-core, once per user and pinned version (infra/scripts/npm-cached.sh).
NODE_MODULES=$("$ROOT/infra/scripts/npm-cached.sh" "$HERE")
# The tests import it as ES modules, which resolve from the file's folder.
if [[ -e "$DIR/node_modules" && ! -L "$DIR/node_modules" ]]; then rm -rf "$DIR/node_modules"; fi
ln -sfn "$NODE_MODULES" "$DIR/node_modules"
cp "$HERE/demo.test.mjs" "$HERE/docs.test.mjs" "$HERE/push.test.mjs" "$DIR/"
# BROWSER_TESTS picks some of them (e.g. BROWSER_TESTS=push.test.mjs).
read -r -a TESTS <<<"${BROWSER_TESTS:-demo.test.mjs docs.test.mjs push.test.mjs}"

make -s build-local
CGO_ENABLED=0 go build -o "$DIR/tokenim-local" ./infra/local/cmd/tokenim-local
STATE=$(mktemp -d)
./infra/docs/build.sh "$STATE/docs"   # the API reference at /docs (docs.test.mjs)
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
LOCAL_JSON="$STATE/local.json" NODE_PATH="$NODE_MODULES" node --test --test-reporter=spec "${TESTS[@]/#/$DIR/}" \
  || { echo "----- gateway log"; tail -n 60 "$STATE/gateway.log"; exit 1; }
