#!/usr/bin/env bash
# `make run`: starts the embedded single-node ledger on ./data and loads the demo data set
# through the real import path. Re-running is safe: imports are idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${DATA:-./data}"
HTTP="${HTTP:-127.0.0.1:8080}"
RAFT="${RAFT:-127.0.0.1:8081}"
export CLOUDLEDGER_SERVER="http://$HTTP"

bin/ledgerd --data-dir "$DATA" --http "$HTTP" --raft "$RAFT" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' INT TERM EXIT

for i in $(seq 1 100); do
  if [ -s "$DATA/admin.token" ] && curl -sf "http://$HTTP/healthz" | grep -q 'leader=node'; then break; fi
  sleep 0.2
done
export CLOUDLEDGER_TOKEN="$(cat "$DATA/admin.token")"
# The admin token replicates through the log right after the first election.
for i in $(seq 1 50); do bin/ledgerctl verify >/dev/null 2>&1 && break; sleep 0.2; done

echo "== loading the demo data set (examples/demo) =="
bin/ledgerctl import departments examples/demo/departments.csv
bin/ledgerctl import providers examples/demo/providers.csv
# One account per role (SPEC: Access), each with a token in $DATA/demo-tokens/ (mode 0600):
# a demo convenience — a real deployment hands each token to its holder once.
mkdir -p "$DATA/demo-tokens" && chmod 700 "$DATA/demo-tokens"
demo_account() { # id role name [scope flag] [scope]
  local id=$1 role=$2 name=$3; shift 3
  bin/ledgerctl account add --id "$id" --role "$role" --name "$name" "$@" >/dev/null 2>&1 || true
  if [ ! -s "$DATA/demo-tokens/$id.token" ]; then
    (umask 077; bin/ledgerctl account token issue --id "$id" >"$DATA/demo-tokens/$id.token" 2>/dev/null)
  fi
}
demo_account authority1 authority "运行管理单位 张工"
demo_account supervisor1 supervisor "经信委 李处"
demo_account finance1 finance "财政局 王科"
demo_account auditor1 auditor "审计 赵工"
demo_account edu-it department "教育局信息科" --department edu
demo_account aliyun-am provider "阿里云客户经理" --provider aliyun
as_role() { CLOUDLEDGER_TOKEN="$(cat "$DATA/demo-tokens/$1.token")" "${@:2}"; }
bin/ledgerctl import projects examples/demo/projects.csv
bin/ledgerctl import catalog examples/demo/catalog.csv
bin/ledgerctl import evaluations examples/demo/evaluations.csv
# The health commission's HIS expansion was approved by the supervisor (经信主管部门). A fixed
# key makes re-running the demo a no-op.
as_role supervisor1 bin/ledgerctl --key demo/approval/health-vcpu approval grant --department health --class vcpu --ceiling 200 --ref '经信审〔2025〕12号'
# Expiries due by now (the demo year's test and dev resources) are written by the leader's tick.
bin/ledgerctl import events examples/demo/events.csv
bin/ledgerctl import projects examples/demo/projects-2026-adjust.csv
# Settlement year 2026 (1 Sep 2025 – 31 Aug 2026): the late scores arrive, its months close,
# the finance bureau runs, audits and submits it, so the budget export works at once.
bin/ledgerctl import evaluations examples/demo/evaluations-late.csv
for m in 2025-09 2025-10 2025-11 2025-12 2026-01 2026-02 2026-03 2026-04 2026-05 2026-06 2026-07 2026-08; do
  bin/ledgerctl --key "demo/close/$m" period close "$m" >/dev/null
done
bin/ledgerctl settle run --year 2026
bin/ledgerctl settle audit --year 2026
bin/ledgerctl settle submit --year 2026
echo
bin/ledgerctl verify
echo
bin/ledgerctl quota overruns
echo
echo "== charges of the health commission in March 2026 (bin/ledgerctl charges --from 2026-03-01 --to 2026-03-31 --department health) =="
bin/ledgerctl charges --from 2026-03-01 --to 2026-03-31 --department health
cat <<MSG

CloudLedger is running on $CLOUDLEDGER_SERVER (data in $DATA). In another terminal:
  export CLOUDLEDGER_TOKEN=\$(cat $DATA/admin.token)
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
