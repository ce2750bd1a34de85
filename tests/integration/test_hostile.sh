#!/usr/bin/env bash
# Hostile answers (huge, slow, hanging, malformed, deeply nested, empty, wrong shape,
# rejected key, quota) are failures recorded with the right class, never crashes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

export TIKLIVE_TEST_KEY="canary-$RANDOM-ho"
start_simapi --key "$TIKLIVE_TEST_KEY"
write_config "$PD_TMP/probes.yaml" 1s 300ms
DB=$PD_TMP/probed.db
start_probed "$PD_TMP/probes.yaml"
check "first results stored" wait_for 15 bash -c "[ \$(sqlite3 -readonly '$DB' 'select count(*) from results' 2>/dev/null || echo 0) -ge 3 ]"

# outcome numbers are the stored enum (include/probed/outcome.h)
declare -A want=(
	[huge]=body_too_large [deep]=invalid_json [invalid-json]=invalid_json [empty]=empty
	[shape]=shape [401]=key_rejected [429]=quota [hang]=timeout [500]=http_5xx
)
last_outcome() {
	"$PROBECTL_BIN" status --db "$DB" --json | "$PYTHON" -c \
		'import json,sys; print({p["name"]:p for p in json.load(sys.stdin)["probes"]}[sys.argv[1]]["outcome"] or "")' "$1"
}
export -f last_outcome
export DB PROBECTL_BIN PYTHON
for mode in huge deep invalid-json empty shape 401 429 hang 500; do
	sim_mode userinfo-by-username "$mode"
	check "mode $mode is recorded as ${want[$mode]}" wait_for 15 bash -c "[ \"\$(last_outcome userinfo)\" = '${want[$mode]}' ]"
	check "probed alive after $mode" kill -0 "$PROBED_PID"
done
sim_mode userid slow:1800
check "an answer over max_latency is recorded as slow" wait_for 15 bash -c "[ \"\$(last_outcome userid)\" = slow ]"
sim_mode '*' ok
check "everything green again" wait_for 15 bash -c "[ \"\$(last_outcome userinfo)\" = ok ] && [ \"\$(last_outcome userid)\" = ok ]"

"$PROBECTL_BIN" history userinfo --db "$DB" --since 1h --json >"$PD_TMP/h.json"
check "the 5 MiB body was capped at max_body, not stored" "$PYTHON" - "$PD_TMP/h.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
big = [r for r in d["results"] if r["outcome"] == "body_too_large"]
assert big and all(r["body_size"] <= 1024 * 1024 for r in big), big[:1]
assert all("max_body" in r["verdict"] for r in big)
PY
check "a hang is cut at the probe timeout" "$PYTHON" - "$PD_TMP/h.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = [r for r in d["results"] if r["outcome"] == "timeout"]
assert t and all(1900 <= r["total_ms"] <= 4000 for r in t), [r["total_ms"] for r in t]
PY
stop_pid "$PROBED_PID" 20
check "SIGTERM exits 0" [ "$STOP_RC" = 0 ]
pd_finish
