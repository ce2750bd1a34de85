#!/usr/bin/env bash
# Promise: retention prunes everything that grows (shape fingerprints, resolved incidents with
# their timeline, dead letters, deliveries) past store.retention / store.incident_retention,
# keeps what is recent, never an open incident, and says what went in one log line.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

export TIKLIVE_TEST_KEY="canary-$RANDOM$RANDOM-prune"
start_simapi --key "$TIKLIVE_TEST_KEY"
start_receiver webhook
write_config "$PD_TMP/probes.yaml" 1s
sed -i 's/^  retention: 1d$/  retention: 1d\n  incident_retention: 2d/' "$PD_TMP/probes.yaml"
DB=$PD_TMP/probed.db
start_probed "$PD_TMP/probes.yaml"
has_results() { [ "$(probe_results "$DB" userid)" -ge 1 ]; }
check "the first run stores results (the schema is in place)" wait_for 20 has_results
stop_pid "$PROBED_PID" 10

NOW=$(($(date +%s) * 1000))
OLD=$((NOW - 3 * 86400 * 1000))   # past both retentions
MID=$((NOW - 36 * 3600 * 1000))   # past retention (1d), inside incident_retention (2d)
sqlite3 "$DB" <<SQL
INSERT INTO probes(name) SELECT 'ghost' WHERE NOT EXISTS (SELECT 1 FROM probes WHERE name = 'ghost');
INSERT INTO shapes VALUES ((SELECT id FROM probes WHERE name = 'ghost'), 11, $OLD, $OLD, '\$:object');
INSERT INTO shapes VALUES ((SELECT id FROM probes WHERE name = 'ghost'), 12, $OLD, $NOW, '\$:array');
INSERT INTO incidents(key, opened_ms, resolved_ms, last_join_ms, severity, mode, title, reason,
  evidence, members, notified, status_message, drill)
  VALUES ('probed:inc-old', $OLD, $OLD, $OLD, 2, 1, 'old', 'r', 'e', '[]', '[]', '', 0),
         ('probed:inc-mid', $OLD, $MID, $OLD, 2, 1, 'mid', 'r', 'e', '[]', '[]', '', 0);
INSERT INTO incident_events(incident_id, ts_ms, kind, detail)
  SELECT id, $OLD, 'opened', '' FROM incidents WHERE key = 'probed:inc-old';
INSERT INTO incident_events(incident_id, ts_ms, kind, detail)
  SELECT id, $OLD, 'joined', 'x' FROM incidents WHERE key = 'probed:inc-old';
INSERT INTO incident_events(incident_id, ts_ms, kind, detail)
  SELECT id, $OLD, 'resolved', '' FROM incidents WHERE key = 'probed:inc-old';
INSERT INTO incident_events(incident_id, ts_ms, kind, detail)
  SELECT id, $OLD, 'opened', '' FROM incidents WHERE key = 'probed:inc-mid';
INSERT INTO outbox(target, dedup_key, event, payload, created_ms, next_at_ms, attempts, last_error, dead)
  VALUES ('gone', 'k-old', 'trigger', '{}', $OLD, $OLD, 1, 'HTTP 400', 1),
         ('gone', 'k-new', 'trigger', '{}', $NOW, $NOW, 1, 'HTTP 400', 1);
INSERT INTO deliveries VALUES ('k-old', 'oncall-webhook', 'trigger', $OLD, $OLD, 1),
                              ('k-new', 'oncall-webhook', 'trigger', $NOW, $NOW, 1);
SQL

start_probed "$PD_TMP/probes.yaml"
check "one log line with what went (first pass ~5 s after start)" wait_for 30 grep -q "store: pruned [0-9]* results/events/aggregates, 1 shapes, 1 incidents (3 timeline rows), 1 dead letters, 1 deliveries" "$PD_TMP/probed.log"
q() { sqlite3 "$DB" "$1"; }
check "the old shape went, the recent one stayed" [ "$(q "SELECT group_concat(hash) FROM shapes WHERE probe_id = (SELECT id FROM probes WHERE name = 'ghost')")" = 12 ]
check "the old incident went with its timeline; the one inside incident_retention stayed" [ "$(q "SELECT group_concat(key) FROM incidents WHERE key LIKE 'probed:inc-%'")" = probed:inc-mid ]
check "no orphan timeline rows" [ "$(q "SELECT count(*) FROM incident_events WHERE incident_id NOT IN (SELECT id FROM incidents)")" = 0 ]
check "the mid incident kept its timeline" [ "$(q "SELECT count(*) FROM incident_events e JOIN incidents i ON i.id = e.incident_id WHERE i.key = 'probed:inc-mid'")" = 1 ]
check "the old dead letter went, the recent one stayed" [ "$(q "SELECT group_concat(dedup_key) FROM outbox WHERE target = 'gone'")" = k-new ]
check "the old delivery went, the recent one stayed" [ "$(q "SELECT group_concat(dedup_key) FROM deliveries WHERE dedup_key LIKE 'k-%'")" = k-new ]
pd_finish
