#!/usr/bin/env bash
# Measures every role's console home page with ApacheBench (ab -n 2000 -c 20), as the README
# reports it (issue 27, must show 5). Needs a running demo (`make run`) and Debian's
# apache2-utils. Each demo account signs in through the form; ab then loads the page the
# sign-in lands on, with the session cookie.
#   HTTP=127.0.0.1:8080 DATA=./data scripts/ab-home-pages.sh
# PAGES lists account:role[:page] to measure other pages (issue 28, must show 5), e.g.
#   PAGES="edu-it:department:/d/edu edu-it:department:/d/edu/charges finance1:finance:/finance"
set -euo pipefail
HTTP="${HTTP:-127.0.0.1:8080}"
BASE="http://$HTTP"
N="${N:-2000}"
C="${C:-20}"
PASSWORD="${DEMO_PASSWORD:-Demo@2026}"
jar=$(mktemp)
trap 'rm -f "$jar"' EXIT
printf '| account | role | page | requests/s | p50 ms | p99 ms | failed or not 2xx |\n|---|---|---|---:|---:|---:|---:|\n'
PAGES="${PAGES:-edu-it:department aliyun-am:provider supervisor1:supervisor finance1:finance authority1:authority auditor1:auditor security1:security}"
for pair in $PAGES; do
  IFS=: read -r account role want <<<"$pair"
  : >"$jar"
  csrf=$(curl -s -c "$jar" -b "$jar" "$BASE/signin" | grep -o 'name="csrf" value="[^"]*"' | head -1 | sed 's/.*value="//;s/"$//')
  page=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" --data-urlencode "csrf=$csrf" \
    --data-urlencode "account=$account" --data-urlencode "password=$PASSWORD" --data-urlencode "next=/" "$BASE/signin")
  # The sign-in lands on / , which sends each role to its home page.
  if [ "${page#$BASE}" = "/" ] || [ -z "$page" ]; then
    page=$(curl -s -o /dev/null -w '%{redirect_url}' -b "$jar" "$BASE/")
  fi
  if [ -n "${want:-}" ]; then
    page="$BASE$want"
  fi
  cookie=$(awk '{sub(/^#HttpOnly_/, "")} !/^#/ && NF>=7 {print $6"="$7}' "$jar" | paste -sd';' -)
  out=$(ab -q -n "$N" -c "$C" -C "$cookie" "$page" 2>&1)
  rps=$(awk '/Requests per second/ {print $4}' <<<"$out")
  p50=$(awk '/^  50%/ {print $2}' <<<"$out")
  p99=$(awk '/^  99%/ {print $2}' <<<"$out")
  # ab counts a page whose length differs from the first one's as failed (Length: …): the
  # pages that show live counts do; only connect, receive and exception failures count here.
  failed=$(awk '/Failed requests/ {f=$3} /\(Connect:/ {gsub(/[(),]/," "); l=$6} END {print f-l}' <<<"$out")
  non2xx=$(awk '/Non-2xx responses/ {print $3}' <<<"$out")
  printf '| %s | %s | `%s` | %s | %s | %s | %s |\n' "$account" "$role" "${page#$BASE}" "$rps" "$p50" "$p99" "$((failed + ${non2xx:-0}))"
done
