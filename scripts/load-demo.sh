#!/usr/bin/env bash
# Loads the demo data set (examples/demo) into a running ledger through the real import
# path, with one account per role. `make run` calls it; so do the console's browser tests.
# Needs CLOUDLEDGER_SERVER, CLOUDLEDGER_TOKEN (the admin token, for a new ledger's first
# steps) and DATA (where the demo accounts' tokens go). Re-running is safe: imports are
# idempotent and accounts with a token in $DATA/demo-tokens are left as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
LEDGERCTL="${LEDGERCTL:-bin/ledgerctl}"
DEMO_PASSWORD="${DEMO_PASSWORD:-Demo@2026}"
echo "== loading the demo data set (examples/demo) =="
if [ -s "$DATA/demo-tokens/authority1.token" ]; then
  export CLOUDLEDGER_TOKEN="$(cat "$DATA/demo-tokens/authority1.token")" # a re-run: the bootstrap credential is retired
fi
"$LEDGERCTL" import departments examples/demo/departments.csv
"$LEDGERCTL" import providers examples/demo/providers.csv
# One account per role (SPEC: Access, 三员分立), each a person with the demo password (the
# console's sign-in) and a token of their own in $DATA/demo-tokens/ (mode 0600) — a demo
# convenience: a real deployment hands each person their activation code, and nobody else
# ever sees their password or token. The bootstrap credential makes security1 and
# authority1, and is retired once both exist; security1 makes the others, and a second
# person (authority1) confirms the privileged ones.
mkdir -p "$DATA/demo-tokens" && chmod 700 "$DATA/demo-tokens"
BOOT="$CLOUDLEDGER_TOKEN"
as_role() { CLOUDLEDGER_TOKEN="$(cat "$DATA/demo-tokens/$1.token")" "${@:2}"; }
demo_account() { # creator id role name [scope flag] [scope]
  local creator=$1 id=$2 role=$3 name=$4; shift 4
  [ -s "$DATA/demo-tokens/$id.token" ] && return 0
  local tok="$BOOT"
  [ "$creator" = bootstrap ] || tok="$(cat "$DATA/demo-tokens/$creator.token")"
  local code
  code=$(CLOUDLEDGER_TOKEN="$tok" "$LEDGERCTL" account add --id "$id" --role "$role" --name "$name" "$@" | tail -n 1)
  case "$role" in supervisor|finance|auditor) as_role authority1 "$LEDGERCTL" account confirm --id "$id" >/dev/null ;; esac
  printf '%s\n%s\n' "$code" "$DEMO_PASSWORD" | "$LEDGERCTL" account activate --id "$id" 2>/dev/null
  local session
  session=$(printf '%s\n' "$DEMO_PASSWORD" | "$LEDGERCTL" signin --id "$id" 2>/dev/null)
  (umask 077; CLOUDLEDGER_TOKEN="$session" "$LEDGERCTL" account token issue >"$DATA/demo-tokens/$id.token" 2>/dev/null)
}
demo_account bootstrap security1 security "安全管理员 钱工"
demo_account bootstrap authority1 authority "运行管理单位 张工"
demo_account security1 supervisor1 supervisor "经信委 李处"
demo_account security1 finance1 finance "财政局 王科"
demo_account security1 auditor1 auditor "审计 赵工"
demo_account security1 edu-it department "教育局信息科" --department edu
demo_account security1 aliyun-am provider "阿里云客户经理" --provider aliyun
# From here on the authority acts: the bootstrap credential is retired.
export CLOUDLEDGER_TOKEN="$(cat "$DATA/demo-tokens/authority1.token")"
"$LEDGERCTL" import projects examples/demo/projects.csv
"$LEDGERCTL" import catalog examples/demo/catalog.csv
"$LEDGERCTL" import evaluations examples/demo/evaluations.csv
# The health commission's HIS expansion was approved by the supervisor (经信主管部门). A fixed
# key makes re-running the demo a no-op.
as_role supervisor1 "$LEDGERCTL" --key demo/approval/health-vcpu approval grant --department health --class vcpu --ceiling 200 --ref '经信审〔2025〕12号'
# Expiries due by now (the demo year's test and dev resources) are written by the leader's tick.
"$LEDGERCTL" import events examples/demo/events.csv
"$LEDGERCTL" import projects examples/demo/projects-2026-adjust.csv
# Settlement year 2026 (1 Sep 2025 – 31 Aug 2026): the late scores arrive, its months close,
# the finance bureau runs, audits and submits it, so the budget export works at once.
"$LEDGERCTL" import evaluations examples/demo/evaluations-late.csv
# Its last evaluation quarter, 2026Q4 (June–August 2026), on the ledger before the audit: the
# expert panel's scores, then the authority publishes the quarter (SPEC: Evaluation). The
# scores entered above still win on their days, so the charges stay those of the entered
# scores. Fixed keys make re-running the demo a no-op.
while read -r p score; do
  "$LEDGERCTL" --key "demo/expert/2026Q4/$p" evaluation expert --provider "$p" --quarter 2026Q4 --score "$score" --ref '评审〔2026〕9号' >/dev/null
done <<'SCORES'
ctyun 90
hwcloud 86
aliyun 82
SCORES
"$LEDGERCTL" --key demo/publish/2026Q4 evaluation publish --quarter 2026Q4 >/dev/null
for m in 2025-09 2025-10 2025-11 2025-12 2026-01 2026-02 2026-03 2026-04 2026-05 2026-06 2026-07 2026-08; do
  "$LEDGERCTL" --key "demo/close/$m" period close "$m" >/dev/null
done
"$LEDGERCTL" settle run --year 2026
"$LEDGERCTL" settle audit --year 2026
"$LEDGERCTL" settle submit --year 2026
echo
"$LEDGERCTL" verify
echo
"$LEDGERCTL" quota overruns
echo
echo "== charges of the health commission in March 2026 ("$LEDGERCTL" charges --from 2026-03-01 --to 2026-03-31 --department health) =="
"$LEDGERCTL" charges --from 2026-03-01 --to 2026-03-31 --department health
