#!/usr/bin/env bash
# Fault: the pager misbehaves while an outage is paged.
# Promises:
#  - flap: a PagerDuty receiver that answers 503 for 20 s gets the queued trigger within
#    10 s after it answers again (page-role backoff and breaker cool-down <= 5 s);
#  - 429 with Retry-After: 3600 delays the page by at most the target's max_retry_after
#    (here 8 s), not an hour;
#  - a receiver that hangs costs one timeout per attempt, and the page goes out when it
#    answers again; one trigger reaches it per incident (a request that timed out may still
#    be processed by the woken pager: then a second copy, with the same dedup_key).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

export TIKLIVE_TEST_KEY="canary-$RANDOM$RANDOM-pager"
start_simapi --key "$TIKLIVE_TEST_KEY"
start_receiver pager --kind pagerduty
write_config "$PD_TMP/probes.yaml" 1s 300ms
PAGER_URL="http://127.0.0.1:$PAGER_PORT"
pager_status() { curl -fsS --max-time 5 -o /dev/null -X POST "$PAGER_URL/_status?code=$1${2:+&retry_after=$2}"; }
"$PROBECTL_BIN" validate -c "$PD_TMP/probes.yaml" >/dev/null || fail "test config invalid"
start_probed "$PD_TMP/probes.yaml"
check "all probes up" wait_for 15 bash -c \
	"[ \"\$('$PROBECTL_BIN' status --db '$PD_TMP/probed.db' 2>/dev/null | grep -c ' up ')\" = 3 ]"

triggers() { received "$PAGER_OUT" 'b.get("event_action")=="trigger"'; }
resolves() { received "$PAGER_OUT" 'b.get("event_action")=="resolve"'; }

# ---- flap: 503 for 20 s ----------------------------------------------------------------------
pager_status 503
sim_mode post-detail 502
check "the page is attempted while the pager fails" wait_for 20 grep -q 'notify pagerduty: trigger .* failed (HTTP 503)' "$PD_TMP/probed.log"
sleep 17
check "nothing accepted while the pager answers 503" [ "$(triggers)" = 0 ]
pager_status 202
t0=$(date +%s.%N)
check "after the pager is back the trigger arrives within 10 s" wait_for 10 received_ge 1 "$PAGER_OUT" 'b.get("event_action")=="trigger"'
echo "trigger accepted $("$PYTHON" -c "import time; print(round(time.time()-$t0,1))") s after the pager came back"
sim_mode post-detail ok
check "the resolve follows" wait_for 20 received_ge 1 "$PAGER_OUT" 'b.get("event_action")=="resolve"'
check "exactly one trigger for the first outage" [ "$(triggers)" = 1 ]

# ---- 429 with Retry-After: 3600, capped at max_retry_after --------------------------------------
stop_pid "$PROBED_PID" 20
"$PYTHON" - "$PD_TMP/probes.yaml" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
s = s.replace("    timeout: 2s\n", "    timeout: 2s\n    retry: {max_retry_after: 8s}\n", 1) if "type: pagerduty" in s else s
open(p, "w").write(s)
PY
grep -q 'max_retry_after: 8s' "$PD_TMP/probes.yaml" || fail "could not set max_retry_after"
"$PROBECTL_BIN" validate -c "$PD_TMP/probes.yaml" >/dev/null || fail "test config invalid (retry)"
start_probed "$PD_TMP/probes.yaml"
pager_status 429 3600
sim_mode userid 502
check "the page meets the 429" wait_for 20 grep -q 'notify pagerduty: trigger .* failed (HTTP 429)' "$PD_TMP/probed.log"
check "the retry waits the capped 8 s, not an hour" bash -c \
	"grep 'notify pagerduty: trigger .* failed (HTTP 429)' '$PD_TMP/probed.log' | tail -1 | grep -Eq 'retry in [0-9]{4} ms'"
pager_status 202
check "the page is delivered within the cap (+ a margin)" wait_for 15 received_ge 2 "$PAGER_OUT" 'b.get("event_action")=="trigger"'
sim_mode userid ok
check "its resolve follows" wait_for 20 received_ge 2 "$PAGER_OUT" 'b.get("event_action")=="resolve"'

# ---- a hanging pager ---------------------------------------------------------------------------
kill -STOP "$PAGER_PID"
sim_mode userinfo-by-username 502
check "the page times out against a hung pager" wait_for 30 grep -q 'notify pagerduty: trigger .* failed (.*timed out' "$PD_TMP/probed.log"
kill -CONT "$PAGER_PID"
check "after the pager wakes up the trigger arrives" wait_for 20 received_ge 3 "$PAGER_OUT" 'b.get("event_action")=="trigger"'
sim_mode userinfo-by-username ok
check "and its resolve" wait_for 20 received_ge 3 "$PAGER_OUT" 'b.get("event_action")=="resolve"'
one_trigger_per_key() {
	"$PYTHON" - "$PAGER_OUT" <<'PY'
import json, sys, collections
c = collections.Counter()
for l in open(sys.argv[1]):
    r = json.loads(l)
    b = r.get("body") or {}
    if 200 <= r.get("status", 0) < 300 and b.get("event_action") == "trigger":
        c[b.get("dedup_key")] += 1
print(dict(c))
# in key order = incident order: the flap and the 429 exactly once; after the hang, the
# request that timed out on probed's side may still be processed by the woken pager, so
# the retry can make a second copy: with the same dedup_key, which the pager collapses
n = [c[k] for k in sorted(c)]
sys.exit(0 if len(n) == 3 and n[0] == 1 and n[1] == 1 and 1 <= n[2] <= 2 else 1)
PY
}
check "one trigger per incident (a timed-out one may repeat, same dedup_key)" one_trigger_per_key
check "the canary key is in no payload" not grep -qF "$TIKLIVE_TEST_KEY" "$PAGER_OUT"
pd_finish
