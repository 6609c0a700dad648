#!/usr/bin/env bash
# with-emulator.sh CMD...: run CMD with AWS_ENDPOINT_URL pointing at an AWS
# emulator. If none is configured, start the one EMULATOR names (localstack
# by default, or moto) through infra/emulator/up, and stop it afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test} AWS_REGION=${AWS_REGION:-us-east-1}
# Stop the emulator afterwards only if `up` started it (it may reuse one
# already answering, e.g. the one `make dev` runs).
started=""
cleanup() { if [ -n "$started" ]; then ./infra/emulator/down >/dev/null || true; fi; }
trap cleanup EXIT INT TERM
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  echo "== emulator: ${EMULATOR:-localstack}" >&2
  unset TOKENIM_EMULATOR_STARTED
  eval "$(./infra/emulator/up)"
  started=${TOKENIM_EMULATOR_STARTED:-}
  unset TOKENIM_EMULATOR_STARTED
fi
echo "== AWS endpoint: ${AWS_ENDPOINT_URL}" >&2
"$@"
