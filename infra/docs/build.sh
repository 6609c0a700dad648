#!/usr/bin/env bash
# Builds the API reference site: docs/openapi.yaml rendered by Swagger UI
# (npm swagger-ui-dist, pinned in infra/docs/package.json), as a static
# folder to host anywhere. `make docs` writes build/docs; make dev builds
# .tokenim/docs for /docs on the local stack.
#   usage: infra/docs/build.sh [OUT_DIR]   (default build/docs)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-build/docs}
# swagger-ui-dist, installed once per user and pinned version into the
# install cache (infra/scripts/npm-cached.sh). --ignore-scripts:
# swagger-ui-dist depends on @scarf/scarf, whose install script reports downloads.
dist=$(./infra/scripts/npm-cached.sh infra/docs --ignore-scripts)/swagger-ui-dist
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
cp "$dist/swagger-ui.css" "$dist/swagger-ui-bundle.js" "$dist/favicon-32x32.png" "$dist/LICENSE" "$out.tmp/"
cp infra/docs/index.html infra/docs/init.js "$out.tmp/"
cp docs/openapi.yaml "$out.tmp/openapi.yaml"
rm -rf "$out" && mv "$out.tmp" "$out"
echo "[docs] API reference in $out (open $out/index.html through any static web server)" >&2
