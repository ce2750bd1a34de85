#!/usr/bin/env bash
# kill -9 during an outage: after restart there is no second trigger for the same outage,
# and the resolve still arrives, with the same dedup key. A pager that is down while probed
# is killed gets each event exactly once after it returns.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

export TIKLIVE_TEST_KEY="canary-$RANDOM-k9"
start_simapi --key "$TIKLIVE_TEST_KEY"
start_receiver webhook
write_config "$PD_TMP/probes.yaml" 1s 300ms
start_probed "$PD_TMP/probes.yaml"

sim_mode post-detail 503
TRIG='b.get("event")=="trigger" and b.get("probe")=="post-detail"'
RES='b.get("event")=="resolve" and b.get("probe")=="post-detail"'
check "trigger delivered" wait_for 20 received_ge 1 "$WEBHOOK_OUT" "$TRIG"
kill -9 "$PROBED_PID"
wait "$PROBED_PID" 2>/dev/null || true
pd_untrack "$PROBED_PID"
start_probed "$PD_TMP/probes.yaml"
check "restarted probed resumes the outage" wait_for 10 grep -q 'probe post-detail: resuming in state down' "$PD_TMP/probed.log"
sleep 4 # several failing rounds after the restart
check "no second trigger after kill -9" received_is 1 "$WEBHOOK_OUT" "$TRIG"

# now: receiver down, recovery happens, probed killed again before it could deliver
port=$WEBHOOK_PORT
stop_pid "$WEBHOOK_PID" 5
sim_mode post-detail ok
check "resolve raised while the receiver is down" wait_for 20 grep -q 'notify oncall-webhook: resolve .* failed' "$PD_TMP/probed.log"
kill -9 "$PROBED_PID"
wait "$PROBED_PID" 2>/dev/null || true
pd_untrack "$PROBED_PID"
start_probed "$PD_TMP/probes.yaml"
start_receiver webhook --listen "127.0.0.1:$port"
check "resolve arrives after restart and receiver return" wait_for 30 received_ge 1 "$WEBHOOK_OUT" "$RES"
sleep 3
check "exactly one resolve" received_is 1 "$WEBHOOK_OUT" "$RES"
check "still exactly one trigger" received_is 1 "$WEBHOOK_OUT" "$TRIG"
check "same dedup key" "$PYTHON" - "$WEBHOOK_OUT" <<'PY'
import json, sys
ev = [json.loads(l)["body"] for l in open(sys.argv[1]) if l.strip()]
keys = {e["dedup_key"] for e in ev if e.get("probe") == "post-detail"}
assert len(keys) == 1, keys
PY
stop_pid "$PROBED_PID" 20
check "SIGTERM exits 0" [ "$STOP_RC" = 0 ]
pd_finish
