#!/usr/bin/env bash
# The demo: installs what is missing, builds, then lets probed watch the bundled simulated
# TikTok-data API. An outage (HTTP 502) is injected on /post-detail/; you see the page reach
# the on-call webhook, then the recovery and the resolve. Ends by itself (about a minute)
# and leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build

. tests/integration/lib.sh
pd_tmpdir

# bold headings on a terminal; plain text in a log or a pipe (CI, `| tee`)
if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B= N=; fi
say() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
pretty() { "$PYTHON" -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l); b = r["body"]
    if eval(sys.argv[2], {}, {"b": b}):
        print(json.dumps(b, indent=2))' "$@"; }

export TIKLIVE_TEST_KEY="demo-key-$RANDOM$RANDOM"
say "starting the simulated API and an on-call webhook receiver (loopback only)"
start_simapi --key "$TIKLIVE_TEST_KEY"
start_receiver webhook
echo "simulated API: $SIM_URL   webhook receiver: http://127.0.0.1:$WEBHOOK_PORT/hook"
write_config "$PD_TMP/probes.yaml" 5s 2s
# the API behind HTTPS too: a TLS front of the simulated API, its certificate (90 days)
# signed by a CA made now, trusted through ca_file: probed records the chain's expiry
start_tls_front 90
awk -v url="$TLS_URL" -v ca="$TLS_CA" '/^notify:/ {
	print "  - name: userid-https"
	print "    family: userid"
	print "    url: " url "/userid/?username=tiktok"
	print "    ca_file: " ca
	print "    expect:"
	print "      status: [200]"
	print "      json: {type: object, required: [id], properties: {id: {type: string, minLength: 1}}}"
} { print }' "$PD_TMP/probes.yaml" >"$PD_TMP/probes.yaml.new" && mv "$PD_TMP/probes.yaml.new" "$PD_TMP/probes.yaml"
echo "HTTPS front: $TLS_URL (certificate valid until $(date -u -d "@$TLS_NOT_AFTER" '+%Y-%m-%d %H:%M UTC'))"
HTTP_PORT=$(free_port)
printf 'http:\n  listen: 127.0.0.1:%s\n' "$HTTP_PORT" >>"$PD_TMP/probes.yaml"
echo "config: interval 5s, confirm_after 2s, page after 2 consecutive failures, resolve after 2 successes"

say "probed starts (its log follows, one event per line)"
start_probed "$PD_TMP/probes.yaml"
tail -n +1 -f "$PD_TMP/probed.log" --pid=$$ | sed 's/^/  probed| /' &
TAIL_PID=$!
pd_track "$TAIL_PID"
DB=$PD_TMP/probed.db
wait_for 30 bash -c "[ \"\$('$PROBECTL_BIN' status --db '$DB' --json 2>/dev/null | grep -c '\"ok\":\\s*true')\" -ge 4 ]" || true
sleep 1
say "probectl status: all four checks are green; the HTTPS one with its certificate's expiry"
"$PROBECTL_BIN" status --db "$DB"

say "injecting an outage: /post-detail/ now answers 502 (as when upstream TikTok changes)"
sim_mode post-detail 502
t0=$(date +%s.%N)
if wait_for 30 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="trigger"'; then
	t1=$(date +%s.%N)
	say "PAGE delivered to the on-call webhook $("$PYTHON" -c "print(round($t1-$t0,1))") s after the outage began:"
	pretty "$WEBHOOK_OUT" 'b["event"]=="trigger"'
else
	echo "no page within 30 s — something is wrong" >&2
	exit 1
fi
"$PROBECTL_BIN" status --db "$DB"

say "the upstream fix is deployed: /post-detail/ answers 200 again"
sleep 4
sim_mode post-detail ok
if wait_for 30 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="resolve"'; then
	say "RESOLVE delivered (same dedup_key):"
	pretty "$WEBHOOK_OUT" 'b["event"]=="resolve"'
else
	echo "no resolve within 30 s — something is wrong" >&2
	exit 1
fi

say "probectl silence: a planned deploy of userid; still probed and recorded, its pages held"
SIL=$("$PROBECTL_BIN" silence add -c "$PD_TMP/probes.yaml" --family userid --for 15m \
	--reason "demo: planned deploy of the userid service")
"$PROBECTL_BIN" silence list -c "$PD_TMP/probes.yaml"
if wait_for 15 bash -c "curl -fsS 'http://127.0.0.1:$HTTP_PORT/api/status' | grep -q '\"maintenance\":{'"; then
	echo "the running probed picked the silence up without a reload: the status page shows userid in maintenance"
fi
"$PROBECTL_BIN" silence expire -c "$PD_TMP/probes.yaml" "$SIL"

say "probectl history post-detail: every result is in SQLite, with p50/p95 and the error rate"
"$PROBECTL_BIN" history post-detail --db "$DB" --since 10m | tail -n 12

say "probectl incidents: the incident the classifier declared, with its severity and outage mode"
"$PROBECTL_BIN" incidents --db "$DB"
RUNBOOK=$("$PYTHON" -c 'import json,sys
for l in open(sys.argv[1]):
    b = json.loads(l)["body"]
    if b.get("event") == "trigger" and b.get("runbook"):
        print(b["runbook"]); break' "$WEBHOOK_OUT")
curl -fsS -o "$PD_TMP/status.html" "http://127.0.0.1:$HTTP_PORT/" &&
	echo "status page: $(wc -c <"$PD_TMP/status.html") bytes of HTML served at http://127.0.0.1:$HTTP_PORT/ (and /api/status, /metrics)"

stop_pid "$PROBED_PID" 20
stop_pid "$TAIL_PID" 2
if grep -aqF "$TIKLIVE_TEST_KEY" "$PD_TMP"/probed.log "$DB"* "$WEBHOOK_OUT"; then
	echo "the API key leaked into the log, the database or a payload" >&2
	exit 1
fi
# an SLO over the same database (read by probectl only: probed ran without it, so nothing
# was paged for it): what the outage cost in error budget, and what would fire right now
cat >>"$PD_TMP/probes.yaml" <<'YAML'
slo:
  objectives:
    - family: post-detail
      availability: 99.9%
      over: 1d
    - family: userid
      availability: 99.9%
      over: 1d
YAML
say "probectl slo: the error budget the outage spent (SLO 99.9% over 1d), burn rate per window"
"$PROBECTL_BIN" slo -c "$PD_TMP/probes.yaml"
mkdir -p build
cp "$DB" build/demo.db
say "done: the API key appears in no log, database row or payload; everything is stopped"
cat <<EOF
What to try next:
  build/probectl incidents --db build/demo.db          the incident this demo declared
  build/probectl incident 1 --db build/demo.db         its timeline and drafted status-page messages
  build/probectl history post-detail --db build/demo.db --since 1h
  ${RUNBOOK:-runbooks/}
      the runbook the page linked (Detect, Declare, Communicate, Mitigate, RCA)
  README.md, "Monitor your own endpoint in 5 minutes": your own probes.yaml, the simulated
  API started by hand, a webhook receiver, the status page in a browser
EOF
