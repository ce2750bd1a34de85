#!/usr/bin/env bash
# The control probe and the heartbeat:
#  - when the known-good control target fails together with everything else, the host's
#    own network is the suspect: ONE "monitoring host degraded" page, no per-probe storm;
#  - when only the API fails (control green), probes page as usual;
#  - the heartbeat URL is pinged every interval while probed is healthy;
#  - the API key (defaults.headers) never reaches the control target or the heartbeat URL,
#    both outside the API; the API itself gets it on every request.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

export TIKLIVE_TEST_KEY="canary-$RANDOM-ctl"
# the "known-good" control target and heartbeat receiver: a second simulated server
start_simapi
CTL_URL=$SIM_URL CTL_PORT=$SIM_PORT CTL_PID=$SIMAPI_PID
start_simapi --key "$TIKLIVE_TEST_KEY"
start_receiver webhook
write_config "$PD_TMP/probes.yaml" 1s 300ms
# add the control probe (before notify:) and the heartbeat
"$PYTHON" - "$PD_TMP/probes.yaml" "$CTL_URL" <<'PY'
import sys
path, ctl = sys.argv[1], sys.argv[2]
s = open(path).read()
s = s.replace("notify:\n", f"""  - name: control
    family: control
    tier: site
    control: true
    url: {ctl}/status/
notify:
""", 1)
s += f"heartbeat:\n  url: {ctl}/user-posts/?heartbeat=1\n  interval: 1s\n"
open(path, "w").write(s)
PY
"$PROBECTL_BIN" validate -c "$PD_TMP/probes.yaml" >/dev/null || fail "test config invalid"
start_probed "$PD_TMP/probes.yaml"

hb_count() {
	curl -fsS --max-time 5 "$CTL_URL/_sim/stats" | "$PYTHON" -c \
		'import json,sys; d=json.load(sys.stdin); r=d.get("requests",d); print(r.get("user-posts",0))'
}
export -f hb_count
export CTL_URL PYTHON
check "heartbeat pinged at least 3 times" wait_for 15 bash -c '[ "$(hb_count)" -ge 3 ]'
with_key() { curl -fsS --max-time 5 "$1/_sim/stats" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["with_api_key"])'; }
check "the control target and the heartbeat got requests" [ "$(curl -fsS "$CTL_URL/_sim/stats" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["total"])')" -ge 3 ]
check "no request to the control target or the heartbeat carried X-Api-Key" [ "$(with_key "$CTL_URL")" = 0 ]
check "the API's requests carry it (the counter can count)" [ "$(with_key "$SIM_URL")" -ge 3 ]

# ---- the host's network "fails": the API and the control target both time out ----------
SIM_PORT_API=$SIM_PORT
sim_mode '*' hang
SIM_PORT=$CTL_PORT sim_mode '*' hang
SIM_PORT=$SIM_PORT_API
HOST='b.get("event")=="trigger" and "monitoring host degraded" in b.get("summary","")'
check "one 'monitoring host degraded' page" wait_for 30 received_ge 1 "$WEBHOOK_OUT" "$HOST"
sleep 5
check "exactly one host page" received_is 1 "$WEBHOOK_OUT" "$HOST"
check "no per-probe page storm" received_is 0 "$WEBHOOK_OUT" \
	'b.get("event")=="trigger" and b.get("probe") in ("userid","userinfo","post-detail")'
check "suppression is logged" grep -q 'page suppressed: control target fails too' "$PD_TMP/probed.log"
check "the heartbeat is not delivered while its target hangs" wait_for 15 grep -q 'heartbeat: failed' "$PD_TMP/probed.log"

sim_mode '*' ok
SIM_PORT=$CTL_PORT sim_mode '*' ok
SIM_PORT=$SIM_PORT_API
check "the host page resolves" wait_for 30 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="resolve" and b.get("probe")=="control"'
sleep 3
check "no resolves for pages that were never sent" received_is 0 "$WEBHOOK_OUT" \
	'b.get("event")=="resolve" and b.get("probe") in ("userid","userinfo","post-detail")'

# ---- only the API fails: the control target is fine, so probes page ------------------
sim_mode post-detail 502
check "an API outage with a healthy control still pages" wait_for 20 received_ge 1 "$WEBHOOK_OUT" \
	'b.get("event")=="trigger" and b.get("probe")=="post-detail"'
check "and the host page was not raised again" received_is 1 "$WEBHOOK_OUT" "$HOST"
stop_pid "$PROBED_PID" 20
check "SIGTERM exits 0" [ "$STOP_RC" = 0 ]
pd_finish
