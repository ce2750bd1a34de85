#!/usr/bin/env bash
# Fault: the wall clock steps by +1 h, then back by -1 h, while an outage is open (NTP after
# a suspend, an operator's `date -s`). probed runs under libfaketime with only the wall clock
# faked (the monotonic clock stays real).
# Promise: no duplicate and no missing page: exactly one trigger and one resolve with the same
# dedup_key, the incident stays open across both steps, and probing keeps its pace (it is
# scheduled on the monotonic clock).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

FT=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1 || true)
[ -n "$FT" ] || fail "libfaketime not installed (package faketime; scripts/deps.sh --test installs it)"
export TIKLIVE_TEST_KEY="canary-$RANDOM$RANDOM-clock"
start_simapi --key "$TIKLIVE_TEST_KEY"
start_receiver webhook
write_config "$PD_TMP/probes.yaml" 1s 300ms
DB=$PD_TMP/probed.db
echo "+0" >"$PD_TMP/faketime"
# only probed is under faketime; probectl and the receivers read the real clock. (In the
# sanitizer build the ASan runtime must otherwise come first in LD_PRELOAD.)
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
LD_PRELOAD=$FT FAKETIME_TIMESTAMP_FILE=$PD_TMP/faketime FAKETIME_NO_CACHE=1 \
	DONT_FAKE_MONOTONIC=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
	"$PROBED_BIN" -c "$PD_TMP/probes.yaml" >>"$PD_TMP/probed.log" 2>&1 &
PROBED_PID=$!
pd_track "$PROBED_PID"
check "all probes up" wait_for 15 bash -c \
	"[ \"\$('$PROBECTL_BIN' status --db '$DB' 2>/dev/null | grep -c ' up ')\" = 3 ]"
runs() { curl -fsS --max-time 5 "$SIM_URL/_sim/stats" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["requests"]["userid"])'; }

one_trigger_no_resolve() {
	[ "$(received "$WEBHOOK_OUT" 'b.get("event")=="trigger"')" = 1 ] &&
		[ "$(received "$WEBHOOK_OUT" 'b.get("event")=="resolve"')" = 0 ]
}
sim_mode post-detail 502
check "the outage pages" wait_for 20 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="trigger"'
for step in "+1h" "+0"; do
	echo "$step" >"$PD_TMP/faketime"
	r0=$(runs)
	sleep 6
	r1=$(runs)
	echo "wall clock now $step: userid probed $((r1 - r0)) times in 6 s (interval 1 s)"
	check "after the step to $step probing keeps its pace (3..12 runs in 6 s)" \
		bash -c "[ $((r1 - r0)) -ge 3 ] && [ $((r1 - r0)) -le 12 ]"
	check "after the step to $step: still exactly one trigger, no resolve" one_trigger_no_resolve
	check "after the step to $step the incident is still open" bash -c \
		"'$PROBECTL_BIN' incidents --open --db '$DB' --json | '$PYTHON' -c 'import json,sys; sys.exit(0 if len(json.load(sys.stdin)[\"incidents\"]) == 1 else 1)'"
done
sim_mode post-detail ok
check "recovery resolves" wait_for 20 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="resolve"'
sleep 3
same_key() {
	"$PYTHON" - "$WEBHOOK_OUT" <<'PY'
import json, sys
ev = [json.loads(l)["body"] for l in open(sys.argv[1])]
t = [e["dedup_key"] for e in ev if e.get("event") == "trigger"]
r = [e["dedup_key"] for e in ev if e.get("event") == "resolve"]
print("triggers", t, "resolves", r)
sys.exit(0 if len(t) == 1 and r == t else 1)
PY
}
check "one trigger, one resolve, the same dedup_key" same_key
pd_finish
