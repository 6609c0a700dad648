#!/usr/bin/env bash
# Installs a Docker-free LocalStack (host mode) for tests, idempotently and cached.
#
#   .tokenim/localstack/venv   python venv with localstack-core[runtime]==$LOCALSTACK_VERSION
#                              (Apache-2.0 core only; never localstack-ext / the `localstack` CLI package)
#   .tokenim/localstack/fs     LocalStack FILESYSTEM_ROOT (host-mode directory tree)
#     var/lib/localstack/lib/dynamodb-local/2/   DynamoDB Local, provisioned from Maven Central
#     usr/lib/localstack/                         the service catalog index
#
# The venv, DynamoDB Local and the catalog are installed once per user and
# version into the install cache (infra/scripts/cache.sh: ~/.cache/tokenim,
# XDG_CACHE_HOME respected) and linked from .tokenim/, so every further
# clone is ready at once; the rest of fs/ (LocalStack's run-time state)
# stays per clone. A second run only verifies markers and exits. FORCE=1
# reinstalls everything.
set -euo pipefail

LOCALSTACK_VERSION="4.14.0"
DDB_LOCAL_VERSION="2.6.1"        # com.amazonaws:DynamoDBLocal (newest 2.x on Maven Central)
SQLITE4JAVA_VERSION="1.0.392"    # com.almworks.sqlite4java, as DynamoDBLocal's pom uses

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STATE="$ROOT/.tokenim/localstack"
FSROOT="$STATE/fs"
LIBDIR="$FSROOT/var/lib/localstack/lib"       # == localstack config.dirs.var_libs in host mode
CONSTRAINTS="$HERE/constraints.txt"
. "$ROOT/infra/scripts/cache.sh"
# Cache entries, named by what pins them; .tokenim/ links to them below.
PINS=$({ cat "$CONSTRAINTS" 2>/dev/null || true; } | sha256sum | cut -c1-12)
VENV="$TOKENIM_CACHE/localstack-$LOCALSTACK_VERSION-$PINS/venv"
CATALOG_DIR="$TOKENIM_CACHE/localstack-$LOCALSTACK_VERSION-$PINS/catalog"
DDB_DIR="$TOKENIM_CACHE/dynamodb-local-$DDB_LOCAL_VERSION"  # linked as $LIBDIR/dynamodb-local/2, DynamoDBLocalPackageInstaller's dir
PY_MARKER="$VENV/.tokenim-localstack-core-$LOCALSTACK_VERSION"
DDB_LAYOUT=2                     # bump when the DynamoDB Local layout built below changes
DDB_MARKER="$DDB_DIR/.tokenim-ddblocal-$DDB_LOCAL_VERSION-r$DDB_LAYOUT"

log() { echo "[localstack-install] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

t0=$(date +%s)
cache_lock localstack   # one install at a time per user: a second clone waits, then finds it ready
[[ "${FORCE:-0}" == 1 ]] && rm -rf "$VENV" "$DDB_DIR" "$CATALOG_DIR"
mkdir -p "$STATE" "$LIBDIR" "$FSROOT/usr/lib"
# link NAME TARGET: make .tokenim's NAME a link to the cache entry (an
# older clone's own install there is removed).
link() {
  if [[ -e "$1" && ! -L "$1" ]]; then rm -rf "$1"; fi
  mkdir -p "$(dirname "$1")" "$2"
  ln -sfn "$2" "$1"
}
link "$STATE/venv" "$VENV"
link "$LIBDIR/dynamodb-local/2" "$DDB_DIR"
link "$FSROOT/usr/lib/localstack" "$CATALOG_DIR"

# ---------------------------------------------------------------- python part
# py_ok [full]: the venv has the pinned core and nothing forbidden; "full"
# (right after installing) also imports what the emulator runs, which
# takes seconds: later runs trust the marker that import check wrote.
py_ok() {
  [[ -f "$PY_MARKER" || "${1:-}" == full ]] && [[ -x "$VENV/bin/python" ]] || return 1
  "$VENV/bin/python" - "$LOCALSTACK_VERSION" "${1:-quick}" <<'EOF' 2>/dev/null
import sys, importlib.metadata as m
assert m.version("localstack-core") == sys.argv[1]
for forbidden in ("localstack-ext", "localstack", "localstack-pro"):
    try:
        m.version(forbidden)
    except m.PackageNotFoundError:
        continue
    raise SystemExit(f"forbidden package installed: {forbidden}")
if sys.argv[2] == "full":
    import localstack.runtime.main, localstack.services.dynamodb.server  # noqa: F401
EOF
}

# LocalStack 4.14.0 needs Python >= 3.13 (threading.Lock became a class in 3.13 and is used in
# `Lock | None` annotations). Candidates: $LOCALSTACK_PYTHON, python3.13+ on PATH, pyenv versions, python3.
find_python() {
  local c cands=()
  [[ -n "${LOCALSTACK_PYTHON:-}" ]] && cands+=("$LOCALSTACK_PYTHON")
  cands+=(python3.14 python3.13)
  if command -v pyenv >/dev/null 2>&1; then
    for c in "$(pyenv root)"/versions/3.1[3-9]*/bin/python3; do [[ -x "$c" ]] && cands+=("$c"); done
  fi
  for c in "${HOME:-/root}"/.pyenv/versions/3.1[3-9]*/bin/python3 /usr/bin/python3.1[3-9] python3; do
    cands+=("$c")
  done
  for c in "${cands[@]}"; do
    if "$c" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 13) else 1)' >/dev/null 2>&1; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

if py_ok; then
  log "venv ok: localstack-core==$LOCALSTACK_VERSION ($VENV)"
else
  PY="$(find_python)" || die "no Python >= 3.13 found (LocalStack $LOCALSTACK_VERSION targets 3.13; on 3.11 it fails
    importing localstack.packages.api: 'Lock | None' TypeError). Set LOCALSTACK_PYTHON=/path/to/python3.13"
  log "using $PY ($("$PY" -V 2>&1))"
  log "creating venv $VENV"
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  if ! "$PY" -m venv "$VENV" >/dev/null 2>&1; then
    die "'python3 -m venv' failed; on Debian install it with: apt-get install -y python3-venv"
  fi
  pip_args=(--disable-pip-version-check --progress-bar off)
  cons=()
  [[ -f "$CONSTRAINTS" ]] && cons=(-c "$CONSTRAINTS")
  log "pip install localstack-core[runtime]==$LOCALSTACK_VERSION into $VENV (about a minute cold; once per user)"
  with_progress localstack-install "$STATE/pip.log" "$VENV/bin/python" -m pip install "${pip_args[@]}" "${cons[@]}" \
      "localstack-core[runtime]==$LOCALSTACK_VERSION" \
    || { tail -n 30 "$STATE/pip.log" >&2; die "pip install failed (full log: $STATE/pip.log)"; }
  # Refuse anything that brings in the auth-token gated packages.
  if "$VENV/bin/python" -m pip show -q localstack-ext localstack localstack-pro >/dev/null 2>&1; then
    die "a forbidden package (localstack-ext / localstack / localstack-pro) got installed"
  fi
  py_ok full || die "venv verification failed after install"
  touch "$PY_MARKER"
  log "venv installed ($(( $(date +%s) - t0 ))s)"
fi

# ------------------------------------------------------- DynamoDB Local part
# LocalStack would download DynamoDB Local from a CDN (unreachable here). Its installer skips
# the download when $DDB_DIR/DynamoDBLocal.jar exists, so we build that directory from Maven
# Central instead:
#   DynamoDBLocal_lib/*.jar                 com.amazonaws:DynamoDBLocal:$DDB_LOCAL_VERSION + runtime deps
#   DynamoDBLocal_lib/libsqlite4java-*.so   com.almworks.sqlite4java natives (version suffix stripped);
#                                           linux-aarch64 is extracted from the DynamoDBLocal jar itself
#                                           (not published on Maven Central)
#   DynamoDBLocal.jar                       small launcher jar: Class-Path listing the jars above, a
#                                           WARN-level log4j2.xml, and Main-Class tokenim.ddblocal.LoopbackMain
#                                           (infra/localstack/ddblocal/, compiled here with javac) which
#                                           binds DynamoDB Local to 127.0.0.1 instead of 0.0.0.0
ddb_ok() { [[ -f "$DDB_MARKER" && -f "$DDB_DIR/DynamoDBLocal.jar" && -d "$DDB_DIR/DynamoDBLocal_lib" ]]; }

t1=$(date +%s)
if ddb_ok; then
  log "DynamoDB Local ok: $DDB_LOCAL_VERSION ($DDB_DIR)"
else
  command -v java >/dev/null || die "java not found (DynamoDB Local $DDB_LOCAL_VERSION needs Java >= 17)"
  jver=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/{print $2}')
  [[ "${jver%%.*}" -ge 17 ]] 2>/dev/null || die "Java >= 17 required, found '${jver:-unknown}'"
  command -v mvn >/dev/null || die "mvn not found (used to fetch DynamoDB Local from Maven Central); apt-get install -y maven"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>tokenim.local</groupId>
  <artifactId>ddblocal-fetch</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>com.amazonaws</groupId><artifactId>DynamoDBLocal</artifactId><version>$DDB_LOCAL_VERSION</version></dependency>
    <dependency><groupId>com.almworks.sqlite4java</groupId><artifactId>libsqlite4java-linux-amd64</artifactId><version>$SQLITE4JAVA_VERSION</version><type>so</type></dependency>
  </dependencies>
</project>
EOF
  log "fetching com.amazonaws:DynamoDBLocal:$DDB_LOCAL_VERSION + deps from Maven Central"
  with_progress localstack-install "$tmp/mvn.log" bash -c 'cd "$1" && mvn -B -ntp -Dstyle.color=never dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$1/lib"' _ "$tmp" \
    || { tail -n 30 "$tmp/mvn.log" >&2; die "maven dependency fetch failed"; }
  main_class=tokenim.ddblocal.LoopbackMain
  mkdir -p "$tmp/cls"
  if ! command -v javac >/dev/null || ! javac --release 17 -nowarn -d "$tmp/cls" -cp "$tmp/lib/*" \
        "$HERE/ddblocal/LoopbackMain.java" >"$tmp/javac.log" 2>&1; then
    cat "$tmp/javac.log" >&2 2>/dev/null || true
    log "WARNING: could not compile the loopback launcher (javac missing?): DynamoDB Local will bind 0.0.0.0"
    main_class=com.amazonaws.services.dynamodbv2.local.main.ServerRunner
  fi
  find "$DDB_DIR" -mindepth 1 -delete 2>/dev/null || true   # the dir itself is linked from .tokenim
  mkdir -p "$DDB_DIR/DynamoDBLocal_lib"
  cp "$tmp"/lib/* "$DDB_DIR/DynamoDBLocal_lib/"
  "$VENV/bin/python" - "$DDB_DIR" "$DDB_LOCAL_VERSION" "$SQLITE4JAVA_VERSION" "$main_class" "$tmp/cls" <<'EOF'
import os, sys, zipfile
ddb_dir, ddb_ver, sq_ver, main_class, cls_dir = sys.argv[1:]
lib = os.path.join(ddb_dir, "DynamoDBLocal_lib")
main_jar = f"DynamoDBLocal-{ddb_ver}.jar"
# sqlite4java looks for e.g. libsqlite4java-linux-amd64.so (no version) on java.library.path
for f in os.listdir(lib):
    for ext in (".so", ".dll", ".dylib"):
        if f.endswith(f"-{sq_ver}{ext}"):
            os.rename(os.path.join(lib, f), os.path.join(lib, f[: -len(f"-{sq_ver}{ext}")] + ext))
with zipfile.ZipFile(os.path.join(lib, main_jar)) as z:
    src = "com/amazonaws/services/dynamodbv2/local/shared/access/sqlite/native/Linux/aarch64/libsqlite4java.so"
    with open(os.path.join(lib, "libsqlite4java-linux-aarch64.so"), "wb") as out:
        out.write(z.read(src))
jars = [main_jar] + sorted(f for f in os.listdir(lib) if f.endswith(".jar") and f != main_jar)
def wrap(line):  # manifest lines are limited to 72 bytes, continuation lines start with a space
    out, first = [], True
    while line:
        n = 72 if first else 71
        out.append(("" if first else " ") + line[:n]); line = line[n:]; first = False
    return "\r\n".join(out)
manifest = "\r\n".join([
    "Manifest-Version: 1.0",
    wrap("Main-Class: " + main_class),
    wrap("Class-Path: . " + " ".join("DynamoDBLocal_lib/" + j for j in jars)),
    "", ""])
log4j2 = """<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders><Console name="Console" target="SYSTEM_OUT">
    <PatternLayout pattern="%d{HH:mm:ss.SSS} [%t] %-5level %logger{36} - %msg%n"/>
  </Console></Appenders>
  <Loggers><Root level="WARN"><AppenderRef ref="Console"/></Root></Loggers>
</Configuration>
"""
tmp_jar = os.path.join(ddb_dir, "DynamoDBLocal.jar.tmp")
with zipfile.ZipFile(tmp_jar, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("META-INF/MANIFEST.MF", manifest)
    z.writestr("log4j2.xml", log4j2)
    for base, _, files in os.walk(cls_dir):
        for f in files:
            full = os.path.join(base, f)
            z.write(full, os.path.relpath(full, cls_dir))
os.replace(tmp_jar, os.path.join(ddb_dir, "DynamoDBLocal.jar"))
EOF
  rm -rf "$tmp"
  trap - EXIT
  touch "$DDB_MARKER"
  log "DynamoDB Local $DDB_LOCAL_VERSION installed ($(ls "$DDB_DIR/DynamoDBLocal_lib" | wc -l) files, $(( $(date +%s) - t1 ))s)"
fi

# ---------------------------------------------- service catalog index (static)
# LocalStack builds an index of all botocore service specs on its first start (~3 s and
# ~550 MB RSS on that start). Build it here, as LocalStack's Docker image does at build time.
shopt -s nullglob
catalog=("$FSROOT"/usr/lib/localstack/service-catalog-*.dill)
shopt -u nullglob
if ((${#catalog[@]})); then
  log "service catalog ok"
else
  t2=$(date +%s)
  mkdir -p "$FSROOT/usr/lib/localstack"
  FILESYSTEM_ROOT="$FSROOT" OVERRIDE_IN_DOCKER=0 "$VENV/bin/python" -m localstack.aws.spec >"$STATE/catalog.log" 2>&1 \
    || { tail -n 20 "$STATE/catalog.log" >&2; die "building the service catalog index failed"; }
  log "service catalog built ($(( $(date +%s) - t2 ))s)"
fi

log "done in $(( $(date +%s) - t0 ))s"
