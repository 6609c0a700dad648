#!/usr/bin/env bash
# make bench: every Go benchmark against the emulator, with AWS request
# counts. BENCH selects benchmarks (default all), BENCHTIME their length.
# Figures are ratios against a baseline measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec ./infra/scripts/with-emulator.sh go test -run '^$' -bench "${BENCH:-.}" -benchtime "${BENCHTIME:-1s}" -benchmem -timeout 60m ./...
