#!/usr/bin/env bash
# Configuration errors and live reloads, for real:
#  - `probed -c BAD` and `probectl validate -c BAD` exit 78 with every FILE:LINE:COL line;
#    an unset ${VAR} is a config error too; a good file validates (0);
#  - SIGHUP with an invalid (or vanished) file logs the error, keeps the running config
#    and keeps probing;
#  - SIGHUP with a valid file is a mark-and-sweep by name: an added probe starts, a
#    removed one stops (and a page it had open is resolved, "probe removed from
#    configuration"), an unchanged probe keeps its state (no second trigger while it is
#    still down, exactly one resolve after recovery);
#  - SIGTERM exits 0, in bounded time, with its shutdown lines in the log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

FIX=$PD_SRC/tests/fixtures/config
unset PROBED_TEST_SURELY_UNSET PROBED_IT_UNSET_VAR

# ---- config errors: probed and probectl validate ----------------------------------------

# cfg_error FILE EXPECTED_LINE...: probed -c FILE and probectl validate -c FILE both exit
# 78 and print exactly the expected lines (each "FILE:" + line) on stderr, nothing on
# stdout.
cfg_error() {
	local file=$1 rc l
	shift
	: >"$PD_TMP/want.txt"
	for l in "$@"; do
		printf '%s:%s\n' "$file" "$l" >>"$PD_TMP/want.txt"
	done
	rc=0
	"$PROBED_BIN" -c "$file" --db "$PD_TMP/never.db" >"$PD_TMP/out.txt" 2>"$PD_TMP/err.txt" || rc=$?
	if [ "$rc" != 78 ]; then
		echo "probed -c $file: exit $rc, want 78" >&2
		return 1
	fi
	if ! diff -u "$PD_TMP/want.txt" "$PD_TMP/err.txt" >&2 || [ -s "$PD_TMP/out.txt" ]; then
		echo "probed -c $file: unexpected output" >&2
		return 1
	fi
	rc=0
	"$PROBECTL_BIN" validate -c "$file" >"$PD_TMP/out.txt" 2>"$PD_TMP/err.txt" || rc=$?
	if [ "$rc" != 78 ]; then
		echo "probectl validate -c $file: exit $rc, want 78" >&2
		return 1
	fi
	if ! diff -u "$PD_TMP/want.txt" "$PD_TMP/err.txt" >&2 || [ -s "$PD_TMP/out.txt" ]; then
		echo "probectl validate -c $file: unexpected output" >&2
		return 1
	fi
	return 0
}

check "bad_multi: every error, in file order, exit 78" cfg_error "$FIX/bad_multi.yaml" \
	"3:12: timeout: must be greater than 0" \
	"4:25: failures_before_page: expected an integer from 1 to 100, got '0'" \
	"8:11: tier: must be core, secondary or site, got 'primary'" \
	"9:11: name: invalid name 'bad name!' (1-64 characters from A-Z a-z 0-9 _ . -)" \
	"13:7: unknown key 'colour' (expected one of: status, max_latency, json)"
check "bad_unknown_top: missing and unknown keys" cfg_error "$FIX/bad_unknown_top.yaml" \
	"1:1: missing required key 'probes'" \
	"3:1: unknown key 'probe' (did you mean 'probes'?)"
check "bad_duration" cfg_error "$FIX/bad_duration.yaml" \
	"2:13: interval: invalid duration '30sec' (a number with a unit: ms, s, m, h, d; e.g. 500ms, 30s, 1m30s)"
check "bad_url: both URLs" cfg_error "$FIX/bad_url.yaml" \
	"3:10: url: invalid URL 'ftp://api.tikliveapi.com/userid/': scheme must be http or https" \
	"5:10: url: invalid URL 'https:///userid/': expected scheme://host/..."
check "bad_duplicate: duplicate probe name" cfg_error "$FIX/bad_duplicate.yaml" \
	"7:11: duplicate probe name 'userid' (first defined at 2:11)"
check "bad_unset_var fixture: unset \${VAR}" cfg_error "$FIX/bad_unset_var.yaml" \
	"3:16: environment variable PROBED_TEST_SURELY_UNSET is not set"
check "bad_syntax: YAML error with position, in words that say what to fix" \
	cfg_error "$FIX/bad_syntax.yaml" \
	"4:4: bad indentation: inside a list, a line must start a new item ('- ') or line up with the keys of the item above it (YAML: did not find expected '-' indicator, while parsing a block collection at 2:3)"
check "bad_tab: a tab in the indentation" cfg_error "$FIX/bad_tab.yaml" \
	"3:1: a tab character: YAML indentation must use spaces"
check "bad_schema_unknown: misspelt JSON Schema keywords at the key, with a did-you-mean" \
	cfg_error "$FIX/bad_schema_unknown.yaml" \
	"8:9: json: unknown JSON Schema keyword 'requird' (did you mean 'required'?)" \
	"13:13: json: unknown JSON Schema keyword 'minLenght' (did you mean 'minLength'?)" \
	"16:13: json: unknown JSON Schema keyword 'id' (did you mean 'if'? a property goes under 'properties')" \
	"17:13: json: unknown JSON Schema keyword 'propertys' (did you mean 'properties'?)"

for f in good_minimal good_overrides good_schema_keywords; do
	rc=0
	"$PROBECTL_BIN" validate -c "$FIX/$f.yaml" >"$PD_TMP/out.txt" 2>"$PD_TMP/err.txt" || rc=$?
	check "probectl validate $f.yaml exits 0" [ "$rc" = 0 ]
	check "probectl validate $f.yaml: OK line, quiet stderr" \
		bash -c "grep -q '^$FIX/$f.yaml: OK (' '$PD_TMP/out.txt' && ! [ -s '$PD_TMP/err.txt' ]"
done

# ---- the daemon's config, with and without the key in the environment --------------------
KEY="canary-$RANDOM$RANDOM-reload"
start_simapi --key "$KEY"
start_receiver webhook
CFG=$PD_TMP/probes.yaml
DB=$PD_TMP/probed.db
write_config "$PD_TMP/v1.yaml" 1s 300ms
# one incident per probe here (no correlation), so each probe's page can be followed
printf 'classify:\n  correlation_window: 0s\n' >>"$PD_TMP/v1.yaml"
cp "$PD_TMP/v1.yaml" "$CFG"

unset TIKLIVE_TEST_KEY
rc=0
"$PROBED_BIN" -c "$CFG" >"$PD_TMP/out.txt" 2>"$PD_TMP/err.txt" || rc=$?
check "probed with \${TIKLIVE_TEST_KEY} unset exits 78" [ "$rc" = 78 ]
check "... and names FILE:LINE:COL and the variable" \
	grep -Eq "^$CFG:[0-9]+:[0-9]+: environment variable TIKLIVE_TEST_KEY is not set$" "$PD_TMP/err.txt"
check "... and created no database" [ ! -e "$DB" ]
rc=0
"$PROBECTL_BIN" validate -c "$CFG" >"$PD_TMP/out.txt" 2>"$PD_TMP/err2.txt" || rc=$?
check "probectl validate with the variable unset exits 78" [ "$rc" = 78 ]
check "... with the same line as probed" diff -u "$PD_TMP/err.txt" "$PD_TMP/err2.txt"

export TIKLIVE_TEST_KEY=$KEY
rc=0
"$PROBECTL_BIN" validate -c "$CFG" >"$PD_TMP/out.txt" 2>&1 || rc=$?
check "probectl validate of the daemon's config exits 0" [ "$rc" = 0 ]

# ---- start, and bring two probes down ------------------------------------------------------
start_probed "$CFG"

# results_gt NAME N: more than N results stored for NAME.
results_gt() {
	[ "$(probe_results "$DB" "$1")" -gt "$2" ]
}
check "all three probes get results" wait_for 15 \
	bash -c "for n in userid userinfo post-detail; do [ \"\$(\"\$PROBECTL_BIN\" history \$n --db '$DB' --json | \"\$PYTHON\" -c 'import json,sys; print(json.load(sys.stdin)[\"count\"])')\" -ge 2 ] || exit 1; done"

TRIG_PD='b.get("event")=="trigger" and b.get("probe")=="post-detail"'
RES_PD='b.get("event")=="resolve" and b.get("probe")=="post-detail"'
TRIG_UI='b.get("event")=="trigger" and b.get("probe")=="userinfo"'
RES_UI='b.get("event")=="resolve" and b.get("probe")=="userinfo"'
sim_mode post-detail 502
sim_mode userinfo-by-username 502
check "post-detail pages (502)" wait_for 15 received_ge 1 "$WEBHOOK_OUT" "$TRIG_PD"
check "userinfo pages (502)" wait_for 15 received_ge 1 "$WEBHOOK_OUT" "$TRIG_UI"

# ---- SIGHUP with an invalid file: keep running the old config -------------------------------
printf 'defaults:\n  interval: 1s\n  intervall: 2s\nprobes: []\n' >"$PD_TMP/bad.yaml"
mv "$PD_TMP/bad.yaml" "$CFG"
n_uid=$(probe_results "$DB" userid)
n_ui=$(probe_results "$DB" userinfo)
n_pd=$(probe_results "$DB" post-detail)
kill -HUP "$PROBED_PID"
check "invalid reload logged with FILE:LINE:COL and 'keeping the running configuration'" \
	wait_for 5 grep -Fq "reload: $CFG:3:3: unknown key 'intervall' (did you mean 'interval'?); keeping the running configuration" \
	"$PD_TMP/probed.log"
check "no config applied after the invalid reload" not grep -q "config .* applied" "$PD_TMP/probed.log"
check "userid still probed after the invalid reload" wait_for 5 results_gt userid "$n_uid"
check "userinfo still probed after the invalid reload" wait_for 5 results_gt userinfo "$n_ui"
check "post-detail still probed after the invalid reload" wait_for 5 results_gt post-detail "$n_pd"
check "probed alive after the invalid reload" not pid_gone "$PROBED_PID"

# a file that vanished is no better
rm -f "$CFG"
kill -HUP "$PROBED_PID"
check "missing file on reload: logged, old config kept" \
	wait_for 5 grep -q "reload: $CFG: No such file or directory; keeping the running configuration" \
	"$PD_TMP/probed.log"
# and an unset ${VAR} is rejected on reload as well
sed 's/\${TIKLIVE_TEST_KEY}/${PROBED_IT_UNSET_VAR}/' "$PD_TMP/v1.yaml" >"$PD_TMP/unset.yaml"
mv "$PD_TMP/unset.yaml" "$CFG"
kill -HUP "$PROBED_PID"
check "unset \${VAR} on reload: logged, old config kept" \
	wait_for 5 grep -Eq "reload: $CFG:[0-9]+:[0-9]+: environment variable PROBED_IT_UNSET_VAR is not set; keeping the running configuration" \
	"$PD_TMP/probed.log"
n_uid=$(probe_results "$DB" userid)
check "probing continues after three bad reloads" wait_for 5 results_gt userid "$n_uid"
check "probed alive after three bad reloads" not pid_gone "$PROBED_PID"
check "no resolve was sent by a rejected reload" received_is 0 "$WEBHOOK_OUT" 'b.get("event")=="resolve"'

# ---- SIGHUP with a valid file: add userid-copy, remove userinfo, keep post-detail ------------
# v2 = v1 without the userinfo probe, plus a new probe "userid-copy".
"$PYTHON" - "$PD_TMP/v1.yaml" "$PD_TMP/v2.yaml" <<'PY'
import sys
src = open(sys.argv[1]).read()
head, rest = src.split("probes:\n", 1)
probes, notify = rest.split("notify:\n", 1)
blocks = ["  - name:" + b for b in probes.split("  - name:")[1:]]
keep = [b for b in blocks if not b.startswith("  - name: userinfo\n")]
assert len(keep) == 2, blocks
uid = [b for b in keep if b.startswith("  - name: userid\n")][0]
copy = uid.replace("  - name: userid\n", "  - name: userid-copy\n", 1)
open(sys.argv[2], "w").write(head + "probes:\n" + "".join(keep) + copy + "notify:\n" + notify)
PY
check "v2 config validates" "$PROBECTL_BIN" validate -c "$PD_TMP/v2.yaml"
cp "$PD_TMP/v2.yaml" "$PD_TMP/v2.tmp"
mv "$PD_TMP/v2.tmp" "$CFG"
kill -HUP "$PROBED_PID"
check "valid reload applied: 1 added, 2 kept, 1 removed" \
	wait_for 5 grep -q "config $CFG applied: 3 probes (1 added, 2 kept, 1 removed), 1 notify targets" \
	"$PD_TMP/probed.log"
check "log names the removed probe" grep -q "probe userinfo: removed from configuration" "$PD_TMP/probed.log"
sleep 0.5 # a userinfo transfer in flight at the reload is dropped, not stored
n_ui=$(probe_results "$DB" userinfo)
check "the added probe gets results" wait_for 10 results_gt userid-copy 1
check "the added probe is green" bash -c "\"\$PROBECTL_BIN\" history userid-copy --db '$DB' --json |
	\"\$PYTHON\" -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d[\"count\"]>=2 and d[\"failures\"]==0 else 1)'"
check "the removed probe, down at removal, is resolved" wait_for 10 received_ge 1 "$WEBHOOK_OUT" "$RES_UI"
check "... with reason 'probe removed from configuration' and the trigger's dedup_key" "$PYTHON" - "$WEBHOOK_OUT" <<'PY'
import json, sys
ev = [json.loads(l)["body"] for l in open(sys.argv[1]) if l.strip()]
t = [e for e in ev if e.get("probe") == "userinfo" and e["event"] == "trigger"]
r = [e for e in ev if e.get("probe") == "userinfo" and e["event"] == "resolve"]
assert len(t) == 1 and len(r) == 1, (t, r)
assert r[0]["reason"] == "probe removed from configuration", r[0]
assert r[0]["dedup_key"] == t[0]["dedup_key"], (t, r)
PY
sleep 3 # three intervals
check "the removed probe gets no more results" [ "$(probe_results "$DB" userinfo)" = "$n_ui" ]
check "the removed probe's state is no longer down" bash -c "\"\$PROBECTL_BIN\" status --db '$DB' --json |
	\"\$PYTHON\" -c 'import json,sys; s={p[\"name\"]:p for p in json.load(sys.stdin)[\"probes\"]}; sys.exit(0 if s[\"userinfo\"][\"state\"]==\"up\" else 1)'"

# post-detail is unchanged and still failing: it keeps its page, it does not page again
n_pd=$(probe_results "$DB" post-detail)
check "the kept probe is still probed" wait_for 5 results_gt post-detail "$((n_pd + 1))"
check "no second trigger for the kept, still-down probe" received_is 1 "$WEBHOOK_OUT" "$TRIG_PD"
check "no resolve for the kept probe while it is down" received_is 0 "$WEBHOOK_OUT" "$RES_PD"
check "status: post-detail still down with its page" bash -c "\"\$PROBECTL_BIN\" status --db '$DB' --json |
	\"\$PYTHON\" -c 'import json,sys; s={p[\"name\"]:p for p in json.load(sys.stdin)[\"probes\"]}; p=s[\"post-detail\"]; sys.exit(0 if p[\"state\"]==\"down\" and p[\"consecutive_failures\"]>=4 and p[\"last_page\"] else 1)'"

sim_mode post-detail ok
check "the kept probe resolves after recovery" wait_for 15 received_ge 1 "$WEBHOOK_OUT" "$RES_PD"
sleep 2
check "exactly one resolve for the kept probe" received_is 1 "$WEBHOOK_OUT" "$RES_PD"
check "exactly one trigger for the kept probe" received_is 1 "$WEBHOOK_OUT" "$TRIG_PD"
check "its resolve carries the dedup_key of the trigger from before the reload" "$PYTHON" - "$WEBHOOK_OUT" <<'PY'
import json, sys
ev = [json.loads(l)["body"] for l in open(sys.argv[1]) if l.strip()]
t = [e for e in ev if e.get("probe") == "post-detail" and e["event"] == "trigger"]
r = [e for e in ev if e.get("probe") == "post-detail" and e["event"] == "resolve"]
assert t[0]["dedup_key"] == r[0]["dedup_key"], (t, r)
PY
check "exactly one resolve for the removed probe" received_is 1 "$WEBHOOK_OUT" "$RES_UI"
check "no page at all for userid or userid-copy" received_is 0 "$WEBHOOK_OUT" 'b.get("probe") in ("userid","userid-copy")'

# ---- re-adding the removed probe while its endpoint still fails: a new outage, a new key ---
cp "$PD_TMP/v1.yaml" "$PD_TMP/v3.tmp"
mv "$PD_TMP/v3.tmp" "$CFG"
kill -HUP "$PROBED_PID"
check "re-add applied: 1 added, 2 kept, 1 removed" \
	wait_for 5 bash -c "[ \"\$(grep -c 'config $CFG applied: 3 probes (1 added, 2 kept, 1 removed)' '$PD_TMP/probed.log')\" = 2 ]"
check "the re-added, still failing probe pages again" wait_for 15 received_ge 2 "$WEBHOOK_OUT" "$TRIG_UI"
check "... as a new outage with a new dedup_key" "$PYTHON" - "$WEBHOOK_OUT" <<'PY'
import json, sys
ev = [json.loads(l)["body"] for l in open(sys.argv[1]) if l.strip()]
t = [e for e in ev if e.get("probe") == "userinfo" and e["event"] == "trigger"]
assert len(t) == 2 and t[0]["dedup_key"] != t[1]["dedup_key"], t
PY
sim_mode userinfo-by-username ok
check "the re-added probe resolves" wait_for 15 received_ge 2 "$WEBHOOK_OUT" "$RES_UI"

# ---- SIGTERM: drain in-flight work, exit 0 -------------------------------------------------
sim_mode userid slow:700 # make in-flight work likely at the signal
sleep 1
t0=${EPOCHREALTIME/./}
stop_pid "$PROBED_PID" 20
t1=${EPOCHREALTIME/./}
secs=$(((t1 - t0) / 1000000))
echo "SIGTERM -> exit took ${secs}s"
check "SIGTERM exits 0" [ "$STOP_RC" = 0 ]
check "SIGTERM exit within 10 s (timeout 2s + drain)" [ "$secs" -lt 10 ]
check "log: SIGTERM: shutting down" grep -q "SIGTERM: shutting down" "$PD_TMP/probed.log"
check "log: shutdown: finishing N in-flight transfers" grep -Eq "shutdown: finishing [0-9]+ in-flight transfers" "$PD_TMP/probed.log"
check "log: shutdown: in-flight work finished (not aborted)" grep -q "shutdown: in-flight work finished" "$PD_TMP/probed.log"
check "log: no aborted transfers" not grep -q "still running after" "$PD_TMP/probed.log"
check "log: probed stopped" grep -q "probed stopped" "$PD_TMP/probed.log"
check "the canary key is in no log or database" not grep -qaF -- "$KEY" "$PD_TMP"/probed.log "$DB"* "$WEBHOOK_OUT"
pd_finish
