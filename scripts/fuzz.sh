#!/usr/bin/env bash
# Runs every fuzz target of the module for a few seconds on top of its committed corpus
# (testdata/fuzz). New failing inputs are written there by go test; commit them.
set -euo pipefail
fuzztime="${1:-4s}"
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
