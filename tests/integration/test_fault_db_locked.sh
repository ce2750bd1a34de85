#!/usr/bin/env bash
# Fault: another process holds the database's write lock (a backup tool, a careless
# `sqlite3` shell) while an outage starts, then lets go.
# Promise: no page is lost or doubled: while commits fail the heartbeat stops; once the lock
# is released the trigger goes out exactly once, and the resolve matches it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

export TIKLIVE_TEST_KEY="canary-$RANDOM$RANDOM-lock"
start_simapi
HB_URL=$SIM_URL
start_simapi --key "$TIKLIVE_TEST_KEY"
start_receiver webhook
write_config "$PD_TMP/probes.yaml" 1s 300ms
printf 'heartbeat:\n  url: %s/user-posts/?heartbeat=1\n  interval: 1s\n' "$HB_URL" >>"$PD_TMP/probes.yaml"
DB=$PD_TMP/probed.db
start_probed "$PD_TMP/probes.yaml"
hb_count() {
	curl -fsS --max-time 5 "$HB_URL/_sim/stats" | "$PYTHON" -c \
		'import json,sys; print(json.load(sys.stdin)["requests"]["user-posts"])'
}
check "all probes up" wait_for 15 bash -c \
	"[ \"\$('$PROBECTL_BIN' status --db '$DB' 2>/dev/null | grep -c ' up ')\" = 3 ]"

# another process takes the write lock and holds it for 12 s
"$PYTHON" - "$DB" "$PD_TMP/locked" <<'PY' &
import sqlite3, sys, time, os
c = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(12)
c.execute("ROLLBACK")
os.unlink(sys.argv[2])
PY
LOCKER=$!
pd_track "$LOCKER"
wait_for 10 test -e "$PD_TMP/locked" || fail "the locker did not take the lock"
sim_mode post-detail 502
check "probed notices that commits fail" wait_for 20 grep -q 'store: commit failed' "$PD_TMP/probed.log"
sleep 2
hb0=$(hb_count)
sleep 4
hb1=$(hb_count)
echo "heartbeats while locked: $((hb1 - hb0)) in 4 s"
if [ -e "$PD_TMP/locked" ]; then
	check "the heartbeat stops while the database is locked" [ "$hb1" = "$hb0" ]
	check "no trigger while nothing can be stored" received_is 0 "$WEBHOOK_OUT" 'b.get("event")=="trigger"'
else
	fail "the lock was released before the checks ran (machine too slow?)"
fi
wait "$LOCKER" || true
pd_untrack "$LOCKER"
check "once the lock is released the trigger is delivered" wait_for 20 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="trigger"'
check "commits succeed again (logged)" wait_for 10 grep -q 'store: commits succeed again' "$PD_TMP/probed.log"
sleep 3
check "exactly one trigger" received_is 1 "$WEBHOOK_OUT" 'b.get("event")=="trigger"'
sim_mode post-detail ok
check "the resolve follows" wait_for 20 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="resolve"'
pd_finish
