#!/usr/bin/env bash
# Installs schemathesis for the contract test (infra/contract/run.sh) into
# .tokenim/schemathesis/venv, pinned and cached like infra/localstack/install.sh:
# a second run only checks a marker and the import (well under a second).
# FORCE=1 reinstalls. CONTRACT_PYTHON picks the interpreter (>= 3.10).
set -euo pipefail

SCHEMATHESIS_VERSION="4.32.5"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STATE="$ROOT/.tokenim/schemathesis"
VENV="$STATE/venv"
REQS="$HERE/requirements.txt"
# The marker names the version and a hash of the pins, so changing either reinstalls.
PIN_HASH=$(sha256sum "$REQS" | cut -c1-12)
MARKER="$VENV/.tokenim-schemathesis-$SCHEMATHESIS_VERSION-$PIN_HASH"

log() { echo "[contract-install] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ok() {
  [[ -f "$MARKER" && -x "$VENV/bin/st" ]] || return 1
  "$VENV/bin/python" -c 'import sys, importlib.metadata as m; assert m.version("schemathesis") == sys.argv[1]' \
    "$SCHEMATHESIS_VERSION" 2>/dev/null
}

find_python() {
  local c
  for c in ${CONTRACT_PYTHON:-} python3.11 python3.12 python3.13 python3; do
    if "$c" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 10) else 1)' >/dev/null 2>&1; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

t0=$(date +%s)
[[ "${FORCE:-0}" == 1 ]] && rm -rf "$VENV"
if ok; then
  log "venv ok: schemathesis==$SCHEMATHESIS_VERSION ($VENV)"
  exit 0
fi
PY="$(find_python)" || die "no Python >= 3.10 found; set CONTRACT_PYTHON=/path/to/python3"
log "using $PY ($("$PY" -V 2>&1)); creating $VENV"
mkdir -p "$STATE"
rm -rf "$VENV"
"$PY" -m venv "$VENV" >/dev/null 2>&1 || die "'python3 -m venv' failed; on Debian: apt-get install -y python3-venv"
log "pip install schemathesis==$SCHEMATHESIS_VERSION (pins: $REQS)"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQS" >"$STATE/pip.log" 2>&1 \
  || { tail -n 30 "$STATE/pip.log" >&2; die "pip install failed (full log: $STATE/pip.log)"; }
touch "$MARKER"
ok || die "venv verification failed after install"
log "installed in $(( $(date +%s) - t0 ))s"
