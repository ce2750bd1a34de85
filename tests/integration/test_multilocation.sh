#!/usr/bin/env bash
# Several probe hosts, for real: two probed instances (locations eu-west-1 and
# us-east-1), each probing its own simulated API so one location's view can fail
# alone; a real Prometheus on loopback scraping both every second with
# packaging/prometheus/probed.rules.yml (only the `for:` durations shortened);
# a real Alertmanager with the route and inhibit rules of
# packaging/prometheus/alertmanager.yml, its receivers pointed at
# tools/receiver.py (/pager for severity=page, /chat for the rest).
#  - the shipped files pass promtool/amtool checks and the rule unit tests;
#  - /post-detail/ failing for eu-west-1 only: a single-location warning, no page;
#  - failing for both: exactly one page notification for post-detail, and the
#    single-location warning is inhibited;
#  - recovery: one resolved notification for that page.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

PROM_DIR=$PD_SRC/packaging/prometheus
PROMETHEUS_BIN=${PROMETHEUS_BIN:-prometheus}
PROMTOOL_BIN=${PROMTOOL_BIN:-promtool}
ALERTMANAGER_BIN=${ALERTMANAGER_BIN:-prometheus-alertmanager}
AMTOOL_BIN=${AMTOOL_BIN:-amtool}
for b in "$PROMETHEUS_BIN" "$PROMTOOL_BIN" "$ALERTMANAGER_BIN" "$AMTOOL_BIN"; do
	command -v "$b" >/dev/null ||
		fail "$b not found (Debian packages prometheus and prometheus-alertmanager; bash scripts/deps.sh --test)"
done

# ---- the shipped files ----------------------------------------------------------------
# quiet CMD...: run CMD with its output in $PD_TMP/tool.out, shown only when it fails.
quiet() {
	if "$@" >"$PD_TMP/tool.out" 2>&1; then
		return 0
	fi
	cat "$PD_TMP/tool.out" >&2
	return 1
}
check "promtool check rules probed.rules.yml" \
	quiet "$PROMTOOL_BIN" check rules "$PROM_DIR/probed.rules.yml"
rules_unit_tests() {
	(cd "$PROM_DIR" && "$PROMTOOL_BIN" test rules probed.rules.test.yml)
}
check "promtool test rules probed.rules.test.yml" quiet rules_unit_tests
check "promtool check config prometheus.yml" \
	quiet "$PROMTOOL_BIN" check config "$PROM_DIR/prometheus.yml"
check "amtool check-config alertmanager.yml" \
	quiet "$AMTOOL_BIN" check-config "$PROM_DIR/alertmanager.yml"
check "example route: severity=page goes to the pager" \
	quiet "$AMTOOL_BIN" config routes test --config.file="$PROM_DIR/alertmanager.yml" \
	--verify.receivers=pager alertname=ProbeDownQuorum severity=page probe=post-detail
check "example route: the single-location warning never goes to the pager" \
	quiet "$AMTOOL_BIN" config routes test --config.file="$PROM_DIR/alertmanager.yml" \
	--verify.receivers=chat alertname=ProbeDownSingleLocation severity=warning probe=post-detail
check "example route: a page is never sent to chat" \
	not quiet "$AMTOOL_BIN" config routes test --config.file="$PROM_DIR/alertmanager.yml" \
	--verify.receivers=chat alertname=ProbeDownQuorum severity=page probe=post-detail

# ---- helpers ----------------------------------------------------------------------------
# sim_mode_on PORT ENDPOINT MODE: switch one simulated API.
sim_mode_on() {
	curl -fsS --max-time 5 -o /dev/null -G \
		--data-urlencode "endpoint=$2" --data-urlencode "mode=$3" \
		"http://127.0.0.1:$1/_sim/mode"
}

# prom_value EXPR: the single value of an instant query ("" when empty, "many"
# when the result has several series).
prom_value() {
	curl -fsS --max-time 5 -G --data-urlencode "query=$1" \
		"http://127.0.0.1:$PROM_PORT/api/v1/query" |
		"$PYTHON" -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print("" if not r else (r[0]["value"][1] if len(r) == 1 else "many"))'
}

# prom_is EXPR VALUE: the query returns exactly one series with VALUE.
prom_is() {
	[ "$(prom_value "$1")" = "$2" ]
}

# am_alerts PYEXPR: how many alerts in Alertmanager's /api/v2/alerts (active,
# silenced and inhibited alike) satisfy PYEXPR over `a` (the alert), `l` (its labels)
# and `s` (its status).
am_alerts() {
	curl -fsS --max-time 5 "http://127.0.0.1:$AM_PORT/api/v2/alerts" >"$PD_TMP/am-alerts.json" ||
		return 1
	"$PYTHON" - "$PD_TMP/am-alerts.json" "$1" <<'PY'
import json, sys
alerts = json.load(open(sys.argv[1]))
print(sum(1 for a in alerts
          if eval(sys.argv[2], {}, {"a": a, "l": a["labels"], "s": a["status"]})))
PY
}
am_alerts_is() {
	[ "$(am_alerts "$2")" = "$1" ]
}
am_alerts_ge() {
	local n
	n=$(am_alerts "$2") || return 1
	[ "$n" -ge "$1" ]
}

# ---- two simulated APIs, the receiver ---------------------------------------------------
KEY="canary-$RANDOM$RANDOM-multilocation"
export TIKLIVE_TEST_KEY=$KEY
start_simapi --key "$KEY"
SIM_A_PORT=$SIM_PORT
SIM_A_URL=$SIM_URL
start_simapi --key "$KEY"
SIM_B_PORT=$SIM_PORT
SIM_B_URL=$SIM_URL
start_receiver hooks
HTTP_A_PORT=$(free_port)
HTTP_B_PORT=$(free_port)
PROM_PORT=$(free_port)
AM_PORT=$(free_port)
ports="$HTTP_A_PORT $HTTP_B_PORT $PROM_PORT $AM_PORT"
[ "$(printf '%s\n' $ports | sort -u | wc -l)" -eq 4 ] || fail "free_port gave duplicates: $ports"

# ---- two probed instances ---------------------------------------------------------------
# write_location FILE LOCATION SIM_URL HTTP_PORT DB
write_location() {
	cat >"$1" <<YAML
location: $2
http:
  listen: 127.0.0.1:$4
defaults:
  interval: 1s
  timeout: 2s
  failures_before_page: 2
  confirm_after: 200ms
  successes_before_resolve: 2
  headers:
    X-Api-Key: \${TIKLIVE_TEST_KEY}
store:
  path: $5
  retention: 1d
probes:
  - name: userid
    family: userid
    url: $3/userid/?username=tiktok
    expect:
      status: [200]
      json:
        type: object
        required: [id]
  - name: post-detail
    family: post-detail
    url: $3/post-detail/?url=https%3A%2F%2Fwww.tiktok.com%2F%40tiktok%2Fvideo%2F7106594312292453675
    expect:
      status: ["200-299"]
      json:
        type: object
        required: [play, hdplay, wmplay]
YAML
}
write_location "$PD_TMP/probes-a.yaml" eu-west-1 "$SIM_A_URL" "$HTTP_A_PORT" "$PD_TMP/probed-a.db"
write_location "$PD_TMP/probes-b.yaml" us-east-1 "$SIM_B_URL" "$HTTP_B_PORT" "$PD_TMP/probed-b.db"
"$PROBED_BIN" -c "$PD_TMP/probes-a.yaml" >>"$PD_TMP/probed-a.log" 2>&1 &
PROBED_A_PID=$!
pd_track "$PROBED_A_PID"
"$PROBED_BIN" -c "$PD_TMP/probes-b.yaml" >>"$PD_TMP/probed-b.log" 2>&1 &
PROBED_B_PID=$!
pd_track "$PROBED_B_PID"

# metrics_ok PORT LOCATION: /metrics answers with post-detail up at LOCATION.
metrics_ok() {
	curl -fsS --max-time 3 "http://127.0.0.1:$1/metrics" >"$PD_TMP/metrics-$2.txt" || return 1
	grep -E '^probe_success\{' "$PD_TMP/metrics-$2.txt" | grep 'probe="post-detail"' |
		grep "location=\"$2\"" | grep -Eq ' 1$'
}
check "probed eu-west-1 serves /metrics, post-detail up" wait_for 20 metrics_ok "$HTTP_A_PORT" eu-west-1
check "probed us-east-1 serves /metrics, post-detail up" wait_for 20 metrics_ok "$HTTP_B_PORT" us-east-1
pid_gone "$PROBED_A_PID" && fail "probed eu-west-1 exited"
pid_gone "$PROBED_B_PID" && fail "probed us-east-1 exited"

# ---- Alertmanager: the shipped route and inhibit rules, loopback receivers ----------------
# Everything above `receivers:` as shipped, waits shortened; then our receivers.
sed -e '/^receivers:/,$d' \
	-e 's/^\([[:space:]]*group_wait:\).*/\1 1s/' \
	-e 's/^\([[:space:]]*group_interval:\).*/\1 2s/' \
	"$PROM_DIR/alertmanager.yml" >"$PD_TMP/alertmanager.yml"
cat >>"$PD_TMP/alertmanager.yml" <<YAML
receivers:
  - name: pager
    webhook_configs:
      - url: http://127.0.0.1:$HOOKS_PORT/pager
        send_resolved: true
  - name: chat
    webhook_configs:
      - url: http://127.0.0.1:$HOOKS_PORT/chat
        send_resolved: true
YAML
check "test alertmanager.yml keeps the shipped inhibit rule" \
	grep -q 'target_matchers:.*ProbeDownSingleLocation' "$PD_TMP/alertmanager.yml"
quiet "$AMTOOL_BIN" check-config "$PD_TMP/alertmanager.yml" || fail "test alertmanager.yml is invalid"
mkdir -p "$PD_TMP/am-data"
"$ALERTMANAGER_BIN" --config.file="$PD_TMP/alertmanager.yml" \
	--storage.path="$PD_TMP/am-data" \
	--web.listen-address="127.0.0.1:$AM_PORT" \
	--cluster.listen-address= \
	--log.level=warn >>"$PD_TMP/alertmanager.log" 2>&1 &
AM_PID=$!
pd_track "$AM_PID"
check "alertmanager ready" wait_for 20 curl -fsS --max-time 2 "http://127.0.0.1:$AM_PORT/-/ready"

# ---- Prometheus: the shipped rules, `for:` shortened, scraping both every second ----------
# The probe alerts wait 3 s; the host alerts 30 s (they must not fire while the
# scrapes start up).
awk '
	/^[[:space:]]*- alert:/ { name = $3 }
	/^[[:space:]]*for:/ {
		sub(/for:.*/, (name ~ /^ProbeDown/) ? "for: 3s" : "for: 30s")
	}
	{ print }' "$PROM_DIR/probed.rules.yml" >"$PD_TMP/probed.rules.yml"
quorum_for_3s() {
	grep -A3 'alert: ProbeDownQuorum' "$PD_TMP/probed.rules.yml" | grep -q 'for: 3s'
}
check "test rules: ProbeDownQuorum waits 3 s" quorum_for_3s
cat >"$PD_TMP/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files:
  - $PD_TMP/probed.rules.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:$AM_PORT']
scrape_configs:
  - job_name: probed
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:$HTTP_A_PORT']
        labels:
          location: eu-west-1
      - targets: ['127.0.0.1:$HTTP_B_PORT']
        labels:
          location: us-east-1
YAML
quiet "$PROMTOOL_BIN" check config "$PD_TMP/prometheus.yml" || fail "test prometheus.yml is invalid"
mkdir -p "$PD_TMP/prom-data"
"$PROMETHEUS_BIN" --config.file="$PD_TMP/prometheus.yml" \
	--storage.tsdb.path="$PD_TMP/prom-data" \
	--web.listen-address="127.0.0.1:$PROM_PORT" \
	--log.level=warn >>"$PD_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
pd_track "$PROM_PID"
check "prometheus ready" wait_for 30 curl -fsS --max-time 2 "http://127.0.0.1:$PROM_PORT/-/ready"
check "both probe hosts scraped (count of up == 1 is 2)" \
	wait_for 20 prom_is 'count(up{job="probed"} == 1)' 2
check "post-detail reported by 2 locations" \
	wait_for 20 prom_is 'probe:locations:count{probe="post-detail"}' 2
check "post-detail down from 0 locations" \
	prom_is 'probe:locations_down:count{probe="post-detail"}' 0
check "each location keeps its own label" \
	prom_is 'count(count by (location) (probe_success{job="probed",probe="post-detail",location=~"eu-west-1|us-east-1"}))' 2

# ---- /post-detail/ fails for eu-west-1 only: warning, no page --------------------------------
PAGE_ANY='r["path"]=="/pager" and any(al.get("status")=="firing" for al in b.get("alerts",[]))'
sim_mode_on "$SIM_A_PORT" post-detail 502
check "prometheus: post-detail down from 1 location" \
	wait_for 20 prom_is 'probe:locations_down:count{probe="post-detail"}' 1
check "alertmanager: single-location warning for eu-west-1 is active" \
	wait_for 30 am_alerts_ge 1 \
	'l["alertname"]=="ProbeDownSingleLocation" and l["probe"]=="post-detail" and l["location"]=="eu-west-1" and s["state"]=="active"'
check "the warning reached the chat receiver" \
	wait_for 15 received_ge 1 "$HOOKS_OUT" \
	'r["path"]=="/chat" and b.get("status")=="firing" and b["commonLabels"].get("alertname")=="ProbeDownSingleLocation" and b["commonLabels"].get("location")=="eu-west-1"'
# Quorum's for: 3s, evaluation every 1 s, group_wait 1 s: 10 s more is several
# times what a page would need to get through.
sleep 10
check "prometheus: post-detail still down from exactly 1 location" \
	prom_is 'probe:locations_down:count{probe="post-detail"}' 1
check "prometheus: no ProbeDownQuorum, not even pending" \
	prom_is 'count(ALERTS{alertname="ProbeDownQuorum"})' ""
check "alertmanager: no severity=page alert at all" am_alerts_is 0 'l.get("severity")=="page"'
check "alertmanager: no warning for us-east-1" \
	am_alerts_is 0 'l["alertname"]=="ProbeDownSingleLocation" and l.get("location")=="us-east-1"'
check "receiver: no page notification" received_is 0 "$HOOKS_OUT" "$PAGE_ANY"

# ---- ... and for us-east-1 too: one page ------------------------------------------------------
PAGE_PD='r["path"]=="/pager" and b.get("status")=="firing" and b["groupLabels"].get("probe")=="post-detail"'
t0=${EPOCHREALTIME}
sim_mode_on "$SIM_B_PORT" post-detail 502
check "prometheus: post-detail down from 2 locations" \
	wait_for 20 prom_is 'probe:locations_down:count{probe="post-detail"}' 2
check "page notification for post-detail reaches the pager receiver" \
	wait_for 30 received_ge 1 "$HOOKS_OUT" "$PAGE_PD"
t1=${EPOCHREALTIME}
echo "page $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s after the second location failed" \
	"(probe interval 1 s, scrape 1 s, evaluation 1 s, for: 3 s, group_wait 1 s)"
check "the page is ProbeDownQuorum for post-detail with severity=page" \
	received_is 1 "$HOOKS_OUT" \
	"$PAGE_PD and [(al['labels']['alertname'], al['labels']['probe'], al['labels']['severity'], al['status']) for al in b['alerts']] == [('ProbeDownQuorum','post-detail','page','firing')]"
check "alertmanager: single-location warnings for post-detail are inhibited" \
	wait_for 10 am_alerts_is 0 \
	'l["alertname"]=="ProbeDownSingleLocation" and l["probe"]=="post-detail" and s["state"]!="suppressed"'
check "alertmanager: inhibited by the quorum alert" \
	am_alerts_ge 1 \
	'l["alertname"]=="ProbeDownSingleLocation" and l["probe"]=="post-detail" and len(s.get("inhibitedBy") or [])>=1'
sleep 6 # more evaluation cycles and Alertmanager group_intervals
check "exactly one page notification while the outage lasts" received_is 1 "$HOOKS_OUT" "$PAGE_PD"
check "no page for userid" received_is 0 "$HOOKS_OUT" \
	'r["path"]=="/pager" and b["groupLabels"].get("probe")=="userid"'
check "no page notification other than post-detail" received_is 1 "$HOOKS_OUT" "$PAGE_ANY"
check "alertmanager: exactly one page-severity alert" am_alerts_is 1 'l.get("severity")=="page"'

# ---- recovery: the page resolves once ---------------------------------------------------------
sim_mode_on "$SIM_A_PORT" post-detail ok
sim_mode_on "$SIM_B_PORT" post-detail ok
RESOLVED_PD='r["path"]=="/pager" and b.get("status")=="resolved" and b["groupLabels"].get("probe")=="post-detail"'
check "prometheus: post-detail down from 0 locations" \
	wait_for 20 prom_is 'probe:locations_down:count{probe="post-detail"}' 0
check "resolved notification for the page" wait_for 30 received_ge 1 "$HOOKS_OUT" "$RESOLVED_PD"
check "still exactly one firing page notification" received_is 1 "$HOOKS_OUT" "$PAGE_PD"

# ---- shut down ---------------------------------------------------------------------------------
stop_pid "$PROM_PID" 10
stop_pid "$AM_PID" 10
stop_pid "$PROBED_A_PID" 20
check "probed eu-west-1: SIGTERM exits 0" [ "$STOP_RC" = 0 ]
stop_pid "$PROBED_B_PID" 20
check "probed us-east-1: SIGTERM exits 0" [ "$STOP_RC" = 0 ]
leaks=$(grep -rlaF -- "$KEY" "$PD_TMP"/probed-?.log "$PD_TMP"/metrics-*.txt "$HOOKS_OUT" 2>/dev/null || true)
check "API key in no log, metrics or notification (${leaks:-none})" [ -z "$leaks" ]
pd_finish
