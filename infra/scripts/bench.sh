#!/usr/bin/env bash
# make bench: start the emulator (as make test does), run every Go benchmark
# with AWS request counts, stop the emulator. BENCH selects benchmarks
# (default all), BENCHTIME their length. Figures are ratios against a
# baseline measured in the same run; see README, Benchmarks.
set -euo pipefail
cd "$(dirname "$0")/../.."
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test} AWS_REGION=${AWS_REGION:-us-east-1}
started=""
cleanup() { if [ -n "$started" ]; then ./infra/emulator/down || true; fi; }
trap cleanup EXIT
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  eval "$(./infra/emulator/up)"
  started=1
fi
go test -run '^$' -bench "${BENCH:-.}" -benchtime "${BENCHTIME:-1s}" -benchmem -timeout 60m ./...
