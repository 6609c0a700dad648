"""Judge schemathesis NDJSON reports against the contract allow-list.

Usage: summarize.py --allowlist allowlist.toml --reports DIR MODE...

Reads DIR/<mode>.ndjson (st run --report ndjson) for each auth mode and
prints, per mode, the requests sent and the failures by check; then every
distinct failure (check + operation) with a one-line reproduction. Exits 1
if a failure is not allowed: server errors and responses outside the
schema never are, any other failure only when allowlist.toml names its
check and operation with a reason. Also exits 1 if a run did not finish
or reported errors, so a broken run cannot pass as a clean one.
"""

import argparse
import base64
import collections
import json
import os
import shlex
import sys
import tomllib

# Failures that no allow-list entry may excuse (issue 12: "0 server errors
# and 0 schema violations").
NEVER_ALLOWED = {"not_a_server_error", "response_schema_conformance"}


def load_allowlist(path):
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    entries = doc.get("allow", [])
    problems = []
    for i, e in enumerate(entries):
        where = f"{path}: [[allow]] #{i + 1}"
        for key in ("check", "operation", "reason"):
            if not str(e.get(key, "")).strip():
                problems.append(f"{where}: '{key}' is required")
        if e.get("check") in NEVER_ALLOWED:
            problems.append(f"{where}: {e['check']} failures cannot be allow-listed")
        op = str(e.get("operation", ""))
        if "*" in op or "*" in str(e.get("check", "")) or len(op.split(" ", 1)) != 2:
            problems.append(f"{where}: operation must be exactly 'METHOD /path' (no wildcards)")
        unknown = set(e) - {"check", "operation", "reason", "modes"}
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
    if problems:
        sys.exit("\n".join(problems))
    return entries


def decode(body):
    if not body:
        return ""
    if "$base64" in body:
        return base64.b64decode(body["$base64"]).decode("utf-8", "replace")
    return body.get("string", "")


def reproduction(mode, interaction):
    """One curl line; the token stays a shell variable (reports filter it)."""
    req = interaction["request"]
    parts = ["curl", "-sS", "-X", req["method"], req["uri"]]
    for name, values in (req.get("headers") or {}).items():
        if name.lower() == "authorization":
            parts += ["-H", "Authorization: Bearer $%s_TOKEN" % mode.upper()]
        elif name.lower() in ("content-type", "accept"):
            parts += ["-H", f"{name}: {values[0]}"]
    body = decode(req.get("body"))
    if body:
        parts += ["--data-binary", body[:300] + ("..." if len(body) > 300 else "")]
    line = " ".join(shlex.quote(p) if not p.startswith("Authorization: Bearer $") else f'"{p}"' for p in parts)
    resp = interaction.get("response") or {}
    got = resp.get("status_code", "no response")
    text = decode(resp.get("content"))[:160].replace("\n", " ")
    return f"{line}  # -> {got} {text}"


def read_mode(path, mode):
    """Counts and failures of one st run."""
    stats = collections.Counter()
    failures = collections.OrderedDict()  # (check, operation) -> first sample
    per_check = collections.Counter()
    errors = []
    finished = False
    with open(path) as f:
        for line in f:
            event = json.loads(line)
            kind, body = next(iter(event.items()))
            if kind == "EngineFinished":
                finished = True
            elif kind in ("NonFatalError", "FatalError"):
                errors.append(f"{kind}: {json.dumps(body)[:400]}")
            elif kind == "ScenarioFinished":
                rec = body.get("recorder") or {}
                interactions = rec.get("interactions") or {}
                stats["requests"] += len(interactions)
                stats["cases"] += len(rec.get("cases") or {})
                for case_id, checks in (rec.get("checks") or {}).items():
                    for check in checks:
                        stats["checks"] += 1
                        if check.get("status") != "failure":
                            continue
                        info = (check.get("failure_info") or {}).get("failure") or {}
                        op = info.get("operation") or rec.get("label", "?")
                        key = (check["name"], op)
                        per_check[check["name"]] += 1
                        if key not in failures:
                            inter = interactions.get(case_id)
                            failures[key] = {
                                "code": info.get("code", ""),
                                "message": (info.get("message") or info.get("title") or "").split("\n")[0],
                                "phase": body.get("phase"),
                                "repro": reproduction(mode, inter) if inter else "(no request recorded)",
                                "count": 0,
                            }
                        failures[key]["count"] += 1
    if not finished:
        errors.append("the run did not finish (no EngineFinished event)")
    return stats, per_check, failures, errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--allowlist", required=True)
    ap.add_argument("--reports", required=True)
    ap.add_argument("modes", nargs="+")
    args = ap.parse_args()
    allow = load_allowlist(args.allowlist)
    used = set()

    def allowed(check, op, mode):
        for i, e in enumerate(allow):
            if e["check"] == check and e["operation"] == op and mode in e.get("modes", [mode]):
                used.add(i)
                return e["reason"]
        return None

    bad = 0
    print("\n== contract test summary (schemathesis, docs/openapi.yaml)")
    results = {}
    for mode in args.modes:
        results[mode] = read_mode(os.path.join(args.reports, f"{mode}.ndjson"), mode)
        stats, per_check, failures, errors = results[mode]
        by_check = ", ".join(f"{c} {n}" for c, n in sorted(per_check.items())) or "none"
        print(f"  {mode:5}  requests {stats['requests']}, test cases {stats['cases']}, checks {stats['checks']}; "
              f"failing checks by name: {by_check}")
    for mode in args.modes:
        stats, per_check, failures, errors = results[mode]
        for err in errors:
            bad += 1
            print(f"\nERROR [{mode}] {err}")
        if not failures:
            continue
        print(f"\n-- {mode}: {len(failures)} distinct failures (check, operation)")
        for (check, op), f in sorted(failures.items()):
            reason = None if check in NEVER_ALLOWED else allowed(check, op, mode)
            verdict = f"allowed: {reason}" if reason else "NOT ALLOWED"
            if not reason:
                bad += 1
            print(f"  [{verdict.split(':')[0]}] {check} {f['code']} | {op} | x{f['count']} ({f['phase']}) | {f['message']}")
            if not reason:
                print(f"      {f['repro']}")
    for i, e in enumerate(allow):
        if i not in used:
            print(f"\nnote: allow-list entry not met in this run (fixed? remove it): {e['check']} | {e['operation']}")
    print(f"\ncontract test: {'FAILED, ' + str(bad) + ' failures not allowed' if bad else 'ok'}"
          f" (reports: {args.reports})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
