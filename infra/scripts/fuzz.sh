#!/usr/bin/env bash
# Runs every fuzz target (func FuzzXxx in a *_fuzz_test.go file) for
# FUZZTIME each: make fuzz (default 30s) and, briefly, make test (3s).
# New targets are found on their own. Executions per target are printed
# as "fuzz <pkg> <target>: <n> execs" (docs/reliability.md quotes them).
# A crash leaves its input in <pkg>/testdata/fuzz/<target>/ and fails
# the script: commit that file with the fix, it is then a regression test.
set -euo pipefail
cd "$(dirname "$0")/../.."
FUZZTIME=${FUZZTIME:-30s}
# Minimising a new interesting input may take up to a minute by default;
# bounded here so a short run stays short.
MINIMIZE=${FUZZMINIMIZETIME:-5s}
status=0
while IFS= read -r file; do
  pkg=./$(dirname "$file")
  for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing\.F).*/\1/p' "$file"); do
    out=$(go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$MINIMIZE" 2>&1) || {
      # Go's fuzz engine sometimes fails a run at its own -fuzztime
      # deadline ("context deadline exceeded") with no failing input: that
      # is the engine stopping, not a finding. A finding always writes its
      # input under testdata/fuzz.
      if echo "$out" | grep -q 'context deadline exceeded' && ! echo "$out" | grep -q 'Failing input written'; then
        echo "fuzz $pkg $target: stopped at its deadline by the fuzz engine (no failing input)"; continue
      fi
      echo "$out" | tail -30; echo "FAIL fuzz $pkg $target"; status=1; continue; }
    execs=$(echo "$out" | sed -n 's/.*execs: \([0-9]*\) .*/\1/p' | tail -1)
    echo "fuzz $pkg $target: ${execs:-0} execs in $FUZZTIME"
  done
done < <(git ls-files --cached --others --exclude-standard '*_fuzz_test.go' | sort)
exit $status
