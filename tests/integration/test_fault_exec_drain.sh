#!/usr/bin/env bash
# Promise: SIGTERM while an `exec` notification runs waits for it (bounded by the drain
# timeout) instead of killing it, so it is not run a second time after the restart; and
# the command gets PATH and PROBED_* but none of probed's own environment (its secrets).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

export TIKLIVE_TEST_KEY="canary-$RANDOM$RANDOM-exec"
start_simapi --key "$TIKLIVE_TEST_KEY"
write_config "$PD_TMP/probes.yaml" 1s 300ms
EXEC_OUT=$PD_TMP/tickets.txt
cat >"$PD_TMP/ticket.sh" <<'SH'
#!/bin/sh
# a slow ticket system: takes 3 s, then records the ticket
: >"$1.started"
env >"$1.env"
sleep 3
echo "$PROBED_EVENT $PROBED_DEDUP_KEY $PROBED_EVENT_ID" >>"$1"
SH
chmod +x "$PD_TMP/ticket.sh"
printf '  - name: tickets\n    type: exec\n    command: [%s, %s]\n    timeout: 10s\n' \
	"$PD_TMP/ticket.sh" "$EXEC_OUT" >>"$PD_TMP/probes.yaml"
"$PROBECTL_BIN" validate -c "$PD_TMP/probes.yaml" >/dev/null || fail "test config invalid"
start_probed "$PD_TMP/probes.yaml"
sim_mode post-detail 502
check "the ticket command starts" wait_for 20 test -e "$EXEC_OUT.started"
stop_pid "$PROBED_PID" 20
check "SIGTERM exits 0" [ "$STOP_RC" = 0 ]
check "the running ticket command finished before probed exited" grep -q '^trigger ' "$EXEC_OUT"
check "the drain said it waits for notifications" grep -q 'shutdown: finishing .* notifications' "$PD_TMP/probed.log"
start_probed "$PD_TMP/probes.yaml"
sleep 6 # the restarted daemon has every chance to run it again
check "after the restart the ticket is not filed again" [ "$(grep -c '^trigger ' "$EXEC_OUT")" = 1 ]
check "the command's environment has PATH and the PROBED_* variables" \
	bash -c "grep -q '^PATH=' '$EXEC_OUT.env' && grep -q '^PROBED_DEDUP_KEY=' '$EXEC_OUT.env'"
check "but none of probed's secrets or service variables (TIKLIVE_TEST_KEY, PD_TMP)" \
	bash -c "! grep -Eq '^(TIKLIVE_TEST_KEY|PD_TMP|PROBED_BIN)=' '$EXEC_OUT.env' && ! grep -qF '$TIKLIVE_TEST_KEY' '$EXEC_OUT.env'"
check "the ticket carries an event id" grep -Eq '^trigger \S+ probed-[0-9]+-[0-9]+$' "$EXEC_OUT"
pd_finish
