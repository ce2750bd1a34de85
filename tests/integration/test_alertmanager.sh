#!/usr/bin/env bash
# probed -> a REAL Alertmanager (Debian prometheus-alertmanager) on loopback.
#  - /post-detail/ 502: Alertmanager lists the alert with labels alertname, probe, family,
#    severity, mode, and its webhook receiver (tools/receiver.py) is notified once;
#  - the alert stays listed for more than twice resolve_timeout (10 s here) and longer
#    than the validity of any single send (4 x resend_interval = 8 s): only probed's
#    re-sends keep it there, and its endsAt keeps moving forward; a kill -9 and restart of
#    probed in the middle does not drop it (the re-send state is in the database);
#  - after recovery the alert is resolved (endsAt, gone from the active list) and the
#    receiver gets the resolved notification.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

AM_BIN=${ALERTMANAGER_BIN:-prometheus-alertmanager}
command -v "$AM_BIN" >/dev/null ||
	fail "$AM_BIN not found (Debian package prometheus-alertmanager; bash scripts/deps.sh --test)"

KEY="canary-$RANDOM$RANDOM-am"
export TIKLIVE_TEST_KEY=$KEY
start_simapi --key "$KEY"
start_receiver amhook # Alertmanager's own webhook receiver

# ---- Alertmanager: resolve_timeout 10 s, quick grouping, one webhook receiver -------------
AM_PORT=$(free_port)
AM_URL="http://127.0.0.1:$AM_PORT"
cat >"$PD_TMP/alertmanager.yml" <<YAML
global:
  resolve_timeout: 10s
route:
  receiver: hook
  group_by: [alertname, probe]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:$AMHOOK_PORT/am
        send_resolved: true
YAML
mkdir -p "$PD_TMP/am-data"
"$AM_BIN" --config.file="$PD_TMP/alertmanager.yml" \
	--storage.path="$PD_TMP/am-data" \
	--web.listen-address="127.0.0.1:$AM_PORT" \
	--cluster.listen-address= \
	--log.level=warn >>"$PD_TMP/alertmanager.log" 2>&1 &
AM_PID=$!
pd_track "$AM_PID"
wait_for 20 curl -fsS --max-time 2 "$AM_URL/-/ready" || fail "alertmanager did not become ready"

# am_query PYEXPR: evaluate PYEXPR over GET /api/v2/alerts (the active list), with
# `alerts` the list and `mine` the probed alerts for post-detail; prints the result.
am_query() {
	curl -fsS --max-time 3 "$AM_URL/api/v2/alerts" >"$PD_TMP/am-alerts.json" || return 1
	"$PYTHON" - "$PD_TMP/am-alerts.json" "$1" <<'PY'
import json, sys
alerts = json.load(open(sys.argv[1]))
mine = [a for a in alerts if a["labels"].get("probe") == "post-detail"
        and a["labels"].get("alertname") in ("ProbedIncident", "ProbeDown")]
print(eval(sys.argv[2]))
PY
}
am_true() {
	[ "$(am_query "$1")" = True ]
}

# ---- probed: the three core probes, one alertmanager target re-sending every 2 s ---------
write_config "$PD_TMP/probes.yaml" 1s 300ms
cat >>"$PD_TMP/probes.yaml" <<YAML
  - name: am
    type: alertmanager
    url: $AM_URL/
    resend_interval: 2s
    resend_resolved_for: 30s
    generator_url: http://probe-host.example:9464/
# Windowed error rates off (1.0): this test is about delivery, and a 1-minute window
# still full of the outage's 502s would re-open an incident right after the recovery.
classify:
  window: 1m
  min_window_count: 3
  baseline_latency: 100ms
  correlation_window: 1s
  error_rate_low: 1
  error_rate_high: 1
YAML
"$PROBECTL_BIN" validate -c "$PD_TMP/probes.yaml" >/dev/null || fail "config invalid"
DB=$PD_TMP/probed.db
start_probed "$PD_TMP/probes.yaml"
check "probes running" wait_for 20 bash -c "[ \"\$(sqlite3 -readonly '$DB' 'select count(*) from results' 2>/dev/null || echo 0)\" -ge 9 ]"
check "nothing in Alertmanager while green" am_true 'len(mine) == 0'

# ---- outage: listed with the right labels --------------------------------------------------
sim_mode post-detail 502
check "Alertmanager lists probed's alert" wait_for 30 am_true 'len(mine) == 1'
check "labels alertname/probe/family/severity/mode" am_true \
	'[(a["labels"]["alertname"], a["labels"]["probe"], a["labels"]["family"], a["labels"]["severity"], a["labels"]["mode"]) for a in mine] == [("ProbedIncident", "post-detail", "post-detail", "P2", "mode1-upstream")]'
check "annotations: summary, runbook, status draft; generatorURL" am_true \
	'mine[0]["annotations"]["summary"].startswith("[P2]") and mine[0]["annotations"]["runbook"].endswith("mode1-upstream-changed.md") and "/post-detail/" in mine[0]["annotations"]["status_message"] and mine[0]["generatorURL"] == "http://probe-host.example:9464/"'
check "active, not suppressed" am_true 'mine[0]["status"]["state"] == "active"'
FIRING='r["path"]=="/am" and b.get("status")=="firing" and b["commonLabels"].get("probe")=="post-detail"'
check "Alertmanager notified its receiver" wait_for 15 received_ge 1 "$AMHOOK_OUT" "$FIRING"
first_ends=$(am_query 'mine[0]["endsAt"]')
first_starts=$(am_query 'mine[0]["startsAt"]')
echo "first send: startsAt $first_starts endsAt $first_ends"

# ---- held past resolve_timeout and past any single send's validity, by re-sends ----------
# Listed at every check over 22 s (> 2 x resolve_timeout, > 2 x the 8 s validity); probed
# is killed with -9 and restarted half-way: the re-sends come back from the database.
gone=0
t0=$(date +%s)
for i in $(seq 1 22); do
	if ! am_true 'len(mine) == 1'; then
		gone=$((gone + 1))
		echo "not listed at ${i}s" >&2
	fi
	if [ "$i" = 8 ]; then
		kill -KILL "$PROBED_PID"
		stop_pid "$PROBED_PID" 5
		start_probed "$PD_TMP/probes.yaml"
	fi
	sleep 1
done
held=$(($(date +%s) - t0))
check "listed at every check for ${held}s (resolve_timeout 10s; kill -9 + restart at 8s)" [ "$gone" = 0 ]
later_ends=$(am_query 'mine[0]["endsAt"]')
echo "after ${held}s: endsAt $later_ends"
check "endsAt moved forward (the re-sends)" "$PYTHON" -c "import sys; sys.exit(0 if '$later_ends' > '$first_ends' else 1)"
check "endsAt is a few intervals ahead, not resolve_timeout's" "$PYTHON" - "$later_ends" <<'PY'
import sys, datetime
ends = datetime.datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00"))
ahead = (ends - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
print("endsAt is %.1f s ahead" % ahead)
sys.exit(0 if 3 <= ahead <= 9.5 else 1)
PY
check "startsAt unchanged (the same alert, not a new one)" am_true "mine[0]['startsAt'] == '$first_starts'"
check "still exactly one firing notification (no re-page)" received_is 1 "$AMHOOK_OUT" "$FIRING"
check "the re-sends are in the database" bash -c "[ \"\$(sqlite3 -readonly '$DB' \"select count(*) from am_alerts where target='am' and ends_ms=0 and last_sent_ms>0\")\" = 1 ]"

# ---- recovery: resolved with endsAt, and the receiver is told ---------------------------
sim_mode post-detail ok
check "resolved: gone from the active list" wait_for 40 am_true 'len(mine) == 0'
RESOLVED='r["path"]=="/am" and b.get("status")=="resolved" and b["commonLabels"].get("probe")=="post-detail"'
check "the receiver gets the resolved notification" wait_for 15 received_ge 1 "$AMHOOK_OUT" "$RESOLVED"
check "the resolved notification carries endsAt" received_ge 1 "$AMHOOK_OUT" \
	"$RESOLVED and all(al['status']=='resolved' and not al['endsAt'].startswith('0001') for al in b['alerts'])"
check "stored as resolved, still re-sent for resend_resolved_for" bash -c "[ \"\$(sqlite3 -readonly '$DB' \"select count(*) from am_alerts where target='am' and ends_ms>0\")\" = 1 ]"
sleep 5
check "no new firing notification after the resolve" received_is 1 "$AMHOOK_OUT" "$FIRING"
check "still not listed as active (resolved re-sends do not revive it)" am_true 'len(mine) == 0'

stop_pid "$PROBED_PID" 20
check "SIGTERM exits 0" [ "$STOP_RC" = 0 ]
check "no re-send failure logged" not grep -q 're-send failed' "$PD_TMP/probed.log"
leaks=$(grep -rlaF -- "$KEY" "$PD_TMP"/probed.log "$PD_TMP"/probed.db* "$AMHOOK_OUT" 2>/dev/null || true)
check "canary key in no log, database or payload (${leaks:-none})" [ -z "$leaks" ]
pd_finish
