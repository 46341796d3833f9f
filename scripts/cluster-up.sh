#!/usr/bin/env bash
# Starts the compose cluster the way an operator adds members (SPEC: Access, membership):
# node1 bootstraps; then, on node1's host (its container), the operator makes a single-use
# join ticket for each new node with `ledgerctl cluster add --data-dir`, and each node starts
# with its ticket. No account is involved. A node that is a member already (a restart, a
# second `make cluster-up`) needs no ticket: it is started without one.
set -euo pipefail
cd "$(dirname "$0")/.."
COMPOSE=${COMPOSE:-docker-compose}
FILE=deploy/docker-compose.yml
export CLOUDLEDGER_TOKEN="${CLOUDLEDGER_TOKEN:-compose-demo-token}"
ctl() { bin/ledgerctl --server "https://127.0.0.1:$1" --ca deploy/certs/ca.pem "${@:2}"; }

$COMPOSE -f "$FILE" up -d node1
# Live, not ready: node1 of a cluster started again has no leader until another member is
# back. Live means it has made (or read) its Raft CA, whose fingerprint the tickets carry.
for i in $(seq 1 60); do
  curl -fsS --cacert deploy/certs/ca.pem https://127.0.0.1:18081/livez >/dev/null 2>&1 && break
  [ "$i" = 60 ] && { echo "node1 did not start" >&2; $COMPOSE -f "$FILE" logs --tail 20 node1 >&2; exit 1; }
  sleep 1
done

for n in 2 3; do
  var="NODE${n}_JOIN_TICKET"
  if ctl "1808$n" ready >/dev/null 2>&1; then
    export "$var="  # running and a member already
  else
    # The operator's act on node1's host: a ticket for this one node id, shown once. A node
    # that is a member already (stopped, started again) does not use it; it expires unused.
    export "$var=$($COMPOSE -f "$FILE" exec -T node1 /ledgerctl cluster add --data-dir /data --node-id "node$n" --ttl 10m)"
  fi
  $COMPOSE -f "$FILE" up -d "node$n"
done
./scripts/cluster-wait.sh
