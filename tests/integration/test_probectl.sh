#!/usr/bin/env bash
# probectl against the real thing on loopback:
#  - -h/--help/--version of both programs, per-command help, unknown options and extra
#    arguments rejected with 64;
#  - check: the table and --json, exit 0 / 1 slow / 2 (Nagios), one probe by name, unknown
#    name 3, a closed port is a "connect" failure, a hang is a "timeout", bad config 78;
#    --nagios: the plugin line with perfdata, 0/1/2/3, a bad config is UNKNOWN (3);
#  - every --json output: {"format": "probed.<cmd>/1", ...}, unknown values null, never -1;
#  - which database: --db, else store.path of -c / PROBED_CONFIG even with a secret unset,
#    never a silent switch to the default; probed honours PROBED_CONFIG too;
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

# ================================================================ help, version, arguments
for prog in "$PROBECTL_BIN" "$PROBED_BIN"; do
	b=$(basename "$prog")
	for h in -h --help; do
		RC=0
		"$prog" "$h" >"$OUT/help_$b$h.out" 2>"$OUT/help_$b$h.err" || RC=$?
		check "$b $h: exit 0, usage on stdout, quiet stderr" \
			bash -c "[ $RC = 0 ] && grep -q '^usage: $b ' '$OUT/help_$b$h.out' && [ ! -s '$OUT/help_$b$h.err' ]"
	done
	RC=0
	"$prog" --version >"$OUT/version_$b.out" 2>&1 || RC=$?
	check "$b --version: exit 0, '$b VERSION'" \
		bash -c "[ $RC = 0 ] && grep -Eqx '$b [0-9]+\.[0-9]+\.[0-9]+' '$OUT/version_$b.out'"
done
pctl noargs
check "probectl without a command: exit 64, the command list on stderr, nothing on stdout" \
	bash -c "[ $RC = 64 ] && grep -q '^  status ' '$OUT/noargs.err' && [ ! -s '$OUT/noargs.out' ]"
# every command of the list has its own usage: synopsis, options or arguments, exit codes
cmds=$("$PROBECTL_BIN" help | awk '/^  [a-z]/ {print $1}')
check "probectl help lists the 15 commands" [ "$(echo $cmds)" = "validate reload check status history schema incidents incident postmortem drill runbooks outbox silence slo help" ]
for cmd in $cmds; do
	pctl "help_$cmd" help "$cmd"
	pctl "help2_$cmd" "$cmd" --help
	check "probectl help $cmd = probectl $cmd --help: exit 0, its own usage, not the list" \
		bash -c "[ $RC = 0 ] && cmp -s '$OUT/help_$cmd.out' '$OUT/help2_$cmd.out' &&
			head -1 '$OUT/help_$cmd.out' | grep -q '^usage: probectl $cmd' &&
			grep -q '^Exit status' '$OUT/help_$cmd.out' && ! grep -q '^Commands:' '$OUT/help_$cmd.out'"
done
pctl help_status_h status -h
check "probectl status -h: the status usage with its options" \
	bash -c "grep -q -- '--db FILE' '$OUT/help_status_h.out' && grep -q -- '--json' '$OUT/help_status_h.out' && ! grep -q -- '--since' '$OUT/help_status_h.out'"
check "probectl help check documents --nagios and the exit codes 0-3" \
	bash -c "grep -q -- '--nagios' '$OUT/help_check.out' && grep -Eq '^  1 +WARNING' '$OUT/help_check.out' && grep -Eq '^  3 +UNKNOWN' '$OUT/help_check.out'"
# usage errors: 64 and a message that names the problem
usage_err() { # NAME WANT_STDERR_REGEX ARGS...
	local name=$1 want=$2
	shift 2
	pctl "$name" "$@"
	[ "$RC" = 64 ] && grep -Eq -- "$want" "$OUT/$name.err" && [ ! -s "$OUT/$name.out" ]
}
check "status EXTRA: 64, unexpected argument" usage_err u1 "unexpected argument 'extra'" status --db /nonexistent extra
check "validate -c F EXTRA: 64" usage_err u2 "unexpected argument 'x.yaml'" validate -c /nonexistent x.yaml
check "incidents EXTRA: 64" usage_err u3 "unexpected argument '5'" incidents 5
check "incident 1 2: 64" usage_err u4 "unexpected argument '2'" incident 1 2
check "history without NAME: 64" usage_err u5 "history needs 1 argument" history
check "status --since: 64, status does not take --since" usage_err u6 "status does not take --since" status --since 1h
check "validate --json: 64" usage_err u7 "validate does not take --json" validate --json
check "an unknown option: 64" usage_err u8 "unknown option '--bogus'" status --bogus
check "an option without its argument: 64" usage_err u9 "option '--db' needs an argument" status --db
check "an unknown command: 64" usage_err u10 "unknown command 'stauts'" stauts
check "--help used to be an unknown command: not any more" not grep -q unknown "$OUT/help_probectl--help.err"
check "help NOPE: 64" usage_err u11 "unknown command 'nope'" help nope
pctl u12 check --json --nagios
check "check --json --nagios: UNKNOWN (3) on stdout" \
	bash -c "[ $RC = 3 ] && grep -q '^PROBED UNKNOWN - probectl: --json and --nagios exclude each other' '$OUT/u12.out'"
pctl u13 check --nagios --bogus
check "check --nagios with a bad option: UNKNOWN (3), never 64" \
	bash -c "[ $RC = 3 ] && grep -q \"^PROBED UNKNOWN - probectl: unknown option '--bogus'\" '$OUT/u13.out'"
RC=0
"$PROBED_BIN" extra >"$OUT/probed_extra.out" 2>"$OUT/probed_extra.err" || RC=$?
check "probed EXTRA: 64, unexpected argument" \
	bash -c "[ $RC = 64 ] && grep -q \"unexpected argument 'extra'\" '$OUT/probed_extra.err'"
RC=0
"$PROBED_BIN" --bogus >"$OUT/probed_bogus.out" 2>"$OUT/probed_bogus.err" || RC=$?
check "probed --bogus: 64" bash -c "[ $RC = 64 ] && grep -q -- '--bogus' '$OUT/probed_bogus.err'"

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
assert d["format"] == "probed.check/1" and d["status"] == "CRITICAL", d
d = d["probes"]
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
assert u["status"] == "OK" and p["status"] == "CRITICAL", (u, p)
assert u["max_latency_ms"] == 1500 and by["userinfo"]["max_latency_ms"] is None, by
assert all(r["timeout_ms"] == 2000 for r in d), d
'
check "check --json: nothing but JSON on stdout (no table)" not grep -q '^NAME' "$OUT/check_json.out"

sim_mode userid empty-id
pctl check_shape check -c "$CHK" userid --json
check "check, empty id: exit 2" [ "$RC" = 2 ]
check "check, empty id: shape verdict with path and keyword" pyc "$OUT/check_shape.out" \
	'd = d["probes"]; assert d[0]["outcome"] == "shape" and d[0]["verdict"] == "$.id: minLength 1, got \"\"", d'
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
	pyc "$OUT/check_closed_json.out" 'd = d["probes"]; assert d[0]["outcome"] == "connect" and d[0]["http_status"] is None and d[0]["ok"] is False, d'

sim_mode post-detail hang
t0=${EPOCHREALTIME/./}
pctl check_hang check -c "$CHK" post-detail --json
t1=${EPOCHREALTIME/./}
check "check, hanging endpoint: exit 2, outcome timeout" \
	bash -c "[ $RC = 2 ] && pyc '$OUT/check_hang.out' 'assert d[\"probes\"][0][\"outcome\"] == \"timeout\", d'"
check "check, hanging endpoint: bounded by the 2s timeout (< 6 s)" [ $(((t1 - t0) / 1000)) -lt 6000 ]
sim_mode '*' ok

# ---- slow answers: WARNING (1), in every mode
sim_mode userid slow:1800
pctl check_slow check -c "$CHK"
check "check, userid over max_latency: exit 1 (WARNING), not 2" [ "$RC" = 1 ]
check "check, slow: row SLOW 200 ... slow: latency N ms > max_latency 1500 ms" \
	grep -Eq '^userid +SLOW +200 +1[89][0-9]{2} ms +slow: latency 1[89][0-9]{2} ms > max_latency 1500 ms$' "$OUT/check_slow.out"
pctl check_slow_json check -c "$CHK" --json
check "check --json, slow: exit 1, status WARNING" \
	bash -c "[ $RC = 1 ] && pyc '$OUT/check_slow_json.out' 'assert d[\"status\"] == \"WARNING\" and [p[\"status\"] for p in d[\"probes\"] if p[\"name\"] == \"userid\"] == [\"WARNING\"], d'"

# ---- --nagios: the monitoring-plugins line
# nagios_line FILE REGEX: the first line of FILE matches REGEX (grep -E), the output has no
# other '|' than the perfdata separator of the first line
nagios_line() {
	head -1 "$1" | grep -Eq -- "$2" && [ "$(head -1 "$1" | tr -cd '|' | wc -c)" = 1 ] &&
		[ "$(tail -n +2 "$1" | tr -cd '|' | wc -c)" = 0 ]
}
LAT="[0-9]+\.[0-9]{3}s"
export -f nagios_line
export LAT
pctl nag_slow check -c "$CHK" --nagios
check "--nagios, slow: exit 1" [ "$RC" = 1 ]
check "--nagios, slow: PROBED WARNING - 1 of 3 probes slow: userid (...) | perfdata" \
	nagios_line "$OUT/nag_slow.out" "^PROBED WARNING - 1 of 3 probes slow: userid \(latency 1[89][0-9]{2} ms > max_latency 1500 ms\) \| 'userid_latency'=1\.[89][0-9]{2}s;1\.500;2\.000;0 'userid_http_status'=200;;;0 'userinfo_latency'=${LAT};;2\.000;0 'userinfo_http_status'=200;;;0 'post-detail_latency'=${LAT};;2\.000;0 'post-detail_http_status'=200;;;0\$"
check "--nagios: one long-output line per probe" \
	bash -c "[ \"\$(wc -l <'$OUT/nag_slow.out')\" = 4 ] && grep -Eq '^userid: WARNING, HTTP 200, [0-9]+ ms: slow: ' '$OUT/nag_slow.out' && grep -Eq '^userinfo: OK, HTTP 200, [0-9]+ ms$' '$OUT/nag_slow.out'"
sim_mode '*' ok
pctl nag_ok check -c "$CHK" --nagios
check "--nagios, all ok: exit 0, PROBED OK - 3 probes ok | perfdata" \
	bash -c "[ $RC = 0 ] && nagios_line '$OUT/nag_ok.out' \"^PROBED OK - 3 probes ok \\| 'userid_latency'=${LAT};1\\.500;2\\.000;0 'userid_http_status'=200;;;0 \""
check "--nagios: quiet stderr" [ ! -s "$OUT/nag_ok.err" ]
pctl nag_one check -c "$CHK" --nagios userinfo
check "--nagios NAME: 1 probe ok, its perfdata only" \
	bash -c "[ $RC = 0 ] && nagios_line '$OUT/nag_one.out' \"^PROBED OK - 1 probe ok \\| 'userinfo_latency'=${LAT};;2\\.000;0 'userinfo_http_status'=200;;;0\\\$\""
sim_mode post-detail 502
sim_mode userid slow:1800
pctl nag_crit check -c "$CHK" --nagios
check "--nagios, a 502 and a slow one: exit 2, CRITICAL first, then the slow one" \
	bash -c "[ $RC = 2 ] && nagios_line '$OUT/nag_crit.out' \"^PROBED CRITICAL - 1 of 3 probes failing: post-detail \\(http_5xx: status 502, expected 200-299\\); 1 slow: userid \\(latency [0-9]+ ms > max_latency 1500 ms\\) \\| .*'post-detail_http_status'=502;;;0\\\$\""
sim_mode '*' ok
pctl nag_closed check -c "$PD_TMP/closed.yaml" --nagios userid
check "--nagios, closed port: CRITICAL, http_status U" \
	bash -c "[ $RC = 2 ] && nagios_line '$OUT/nag_closed.out' \"^PROBED CRITICAL - 1 of 1 probe failing: userid \\(connect: .*\\) \\| 'userid_latency'=[0-9.]+s;1\\.500;2\\.000;0 'userid_http_status'=U;;;0\\\$\""
pctl nag_unknown check -c "$CHK" --nagios nope
check "--nagios, unknown probe: UNKNOWN (3) on stdout" \
	bash -c "[ $RC = 3 ] && grep -qx \"PROBED UNKNOWN - no probe named 'nope' in $CHK\" '$OUT/nag_unknown.out'"
pctl nag_bad check -c "$PD_SRC/tests/fixtures/config/bad_duplicate.yaml" --nagios
check "--nagios, bad config: UNKNOWN (3), never 78, FILE:LINE:COL on the output line" \
	bash -c "[ $RC = 3 ] && head -1 '$OUT/nag_bad.out' | grep -qx \"PROBED UNKNOWN - $PD_SRC/tests/fixtures/config/bad_duplicate.yaml:7:11: duplicate probe name 'userid' (first defined at 2:11)\""
pctl nag_missing check -c "$PD_TMP/does-not-exist.yaml" --nagios
check "--nagios, missing config: UNKNOWN (3)" \
	bash -c "[ $RC = 3 ] && grep -qx 'PROBED UNKNOWN - $PD_TMP/does-not-exist.yaml: No such file or directory' '$OUT/nag_missing.out'"
printf 'probes:\n  - name: a\n    url: nope\n  - name: b\n    url: http://h/\n    intervl: 1s\n' >"$PD_TMP/two-errors.yaml"
pctl nag_two check -c "$PD_TMP/two-errors.yaml" --nagios
check "--nagios, two config errors: the first on the line, '(and 1 more)', the other below" \
	bash -c "[ $RC = 3 ] && head -1 '$OUT/nag_two.out' | grep -Eq '^PROBED UNKNOWN - $PD_TMP/two-errors.yaml:3:10: .* \(and 1 more\)$' &&
		sed -n 2p '$OUT/nag_two.out' | grep -q '^$PD_TMP/two-errors.yaml:6:5: '"

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
check "schema with one argument: exit 64 and usage" \
	bash -c "[ $RC = 64 ] && grep -q usage '$OUT/schema_usage.err'"
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

# probed reads PROBED_CONFIG when -c is not given, and -c wins over it (as for probectl)
BADCFG=$PD_SRC/tests/fixtures/config/bad_duplicate.yaml
RC=0
PROBED_CONFIG="$PD_TMP/does-not-exist.yaml" "$PROBED_BIN" -c "$BADCFG" >"$OUT/probed_cwins.out" 2>"$OUT/probed_cwins.err" || RC=$?
check "probed: -c wins over PROBED_CONFIG" \
	bash -c "[ $RC = 78 ] && grep -q '^$BADCFG:7:11: ' '$OUT/probed_cwins.err'"
RC=0
PROBED_CONFIG="$BADCFG" "$PROBED_BIN" >"$OUT/probed_env.out" 2>"$OUT/probed_env.err" || RC=$?
check "probed: PROBED_CONFIG names the configuration without -c" \
	bash -c "[ $RC = 78 ] && grep -q '^$BADCFG:7:11: ' '$OUT/probed_env.err'"
# the daemon of this test runs from PROBED_CONFIG: its results land in store.path of $CFG
PROBED_CONFIG="$CFG" "$PROBED_BIN" >>"$PD_TMP/probed.log" 2>&1 &
PROBED_PID=$!
pd_track "$PROBED_PID"
check "probed is writing results" wait_for 15 bash -c "[ \"\$(\"\$PROBECTL_BIN\" history load-00 --db '$DB' --json 2>/dev/null | \"\$PYTHON\" -c 'import json,sys; print(json.load(sys.stdin)[\"count\"])' 2>/dev/null || echo 0)\" -ge 3 ]"
# probes start spread over their interval: wait until every one has a result (a loaded
# machine gets there later), so the database checks below read a settled table
check "every probe has a result" wait_for 30 bash -c "\"\$PROBECTL_BIN\" status --db '$DB' --json 2>/dev/null | \"\$PYTHON\" -c 'import json,sys; p=json.load(sys.stdin)[\"probes\"]; sys.exit(0 if len(p) >= 35 and all(x.get(\"ts\") for x in p) else 1)'"
sim_mode post-detail 502
# it pages alone, or joins the open incident (which does not page again: one incident,
# one trigger per target)
check "post-detail pages (alone or joining the open incident)" wait_for 15 bash -c \
	"'$PROBECTL_BIN' incidents --open --db '$DB' --json | '$PYTHON' -c 'import json,sys; sys.exit(0 if any(\"post-detail\" in i[\"probes\"] for i in json.load(sys.stdin)[\"incidents\"]) else 1)'"
check "and the incident it is in was paged" wait_for 15 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="trigger"'

# ---- which database: --db, else store.path of -c / PROBED_CONFIG / the default config,
# read even when a secret of that config is unset here; never a silent switch
# penv NAME ENV-ARGS... -- ARGS...: pctl under `env ENV-ARGS`
penv() {
	local name=$1 e=()
	shift
	while [ "$1" != "--" ]; do e+=("$1"); shift; done
	shift
	RC=0
	env "${e[@]}" "$PROBECTL_BIN" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || RC=$?
}
penv db_validate -u TIKLIVE_TEST_KEY -- validate -c "$CFG"
check "the key's variable unset: the config does not load (validate 78)" [ "$RC" = 78 ]
penv db_c -u TIKLIVE_TEST_KEY -u PROBED_CONFIG -- status -c "$CFG" --json
check "status -c CFG with the secret unset: exit 0, reads store.path of CFG" \
	bash -c "[ $RC = 0 ] && pyc '$OUT/db_c.out' 'assert d[\"database\"] == \"$DB\" and len(d[\"probes\"]) >= 35, d[\"database\"]'"
penv db_env -u TIKLIVE_TEST_KEY PROBED_CONFIG="$CFG" -- status --json
check "PROBED_CONFIG=CFG status with the secret unset: the same database" \
	bash -c "[ $RC = 0 ] && pyc '$OUT/db_env.out' 'assert d[\"database\"] == \"$DB\" and len(d[\"probes\"]) >= 35, d[\"database\"]'"
penv db_hist -u TIKLIVE_TEST_KEY -u PROBED_CONFIG -- history userid -c "$CFG" --json
check "history -c CFG with the secret unset: exit 0, results" \
	bash -c "[ $RC = 0 ] && pyc '$OUT/db_hist.out' 'assert d[\"database\"] == \"$DB\" and d[\"count\"] > 0, d[\"count\"]'"
penv db_inc -u TIKLIVE_TEST_KEY PROBED_CONFIG="$CFG" -- incidents --json
check "incidents via PROBED_CONFIG with the secret unset: exit 0, this database" \
	bash -c "[ $RC = 0 ] && pyc '$OUT/db_inc.out' 'assert d[\"database\"] == \"$DB\", d'"
printf 'store:\n  path: %s/other.db\nprobes: []\n' "$PD_TMP" >"$PD_TMP/other.yaml"
penv db_cwins PROBED_CONFIG="$CFG" -- status -c "$PD_TMP/other.yaml"
check "-c wins over PROBED_CONFIG; a missing database names its file and where it came from" \
	bash -c "[ $RC = 3 ] && grep -qxF 'probectl: no database at $PD_TMP/other.db (has probed run?); it is store.path of $PD_TMP/other.yaml (-c)' '$OUT/db_cwins.err'"
printf 'store:\n  path: %s/probed.db\n  bad: [\n' "$PD_TMP" >"$PD_TMP/broken.yaml"
penv db_broken -u PROBED_CONFIG -- status -c "$PD_TMP/broken.yaml"
check "a config that cannot name its database: 78 with FILE:LINE:COL, not the default database" \
	bash -c "[ $RC = 78 ] && grep -q '^probectl: cannot tell which database to read: $PD_TMP/broken.yaml:[0-9]*:[0-9]*: ' '$OUT/db_broken.err' &&
		! grep -q /var/lib/probed '$OUT/db_broken.err' && [ ! -s '$OUT/db_broken.out' ]"
printf 'store:\n  paht: %s/probed.db\nprobes: []\n' "$PD_TMP" >"$PD_TMP/typo.yaml"
penv db_typo -u PROBED_CONFIG -- status -c "$PD_TMP/typo.yaml"
check "a typo in store: 78 (unknown key 'paht'), not the default database" \
	bash -c "[ $RC = 78 ] && grep -qF \"$PD_TMP/typo.yaml:2:3: unknown key 'paht'\" '$OUT/db_typo.err'"
penv db_missing PROBED_CONFIG="$PD_TMP/nope.yaml" -- status
check "PROBED_CONFIG naming a missing file: 78, says so" \
	bash -c "[ $RC = 78 ] && grep -q 'nope.yaml: No such file or directory' '$OUT/db_missing.err' && grep -q PROBED_CONFIG '$OUT/db_missing.err'"
if [ ! -e /etc/probed/probes.yaml ]; then
	penv db_default -u PROBED_CONFIG -- status
	check "no --db, -c or PROBED_CONFIG, no /etc/probed/probes.yaml: the error names the default database and why" \
		bash -c "[ $RC = 3 ] && grep -qF 'probectl: no database at /var/lib/probed/probed.db (has probed run?); it is the default database: no --db, no -c or PROBED_CONFIG, and no /etc/probed/probes.yaml' '$OUT/db_default.err'"
else
	echo "note: /etc/probed/probes.yaml exists here; the default-database case is not checked"
fi

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
        assert doc["format"] == "probed.status/1", f
        assert isinstance(doc["probes"], list) and len(doc["probes"]) >= 35, f
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
assert d["format"] == "probed.status/1" and d["database"].endswith("/probed.db"), d.get("database")
d = d["probes"]
by = {p["name"]: p for p in d}
for n in ["userid", "userinfo", "post-detail", "keyurl", "keypath"] + ["load-%02d" % i for i in range(30)]:
    assert n in by, (n, sorted(by))
for p in d:
    assert isinstance(p["name"], str) and p["state"] in ("up", "failing", "down", "recovering"), p
    assert isinstance(p["up"], bool) and isinstance(p["consecutive_failures"], (int, float)), p
    assert "last_page" in p and (p["last_page"] is None or isinstance(p["last_page"], str)), p
u, pd, kp = by["userid"], by["post-detail"], by["keypath"]
assert u["state"] == "up" and u["up"] is True and u["consecutive_failures"] == 0 and u["last_page"] is None, u
assert u["delivery"] is None and u["incident"] is None and u["dedup_key"] is None and u["deliveries"] == [], u
assert u["ok"] is True and u["outcome"] == "ok" and u["http_status"] == 200, u
assert pd["state"] == "down" and pd["up"] is False and pd["consecutive_failures"] >= 2, pd
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", pd["last_page"]), pd
assert pd["outcome"] == "http_5xx" and pd["http_status"] == 502 and pd["ok"] is False, pd
# the webhook receiver is up: the page was delivered, and status says so per target
assert pd["delivery"] == "delivered" and isinstance(pd["incident"], int), pd
assert pd["dedup_key"].startswith("probed:inc-"), pd
w = [x for x in pd["deliveries"] if x["target"] == "oncall-webhook" and x["event"] == "trigger"]
assert len(w) == 1 and w[0]["state"] == "delivered" and w[0]["attempts"] >= 1, pd["deliveries"]
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", w[0]["delivered"]), w
assert w[0]["next_attempt"] is None and w[0]["last_error"] is None, w
assert kp["state"] == "down" and kp["http_status"] == 404 and kp["outcome"] == "http_4xx", kp
'
pctl status_text status --db "$DB"
check "status: table with post-detail down" \
	bash -c "grep -Eq '^NAME +STATE +FAILS' '$OUT/status_text.out' && grep -Eq '^post-detail +down +[0-9]+ ' '$OUT/status_text.out' && grep -Eq '^userid +up +0 ' '$OUT/status_text.out'"
check "status: post-detail's LAST PAGE says delivered" \
	grep -Eq '^post-detail +down .* [0-9hms]+ ago, delivered ' "$OUT/status_text.out"

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

# ---- every --json output: versioned, one rule for missing values
pctl hist_empty_json history userid --db "$DB" --since 1ms --json
check "history over an empty window: count 0, error_rate and percentiles null (not -1)" \
	bash -c "[ $RC = 0 ] && pyc '$OUT/hist_empty_json.out' 'assert d[\"count\"] == 0 and d[\"results\"] == [] and [d[k] for k in (\"error_rate\", \"p50_ms\", \"p95_ms\", \"p99_ms\")] == [None] * 4, d'"
pctl incidents_json incidents --db "$DB" --json
INC=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["incidents"][0]["id"])' "$OUT/incidents_json.out" 2>/dev/null || echo 0)
pctl incident_json incident "$INC" --db "$DB" --json
check "incidents --json / incident --json: exit 0" bash -c "[ $INC != 0 ] && [ $RC = 0 ]"
check "every --json output: probed.<command>/1, every result with the same keys, no -1 anywhere" \
	"$PYTHON" - "$OUT" <<'PY'
import glob, json, os, sys
RESULT = {"name", "ts", "ok", "outcome", "http_status", "total_ms", "dns_ms", "connect_ms",
          "tls_ms", "ttfb_ms", "body_size", "verdict"}
INCIDENT = {"id", "key", "severity", "mode", "mode_title", "runbook", "title", "reason",
            "evidence", "opened", "resolved", "open", "drill", "probes", "status_message",
            "delivery", "deliveries"}
DELIVERY = {"target", "event", "state", "attempts", "queued", "next_attempt", "delivered",
            "last_error"}
def walk(v, where):
    if isinstance(v, dict):
        for k, x in v.items():
            walk(x, where + "." + k)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            walk(x, "%s[%d]" % (where, i))
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        assert v != -1, where
seen = {}
for f in glob.glob(os.path.join(sys.argv[1], "**", "*.out"), recursive=True):
    try:
        d = json.load(open(f))
    except ValueError:
        continue
    cmd = d["format"].split("/")[0].split(".")[1]
    assert d["format"] == "probed.%s/1" % cmd, (f, d["format"])
    seen[cmd] = seen.get(cmd, 0) + 1
    walk(d, f)
    rows = {"check": d.get("probes"), "history": d.get("results")}.get(cmd) or []
    for r in rows:
        assert set(r) - {"status", "max_latency_ms", "timeout_ms"} == RESULT, (f, sorted(r))
    if cmd == "status":
        for p in d["probes"]:
            assert RESULT <= set(p), (f, sorted(p))
            for x in p["deliveries"]:
                assert set(x) == DELIVERY, (f, x)
    incs = d["incidents"] if cmd == "incidents" else [d] if cmd == "incident" else []
    for i in incs:
        assert INCIDENT <= set(i), (f, sorted(INCIDENT - set(i)))
        for x in i["deliveries"]:
            assert set(x) == DELIVERY, (f, x)
print("JSON outputs checked:", seen)
assert set(seen) == {"check", "status", "history", "incidents", "incident"}, seen
assert seen["status"] > 20 and seen["history"] > 20, seen
PY

check "the outputs were really collected" [ "$(find "$OUT" -type f | wc -l)" -gt 250 ]
leaks=$(grep -rlaF -- "$KEY" "$OUT" || true)
check "canary key in no probectl output (${leaks:-none})" [ -z "$leaks" ]
check "canary key not in probed's log or database" not grep -qaF -- "$KEY" "$PD_TMP/probed.log" "$DB"*
pd_finish
