#!/usr/bin/env bash
# probectl status / incidents / incident tell the truth about delivery, per target:
#  - the on-call webhook is down while a P2 outage pages: its trigger is "failing"
#    (attempts, next try, last error), never "delivered", while PagerDuty's is delivered;
#  - the outage recovers: the webhook's resolve waits behind its trigger, "queued";
#  - the webhook comes back on the same port: both rows "delivered at T";
#  - a P1 drill to a target that answers 400: "dead_lettered", and the incident "failing".
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

export TIKLIVE_TEST_KEY="canary-$RANDOM$RANDOM-delivery"
unset PROBED_CONFIG
start_simapi --key "$TIKLIVE_TEST_KEY"
start_receiver pager --kind pagerduty
start_receiver rejecting --status 400
# learn a free port for the webhook, then take it down
start_receiver webhook
WPORT=$WEBHOOK_PORT
stop_pid "$WEBHOOK_PID" 5
CFG=$PD_TMP/probes.yaml
DB=$PD_TMP/probed.db
write_config "$CFG" 1s 300ms
printf '  - name: rejecting\n    type: webhook\n    url: http://127.0.0.1:%s/hook\n    timeout: 2s\n    severities: [P1]\n' \
	"$REJECTING_PORT" >>"$CFG"
"$PROBECTL_BIN" validate -c "$CFG" >/dev/null || fail "config invalid"
start_probed "$CFG"
export DB PROBECTL_BIN PYTHON

# st NAME CMD...: probectl CMD --db DB, stdout to $PD_TMP/NAME.out (exit status kept)
st() {
	local name=$1
	shift
	"$PROBECTL_BIN" "$@" --db "$DB" >"$PD_TMP/$name.out" 2>"$PD_TMP/$name.err"
}
# delivery_is PROBE TARGET EVENT STATE: status --json says so for the probe's last page
delivery_is() {
	"$PROBECTL_BIN" status --db "$DB" --json 2>/dev/null | "$PYTHON" -c '
import json, sys
probe, target, event, state = sys.argv[1:5]
p = {p["name"]: p for p in json.load(sys.stdin)["probes"]}[probe]
d = [x for x in p["deliveries"] if x["target"] == target and x["event"] == event]
sys.exit(0 if len(d) == 1 and d[0]["state"] == state else 1)' "$@"
}
export -f delivery_is

sim_mode post-detail 502
check "post-detail pages PagerDuty" wait_for 20 received_ge 1 "$PAGER_OUT" 'b.get("event_action")=="trigger"'
check "status: the webhook's trigger is failing" \
	wait_for 10 delivery_is post-detail oncall-webhook trigger failing

# ---- the webhook is down: failing, never delivered ---------------------------------------
st status_down status --json
check "status --json while the webhook is down: failing for it, delivered for PagerDuty" \
	"$PYTHON" - "$PD_TMP/status_down.out" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "probed.status/1", d["format"]
p = {p["name"]: p for p in d["probes"]}["post-detail"]
assert p["state"] == "down" and p["last_page"] is not None, p
assert p["delivery"] == "failing", p["delivery"]
assert isinstance(p["incident"], int) and p["dedup_key"].startswith("probed:inc-"), p
by = {(x["target"], x["event"]): x for x in p["deliveries"]}
w, g = by[("oncall-webhook", "trigger")], by[("pagerduty", "trigger")]
assert w["state"] == "failing" and w["attempts"] >= 1, w
assert w["delivered"] is None and w["next_attempt"] is not None and w["queued"] is not None, w
assert w["last_error"] and "HTTP" not in w["last_error"], w     # a connect error, not a status
assert g["state"] == "delivered" and g["attempts"] == 1 and g["next_attempt"] is None, g
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", g["delivered"]), g
assert ("rejecting", "trigger") not in by, by                   # P1 only: not routed a P2
PY
st status_down_txt status
check "status: post-detail's LAST PAGE says failing, not just 'ago'" \
	grep -Eq '^post-detail +down .* [0-9hms]+ ago, failing ' "$PD_TMP/status_down_txt.out"
st incidents_down incidents
check "incidents: the open incident's DELIVERY is failing" \
	grep -Eq '^[0-9]+ +P2 +.* OPEN +failing +' "$PD_TMP/incidents_down.out"
ID=$("$PROBECTL_BIN" incidents --open --db "$DB" --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["incidents"][0]["id"])')
st incident_down incident "$ID"
check "incident: per target, 'failing to deliver: N attempts, next try at T; last error: ...'" \
	grep -Eq '^    oncall-webhook +trigger +failing to deliver: [0-9]+ attempts?, next try at [0-9T:.-]+Z; last error: .+' "$PD_TMP/incident_down.out"
check "incident: PagerDuty 'delivered at T (attempt 1)'" \
	grep -Eq '^    pagerduty +trigger +delivered at [0-9T:.-]+Z \(attempt 1\)$' "$PD_TMP/incident_down.out"
check "incident: 'Delivery: failing', no more 'Notified: [...]'" \
	bash -c "grep -qx '  Delivery: failing' '$PD_TMP/incident_down.out' && ! grep -q 'Notified' '$PD_TMP/incident_down.out'"
check "incident: the webhook is never called delivered" \
	not grep -Eq 'oncall-webhook +trigger +delivered' "$PD_TMP/incident_down.out"
check "nothing reached the webhook (its receiver is down)" received_is 0 "$WEBHOOK_OUT" 'True'

# ---- recovery while the webhook is still down: its resolve waits, queued -----------------
sim_mode post-detail ok
check "the resolve reaches PagerDuty" wait_for 20 received_ge 1 "$PAGER_OUT" 'b.get("event_action")=="resolve"'
check "status: the webhook's resolve is queued behind its failing trigger" \
	wait_for 10 delivery_is post-detail oncall-webhook resolve queued
st incident_queued incident "$ID" --json
check "incident --json: resolve queued (0 attempts, next try), trigger still failing, PagerDuty both delivered" \
	"$PYTHON" - "$PD_TMP/incident_queued.out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "probed.incident/1" and d["open"] is False and d["resolved"], d
by = {(x["target"], x["event"]): x for x in d["deliveries"]}
r = by[("oncall-webhook", "resolve")]
assert r["state"] == "queued" and r["attempts"] == 0 and r["next_attempt"] and r["delivered"] is None, r
assert r["last_error"] is None, r
assert by[("oncall-webhook", "trigger")]["state"] == "failing", by
assert by[("pagerduty", "trigger")]["state"] == "delivered", by
assert by[("pagerduty", "resolve")]["state"] == "delivered", by
assert d["delivery"] == "failing", d["delivery"]
PY
st incident_queued_txt incident "$ID"
check "incident: 'queued, 0 attempts, next try at T' for the webhook's resolve" \
	grep -Eq '^    oncall-webhook +resolve +queued, 0 attempts, next try at [0-9T:.-]+Z$' "$PD_TMP/incident_queued_txt.out"

# ---- the webhook is back: delivered ------------------------------------------------------
start_receiver webhook --listen "127.0.0.1:$WPORT"
check "the webhook receiver is back on its port" [ "$WEBHOOK_PORT" = "$WPORT" ]
check "the trigger, then the resolve, reach the webhook" \
	wait_for 90 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="resolve"'
check "status: the webhook's resolve is delivered" \
	wait_for 10 delivery_is post-detail oncall-webhook resolve delivered
st status_up status --json
check "status --json: every target of the page delivered, with times and attempts" \
	"$PYTHON" - "$PD_TMP/status_up.out" <<'PY'
import json, sys
p = {p["name"]: p for p in json.load(open(sys.argv[1]))["probes"]}["post-detail"]
assert p["state"] == "up" and p["delivery"] == "delivered", p
by = {(x["target"], x["event"]): x for x in p["deliveries"]}
assert set(by) == {("oncall-webhook", "trigger"), ("oncall-webhook", "resolve"),
                   ("pagerduty", "trigger"), ("pagerduty", "resolve")}, sorted(by)
for k, x in by.items():
    assert x["state"] == "delivered" and x["delivered"] and x["last_error"] is None, (k, x)
    assert x["next_attempt"] is None, (k, x)
assert by[("oncall-webhook", "trigger")]["attempts"] >= 2, by   # failed while down
assert by[("oncall-webhook", "trigger")]["delivered"] <= by[("oncall-webhook", "resolve")]["delivered"]
PY
st status_up_txt status
check "status: post-detail's LAST PAGE says delivered" \
	grep -Eq '^post-detail +up .* [0-9hms]+ ago, delivered ' "$PD_TMP/status_up_txt.out"
st incident_up incident "$ID"
check "incident: the webhook's trigger delivered at T after several attempts" \
	grep -Eq '^    oncall-webhook +trigger +delivered at [0-9T:.-]+Z \(attempt [2-9][0-9]*\)$' "$PD_TMP/incident_up.out"
check "incident: 'Delivery: delivered'" grep -qx '  Delivery: delivered' "$PD_TMP/incident_up.out"
check "the webhook got the trigger exactly once" received_is 1 "$WEBHOOK_OUT" 'b.get("event")=="trigger"'
check "the webhook got the resolve exactly once" received_is 1 "$WEBHOOK_OUT" 'b.get("event")=="resolve"'

# ---- a target that rejects (400): dead-lettered ------------------------------------------
"$PROBECTL_BIN" drill P1 -c "$CFG" --db "$DB" >"$PD_TMP/drill.out" 2>&1 || fail "drill failed: $(cat "$PD_TMP/drill.out")"
DRILL=$("$PROBECTL_BIN" incidents --db "$DB" --json | "$PYTHON" -c 'import json,sys; print([i["id"] for i in json.load(sys.stdin)["incidents"] if i["drill"]][0])')
check "drill: the rejecting target is dead-lettered (it answered 400)" \
	wait_for 10 bash -c "\"\$PROBECTL_BIN\" incident $DRILL --db '$DB' --json | \"\$PYTHON\" -c '
import json, sys
d = json.load(sys.stdin)
by = {(x[\"target\"], x[\"event\"]): x for x in d[\"deliveries\"]}
x = by[(\"rejecting\", \"trigger\")]
assert x[\"state\"] == \"dead_lettered\" and x[\"last_error\"] == \"HTTP 400\" and x[\"next_attempt\"] is None, x
assert by[(\"oncall-webhook\", \"trigger\")][\"state\"] == \"delivered\", by
assert d[\"delivery\"] == \"failing\", d[\"delivery\"]'"
st incident_drill incident "$DRILL"
check "incident: 'failing to deliver: dead-lettered after 1 attempt, will not be retried; error: HTTP 400'" \
	grep -Eq '^    rejecting +trigger +failing to deliver: dead-lettered after 1 attempt, will not be retried; error: HTTP 400$' "$PD_TMP/incident_drill.out"

stop_pid "$PROBED_PID" 20
check "SIGTERM exits 0" [ "$STOP_RC" = 0 ]
leaks=$(grep -rlaF -- "$TIKLIVE_TEST_KEY" "$PD_TMP"/*.out "$PD_TMP"/probed.log 2>/dev/null || true)
check "the key is in no output (${leaks:-none})" [ -z "$leaks" ]
pd_finish
