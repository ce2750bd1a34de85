#!/usr/bin/env bash
# Issue 11: SLO burn-rate alerts end to end. A real daemon, its real SQLite file with a
# synthetic history inserted (sqlite3 CLI, probed's own schema; probed rebuilds the
# aggregates from the results on open), real receivers. The last hour of post-detail
# has 5 % errors against 99.9 % (burn 50: both page rules fire) -> one P2 burn-rate
# incident, paged through the normal routing with the budget figures and the runbook;
# userid is clean -> nothing. Every synthetic result took 80 ms: against post-detail's
# latency objective (90 % under 50 ms: burn 10, the 6x rule) a second P2 incident,
# userid's (95 % under 800 ms) is clean. probectl slo, /metrics, the status page show the
# figures; loosening the objectives (reload) resolves both incidents.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

export TIKLIVE_TEST_KEY="canary-$RANDOM-slo"
start_simapi --key "$TIKLIVE_TEST_KEY"
start_receiver webhook
start_receiver pager --kind pagerduty
write_config "$PD_TMP/probes.yaml" 5s 300ms
sed -i 's/^  retention: 1d$/  retention: 31d/' "$PD_TMP/probes.yaml"
HTTP_PORT=$(free_port)
printf 'http:\n  listen: 127.0.0.1:%s\n' "$HTTP_PORT" >>"$PD_TMP/probes.yaml"
cat >>"$PD_TMP/probes.yaml" <<'YAML'
slo:
  objectives:
    - family: post-detail
      availability: 99.9%
      over: 30d
      latency: {under: 50ms, target: 90%}
    - family: userid
      availability: 99.9%
      latency: {under: 800ms, target: 95%}
YAML
"$PROBECTL_BIN" validate -c "$PD_TMP/probes.yaml" >/dev/null || fail "config invalid"
DB=$PD_TMP/probed.db
export DB PYTHON
start_probed "$PD_TMP/probes.yaml"
check "probes running" wait_for 20 bash -c "[ \"\$(sqlite3 -readonly '$DB' 'select count(*) from results' 2>/dev/null || echo 0)\" -ge 3 ]"
stop_pid "$PROBED_PID" 10
check "no burn-rate alert on the live results alone" received_is 0 "$WEBHOOK_OUT" \
	'b.get("probe","").startswith("slo:")'

# ---- synthetic history: 29 days of OK results every 10 min for both families, then the
# last hour every 5 s: post-detail fails every 20th (5 %), userid none. seq 7 keeps the
# rows apart from live ones; the aggregates are dropped so that probed rebuilds them.
NOW=$(($(date +%s) * 1000))
sqlite3 "$DB" <<SQL
WITH RECURSIVE
  old(t) AS (SELECT $NOW - 29 * 86400000 UNION ALL SELECT t + 600000 FROM old WHERE t + 600000 < $NOW - 3600000),
  hr(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM hr WHERE k + 1 < 720)
INSERT INTO results (probe_id, ts_ms, seq, outcome, http_status, curl_code, dns_ms, connect_ms,
		     tls_ms, ttfb_ms, total_ms, body_size, lateness_us, verdict)
  SELECT p.id, t, 7, 0, 200, 0, 0, 0, 0, 50, 80, 100, 0, NULL
    FROM old CROSS JOIN probes p WHERE p.name IN ('post-detail', 'userid')
  UNION ALL
  SELECT p.id, $NOW - 3600000 + k * 5000, 7,
	 CASE WHEN p.name = 'post-detail' AND k % 20 = 19 THEN 5 ELSE 0 END,
	 CASE WHEN p.name = 'post-detail' AND k % 20 = 19 THEN 502 ELSE 200 END,
	 0, 0, 0, 0, 50, 80, 100, 0,
	 CASE WHEN p.name = 'post-detail' AND k % 20 = 19 THEN 'HTTP 502' END
    FROM hr CROSS JOIN probes p WHERE p.name IN ('post-detail', 'userid');
DELETE FROM agg_minute;
DELETE FROM agg_hour;
SQL
check "history inserted (2 x (4170 + 720) rows)" test "$(sqlite3 "$DB" 'select count(*) from results where seq = 7')" -ge 9700

start_probed "$PD_TMP/probes.yaml"
T='b.get("event")=="trigger" and b.get("probe")=="slo:post-detail"'
check "the burn pages within seconds" wait_for 30 received_ge 1 "$WEBHOOK_OUT" "$T"
check "as P2, with the SLO runbook" received_ge 1 "$WEBHOOK_OUT" \
	"$T and b['severity']=='P2' and b['runbook']=='runbooks/slo-burn-rate.md'"
check "the budget figures in the evidence" received_ge 1 "$WEBHOOK_OUT" \
	"$T and 'budget left' in b['evidence'] and 'SLO 99.9% over 30d' in b['evidence'] and '1h ' in b['evidence']"
check "the reason names the rule and its windows" received_ge 1 "$WEBHOOK_OUT" \
	"$T and 'over 1h' in b['reason'] and 'over 5m' in b['reason'] and 'page' in b['reason']"
check "PagerDuty gets it (P2 routes to page targets)" wait_for 10 received_ge 1 "$PAGER_OUT" \
	'b.get("event_action")=="trigger" and "Error budget burning on post-detail" in b["payload"]["summary"]'
check "userid (clean) does not alert" received_is 0 "$WEBHOOK_OUT" 'b.get("probe","").startswith("slo:userid")'
L='b.get("event")=="trigger" and b.get("probe")=="slo:post-detail/latency"'
check "the latency burn: a P2 incident of its own (6x over 6h and 30m)" wait_for 15 received_ge 1 "$WEBHOOK_OUT" \
	"$L and b['severity']=='P2' and 'Latency budget burning on post-detail' in b['summary'] and 'over 6h' in b['reason'] and 'SLO 90% under 50ms over 30d' in b['evidence']"
# the history's last 5 minutes (5 % errors) also trip the classifier's window rule: a
# probe incident of its own; the burn does not join it, nor it the burn
P='b.get("event")=="trigger" and b.get("probe")=="post-detail"'
check "the window rule's probe incident is a separate one" "$PYTHON" - "$WEBHOOK_OUT" <<'PY'
import json, sys
ks = {}
for line in open(sys.argv[1]):
    b = json.loads(line).get("body") or {}
    if b.get("event") == "trigger":
        ks.setdefault(b["probe"], set()).add(b["dedup_key"])
assert "slo:post-detail" in ks and "post-detail" in ks, ks
assert not (ks["slo:post-detail"] & ks["post-detail"]), ks
assert all(":slo-post-detail-" in k for k in ks["slo:post-detail"]), ks
PY
sleep 6
check "one trigger, not one per evaluation" received_is 1 "$WEBHOOK_OUT" "$T"

# ---- probectl slo
"$PROBECTL_BIN" slo -c "$PD_TMP/probes.yaml" --json >"$PD_TMP/slo.json"
check "probectl slo --json: format, both objectives" "$PYTHON" - "$PD_TMP/slo.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "probed.slo/1", d["format"]
o = {x["name"]: x for x in d["objectives"]}
assert set(o) == {"post-detail", "userid", "post-detail/latency", "userid/latency"}, o.keys()
assert o["post-detail/latency"]["sli_kind"] == "latency" and o["post-detail/latency"]["under"] == "50ms"
assert o["post-detail"]["sli_kind"] == "availability" and o["post-detail"]["under"] is None
assert [r["severity"] for r in d["rules"]] == ["P2", "P2", "P4", "P4"], d["rules"]
PY
check "post-detail: P2, burn 1h and 5m over 14.4, budget left = 1 - (failures/results)/0.001" \
	"$PYTHON" - "$PD_TMP/slo.json" <<'PY'
import json, sys
o = {x["name"]: x for x in json.load(open(sys.argv[1]))["objectives"]}["post-detail"]
assert o["alert"] == "P2" and o["alert_rule"] == 1, o
assert o["burn_rates"]["1h"] > 14.4 and o["burn_rates"]["5m"] > 14.4, o["burn_rates"]
assert o["failures"] == 36, o["failures"]
want = 1 - (o["failures"] / o["results"]) / 0.001
assert abs(o["budget_remaining"] - want) < 1e-9, (o["budget_remaining"], want)
assert abs(o["sli"] - (1 - o["failures"] / o["results"])) < 1e-12
assert abs(o["budget_minutes"] - 43.2) < 1e-9
assert o["exhaustion_seconds"] is None  # overspent: nothing left to lose
PY
check "latency: post-detail P2 on rule 2 (all 720 synthetic results slow), userid clean" \
	"$PYTHON" - "$PD_TMP/slo.json" <<'PY'
import json, sys
o = {x["name"]: x for x in json.load(open(sys.argv[1]))["objectives"]}
l = o["post-detail/latency"]
assert l["alert"] == "P2" and l["alert_rule"] == 2, l
assert l["failures"] >= 720 + 36 and l["burn_rates"]["6h"] > 6, l
u = o["userid/latency"]
assert u["alert"] is None and u["failures"] == 0 and u["sli"] == 1, u
PY
check "userid: clean, full budget, no alert" "$PYTHON" - "$PD_TMP/slo.json" <<'PY'
import json, sys
o = {x["name"]: x for x in json.load(open(sys.argv[1]))["objectives"]}["userid"]
assert o["alert"] is None and o["failures"] == 0 and o["sli"] == 1 and o["budget_remaining"] == 1, o
assert all(v == 0 for v in o["burn_rates"].values()), o
PY
"$PROBECTL_BIN" slo -c "$PD_TMP/probes.yaml" >"$PD_TMP/slo.txt"
check "probectl slo table: header and a P2 row" bash -c "head -1 '$PD_TMP/slo.txt' | grep -q 'BUDGET LEFT' && grep -E '^post-detail +99.9%/30d .* P2 ' '$PD_TMP/slo.txt' >/dev/null"
check "probectl slo table: userid never exhausted" grep -Eq '^userid +99.9%/30d +100.000% +100.0% +never +- ' "$PD_TMP/slo.txt"
check "probectl help slo" bash -c "'$PROBECTL_BIN' help slo | grep -q 'probed.slo/1'"

# ---- /metrics, the status page and /api/status
BASE=http://127.0.0.1:$HTTP_PORT
curl -fsS --max-time 5 -o "$PD_TMP/metrics.txt" "$BASE/metrics" || fail "no /metrics"
check "metrics: objective, SLI, budget, burn per window, alert severity" "$PYTHON" - "$PD_TMP/metrics.txt" "$PD_TMP/slo.json" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
def val(name, labels):
    m = re.search(r'^%s\{%s\} (\S+)$' % (re.escape(name), re.escape(labels)), text, re.M)
    assert m, (name, labels)
    return float(m.group(1))
for fam in ("probed_slo_objective_ratio", "probed_slo_sli_ratio",
            "probed_slo_error_budget_remaining_ratio", "probed_slo_burn_rate",
            "probed_slo_alert_severity", "probed_slo_period_seconds"):
    assert "# TYPE %s gauge" % fam in text, fam
A, L = ',sli="availability"', ',sli="latency"'
assert val("probed_slo_objective_ratio", 'slo="post-detail"' + A) == 0.999
assert val("probed_slo_objective_ratio", 'slo="post-detail"' + L) == 0.9
assert val("probed_slo_period_seconds", 'slo="post-detail"' + A) == 30 * 86400
assert val("probed_slo_alert_severity", 'slo="post-detail"' + A) == 2
assert val("probed_slo_alert_severity", 'slo="post-detail"' + L) == 2
assert val("probed_slo_alert_severity", 'slo="userid"' + A) == 0
assert val("probed_slo_burn_rate", 'slo="post-detail"' + A + ',window="1h"') > 14.4
assert val("probed_slo_burn_rate", 'slo="post-detail"' + L + ',window="6h"') > 6
assert val("probed_slo_burn_rate", 'slo="userid"' + A + ',window="3d"') == 0
# the same figures as probectl slo read a moment earlier (a few more live results since)
o = {x["name"]: x for x in json.load(open(sys.argv[2]))["objectives"]}["post-detail"]
assert abs(val("probed_slo_error_budget_remaining_ratio", 'slo="post-detail"' + A) - o["budget_remaining"]) < 0.05
assert val("probed_slo_error_budget_remaining_ratio", 'slo="userid"' + A) == 1
PY
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus)"
check "promtool check metrics passes with the probed_slo_* families" \
	sh -c "promtool check metrics <'$PD_TMP/metrics.txt' >'$PD_TMP/promtool.log' 2>&1"
cat "$PD_TMP/promtool.log"
curl -fsS --max-time 5 -o "$PD_TMP/page.html" "$BASE/" || fail "no status page"
check "status page: a budget bar per objective, the burning one marked" bash -c \
	"grep -q '<section id=\"budgets\">' '$PD_TMP/page.html' && grep -Eq 'data-slo=\"userid\" data-budget=\"1.0000\"' '$PD_TMP/page.html' && grep -q 'data-slo=\"post-detail/latency\"' '$PD_TMP/page.html' && grep -q 'burning (P2)' '$PD_TMP/page.html' && grep -q '100.0% left' '$PD_TMP/page.html'"
curl -fsS --max-time 5 -o "$PD_TMP/api.json" "$BASE/api/status" || fail "no /api/status"
check "/api/status: slos with budget_remaining" "$PYTHON" -c "
import json; d = json.load(open('$PD_TMP/api.json')); o = {x['name']: x for x in d['slos']}
assert o['post-detail']['burning'] == 'P2' and o['post-detail']['budget_remaining'] < 0, o
assert o['userid']['burning'] is None and o['userid']['budget_remaining'] == 1, o"

# ---- loosen the objective (reload): no rule fires, the incident resolves
sed -i 's/availability: 99.9%/availability: 90%/; s/under: 50ms/under: 5s/' "$PD_TMP/probes.yaml"
kill -HUP "$PROBED_PID"
R='b.get("event")=="resolve" and b.get("probe")=="slo:post-detail"'
check "resolved once no rule fires" wait_for 30 received_ge 1 "$WEBHOOK_OUT" "$R"
check "the latency burn resolves too" wait_for 30 received_ge 1 "$WEBHOOK_OUT" \
	'b.get("event")=="resolve" and b.get("probe")=="slo:post-detail/latency"'
check "the resolves reach PagerDuty too" wait_for 10 received_ge 2 "$PAGER_OUT" \
	'b.get("event_action")=="resolve" and ":slo-" in b.get("dedup_key","")'
check "the burn-rate incident is closed" bash -c "'$PROBECTL_BIN' incidents --open --db '$DB' --json | '$PYTHON' -c 'import json,sys; assert not [i for i in json.load(sys.stdin)[\"incidents\"] if \"slo-\" in i[\"key\"]]'"
stop_pid "$PROBED_PID" 10
check "probed exits 0" test "$STOP_RC" = 0
pd_finish
