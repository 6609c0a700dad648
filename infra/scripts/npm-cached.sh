#!/usr/bin/env bash
# npm-cached.sh DIR [--link] [npm install flags...]: install DIR's npm
# packages (package.json, and package-lock.json when present: npm ci) once
# per user into the install cache (infra/scripts/cache.sh), keyed by a hash
# of those files, and print the cached node_modules path. --link also makes
# DIR/node_modules a link to it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
. "$ROOT/infra/scripts/cache.sh"
dir=$(cd "$1" && pwd)
shift
link=""
if [[ "${1:-}" == --link ]]; then link=1; shift; fi
name=$(basename "$dir")
hash=$({ cat "$dir/package.json"; cat "$dir/package-lock.json" 2>/dev/null || true; } | sha256sum | cut -c1-16)
entry="$TOKENIM_CACHE/npm/$name-$hash"
if [[ ! -f "$entry/.done" ]]; then
  cache_lock "npm-$name-$hash"
  if [[ ! -f "$entry/.done" ]]; then
    echo "[npm] installing $name's packages into $entry (once per user and version)" >&2
    rm -rf "$entry" && mkdir -p "$entry"
    cp "$dir/package.json" "$entry/"
    cmd=(npm install)
    if [[ -f "$dir/package-lock.json" ]]; then cp "$dir/package-lock.json" "$entry/"; cmd=(npm ci); fi
    with_progress npm "$entry/npm.log" bash -c 'cd "$1" && shift && "$@" --no-audit --no-fund --loglevel=http' _ "$entry" "${cmd[@]}" "$@" \
      || { tail -n 20 "$entry/npm.log" >&2; exit 1; }
    touch "$entry/.done"
  fi
fi
if [[ -n "$link" ]]; then
  if [[ -e "$dir/node_modules" && ! -L "$dir/node_modules" ]]; then rm -rf "$dir/node_modules"; fi
  ln -sfn "$entry/node_modules" "$dir/node_modules"
fi
echo "$entry/node_modules"
