#!/usr/bin/env bash
# make bench / make bench-quick: infra/bench measures the cost model, the
# monthly bill, cold start and binary size, fan-out against the AWS sample,
# import throughput and delivery under load (WebSocket clients on a
# tokenim-local it starts), and writes docs/benchmarks.md and
# docs/benchmarks.json (README, Benchmarks). TOKENIM_BENCH_SECTIONS=<list>
# (cost,fanout,import,cold,delivery) runs only those sections.
#
#   infra/scripts/bench.sh [full|quick]
#
# AWS requests are counted against an emulator: the one AWS_ENDPOINT_URL
# names, else moto started for the run (BENCH_EMULATOR=localstack for
# LocalStack; the meter bills by item size, so the emulator's own capacity
# reports do not matter). BENCH=<regexp> also runs the Go benchmarks
# (go test -bench) of every package afterwards, BENCHTIME their length.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-full}
case "$mode" in full|quick) ;; *) echo "usage: $0 [full|quick]" >&2; exit 2 ;; esac
export EMULATOR=${BENCH_EMULATOR:-moto} TOKENIM_BENCH=$mode
run() {
  go test -count=1 -run '^TestBenchmarks$' -v -timeout 60m ./infra/bench
  if [ -n "${BENCH:-}" ]; then
    TOKENIM_BENCH= go test -run '^$' -bench "$BENCH" -benchtime "${BENCHTIME:-1s}" -benchmem -timeout 60m ./...
  fi
}
export -f run
exec ./infra/scripts/with-emulator.sh bash -c run
