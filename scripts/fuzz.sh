#!/usr/bin/env bash
# Runs every fuzz target of the module for a few seconds on top of its committed corpus
# (testdata/fuzz). New failing inputs are written there by go test; commit them.
set -euo pipefail
# A count, not a duration: a duration races Go 1.26's fuzz coordinator at the deadline and
# fails with "context deadline exceeded" and no crasher (golang/go#75804, fixed in Go 1.27).
fuzztime="${1:-30000x}"
cd "$(dirname "$0")/.."
targets=$(grep -rl --include='*_test.go' '^func Fuzz' . | sort)
status=0
for f in $targets; do
  pkg="./$(dirname "${f#./}")"
  for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed 's/^func //'); do
    echo "fuzz $pkg $name ($fuzztime)"
    if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/fuzz-$name.log 2>&1; then
      cat /tmp/fuzz-$name.log; status=1
    else
      tail -n 1 /tmp/fuzz-$name.log
    fi
  done
done
exit $status
