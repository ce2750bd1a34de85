#!/usr/bin/env bash
# Fault suite: the HTTP listener under connection faults.
# Promise: after 1,000 held connections close at once, after a slowloris, and after 70 connections close while probed is SIGSTOPped, /healthz answers within 1 s (within 10 s during the slowloris).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

FLOOD="$PYTHON $PD_SRC/tests/integration/connflood.py"
export TIKLIVE_TEST_KEY="canary-$RANDOM-listener"
start_simapi --key "$TIKLIVE_TEST_KEY"
write_config "$PD_TMP/body.yaml" 1s 300ms
HTTP_PORT=$(free_port)
{
	printf 'http:\n  listen: 127.0.0.1:%s\n' "$HTTP_PORT"
	cat "$PD_TMP/body.yaml"
} >"$PD_TMP/probes.yaml"
HZ="http://127.0.0.1:$HTTP_PORT/healthz"
DB=$PD_TMP/probed.db
# fresh_probed: each scenario gets a freshly started probed, so it stands on its own
fresh_probed() {
	[ -n "${PROBED_PID:-}" ] && stop_pid "$PROBED_PID" 10
	start_probed "$PD_TMP/probes.yaml"
	wait_for 10 curl -fsS --max-time 1 -o /dev/null "$HZ" || fail "listener not up"
}

# healthz_within S: /healthz answers 200 within S seconds (connect included); prints the time
healthz_within() {
	local t
	local t0=$EPOCHREALTIME
	t=$(curl -fsS -o /dev/null -w '%{time_total}' --max-time "$1" "$HZ" 2>/dev/null) || {
		# for the record: how long until it did answer (at most 10 s more)
		wait_for 10 curl -fsS --max-time 1 -o /dev/null "$HZ" &&
			t=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }') ||
			t="over 10 s"
		echo "     /healthz: no answer within $1 s (answered after $t)"
		return 1
	}
	echo "     /healthz answered in ${t} s"
}
results() { sqlite3 -readonly "$DB" 'select count(*) from results' 2>/dev/null || echo 0; }

# ---- 1. 1,000 connections, held, then closed at once -------------------------------------
echo "---- 1,000 connections"
fresh_probed
rm -f "$PD_TMP/ready" "$PD_TMP/release"
$FLOOD hold "$HTTP_PORT" --count 1000 --ready "$PD_TMP/ready" --release "$PD_TMP/release" \
	--max-hold 20 >"$PD_TMP/flood.log" 2>&1 &
FPID=$!
pd_track "$FPID"
check "1,000 connections opened" wait_for 15 test -s "$PD_TMP/ready"
echo "     $(cat "$PD_TMP/ready" 2>/dev/null)"
sleep 1
touch "$PD_TMP/release"
wait_for 10 pid_gone "$FPID" || true
stop_pid "$FPID"
cat "$PD_TMP/flood.log"
check "1,000 connections: /healthz within 1 s after they close" healthz_within 1
sleep 2
check "1,000 connections: still answering 2 s later" healthz_within 1

# ---- 2. slowloris: 80 connections from 5 addresses, a byte every 2 s ---------------------
echo "---- slowloris"
fresh_probed
$FLOOD slowloris "$HTTP_PORT" --count 80 --addrs 127.0.0.2-127.0.0.6 --every 2 --duration 20 \
	>"$PD_TMP/loris.log" 2>&1 &
LPID=$!
pd_track "$LPID"
sleep 2 # the slowloris holds every slot now
# one request, queued behind the slowloris: a slot frees when the request deadline
# (5 s) closes the slow connections, whatever they trickle
t=$(curl -fsS -o /dev/null -w '%{time_total}' --max-time 10 "$HZ" 2>/dev/null) || t=none
[ "$t" = none ] && echo "     during the slowloris: no answer within 10 s" ||
	echo "     during the slowloris: /healthz answered after ${t} s"
check "slowloris: /healthz answers during the attack within 10 s" [ "$t" != none ]
wait_for 25 pid_gone "$LPID" || true
stop_pid "$LPID"
cat "$PD_TMP/loris.log"
check "slowloris: the server dropped slow connections" grep -Eq ' [1-9][0-9]* dropped by the server' "$PD_TMP/loris.log"
check "slowloris: /healthz within 1 s after it ends" healthz_within 1
sleep 2
check "slowloris: still answering 2 s later" healthz_within 1

# ---- 3. burst close: 70 connections closed while probed is stopped ------------------------
echo "---- burst close under SIGSTOP"
fresh_probed
rm -f "$PD_TMP/ready" "$PD_TMP/release"
$FLOOD hold "$HTTP_PORT" --count 70 --addrs 127.0.0.2-127.0.0.7 --ready "$PD_TMP/ready" \
	--release "$PD_TMP/release" --max-hold 20 >"$PD_TMP/burst.log" 2>&1 &
BPID=$!
pd_track "$BPID"
check "70 connections opened" wait_for 10 test -s "$PD_TMP/ready"
sleep 1 # probed accepts its 64
kill -STOP "$PROBED_PID"
touch "$PD_TMP/release"
wait_for 10 pid_gone "$BPID" || true
stop_pid "$BPID"
cat "$PD_TMP/burst.log"
sleep 0.5
kill -CONT "$PROBED_PID"
check "burst close: /healthz within 1 s after SIGCONT" healthz_within 1
sleep 2
check "burst close: still answering 2 s later" healthz_within 1

# the probes never stopped
r0=$(results)
sleep 2
check "probes kept running" [ "$(results)" -gt "$r0" ]
check "probed still runs" not pid_gone "$PROBED_PID"
pd_finish
