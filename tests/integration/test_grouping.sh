#!/usr/bin/env bash
# Issue 11: incidents grouped by cause, not only by time. /post-detail/ answers 502 (Mode 1)
# while the daily stats batch is late (Mode 3), inside one correlation window (2m, the
# default): two incidents reach the real receivers, each with its own severity, mode,
# runbook and dedup key; the P3 batch incident never reaches the pager. The Mode 1 title
# names the configured upstream (classify: upstream) and its reason the configured
# reference probe (classify: reference_probe).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

export TIKLIVE_TEST_KEY="canary-$RANDOM-group"
start_simapi --key "$TIKLIVE_TEST_KEY"
start_receiver webhook
start_receiver pager --kind pagerduty
write_config "$PD_TMP/probes.yaml" 1s 300ms
"$PYTHON" - "$PD_TMP/probes.yaml" "$SIM_URL" <<'PY'
import sys
path, sim = sys.argv[1], sys.argv[2]
s = open(path).read()
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
  correlation_window: 2m
  reference_probe: userinfo
  upstream: Acme
"""
open(path, "w").write(s)
PY
"$PROBECTL_BIN" validate -c "$PD_TMP/probes.yaml" >/dev/null || fail "config invalid"
DB=$PD_TMP/probed.db
start_probed "$PD_TMP/probes.yaml"
check "probes running" wait_for 20 bash -c "[ \"\$(sqlite3 -readonly '$DB' 'select count(*) from results' 2>/dev/null || echo 0)\" -ge 8 ]"

open_count() {
	"$PROBECTL_BIN" incidents --open --db "$DB" --json | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["incidents"]))'
}
all_resolved() { [ "$(open_count)" = 0 ]; }
export -f open_count all_resolved
export DB PROBECTL_BIN PYTHON
check "no incident while all is well" all_resolved

echo "---- post-detail 502 and the stats batch late, together"
sim_mode post-detail 502
sim_mode stats late
M1='b.get("event")=="trigger" and b.get("mode")=="mode1-upstream"'
M3='b.get("event")=="trigger" and b.get("mode")=="mode3-queue"'
check "Mode 1 incident on the webhook" wait_for 30 received_ge 1 "$WEBHOOK_OUT" "$M1"
check "Mode 3 incident on the webhook" wait_for 30 received_ge 1 "$WEBHOOK_OUT" "$M3"
check "Mode 1: P2, its runbook, post-detail only" received_ge 1 "$WEBHOOK_OUT" \
	"$M1 and b['severity']=='P2' and 'mode1-upstream-changed.md' in b['runbook'] and b['probes']==['post-detail']"
check "Mode 1 names the configured upstream and reference" received_ge 1 "$WEBHOOK_OUT" \
	"$M1 and b['mode_title']=='Mode 1: upstream Acme API down or changed' and 'while userinfo stays green' in b['summary'] and 'TikTok' not in b['summary']"
check "Mode 3: P3, its runbook, the batch only" received_ge 1 "$WEBHOOK_OUT" \
	"$M3 and b['severity']=='P3' and 'mode3-queue-backed-up.md' in b['runbook'] and b['probes']==['stats-archive']"
k1=$("$PYTHON" -c 'import json,sys
for l in open(sys.argv[1]):
    b = json.loads(l)["body"] if "body" in json.loads(l) else json.loads(l)
    if b.get("event") == "trigger" and b.get("mode") == "mode1-upstream": print(b["dedup_key"]); break' "$WEBHOOK_OUT")
k3=$("$PYTHON" -c 'import json,sys
for l in open(sys.argv[1]):
    b = json.loads(l)["body"] if "body" in json.loads(l) else json.loads(l)
    if b.get("event") == "trigger" and b.get("mode") == "mode3-queue": print(b["dedup_key"]); break' "$WEBHOOK_OUT")
echo "keys: $k1 / $k3"
check "two dedup keys" [ -n "$k1" ] && [ -n "$k3" ] && [ "$k1" != "$k3" ]
check "two open incidents" [ "$(open_count)" = 2 ]
check "the pager has the Mode 1 page" wait_for 10 received_ge 1 "$PAGER_OUT" \
	"b.get('event_action')=='trigger' and b.get('dedup_key')=='$k1'"
sleep 2
check "the P3 batch incident never reaches the pager" [ "$(received "$PAGER_OUT" "b.get('dedup_key')=='$k3'")" = 0 ]

sim_mode post-detail ok
sim_mode stats ok
check "both resolve" wait_for 40 all_resolved
check "the Mode 1 resolve under its key" wait_for 10 received_ge 1 "$WEBHOOK_OUT" \
	"b.get('event')=='resolve' and b.get('dedup_key')=='$k1'"
check "the Mode 3 resolve under its key" wait_for 10 received_ge 1 "$WEBHOOK_OUT" \
	"b.get('event')=='resolve' and b.get('dedup_key')=='$k3'"

stop_pid "$PROBED_PID" 20
check "SIGTERM exits 0" [ "$STOP_RC" = 0 ]
check "canary key nowhere" not grep -rlaF "$TIKLIVE_TEST_KEY" "$PD_TMP"/probed.log "$DB"* "$WEBHOOK_OUT" "$PAGER_OUT"
pd_finish
