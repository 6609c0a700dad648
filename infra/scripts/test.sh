#!/usr/bin/env bash
# make test: install and start the emulator (LocalStack by default,
# EMULATOR=moto for moto), run every check, stop what was started.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "== static checks"
go mod tidy -diff
go vet ./...
unformatted=$(gofmt -l functions shared infra)
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted"; exit 1; fi
cfn-lint template.yaml
./infra/scripts/deploy-check.sh   # retention lint, sam validate --lint (README, Deploy to AWS)
openapi-spec-validator docs/openapi.yaml

echo "== build (linux/arm64, as deployed)"
make -s build

echo "== go test"
# One emulator for all three: the Go tests, the demo client in headless
# Chromium against a local stack (infra/local/browser/run.sh), then the
# contract test, schemathesis against docs/openapi.yaml (infra/contract/run.sh).
./infra/scripts/with-emulator.sh bash -c 'go test -count=1 -timeout 20m ./... && echo "== browser test" && ./infra/local/browser/run.sh && echo "== contract test" && ./infra/contract/run.sh'
