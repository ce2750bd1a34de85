#!/usr/bin/env bash
# A pager that is down loses nothing: the receiver is down while the outage starts, comes
# back later on the same port, and gets the page exactly once.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

export TIKLIVE_TEST_KEY="canary-$RANDOM-rd"
start_simapi --key "$TIKLIVE_TEST_KEY"
# learn a free port, then take the receiver down
start_receiver webhook
port=$WEBHOOK_PORT
stop_pid "$WEBHOOK_PID" 5
write_config "$PD_TMP/probes.yaml" 1s 300ms
start_probed "$PD_TMP/probes.yaml"

sim_mode post-detail 502
check "probed raised the page and failed to deliver it" \
	wait_for 20 grep -q 'notify oncall-webhook: trigger .* failed' "$PD_TMP/probed.log"
sleep 3 # a few retries against a closed port
check "nothing delivered while the receiver is down" received_is 0 "$WEBHOOK_OUT" 'True'
start_receiver webhook --listen "127.0.0.1:$port"
check "receiver back on the same port" [ "$WEBHOOK_PORT" = "$port" ]
TRIG='b.get("event")=="trigger" and b.get("probe")=="post-detail"'
check "the page arrives after the receiver returns" wait_for 30 received_ge 1 "$WEBHOOK_OUT" "$TRIG"
sleep 3
check "exactly once" received_is 1 "$WEBHOOK_OUT" "$TRIG"
check "outbox drained" wait_for 10 bash -c "[ \"\$(sqlite3 -readonly '$PD_TMP/probed.db' 'select count(*) from outbox where dead=0')\" = 0 ]"

# a receiver that rejects an event permanently (400) dead-letters it, loudly, once
stop_pid "$WEBHOOK_PID" 5
start_receiver webhook --listen "127.0.0.1:$port" --status 400
sim_mode post-detail ok
check "the resolve is dead-lettered on a 400" wait_for 30 grep -q 'REJECTED (HTTP 400): dead-lettered' "$PD_TMP/probed.log"
sleep 2
check "a 400 is not retried" [ "$(grep -c 'REJECTED (HTTP 400)' "$PD_TMP/probed.log")" = 1 ]
check "dead letter kept in the outbox" bash -c "[ \"\$(sqlite3 -readonly '$PD_TMP/probed.db' 'select count(*) from outbox where dead=1')\" = 1 ]"
stop_pid "$PROBED_PID" 20
check "SIGTERM exits 0" [ "$STOP_RC" = 0 ]
pd_finish
