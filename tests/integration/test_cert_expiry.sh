#!/usr/bin/env bash
# Issue 11, certificate expiry: probed against REAL loopback TLS servers (python3
# http.server + ssl, started here, stopped by PID) whose certificates openssl makes now:
#  - valid: CA-signed for 90 days, the CA trusted through defaults.ca_file -> no alert;
#    /metrics probe_ssl_earliest_cert_expiry equals `openssl x509 -enddate`; probectl
#    status shows it;
#  - soon: CA-signed, expires in 5 days -> a P3 (chat) "TLS certificate expiring"
#    incident, to the chat target and the ticket target, with the cert-expiry runbook;
#  - ticket: the valid server under cert_expiry.ticket: 200d -> P4, ticket target only;
#  - expired (made under faketime 30 days ago), wrong host name, self-signed without
#    its CA -> the probe fails (tls) and the verdict names the cause;
#  - selfsigned: a self-signed certificate trusted through the probe's own ca_file -> OK.
set -eu
. "$(dirname "$0")/lib.sh"
pd_tmpdir
command -v openssl >/dev/null || fail "openssl is not installed (scripts/deps.sh --test)"
command -v faketime >/dev/null || fail "faketime is not installed (scripts/deps.sh --test)"
D=$PD_TMP/certs
mkdir -p "$D"
cd "$D"
ossl() { openssl "$@" >>"$PD_TMP/openssl.log" 2>&1 || fail "openssl $*"; }

# ------------------------------------------------------------------ certificates
ossl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
	-subj "/CN=probed test CA"
# leaf NAME DAYS SAN [FAKETIME]: NAME.key + NAME.pem signed by the CA
leaf() {
	local name=$1 days=$2 san=$3 ft=${4:-}
	ossl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=$name"
	printf 'subjectAltName=%s\n' "$san" >"$name.ext"
	if [ -n "$ft" ]; then
		faketime "$ft" openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key \
			-CAcreateserial -out "$name.pem" -days "$days" -extfile "$name.ext" \
			>>"$PD_TMP/openssl.log" 2>&1 || fail "faketime openssl x509 ($name)"
	else
		ossl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
			-out "$name.pem" -days "$days" -extfile "$name.ext"
	fi
}
leaf valid 90 "IP:127.0.0.1,DNS:localhost"
leaf soon 5 "IP:127.0.0.1,DNS:localhost"
leaf expired 10 "IP:127.0.0.1,DNS:localhost" "30 days ago"
leaf wronghost 90 "DNS:wrong.example"
ossl req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.pem -days 365 \
	-subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1"
# notAfter in unix seconds, from openssl itself
not_after() { date -u -d "$(openssl x509 -noout -enddate -in "$1" | cut -d= -f2)" +%s; }
VALID_NA=$(not_after valid.pem)
SOON_NA=$(not_after soon.pem)
SELF_NA=$(not_after self.pem)
EXPIRED_NA=$(not_after expired.pem)
check "the expired certificate is expired" test "$EXPIRED_NA" -lt "$(date +%s)"

# ------------------------------------------------------------------ TLS servers
cat >"$PD_TMP/tls_servers.py" <<'PY'
import http.server, ssl, sys, threading
out, specs = sys.argv[1], sys.argv[2:]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
lines = []
for spec in specs:
    name, cert, key = spec.split(":")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    lines.append("%s %d\n" % (name, srv.server_address[1]))
with open(out + ".tmp", "w") as f:
    f.writelines(lines)
import os
os.rename(out + ".tmp", out)
threading.Event().wait()
PY
"$PYTHON" "$PD_TMP/tls_servers.py" "$PD_TMP/tls.ports" \
	"valid:$D/valid.pem:$D/valid.key" "soon:$D/soon.pem:$D/soon.key" \
	"expired:$D/expired.pem:$D/expired.key" "wronghost:$D/wronghost.pem:$D/wronghost.key" \
	"self:$D/self.pem:$D/self.key" >>"$PD_TMP/tls.log" 2>&1 &
TLS_PID=$!
pd_track "$TLS_PID"
wait_for 10 test -s "$PD_TMP/tls.ports" || fail "the TLS servers did not start"
port() { awk -v n="$1" '$1 == n { print $2 }' "$PD_TMP/tls.ports"; }

# ------------------------------------------------------------------ probed
start_receiver tickets
start_receiver chat
HTTP_PORT=$(free_port)
cat >"$PD_TMP/probes.yaml" <<YAML
http:
  listen: 127.0.0.1:$HTTP_PORT
defaults:
  interval: 1s
  timeout: 3s
  failures_before_page: 2
  confirm_after: 300ms
  ca_file: $D/ca.pem
store:
  path: $PD_TMP/probed.db
probes:
  - name: valid
    url: https://127.0.0.1:$(port valid)/
  - name: soon
    url: https://127.0.0.1:$(port soon)/
  - name: ticket
    url: https://127.0.0.1:$(port valid)/
    cert_expiry: {ticket: 200d}
  - name: expired
    url: https://127.0.0.1:$(port expired)/
  - name: wronghost
    url: https://127.0.0.1:$(port wronghost)/
  - name: untrusted
    url: https://127.0.0.1:$(port self)/
  - name: selfsigned
    url: https://127.0.0.1:$(port self)/
    ca_file: $D/self.pem
notify:
  - name: tickets
    type: webhook
    url: http://127.0.0.1:$TICKETS_PORT/hook
  - name: chat
    type: webhook
    role: chat
    url: http://127.0.0.1:$CHAT_PORT/hook
YAML
"$PROBECTL_BIN" validate -c "$PD_TMP/probes.yaml" >/dev/null 2>&1 ||
	fail "config invalid: $("$PROBECTL_BIN" validate -c "$PD_TMP/probes.yaml" 2>&1)"
start_probed "$PD_TMP/probes.yaml" -v
BASE="http://127.0.0.1:$HTTP_PORT"

metric() { # PROBE -> the probe_ssl_earliest_cert_expiry sample of PROBE ("" when none)
	curl -fsS --max-time 5 "$BASE/metrics" 2>/dev/null |
		awk -v p="probe=\"$1\"" 'index($0, "probe_ssl_earliest_cert_expiry{") == 1 &&
			index($0, p) { print $2 }'
}
metric_is() { test "$(metric "$1")" = "$2"; }
check "metrics: valid's expiry = openssl's notAfter ($VALID_NA)" wait_for 20 metric_is valid "$VALID_NA"
check "metrics: soon's expiry = openssl's notAfter ($SOON_NA)" wait_for 20 metric_is soon "$SOON_NA"
check "metrics: selfsigned (own ca_file) = its notAfter" wait_for 20 metric_is selfsigned "$SELF_NA"
check "metrics: HELP and TYPE of the family" bash -c \
	'curl -fs "$1/metrics" | grep -qx "# TYPE probe_ssl_earliest_cert_expiry gauge"' _ "$BASE"

status_json() { "$PROBECTL_BIN" status --db "$PD_TMP/probed.db" --json; }
field() { # PROBE KEY -> the value in probectl status --json
	status_json | "$PYTHON" -c '
import json, sys
for p in json.load(sys.stdin)["probes"]:
    if p["name"] == sys.argv[1]:
        v = p.get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"
}
verdict_has() { field "$1" verdict | grep -qF -- "$2"; }
check "expired fails: verdict names the expiry" wait_for 20 verdict_has expired "TLS certificate expired"
check "wronghost fails: verdict names the host name" \
	wait_for 20 verdict_has wronghost "TLS certificate does not match the host name"
check "untrusted (self-signed, CA not given) fails: verdict says not trusted" \
	wait_for 20 verdict_has untrusted "TLS certificate not trusted"
check "expired's outcome is tls" test "$(field expired outcome)" = tls
check "selfsigned with its ca_file: ok" test "$(field selfsigned outcome)" = ok
check "valid: ok" test "$(field valid outcome)" = ok
check "probectl status --json: soon's cert_not_after" \
	test "$(field soon cert_not_after)" = "$SOON_NA"
check "probectl status: the TLS CERTIFICATE table lists soon" bash -c \
	'"$1" status --db "$2" | grep -A20 "^TLS CERTIFICATE" | grep -q "^soon .* 4\.[0-9] days\|^soon .* 5\.0 days"' \
	_ "$PROBECTL_BIN" "$PD_TMP/probed.db"

# ------------------------------------------------------------------ alerts
CERT_TRIG='b.get("event") == "trigger" and b.get("mode") == "cert-expiry"'
check "soon: P3 chat alert reaches the chat target with the runbook" \
	wait_for 20 received_ge 1 "$CHAT_OUT" "$CERT_TRIG and b.get('probe') == 'soon' and b.get('severity') == 'P3' and b.get('runbook') == 'runbooks/cert-expiry.md'"
check "soon: the ticket target gets it too" \
	wait_for 10 received_ge 1 "$TICKETS_OUT" "$CERT_TRIG and b.get('probe') == 'soon' and b.get('severity') == 'P3'"
check "soon: the reason names the time left and the level" \
	received_ge 1 "$CHAT_OUT" "$CERT_TRIG and b.get('probe') == 'soon' and 'expires in 4d' in b.get('reason', '') and 'chat level' in b.get('reason', '')"
check "ticket: P4 to the ticket target" \
	wait_for 10 received_ge 1 "$TICKETS_OUT" "$CERT_TRIG and b.get('probe') == 'ticket' and b.get('severity') == 'P4'"
sleep 3 # a few more rounds: nothing is re-sent, nothing else alerts on certificates
check "ticket: never to the chat target (P4 is ticket-only)" \
	received_is 0 "$CHAT_OUT" "$CERT_TRIG and b.get('probe') == 'ticket'"
check "valid and selfsigned: no certificate alert" \
	received_is 0 "$TICKETS_OUT" "$CERT_TRIG and b.get('probe') in ('valid', 'selfsigned')"
check "one trigger per certificate incident and target (no re-sends)" \
	received_is 1 "$CHAT_OUT" "$CERT_TRIG and b.get('probe') == 'soon'"
check "the expired/wrong-host outage is its own incident, not the certificate one" \
	wait_for 10 received_ge 1 "$TICKETS_OUT" "b.get('event') == 'trigger' and b.get('mode') != 'cert-expiry' and b.get('severity') in ('P1', 'P2')"
check "the status page shows soon's certificate" bash -c \
	'curl -fsS "$1/" | grep -q "data-cert-not-after=\"$2\""' _ "$BASE" "$SOON_NA"

# ------------------------------------------------------------------ renewal resolves
sed -i "s|^  - name: soon\$|  - name: soon\n    cert_expiry: false|" "$PD_TMP/probes.yaml"
kill -HUP "$PROBED_PID"
check "cert_expiry: false resolves the open certificate incident" \
	wait_for 20 received_ge 1 "$CHAT_OUT" "b.get('event') == 'resolve' and b.get('probe') == 'soon' and b.get('mode') == 'cert-expiry' and 'no longer near expiry' in b.get('reason', '')"
check "its last known expiry stays on /metrics" metric_is soon "$SOON_NA"

# ------------------------------------------------------------------ config errors
sed "s|ca_file: $D/self.pem|ca_file: $D/missing.pem|" "$PD_TMP/probes.yaml" >"$PD_TMP/bad.yaml"
RC=0
"$PROBECTL_BIN" validate -c "$PD_TMP/bad.yaml" >"$PD_TMP/bad.out" 2>&1 || RC=$?
check "a missing ca_file: exit 78" test "$RC" -eq 78
check "a missing ca_file: FILE:LINE:COL and the reason" \
	grep -q "^$PD_TMP/bad.yaml:[0-9]*:[0-9]*: ca_file: cannot read '$D/missing.pem': No such file" "$PD_TMP/bad.out"
pd_finish
