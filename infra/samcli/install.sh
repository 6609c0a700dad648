#!/usr/bin/env bash
# Installs SAM CLI into .tokenim/samcli/venv, idempotently, the way
# infra/localstack/install.sh installs LocalStack. A second run only checks
# the version marker and exits. FORCE=1 reinstalls.
#
#   .tokenim/samcli/venv/bin/sam   aws-sam-cli==$SAM_CLI_VERSION (from PyPI)
set -euo pipefail

SAM_CLI_VERSION="1.170.0"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STATE="$ROOT/.tokenim/samcli"
VENV="$STATE/venv"
MARKER="$VENV/.tokenim-aws-sam-cli-$SAM_CLI_VERSION"

log() { echo "[samcli-install] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

t0=$(date +%s)
[[ "${FORCE:-0}" == 1 ]] && rm -rf "$VENV"
if [[ -f "$MARKER" && -x "$VENV/bin/sam" ]]; then
  log "ok: aws-sam-cli==$SAM_CLI_VERSION ($VENV/bin/sam)"
  exit 0
fi
mkdir -p "$STATE"
rm -rf "$VENV"
PY="${SAM_CLI_PYTHON:-python3}"
"$PY" -m venv "$VENV" >/dev/null 2>&1 \
  || die "'$PY -m venv' failed; on Debian install it with: apt-get install -y python3-venv"
log "pip install aws-sam-cli==$SAM_CLI_VERSION (about a minute cold)"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check \
    "aws-sam-cli==$SAM_CLI_VERSION" >"$STATE/pip.log" 2>&1 \
  || { tail -n 30 "$STATE/pip.log" >&2; die "pip install failed (full log: $STATE/pip.log)"; }
"$VENV/bin/sam" --version >/dev/null || die "sam does not start after install"
touch "$MARKER"
log "installed aws-sam-cli==$SAM_CLI_VERSION in $(( $(date +%s) - t0 ))s"
