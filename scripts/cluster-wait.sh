#!/usr/bin/env bash
# Waits until the compose cluster reports three reachable nodes and a leader, then prints its status.
set -euo pipefail
cd "$(dirname "$0")/.."
export CLOUDLEDGER_TOKEN="${CLOUDLEDGER_TOKEN:-compose-demo-token}"
for i in $(seq 1 60); do
  # Three members, each reachable (its API answers, so it has joined and caught up).
  if out=$(bin/ledgerctl --server https://127.0.0.1:18081 --ca deploy/certs/ca.pem cluster status 2>/dev/null) &&
     [ "$(grep -c 'https://node' <<<"$out")" -ge 3 ] && ! grep -q '不可达' <<<"$out"; then
    echo "$out"; exit 0
  fi
  sleep 1
done
echo "cluster did not come up; docker logs:" >&2
${COMPOSE:-docker-compose} -f deploy/docker-compose.yml logs --tail 20 >&2 || true
exit 1
