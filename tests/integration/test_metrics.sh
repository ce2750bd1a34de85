#!/usr/bin/env bash
# Issue 4, /metrics: probed's HTTP listener against the simulated API, scraped by a REAL
# Prometheus on loopback (bearer token from a credentials file, 1 s scrape interval).
#  - the exposition passes `promtool check metrics` (before and during an outage);
#  - blackbox_exporter's names arrive in Prometheus with probe/family/location labels;
#  - probe_success{probe="post-detail"} goes 0 when simapi's /post-detail/ answers 502,
#    while userid stays 1; probed_open_incidents counts the page;
#  - the listener: bearer token (401 without / with a wrong one, /healthz open), 405 for
#    POST, 404, HEAD, oversized headers refused, keep-alive;
#  - the canary API key and the bearer token appear in no output and no log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus)"
command -v prometheus >/dev/null || fail "prometheus missing (Debian package prometheus)"

KEY="canary-$RANDOM$RANDOM-do-not-leak"
TOKEN="tok-$RANDOM$RANDOM$RANDOM-metrics"
export TIKLIVE_TEST_KEY=$KEY
printf '%s\n' "$TOKEN" >"$PD_TMP/metrics-token"
start_simapi --key "$KEY"
start_receiver webhook
write_config "$PD_TMP/body.yaml" 2s 500ms
HTTP_PORT=$(free_port)
{
	printf 'location: test-eu\nhttp:\n  listen: 127.0.0.1:%s\n  bearer_token: ${file:%s}\n' \
		"$HTTP_PORT" "$PD_TMP/metrics-token"
	cat "$PD_TMP/body.yaml"
} >"$PD_TMP/probes.yaml"
start_probed "$PD_TMP/probes.yaml" -v
BASE="http://127.0.0.1:$HTTP_PORT"
AUTH="Authorization: Bearer $TOKEN"

code() { # URL [CURL ARGS...] -> HTTP status (000 when no answer)
	local url=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$url" || true
}
scrape() { # FILE
	curl -fsS --max-time 5 -H "$AUTH" -o "$1" "$BASE/metrics"
}
has_result_for_all() {
	pid_gone "$PROBED_PID" && fail "probed exited (see probed.log)"
	scrape "$PD_TMP/m.txt" || return 1
	for p in userid userinfo post-detail; do
		grep -q "^probe_success{probe=\"$p\",family=\"[^\"]*\",location=\"test-eu\"} 1$" "$PD_TMP/m.txt" || return 1
	done
}
check "listener up, every probe has probe_success 1" wait_for 20 has_result_for_all

# ---- the listener ---------------------------------------------------------------------
check "/healthz needs no token" [ "$(code "$BASE/healthz")" = 200 ]
check "/metrics without a token: 401" [ "$(code "$BASE/metrics")" = 401 ]
check "/metrics with a wrong token: 401" [ "$(code "$BASE/metrics" -H "Authorization: Bearer ${TOKEN}x")" = 401 ]
check "/metrics with a token prefix only: 401" [ "$(code "$BASE/metrics" -H "Authorization: Bearer ${TOKEN:0:8}")" = 401 ]
check "/ without a token: 401" [ "$(code "$BASE/")" = 401 ]
check "401 carries WWW-Authenticate: Bearer" sh -c "curl -s -D - -o /dev/null --max-time 5 '$BASE/metrics' | grep -qi '^WWW-Authenticate: Bearer'"
check "POST: 405" [ "$(code "$BASE/metrics" -H "$AUTH" -X POST -d x=1)" = 405 ]
check "DELETE: 405" [ "$(code "$BASE/metrics" -H "$AUTH" -X DELETE)" = 405 ]
check "unknown path: 404" [ "$(code "$BASE/nope" -H "$AUTH")" = 404 ]
check "HEAD /metrics: 200" [ "$(code "$BASE/metrics" -H "$AUTH" -I)" = 200 ]
big=$("$PYTHON" -c 'print("a"*100000)')
hcode=$(code "$BASE/metrics" -H "$AUTH" -H "X-Big: $big")
check "100 kB header refused (got $hcode)" [ "$hcode" != 200 ]
check "content type is the 0.0.4 text format" sh -c \
	"curl -s -D - -o /dev/null --max-time 5 -H '$AUTH' '$BASE/metrics' | grep -qi '^Content-Type: text/plain; version=0.0.4'"
check "keep-alive: two requests on one connection" sh -c \
	"curl -sv --max-time 5 -H '$AUTH' -o /dev/null -o /dev/null '$BASE/metrics' '$BASE/healthz' 2>&1 | grep -q 'Re-using existing connection'"

# ---- exposition -----------------------------------------------------------------------
scrape "$PD_TMP/m1.txt"
check "promtool check metrics passes" sh -c "promtool check metrics <'$PD_TMP/m1.txt' >'$PD_TMP/promtool1.log' 2>&1"
for m in probe_success probe_duration_seconds probe_http_status_code probe_http_duration_seconds \
	probed_consecutive_failures probed_probe_state probed_open_incidents probed_outbox_depth \
	probed_outbox_oldest_age_seconds probed_outbox_dead_letters probed_store_errors_total \
	probed_results_total probed_start_lateness_seconds probed_build_info probed_up; do
	check "exposes $m with HELP and TYPE" sh -c \
		"grep -q '^# HELP $m ' '$PD_TMP/m1.txt' && grep -q '^# TYPE $m ' '$PD_TMP/m1.txt'"
done
for ph in resolve connect tls processing transfer; do
	check "probe_http_duration_seconds phase=$ph" grep -q \
		"^probe_http_duration_seconds{probe=\"userid\",family=\"userid\",location=\"test-eu\",phase=\"$ph\"} " "$PD_TMP/m1.txt"
done
check "probe_http_status_code 200 for userid" grep -q \
	'^probe_http_status_code{probe="userid",family="userid",location="test-eu"} 200$' "$PD_TMP/m1.txt"
check "lateness histogram ends in +Inf with a count" sh -c \
	"grep -q '^probed_start_lateness_seconds_bucket{location=\"test-eu\",le=\"+Inf\"} [1-9]' '$PD_TMP/m1.txt' && grep -q '^probed_start_lateness_seconds_count{location=\"test-eu\"} [1-9]' '$PD_TMP/m1.txt'"

# ---- a real Prometheus ----------------------------------------------------------------
PROM_PORT=$(free_port)
mkdir -p "$PD_TMP/prom"
cat >"$PD_TMP/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: probed
    authorization:
      type: Bearer
      credentials_file: $PD_TMP/metrics-token
    static_configs:
      - targets: ["127.0.0.1:$HTTP_PORT"]
YAML
promtool check config "$PD_TMP/prometheus.yml" >"$PD_TMP/promtool-config.log" 2>&1 ||
	fail "promtool check config failed: $(cat "$PD_TMP/promtool-config.log")"
prometheus --config.file="$PD_TMP/prometheus.yml" --storage.tsdb.path="$PD_TMP/prom" \
	--web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn \
	>>"$PD_TMP/prometheus.log" 2>&1 &
PROM_PID=$!
pd_track "$PROM_PID"
check "prometheus ready" wait_for 30 curl -fsS --max-time 2 "http://127.0.0.1:$PROM_PORT/-/ready"

# prom EXPR PYCOND: the instant query's result list `res` satisfies PYCOND
prom() {
	"$PYTHON" - "$PROM_PORT" "$1" "$2" <<'PY'
import json, sys, urllib.parse, urllib.request
port, expr, cond = sys.argv[1:4]
url = "http://127.0.0.1:%s/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": expr}))
d = json.load(urllib.request.urlopen(url, timeout=5))
assert d["status"] == "success", d
res = d["data"]["result"]
ok = eval(cond, {}, {"res": res, "v": (lambda r: float(r["value"][1]))})
sys.exit(0 if ok else 1)
PY
}
check "prometheus scrapes probed: up{job=\"probed\"} == 1" wait_for 20 prom 'up{job="probed"}' \
	'len(res) == 1 and v(res[0]) == 1'
check "probe_success{probe=\"userid\"} == 1 with family and location labels" wait_for 20 \
	prom 'probe_success{probe="userid"}' \
	'len(res) == 1 and v(res[0]) == 1 and res[0]["metric"].get("family") == "userid" and res[0]["metric"].get("location") == "test-eu" and res[0]["metric"].get("job") == "probed"'
check "probe_http_duration_seconds has the five phases in prometheus" wait_for 10 \
	prom 'probe_http_duration_seconds{probe="userid"}' \
	'sorted(r["metric"]["phase"] for r in res) == ["connect", "processing", "resolve", "tls", "transfer"]'
check "post-detail is 1 before the outage" wait_for 10 prom 'probe_success{probe="post-detail"}' \
	'len(res) == 1 and v(res[0]) == 1'

# ---- outage on /post-detail/ ------------------------------------------------------------
sim_mode post-detail 502
check "probe_success{probe=\"post-detail\"} goes 0 in prometheus" wait_for 20 \
	prom 'probe_success{probe="post-detail"}' 'len(res) == 1 and v(res[0]) == 0'
check "probe_http_status_code 502 in prometheus" wait_for 10 \
	prom 'probe_http_status_code{probe="post-detail"}' 'len(res) == 1 and v(res[0]) == 502'
check "post-detail paged: probed_probe_state{state=\"down\"} == 1" wait_for 20 \
	prom 'probed_probe_state{probe="post-detail",state="down"}' 'len(res) == 1 and v(res[0]) == 1'
check "probed_open_incidents counts the page" wait_for 10 \
	prom 'sum(probed_open_incidents)' 'len(res) == 1 and v(res[0]) >= 1'
check "consecutive failures >= 2" wait_for 10 \
	prom 'probed_consecutive_failures{probe="post-detail"}' 'len(res) == 1 and v(res[0]) >= 2'
check "userid stays 1 meanwhile" prom 'probe_success{probe="userid"}' 'len(res) == 1 and v(res[0]) == 1'
check "lateness histogram arrives as a histogram" \
	prom 'histogram_quantile(0.5, rate(probed_start_lateness_seconds_bucket[1m]))' 'len(res) == 1'
scrape "$PD_TMP/m2.txt"
check "promtool check metrics passes during the outage" sh -c "promtool check metrics <'$PD_TMP/m2.txt' >'$PD_TMP/promtool2.log' 2>&1"
check "the exposition shows post-detail failing" grep -q \
	'^probe_success{probe="post-detail",family="post-detail",location="test-eu"} 0$' "$PD_TMP/m2.txt"

sim_mode post-detail ok
check "post-detail recovers to 1 in prometheus" wait_for 20 \
	prom 'probe_success{probe="post-detail"}' 'len(res) == 1 and v(res[0]) == 1'

# ---- SIGHUP rotates the token; the listener keeps running ----------------------------------
TOKEN2="tok-$RANDOM$RANDOM$RANDOM-rotated"
printf '%s\n' "$TOKEN2" >"$PD_TMP/metrics-token"
kill -HUP "$PROBED_PID"
new_token_works() {
	[ "$(code "$BASE/metrics" -H "Authorization: Bearer $TOKEN2")" = 200 ]
}
check "after SIGHUP the rotated token is accepted" wait_for 10 new_token_works
check "after SIGHUP the old token is refused" [ "$(code "$BASE/metrics" -H "$AUTH")" = 401 ]
AUTH="Authorization: Bearer $TOKEN2"

# ---- everything the test saw, searched for the secrets -----------------------------------
curl -fsS --max-time 5 -H "$AUTH" "$BASE/" >"$PD_TMP/page.html"
curl -fsS --max-time 5 -H "$AUTH" "$BASE/api/status" >"$PD_TMP/status.json"
curl -fsS --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query?query=%7Bjob%3D%22probed%22%7D" >"$PD_TMP/prom-all.json"
stop_pid "$PROM_PID" 10
stop_pid "$PROBED_PID" 20
check "probed exits 0 on SIGTERM with the listener running" [ "$STOP_RC" = 0 ]
leaks=$(grep -rlaF -e "$KEY" -e "$TOKEN" -e "$TOKEN2" "$PD_TMP"/m*.txt "$PD_TMP"/page.html "$PD_TMP"/status.json \
	"$PD_TMP"/prom-all.json "$PD_TMP"/probed.log "$PD_TMP"/probed.db* 2>/dev/null || true)
check "canary key and both bearer tokens in no scrape, page, log or database (${leaks:-none})" [ -z "$leaks" ]
check "the scrapes were really searched" sh -c "[ -s '$PD_TMP/m2.txt' ] && grep -q probe_success '$PD_TMP/prom-all.json'"
pd_finish
