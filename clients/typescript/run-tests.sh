#!/usr/bin/env bash
# The SDK's checks (make test runs this under the emulator): generated types
# up to date with docs/openapi.yaml, the build, the demo's bundle up to
# date, unit tests, and the fault tests against a private local stack.
#   AWS_ENDPOINT_URL must point at the emulator (infra/scripts/with-emulator.sh).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${AWS_ENDPOINT_URL:?set AWS_ENDPOINT_URL (run through infra/scripts/with-emulator.sh)}"
cd "$ROOT"
make -s build-local
CGO_ENABLED=0 go build -o .tokenim/bin/tokenim-local ./infra/local/cmd/tokenim-local
cd "$HERE"
"$ROOT/infra/scripts/npm-cached.sh" "$HERE" --link >/dev/null   # node_modules from the per-user cache
npm run -s check-gen
npx tsc -p tsconfig.json   # not `npm run build`: that would rewrite the demo copy checked next
node scripts/bundle.mjs --check
TOKENIM_LOCAL="$ROOT/.tokenim/bin/tokenim-local" TOKENIM_BIN="$ROOT/.tokenim/bin" \
  node --test --test-reporter=spec --test-concurrency=1 test/unit.test.mjs test/protocol.test.mjs test/realtime.stack.test.mjs
