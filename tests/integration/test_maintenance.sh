#!/usr/bin/env bash
# Issue 11: maintenance windows and silences, end to end (real daemon, real SQLite, the
# simulated API, real receivers). One config window, one-off, starting a few seconds after
# start-up and lasting 24 s, holds userinfo and post-detail:
#   (c) userinfo fails and recovers inside it -> nothing sent, the incident closes quietly
#   (a) post-detail fails inside it -> recorded, no page, a "maintenance" row on the
#       timeline, the status page and /api/status say maintenance, probed_silenced 1
#   (b) post-detail still fails when it ends -> pages at once (within a few seconds)
#   (d) probectl silence add on the running daemon holds userid's page without a reload;
#       probectl silence expire ends it and the page goes out
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

export TIKLIVE_TEST_KEY="canary-$RANDOM-maint"
start_simapi --key "$TIKLIVE_TEST_KEY"
start_receiver webhook
HTTP_PORT=$(free_port)
write_config "$PD_TMP/probes.yaml" 1s 300ms
W_START=$(( $(date +%s) + 8 ))
W_END=$(( W_START + 24 ))
W_START_TXT=$(date -u -d "@$W_START" +%Y-%m-%dT%H:%M:%SZ)
cat >>"$PD_TMP/probes.yaml" <<YAML
http:
  listen: 127.0.0.1:$HTTP_PORT
classify:
  correlation_window: 1s
maintenance:
  - name: upstream-deploy
    start: $W_START_TXT
    duration: 24s
    probes: [userinfo]
    families: [post-detail]
    reason: upstream provider's announced maintenance
YAML
"$PROBECTL_BIN" validate -c "$PD_TMP/probes.yaml" >/dev/null || fail "config invalid"
DB=$PD_TMP/probed.db
BASE="http://127.0.0.1:$HTTP_PORT"
export DB BASE PROBECTL_BIN PYTHON
start_probed "$PD_TMP/probes.yaml"
check "probes running" wait_for 20 bash -c "[ \"\$(sqlite3 -readonly '$DB' 'select count(*) from results' 2>/dev/null || echo 0)\" -ge 6 ]"

silenced() { # PROBE -> the probed_silenced sample of /metrics
	curl -fsS --max-time 5 "$BASE/metrics" | awk -v p="probe=\"$1\"" \
		'index($0, "probed_silenced{") == 1 && index($0, p) { print $2 }'
}
open_count() {
	"$PROBECTL_BIN" incidents --open --db "$DB" --json | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["incidents"]))'
}
all_closed() { [ "$(open_count)" = 0 ]; }
# the newest incident's timeline has a row of KIND whose detail contains TEXT
timeline_has() { # KIND TEXT
	local id
	id=$("$PROBECTL_BIN" incidents --db "$DB" --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["incidents"][0]["id"])') || return 1
	"$PROBECTL_BIN" incident "$id" --db "$DB" --json | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if any(e["kind"] == sys.argv[1] and sys.argv[2] in (e["detail"] or "") for e in d["timeline"]) else 1)' "$1" "$2"
}
is_silenced() { [ "$(silenced "$1")" = "$2" ]; }
export -f silenced open_count all_closed timeline_has is_silenced

check "before the window: not silenced" is_silenced post-detail 0
check "the window opens on time" wait_for 15 is_silenced post-detail 1
check "  and holds userinfo by name" is_silenced userinfo 1
check "  but not userid" is_silenced userid 0

# ---- (c) fail and recover inside the window: nothing sent ------------------------------------
sim_mode userinfo-by-username 502
check "(c) userinfo's incident opens, held" wait_for 8 timeline_has maintenance "pages held: upstream-deploy until"
sim_mode userinfo-by-username ok
check "(c) it closes quietly inside the window" wait_for 8 all_closed
check "(c) the timeline says nothing was sent" timeline_has resolved "recovered during maintenance; nothing was sent"
[ "$(date +%s)" -lt "$W_END" ] || fail "(c) took longer than the window; the test is too slow here"

# ---- (a) fail inside the window: recorded, held, shown ---------------------------------------
sim_mode post-detail 502
check "(a) post-detail's incident opens, held on the timeline" wait_for 8 timeline_has maintenance "(upstream provider's announced maintenance)"
fails502() { # failed results of post-detail with status 502, as stored
	sqlite3 -readonly "$DB" "select count(*) from results r join probes p on p.id = r.probe_id where p.name = 'post-detail' and r.http_status = 502"
}
export -f fails502
check "(a) still probed and recorded" wait_for 5 bash -c '[ "$(fails502)" -ge 3 ]'
check "(a) /api/status says maintenance" bash -c "curl -fsS --max-time 5 '$BASE/api/status' | '$PYTHON' -c '
import json, sys
d = json.load(sys.stdin)
p = [x for x in d[\"probes\"] if x[\"name\"] == \"post-detail\"][0]
sys.exit(0 if p[\"maintenance\"] and p[\"maintenance\"][\"by\"] == \"upstream-deploy\" and p[\"state\"] == \"down\" else 1)'"
check "(a) the status page says maintenance" bash -c "curl -fsS --max-time 5 '$BASE/' | grep -q 'pill maint.*maintenance until'"
check "(a) the log says the pages are held" grep -q "pages held by upstream-deploy" "$PD_TMP/probed.log"
[ "$(date +%s)" -lt "$W_END" ] || fail "(a) took longer than the window; the test is too slow here"
check "(a)(c) nothing sent inside the window" received_is 0 "$WEBHOOK_OUT" 'True'

# ---- (b) still failing when the window ends: pages at once -----------------------------------
T1='b.get("event")=="trigger" and b.get("probe")=="post-detail"'
check "(b) the page goes out after the window" wait_for $(( W_END - $(date +%s) + 10 )) received_ge 1 "$WEBHOOK_OUT" "$T1"
LAG=$("$PYTHON" - "$WEBHOOK_OUT" "$W_END" <<'PY'
import json, sys
ts = [json.loads(l)["ts"] for l in open(sys.argv[1]) if '"trigger"' in l]
print("%.1f" % (min(ts) - float(sys.argv[2])))
PY
)
echo "     page after the window's end: ${LAG}s"
check "(b) within 5 s of the end, not before it" "$PYTHON" -c "import sys; sys.exit(0 if 0 <= $LAG <= 5 else 1)"
check "(b) the timeline says so" timeline_has maintenance "maintenance over, still failing: paging now"
check "(b) no longer silenced" is_silenced post-detail 0
sim_mode post-detail ok
check "(b) it resolves as usual" wait_for 15 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="resolve" and b.get("probe")=="post-detail"'
check "(c) userinfo never paged" received_is 0 "$WEBHOOK_OUT" 'b.get("probe")=="userinfo"'
wait_for 10 all_closed || true

# ---- (d) probectl silence on the running daemon ----------------------------------------------
SID=$("$PROBECTL_BIN" silence add -c "$PD_TMP/probes.yaml" --probe userid --for 10m \
	--reason "vendor ticket 4711" 2>>"$PD_TMP/probectl.log") || fail "silence add failed"
check "(d) silence add prints the id" bash -c "[[ '$SID' =~ ^[0-9]+\$ ]]"
check "(d) silence list shows it" bash -c "'$PROBECTL_BIN' silence list --db '$DB' --json | '$PYTHON' -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if d[\"format\"] == \"probed.silence/1\" and [s[\"probe\"] for s in d[\"silences\"]] == [\"userid\"] else 1)'"
check "(d) the daemon picks it up without a reload" wait_for 5 is_silenced userid 1
sim_mode userid 502
check "(d) userid's incident is held by the silence" wait_for 8 timeline_has maintenance "silence #$SID"
sleep 2
check "(d) nothing sent while silenced" received_is 0 "$WEBHOOK_OUT" 'b.get("probe")=="userid"'
"$PROBECTL_BIN" silence expire "$SID" -c "$PD_TMP/probes.yaml" >/dev/null || fail "silence expire failed"
check "(d) expire ends it: the page goes out" wait_for 8 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="trigger" and b.get("probe")=="userid"'
check "(d) the list is empty" bash -c "'$PROBECTL_BIN' silence list --db '$DB' | grep -q '^0 silences in force'"
check "(d) no reload happened" not grep -q "reload" "$PD_TMP/probed.log"
sim_mode userid ok
check "probed still running" not pid_gone "$PROBED_PID"
pd_finish
