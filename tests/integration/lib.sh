# Helpers for probed's integration tests.  Source it from bash:
#
#   . "$(dirname "$0")/lib.sh"
#   pd_tmpdir
#   start_simapi --key canary
#   start_receiver pager --kind pagerduty   # -> PAGER_PORT PAGER_PID PAGER_OUT
#   sim_mode post-detail 502
#   wait_for 10 grep -q '"event":"trigger"' "$PAGER_OUT" || fail "no page"
#   check "resolve arrives" wait_for 10 grep -q resolve "$PAGER_OUT"
#   pd_finish                                # "N passed, M failed"; exit 1 on failure
#
# Everything started here is tracked and stopped by PID when the script exits;
# nothing is killed by name.  Safe under `set -eu`.

# ctest passes these; fall back to a ./build tree for manual runs.
PD_SRC=${PD_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PROBED_BIN=${PROBED_BIN:-$PD_SRC/build/probed}
PROBECTL_BIN=${PROBECTL_BIN:-$PD_SRC/build/probectl}
SIMAPI_BIN=${SIMAPI_BIN:-$PD_SRC/build/probed-simapi}
RECEIVER_PY=${RECEIVER_PY:-$PD_SRC/tools/receiver.py}
PYTHON=${PYTHON:-python3}
export PD_SRC PROBED_BIN PROBECTL_BIN SIMAPI_BIN RECEIVER_PY PYTHON

PD_TMP=${PD_TMP:-}
PD_PIDS=()
PD_PASS=0
PD_FAIL=0
STOP_RC=

# fail MSG...: print and exit 1 (the EXIT trap cleans up).
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

pd_cleanup() {
	local rc=$? pid f
	for pid in "${PD_PIDS[@]}"; do
		stop_pid "$pid" 3
	done
	if [ -n "$PD_TMP" ] && [ -d "$PD_TMP" ]; then
		if [ "$rc" -ne 0 ]; then
			for f in "$PD_TMP"/*.log; do
				[ -s "$f" ] || continue
				echo "---- tail of $(basename "$f")" >&2
				tail -n 30 "$f" >&2
			done
		fi
		if [ -n "${PD_KEEP_TMP:-}" ]; then
			echo "kept $PD_TMP" >&2
		else
			rm -rf "$PD_TMP"
		fi
	fi
	return "$rc"
}

# pd_tmpdir: make $PD_TMP and arrange cleanup of it and of every started PID.
pd_tmpdir() {
	if [ -n "$PD_TMP" ] && [ -d "$PD_TMP" ]; then
		return 0
	fi
	PD_TMP=$(mktemp -d "${TMPDIR:-/tmp}/probed-it.XXXXXX") ||
		fail "mktemp -d failed"
	export PD_TMP
	trap pd_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# pd_track PID: stop PID at exit.
pd_track() {
	PD_PIDS+=("$1")
}

pd_untrack() {
	local keep=() p
	for p in "${PD_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PD_PIDS=("${keep[@]}")
}

# pid_gone PID: true when PID no longer runs (a zombie counts as gone).
pid_gone() {
	[ -e "/proc/$1" ] || return 0
	grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# stop_pid PID [TIMEOUT_S=5]: SIGTERM, wait up to TIMEOUT_S, then SIGKILL.
# Sets STOP_RC to the exit status when PID is a child of this shell.
stop_pid() {
	local pid=$1 timeout=${2:-5} i
	STOP_RC=
	[ -n "$pid" ] || return 0
	pd_untrack "$pid"
	if ! pid_gone "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < timeout * 10; i++)); do
			pid_gone "$pid" && break
			sleep 0.1
		done
		if ! pid_gone "$pid"; then
			echo "stop_pid: $pid ignored SIGTERM for ${timeout}s, SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	STOP_RC=0
	wait "$pid" 2>/dev/null || STOP_RC=$?
	return 0
}

# wait_for TIMEOUT_S CMD...: run CMD every 0.1 s until it succeeds (0) or
# TIMEOUT_S (may be fractional) passes (1).  CMD's output is discarded.
wait_for() {
	local timeout=$1 now deadline
	shift
	deadline=$(awk -v t="$timeout" 'BEGIN { printf "%d", t * 1000000 }')
	now=${EPOCHREALTIME/./}
	deadline=$((now + deadline))
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		now=${EPOCHREALTIME/./}
		[ "$now" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# pd_wait_port_file FILE PID NAME: wait (10 s) for FILE, fail if PID dies.
pd_wait_port_file() {
	local file=$1 pid=$2 name=$3 i
	for ((i = 0; i < 100; i++)); do
		if [ -s "$file" ]; then
			cat "$file"
			return 0
		fi
		pid_gone "$pid" && fail "$name exited before listening"
		sleep 0.1
	done
	fail "$name did not write $file within 10 s"
}

# free_port: print a loopback TCP port that was free a moment ago.
free_port() {
	"$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_simapi [ARGS...]: start $SIMAPI_BIN on an ephemeral loopback port.
# Exports SIM_PORT, SIM_URL (http://127.0.0.1:PORT) and SIMAPI_PID.
start_simapi() {
	local pf
	pd_tmpdir
	[ -x "$SIMAPI_BIN" ] || fail "SIMAPI_BIN=$SIMAPI_BIN is not executable"
	pf=$(mktemp -u "$PD_TMP/simapi.port.XXXXXX")
	"$SIMAPI_BIN" --listen 127.0.0.1:0 --port-file "$pf" "$@" \
		>>"$PD_TMP/simapi.log" 2>&1 &
	SIMAPI_PID=$!
	pd_track "$SIMAPI_PID"
	SIM_PORT=$(pd_wait_port_file "$pf" "$SIMAPI_PID" probed-simapi) ||
		exit 1
	SIM_URL="http://127.0.0.1:$SIM_PORT"
	export SIM_PORT SIM_URL SIMAPI_PID
}

# sim_mode ENDPOINT MODE: switch a simulated endpoint ("*" = all) at run time.
sim_mode() {
	curl -fsS --max-time 5 -o /dev/null -G \
		--data-urlencode "endpoint=$1" --data-urlencode "mode=$2" \
		"http://127.0.0.1:$SIM_PORT/_sim/mode"
}

# start_receiver NAME [ARGS...]: start tools/receiver.py (ARGS e.g. --kind
# pagerduty, --status 500).  Exports <NAME>_PORT, <NAME>_PID, <NAME>_OUT with
# NAME upper-cased; the JSONL goes to $PD_TMP/NAME.jsonl and is kept across
# restarts of the same NAME.
start_receiver() {
	local name=$1 var pf pid port out
	shift
	pd_tmpdir
	var=$(printf '%s' "$name" | tr '[:lower:]' '[:upper:]' | tr -c 'A-Z0-9_' '_')
	out="$PD_TMP/$name.jsonl"
	pf=$(mktemp -u "$PD_TMP/$name.port.XXXXXX")
	"$PYTHON" "$RECEIVER_PY" --port-file "$pf" --out "$out" "$@" \
		>>"$PD_TMP/$name.log" 2>&1 &
	pid=$!
	pd_track "$pid"
	port=$(pd_wait_port_file "$pf" "$pid" "receiver $name") || exit 1
	printf -v "${var}_PORT" '%s' "$port"
	printf -v "${var}_PID" '%s' "$pid"
	printf -v "${var}_OUT" '%s' "$out"
	export "${var}_PORT" "${var}_PID" "${var}_OUT"
}

# start_tls_front DAYS: an HTTPS front of the simulated API on 127.0.0.1 (python3 ssl,
# forwarding path and X-Api-Key to $SIM_URL), with a certificate valid for DAYS days
# signed by a CA made now with openssl. Sets TLS_URL, TLS_CA (the CA's PEM, for ca_file),
# TLS_PID and TLS_NOT_AFTER (the certificate's notAfter, unix seconds).
start_tls_front() {
	local days=$1 d pf
	pd_tmpdir
	d=$PD_TMP/tls-front
	mkdir -p "$d"
	{
		openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" \
			-days 3650 -subj "/CN=probed demo CA" &&
		openssl req -newkey rsa:2048 -nodes -keyout "$d/api.key" -out "$d/api.csr" \
			-subj "/CN=localhost" &&
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$d/san.ext" &&
		openssl x509 -req -in "$d/api.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
			-CAcreateserial -days "$days" -extfile "$d/san.ext" -out "$d/api.pem"
	} >>"$d/openssl.log" 2>&1 || fail "openssl could not make the demo certificates ($d/openssl.log)"
	cat >"$d/front.py" <<'PY'
import http.server, os, ssl, sys, urllib.error, urllib.request
port_file, upstream, cert, key = sys.argv[1:5]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        req = urllib.request.Request(upstream + self.path)
        if self.headers.get("X-Api-Key"):
            req.add_header("X-Api-Key", self.headers["X-Api-Key"])
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY
	pf=$d/port
	"$PYTHON" "$d/front.py" "$pf" "$SIM_URL" "$d/api.pem" "$d/api.key" >>"$d/front.log" 2>&1 &
	TLS_PID=$!
	pd_track "$TLS_PID"
	TLS_URL=https://127.0.0.1:$(pd_wait_port_file "$pf" "$TLS_PID" "TLS front") || exit 1
	TLS_CA=$d/ca.pem
	TLS_NOT_AFTER=$(date -u -d "$(openssl x509 -noout -enddate -in "$d/api.pem" | cut -d= -f2)" +%s)
	export TLS_URL TLS_CA TLS_PID TLS_NOT_AFTER
}

# count_lines FILE PATTERN: number of lines of FILE matching the grep -E
# PATTERN (0 when FILE does not exist).
count_lines() {
	local n
	n=$(grep -E -c -- "$2" "$1" 2>/dev/null) || true
	echo "${n:-0}"
}

# check DESC CMD...: run CMD, count and print the result; never exits.
check() {
	local desc=$1
	shift
	if "$@"; then
		PD_PASS=$((PD_PASS + 1))
		echo "ok   $desc"
	else
		PD_FAIL=$((PD_FAIL + 1))
		echo "FAIL $desc" >&2
	fi
	return 0
}

# not CMD...: negate CMD, for use with check.
not() {
	! "$@"
}

# pd_finish: print "N passed, M failed" and exit 0 or 1.
pd_finish() {
	echo "$PD_PASS passed, $PD_FAIL failed"
	[ "$PD_FAIL" -eq 0 ] && [ "$PD_PASS" -gt 0 ] || exit 1
	exit 0
}

# received FILE PYEXPR: how many lines of a receiver's JSONL satisfy PYEXPR, where
# `r` is the record, `b` its parsed body (dict, or {} when not JSON) and only
# accepted deliveries (status 2xx) count.
received() {
	"$PYTHON" - "$1" "$2" <<'PY'
import json, sys
path, expr = sys.argv[1], sys.argv[2]
n = 0
try:
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if not (200 <= int(r.get("status", 200)) < 300):
                continue
            b = r.get("body") if isinstance(r.get("body"), dict) else {}
            if eval(expr, {}, {"r": r, "b": b}):
                n += 1
except FileNotFoundError:
    pass
print(n)
PY
}

# received_is N FILE PYEXPR: exactly N matching deliveries.
received_is() {
	[ "$(received "$2" "$3")" -eq "$1" ]
}

# received_ge N FILE PYEXPR: at least N matching deliveries.
received_ge() {
	[ "$(received "$2" "$3")" -ge "$1" ]
}

# write_config FILE [INTERVAL] [CONFIRM]: a config for the three core probes against
# the simulated API, notifying the WEBHOOK (and PAGER, when started) receivers.
write_config() {
	local file=$1 interval=${2:-2s} confirm=${3:-500ms}
	cat >"$file" <<YAML
defaults:
  interval: $interval
  timeout: 2s
  failures_before_page: 2
  confirm_after: $confirm
  successes_before_resolve: 2
  headers:
    X-Api-Key: \${TIKLIVE_TEST_KEY}
store:
  path: $PD_TMP/probed.db
  retention: 1d
probes:
  - name: userid
    family: userid
    url: $SIM_URL/userid/?username=tiktok
    expect:
      status: [200]
      max_latency: 1500ms
      json:
        type: object
        required: [id]
        properties: {id: {type: string, minLength: 1}}
  - name: userinfo
    family: userinfo-by-username
    url: $SIM_URL/userinfo-by-username/?username=tiktok
    expect:
      status: [200]
      json:
        type: object
        required: [user, stats]
        properties:
          user: {type: object, required: [id, uniqueId]}
          stats: {type: object, required: [followerCount]}
  - name: post-detail
    family: post-detail
    url: $SIM_URL/post-detail/?url=https%3A%2F%2Fwww.tiktok.com%2F%40tiktok%2Fvideo%2F7106594312292453675
    expect:
      status: ["200-299"]
      json:
        type: object
        required: [play, hdplay, wmplay]
        properties:
          play: {type: string, minLength: 1}
          hdplay: {type: string, minLength: 1}
          wmplay: {type: string, minLength: 1}
notify:
YAML
	if [ -n "${WEBHOOK_PORT:-}" ]; then
		printf '  - name: oncall-webhook\n    type: webhook\n    url: http://127.0.0.1:%s/hook\n    timeout: 2s\n' \
			"$WEBHOOK_PORT" >>"$file"
	fi
	if [ -n "${PAGER_PORT:-}" ]; then
		printf '%s\n' "$PD_PAGER_KEY" >"$PD_TMP/pagerduty-key"
		printf '  - name: pagerduty\n    type: pagerduty\n    url: http://127.0.0.1:%s/v2/enqueue\n    routing_key: ${file:%s}\n    timeout: 2s\n' \
			"$PAGER_PORT" "$PD_TMP/pagerduty-key" >>"$file"
	fi
}
PD_PAGER_KEY=${PD_PAGER_KEY:-R0UT1NGKEY0000000000000000000000}

# start_probed CONFIG [ARGS...]: start the daemon; exports PROBED_PID. Its log goes to
# $PD_TMP/probed.log (appended across restarts).
start_probed() {
	local cfg=$1
	shift
	"$PROBED_BIN" -c "$cfg" "$@" >>"$PD_TMP/probed.log" 2>&1 &
	PROBED_PID=$!
	pd_track "$PROBED_PID"
	export PROBED_PID
}

# probe_results DB NAME: rows stored for NAME (0 when the DB is not there yet).
probe_results() {
	"$PROBECTL_BIN" history "$2" --db "$1" --since 1d --json 2>/dev/null |
		"$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["count"])' 2>/dev/null || echo 0
}
