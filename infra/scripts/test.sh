#!/usr/bin/env bash
# make test: install and start the emulator (moto by default from the
# Makefile, EMULATOR=localstack for LocalStack), run every check, stop what
# was started.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "== static checks"
go mod tidy -diff
go vet ./...
unformatted=$(gofmt -l cmd functions shared infra)
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted"; exit 1; fi
cfn-lint template.yaml
./infra/scripts/deploy-check.sh   # retention lint, sam validate --lint (README, Deploy to AWS)
openapi-spec-validator docs/openapi.yaml

echo "== fuzz (each target 3 s; make fuzz runs them longer)"; FUZZTIME=3s ./infra/scripts/fuzz.sh
echo "== build (linux/arm64, as deployed)"
make -s build

echo "== go test"
# The independent Standard Webhooks verifier the webhook tests need (they
# fail without it): a cached venv, installed once per user.
./infra/scripts/standardwebhooks.sh
export TOKENIM_REQUIRE_VERIFIER=1 # installed: from here a missing verifier fails
# The emulator is the suite's bottleneck: moto is one Python process, one
# core. So on moto the packages that run whole local stacks (STACK_PKGS:
# hundreds of function invocations each) get a second moto of their own,
# on the other core, and run beside the rest (go_tests below). On
# LocalStack (EMULATOR=localstack), one emulator serves everything.
STACK_PKGS="./infra/local ./functions/websocket ./cmd/tokenim ./infra/security ./functions/batchworker"
go_tests() {
  if [ "${EMULATOR:-localstack}" != moto ]; then
    go test -count=1 -timeout 20m ./...
    return
  fi
  local rest log2 rc=0 rc2=0 port
  rest=$(go list ./... | grep -v -x -F "$(for p in $STACK_PKGS; do go list "$p"; done)")
  log2=$(mktemp)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (unset AWS_ENDPOINT_URL; EMULATOR_STATE=.tokenim/emulator-stacks EMULATOR_PORT=$port \
     ./infra/scripts/with-emulator.sh go test -count=1 -timeout 20m $STACK_PKGS) >"$log2" 2>&1 &
  local pid=$!
  # shellcheck disable=SC2086 # one package per word
  go test -count=1 -timeout 20m $rest || rc=$?
  wait "$pid" || rc2=$?
  echo "== go test, local-stack packages (second moto)"
  cat "$log2"; rm -f "$log2"
  [ "$rc" -eq 0 ] && [ "$rc2" -eq 0 ]
}
export -f go_tests
export STACK_PKGS
# Then, on the first emulator: the TypeScript SDK (generated types up to
# date, build, fault tests against a local stack:
# clients/typescript/run-tests.sh), the demo client in headless Chromium
# against a local stack (infra/local/browser/run.sh), then the contract
# test, schemathesis against docs/openapi.yaml (infra/contract/run.sh).
# TOKENIM_LOG_RETRIES: the SDK logs each retry and its cause, printed with
# a failing package's output (docs/testing.md, "Diagnosing a failure").
TOKENIM_LOG_RETRIES=1 ./infra/scripts/with-emulator.sh bash -c 'go_tests && echo "== SDK test" && ./clients/typescript/run-tests.sh && echo "== browser test" && ./infra/local/browser/run.sh && echo "== contract test" && ./infra/contract/run.sh'
