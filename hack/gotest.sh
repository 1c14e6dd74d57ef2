#!/usr/bin/env bash
# Runs the Go tests with the race detector, every skip counted as a failure (KUBESPACE_REQUIRE_ALL=1
# makes missing services fail; any other skip is caught here), and ends with a summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
KUBESPACE_REQUIRE_ALL=1 go test -race -count=1 -timeout 20m -v "$@" ./... >"$out" 2>&1
status=$?
# Show failures and package results, not every passing test.
grep -E '^(--- FAIL|--- SKIP|FAIL|ok |panic:|\s+.*_test\.go:[0-9]+:|\s+(Error|Messages|Test):)' "$out" | grep -v -E '^\s+--- PASS' | tail -300
passed=$(grep -c -E '^\s*--- PASS' "$out")
failed=$(grep -c -E '^\s*--- FAIL' "$out")
skipped=$(grep -c -E '^\s*--- SKIP' "$out")
if [ "$skipped" -gt 0 ]; then
  echo "skipped tests count as failures here:" >&2
  grep -E '^\s*--- SKIP' -A2 "$out" | head -40 >&2
  status=1
fi
if [ $status -ne 0 ] && [ "$failed" -eq 0 ]; then
  tail -50 "$out"
fi
echo "go: $passed passed, $failed failed, $skipped skipped"
exit $status
