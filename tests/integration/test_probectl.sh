#!/usr/bin/env bash
# probectl against the real thing on loopback:
#  - check: the table and --json, exit 0 / 2 (Nagios), one probe by name, unknown name 3,
#    a closed port is a "connect" failure, a hang is a "timeout", bad config 78;
#  - schema: JSON and YAML schemas, 0 valid / 1 invalid with every failing path / 2 for
#    input that cannot be used (unknown keywords included, unless the schema opts out);
#  - status and history read the database while probed writes it: ~100 reads in ~10 s,
#    no error, no lock; --since parsing; status --json fields; a missing database;
#  - the canary API key appears in no probectl output.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

KEY="canary-$RANDOM$RANDOM-probectl"
export TIKLIVE_TEST_KEY=$KEY
unset PROBED_CONFIG
OUT=$PD_TMP/out # every probectl output is kept here and searched for the key at the end
mkdir -p "$OUT"
start_simapi --key "$KEY"
start_receiver webhook

# pctl NAME ARGS...: run probectl, stdout to $OUT/NAME.out, stderr to $OUT/NAME.err,
# exit status to $RC (never fails).
pctl() {
	local name=$1
	shift
	RC=0
	"$PROBECTL_BIN" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || RC=$?
}

# pyc FILE CODE: run python CODE with `d` = the JSON in FILE; exit status of the asserts.
pyc() {
	"$PYTHON" -c "import json,sys,re
d=json.load(open(sys.argv[1]))
$2" "$1"
}
export -f pyc

# ================================================================ check
CHK=$PD_TMP/check.yaml
write_config "$CHK" 30s 5s

pctl check_ok check -c "$CHK"
check "check, all ok: exit 0" [ "$RC" = 0 ]
check "check: table header NAME STATUS HTTP LATENCY VERDICT" \
	grep -Eq '^NAME +STATUS +HTTP +LATENCY +VERDICT$' "$OUT/check_ok.out"
for n in userid userinfo post-detail; do
	check "check: row for $n is OK 200 ... ok" \
		grep -Eq "^$n +OK +200 +[0-9]+ ms +ok\$" "$OUT/check_ok.out"
done
check "check: exactly header + 3 rows" [ "$(wc -l <"$OUT/check_ok.out")" = 4 ]
check "check: quiet stderr" [ ! -s "$OUT/check_ok.err" ]

sim_mode post-detail 502
pctl check_502 check -c "$CHK"
check "check, post-detail 502: exit 2" [ "$RC" = 2 ]
check "check: post-detail row FAIL 502 with its verdict" \
	grep -Eq '^post-detail +FAIL +502 +[0-9]+ ms +http_5xx: status 502, expected 200-299$' "$OUT/check_502.out"
check "check: userid still OK" grep -Eq '^userid +OK +200 ' "$OUT/check_502.out"

pctl check_one check -c "$CHK" userid
check "check userid (post-detail failing): exit 0" [ "$RC" = 0 ]
check "check userid: only that probe" bash -c "[ \"\$(grep -c ' ms ' '$OUT/check_one.out')\" = 1 ] && grep -Eq '^userid +OK' '$OUT/check_one.out'"
pctl check_two check -c "$CHK" post-detail userid
check "check post-detail userid: exit 2, two rows" \
	bash -c "[ $RC = 2 ] && [ \"\$(grep -c ' ms ' '$OUT/check_two.out')\" = 2 ] && ! grep -q '^userinfo' '$OUT/check_two.out'"

pctl check_json check -c "$CHK" --json
check "check --json: exit 2" [ "$RC" = 2 ]
check "check --json: parses, every field, right values" pyc "$OUT/check_json.out" '
assert isinstance(d, list) and len(d) == 3, d
by = {r["name"]: r for r in d}
assert set(by) == {"userid", "userinfo", "post-detail"}, by
for r in d:
    for k, t in (("name", str), ("ok", bool), ("outcome", str), ("http_status", (int, float)),
                 ("total_ms", (int, float)), ("verdict", str)):
        assert isinstance(r.get(k), t), (k, r)
    assert r["total_ms"] >= 0, r
u, p = by["userid"], by["post-detail"]
assert u["ok"] is True and u["outcome"] == "ok" and u["http_status"] == 200 and u["verdict"] == "ok", u
assert p["ok"] is False and p["outcome"] == "http_5xx" and p["http_status"] == 502, p
assert p["verdict"] == "status 502, expected 200-299", p
'
check "check --json: nothing but JSON on stdout (no table)" not grep -q '^NAME' "$OUT/check_json.out"

sim_mode userid empty-id
pctl check_shape check -c "$CHK" userid --json
check "check, empty id: exit 2" [ "$RC" = 2 ]
check "check, empty id: shape verdict with path and keyword" pyc "$OUT/check_shape.out" \
	'assert d[0]["outcome"] == "shape" and d[0]["verdict"] == "$.id: minLength 1, got \"\"", d'
sim_mode '*' ok

pctl check_unknown check -c "$CHK" userid nope
check "check unknown probe name: exit 3" [ "$RC" = 3 ]
check "... names it on stderr" grep -q "no probe named 'nope'" "$OUT/check_unknown.err"
check "... and probes nothing (empty stdout)" [ ! -s "$OUT/check_unknown.out" ]

# a loopback port that nothing listens on
CLOSED=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
sed "s|$SIM_URL|http://127.0.0.1:$CLOSED|" "$CHK" >"$PD_TMP/closed.yaml"
pctl check_closed check -c "$PD_TMP/closed.yaml" userid
check "check, closed port: exit 2" [ "$RC" = 2 ]
check "check, closed port: row FAIL 0 connect: ..." \
	grep -Eq '^userid +FAIL +0 +[0-9]+ ms +connect: ' "$OUT/check_closed.out"
pctl check_closed_json check -c "$PD_TMP/closed.yaml" userid --json
check "check --json, closed port: outcome connect, http_status 0" \
	pyc "$OUT/check_closed_json.out" 'assert d[0]["outcome"] == "connect" and d[0]["http_status"] == 0 and d[0]["ok"] is False, d'

sim_mode post-detail hang
t0=${EPOCHREALTIME/./}
pctl check_hang check -c "$CHK" post-detail --json
t1=${EPOCHREALTIME/./}
check "check, hanging endpoint: exit 2, outcome timeout" \
	bash -c "[ $RC = 2 ] && pyc '$OUT/check_hang.out' 'assert d[0][\"outcome\"] == \"timeout\", d'"
check "check, hanging endpoint: bounded by the 2s timeout (< 6 s)" [ $(((t1 - t0) / 1000)) -lt 6000 ]
sim_mode '*' ok

pctl check_bad check -c "$PD_SRC/tests/fixtures/config/bad_duplicate.yaml"
check "check, bad config: exit 78" [ "$RC" = 78 ]
check "check, bad config: FILE:LINE:COL on stderr" \
	grep -qx "$PD_SRC/tests/fixtures/config/bad_duplicate.yaml:7:11: duplicate probe name 'userid' (first defined at 2:11)" "$OUT/check_bad.err"
pctl check_missing check -c "$PD_TMP/does-not-exist.yaml"
check "check, missing config: exit 78" [ "$RC" = 78 ]

# ================================================================ schema
S=$PD_TMP/schema
mkdir -p "$S"
cat >"$S/userid.json" <<'JSON'
{"type": "object", "required": ["id"],
 "properties": {"id": {"type": "string", "minLength": 1},
                "n": {"type": "integer", "maximum": 3}}}
JSON
cat >"$S/userid.yaml" <<'YAML'
type: object
required: [id]
properties:
  id: {type: string, minLength: 1}
  n: {type: integer, maximum: 3}
YAML
# documents saved from the simulated API itself
curl -fsS -H "X-Api-Key: $KEY" "$SIM_URL/userid/?username=tiktok" >"$S/live.json"
sim_mode userid empty-id
curl -fsS -H "X-Api-Key: $KEY" "$SIM_URL/userid/?username=tiktok" >"$S/live-empty.json"
sim_mode userid ok
printf '{"id": "", "n": 5}\n' >"$S/two-errors.json"
printf '{"n": "a"}' >"$S/no-id.json"
printf 'this is not JSON\n' >"$S/not-json.txt"
printf '{"id": "x"} and then some' >"$S/trailing.json"
printf '{"id": "x"}\n\n' >"$S/trailing-ws.json"

for fmt in json yaml; do
	pctl "schema_valid_$fmt" schema "$S/userid.$fmt" "$S/live.json"
	check "schema ($fmt): a live /userid/ body is valid, exit 0" \
		bash -c "[ $RC = 0 ] && grep -qx '$S/live.json: valid' '$OUT/schema_valid_$fmt.out'"
	pctl "schema_empty_$fmt" schema "$S/userid.$fmt" "$S/live-empty.json"
	check "schema ($fmt): the live empty-id body is invalid, exit 1, \$.id: minLength 1, got \"\"" \
		bash -c "[ $RC = 1 ] && grep -qxF '\$.id: minLength 1, got \"\"' '$OUT/schema_empty_$fmt.out'"
	pctl "schema_two_$fmt" schema "$S/userid.$fmt" "$S/two-errors.json"
	check "schema ($fmt): each failing path printed" \
		bash -c "[ $RC = 1 ] && grep -qxF '\$.id: minLength 1, got \"\"' '$OUT/schema_two_$fmt.out' &&
			grep -qxF '\$.n: maximum 3, got 5' '$OUT/schema_two_$fmt.out' &&
			[ \"\$(wc -l <'$OUT/schema_two_$fmt.out')\" = 2 ]"
	pctl "schema_noid_$fmt" schema "$S/userid.$fmt" "$S/no-id.json"
	check "schema ($fmt): required and type errors" \
		bash -c "[ $RC = 1 ] && grep -qxF '\$: required \"id\" missing' '$OUT/schema_noid_$fmt.out' &&
			grep -qxF '\$.n: type integer, got string \"a\"' '$OUT/schema_noid_$fmt.out'"
done
pctl schema_missing schema "$S/userid.json" "$S/nope.json"
check "schema: unreadable document, exit 2 with the reason" \
	bash -c "[ $RC = 2 ] && grep -q 'nope.json: No such file or directory' '$OUT/schema_missing.err'"
pctl schema_missing_s schema "$S/nope.yaml" "$S/live.json"
check "schema: unreadable schema, exit 2" [ "$RC" = 2 ]
pctl schema_dir schema "$S/userid.json" "$S"
check "schema: a directory as document, exit 2" [ "$RC" = 2 ]
pctl schema_notjson schema "$S/userid.json" "$S/not-json.txt"
check "schema: non-JSON document, exit 2, 'not valid JSON'" \
	bash -c "[ $RC = 2 ] && grep -q 'not-json.txt: not valid JSON' '$OUT/schema_notjson.err'"
pctl schema_trailing schema "$S/userid.json" "$S/trailing.json"
check "schema: JSON followed by garbage is not JSON, exit 2" [ "$RC" = 2 ]
pctl schema_trailing_ws schema "$S/userid.json" "$S/trailing-ws.json"
check "schema: trailing whitespace is fine, exit 0" [ "$RC" = 0 ]
printf '{"type": 5}' >"$S/bad-schema.json"
pctl schema_badschema schema "$S/bad-schema.json" "$S/live.json"
check "schema: an invalid schema, exit 2 with the reason" \
	bash -c "[ $RC = 2 ] && grep -q 'bad-schema.json: ' '$OUT/schema_badschema.err'"
printf 'type: [\n' >"$S/bad.yaml"
pctl schema_badyaml schema "$S/bad.yaml" "$S/live.json"
check "schema: broken YAML schema, exit 2 with FILE:LINE:COL" \
	bash -c "[ $RC = 2 ] && grep -Eq '^$S/bad.yaml:[0-9]+:[0-9]+: ' '$OUT/schema_badyaml.err'"
# a misspelt keyword is legal JSON Schema that checks nothing: refused as in probes.yaml
printf '{"type": "object", "requird": ["id"],\n "properties": {"id": {"minLenght": 1}}}\n' \
	>"$S/typo.json"
pctl schema_typo schema "$S/typo.json" "$S/live.json"
check "schema: unknown keywords, exit 2, each with its JSON pointer and a did-you-mean" \
	bash -c "[ $RC = 2 ] && [ ! -s '$OUT/schema_typo.out' ] &&
		grep -qxF \"$S/typo.json: /requird: unknown JSON Schema keyword 'requird' (did you mean 'required'?)\" '$OUT/schema_typo.err' &&
		grep -qxF \"$S/typo.json: /properties/id/minLenght: unknown JSON Schema keyword 'minLenght' (did you mean 'minLength'?)\" '$OUT/schema_typo.err'"
printf 'type: object\nx-allow-unknown-keywords: true\nnullable: false\nproperties:\n  requird: {type: string}\n' \
	>"$S/optout.yaml"
pctl schema_optout schema "$S/optout.yaml" "$S/live.json"
check "schema: x-allow-unknown-keywords: true opts out; a property named like a typo is fine" \
	[ "$RC" = 0 ]
pctl schema_usage schema "$S/userid.json"
check "schema with one argument: exit 2 and usage" \
	bash -c "[ $RC = 2 ] && grep -q usage '$OUT/schema_usage.err'"
pctl schema_stdin schema "$S/userid.yaml" - <"$S/live.json"
check "schema: document on stdin ('-')" [ "$RC" = 0 ]

# ================================================================ status / history, live
CFG=$PD_TMP/probes.yaml
DB=$PD_TMP/probed.db
write_config "$CFG" 1s 300ms
# load: 30 more probes every 200 ms, plus two with the key in their URL
"$PYTHON" - "$CFG" "$SIM_URL" <<'PY'
import sys
path, url = sys.argv[1], sys.argv[2]
src = open(path).read()
head, notify = src.split("notify:\n", 1)
extra = ""
for i in range(30):
    extra += ("  - name: load-%02d\n    family: userid\n    interval: 200ms\n"
              "    url: %s/userid/?username=tiktok\n" % (i, url))
extra += ("  - name: keyurl\n    url: %s/userid/?username=tiktok&k=${TIKLIVE_TEST_KEY}\n" % url)
extra += ("  - name: keypath\n    url: %s/nope/${TIKLIVE_TEST_KEY}\n" % url)
open(path, "w").write(head + extra + "notify:\n" + notify)
PY
check "live config validates" "$PROBECTL_BIN" validate -c "$CFG"

pctl status_nodb status --db "$PD_TMP/nonexistent/probed.db"
check "status --db (missing): exit 3" [ "$RC" = 3 ]
check "status --db (missing): clear message" \
	grep -qx "probectl: no database at $PD_TMP/nonexistent/probed.db (has probed run?)" "$OUT/status_nodb.err"
check "status --db (missing): nothing on stdout" [ ! -s "$OUT/status_nodb.out" ]
pctl status_nodb2 status --db /nonexistent
check "status --db /nonexistent: exit 3 with a message" \
	bash -c "[ $RC = 3 ] && grep -q 'no database at /nonexistent' '$OUT/status_nodb2.err'"
pctl history_nodb history userid --db /nonexistent
check "history --db /nonexistent: exit 3" [ "$RC" = 3 ]
printf 'not a database\n' >"$PD_TMP/junk.db"
pctl status_junk status --db "$PD_TMP/junk.db"
check "status on a file that is not a database: exit 3 with a message" \
	bash -c "[ $RC = 3 ] && [ -s '$OUT/status_junk.err' ]"

start_probed "$CFG"
check "probed is writing results" wait_for 15 bash -c "[ \"\$(\"\$PROBECTL_BIN\" history load-00 --db '$DB' --json 2>/dev/null | \"\$PYTHON\" -c 'import json,sys; print(json.load(sys.stdin)[\"count\"])' 2>/dev/null || echo 0)\" -ge 3 ]"
sim_mode post-detail 502
check "post-detail pages (alone or joining the open incident)" wait_for 15 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="trigger" and "post-detail" in b.get("probes", [b.get("probe")])'

# ~100 reads over ~10 s while probed writes ~160 results/s, pages and retries; every
# output is kept ($OUT/loop/NNN.*) and the JSON ones are checked afterwards in one go
reader_loop() {
	local i=0 bad=0 kind deadline
	mkdir -p "$OUT/loop"
	deadline=$((${EPOCHREALTIME/./} + 20000000))
	while [ "$i" -lt 100 ] && [ "${EPOCHREALTIME/./}" -lt "$deadline" ]; do
		kind=$((i % 4))
		case $kind in
		0) pctl "loop/$i.status" status --db "$DB" ;;
		1) pctl "loop/$i.status_json" status --db "$DB" --json ;;
		2) pctl "loop/$i.history" history userid --db "$DB" --since 1h ;;
		3) pctl "loop/$i.history_json" history load-07 --db "$DB" --since 1h --json ;;
		esac
		if [ "$RC" != 0 ] || [ -n "$(cat "$OUT"/loop/"$i".*.err)" ] || [ -z "$(cat "$OUT"/loop/"$i".*.out)" ]; then
			bad=$((bad + 1))
			echo "read $i: exit $RC: $(head -c 300 "$OUT"/loop/"$i".*.err)" >&2
		fi
		i=$((i + 1))
		sleep 0.1
	done
	echo "$i reads, $bad bad"
	[ "$i" -ge 100 ] && [ "$bad" = 0 ] || return 1
	# every JSON output parses; the history counts grow (the reads saw fresh data)
	"$PYTHON" - "$OUT/loop" <<'PY'
import glob, json, os, sys
d = sys.argv[1]
counts = []
for f in sorted(glob.glob(os.path.join(d, "*_json.out")), key=lambda f: int(os.path.basename(f).split(".")[0])):
    doc = json.load(open(f))
    if f.endswith(".history_json.out"):
        assert doc["count"] == len(doc["results"]), f
        counts.append(doc["count"])
    else:
        assert isinstance(doc, list) and len(doc) >= 35, f
print("load-07 results seen:", counts[0], "->", counts[-1])
assert len(counts) == 25 and counts == sorted(counts) and counts[-1] > counts[0], counts
PY
}
check "100 status/history reads while probed writes: all exit 0, no error, fresh data" reader_loop
check "no lock or commit error in probed's log meanwhile" \
	not grep -Eqi 'locked|busy|commit failed| (error|warn) +store:' "$PD_TMP/probed.log"
check "probed still alive" not pid_gone "$PROBED_PID"

# ---- status --json fields
pctl status_json status --db "$DB" --json
check "status --json: exit 0" [ "$RC" = 0 ]
check "status --json: name, state, up, consecutive_failures, last_page" pyc "$OUT/status_json.out" '
by = {p["name"]: p for p in d}
for n in ["userid", "userinfo", "post-detail", "keyurl", "keypath"] + ["load-%02d" % i for i in range(30)]:
    assert n in by, (n, sorted(by))
for p in d:
    assert isinstance(p["name"], str) and p["state"] in ("up", "failing", "down", "recovering"), p
    assert isinstance(p["up"], bool) and isinstance(p["consecutive_failures"], (int, float)), p
    assert "last_page" in p and (p["last_page"] is None or isinstance(p["last_page"], str)), p
u, pd, kp = by["userid"], by["post-detail"], by["keypath"]
assert u["state"] == "up" and u["up"] is True and u["consecutive_failures"] == 0 and u["last_page"] is None, u
assert u["ok"] is True and u["outcome"] == "ok" and u["http_status"] == 200, u
assert pd["state"] == "down" and pd["up"] is False and pd["consecutive_failures"] >= 2, pd
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", pd["last_page"]), pd
assert pd["outcome"] == "http_5xx" and pd["http_status"] == 502 and pd["ok"] is False, pd
assert kp["state"] == "down" and kp["http_status"] == 404 and kp["outcome"] == "http_4xx", kp
'
pctl status_text status --db "$DB"
check "status: table with post-detail down" \
	bash -c "grep -Eq '^NAME +STATE +FAILS' '$OUT/status_text.out' && grep -Eq '^post-detail +down +[0-9]+ ' '$OUT/status_text.out' && grep -Eq '^userid +up +0 ' '$OUT/status_text.out'"

# ---- history --since
pctl hist_bad history userid --db "$DB" --since bad
check "history --since bad: exit 64 with a hint" \
	bash -c "[ $RC = 64 ] && grep -q \"bad --since 'bad'\" '$OUT/hist_bad.err'"
pctl hist_nounit history userid --db "$DB" --since 10
check "history --since 10 (no unit): exit 64" [ "$RC" = 64 ]
pctl hist_empty history userid --db "$DB" --since ''
check "history --since '' : exit 64" [ "$RC" = 64 ]
pctl hist_neg history userid --db "$DB" --since -5m
check "history --since -5m: exit 64" [ "$RC" = 64 ]
pctl hist_noname history --db "$DB"
check "history without NAME: exit 64 and usage" \
	bash -c "[ $RC = 64 ] && grep -q usage '$OUT/hist_noname.err'"
pctl hist_90 history load-03 --db "$DB" --since 1m30s --json
check "history --since 1m30s: window_s 90" \
	bash -c "[ $RC = 0 ] && pyc '$OUT/hist_90.out' 'assert d[\"window_s\"] == 90 and d[\"count\"] > 10 and d[\"name\"] == \"load-03\", d'"
now_ms=$("$PYTHON" -c 'import time; print(int(time.time()*1000))')
pctl hist_2s history load-03 --db "$DB" --since 2s --json
pctl hist_1d history load-03 --db "$DB" --since 1d --json
check "history --since 2s: only results of the last 2 s, fewer than over 1d" "$PYTHON" - \
	"$OUT/hist_2s.out" "$OUT/hist_1d.out" "$now_ms" <<'PY'
import json, sys, datetime
short, full, now = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
assert short["window_s"] == 2 and full["window_s"] == 86400, (short["window_s"], full["window_s"])
assert 0 < short["count"] < full["count"], (short["count"], full["count"])
assert short["count"] == len(short["results"]) and full["count"] == len(full["results"])
for r in short["results"]:
    ts = datetime.datetime.strptime(r["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    assert ts.timestamp() * 1000 >= now - 2000 - 1000, r   # 1 s slack for the two runs
PY
pctl hist_pd history post-detail --db "$DB" --since 1h
check "history text: 502s and the summary line" \
	bash -c "[ $RC = 0 ] && grep -q 'http_5xx' '$OUT/hist_pd.out' && grep -Eq '^post-detail over 1h: [0-9]+ results, [0-9]+ failed, error rate [0-9.]+%, p50 [0-9.]+ ms, p95 [0-9.]+ ms, p99 [0-9.]+ ms$' '$OUT/hist_pd.out'"

# ---- canary: probectl on probes whose URL holds the key
pctl canary_check check -c "$CFG" keyurl keypath userid
check "check on the key-in-URL probes: exit 2 (keypath is 404)" [ "$RC" = 2 ]
pctl canary_check_json check -c "$CFG" keyurl keypath userid --json
pctl canary_hist_k history keypath --db "$DB" --since 1h
pctl canary_hist_kj history keypath --db "$DB" --since 1h --json
pctl canary_hist_u history keyurl --db "$DB" --since 1h --json
pctl canary_validate validate -c "$CFG"

stop_pid "$PROBED_PID" 20
check "SIGTERM exits 0" [ "$STOP_RC" = 0 ]
pctl status_after status --db "$DB" --json
check "status after probed stopped: exit 0" [ "$RC" = 0 ]

check "the outputs were really collected" [ "$(find "$OUT" -type f | wc -l)" -gt 250 ]
leaks=$(grep -rlaF -- "$KEY" "$OUT" || true)
check "canary key in no probectl output (${leaks:-none})" [ -z "$leaks" ]
check "canary key not in probed's log or database" not grep -qaF -- "$KEY" "$PD_TMP/probed.log" "$DB"*
pd_finish
