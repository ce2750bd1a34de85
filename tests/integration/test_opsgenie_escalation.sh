#!/usr/bin/env bash
# Promise: an escalation updates the page that is already out, every
# page is traceable, and every target links the runbook. Against real receivers on
# loopback (tools/receiver.py, which routes the percent-decoded path as proxies do):
#  - /post-detail/ 502 -> P2: Opsgenie gets one create whose alias is the incident key
#    made path-safe (the key "probed:fra1/inc-..." has a "/"); PagerDuty's trigger and the
#    webhook carry the runbook as an absolute URL under runbooks.base_url (PagerDuty:
#    links[]);
#  - every core endpoint 502 -> the same incident escalates to P1: Opsgenie gets PUT
#    .../{alias}/priority, /message, /description?identifierType=alias, not a second
#    create; PagerDuty a P1 (critical) trigger with the same dedup_key;
#  - recovery: Opsgenie's close is POST /v2/alerts/{the same alias}/close, no "%2F";
#  - probed logs each Opsgenie delivery with the receiver's requestId, and warns about a
#    202 without one (a second Opsgenie target whose receiver sends none).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

KEY="canary-$RANDOM$RANDOM-ogesc"
GENIE="genie-canary-$RANDOM$RANDOM"
RB_BASE=https://runbooks.example.com/ops/probed/runbooks/
export TIKLIVE_TEST_KEY=$KEY
start_simapi --key "$KEY"
start_receiver webhook
start_receiver pager --kind pagerduty
start_receiver opsgenie --kind opsgenie --api-key "$GENIE"
start_receiver ognoid --kind opsgenie --api-key "$GENIE" --no-request-id
printf '%s\n' "$GENIE" >"$PD_TMP/genie-key"

write_config "$PD_TMP/probes.yaml" 1s 300ms
cat >>"$PD_TMP/probes.yaml" <<YAML
  - name: opsgenie
    type: opsgenie
    url: http://127.0.0.1:$OPSGENIE_PORT
    api_key: \${file:$PD_TMP/genie-key}
    timeout: 2s
  - name: og-noid
    type: opsgenie
    url: http://127.0.0.1:$OGNOID_PORT/
    api_key: \${file:$PD_TMP/genie-key}
    timeout: 2s
location: fra1
runbooks:
  base_url: $RB_BASE
YAML
"$PROBECTL_BIN" validate -c "$PD_TMP/probes.yaml" >/dev/null || fail "config invalid"
DB=$PD_TMP/probed.db
LOG=$PD_TMP/probed.log
start_probed "$PD_TMP/probes.yaml"
check "probes running" wait_for 20 bash -c "[ \"\$(sqlite3 -readonly '$DB' 'select count(*) from results' 2>/dev/null || echo 0)\" -ge 6 ]"

# ==== P2 ====
echo "---- post-detail 502 (P2)"
sim_mode post-detail 502
check "opsgenie: P2 create" wait_for 20 received_is 1 "$OPSGENIE_OUT" \
	"r['path']=='/v2/alerts' and r['method']=='POST' and b['priority']=='P2'"
KEYP=$("$PYTHON" - "$WEBHOOK_OUT" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    b = json.loads(l)["body"]
    if b.get("event") == "trigger":
        print(b["dedup_key"]); break
PY
)
# the expected alias, computed here: bytes outside [A-Za-z0-9._:-] -> "_", then "-" and
# the key's 64-bit FNV-1a hash in hex
ALIAS=$("$PYTHON" - "$KEYP" <<'PY'
import re, sys
k = sys.argv[1].encode()
h = 0xcbf29ce484222325
for c in k:
    h = ((h ^ c) * 0x100000001b3) % 2**64
safe = re.fullmatch(rb"[A-Za-z0-9._:-]{1,512}", k)
print(k.decode() if safe else re.sub(rb"[^A-Za-z0-9._:-]", b"_", k).decode() + "-%016x" % h)
PY
)
echo "incident key: $KEYP  alias: $ALIAS"
check "the key has a location and a '/'" bash -c "[[ '$KEYP' == probed:fra1/inc-* ]]"
check "opsgenie: the create's alias is the path-safe key" received_is 1 "$OPSGENIE_OUT" \
	"r['path']=='/v2/alerts' and b['alias']=='$ALIAS'"
check "pagerduty: P2 trigger links the runbook by its absolute URL" wait_for 10 received_is 1 "$PAGER_OUT" \
	"b.get('event_action')=='trigger' and b['dedup_key']=='$KEYP' and b['payload']['severity']=='error' and b['links'][0]['href'].startswith('${RB_BASE}mode') and b['links'][0]['href'].endswith('.md')"
check "webhook: the runbook is the absolute URL" received_ge 1 "$WEBHOOK_OUT" \
	"b.get('event')=='trigger' and b['runbook'].startswith('${RB_BASE}mode')"
check "opsgenie: details.runbook absolute too" received_is 1 "$OPSGENIE_OUT" \
	"r['path']=='/v2/alerts' and b['details']['runbook'].startswith('${RB_BASE}mode')"

# ==== P2 -> P1 ====
echo "---- every core endpoint 502 (P1, the same incident)"
sim_mode userid 502
sim_mode userinfo-by-username 502
UPD="r['method']=='PUT' and r['path'].startswith('/v2/alerts/$ALIAS/') and r['path'].endswith('?identifierType=alias')"
check "opsgenie: priority updated to P1 by alias" wait_for 30 received_is 1 "$OPSGENIE_OUT" \
	"$UPD and r['path'].split('?')[0].endswith('/priority') and b=={'priority':'P1'}"
check "opsgenie: message updated ([P1] ...)" wait_for 10 received_is 1 "$OPSGENIE_OUT" \
	"$UPD and r['path'].split('?')[0].endswith('/message') and b['message'].startswith('[P1]')"
check "opsgenie: description updated" wait_for 10 received_is 1 "$OPSGENIE_OUT" \
	"$UPD and r['path'].split('?')[0].endswith('/description') and b['description'].startswith('[P1]') and 'Runbook: $RB_BASE' in b['description']"
check "pagerduty: P1 trigger, same dedup_key" wait_for 10 received_is 1 "$PAGER_OUT" \
	"b.get('event_action')=='trigger' and b['dedup_key']=='$KEYP' and b['payload']['severity']=='critical'"
check "og-noid: the same three updates" wait_for 10 received_is 3 "$OGNOID_OUT" "$UPD"
sleep 2
check "opsgenie: still exactly one create (no re-create with the same alias)" \
	received_is 1 "$OPSGENIE_OUT" "r['path']=='/v2/alerts'"
check "opsgenie: exactly three updates" received_is 3 "$OPSGENIE_OUT" "r['method']=='PUT'"

# ==== recovery ====
echo "---- recovery"
sim_mode '*' ok
CLOSE="/v2/alerts/$ALIAS/close?identifierType=alias"
check "opsgenie: closed by the same alias ($CLOSE)" wait_for 30 received_is 1 "$OPSGENIE_OUT" \
	"r['path']=='$CLOSE' and r['method']=='POST' and r['auth_ok']"
check "og-noid: closed too" wait_for 10 received_is 1 "$OGNOID_OUT" "r['path']=='$CLOSE'"
check "pagerduty: resolved" wait_for 10 received_is 1 "$PAGER_OUT" \
	"b.get('event_action')=='resolve' and b['dedup_key']=='$KEYP'"
check "no Opsgenie request (accepted or not) carries a percent-escape in its path" \
	not grep -q '"path": "[^"]*%' "$OPSGENIE_OUT" "$OGNOID_OUT"
# every request accepted (the receiver 404s a %2F path and 405s a wrong method)
for f in "$OPSGENIE_OUT" "$OGNOID_OUT" "$PAGER_OUT"; do
	check "$(basename "$f"): nothing rejected" bash -c \
		"[ \"\$(grep -c '\"status\": [45]' '$f' || true)\" = 0 ]"
done

# ==== traceability ====
ids_logged() {
	"$PYTHON" - "$OPSGENIE_OUT" "$LOG" <<'PY'
import json, sys
ids = [json.loads(l)["request_id"] for l in open(sys.argv[1]) if l.strip()]
log = open(sys.argv[2], errors="replace").read()
missing = [i for i in ids if "request id " not in log or i not in log]
print("request ids:", len(ids), "missing from the log:", missing, file=sys.stderr)
sys.exit(0 if len(ids) == 5 and not missing else 1)
PY
}
check "every Opsgenie requestId (create, 3 updates, close) is in probed's log" wait_for 10 ids_logged
check "a delivery line names the request id" \
	grep -q "notify opsgenie: resolve $KEYP delivered (HTTP 202, request id " "$LOG"
check "a 202 without a requestId is logged as a warning" \
	grep -q "notify og-noid: trigger $KEYP: HTTP 202 without a request id" "$LOG"
stop_pid "$PROBED_PID" 20
check "SIGTERM exits 0" [ "$STOP_RC" = 0 ]
check "the request ids are kept with the 3 deliveries (events table)" bash -c \
	"sqlite3 -readonly '$DB' \"select count(*) from events where kind = 'notify_ok' and detail like 'opsgenie request id %'\" | grep -qx 3"
check "the GenieKey is in no log or database" not grep -rlaF -e "$GENIE" "$LOG" "$DB"*
pd_finish
