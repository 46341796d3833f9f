#!/usr/bin/env bash
# `make run`: starts the embedded single-node ledger on ./data and loads the demo data set
# through the real import path. Re-running is safe: imports are idempotent. Another address
# or directory: `make run HTTP=127.0.0.1:9080 RAFT=127.0.0.1:9081 DATA=./data2`.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${DATA:-./data}"
HTTP="${HTTP:-127.0.0.1:8080}"
RAFT="${RAFT:-127.0.0.1:8081}"
export CLOUDLEDGER_SERVER="http://$HTTP" DATA
export DEMO_PASSWORD="${DEMO_PASSWORD:-Demo@2026}"

bin/ledgerd --data-dir "$DATA" --http "$HTTP" --raft "$RAFT" &
pid=$!
# Ctrl-C stops the node and ends cleanly (exit 0: make reports no error); any other exit
# stops it too.
stop() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
trap 'stop; echo; echo "CloudLedger stopped (data kept in $DATA)."; trap - EXIT; exit 0' INT TERM
trap stop EXIT

for i in $(seq 1 100); do
  if [ -s "$DATA/admin.token" ] && curl -sf "http://$HTTP/healthz" | grep -q 'leader=node'; then break; fi
  sleep 0.2
done
export CLOUDLEDGER_TOKEN="$(cat "$DATA/admin.token")"
if [ -s "$DATA/demo-tokens/authority1.token" ]; then
  export CLOUDLEDGER_TOKEN="$(cat "$DATA/demo-tokens/authority1.token")" # the demo ran before
fi
# The admin token replicates through the log right after the first election.
for i in $(seq 1 50); do bin/ledgerctl verify >/dev/null 2>&1 && break; sleep 0.2; done

./scripts/load-demo.sh
cat <<MSG

CloudLedger is running on $CLOUDLEDGER_SERVER (data in $DATA).
The web console: open $CLOUDLEDGER_SERVER/ and sign in as one of the demo accounts
(authority1, supervisor1, finance1, auditor1, edu-it, aliyun-am, security1) with the demo
password $DEMO_PASSWORD — a demo convenience; a real deployment sets each person's own.
In another terminal (the authority's token; the bootstrap admin token is retired once the
first security and authority accounts exist):
  export CLOUDLEDGER_SERVER=$CLOUDLEDGER_SERVER
  export CLOUDLEDGER_TOKEN=\$(cat $DATA/demo-tokens/authority1.token)
  bin/ledgerctl quota overruns
  bin/ledgerctl charges --from 2025-09-01 --to 2026-08-31 --format csv -o charges.csv
  bin/ledgerctl settle status --year 2026
  bin/ledgerctl budget export --year 2026 --format xlsx -o budget-2026.xlsx
  bin/ledgerctl bands show
  bin/ledgerctl cluster status
As another role (tokens of the demo accounts in $DATA/demo-tokens/):
  CLOUDLEDGER_TOKEN=\$(cat $DATA/demo-tokens/edu-it.token) bin/ledgerctl charges --from 2026-03-01 --to 2026-03-31
  CLOUDLEDGER_TOKEN=\$(cat $DATA/demo-tokens/auditor1.token) bin/ledgerctl access log --result denied
Press Ctrl-C to stop.
MSG
wait $pid
