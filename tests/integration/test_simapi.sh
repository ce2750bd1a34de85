#!/bin/bash
# The simulated API and the test receivers, end to end over loopback with curl:
# every mode on every core endpoint, the API key, the control API, the
# protocol edges (keep-alive, Connection: close, 431), and the PagerDuty
# receiver's validation.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pd_tmpdir
command -v curl >/dev/null || fail "curl is required"

KEY=canary
start_simapi --key "$KEY"
BODY="$PD_TMP/body"
HDRS="$PD_TMP/headers"

# get PATH [CURL ARGS...]: request with the key; sets CODE, TIME, CURL_RC and
# leaves the body in $BODY and the response head in $HDRS.
get() {
	local path=$1 out
	shift
	: >"$BODY"
	: >"$HDRS"
	out=$(curl -sS --max-time 10 -o "$BODY" -D "$HDRS" \
		-w '%{http_code} %{time_total}' -H "X-Api-Key: $KEY" "$@" \
		"$SIM_URL$path" 2>/dev/null)
	CURL_RC=$?
	CODE=${out%% *}
	TIME=${out##* }
}

# json EXPR: EXPR (Python, d = parsed body) is true.
json() {
	"$PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$BODY" "$1" 2>/dev/null
}

not_json() {
	! "$PYTHON" -c 'import json, sys; json.load(open(sys.argv[1]))' \
		"$BODY" 2>/dev/null
}

code_is() { [ "$CODE" = "$1" ]; }
header_is() { grep -qi "^$1: $2"$'\r'"\$" "$HDRS"; }
body_size() { stat -c %s "$BODY"; }
time_at_least() { awk -v t="$TIME" -v m="$1" 'BEGIN { exit !(t >= m) }'; }
time_below() { awk -v t="$TIME" -v m="$1" 'BEGIN { exit !(t < m) }'; }

# Shape of a healthy answer per core endpoint, and of the "changed shape".
declare -A PATH_OF=(
	[userid]=/userid/
	[userinfo-by-username]="/userinfo-by-username/?username=tiktok"
	[post-detail]="/post-detail/?url=https://www.tiktok.com/@tiktok/video/7106594312292453675"
)
declare -A OK_SHAPE=(
	[userid]='d["id"] == "6881290705605477381"'
	[userinfo-by-username]='d["user"]["id"] != "" and d["user"]["uniqueId"] == "tiktok" and d["stats"]["followerCount"] > 0'
	[post-detail]='d["id"] != "" and all(d[k].startswith("https://") for k in ("play", "hdplay", "wmplay"))'
)
declare -A EMPTY_ID=(
	[userid]='d["id"] == ""'
	[userinfo-by-username]='d["user"]["id"] == "" and "stats" in d'
	[post-detail]='d["id"] == "" and d["play"] == ""'
)
declare -A NEW_SHAPE=(
	[userid]='"id" not in d and d["data"]["user_id"] != ""'
	[userinfo-by-username]='"user" not in d and d["userInfo"]["user"]["id"] != ""'
	[post-detail]='"play" not in d and d["video"]["play"] != ""'
)

for ep in userid userinfo-by-username post-detail; do
	p=${PATH_OF[$ep]}

	sim_mode "$ep" ok || fail "control API refused mode ok"
	get "$p"
	check "$ep ok: 200" code_is 200
	check "$ep ok: Content-Type json" header_is Content-Type application/json
	check "$ep ok: shape" json "${OK_SHAPE[$ep]}"
	check "$ep ok: Content-Length matches" header_is Content-Length "$(body_size)"

	for code in 500 502 503 401; do
		sim_mode "$ep" "$code"
		get "$p"
		check "$ep $code: status" code_is "$code"
		check "$ep $code: JSON error body" json '"error" in d'
	done

	sim_mode "$ep" 429
	get "$p"
	check "$ep 429: status" code_is 429
	check "$ep 429: Retry-After: 30" header_is Retry-After 30
	check "$ep 429: X-RateLimit-Remaining: 0" header_is X-RateLimit-Remaining 0

	sim_mode "$ep" hang
	get "$p" --max-time 1
	check "$ep hang: curl times out (rc 28)" [ "$CURL_RC" -eq 28 ]
	check "$ep hang: no status" code_is 000
	check "$ep hang: waited the full second" time_at_least 0.9

	sim_mode "$ep" slow:300
	get "$p"
	check "$ep slow:300: 200" code_is 200
	check "$ep slow:300: took >= 0.3 s" time_at_least 0.3
	check "$ep slow:300: body intact" json "${OK_SHAPE[$ep]}"

	sim_mode "$ep" empty-id
	get "$p"
	check "$ep empty-id: 200" code_is 200
	check "$ep empty-id: id is empty" json "${EMPTY_ID[$ep]}"
	check "$ep empty-id: fails the ok shape" not json "${OK_SHAPE[$ep]}"

	sim_mode "$ep" shape
	get "$p"
	check "$ep shape: 200" code_is 200
	check "$ep shape: changed shape" json "${NEW_SHAPE[$ep]}"

	sim_mode "$ep" invalid-json
	get "$p"
	check "$ep invalid-json: 200" code_is 200
	check "$ep invalid-json: body does not parse" not_json

	sim_mode "$ep" huge
	get "$p"
	check "$ep huge: 200" code_is 200
	check "$ep huge: body > 5 MiB" [ "$(body_size)" -gt $((5 * 1024 * 1024)) ]
	check "$ep huge: still valid JSON" json '"padding" in d'
	check "$ep huge: Content-Length matches" header_is Content-Length "$(body_size)"

	sim_mode "$ep" deep
	get "$p"
	check "$ep deep: 200" code_is 200
	check "$ep deep: 100000 nested [" "$PYTHON" -c 'import sys
b = open(sys.argv[1], "rb").read()
sys.exit(0 if b == b"[" * 100000 + b"]" * 100000 else 1)' "$BODY"

	sim_mode "$ep" empty
	get "$p"
	check "$ep empty: 200" code_is 200
	check "$ep empty: zero-length body" [ "$(body_size)" -eq 0 ]
	check "$ep empty: Content-Length: 0" header_is Content-Length 0

	# Back to ok at run time: the switch really takes effect.
	sim_mode "$ep" ok
	get "$p"
	check "$ep back to ok" json "${OK_SHAPE[$ep]}"
done

# One endpoint's mode leaves the others alone (the seed's partial outage).
sim_mode post-detail 502
get /userid/
check "userid stays 200 while post-detail is 502" code_is 200
get /post-detail/
check "post-detail is 502" code_is 502
sim_mode post-detail ok

# --- the API key --------------------------------------------------------
out=$(curl -sS -o "$BODY" -w '%{http_code}' "$SIM_URL/userid/")
check "no key: 401" [ "$out" = 401 ]
check "no key: invalid api key body" json 'd == {"error": "invalid api key"}'
out=$(curl -sS -o /dev/null -w '%{http_code}' -H "X-Api-Key: wrong" \
	"$SIM_URL/userid/")
check "wrong key: 401" [ "$out" = 401 ]
out=$(curl -sS -o /dev/null -w '%{http_code}' -H "x-api-key: $KEY" \
	"$SIM_URL/userid/")
check "header name is case-insensitive" [ "$out" = 200 ]
check "key is not logged" not grep -q "$KEY" "$PD_TMP/simapi.log"

# --- other resources ----------------------------------------------------
get /status/
check "status page 200" code_is 200
check "status page is HTML" grep -qi '<html' "$BODY"
get /
check "/ 200" code_is 200
get /user-posts/
check "user-posts 200 with videos" json 'len(d["videos"]) > 0 and d["videos"][0]["id"] != ""'
get /post-comments/
check "post-comments 200 with comments" json 'len(d["comments"]) > 0'
get /stats/archive/2024-05-01.json
check "stats archive 200" code_is 200
check "stats archive date and RFC 3339 generated_at" json \
	'd["date"] == "2024-05-01" and __import__("datetime").datetime.strptime(d["generated_at"], "%Y-%m-%dT%H:%M:%SZ") is not None'
sim_mode stats late
get /stats/archive/2024-05-01.json
check "stats late: 404" code_is 404
sim_mode stats ok
get /no/such/path
check "unknown path: 404" code_is 404
check "unknown path: JSON body" json '"error" in d'

# --- control API --------------------------------------------------------
sim_mode '*' 503
get /userinfo-by-username/
check '"*" sets every endpoint' code_is 503
check "/_sim/modes reflects it" sh -c \
	"curl -fsS '$SIM_URL/_sim/modes' | grep -q '\"post-detail\":\"503\"'"
out=$(curl -sS -o "$BODY" -w '%{http_code}' -X POST "$SIM_URL/_sim/reset")
check "POST /_sim/reset: 200" [ "$out" = 200 ]
get /userinfo-by-username/
check "reset -> ok" code_is 200
out=$(curl -sS -o /dev/null -w '%{http_code}' \
	"$SIM_URL/_sim/mode?endpoint=userid&mode=bogus")
check "unknown mode: 400" [ "$out" = 400 ]
out=$(curl -sS -o /dev/null -w '%{http_code}' \
	"$SIM_URL/_sim/mode?endpoint=nope&mode=ok")
check "unknown endpoint: 400" [ "$out" = 400 ]
out=$(curl -sS -o /dev/null -w '%{http_code}' -X POST \
	-d 'endpoint=userid&mode=slow%3A10' "$SIM_URL/_sim/mode")
check "POST form body sets a mode" [ "$out" = 200 ]
curl -sS -o "$BODY" "$SIM_URL/_sim/stats"
check "/_sim/stats counts per endpoint" json 'd["requests"]["userinfo-by-username"] == 1 and d["requests"]["userid"] == 0'

# --- protocol -----------------------------------------------------------
n=$(curl -sS -o /dev/null -o /dev/null -w '%{num_connects}\n' \
	-H "X-Api-Key: $KEY" "$SIM_URL/userid/" "$SIM_URL/post-detail/" | tr '\n' ' ')
check "HTTP/1.1 keep-alive reuses the connection ($n)" [ "$n" = "1 0 " ]
get /userid/ -H 'Connection: close'
check "Connection: close honoured" header_is Connection close
get /userid/ --http1.0
check "HTTP/1.0 answered and closed" header_is Connection close
get /userid/ -H "X-Junk: $(head -c 20000 /dev/zero | tr '\0' a)"
check "request head > 16 KiB: 431" code_is 431
get /userid/ -X DELETE
check "DELETE: 405" code_is 405

# hang must not stall anybody else: single-threaded server, event loop.
sim_mode post-detail hang
curl -s --max-time 3 -H "X-Api-Key: $KEY" -o /dev/null "$SIM_URL/post-detail/" &
hang_pid=$!
sleep 0.2
get /userid/
check "a hanging request does not block others" time_below 0.5
wait "$hang_pid" 2>/dev/null
sim_mode post-detail ok

# --- receivers ----------------------------------------------------------
start_receiver pager --kind pagerduty
valid='{"routing_key":"R0123456789abcdef0123456789abcd","event_action":"trigger","dedup_key":"probed/post-detail","payload":{"summary":"post-detail: HTTP 502","source":"probed","severity":"critical"}}'
invalid='{"routing_key":"R0123456789abcdef0123456789abcd","event_action":"trigger","dedup_key":"probed/post-detail","payload":{"summary":"x","severity":"fatal"}}'
PD_URL="http://127.0.0.1:$PAGER_PORT/v2/enqueue"
out=$(curl -sS -o "$BODY" -w '%{http_code}' -H 'Content-Type: application/json' \
	-d "$valid" "$PD_URL")
check "pagerduty: valid trigger -> 202" [ "$out" = 202 ]
check "pagerduty: success body echoes dedup_key" json \
	'd["status"] == "success" and d["dedup_key"] == "probed/post-detail"'
out=$(curl -sS -o "$BODY" -w '%{http_code}' -H 'Content-Type: application/json' \
	-d "$invalid" "$PD_URL")
check "pagerduty: invalid trigger -> 400" [ "$out" = 400 ]
check "pagerduty: names the bad fields" json \
	'd["status"] == "invalid event" and any("source" in e for e in d["errors"]) and any("severity" in e for e in d["errors"])'
out=$(curl -sS -o "$BODY" -w '%{http_code}' -H 'Content-Type: application/json' \
	-d '{"routing_key":"R","event_action":"resolve","dedup_key":"probed/post-detail"}' "$PD_URL")
check "pagerduty: resolve without payload -> 202" [ "$out" = 202 ]
check "receiver: one JSONL line per POST" [ "$(count_lines "$PAGER_OUT" '^\{')" -eq 3 ]
check "receiver: accepted lines marked 202" [ "$(count_lines "$PAGER_OUT" '"status":202')" -eq 2 ]
curl -sS -o "$BODY" "http://127.0.0.1:$PAGER_PORT/_received"
check "receiver: /_received returns parsed bodies" json \
	'len(d) == 3 and d[0]["body"]["payload"]["severity"] == "critical" and d[0]["headers"]["Content-Type"] == "application/json"'

start_receiver hook
out=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
	-H 'Authorization: Bearer s3cret' -d '{"event":"trigger"}' \
	"http://127.0.0.1:$HOOK_PORT/hook")
check "webhook receiver: 200" [ "$out" = 200 ]
check "webhook receiver: records the JSON body" wait_for 2 grep -q '"event":"trigger"' "$HOOK_OUT"
check "webhook receiver: does not record Authorization" not grep -q s3cret "$HOOK_OUT"

# --- shutdown -----------------------------------------------------------
stop_pid "$PAGER_PID"
check "receiver exits 0 on SIGTERM" [ "$STOP_RC" = 0 ]
stop_pid "$HOOK_PID"
stop_pid "$SIMAPI_PID"
check "simapi exits 0 on SIGTERM" [ "$STOP_RC" = 0 ]

pd_finish
