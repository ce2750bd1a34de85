#!/usr/bin/env bash
# Fault suite: 1,000 probes failing at once against the simulated API.
# Promise: 1,000 probes failing at once make one incident that lists them all, each probe joins once, each target gets 1-4 triggers (declared + one per severity step) and one resolve.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

N=${PD_STORM_PROBES:-1000}
export TIKLIVE_TEST_KEY="canary-$RANDOM-storm"
start_simapi --key "$TIKLIVE_TEST_KEY" --quiet
start_receiver webhook
start_receiver pager --kind pagerduty
printf '%s\n' "$PD_PAGER_KEY" >"$PD_TMP/pagerduty-key"
DB=$PD_TMP/probed.db
CFG=$PD_TMP/probes.yaml
# interval 3 s: 333 probes/s keeps the sanitizer build within the two shared cores
{
	printf 'defaults:\n  interval: 3s\n  timeout: 2s\n  failures_before_page: 2\n'
	printf '  confirm_after: 500ms\n  successes_before_resolve: 2\n'
	printf '  headers: {X-Api-Key: "${TIKLIVE_TEST_KEY}"}\n'
	printf 'store: {path: %s, retention: 1d}\n' "$DB"
	printf 'classify: {correlation_window: 2m}\n'
	printf 'probes:\n'
	eps=(userid userinfo-by-username post-detail user-posts)
	for ((i = 1; i <= N; i++)); do
		e=${eps[$((i % 4))]}
		printf '  - {name: p%04d, family: %s, url: "%s/%s/?n=%d", expect: {status: [200]}}\n' \
			"$i" "$e" "$SIM_URL" "$e" "$i"
	done
	printf 'notify:\n'
	printf '  - {name: oncall-webhook, type: webhook, url: "http://127.0.0.1:%s/hook", timeout: 2s}\n' \
		"$WEBHOOK_PORT"
	printf '  - {name: pagerduty, type: pagerduty, url: "http://127.0.0.1:%s/v2/enqueue", routing_key: "${file:%s}", timeout: 2s}\n' \
		"$PAGER_PORT" "$PD_TMP/pagerduty-key"
} >"$CFG"
"$PROBECTL_BIN" validate -c "$CFG" >/dev/null || fail "config invalid"

q() { sqlite3 -readonly "$DB" "$1" 2>/dev/null || echo -1; }
export -f q
export DB

start_probed "$CFG"
# every probe has answered once (all healthy) before the fault starts
check "all $N probes ran once" wait_for 30 bash -c \
	"[ \"\$(q 'select count(distinct probe_id) from results')\" -ge $N ]"
check "no incident while healthy" [ "$(q 'select count(*) from incidents')" = 0 ]

T0=$EPOCHREALTIME
sim_mode '*' 502
members() { q "select coalesce(max(json_array_length(members)), 0) from incidents where resolved_ms = 0"; }
export -f members
check "the open incident lists all $N probes within 45 s" wait_for 45 bash -c "[ \"\$(members)\" -ge $N ]"
echo "     all joined after $(awk -v a="$T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s;" \
	"members $(members)"
# the storm showed up as re-joins and re-sent triggers on every 1 s pass: watch 15 s
sleep 15
TRIG='b.get("event")=="trigger"'
PTRIG='b.get("event_action")=="trigger"'
wh=$(received "$WEBHOOK_OUT" "$TRIG")
pg=$(received "$PAGER_OUT" "$PTRIG")
joined=$(q "select count(*) from incident_events where kind = 'joined'")
echo "     after the fault: $(q 'select count(*) from incidents') incident(s), webhook triggers $wh," \
	"pagerduty triggers $pg, joined rows $joined"
check "exactly one incident" [ "$(q 'select count(*) from incidents')" = 1 ]
check "webhook: 1..4 triggers" bash -c "[ $wh -ge 1 ] && [ $wh -le 4 ]"
check "pagerduty: 1..4 triggers" bash -c "[ $pg -ge 1 ] && [ $pg -le 4 ]"
check "one dedup key for every notification" [ "$("$PYTHON" - "$WEBHOOK_OUT" <<'PY'
import json, sys
print(len({json.loads(l)["body"].get("dedup_key") for l in open(sys.argv[1]) if l.strip()}))
PY
)" = 1 ]
check "every re-sent trigger is an escalation (severity rises)" "$PYTHON" -c '
import json, sys
b = [json.loads(l)["body"] for l in open(sys.argv[1]) if l.strip()]
sev = [e["severity"] for e in b if e.get("event") == "trigger"]
sys.exit(0 if sev and all(x > y for x, y in zip(sev, sev[1:])) else 1)' "$WEBHOOK_OUT"
# opened (the first probe) + joined (every other one), each probe once
check "each probe entered the timeline once" [ "$(q "select count(*) from (select substr(detail, 1, instr(detail, ':') - 1) p, count(*) c from incident_events where kind in ('opened', 'joined') group by p having c > 1)")" = 0 ]
check "$N probes in the timeline" [ "$(q "select count(*) from incident_events where kind in ('opened', 'joined')")" = "$N" ]

sim_mode '*' ok
check "the incident resolves within 45 s" wait_for 45 bash -c \
	"[ \"\$(q 'select count(*) from incidents where resolved_ms = 0')\" = 0 ]"
check "webhook: one resolve" wait_for 15 received_is 1 "$WEBHOOK_OUT" 'b.get("event")=="resolve"'
check "pagerduty: one resolve" wait_for 15 received_is 1 "$PAGER_OUT" 'b.get("event_action")=="resolve"'
check "the resolve counts all $N probes and names the first 64" received_is 1 "$WEBHOOK_OUT" \
	"b.get('event')=='resolve' and b.get('probe_count')==$N and len(b.get('probes'))==64"
check "no payload names more than 64 probes" received_is 0 "$WEBHOOK_OUT" "len(b.get('probes', [])) > 64"
sleep 2
wh2=$(received "$WEBHOOK_OUT" "$TRIG")
pg2=$(received "$PAGER_OUT" "$PTRIG")
echo "     at the end: webhook triggers $wh2, pagerduty triggers $pg2," \
	"joined rows $(q "select count(*) from incident_events where kind = 'joined'")"
check "no trigger after the resolve" bash -c "[ $wh2 = $wh ] && [ $pg2 = $pg ]"
check "probed still runs" not pid_gone "$PROBED_PID"
pd_finish
