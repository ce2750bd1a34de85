#!/usr/bin/env bash
# Every delivery target, for real, against the simulated API: PagerDuty, Opsgenie and
# Slack receivers on loopback that validate the exact payload shape the way the real
# services do (tools/receiver.py answers 4xx to anything malformed), the generic webhook,
# and an `exec` target (a script appending its stdin to a file). Forced outages:
#  - /post-detail/ 502 -> P2: every target gets exactly one trigger, then one resolve
#    (Opsgenie: create by alias, close by the same alias with the GenieKey header; the
#    escalation path and keys with a "/" are test_opsgenie_escalation.sh's);
#  - a probe pinned `severity: P3` failing -> chat (Slack) and tickets (webhook, exec),
#    no pager;
#  - a probe pinned `severity: P4` failing -> tickets only: no pager, no chat.
# No receiver rejects anything; the Opsgenie key and the Slack URL token appear in no
# log or database.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

KEY="canary-$RANDOM$RANDOM-targets"
GENIE="genie-canary-$RANDOM$RANDOM"
SLACK_TOKEN="slacktoken$RANDOM$RANDOM"
export TIKLIVE_TEST_KEY=$KEY
start_simapi --key "$KEY"
start_receiver webhook
start_receiver pager --kind pagerduty
start_receiver opsgenie --kind opsgenie --api-key "$GENIE"
start_receiver slack --kind slack
EXEC_OUT=$PD_TMP/exec.jsonl
cat >"$PD_TMP/notify.sh" <<'SH'
#!/bin/sh
# the event JSON arrives on stdin; one line per delivery
{ cat; echo; } >>"$1"
SH
chmod 755 "$PD_TMP/notify.sh"
printf '%s\n' "$GENIE" >"$PD_TMP/genie-key"

write_config "$PD_TMP/probes.yaml" 1s 300ms
"$PYTHON" - "$PD_TMP/probes.yaml" "$SIM_URL" <<'PY'
import sys
path, sim = sys.argv[1], sys.argv[2]
s = open(path).read()
s = s.replace("notify:\n", f"""  - name: posts
    family: user-posts
    tier: secondary
    severity: P3
    url: {sim}/user-posts/?username=tiktok
  - name: comments
    family: post-comments
    tier: secondary
    severity: P4
    url: {sim}/post-comments/?id=1
notify:
""", 1)
open(path, "w").write(s)
PY
cat >>"$PD_TMP/probes.yaml" <<YAML
  - name: opsgenie
    type: opsgenie
    url: http://127.0.0.1:$OPSGENIE_PORT
    api_key: \${file:$PD_TMP/genie-key}
    timeout: 2s
  - name: slack
    type: slack
    url: http://127.0.0.1:$SLACK_PORT/services/T0000/B0000/$SLACK_TOKEN
    timeout: 2s
  - name: script
    type: exec
    command: [$PD_TMP/notify.sh, $EXEC_OUT]
    timeout: 5s
# windowed error rates off (1.0): a window still full of one outage's errors must not
# re-open an incident right after it resolved and blur the counts below
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
check "probes running" wait_for 20 bash -c "[ \"\$(sqlite3 -readonly '$DB' 'select count(*) from results' 2>/dev/null || echo 0)\" -ge 15 ]"

# exec_count PYEXPR: events the script received (b = the event) matching PYEXPR.
exec_count() {
	"$PYTHON" - "$EXEC_OUT" "$1" <<'PY'
import json, sys
n = 0
try:
    for line in open(sys.argv[1]):
        if line.strip():
            b = json.loads(line)
            n += bool(eval(sys.argv[2], {}, {"b": b}))
except FileNotFoundError:
    pass
print(n)
PY
}
exec_is() { [ "$(exec_count "$2")" -eq "$1" ]; }
exec_ge() { [ "$(exec_count "$2")" -ge "$1" ]; }
# rejected FILE: records a receiver answered with a non-2xx code.
rejected() {
	"$PYTHON" - "$1" <<'PY'
import json, sys
bad = []
try:
    for line in open(sys.argv[1]):
        if line.strip():
            r = json.loads(line)
            if not 200 <= r["status"] < 300:
                bad.append((r["path"], r["status"], r.get("errors")))
except FileNotFoundError:
    pass
for b in bad:
    print("rejected:", b, file=sys.stderr)
print(len(bad))
PY
}
none_rejected() {
	local f
	for f in "$WEBHOOK_OUT" "$PAGER_OUT" "$OPSGENIE_OUT" "$SLACK_OUT"; do
		[ "$(rejected "$f")" = 0 ] || return 1
	done
}
open_count() {
	"$PROBECTL_BIN" incidents --open --db "$DB" --json | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["incidents"]))'
}
all_resolved() { [ "$(open_count)" = 0 ]; }
# totals per receiver, to assert "nothing more" after a scenario
PD_ANY='b.get("event_action") in ("trigger","resolve")'
OG_ANY='r["path"].startswith("/v2/alerts")'
SL_ANY='"text" in b'
snapshot() {
	PD_N=$(received "$PAGER_OUT" "$PD_ANY")
	OG_N=$(received "$OPSGENIE_OUT" "$OG_ANY")
	SL_N=$(received "$SLACK_OUT" "$SL_ANY")
}

# ==== 1. /post-detail/ 502 -> P2: every target =================================================
echo "---- post-detail 502 (P2)"
sim_mode post-detail 502
TW='b.get("event")=="trigger" and b.get("probe")=="post-detail"'
check "webhook: P2 trigger" wait_for 20 received_ge 1 "$WEBHOOK_OUT" "$TW and b['severity']=='P2'"
KEYP2=$("$PYTHON" - "$WEBHOOK_OUT" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    b = json.loads(l)["body"]
    if b.get("event") == "trigger" and b.get("probe") == "post-detail":
        print(b["dedup_key"]); break
PY
)
echo "dedup key: $KEYP2"
check "pagerduty: trigger, payload.severity error, same dedup_key" wait_for 10 received_is 1 "$PAGER_OUT" \
	"b.get('event_action')=='trigger' and b['dedup_key']=='$KEYP2' and b['payload']['severity']=='error' and b['payload']['summary'].startswith('[P2]')"
check "opsgenie: create by alias, priority P2, with the GenieKey" wait_for 10 received_is 1 "$OPSGENIE_OUT" \
	"r['path']=='/v2/alerts' and r['auth_ok'] and b['alias']=='$KEYP2' and b['priority']=='P2' and len(b['message'])<=130 and 'Runbook: runbooks/mode1-upstream-changed.md' in b['description']"
check "slack: P2 message with blocks (header, severity, mode, runbook, status draft)" wait_for 10 received_is 1 "$SLACK_OUT" \
	"b['text'].startswith(':large_orange_circle: [P2]') and b['blocks'][0]['type']=='header' and any('Mode 1' in f.get('text','') for bl in b['blocks'] for f in bl.get('fields',[])) and any('mode1-upstream-changed.md' in bl.get('text',{}).get('text','') for bl in b['blocks']) and any('Status-page draft' in bl.get('text',{}).get('text','') for bl in b['blocks'])"
check "exec: the event on stdin" wait_for 10 exec_is 1 \
	"b['event']=='trigger' and b['dedup_key']=='$KEYP2' and b['severity']=='P2' and b['mode']=='mode1-upstream'"
sleep 3
check "webhook: exactly one trigger while it lasts" received_is 1 "$WEBHOOK_OUT" "b.get('event')=='trigger'"
check "pagerduty: exactly one trigger" received_is 1 "$PAGER_OUT" "b.get('event_action')=='trigger'"
check "opsgenie: exactly one create" received_is 1 "$OPSGENIE_OUT" "r['path']=='/v2/alerts'"
check "slack: exactly one message" received_is 1 "$SLACK_OUT" "'text' in b"
check "exec: exactly one trigger" exec_is 1 "b['event']=='trigger'"

sim_mode post-detail ok
check "incident 1 resolves" wait_for 25 all_resolved
# the key without a location is path-safe as it is: the alias, unescaped in the path
CLOSE_PATH="/v2/alerts/$KEYP2/close?identifierType=alias"
check "webhook: resolve" wait_for 10 received_is 1 "$WEBHOOK_OUT" "b.get('event')=='resolve' and b['dedup_key']=='$KEYP2'"
check "pagerduty: resolve by dedup_key" wait_for 10 received_is 1 "$PAGER_OUT" \
	"b.get('event_action')=='resolve' and b['dedup_key']=='$KEYP2'"
check "opsgenie: close by the same alias ($CLOSE_PATH)" wait_for 10 received_is 1 "$OPSGENIE_OUT" \
	"r['path']=='$CLOSE_PATH' and r['auth_ok']"
check "slack: RESOLVED message" wait_for 10 received_is 1 "$SLACK_OUT" "'RESOLVED' in b['text']"
check "exec: resolve" wait_for 10 exec_is 1 "b['event']=='resolve' and b['dedup_key']=='$KEYP2'"
sleep 2

# ==== 2. a P3 probe: chat and tickets, no pager ================================================
echo "---- posts 500 (pinned P3)"
snapshot
sim_mode user-posts 500
T3='b.get("event")=="trigger" and b.get("probe")=="posts"'
check "webhook (ticket): P3 trigger" wait_for 20 received_is 1 "$WEBHOOK_OUT" "$T3 and b['severity']=='P3'"
check "slack (chat): P3 message" wait_for 10 received_is 1 "$SLACK_OUT" "b['text'].startswith(':large_yellow_circle: [P3]')"
check "exec (ticket): P3 trigger" wait_for 10 exec_is 1 "b['event']=='trigger' and b['probe']=='posts' and b['severity']=='P3'"
sleep 3
check "no pager for P3: pagerduty got nothing" [ "$(received "$PAGER_OUT" "$PD_ANY")" = "$PD_N" ]
check "no pager for P3: opsgenie got nothing" [ "$(received "$OPSGENIE_OUT" "$OG_ANY")" = "$OG_N" ]
sim_mode user-posts ok
check "incident 2 resolves" wait_for 25 all_resolved
check "resolve where the trigger went: webhook" wait_for 10 received_is 1 "$WEBHOOK_OUT" \
	"b.get('event')=='resolve' and b.get('probe')=='posts'"
check "resolve where the trigger went: slack" wait_for 10 received_is 2 "$SLACK_OUT" "'RESOLVED' in b['text']"
check "resolve where the trigger went: exec" wait_for 10 exec_is 1 "b['event']=='resolve' and b['probe']=='posts'"
check "still nothing for the pagers: pagerduty" [ "$(received "$PAGER_OUT" "$PD_ANY")" = "$PD_N" ]
check "still nothing for the pagers: opsgenie" [ "$(received "$OPSGENIE_OUT" "$OG_ANY")" = "$OG_N" ]
sleep 2

# ==== 3. a P4 probe: tickets only ================================================================
echo "---- comments 500 (pinned P4)"
snapshot
sim_mode post-comments 500
T4='b.get("event")=="trigger" and b.get("probe")=="comments"'
check "webhook (ticket): P4 trigger" wait_for 20 received_is 1 "$WEBHOOK_OUT" "$T4 and b['severity']=='P4'"
check "exec (ticket): P4 trigger" wait_for 10 exec_is 1 "b['event']=='trigger' and b['probe']=='comments' and b['severity']=='P4'"
sleep 3
check "P4 never pages: pagerduty" [ "$(received "$PAGER_OUT" "$PD_ANY")" = "$PD_N" ]
check "P4 never pages: opsgenie" [ "$(received "$OPSGENIE_OUT" "$OG_ANY")" = "$OG_N" ]
check "P4 is not chat: slack" [ "$(received "$SLACK_OUT" "$SL_ANY")" = "$SL_N" ]
sim_mode post-comments ok
check "incident 3 resolves" wait_for 25 all_resolved
check "P4 resolve to the tickets" wait_for 10 received_is 1 "$WEBHOOK_OUT" "b.get('event')=='resolve' and b.get('probe')=='comments'"
check "exec: P4 resolve" wait_for 10 exec_is 1 "b['event']=='resolve' and b['probe']=='comments'"

# ==== shapes, secrets ============================================================================
check "no receiver rejected a request (every shape valid)" none_rejected
check "the Opsgenie receiver never saw a request without the right key" \
	bash -c "[ \"\$(grep -c '\"auth_ok\":false' '$OPSGENIE_OUT' || true)\" = 0 ]"
stop_pid "$PROBED_PID" 20
check "SIGTERM exits 0" [ "$STOP_RC" = 0 ]
check "exec deliveries logged as such" grep -q 'notify script: trigger .* delivered (exit 0' "$PD_TMP/probed.log"
# (the Slack receiver records the URL it was called on, which is the token: not searched
# for that one)
for secret in "$KEY" "$GENIE" "$SLACK_TOKEN"; do
	files=("$PD_TMP"/probed.log "$PD_TMP"/probed.db* "$WEBHOOK_OUT" "$PAGER_OUT" "$OPSGENIE_OUT"
		"$EXEC_OUT")
	[ "$secret" = "$SLACK_TOKEN" ] || files+=("$SLACK_OUT")
	leaks=$(grep -laF -- "$secret" "${files[@]}" 2>/dev/null || true)
	check "secret ${secret:0:12}... in no log, database or payload (${leaks:-none})" [ -z "$leaks" ]
done
check "the Slack URL is really in the Slack receiver's record (the search works)" \
	grep -qF "$SLACK_TOKEN" "$SLACK_OUT"
check "the database was really searched" [ -s "$DB" ]
pd_finish
