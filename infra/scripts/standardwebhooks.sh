#!/usr/bin/env bash
# Installs the independent Standard Webhooks verifier the webhook tests
# check signatures with (the specification's Python package,
# shared/webhooks/webhookstest/verify.go) into a venv in the per-user
# cache (infra/scripts/cache.sh), linked from .tokenim/standardwebhooks;
# make test runs it before go test, and the tests fail (never skip) when
# it is missing. A second run only checks a marker and the import (well
# under a second). FORCE=1 reinstalls.
set -euo pipefail

VERSION="1.1.0"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=cache.sh
. "$HERE/cache.sh"
ENTRY="$TOKENIM_CACHE/standardwebhooks-$VERSION"
VENV="$ENTRY/venv"
LINK="$ROOT/.tokenim/standardwebhooks"
MARKER="$VENV/.tokenim-standardwebhooks-$VERSION"

log() { echo "[standardwebhooks] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ok() {
  [[ -f "$MARKER" ]] || return 1
  "$VENV/bin/python" -c 'import sys, importlib.metadata as m, standardwebhooks; assert m.version("standardwebhooks") == sys.argv[1]' \
    "$VERSION" 2>/dev/null
}

link() {
  mkdir -p "$ROOT/.tokenim"
  ln -sfn "$ENTRY" "$LINK"
}

[[ "${FORCE:-0}" == 1 ]] && rm -rf "$VENV"
if ok; then
  link
  exit 0
fi
cache_lock "standardwebhooks-$VERSION"
if ok; then # installed by another clone while we waited
  link
  exit 0
fi
t0=$(date +%s)
mkdir -p "$ENTRY"
rm -rf "$VENV"
python3 -m venv "$VENV" >/dev/null 2>&1 || die "'python3 -m venv' failed; on Debian: apt-get install -y python3-venv"
log "pip install standardwebhooks==$VERSION"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "standardwebhooks==$VERSION" >"$ENTRY/pip.log" 2>&1 \
  || { tail -n 30 "$ENTRY/pip.log" >&2; die "pip install failed (full log: $ENTRY/pip.log)"; }
touch "$MARKER"
ok || die "venv verification failed after install"
link
log "installed in $(( $(date +%s) - t0 ))s ($VENV)"
