#!/usr/bin/env bash
# Issue 4, the status page: "/" (self-contained HTML) and "/api/status" (JSON).
#  - 24 h of history is seeded into the database (probed stopped), so the uptime strip,
#    the p95 chart and /api/status's buckets can be checked against known rows: every
#    bucket's count and failures must equal what the seed put there, its p95 within the
#    aggregates' histogram bound (11.1 %) of the seed's nearest-rank p95;
#  - an outage (502 on /post-detail/) shows as family states (post-detail down, the
#    others up), an open page, and the playbook's INVESTIGATING draft naming the
#    affected endpoint and the ones that still work, with UTC times;
#  - headless Chromium renders the page to a PNG (1280x900); the PNG is decoded and must
#    show the page's red, green and amber; PD_UPDATE_SCREENSHOT=1 copies it to
#    docs/statuspage.png;
#  - no external assets, no script; the canary key appears nowhere.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || fail "chromium missing (Debian package chromium)"

KEY="canary-$RANDOM$RANDOM-do-not-leak"
export TIKLIVE_TEST_KEY=$KEY
start_simapi --key "$KEY"
start_receiver webhook
write_config "$PD_TMP/body.yaml" 2s 500ms
HTTP_PORT=$(free_port)
{
	printf 'location: eu-west-1\nhttp:\n  listen: 127.0.0.1:%s\n' "$HTTP_PORT"
	cat "$PD_TMP/body.yaml"
} >"$PD_TMP/probes.yaml"
DB=$PD_TMP/probed.db
BASE="http://127.0.0.1:$HTTP_PORT"

get() { # PATH FILE
	curl -fsS --max-time 5 -o "$2" "$BASE$1"
}
json_ok() { # PYCOND over d = /api/status
	pid_gone "$PROBED_PID" && fail "probed exited (see probed.log)"
	get /api/status "$PD_TMP/s.json" || return 1
	"$PYTHON" - "$PD_TMP/s.json" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
fam = {f["name"]: f["state"] for f in d["families"]}
probes = {p["name"]: p for p in d["probes"]}
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}

# ---- 1. create the database, then seed 24 h of history while probed is stopped ------------
start_probed "$PD_TMP/probes.yaml"
check "first start: all probes have a result" wait_for 20 json_ok \
	'all(p["last"] is not None for p in d["probes"]) and len(d["probes"]) == 3'
stop_pid "$PROBED_PID" 20
"$PYTHON" - "$DB" "$PD_TMP/seed.json" <<'PY'
import json, math, random, sqlite3, sys, time
db, out = sys.argv[1], sys.argv[2]
random.seed(4)
now = int(time.time() * 1000)
start = now - 24 * 3600 * 1000 + 10 * 60 * 1000
end = now - 20 * 60 * 1000          # the live results own the last 20 minutes
outage = (now - 7 * 3600 * 1000 - 40 * 60 * 1000, now - 7 * 3600 * 1000)   # /post-detail/ 502s
slow = (now - 3 * 3600 * 1000, now - 2 * 3600 * 1000)                     # /userinfo/ slow
base = {"userid": 42.0, "userinfo": 85.0, "post-detail": 130.0}
con = sqlite3.connect(db, timeout=10)
rows = {}
for name, b in base.items():
    con.execute("INSERT OR IGNORE INTO probes(name) VALUES (?)", (name,))
    pid = con.execute("SELECT id FROM probes WHERE name = ?", (name,)).fetchone()[0]
    t = start
    rows[name] = []
    while t < end:
        day = math.sin(2 * math.pi * (t % 86400000) / 86400000.0)
        lat = b * (1 + 0.3 * day) + random.expovariate(1 / (b * 0.2))
        if name == "userinfo" and slow[0] <= t < slow[1]:
            lat *= 4
        fail = name == "post-detail" and outage[0] <= t < outage[1]
        if fail:
            lat = 20 + random.random() * 10
        lat = round(lat, 3)
        con.execute("INSERT INTO results(probe_id, ts_ms, seq, outcome, http_status, curl_code, "
                    "dns_ms, connect_ms, tls_ms, ttfb_ms, total_ms, body_size, lateness_us, verdict) "
                    "VALUES (?, ?, 0, ?, ?, 0, 0.05, 0.2, -1, ?, ?, 200, 300, ?)",
                    (pid, t, 5 if fail else 0, 502 if fail else 200, round(lat * 0.9, 3), lat,
                     "status 502, expected 200-299" if fail else None))
        rows[name].append([t, 1 if fail else 0, lat])
        t += 60000
# rows written behind probed's back have no aggregates: empty the tables, so the next
# writer open rebuilds them from every result (the documented backfill)
con.execute("DELETE FROM agg_minute")
con.execute("DELETE FROM agg_hour")
con.commit()
con.close()
json.dump({"now": now, "end": end, "rows": rows}, open(out, "w"))
print("seeded", sum(len(v) for v in rows.values()), "results")
PY

# ---- 2. restart: green, with the seeded history ---------------------------------------------
start_probed "$PD_TMP/probes.yaml"
check "restart: every family up, every series complete" wait_for 20 json_ok \
	'd["overall"] == "up" and set(fam.values()) == {"up"} and len(fam) == 3 and all(p["history"]["complete"] for p in d["probes"])'

# every bucket that ends before the live data must hold exactly the seeded rows
check "history buckets equal the seeded rows (count, failures; p95 within the histogram's 11.1 %)" "$PYTHON" - \
	"$PD_TMP/s.json" "$PD_TMP/seed.json" <<'PY'
import json, math, sys
from datetime import datetime
d = json.load(open(sys.argv[1]))
seed = json.load(open(sys.argv[2]))
checked = 0
for p in d["probes"]:
    h = p["history"]
    assert h["bucket_seconds"] == 900 and len(h["count"]) == 96, h
    t0 = int(datetime.strptime(h["start"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=__import__("datetime").timezone.utc).timestamp() * 1000)
    for i in range(96):
        s, e = t0 + i * 900000, t0 + (i + 1) * 900000
        if e > seed["end"]:
            break
        rows = [r for r in seed["rows"][p["name"]] if s <= r[0] < e]
        assert h["count"][i] == len(rows), (p["name"], i, h["count"][i], len(rows))
        assert h["failures"][i] == sum(r[1] for r in rows), (p["name"], i)
        lat = sorted(r[2] for r in rows)
        if lat:
            want = lat[max(1, math.ceil(95 * len(lat) / 100)) - 1]
            # from the aggregates' histogram: within 11.1 % of the nearest-rank value
            assert abs(h["p95_ms"][i] - want) <= 0.1115 * want, (p["name"], i, h["p95_ms"][i], want)
        else:
            assert h["p95_ms"][i] is None
        checked += 1
assert checked > 3 * 80, checked
pd = {p["name"]: p for p in d["probes"]}["post-detail"]
assert sum(pd["history"]["failures"]) == 40, pd["history"]["failures"]
assert 96.0 < pd["uptime_24h"] < 98.0, pd["uptime_24h"]
assert {p["name"]: p for p in d["probes"]}["userid"]["uptime_24h"] == 100
print("checked", checked, "buckets")
PY

# ---- 3. outage on /post-detail/ --------------------------------------------------------------
sim_mode post-detail 502
check "post-detail family down, the others up, overall degraded" wait_for 20 json_ok \
	'fam == {"userid": "up", "userinfo-by-username": "up", "post-detail": "down"} and d["overall"] == "degraded"'
get /api/status "$PD_TMP/outage.json"
check "/api/status: the open page and the INVESTIGATING draft" "$PYTHON" - "$PD_TMP/outage.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
pages = d["pages"]
assert [p["probe"] for p in pages] == ["post-detail"], pages
assert pages[0]["outcome"] == "http_5xx" and pages[0]["endpoint"] == "/post-detail/", pages
assert pages[0]["since"].endswith("Z") and pages[0]["consecutive_failures"] >= 2
dr = d["draft"]
assert dr["title"].startswith("[INVESTIGATING]") and "/post-detail/" in dr["title"], dr
body = dr["text"].split("\n", 1)[1]
assert "/post-detail/" in body and "/userid/" in body and "/userinfo-by-username/" in body, body
assert "Next update" in dr["text"], dr
pd = {p["name"]: p for p in d["probes"]}["post-detail"]
assert pd["state"] == "down" and pd["page_open"] is True and pd["last"]["http_status"] == 502
PY
get / "$PD_TMP/outage.html"
check "HTML: family states" "$PYTHON" - "$PD_TMP/outage.html" <<'PY'
import re, sys
h = open(sys.argv[1]).read()
st = dict(re.findall(r'<li data-family="([^"]+)" data-state="([^"]+)"', h))
assert st == {"userid": "up", "userinfo-by-username": "up", "post-detail": "down"}, st
assert 'id="overall" data-state="degraded"' in h
assert re.search(r'<div class="probe" data-probe="post-detail" data-state="down"', h)
PY
check "HTML: the INVESTIGATING draft names affected and working endpoints, in UTC" "$PYTHON" - \
	"$PD_TMP/outage.html" <<'PY'
import html, re, sys
h = open(sys.argv[1]).read()
m = re.search(r'<pre class="draft" id="draft">(.*?)</pre>', h, re.S)
assert m, "no draft"
t = html.unescape(m.group(1))
assert t.startswith("[INVESTIGATING] Elevated error rates on /post-detail/"), t
assert "/userid/" in t and "/userinfo-by-username/" in t and "unaffected" in t, t
assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", t), t
assert re.search(r'<tr data-page="post-detail">', h)
PY
check "HTML: 96-bucket uptime strip and p95 chart per probe" "$PYTHON" - "$PD_TMP/outage.html" <<'PY'
import re, sys
h = open(sys.argv[1]).read()
strips = re.findall(r'<svg class="strip".*?</svg>', h, re.S)
charts = re.findall(r'<svg class="latency".*?</svg>', h, re.S)
assert len(strips) == 3 and len(charts) == 3, (len(strips), len(charts))
assert all(s.count("<rect") == 96 for s in strips)
assert all(c.count("<rect") >= 80 for c in charts), [c.count("<rect") for c in charts]
assert "#dc2626" in strips[2], "the seeded 502s do not show in post-detail's strip"
PY
check "HTML: self-contained (no script, no external URL)" "$PYTHON" - "$PD_TMP/outage.html" <<'PY'
import re, sys
h = open(sys.argv[1]).read().lower()
assert "<script" not in h and "@import" not in h and "url(" not in h
assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', h), re.findall(r'(?:src|href)="[^"]*"', h)
assert "<link" not in h
PY
check "Content-Security-Policy forbids everything but inline style" sh -c \
	"curl -s -D - -o /dev/null --max-time 5 '$BASE/' | grep -qi \"^Content-Security-Policy: default-src 'none'\""

# ---- 4. headless Chromium --------------------------------------------------------------------
PNG=$PD_TMP/statuspage.png
mkdir -p "$PD_TMP/chromium-profile"
"$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--disable-dev-shm-usage --hide-scrollbars --user-data-dir="$PD_TMP/chromium-profile" \
	--screenshot="$PNG" --window-size=1280,900 "$BASE/" >>"$PD_TMP/chromium.log" 2>&1 &
CHROME_PID=$!
pd_track "$CHROME_PID"
check "chromium renders the page within 60 s" wait_for 60 pid_gone "$CHROME_PID"
stop_pid "$CHROME_PID" 5
check "screenshot: a 1280x900 PNG showing red, green and amber" "$PYTHON" - "$PNG" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
assert len(data) > 20000, len(data)
pos, idat, ihdr = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        ihdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
w, h, depth, ctype, _, _, interlace = ihdr
assert (w, h) == (1280, 900), (w, h)
assert depth == 8 and ctype in (2, 6) and interlace == 0, ihdr
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
colors = {}
for y in range(h):
    f = raw[y * (stride + 1)]
    line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]
        c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    for x in range(0, stride, bpp * 2):
        px = bytes(line[x:x + 3])
        colors[px] = colors.get(px, 0) + 1
def near(rgb, tol=30):
    return sum(n for px, n in colors.items() if all(abs(px[i] - rgb[i]) <= tol for i in range(3)))
red, green, amber = near((220, 38, 38)), near((22, 163, 74)), near((217, 119, 6))
print("distinct colours", len(colors), "red", red, "green", green, "amber", amber)
assert len(colors) > 50, len(colors)
assert red > 50 and green > 50 and amber > 500, (red, green, amber)
PY
if [ -n "${PD_UPDATE_SCREENSHOT:-}" ]; then
	# the README's picture: the same page, tall enough for every probe's charts
	"$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--disable-dev-shm-usage --hide-scrollbars --user-data-dir="$PD_TMP/chromium-profile" \
		--screenshot="$PD_TMP/docs.png" --window-size=1280,1240 "$BASE/" >>"$PD_TMP/chromium.log" 2>&1 &
	CHROME_PID=$!
	pd_track "$CHROME_PID"
	wait_for 60 pid_gone "$CHROME_PID" || true
	stop_pid "$CHROME_PID" 5
	if [ -s "$PD_TMP/docs.png" ]; then
		mkdir -p "$PD_SRC/docs"
		cp "$PD_TMP/docs.png" "$PD_SRC/docs/statuspage.png"
		echo "updated $PD_SRC/docs/statuspage.png"
	fi
fi

# ---- 5. recovery -------------------------------------------------------------------------------
sim_mode post-detail ok
check "recovery: every family up again, no draft" wait_for 30 json_ok \
	'd["overall"] == "up" and set(fam.values()) == {"up"} and d["pages"] == [] and d["draft"] is None'
get / "$PD_TMP/after.html"
check "HTML after recovery: no incident section" not grep -q 'id="incident"' "$PD_TMP/after.html"

stop_pid "$PROBED_PID" 20
check "SIGTERM exits 0" [ "$STOP_RC" = 0 ]
leaks=$(grep -rlaF -- "$KEY" "$PD_TMP"/*.html "$PD_TMP"/*.json "$PD_TMP"/probed.log "$DB"* 2>/dev/null || true)
check "canary key in no page, JSON, log or database (${leaks:-none})" [ -z "$leaks" ]
pd_finish
