#!/usr/bin/env bash
# Fault: the disk holding the database fills up while an outage starts, then is freed.
# Promise: no page is lost (the trigger goes out once space is back, exactly once, and no
# resolve is sent for an incident the receiver never saw) and the heartbeat stops while
# commits fail, so a dead man's switch fires.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

[ "$(id -u)" = 0 ] || fail "needs root (mounts a small tmpfs for the database)"
FS=$PD_TMP/smallfs
mkdir -p "$FS"
mount -t tmpfs -o size=2m tmpfs "$FS" || fail "cannot mount a tmpfs on $FS"
trap 'umount -l "$FS" 2>/dev/null || true; pd_cleanup' EXIT

export TIKLIVE_TEST_KEY="canary-$RANDOM$RANDOM-disk"
# the heartbeat receiver: a second simulated API counting its requests
start_simapi
HB_URL=$SIM_URL
start_simapi --key "$TIKLIVE_TEST_KEY"
start_receiver webhook
write_config "$PD_TMP/probes.yaml" 1s 300ms
sed -i "s|path: $PD_TMP/probed.db|path: $FS/probed.db|" "$PD_TMP/probes.yaml"
printf 'heartbeat:\n  url: %s/user-posts/?heartbeat=1\n  interval: 1s\n' "$HB_URL" >>"$PD_TMP/probes.yaml"
"$PROBECTL_BIN" validate -c "$PD_TMP/probes.yaml" >/dev/null || fail "test config invalid"
start_probed "$PD_TMP/probes.yaml"

hb_count() {
	curl -fsS --max-time 5 "$HB_URL/_sim/stats" | "$PYTHON" -c \
		'import json,sys; d=json.load(sys.stdin); r=d.get("requests",d); print(r.get("user-posts",0))'
}
check "healthy: the heartbeat is pinged" wait_for 15 bash -c "[ \"\$(curl -fsS $HB_URL/_sim/stats | $PYTHON -c 'import json,sys; d=json.load(sys.stdin); print(d.get(\"requests\",d).get(\"user-posts\",0))')\" -ge 2 ]"
check "healthy: all three probes up" wait_for 15 bash -c \
	"[ \"\$('$PROBECTL_BIN' status --db '$FS/probed.db' 2>/dev/null | grep -c ' up ')\" = 3 ]"

# ---- fill the disk, then break an endpoint ---------------------------------------------------
# A reader on an old snapshot (a long probectl query) keeps the WAL from starting over:
# without it, the checkpoint thread copies the WAL into the database and the next commits
# reuse the WAL file's space, so small commits go on succeeding on a full disk until the
# database file itself must grow (a store that works; not the fault under test).
"$PYTHON" -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN"); c.execute("SELECT count(*) FROM results").fetchall()
time.sleep(120)' "$FS/probed.db" &
PIN_PID=$!
sleep 0.5
dd if=/dev/zero of="$FS/filler" bs=64k >/dev/null 2>&1 || true
check "the database's filesystem is full" bash -c "[ \"\$(df --output=avail -k '$FS' | tail -1 | tr -d ' ')\" -lt 64 ]"
sim_mode post-detail 502
check "probed notices that commits fail" wait_for 20 grep -q 'store: commit failed' "$PD_TMP/probed.log"
sleep 3 # let the heartbeat settle into its new state
hb0=$(hb_count)
sleep 5
hb1=$(hb_count)
echo "heartbeat pings while the disk was full: $((hb1 - hb0)) in 5 s"
check "the heartbeat stops while commits fail (dead man's switch fires)" [ "$hb1" = "$hb0" ]
check "no resolve goes out while the disk is full" received_is 0 "$WEBHOOK_OUT" 'b.get("event")=="resolve"'
check "probed still runs" kill -0 "$PROBED_PID"

# ---- free the space: the page goes out --------------------------------------------------------
rm -f "$FS/filler"
kill "$PIN_PID" 2>/dev/null || true
wait "$PIN_PID" 2>/dev/null || true
check "once space is back the trigger is delivered" wait_for 20 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="trigger"'
check "the heartbeat resumes" wait_for 15 bash -c "[ \"\$(curl -fsS $HB_URL/_sim/stats | $PYTHON -c 'import json,sys; d=json.load(sys.stdin); print(d.get(\"requests\",d).get(\"user-posts\",0))')\" -gt $hb1 ]"
sleep 4
check "exactly one trigger" received_is 1 "$WEBHOOK_OUT" 'b.get("event")=="trigger"'

# ---- recovery: the resolve matches the trigger ------------------------------------------------
sim_mode post-detail ok
check "recovery sends the resolve" wait_for 20 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="resolve"'
same_key() {
	"$PYTHON" - "$WEBHOOK_OUT" <<'PY'
import json, sys
ev = [json.loads(l)["body"] for l in open(sys.argv[1])]
t = [e["dedup_key"] for e in ev if e.get("event") == "trigger"]
r = [e["dedup_key"] for e in ev if e.get("event") == "resolve"]
sys.exit(0 if len(t) == 1 and r and all(k == t[0] for k in r) else 1)
PY
}
check "the resolve closes the incident the receiver saw (same dedup_key)" same_key
check "the canary key is in no payload" not grep -qF "$TIKLIVE_TEST_KEY" "$WEBHOOK_OUT"
pd_finish
