#!/usr/bin/env bash
# Issue 2's main scenario, for real: probed against the simulated API on loopback, with a
# webhook receiver and a PagerDuty-shaped receiver.
#  - 502 on /post-detail/ pages once within interval + confirm_after + 2 s, then resolves;
#  - /userid/ stays green meanwhile;
#  - "200 with an empty id" pages, with the path and keyword in the reason;
#  - the canary API key appears nowhere: log, database, payloads, probectl output.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

KEY="canary-$RANDOM$RANDOM-do-not-leak"
export TIKLIVE_TEST_KEY=$KEY
start_simapi --key "$KEY"
start_receiver webhook
start_receiver pager --kind pagerduty
write_config "$PD_TMP/probes.yaml" 2s 500ms
DB=$PD_TMP/probed.db
start_probed "$PD_TMP/probes.yaml"

all_green() {
	local n
	for n in userid userinfo post-detail; do
		"$PROBECTL_BIN" history "$n" --db "$DB" --since 1h --json >"$PD_TMP/h.json" 2>/dev/null || return 1
		"$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["count"]>=2 and d["failures"]==0 else 1)' "$PD_TMP/h.json" || return 1
	done
}
check "all three probes green after start" wait_for 20 all_green

# ---- 502 on /post-detail/ ------------------------------------------------------------
t0=$(date +%s.%N)
sim_mode post-detail 502
TRIG_PD='b.get("event")=="trigger" and b.get("probe")=="post-detail"'
check "webhook trigger for post-detail" wait_for 15 received_ge 1 "$WEBHOOK_OUT" "$TRIG_PD"
t1=$(date +%s.%N)
elapsed=$("$PYTHON" -c "print(round($t1-$t0,2))")
echo "page after ${elapsed}s (bound: interval 2s + confirm_after 0.5s + 2s = 4.5s)"
check "paged within interval + confirm_after + 2s" "$PYTHON" -c "import sys; sys.exit(0 if $elapsed <= 4.5 else 1)"
check "pagerduty trigger accepted" wait_for 5 received_ge 1 "$PAGER_OUT" \
	'b.get("event_action")=="trigger" and b["payload"]["component"]=="post-detail" and b["payload"]["severity"]=="error" and b.get("dedup_key","").startswith("probed:inc-")'
check "trigger names the class and reason" received_is 1 "$WEBHOOK_OUT" \
	"$TRIG_PD and b['outcome']=='http_5xx' and 'status 502' in b['reason'] and b['consecutive_failures']>=2 and b['family']=='post-detail' and b['dedup_key'].startswith('probed:inc-') and b['severity']=='P2' and b['mode']=='mode1-upstream'"
sleep 4 # several more failing rounds
check "exactly one webhook trigger while the outage lasts" received_is 1 "$WEBHOOK_OUT" "$TRIG_PD"
check "exactly one pagerduty trigger while the outage lasts" received_is 1 "$PAGER_OUT" 'b.get("event_action")=="trigger"'
check "no page for userid or userinfo" received_is 0 "$WEBHOOK_OUT" 'b.get("probe") in ("userid","userinfo")'
"$PROBECTL_BIN" status --db "$DB" --json >"$PD_TMP/status.json"
check "status: post-detail down, userid up with 0 failures" "$PYTHON" - "$PD_TMP/status.json" <<'PY'
import json, sys
s = {p["name"]: p for p in json.load(open(sys.argv[1]))["probes"]}
assert s["post-detail"]["state"] == "down", s["post-detail"]
assert s["post-detail"]["consecutive_failures"] >= 2
assert s["post-detail"]["last_page"] is not None
assert s["userid"]["state"] == "up" and s["userid"]["consecutive_failures"] == 0, s["userid"]
assert s["userid"]["ok"] is True
PY

# ---- recovery -------------------------------------------------------------------------
sim_mode post-detail ok
RES_PD='b.get("event")=="resolve" and b.get("probe")=="post-detail"'
check "webhook resolve for post-detail" wait_for 15 received_ge 1 "$WEBHOOK_OUT" "$RES_PD"
check "pagerduty resolve accepted" wait_for 5 received_ge 1 "$PAGER_OUT" 'b.get("event_action")=="resolve"'
check "resolve carries the trigger's dedup_key" "$PYTHON" - "$WEBHOOK_OUT" <<'PY'
import json, sys
ev = [json.loads(l)["body"] for l in open(sys.argv[1]) if l.strip()]
t = [e for e in ev if e.get("probe") == "post-detail" and e["event"] == "trigger"]
r = [e for e in ev if e.get("probe") == "post-detail" and e["event"] == "resolve"]
assert len(t) == 1 and len(r) == 1, (t, r)
assert t[0]["dedup_key"] == r[0]["dedup_key"]
PY
sleep 2
check "exactly one resolve" received_is 1 "$WEBHOOK_OUT" "$RES_PD"

# ---- 200 with an empty id -------------------------------------------------------------
sim_mode userid empty-id
TRIG_U='b.get("event")=="trigger" and b.get("probe")=="userid"'
check "empty id pages" wait_for 15 received_ge 1 "$WEBHOOK_OUT" "$TRIG_U"
check "empty id reason names path and keyword" received_is 1 "$WEBHOOK_OUT" \
	"$TRIG_U and b['outcome']=='shape' and b['reason'].startswith('\$.id: minLength 1, got \"\"')"
sim_mode userid ok
check "empty id resolves" wait_for 15 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="resolve" and b.get("probe")=="userid"'

"$PROBECTL_BIN" history post-detail --db "$DB" --since 1h >"$PD_TMP/history.txt"
check "history shows the 502s and an error rate" grep -q 'http_5xx' "$PD_TMP/history.txt"
check "history summary line" grep -Eq 'error rate [0-9.]+%, p50 [0-9.]+ ms, p95 [0-9.]+ ms' "$PD_TMP/history.txt"
"$PROBECTL_BIN" status --db "$DB" >"$PD_TMP/status.txt"

# ---- clean shutdown ---------------------------------------------------------------------
stop_pid "$PROBED_PID" 20
check "SIGTERM exits 0" [ "$STOP_RC" = 0 ]
check "log says state changes from -> to" grep -q 'probe post-detail: failing -> down' "$PD_TMP/probed.log"

# ---- the canary key appears nowhere -----------------------------------------------------
leaks=$(grep -rlaF -- "$KEY" "$PD_TMP"/probed.log "$PD_TMP"/probed.db* "$WEBHOOK_OUT" "$PAGER_OUT" \
	"$PD_TMP"/status.* "$PD_TMP"/history.txt "$PD_TMP"/h.json 2>/dev/null || true)
check "canary key in no log, database, payload or output (${leaks:-none})" [ -z "$leaks" ]
check "the database was really searched" [ -s "$DB" ]
pd_finish
