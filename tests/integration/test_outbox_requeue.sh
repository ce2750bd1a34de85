#!/usr/bin/env bash
# Promise: a page the receiver rejected (a 3xx or 4xx: dead-lettered, never retried on its own) is
# listed by `probectl outbox` and counted in /metrics, and `probectl outbox requeue` sends it
# again once the target is fixed: it reaches the receiver exactly once more, nothing is lost.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

export TIKLIVE_TEST_KEY="canary-$RANDOM$RANDOM-requeue"
start_simapi --key "$TIKLIVE_TEST_KEY"
start_receiver webhook --status 302
write_config "$PD_TMP/probes.yaml" 1s 300ms
HTTP_PORT=$(free_port)
printf 'http:\n  listen: 127.0.0.1:%s\n' "$HTTP_PORT" >>"$PD_TMP/probes.yaml"
DB=$PD_TMP/probed.db
start_probed "$PD_TMP/probes.yaml"
sim_mode post-detail 502
check "the receiver answers 302 (a wrong URL; redirects are not followed): dead-lettered" wait_for 20 grep -q "REJECTED (HTTP 302): dead-lettered" "$PD_TMP/probed.log"
"$PROBECTL_BIN" outbox --db "$DB" >"$PD_TMP/outbox.txt"
cat "$PD_TMP/outbox.txt"
check "probectl outbox lists it as dead-lettered with its error" grep -Eq '^[0-9]+ +DEAD-LETTERED +oncall-webhook +trigger .*HTTP 302' "$PD_TMP/outbox.txt"
check "probectl outbox --json: format, counts" bash -c "'$PROBECTL_BIN' outbox --db '$DB' --json | '$PYTHON' -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d[\"format\"]==\"probed.outbox/1\" and d[\"dead_lettered\"]==1 and d[\"rows\"][0][\"state\"]==\"dead_lettered\" and d[\"rows\"][0][\"next_attempt\"] is None else 1)'"
check "/metrics counts the dead letter" bash -c "curl -fsS http://127.0.0.1:$HTTP_PORT/metrics | grep -Eq '^probed_outbox_dead_letters(\\{[^}]*\\})? 1$'"
RC=0; "$PROBECTL_BIN" outbox requeue 999999 --db "$DB" >/dev/null 2>&1 || RC=$?
check "requeue of a row that is not dead: exit 1" [ "$RC" = 1 ]
RC=0; "$PROBECTL_BIN" outbox requeue x --db "$DB" >/dev/null 2>&1 || RC=$?
check "requeue of a bad id: exit 64" [ "$RC" = 64 ]
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$WEBHOOK_PORT/_status?code=200"
"$PROBECTL_BIN" outbox requeue all --db "$DB"
check "the re-queued page reaches the receiver (within the minute's re-check)" wait_for 75 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="trigger"'
check "the outbox is empty afterwards" bash -c "'$PROBECTL_BIN' outbox --db '$DB' | tail -1 | grep -q '^0 pending, 0 dead-lettered'"
sim_mode post-detail ok
check "the resolve follows" wait_for 20 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="resolve"'
check "the trigger was accepted exactly once" received_is 1 "$WEBHOOK_OUT" 'b.get("event")=="trigger"'
pd_finish
