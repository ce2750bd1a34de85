#!/usr/bin/env bash
# bench/run.sh — the probed benchmark, one command:
#
#     bash bench/run.sh            # 30 s per measurement
#     bash bench/run.sh --quick    # 10 s per measurement
#
# What it does (everything on 127.0.0.1, everything it starts is stopped by PID):
#   1. installs what is missing (scripts/deps.sh; prometheus-blackbox-exporter with apt-get),
#      builds probed with scripts/build.sh and bench/floor.c + bench/driver.c with gcc -O2;
#   2. starts the simulated API (probed-simapi; its CPU is not counted);
#   3. for each case N@I (N probes every I s: 100@1, 1000@1, 5000@1, 10000@60; a new
#      connection per probe):
#        - the floor (bench/floor.c): same requests, same schedule, no checks;
#        - probed: status + latency + JSON Schema check + SQLite write per probe;
#        - blackbox_exporter: status + body regexp check, driven by bench/driver.c;
#      and measures probes/s, CPU s per 1,000 probes (utime+stime), peak RSS (VmHWM),
#      start lateness p50/p99/max (probed's results.lateness_us), write bytes per result;
#   4. readers: probed at 1000@1 on a database holding 24 h of history for its 1,000
#      probes, while /, /api/status and /metrics are fetched every second: their times
#      and the probes' start lateness meanwhile;
#   5. failure-to-page: /post-detail/ switched to 502, time until the webhook receiver
#      records the trigger (several trials);
#   6. writes bench/RESULTS.md.
#
# Environment overrides (for development; the defaults are the benchmark):
#   BENCH_CASES="100@1 1000@1 5000@1 10000@60"  N@INTERVAL_S cases
#   BENCH_DURATION=30          seconds per measurement at a 1 s interval (longer intervals
#                              run 2 intervals, 1 with --quick)
#   BENCH_READERS=1            run the readers phase (0: skip it)
#   BENCH_TRIALS=3             failure-to-page trials
#   BENCH_OUT=bench/RESULTS.md where to write     BENCH_KEEP=1        keep the work directory
#   PROBED_BIN, SIMAPI_BIN     use these binaries instead of building with scripts/build.sh
#   BENCH_QUIET_WAIT=60        times 5 s to wait for the rest of the machine to go quiet
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

usage() {
	sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'
}

QUICK=0
for a in "$@"; do
	case "$a" in
	--quick) QUICK=1 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "bench: unknown argument: $a" >&2; usage >&2; exit 64 ;;
	esac
done
CMDLINE="bash bench/run.sh${1:+ $*}"

if [ "$QUICK" = 1 ]; then DEF_DUR=10; else DEF_DUR=30; fi
DUR=${BENCH_DURATION:-$DEF_DUR}
read -r -a CASES <<<"${BENCH_CASES:-100@1 1000@1 5000@1 10000@60}"
TRIALS=${BENCH_TRIALS:-3}
OUT=${BENCH_OUT:-bench/RESULTS.md}
MAX_INFLIGHT_DRIVER=$(awk '$1 == "#define" && $2 == "MAX_INFLIGHT" { print $3 }' bench/driver.c)
TIMEOUT_MS=5000
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ------------------------------------------------------------------ processes
WORK=$(mktemp -d /tmp/probed-bench.XXXXXX)
PIDS=()

stop_pid() {	# stop_pid PID [SIGNAL]: signal, wait up to 15 s, then SIGKILL
	local pid=$1 sig=${2:-TERM} i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -"$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid did not stop after SIG$sig in 15 s; SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

untrack() {	# untrack PID: it was stopped and reaped; never signal it again
	local p keep=()
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		stop_pid "$pid"
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		log "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_file() {	# wait_file FILE SECONDS: until FILE is non-empty
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

cpu_ticks() {	# utime+stime of PID in clock ticks (fields 14, 15 of /proc/PID/stat)
	local stat rest f
	stat=$(cat "/proc/$1/stat")
	rest=${stat##*) }
	read -r -a f <<<"$rest"
	echo $((f[11] + f[12]))
}

vm_kb() {	# vm_kb PID FIELD: VmHWM / VmRSS from /proc/PID/status, in kB
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

now_ms() { date +%s%3N; }

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

kv() {	# kv "k1=v1 k2=v2" KEY
	local x
	for x in $1; do
		[ "${x%%=*}" = "$2" ] && { echo "${x#*=}"; return 0; }
	done
	echo ""
}

calc() {	# calc 'awk expression' — prints n/a on division by zero
	awk "BEGIN { x = ($1); printf \"%s\", x }" 2>/dev/null || echo "n/a"
}

fmt() {	# fmt PRINTF-FORMAT VALUE ("n/a" stays)
	case "$2" in
	""|n/a|nan|inf|-nan) echo "n/a" ;;
	*) awk -v v="$2" "BEGIN { printf \"$1\", v }" ;;
	esac
}

# ------------------------------------------------------------------ setup
log "work directory $WORK; $DUR s per measurement; cases ${CASES[*]}"

if [ -z "${PROBED_BIN:-}" ]; then
	bash scripts/deps.sh >&2
fi
for tool in sqlite3 python3 curl gcc; do
	command -v "$tool" >/dev/null || die "$tool is missing"
done

if ! command -v prometheus-blackbox-exporter >/dev/null; then
	log "installing prometheus-blackbox-exporter (benchmark only)"
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get install -y -qq --no-install-recommends prometheus-blackbox-exporter >&2 ||
		{ $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends \
			prometheus-blackbox-exporter >&2; } ||
		log "could not install prometheus-blackbox-exporter; its column will be empty"
fi
BLACKBOX=$(command -v prometheus-blackbox-exporter || true)

BUILD_NOTE="scripts/build.sh build (CMake RelWithDebInfo: -O2 -g)"
if [ -z "${PROBED_BIN:-}" ]; then
	log "building probed: bash scripts/build.sh build"
	if ! bash scripts/build.sh build >&2; then
		log "full build failed; building without the test suites into build/bench-notests"
		bash scripts/build.sh build/bench-notests -DPROBED_TESTS=OFF >&2 ||
			die "probed does not build"
		PROBED_BIN=build/bench-notests/probed
		SIMAPI_BIN=build/bench-notests/probed-simapi
		BUILD_NOTE="scripts/build.sh build/bench-notests -DPROBED_TESTS=OFF (the full build failed)"
	else
		PROBED_BIN=build/probed
		SIMAPI_BIN=build/probed-simapi
	fi
else
	BUILD_NOTE="prebuilt binaries: PROBED_BIN=$PROBED_BIN SIMAPI_BIN=${SIMAPI_BIN:-}"
fi
[ -x "$PROBED_BIN" ] || die "no probed binary at $PROBED_BIN"
[ -x "${SIMAPI_BIN:-}" ] || die "no probed-simapi binary at ${SIMAPI_BIN:-}"
PROBED_SRC_BIN=$PROBED_BIN
# run private copies: the whole benchmark uses one build even if build/ is rebuilt meanwhile
cp "$PROBED_BIN" "$WORK/probed"
cp "$SIMAPI_BIN" "$WORK/probed-simapi"
PROBED_BIN=$WORK/probed
SIMAPI_BIN=$WORK/probed-simapi
"$PROBED_BIN" --version >/dev/null 2>&1 || die "$PROBED_BIN does not run"

CURL_FLAGS=$(pkg-config --cflags --libs libcurl 2>/dev/null || echo -lcurl)
# shellcheck disable=SC2086
gcc -std=gnu17 -O2 -Wall -Wextra -D_GNU_SOURCE bench/floor.c $CURL_FLAGS -o "$WORK/floor"
# shellcheck disable=SC2086
gcc -std=gnu17 -O2 -Wall -Wextra -D_GNU_SOURCE bench/driver.c $CURL_FLAGS -o "$WORK/driver"
FILL_LIB=$(dirname "$PROBED_SRC_BIN")/libprobecore.a
if [ -f "$FILL_LIB" ]; then
	# shellcheck disable=SC2046
	gcc -std=gnu17 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude bench/fill.c "$FILL_LIB" \
		$(pkg-config --cflags --libs libcjson sqlite3) -lm -o "$WORK/fill"
elif [ "${BENCH_READERS:-1}" = 1 ]; then
	log "no $FILL_LIB next to the probed binary: the readers phase is skipped"
	BENCH_READERS=0
fi

KEY="bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')"
export BENCH_KEY="$KEY"

"$SIMAPI_BIN" --listen 127.0.0.1:0 --port-file "$WORK/simapi.port" --key "$KEY" --quiet \
	2>"$WORK/simapi.log" &
SIMAPI_PID=$!
PIDS+=("$SIMAPI_PID")
wait_file "$WORK/simapi.port" 10 || die "probed-simapi did not start (see $WORK/simapi.log)"
SP=$(cat "$WORK/simapi.port")
curl -fsS -o /dev/null -H "X-Api-Key: $KEY" "http://127.0.0.1:$SP/userid/?n=0" ||
	die "probed-simapi does not answer on 127.0.0.1:$SP"
log "probed-simapi pid $SIMAPI_PID on 127.0.0.1:$SP"

cat >"$WORK/blackbox.yml" <<EOF
modules:
  bench:
    prober: http
    timeout: 5s
    http:
      method: GET
      valid_status_codes: [200]
      preferred_ip_protocol: ip4
      headers:
        X-Api-Key: "$KEY"
      fail_if_body_not_matches_regexp:
        - '"id"'
EOF

simapi_ticks() { cpu_ticks "$SIMAPI_PID"; }
# busy CPU of the whole machine in clock ticks (user nice system irq softirq steal of /proc/stat):
# with the contender's and the simulated API's own CPU subtracted, what is left is everything
# else that ran meanwhile, which a benchmark on a shared machine must show
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# A benchmark needs the machine to itself: wait (bounded) until the rest of the machine has
# used less than 15% of one CPU over 5 s, and record what it used; each phase also reports
# the CPU everything else used meanwhile.
other_busy() {	# % of one CPU the whole machine used over 5 s
	local a b
	a=$(machine_ticks)
	sleep 5
	b=$(machine_ticks)
	calc "($b - $a) / $CLK_TCK / 5 * 100"
}
BUSY_START=$(other_busy)
for ((i = 0; i < ${BENCH_QUIET_WAIT:-60} && $(calc "$BUSY_START >= 15"); i++)); do
	[ "$i" = 0 ] && log "other processes use $(fmt '%.0f' "$BUSY_START")% of a CPU: waiting up to $((${BENCH_QUIET_WAIT:-60} * 5 / 60)) min for a quieter machine"
	BUSY_START=$(other_busy)
done
[ "$(calc "$BUSY_START < 15")" = 1 ] ||
	log "other processes still use $(fmt '%.0f' "$BUSY_START")% of a CPU; running anyway (see the per-phase figures)"

# ------------------------------------------------------------------ per-case configs
case_n() { echo "${1%@*}"; }
case_iv() { echo "${1#*@}"; }
case_dur() {	# seconds a case runs: DUR at 1 s; 2 intervals (1 with --quick) when longer
	local iv
	iv=$(case_iv "$1")
	if [ "$iv" -le 1 ]; then
		echo "$DUR"
	elif [ "$QUICK" = 1 ]; then
		echo $((iv > DUR ? iv : DUR))
	else
		echo $((2 * iv > DUR ? 2 * iv : DUR))
	fi
}

write_probed_config() {	# write_probed_config N FILE DB INTERVAL_S [LISTEN_PORT]
	local n=$1 i
	{
		printf 'defaults:\n'
		printf '  interval: %ss\n  timeout: 5s\n  confirm_after: 500ms\n' "$4"
		printf '  failures_before_page: 2\n  successes_before_resolve: 2\n'
		printf '  headers: {X-Api-Key: "${BENCH_KEY}"}\n'
		printf 'store: {path: %s, retention: 1d}\n' "$3"
		[ -n "${5:-}" ] && printf 'http: {listen: "127.0.0.1:%s"}\n' "$5"
		printf 'probes:\n'
		for ((i = 1; i <= n; i++)); do
			printf '  - name: p%05d\n    family: userid\n' "$i"
			printf '    url: http://127.0.0.1:%s/userid/?n=%d\n' "$SP" "$i"
			printf '    expect: {status: [200], max_latency: 2s, json: {type: object, required: [id], properties: {id: {type: string, minLength: 1}}}}\n'
		done
		printf 'notify:\n'
		printf '  - {name: bench-hook, type: webhook, url: "http://127.0.0.1:%s/hook"}\n' "$RP"
	} >"$2"
}

# A receiver for the webhook in every probed run (the load runs must not page; the
# failure-to-page run must).
python3 tools/receiver.py --listen 127.0.0.1:0 --port-file "$WORK/recv.port" \
	--out "$WORK/recv.jsonl" 2>"$WORK/recv.log" &
RECV_PID=$!
PIDS+=("$RECV_PID")
wait_file "$WORK/recv.port" 10 || die "tools/receiver.py did not start (see $WORK/recv.log)"
RP=$(cat "$WORK/recv.port")

declare -A R	# results: R[N.key]

run_floor() {
	local c=$1 n iv dur out s0 s1
	n=$(case_n "$c")
	iv=$(case_iv "$c")
	dur=$(case_dur "$c")
	log "$c floor: $dur s"
	local m0 m1 t0 t1
	m0=$(machine_ticks)
	t0=$(now_ms)
	s0=$(simapi_ticks)
	out=$("$WORK/floor" -f "$WORK/targets-$n.txt" -i "$((iv * 1000))" -d "$dur" -t "$TIMEOUT_MS" \
		-H "X-Api-Key: $KEY")
	s1=$(simapi_ticks)
	t1=$(now_ms)
	m1=$(machine_ticks)
	log "$c floor: $out"
	R[$c.floor_done]=$(kv "$out" completed)
	R[$c.floor_ok]=$(kv "$out" ok)
	R[$c.floor_err]=$(kv "$out" errors)
	R[$c.floor_cpu]=$(calc "$(kv "$out" utime) + $(kv "$out" stime)")
	R[$c.floor_rss]=$(kv "$out" maxrss_kb)
	R[$c.floor_simapi]=$(calc "($s1 - $s0) / $CLK_TCK / $dur * 100")
	R[$c.floor_other]=$(calc "(($m1 - $m0) - ($s1 - $s0) - ${R[$c.floor_cpu]} * $CLK_TCK) / $CLK_TCK / (($t1 - $t0) / 1000) * 100")
}

fetch_stats() {	# fetch_stats CASE FILE: count / median / p95 / max ms per path, and failures
	local out
	out=$(python3 - "$2" <<'EOF'
import sys, statistics
t = {}
bad = 0
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) != 3:
        continue
    if f[2] != "200" or f[1] == "fail":
        bad += 1
        continue
    t.setdefault(f[0], []).append(float(f[1]) * 1000)
def q(v, p):
    v = sorted(v)
    return v[max(0, min(len(v) - 1, int(-(-p * len(v) // 1)) - 1))]
for path in ("/", "/api/status", "/metrics"):
    key = path.strip("/").replace("/", "_") or "page"
    v = t.get(path, [])
    if v:
        print("%s=%d:%.1f:%.1f:%.1f" % (key, len(v), statistics.median(v), q(v, 0.95), max(v)), end=" ")
    else:
        print("%s=0:n/a:n/a:n/a" % key, end=" ")
print("bad=%d" % bad)
EOF
)
	R[$1.f_page]=$(kv "$out" page)
	R[$1.f_api]=$(kv "$out" api_status)
	R[$1.f_metrics]=$(kv "$out" metrics)
	R[$1.f_bad]=$(kv "$out" bad)
}

# 24 h of history for N probes (one result a minute each, with their aggregates) written
# through the store's own API, so the status page has a day to draw
prefill_history() {	# prefill_history N DB
	log "prefill: 24 h of history for $1 probes into $2"
	local t0
	t0=$(now_ms)
	"$WORK/fill" "$2" "$1" 86400 60 >&2 || die "prefill failed"
	R[prefill_s]=$(calc "($(now_ms) - $t0) / 1000")
	R[prefill_rows]=$(sqlite3 -readonly "$2" "SELECT count(*) FROM results")
}

# Config load at start and a SIGHUP of N unchanged probes, from probed's own log
run_reload() {	# run_reload N
	local n=$1 cfg db plog pid t0 i out
	cfg="$WORK/reload-$n.yaml"
	db="$WORK/reload-$n.db"
	plog="$WORK/reload-$n.log"
	write_probed_config "$n" "$cfg" "$db" 60
	log "reload: N=$n"
	t0=$(now_ms)
	"$PROBED_BIN" -c "$cfg" --db "$db" 2>"$plog" &
	pid=$!
	PIDS+=("$pid")
	for ((i = 0; i < 300; i++)); do
		grep -q ' started (pid' "$plog" && break
		sleep 0.1
	done
	sleep 2
	kill -HUP "$pid"
	for ((i = 0; i < 300; i++)); do
		grep -q ' applied: ' "$plog" && break
		sleep 0.1
	done
	R[reload_hwm]=$(vm_kb "$pid" VmHWM)
	stop_pid "$pid"
	untrack "$pid"
	R[reload_n]=$n
	out=$(python3 - "$plog" "$t0" <<'EOF'
import sys, datetime
def ms(line):
    ts = line.split()[0].rstrip("Z")
    d = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
    return d.timestamp() * 1000
start = hup = None
for line in open(sys.argv[1]):
    if " started (pid" in line and start is None:
        start = ms(line)
    elif "SIGHUP: reloading" in line:
        hup = ms(line)
    elif " applied: " in line and hup is not None and start is not None:
        print("%.0f %.0f" % (start - float(sys.argv[2]), ms(line) - hup))
        break
else:
    print("n/a n/a")
EOF
)
	read -r R[reload_start_ms] R[reload_ms] <<<"$out"
	R[reload_what]=$(grep -m1 ' applied: ' "$plog" | sed 's/.* applied: //')
	log "reload: start ${R[reload_start_ms]} ms, SIGHUP ${R[reload_ms]} ms (${R[reload_what]})"
}

fetch_loop() {	# fetch_loop PORT END_MS OUT: /, /api/status, /metrics about once a second
	local path i
	# from the moment the listener answers (probed opens it after loading the config)
	for ((i = 0; i < 200; i++)); do
		curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$1/healthz" 2>/dev/null && break
		sleep 0.05
	done
	while [ "$(now_ms)" -lt "$2" ]; do
		for path in / /api/status /metrics; do
			curl -s -o /dev/null --max-time 10 -w "$path %{time_total} %{http_code}\n" \
				"http://127.0.0.1:$1$path" >>"$3" || echo "$path fail 000" >>"$3"
		done
		sleep 1
	done
}

run_probed() {	# run_probed CASE [readers]
	local c=$1 readers=${2:-} n iv dur tag
	n=$(case_n "$c")
	iv=$(case_iv "$c")
	dur=$(case_dur "$c")
	tag=${c/@/-}${readers:+-readers}
	[ -n "$readers" ] && c="$c+readers"
	local cfg="$WORK/probed-$tag.yaml" db="$WORK/probed-$tag.db" plog="$WORK/probed-$tag.log"
	local pid t_start t_stop ticks hwm rss rc=0 i s0 s1 end hp="" fpid="" ticks5="" t5=""
	[ -n "$readers" ] && hp=$(free_port)
	write_probed_config "$n" "$cfg" "$db" "$iv" "$hp"
	if [ -n "$readers" ]; then
		prefill_history "$n" "$db"
	fi
	log "$c probed: $dur s"
	local m0 m1
	m0=$(machine_ticks)
	s0=$(simapi_ticks)
	t_start=$(now_ms)
	"$PROBED_BIN" -c "$cfg" --db "$db" 2>"$plog" &
	pid=$!
	PIDS+=("$pid")
	end=$((t_start + dur * 1000))
	if [ -n "$readers" ]; then
		: >"$WORK/fetch-$tag.txt"
		fetch_loop "$hp" "$end" "$WORK/fetch-$tag.txt" &
		fpid=$!
		PIDS+=("$fpid")
	fi
	for ((i = 0; i < dur * 10 + 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		[ "$(now_ms)" -ge "$end" ] && break
		if [ -z "$ticks5" ] && [ "$(now_ms)" -ge $((t_start + 5000)) ]; then
			ticks5=$(cpu_ticks "$pid")
			t5=$(now_ms)
		fi
		sleep 0.1
	done
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" || rc=$?
		tail -n 20 "$plog" >&2
		die "probed exited early (status $rc) with N=$n; log: $plog"
	fi
	ticks=$(cpu_ticks "$pid")
	if [ -n "$fpid" ]; then
		stop_pid "$fpid"
		untrack "$fpid"
	fi
	R[$c.p_wbytes]=$(awk '$1 == "write_bytes:" { print $2 }' "/proc/$pid/io")
	hwm=$(vm_kb "$pid" VmHWM)
	rss=$(vm_kb "$pid" VmRSS)
	t_stop=$(now_ms)
	s1=$(simapi_ticks)
	m1=$(machine_ticks)
	kill -TERM "$pid"
	local t_term
	t_term=$(now_ms)
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "probed (N=$n) still running 30 s after SIGTERM; SIGKILL"
		kill -KILL "$pid"
	fi
	wait "$pid" || rc=$?
	untrack "$pid"
	R[$c.p_exit]=$rc
	R[$c.p_drain_ms]=$(($(now_ms) - t_term))
	R[$c.p_wall]=$(calc "($t_stop - $t_start) / 1000")
	R[$c.p_cpu]=$(calc "$ticks / $CLK_TCK")
	# after start-up (config load, schema compile, first connections): from +5 s on
	R[$c.p_steady_core]=$(calc "($ticks - ${ticks5:-0}) / $CLK_TCK / (($t_stop - ${t5:-$t_start}) / 1000) * 100")
	R[$c.p_startup_cpu]=$(calc "${ticks5:-0} / $CLK_TCK")
	R[$c.p_dur]=$dur
	R[$c.p_hwm]=$hwm
	R[$c.p_rss]=$rss
	R[$c.p_simapi]=$(calc "($s1 - $s0) / $CLK_TCK / ${R[$c.p_wall]} * 100")
	R[$c.p_other]=$(calc "(($m1 - $m0) - ($s1 - $s0) - $ticks) / $CLK_TCK / ${R[$c.p_wall]} * 100")

	# results written while we measured (the drain may add the last in-flight ones)
	R[$c.p_rows]=$(sqlite3 -readonly "$db" "SELECT count(*) FROM results WHERE ts_ms >= $t_start AND ts_ms < $t_stop")
	R[$c.p_rows_all]=$(sqlite3 -readonly "$db" "SELECT count(*) FROM results WHERE ts_ms >= $t_start")
	R[$c.p_ok]=$(sqlite3 -readonly "$db" "SELECT count(*) FROM results WHERE outcome = 0 AND ts_ms >= $t_start AND ts_ms < $t_stop")
	R[$c.p_outcomes]=$(sqlite3 -readonly "$db" \
		"SELECT group_concat(outcome || ':' || c, ' ') FROM (SELECT outcome, count(*) c FROM results WHERE ts_ms >= $t_start GROUP BY outcome)")
	R[$c.p_probes_seen]=$(sqlite3 -readonly "$db" "SELECT count(DISTINCT probe_id) FROM results WHERE ts_ms >= $t_start")
	# steady state: results started between start+3 s and stop-1 s, per second
	local w0=$((t_start + 3000)) w1=$((t_stop - 1000))
	R[$c.p_steady_rate]=$(calc "$(sqlite3 -readonly "$db" \
		"SELECT count(*) FROM results WHERE ts_ms >= $w0 AND ts_ms < $w1") / (($w1 - $w0) / 1000)")
	# missed starts: a gap of more than 1.5 intervals between two runs of the same probe
	R[$c.p_missed]=$(sqlite3 -readonly "$db" "SELECT count(*) FROM (SELECT ts_ms - lag(ts_ms) OVER (PARTITION BY probe_id ORDER BY ts_ms) AS gap FROM results WHERE ts_ms >= $t_start) WHERE gap > $((iv * 1500))")
	local lat
	lat=$(sqlite3 -readonly "$db" "SELECT lateness_us FROM results WHERE ts_ms >= $t_start" | python3 -c '
import sys
v = sorted(int(x) for x in sys.stdin if x.strip())
def p(q):
    if not v:
        return "n/a"
    i = max(0, min(len(v) - 1, int(-(-q * len(v) // 1)) - 1))
    return "%.3f" % (v[i] / 1000.0)
print(p(0.50), p(0.99), p(0.999), ("%.3f" % (v[-1] / 1000.0)) if v else "n/a", len(v))')
	read -r R[$c.p_lat50] R[$c.p_lat99] R[$c.p_lat999] R[$c.p_latmax] _ <<<"$lat"
	lat=$(sqlite3 -readonly "$db" "SELECT lateness_us FROM results WHERE ts_ms >= $w0" | python3 -c '
import sys
v = sorted(int(x) for x in sys.stdin if x.strip())
def p(q):
    if not v:
        return "n/a"
    i = max(0, min(len(v) - 1, int(-(-q * len(v) // 1)) - 1))
    return "%.3f" % (v[i] / 1000.0)
print(p(0.50), p(0.99))')
	read -r R[$c.p_slat50] R[$c.p_slat99] <<<"$lat"
	# the worst one-second window by maximum lateness (seconds since start) and the first
	# second of the run (start-up)
	local worst wstart
	worst=$(sqlite3 -separator ' ' -readonly "$db" "SELECT min(ts_ms) - $t_start, avg(lateness_us) / 1000.0, max(lateness_us) / 1000.0 FROM results WHERE ts_ms >= $t_start GROUP BY ts_ms / 1000 ORDER BY max(lateness_us) DESC LIMIT 1")
	R[$c.p_first]=$(sqlite3 -separator ' ' -readonly "$db" "SELECT printf('%.2f / %.2f', avg(lateness_us) / 1000.0, max(lateness_us) / 1000.0) FROM results WHERE ts_ms >= $t_start AND ts_ms < (SELECT min(ts_ms) FROM results WHERE ts_ms >= $t_start) + 1000")
	read -r wstart R[$c.p_worst_avg] R[$c.p_worst_max] <<<"$worst"
	R[$c.p_worst_at]=$(calc "$wstart / 1000")
	R[$c.p_dbsize]=$(cat "$db" "$db-wal" 2>/dev/null | wc -c)
	R[$c.p_total_p50]=$(sqlite3 -readonly "$db" "SELECT total_ms FROM results WHERE ts_ms >= $t_start ORDER BY total_ms LIMIT 1 OFFSET (SELECT count(*) / 2 FROM results WHERE ts_ms >= $t_start)")
	R[$c.p_log_err]=$(grep -c ' error ' "$plog" || true)
	R[$c.p_log_warn]=$(grep -c ' warn ' "$plog" || true)
	R[$c.p_log_lines]=$(wc -l <"$plog")
	if [ -n "$readers" ]; then
		fetch_stats "$c" "$WORK/fetch-$tag.txt"
	fi
	log "$c probed: rows=${R[$c.p_rows]} ok=${R[$c.p_ok]} cpu=${R[$c.p_cpu]}s steady=${R[$c.p_steady_core]}% hwm=${hwm}kB lateness p50=${R[$c.p_lat50]} p99=${R[$c.p_lat99]} max=${R[$c.p_latmax]} ms exit=$rc"
}

run_blackbox() {
	local c=$1 n iv dur bbp pid out a b hwm i tries s0 s1 up=0
	n=$(case_n "$c")
	iv=$(case_iv "$c")
	dur=$(case_dur "$c")
	R[$c.bb_cpu]=""
	[ -n "$BLACKBOX" ] || return 0
	for ((tries = 0; tries < 3 && up == 0; tries++)); do
		bbp=$(free_port)
		"$BLACKBOX" --config.file="$WORK/blackbox.yml" --web.listen-address="127.0.0.1:$bbp" \
			--log.level=warn 2>"$WORK/blackbox-$n.log" &
		pid=$!
		PIDS+=("$pid")
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			if curl -fsS -o /dev/null "http://127.0.0.1:$bbp/metrics" 2>/dev/null; then
				up=1
				break
			fi
			sleep 0.1
		done
		[ "$up" = 1 ] || { stop_pid "$pid"; untrack "$pid"; }
	done
	[ "$up" = 1 ] || { log "blackbox_exporter did not start; skipping"; return 0; }
	local target
	for ((i = 1; i <= n; i++)); do
		target="http%3A%2F%2F127.0.0.1%3A$SP%2Fuserid%2F%3Fn%3D$i"
		printf 'http://127.0.0.1:%s/probe?module=bench&target=%s\n' "$bbp" "$target"
	done >"$WORK/bb-$n.txt"
	log "$c blackbox_exporter: $dur s"
	local m0 m1 t0 t1
	m0=$(machine_ticks)
	t0=$(now_ms)
	s0=$(simapi_ticks)
	a=$(cpu_ticks "$pid")
	out=$("$WORK/driver" -f "$WORK/bb-$n.txt" -i "$((iv * 1000))" -d "$dur" -t 10000 \
		2>"$WORK/driver-$n.log")
	b=$(cpu_ticks "$pid")
	s1=$(simapi_ticks)
	t1=$(now_ms)
	m1=$(machine_ticks)
	hwm=$(vm_kb "$pid" VmHWM)
	stop_pid "$pid"
	untrack "$pid"
	log "$c blackbox_exporter: $out"
	R[$c.bb_done]=$(kv "$out" completed)
	R[$c.bb_ok]=$(kv "$out" success)
	R[$c.bb_fail]=$(calc "$(kv "$out" failed) + $(kv "$out" errors)")
	R[$c.bb_skipped]=$(kv "$out" skipped)
	R[$c.bb_cpu]=$(calc "($b - $a) / $CLK_TCK")
	R[$c.bb_rss]=$hwm
	R[$c.bb_emfile]=$(grep -c 'too many open files' "$WORK/blackbox-$n.log" || true)
	R[$c.bb_log1]=$(head -n 1 "$WORK/blackbox-$n.log" | cut -c1-200)
	R[$c.bb_simapi]=$(calc "($s1 - $s0) / $CLK_TCK / $dur * 100")
	R[$c.bb_driver]=$(calc "$(kv "$out" utime) + $(kv "$out" stime)")
	R[$c.bb_other]=$(calc "(($m1 - $m0) - ($s1 - $s0) - ($b - $a) - ${R[$c.bb_driver]} * $CLK_TCK) / $CLK_TCK / (($t1 - $t0) / 1000) * 100")
}

# ------------------------------------------------------------------ failure to page
recv_events() {	# recv_events EVENT PROBE -> "COUNT LAST_TS"
	python3 - "$WORK/recv.jsonl" "$1" "$2" <<'EOF'
import json, sys
path, event, probe = sys.argv[1:4]
n, last = 0, 0.0
try:
    with open(path) as f:
        for line in f:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            b = r.get("body")
            if isinstance(b, dict) and b.get("event") == event and \
               (probe == "*" or b.get("probe") == probe):
                n += 1
                last = float(r.get("ts", 0))
except FileNotFoundError:
    pass
print(n, "%.3f" % last)
EOF
}

wait_event() {	# wait_event EVENT PROBE OLD_COUNT SECONDS -> "COUNT TS" or fails
	local i ev
	for ((i = 0; i < $4 * 20; i++)); do
		ev=$(recv_events "$1" "$2")
		if [ "${ev%% *}" -gt "$3" ]; then
			echo "$ev"
			return 0
		fi
		sleep 0.05
	done
	return 1
}

sim_mode() {
	curl -fsS -o /dev/null "http://127.0.0.1:$SP/_sim/mode?endpoint=$1&mode=$2"
}

for c in "${CASES[@]}"; do
	n=$(case_n "$c")
	for ((i = 1; i <= n; i++)); do
		printf 'http://127.0.0.1:%s/userid/?n=%d\n' "$SP" "$i"
	done >"$WORK/targets-$n.txt"
	run_floor "$c"
	run_probed "$c"
	run_blackbox "$c"
done
run_reload 10000
READERS_CASE=""
if [ "${BENCH_READERS:-1}" = 1 ]; then
	READERS_CASE="1000@1+readers"
	run_probed 1000@1 readers
fi
LOAD_PAGES=$(recv_events trigger '*' | cut -d' ' -f1)

run_page() {
	local cfg="$WORK/page.yaml" db="$WORK/page.db" plog="$WORK/page.log" pid rc=0 t
	local before ev t0 t1 ts rbefore
	cat >"$cfg" <<EOF
defaults:
  interval: 1s
  timeout: 5s
  confirm_after: 500ms
  failures_before_page: 2
  successes_before_resolve: 2
  headers: {X-Api-Key: "\${BENCH_KEY}"}
store: {path: $db, retention: 1d}
probes:
  - name: userid
    family: userid
    url: http://127.0.0.1:$SP/userid/?username=tiktok
    expect:
      status: [200]
      max_latency: 2s
      json: {type: object, required: [id], properties: {id: {type: string, minLength: 1}}}
  - name: userinfo
    family: userinfo-by-username
    url: http://127.0.0.1:$SP/userinfo-by-username/?username=tiktok
    expect:
      status: [200]
      max_latency: 2s
      json:
        type: object
        required: [user, stats]
        properties:
          user: {type: object, required: [id, uniqueId], properties: {id: {type: string, minLength: 1}, uniqueId: {type: string, minLength: 1}}}
          stats: {type: object, required: [followerCount, heartCount, videoCount]}
  - name: post-detail
    family: post-detail
    url: http://127.0.0.1:$SP/post-detail/?url=https%3A%2F%2Fwww.tiktok.com%2F%40tiktok%2Fvideo%2F7106594312292453675
    expect:
      status: [200]
      max_latency: 2s
      json:
        type: object
        required: [play, hdplay, wmplay]
        properties:
          play: {type: string, minLength: 1, pattern: "^https?://"}
          hdplay: {type: string, minLength: 1, pattern: "^https?://"}
          wmplay: {type: string, minLength: 1, pattern: "^https?://"}
notify:
  - {name: bench-hook, type: webhook, url: "http://127.0.0.1:$RP/hook"}
EOF
	sim_mode '*' ok
	log "failure-to-page: $TRIALS trials"
	"$PROBED_BIN" -c "$cfg" --db "$db" 2>"$plog" &
	pid=$!
	PIDS+=("$pid")
	sleep 3
	kill -0 "$pid" 2>/dev/null || die "probed exited early in the failure-to-page run; log: $plog"
	PAGE_TIMES=()
	RESOLVE_TIMES=()
	PAGE_MISSED=0
	for ((t = 1; t <= TRIALS; t++)); do
		# a different phase against the probe's schedule each time
		sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
		before=$(recv_events trigger post-detail)
		before=${before%% *}
		t0=$(date +%s.%N)
		sim_mode post-detail 502
		if ev=$(wait_event trigger post-detail "$before" 30); then
			ts=${ev#* }
			PAGE_TIMES+=("$(calc "$ts - $t0")")
			log "trial $t: page after ${PAGE_TIMES[-1]} s"
		else
			PAGE_MISSED=$((PAGE_MISSED + 1))
			log "trial $t: no page within 30 s"
		fi
		rbefore=$(recv_events resolve post-detail)
		rbefore=${rbefore%% *}
		t1=$(date +%s.%N)
		sim_mode post-detail ok
		if ev=$(wait_event resolve post-detail "$rbefore" 30); then
			RESOLVE_TIMES+=("$(calc "${ev#* } - $t1")")
		else
			log "trial $t: no resolve within 30 s"
		fi
		sleep 1
	done
	sim_mode '*' ok
	stop_pid "$pid"
	untrack "$pid"
	PAGE_OTHER=$(recv_events trigger '*')
	PAGE_OTHER=$((${PAGE_OTHER%% *} - $(recv_events trigger post-detail | cut -d' ' -f1) - LOAD_PAGES))
	PAGE_TOTAL=$(recv_events trigger post-detail | cut -d' ' -f1)
	PAGE_LOG_ERR=$(grep -c ' error ' "$plog" || true)
}
run_page

stats3() {	# min / median / max of the arguments
	python3 -c '
import sys, statistics
v = [float(x) for x in sys.argv[1:]]
print("%.2f / %.2f / %.2f" % (min(v), statistics.median(v), max(v)) if v else "n/a")' "$@"
}
PAGE_STATS=$(stats3 "${PAGE_TIMES[@]}")
RESOLVE_STATS=$(stats3 "${RESOLVE_TIMES[@]}")
PAGE_MAX=$(python3 -c 'import sys; print(max([float(x) for x in sys.argv[1:]] or [0]))' "${PAGE_TIMES[@]}")

# ------------------------------------------------------------------ report
per1k() { calc "$1 / $2 * 1000"; }
mb() { fmt '%.1f' "$(calc "$1 / 1000")"; }
verdict() {
	case "$1" in
	*n/a* | *nan* | "") echo "**not measured**" ;;
	*) if [ "$(calc "($1) ? 1 : 0")" = 1 ]; then echo "**met**"; else echo "**missed**"; fi ;;
	esac
}

MODEL=$(lscpu | awk -F: '/^Model name/ { sub(/^[ \t]+/, "", $2); print $2; exit }')
MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git status --porcelain 2>/dev/null | grep -q . && echo " + uncommitted changes" || true)
BBVER=$([ -n "$BLACKBOX" ] && "$BLACKBOX" --version 2>&1 | head -n 1 || echo "not installed")

TMP_OUT="$WORK/RESULTS.md"
{
	cat <<EOF
# probed benchmark results

Written by \`$CMDLINE\` on $(date -u '+%Y-%m-%d %H:%M UTC'). Do not edit by hand: re-run the command.

## Machine

| | |
|---|---|
| CPU | $MODEL |
| nproc | $(nproc) |
| MemTotal | $MEM |
| kernel | $(uname -r) |
| Debian | $(cat /etc/debian_version) |
| libcurl | $(curl-config --version 2>/dev/null || pkg-config --modversion libcurl) |
| blackbox_exporter | $BBVER |
| probed | commit $COMMIT$DIRTY, built with $BUILD_NOTE |
| CPU used by other processes just before the measurements | $(fmt '%.0f' "$BUSY_START")% of one CPU (over 5 s) |

## Method

- Cases N@I: N probes, each once every I s (N/I probes/s), starts spread over the
  interval, **a new TCP connection per probe**, all against \`probed-simapi\` on 127.0.0.1
  (\`GET /userid/?n=I\` with an \`X-Api-Key\` header the simulated API checks). Each
  measurement runs $DUR s at a 1 s interval and two intervals (at least $DUR s) at longer
  ones; the three contenders run one after the other, never together.
- **probed**: \`probed -c CONFIG --db FILE\`, each probe: status [200], max_latency 2 s, JSON
  Schema \`{type: object, required: [id], properties: {id: {type: string, minLength: 1}}}\`,
  one SQLite row per result. CPU = utime+stime of the probed process from /proc/PID/stat read
  just before SIGTERM (start-up included; "after start-up" is the same from +5 s on); peak RSS = VmHWM from /proc/PID/status at the same
  moment; probes = rows in \`results\` started before that moment; lateness from
  \`results.lateness_us\` (all rows; "steady" leaves out the first 3 s).
- **floor** (\`bench/floor.c\`): one curl multi handle and \`curl_multi_poll\`, the same URLs,
  headers and schedule, CURLOPT_FRESH_CONNECT + CURLOPT_FORBID_REUSE, bodies discarded,
  no checks, no storage. CPU and max RSS from its own getrusage().
- **blackbox_exporter**: its own config (module \`http\`, valid_status_codes [200],
  fail_if_body_not_matches_regexp \`"id"\`, the same header), listening on 127.0.0.1, driven
  at the same rate by \`bench/driver.c\` (\`GET /probe?module=bench&target=...\` over
  keep-alive connections, as Prometheus would scrape it); blackbox makes a new connection
  to the target per probe. At most $MAX_INFLIGHT_DRIVER probes are in flight: a start due
  while blackbox is that far behind is skipped and counted, not queued. CPU = utime+stime
  delta of the blackbox process across the run (the driver's CPU is not counted); peak
  RSS = its VmHWM (a fresh process per N).
- CPU per 1,000 probes = CPU seconds / completed probes x 1000. Ratios are against the floor
  at the same N. The simulated API's CPU is not counted; its utilisation is shown so one can
  see it was not the bottleneck.
- Before measuring, the script waits (up to 5 min) for the rest of the machine to use less
  than 15% of a CPU. "CPU used by everything else" is the machine's busy time from
  /proc/stat during each phase minus the contender, the simulated API (and the driver):
  anything well above a few % means another workload shared the CPUs and that phase's
  figures are disturbed (the Observations list them).

EOF
	for c in "${CASES[@]}"; do
		n=$(case_n "$c")
		iv=$(case_iv "$c")
		dur=${R[$c.p_dur]}
		p1k=$(per1k "${R[$c.p_cpu]}" "${R[$c.p_rows]}")
		f1k=$(per1k "${R[$c.floor_cpu]}" "${R[$c.floor_done]}")
		R[$c.p1k]=$p1k
		R[$c.f1k]=$f1k
		if [ -n "${R[$c.bb_cpu]}" ]; then
			b1k=$(per1k "${R[$c.bb_cpu]}" "${R[$c.bb_done]}")
			R[$c.b1k]=$b1k
			bbcol=("$(fmt '%.0f' "${R[$c.bb_done]}")" "$(fmt '%.1f' "$(calc "${R[$c.bb_done]} / $dur")")"
				"$(fmt '%.2f' "${R[$c.bb_cpu]}")" "$(fmt '%.3f' "$b1k")"
				"$(fmt '%.2f' "$(calc "$b1k / $f1k")")x" "$(mb "${R[$c.bb_rss]}")"
				"${R[$c.bb_ok]} / ${R[$c.bb_fail]} (+${R[$c.bb_skipped]} skipped)" "$(fmt '%.0f' "${R[$c.bb_simapi]}")%"
				"$(fmt '%.0f' "${R[$c.bb_other]}")% (driver $(fmt '%.0f' "$(calc "${R[$c.bb_driver]} / $dur * 100")")% not included)"
				"$(fmt '%.1f' "$(calc "${R[$c.bb_cpu]} / $dur * 100")")%")
		else
			R[$c.b1k]=""
			bbcol=(- - - - - - - - - -)
		fi
		cat <<EOF
## $n probes every $iv s ($(fmt '%.0f' "$(calc "$n / $iv")") probes/s, $dur s)

| | probed | floor | blackbox_exporter |
|---|---:|---:|---:|
| probes completed | ${R[$c.p_rows]} | ${R[$c.floor_done]} | ${bbcol[0]} |
| probes/s (completed / $dur s) | $(fmt '%.1f' "$(calc "${R[$c.p_rows]} / ${R[$c.p_wall]}")") | $(fmt '%.1f' "$(calc "${R[$c.floor_done]} / $dur")") | ${bbcol[1]} |
| CPU seconds (utime+stime) | $(fmt '%.2f' "${R[$c.p_cpu]}") | $(fmt '%.2f' "${R[$c.floor_cpu]}") | ${bbcol[2]} |
| **CPU s per 1,000 probes** | **$(fmt '%.3f' "$p1k")** | **$(fmt '%.3f' "$f1k")** | **${bbcol[3]}** |
| ratio to the floor | **$(fmt '%.2f' "$(calc "$p1k / $f1k")")x** | 1.00x | **${bbcol[4]}** |
| CPU, % of one core (whole run) | $(fmt '%.1f' "$(calc "${R[$c.p_cpu]} / ${R[$c.p_wall]} * 100")")% | $(fmt '%.1f' "$(calc "${R[$c.floor_cpu]} / $dur * 100")")% | ${bbcol[9]} |
| peak RSS (MB) | $(mb "${R[$c.p_hwm]}") | $(mb "${R[$c.floor_rss]}") | ${bbcol[5]} |
| ok / failed probes | ${R[$c.p_ok]} / $((R[$c.p_rows] - R[$c.p_ok])) | ${R[$c.floor_ok]} / ${R[$c.floor_err]} | ${bbcol[6]} |
| simulated API CPU use (% of one CPU) | $(fmt '%.0f' "${R[$c.p_simapi]}")% | $(fmt '%.0f' "${R[$c.floor_simapi]}")% | ${bbcol[7]} |
| CPU used by everything else on the machine meanwhile | $(fmt '%.0f' "${R[$c.p_other]}")% | $(fmt '%.0f' "${R[$c.floor_other]}")% | ${bbcol[8]} |

probed only:

| | |
|---|---:|
| CPU after start-up (from +5 s), % of one core | $(fmt '%.2f' "${R[$c.p_steady_core]}")% |
| CPU of the first 5 s (config load, schema compile, first probes) | $(fmt '%.2f' "${R[$c.p_startup_cpu]}") s |
| steady-state probes/s (starts from +3 s to stop-1 s) | $(fmt '%.1f' "${R[$c.p_steady_rate]}") |
| start lateness p50 / p99 (ms) | ${R[$c.p_lat50]} / ${R[$c.p_lat99]} |
| start lateness p99.9 / max (ms) | ${R[$c.p_lat999]} / ${R[$c.p_latmax]} |
| steady-state lateness p50 / p99 (ms) | ${R[$c.p_slat50]} / ${R[$c.p_slat99]} |
| first second of probing (start-up): mean / max lateness (ms) | ${R[$c.p_first]} |
| worst 1-s window by max: mean / max lateness (ms), at about +s | $(fmt '%.2f' "${R[$c.p_worst_avg]}") / $(fmt '%.2f' "${R[$c.p_worst_max]}") at +$(fmt '%.0f' "${R[$c.p_worst_at]}") s |
| missed starts (gap > 1.5 intervals) | ${R[$c.p_missed]} |
| probes with at least one result | ${R[$c.p_probes_seen]} of $n |
| median total time of a probe (ms) | $(fmt '%.2f' "${R[$c.p_total_p50]}") |
| outcomes (code:count, 0 = ok) | ${R[$c.p_outcomes]} |
| storage writes per probe: write_bytes (/proc/PID/io) / rows | $(fmt '%.0f' "$(calc "${R[$c.p_wbytes]} / ${R[$c.p_rows]}")") B |
| database size per stored result (after exit) | $(fmt '%.0f' "$(calc "${R[$c.p_dbsize]} / ${R[$c.p_rows_all]}")") B |
| RSS just before SIGTERM (MB) | $(mb "${R[$c.p_rss]}") |
| SIGTERM to exit (ms), exit status | ${R[$c.p_drain_ms]}, ${R[$c.p_exit]} |
| log lines (error / warn / all) | ${R[$c.p_log_err]} / ${R[$c.p_log_warn]} / ${R[$c.p_log_lines]} |

EOF
	done

	if [ -n "$READERS_CASE" ]; then
		c=$READERS_CASE
		cat <<EOF
## Readers: 1,000 probes every 1 s, 24 h of history, the pages fetched every second

The same 1,000 probes, on a database first filled with 24 h of history for each of them
(one result a minute per probe, ${R[prefill_rows]} rows with their minute and hour
aggregates, written through the store's own API by \`bench/fill.c\` in $(fmt '%.1f' "${R[prefill_s]}") s), and
\`http.listen\` on. For the whole run a client fetches \`/\` (the status page),
\`/api/status\` and \`/metrics\` one after the other, about once a second (curl,
\`time_total\`: the request as the client sees it, render included). SQLite's WAL
checkpoints and the retention pass run as they do in production.

| | |
|---|---:|
| status page \`/\`: fetches / median / p95 / max (ms) | ${R[$c.f_page]//:/ / } |
| \`/api/status\`: fetches / median / p95 / max (ms) | ${R[$c.f_api]//:/ / } |
| \`/metrics\`: fetches / median / p95 / max (ms) | ${R[$c.f_metrics]//:/ / } |
| failed fetches | ${R[$c.f_bad]} |
| probes completed / probes/s | ${R[$c.p_rows]} / $(fmt '%.1f' "$(calc "${R[$c.p_rows]} / ${R[$c.p_wall]}")") |
| start lateness p50 / p99 / p99.9 / max (ms) | ${R[$c.p_lat50]} / ${R[$c.p_lat99]} / ${R[$c.p_lat999]} / ${R[$c.p_latmax]} |
| steady-state lateness p50 / p99 (ms) | ${R[$c.p_slat50]} / ${R[$c.p_slat99]} |
| worst 1-s window by max: mean / max lateness (ms), at about +s | $(fmt '%.2f' "${R[$c.p_worst_avg]}") / $(fmt '%.2f' "${R[$c.p_worst_max]}") at +$(fmt '%.0f' "${R[$c.p_worst_at]}") s |
| CPU s per 1,000 probes (fetches included) | $(fmt '%.3f' "$(per1k "${R[$c.p_cpu]}" "${R[$c.p_rows]}")") |
| peak RSS (MB) | $(mb "${R[$c.p_hwm]}") |
| storage writes per probe (B) | $(fmt '%.0f' "$(calc "${R[$c.p_wbytes]} / ${R[$c.p_rows]}")") |
| CPU used by everything else on the machine meanwhile (the client included) | $(fmt '%.0f' "${R[$c.p_other]}")% |

EOF
	fi

	cat <<EOF
## Config load and reload

${R[reload_n]} probes (the 10,000 @ 60 s config: one JSON Schema shared by all): probed
started and a SIGHUP with the file unchanged, times from probed's own log lines.

| | |
|---|---:|
| exec to "started" (config parse, schema compile, database open, every probe scheduled) | ${R[reload_start_ms]} ms |
| SIGHUP to "applied" (parse again, compile, mark and sweep; every probe kept) | ${R[reload_ms]} ms |
| what the reload reported | ${R[reload_what]} |
| peak RSS of that process (MB) | $(mb "${R[reload_hwm]}") |

## Scaling

How cost grows with work, from the sections above. CPU per probe is whole-run CPU (start-up
included) over completed probes; lateness over every result.

| case | probes/s | probed CPU s / 1,000 probes | x floor | x blackbox_exporter | probed % of a core (after start-up) | peak RSS (MB) | lateness p50 / p99 / max (ms) | write bytes per result |
|---|---:|---:|---:|---:|---:|---:|---|---:|
EOF
	for c in "${CASES[@]}"; do
		n=$(case_n "$c")
		iv=$(case_iv "$c")
		xb="-"
		[ -n "${R[$c.b1k]}" ] && xb="$(fmt '%.2f' "$(calc "${R[$c.p1k]} / ${R[$c.b1k]}")")x"
		echo "| $n every $iv s | $(fmt '%.0f' "$(calc "${R[$c.p_rows]} / ${R[$c.p_wall]}")") | $(fmt '%.3f' "${R[$c.p1k]}") | $(fmt '%.2f' "$(calc "${R[$c.p1k]} / ${R[$c.f1k]}")")x | $xb | $(fmt '%.2f' "${R[$c.p_steady_core]}")% | $(mb "${R[$c.p_hwm]}") | ${R[$c.p_lat50]} / ${R[$c.p_lat99]} / ${R[$c.p_latmax]} | $(fmt '%.0f' "$(calc "${R[$c.p_wbytes]} / ${R[$c.p_rows]}")") |"
	done
	echo
	echo "## Against the targets (issue 10)"
	echo
	echo "| target | measured | |"
	echo "|---|---|---|"
	for c in "${CASES[@]}"; do
		case $c in
		1000@1)
			r=$(calc "${R[$c.p1k]} / ${R[$c.f1k]}")
			echo "| 1,000 probes every 1 s: CPU per probe <= 1.2x the floor (JSON Schema + SQLite included) | $(fmt '%.2f' "$r")x | $(verdict "$r <= 1.2") |"
			echo "| peak RSS <= 12 MB at 1,000 probes | $(mb "${R[$c.p_hwm]}") MB (VmHWM ${R[$c.p_hwm]} kB) | $(verdict "${R[$c.p_hwm]} <= 12000") |"
			echo "| p99 start lateness <= 5 ms at 1,000 probes/s (all results, start-up included) | ${R[$c.p_lat99]} ms (max ${R[$c.p_latmax]}) | $(verdict "${R[$c.p_lat99]} <= 5") |"
			;;
		10000@60)
			echo "| 10,000 probes every 60 s on <= 5% of one core (after start-up) | $(fmt '%.2f' "${R[$c.p_steady_core]}")% ($(fmt '%.2f' "$(calc "${R[$c.p_cpu]} / ${R[$c.p_wall]} * 100")")% with start-up) | $(verdict "${R[$c.p_steady_core]} <= 5") |"
			echo "| peak RSS <= 40 MB at 10,000 probes | $(mb "${R[$c.p_hwm]}") MB (VmHWM ${R[$c.p_hwm]} kB) | $(verdict "${R[$c.p_hwm]} <= 40000") |"
			;;
		esac
	done
	if [ -n "$READERS_CASE" ]; then
		c=$READERS_CASE
		pm=$(echo "${R[$c.f_page]}" | cut -d: -f4)
		am=$(echo "${R[$c.f_api]}" | cut -d: -f4)
		echo "| p99 start lateness <= 5 ms at 1,000 probes/s while /, /api/status, /metrics are fetched every second and the database checkpoints | ${R[$c.p_lat99]} ms (max ${R[$c.p_latmax]}) | $(verdict "${R[$c.p_lat99]} <= 5") |"
		echo "| status page at 1,000 probes with 24 h of data <= 20 ms (slowest fetch, client side) | max $pm ms (median $(echo "${R[$c.f_page]}" | cut -d: -f2) ms) | $(verdict "$pm <= 20") |"
		echo "| /api/status at 1,000 probes with 24 h of data <= 20 ms (slowest fetch) | max $am ms (median $(echo "${R[$c.f_api]}" | cut -d: -f2) ms) | $(verdict "$am <= 20") |"
	fi
	echo "| config load of 10,000 probes <= 1 s | ${R[reload_start_ms]} ms | $(verdict "${R[reload_start_ms]} <= 1000") |"
	echo "| SIGHUP of 10,000 probes <= 1 s, unchanged probes keep their state | ${R[reload_ms]} ms (${R[reload_what]}) | $(verdict "${R[reload_ms]} <= 1000") |"
	for c in "${CASES[@]}"; do
		[ -n "${R[$c.b1k]}" ] || continue
		echo "| (reference) blackbox_exporter CPU per probe, $c | $(fmt '%.2f' "$(calc "${R[$c.b1k]} / ${R[$c.f1k]}")")x the floor; probed uses $(fmt '%.2f' "$(calc "${R[$c.p1k]} / ${R[$c.b1k]}")")x of blackbox's | |"
	done
	echo "| page within interval + confirm_after + 2 s = 3.5 s | max $(fmt '%.2f' "$PAGE_MAX") s | $(verdict "$PAGE_MISSED == 0 && $PAGE_MAX <= 3.5") |"
	echo
	echo "## Observations (computed by the script)"
	echo
	nobs=0
	for c in "${CASES[@]}" ${READERS_CASE:+"$READERS_CASE"}; do
		n=$(case_n "${c%+*}")
		dur=${R[$c.p_dur]}
		iv=$(case_iv "${c%+*}")
		exp=$(calc "$n / $iv * ${R[$c.p_wall]}")
		if [ "$(calc "${R[$c.p_rows]} < 0.97 * $exp")" = 1 ]; then
			echo "- $c: probed completed ${R[$c.p_rows]} probes, $(fmt '%.1f' "$(calc "${R[$c.p_rows]} / $exp * 100")")% of the $(fmt '%.0f' "$exp") scheduled in ${R[$c.p_wall]} s (start-up and the spread of first starts account for up to one interval)."
			nobs=$((nobs + 1))
		fi
		if [ "${R[$c.p_ok]}" != "${R[$c.p_rows]}" ]; then
			echo "- $c: probed recorded $((R[$c.p_rows] - R[$c.p_ok])) failed probes against a healthy API (outcomes ${R[$c.p_outcomes]})."
			nobs=$((nobs + 1))
		fi
		if [ "${R[$c.p_missed]}" != 0 ]; then
			echo "- $c: ${R[$c.p_missed]} missed starts (a probe's next run came more than 1.5 intervals after the previous one)."
			nobs=$((nobs + 1))
		fi
		if [ "${R[$c.p_log_err]}" != 0 ] || [ "${R[$c.p_log_warn]}" != 0 ]; then
			echo "- $c: probed logged ${R[$c.p_log_err]} error and ${R[$c.p_log_warn]} warning lines under load."
			nobs=$((nobs + 1))
		fi
		if [ "${R[$c.p_exit]}" != 0 ]; then
			echo "- $c: probed exited with status ${R[$c.p_exit]} after SIGTERM."
			nobs=$((nobs + 1))
		fi
		for ph in floor:floor_other probed:p_other blackbox_exporter:bb_other; do
			v=${R[$c.${ph#*:}]:-}
			[ -n "$v" ] && [ "$v" != n/a ] || continue
			if [ "$(calc "$v > 15")" = 1 ]; then
				echo "- $c: while ${ph%%:*} ran, other processes on the machine used $(fmt '%.0f' "$v")% of a CPU: its figures in this case are disturbed by a busy machine."
				nobs=$((nobs + 1))
			fi
		done
		if [ "$(calc "${R[$c.p_lat99]} > 5")" = 1 ]; then
			echo "- $c: probed's p99 start lateness is ${R[$c.p_lat99]} ms (first second of probing, mean / max: ${R[$c.p_first]} ms; from +3 s on, p99 ${R[$c.p_slat99]} ms; worst second by max: mean $(fmt '%.2f' "${R[$c.p_worst_avg]}") ms, max $(fmt '%.2f' "${R[$c.p_worst_max]}") ms at about +$(fmt '%.0f' "${R[$c.p_worst_at]}") s)."
			nobs=$((nobs + 1))
		fi
		if [ -n "${R[$c.bb_cpu]:-}" ]; then
			if [ "$(calc "${R[$c.bb_done]} < 0.97 * $n / $iv * $dur || ${R[$c.bb_fail]} > 0")" = 1 ]; then
				echo "- $c: blackbox_exporter did not keep up: ${R[$c.bb_done]} of $(fmt '%.0f' "$(calc "$n / $iv * $dur")") probes answered ($(fmt '%.0f' "$(calc "${R[$c.bb_done]} / $dur")")/s), ${R[$c.bb_fail]} failed (probe_success 0 or /probe error), ${R[$c.bb_skipped]} starts skipped by the driver because $MAX_INFLIGHT_DRIVER probes were already in flight. It used $(fmt '%.2f' "${R[$c.bb_cpu]}") CPU s in about $dur s (the machine has $(nproc) CPUs); its CPU per probe in this case is that of a saturated process."
				[ -s "$WORK/blackbox-$n.log" ] && echo "  Its log: $(wc -l <"$WORK/blackbox-$n.log") lines, the first: \`${R[$c.bb_log1]}\`"
				nobs=$((nobs + 1))
			fi
		fi
	done
	if [ "$LOAD_PAGES" != 0 ]; then
		echo "- $LOAD_PAGES pages were sent during the load runs, against a healthy simulated API."
		nobs=$((nobs + 1))
	fi
	[ "$nobs" = 0 ] && echo "- nothing unusual: no failed or missed probes, no errors or warnings in probed's log, exit status 0."
	cat <<EOF

## Failure to page

A separate probed with the three real probe shapes (/userid/, /userinfo-by-username/,
/post-detail/ with their schemas from probes.yaml), interval 1 s, confirm_after 500 ms,
failures_before_page 2, successes_before_resolve 2, webhook to \`tools/receiver.py\` on
127.0.0.1. Each trial, at a random phase: /post-detail/ is switched to 502 on the simulated
API, and the time is taken from just before the switch to the receiver's timestamp of the
trigger; then it is switched back and the resolve awaited.

| | |
|---|---|
| trials | $TRIALS ($PAGE_MISSED without a page within 30 s) |
| injected failure -> page (s), min / median / max | **$PAGE_STATS** |
| recovery -> resolve (s), min / median / max | $RESOLVE_STATS |
| triggers for post-detail / for the healthy probes | $PAGE_TOTAL / $PAGE_OTHER |
| error lines in probed's log (the triggers are logged at error level) | $PAGE_LOG_ERR |
| pages sent during the load runs above (a healthy API: must be 0) | $LOAD_PAGES |

Expected: the first failing probe starts within one interval (<= 1 s) of the switch, the
confirmation 500 ms later is the second consecutive failure, then the outbox delivers: about
0.5 to 1.5 s.
EOF
} >"$TMP_OUT"
cp "$TMP_OUT" "$OUT"
log "wrote $OUT"
cat "$OUT"
