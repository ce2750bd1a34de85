#!/usr/bin/env bash
# Issue 3: a freshness probe (kind: freshness, stats/archive/{date}.json, deadline 00:00 so
# today's batch is always due) turning late -> P3, Mode 3, delivered to the webhook (ticket)
# and never to the PagerDuty (page) target; and shape drift: /post-detail/ (no JSON schema,
# so it still passes) changing its structure -> a P4 "shape drift" incident with the
# added/removed paths, on the webhook only. The P3 -> P2 escalation after 30 min is tested
# with a controllable clock elsewhere.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

export TIKLIVE_TEST_KEY="canary-$RANDOM-fresh"
start_simapi --key "$TIKLIVE_TEST_KEY"
start_receiver webhook
start_receiver pager --kind pagerduty
write_config "$PD_TMP/probes.yaml" 1s 300ms
"$PYTHON" - "$PD_TMP/probes.yaml" "$SIM_URL" <<'PY'
import re, sys
path, sim = sys.argv[1], sys.argv[2]
s = open(path).read()
# post-detail without a JSON schema: a structure change passes, and is shape drift
s = re.sub(r"(  - name: post-detail\n(?:    .*\n)*?)    expect:\n      status: \[\"200-299\"\]\n      json:\n(?:        .*\n)*",
           lambda m: m.group(1) + '    expect:\n      status: ["200-299"]\n', s, count=1)
assert "required: [play, hdplay, wmplay]" not in s
s = s.replace("notify:\n", f"""  - name: stats-archive
    family: stats
    tier: secondary
    kind: freshness
    url: {sim}/stats/archive/{{date}}.json
    freshness:
      deadline: "00:00"
      max_age: 26h
      field: generated_at
notify:
""", 1)
s += """classify:
  window: 1m
  min_window_count: 3
  baseline_latency: 100ms
  correlation_window: 1s
"""
open(path, "w").write(s)
PY
"$PROBECTL_BIN" validate -c "$PD_TMP/probes.yaml" >/dev/null || fail "config invalid"
DB=$PD_TMP/probed.db
start_probed "$PD_TMP/probes.yaml"
check "probes running" wait_for 20 bash -c "[ \"\$(sqlite3 -readonly '$DB' 'select count(*) from results' 2>/dev/null || echo 0)\" -ge 12 ]"
check "the archive of today is fetched and fresh" wait_for 10 bash -c \
	"[ \"\$(sqlite3 -readonly '$DB' \"select count(*) from results r join probes p on p.id = r.probe_id where p.name = 'stats-archive' and r.outcome = 0\")\" -ge 1 ]"
check "post-detail fingerprint stored" wait_for 10 bash -c \
	"sqlite3 -readonly '$DB' \"select paths from shapes s join probes p on p.id = s.probe_id where p.name = 'post-detail'\" | grep -q '^\\\$.play:string\$'"

open_count() {
	"$PROBECTL_BIN" incidents --open --db "$DB" --json | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["incidents"]))'
}
all_resolved() { [ "$(open_count)" = 0 ]; }
export -f open_count all_resolved
export DB PROBECTL_BIN PYTHON
check "no incident while all is well" all_resolved
pages0=$(received "$PAGER_OUT" 'b.get("event_action")=="trigger"')

# ---- freshness late -> P3, Mode 3, chat/ticket only ------------------------------------------
echo "---- stats late"
sim_mode stats late
T1='b.get("event")=="trigger" and b.get("probe")=="stats-archive"'
check "late batch: an incident on the webhook" wait_for 20 received_ge 1 "$WEBHOOK_OUT" "$T1"
check "declared P3, Mode 3 (queue), with its runbook" received_ge 1 "$WEBHOOK_OUT" \
	"$T1 and b['severity']=='P3' and b['mode']=='mode3-queue' and 'mode3' in b['runbook']"
TODAY=$(date -u +%F)
check "result verdict names today's batch and the deadline" bash -c \
	"sqlite3 -readonly '$DB' \"select verdict from results where outcome = 16\" | grep -q 'stats/archive/$TODAY.json not there .* after the 00:00 UTC deadline'"
check "outcome class is 'late'" bash -c "\"\$PROBECTL_BIN\" history stats-archive --db '$DB' --since 1h --json | grep -q '\"late\"'"
sleep 3
check "P3 never reaches the PagerDuty target" [ "$(received "$PAGER_OUT" 'b.get("event_action")=="trigger"')" = "$pages0" ]
sim_mode stats ok
check "freshness incident resolves" wait_for 30 all_resolved
check "resolve delivered" wait_for 10 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="resolve" and b.get("probe")=="stats-archive"'
sleep 2

# ---- shape drift -> P4, ticket only ------------------------------------------------------------
echo "---- post-detail shape"
sim_mode post-detail shape
T2='b.get("event")=="trigger" and b.get("probe")=="post-detail"'
check "shape drift: a P4 incident on the webhook" wait_for 20 received_ge 1 "$WEBHOOK_OUT" \
	"$T2 and b['severity']=='P4' and 'shape drift' in (b.get('summary','') + b.get('reason',''))"
check "the probe still passes (schema-less)" bash -c \
	"[ \"\$(sqlite3 -readonly '$DB' \"select count(*) from results r join probes p on p.id = r.probe_id where p.name = 'post-detail' and r.outcome <> 0\")\" = 0 ]"
EV=$(sqlite3 -readonly "$DB" "select detail from events where kind = 'shape_drift'")
echo "drift event: $EV"
check "drift event lists added and removed paths" bash -c \
	"grep -q 'added .*\\\$.video:object' <<<'$EV' && grep -q 'removed .*\\\$.play:string' <<<'$EV'"
check "two fingerprints stored" [ "$(sqlite3 -readonly "$DB" "select count(*) from shapes s join probes p on p.id = s.probe_id where p.name = 'post-detail'")" = 2 ]
check "drift logged" grep -q 'shape drift (schema still passes)' "$PD_TMP/probed.log"
sleep 3
check "P4 shape drift never pages" [ "$(received "$PAGER_OUT" 'b.get("event_action")=="trigger"')" = "$pages0" ]
# back to the old shape: seen within 24 h, not a new drift
sim_mode post-detail ok
sleep 3
check "returning to a known shape is not another drift" [ "$(sqlite3 -readonly "$DB" "select count(*) from events where kind = 'shape_drift'")" = 1 ]

stop_pid "$PROBED_PID" 20
check "SIGTERM exits 0" [ "$STOP_RC" = 0 ]
check "canary key nowhere" not grep -rlaF "$TIKLIVE_TEST_KEY" "$PD_TMP"/probed.log "$DB"* "$WEBHOOK_OUT" "$PAGER_OUT"
pd_finish
