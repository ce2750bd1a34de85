#!/usr/bin/env bash
# Promise: every notification carries a unique event_id (and a payload version); retries of
# one event repeat its event_id, other events never do, and a webhook gets it as the
# Idempotency-Key header too, so a receiver can drop a repeat it has already processed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

export TIKLIVE_TEST_KEY="canary-$RANDOM$RANDOM-evid"
start_simapi --key "$TIKLIVE_TEST_KEY"
start_receiver webhook --status 500
write_config "$PD_TMP/probes.yaml" 1s 300ms
start_probed "$PD_TMP/probes.yaml"
sim_mode post-detail 502
check "the trigger is tried (and refused) at least twice" wait_for 20 bash -c \
	"[ \"\$(grep -c '\"event\": *\"trigger\"' '$WEBHOOK_OUT' 2>/dev/null || true)\" -ge 2 ]"
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$WEBHOOK_PORT/_status?code=200"
check "the trigger is accepted" wait_for 20 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="trigger"'
sim_mode post-detail ok
check "the resolve is accepted" wait_for 20 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="resolve"'
ids_ok() {
	"$PYTHON" - "$WEBHOOK_OUT" <<'PY'
import json, sys, collections
by_event = collections.defaultdict(set)
for l in open(sys.argv[1]):
    r = json.loads(l)
    b = r["body"]
    eid = b.get("event_id")
    if not eid or b.get("version") != 1:
        print("missing event_id or version:", b); sys.exit(1)
    if r["headers"].get("Idempotency-Key") != eid:
        print("Idempotency-Key differs from event_id:", r["headers"], eid); sys.exit(1)
    by_event[(b["dedup_key"], b["event"])].add(eid)
print({k[1]: sorted(v) for k, v in by_event.items()})
ids = [next(iter(v)) for v in by_event.values()]
sys.exit(0 if all(len(v) == 1 for v in by_event.values()) and len(set(ids)) == len(ids) == 2 else 1)
PY
}
check "one event_id per event, the same on every retry, trigger and resolve differ" ids_ok
pd_finish
