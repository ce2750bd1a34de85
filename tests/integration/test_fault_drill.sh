#!/usr/bin/env bash
# Promise: `probectl drill` delivers only its own drill rows: a page the daemon has queued
# is never sent by probectl beside it (it could go twice, past the daemon's breaker), and
# a drill row waits behind the target's older rows (strict per-target order).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

export TIKLIVE_TEST_KEY="canary-$RANDOM$RANDOM-drill"
start_simapi --key "$TIKLIVE_TEST_KEY"
start_receiver webhook --status 503
write_config "$PD_TMP/probes.yaml" 1s 300ms
DB=$PD_TMP/probed.db
start_probed "$PD_TMP/probes.yaml"
sim_mode post-detail 502
check "the page is queued (the pager answers 503)" wait_for 20 grep -q 'notify oncall-webhook: trigger .* failed (HTTP 503)' "$PD_TMP/probed.log"
stop_pid "$PROBED_PID" 20
sleep 6 # the queued page's retry time passes: it is due when the drill runs
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$WEBHOOK_PORT/_status?code=200"
n0=$(received "$WEBHOOK_OUT" 'True')
"$PROBECTL_BIN" drill P1 -c "$PD_TMP/probes.yaml" --db "$DB" >"$PD_TMP/drill.txt" 2>&1 || { cat "$PD_TMP/drill.txt"; fail "drill failed"; }
cat "$PD_TMP/drill.txt"
check "probectl drill did not send the daemon's queued page" \
	[ "$(received "$WEBHOOK_OUT" 'b.get("event")=="trigger" and not b.get("drill")')" = 0 ]
check "nor its own drill ahead of that page (per-target order)" [ "$(received "$WEBHOOK_OUT" 'True')" = "$n0" ]
start_probed "$PD_TMP/probes.yaml"
check "the daemon delivers the page, then the drill" wait_for 20 received_ge 1 "$WEBHOOK_OUT" 'b.get("drill")'
order_ok() {
	"$PYTHON" - "$WEBHOOK_OUT" <<'PY'
import json, sys
ev = [json.loads(l)["body"] for l in open(sys.argv[1]) if 200 <= json.loads(l).get("status", 0) < 300]
kinds = ["drill" if e.get("drill") else e.get("event") for e in ev]
print(kinds)
sys.exit(0 if kinds[:2] == ["trigger", "drill"] and kinds.count("drill") == 1 and kinds.count("trigger") == 1 else 1)
PY
}
check "once each, the page first" order_ok
pd_finish
