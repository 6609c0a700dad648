#!/usr/bin/env bash
# The deploy checks make test runs (README, "Deploy to AWS"):
#   - cfn-lint with the informational rules on data retention: I3011
#     (stateful resources have DeletionPolicy and UpdateReplacePolicy) and
#     I3013 (auto-expiring content has an explicit retention period);
#   - `sam validate --lint` with the pinned SAM CLI, installed into
#     .tokenim/samcli by infra/samcli/install.sh (about a minute, once);
#   - samconfig.local.toml, where `sam deploy --guided` saves a
#     deployment's answers, is ignored by git.
# What needs an AWS account (sam deploy itself, make credential) is not
# run here.
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "-- cfn-lint, retention rules (I3011, I3013)"
cfn-lint --include-checks I3011 I3013 -- template.yaml

echo "-- sam validate --lint"
./infra/samcli/install.sh
SAM_CLI_TELEMETRY=0 ./.tokenim/samcli/venv/bin/sam validate --lint

if ! git check-ignore -q samconfig.local.toml; then
  echo "samconfig.local.toml is not git-ignored: sam deploy --guided answers could be committed" >&2
  exit 1
fi
