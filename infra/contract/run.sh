#!/usr/bin/env bash
# Contract test (docs/testing.md, "Contract test"): schemathesis against
# docs/openapi.yaml and a local stack's REST API, once per auth mode (an
# admin token, a user token, no token), with every default check and all
# phases including stateful, bounded by a fixed seed and example count.
# Then infra/contract/summarize.py prints the counts and fails the run on
# any server error, any response outside the schema, or any other failure
# that infra/contract/allowlist.toml does not name (check + operation).
#
# Needs AWS_ENDPOINT_URL (run through infra/scripts/with-emulator.sh, as
# `make contract` and `make test` do). Binds only 127.0.0.1: free ports
# unless TOKENIM_REST_ADDR / TOKENIM_WS_ADDR say otherwise.
#   CONTRACT_MAX_EXAMPLES (15)  examples per operation and phase
#   CONTRACT_SEED (20261202)    schemathesis --seed
#   CONTRACT_WORKERS (1)        schemathesis --workers (1: the server sees requests in one order)
#   CONTRACT_MODES (user none admin)  the user run goes first: the admin run may
#                               delete or change the demo user whose token it uses
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
: "${AWS_ENDPOINT_URL:?set AWS_ENDPOINT_URL (run through infra/scripts/with-emulator.sh)}"
MAX_EXAMPLES=${CONTRACT_MAX_EXAMPLES:-15}
SEED=${CONTRACT_SEED:-20261202}
WORKERS=${CONTRACT_WORKERS:-1}
MODES=${CONTRACT_MODES:-user none admin}
DIR="$ROOT/.tokenim/contract"
REPORTS="$DIR/reports"
VENV="$ROOT/.tokenim/schemathesis/venv"
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ beside the sources

say() { echo "[contract] $*" >&2; }

t0=$(date +%s)
"$HERE/install.sh"
# The judge's own tests first: a judge that lets failures through must stop the run.
(cd "$HERE" && "$VENV/bin/python" -m unittest -q test_summarize 2>&1 | tail -n 3)
mkdir -p "$DIR"
rm -rf "$REPORTS" && mkdir -p "$REPORTS"
make -s build-local
CGO_ENABLED=0 go build -o "$DIR/tokenim-local" ./infra/local/cmd/tokenim-local

STATE=$(mktemp -d)
gw=""
cleanup() {
  if [[ -n "$gw" ]]; then kill -TERM "$gw" 2>/dev/null || true; wait "$gw" 2>/dev/null || true; fi
  # The gateway log stays beside the reports, for the 5xx a run may find.
  cp "$STATE/gateway.log" "$REPORTS/gateway.log" 2>/dev/null || true
  rm -rf "$STATE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$DIR/tokenim-local" -rest "${TOKENIM_REST_ADDR:-127.0.0.1:0}" -ws "${TOKENIM_WS_ADDR:-127.0.0.1:0}" \
  -state "$STATE" -bin "$ROOT/.tokenim/bin" -prefix "contract$RANDOM-" >"$STATE/gateway.log" 2>&1 &
gw=$!
for _ in $(seq 1 240); do
  [[ -f "$STATE/local.json" ]] && break
  kill -0 "$gw" 2>/dev/null || { tail -n 40 "$STATE/gateway.log" >&2; exit 1; }
  sleep 0.5
done
[[ -f "$STATE/local.json" ]] || { say "tokenim-local did not start"; tail -n 40 "$STATE/gateway.log" >&2; exit 1; }

# Tokens: the admin one from the seeded credential through the token
# endpoint, the user one as seeded for the first demo user.
read -r REST_URL ADMIN_TOKEN USER_TOKEN < <("$VENV/bin/python" - "$STATE/local.json" <<'EOF'
import base64, json, sys, urllib.request
info = json.load(open(sys.argv[1]))
adm = info["admin"]
req = urllib.request.Request(info["rest_url"] + "/v1/auth/token", data=b"grant_type=client_credentials",
    headers={"Authorization": "Basic " + base64.b64encode(f'{adm["key_id"]}:{adm["secret"]}'.encode()).decode(),
             "Content-Type": "application/x-www-form-urlencoded"})
with urllib.request.urlopen(req, timeout=10) as r:
    admin = json.load(r)["access_token"]
print(info["rest_url"], admin, info["demo_users"][0]["token"])
EOF
)
say "local stack at $REST_URL (setup $(( $(date +%s) - t0 ))s); seed $SEED, $MAX_EXAMPLES examples, $WORKERS workers"

for mode in $MODES; do
  auth=()
  case $mode in
    admin) auth=(-H "Authorization: Bearer $ADMIN_TOKEN") ;;
    user) auth=(-H "Authorization: Bearer $USER_TOKEN") ;;
    none) ;;
    *) say "unknown mode $mode (admin, user, none)"; exit 2 ;;
  esac
  t1=$(date +%s)
  rc=0
  # From .tokenim/contract: schemathesis keeps its cache (.schemathesis/) in the current directory.
  (cd "$DIR" && "$VENV/bin/st" run "$ROOT/docs/openapi.yaml" --url "$REST_URL" "${auth[@]}" \
    --seed "$SEED" --max-examples "$MAX_EXAMPLES" --workers "$WORKERS" \
    --generation-database none --request-timeout 15 --no-color \
    --report ndjson --report-ndjson-path "$REPORTS/$mode.ndjson" \
    >"$REPORTS/$mode.txt" 2>&1) || rc=$?
  # 1 is "failures found": summarize.py judges those against the allow-list.
  if [[ $rc -gt 1 ]]; then say "schemathesis ($mode) exited $rc"; tail -n 40 "$REPORTS/$mode.txt" >&2; exit 1; fi
  say "$mode: $(( $(date +%s) - t1 ))s"
done

status=0
# shellcheck disable=SC2086
"$VENV/bin/python" "$HERE/summarize.py" --allowlist "$HERE/allowlist.toml" --reports "$REPORTS" $MODES || status=$?
say "total $(( $(date +%s) - t0 ))s; reports in $REPORTS"
exit "$status"
