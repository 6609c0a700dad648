#!/usr/bin/env bash
# make test: install and start the emulator (LocalStack by default,
# EMULATOR=moto for moto), run every check, stop what was started.
set -euo pipefail
cd "$(dirname "$0")/../.."
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test} AWS_REGION=${AWS_REGION:-us-east-1}
started=""
cleanup() { if [ -n "$started" ]; then ./infra/emulator/down || true; fi; }
trap cleanup EXIT

echo "== static checks"
go vet ./...
unformatted=$(gofmt -l functions shared infra)
if [ -n "$unformatted" ]; then echo "gofmt needed: $unformatted"; exit 1; fi
cfn-lint template.yaml
openapi-spec-validator docs/openapi.yaml

echo "== build (linux/arm64, as deployed)"
make -s build

if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  echo "== emulator: ${EMULATOR}"
  eval "$(./infra/emulator/up)"
  started=1
fi
echo "== go test against ${AWS_ENDPOINT_URL}"
go test -count=1 -timeout 20m ./...
