#!/usr/bin/env bash
# The email target against a real SMTP server on loopback (aiosmtpd, tests/integration/
# smtpd.py): STARTTLS with a certificate made here by openssl (required by the server,
# verified by probed through ca_file), AUTH with a password read through ${file:...}.
#  - userid 401 -> a P1 (key rejected): one mail "[P1] ..." to both recipients, then
#    "[P1] RESOLVED: ..." when it recovers; the body has the reason, mode, status draft,
#    runbook and dedup key; the Message-ID derives from the event id;
#  - the server answers 451 (transient): probed retries until it takes the mail;
#  - the server answers 554 (permanent): the row is dead-lettered, not retried;
#  - the password is in no log line and nowhere in the database.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

# aiosmtpd comes from Debian's python3-aiosmtpd (scripts/deps.sh): the system python
SMTPD_PY=""
for p in "${PYTHON:-python3}" /usr/bin/python3; do
	if "$p" -c 'import aiosmtpd' 2>/dev/null; then SMTPD_PY=$p; break; fi
done
[ -n "$SMTPD_PY" ] || fail "no python with aiosmtpd (apt-get install python3-aiosmtpd)"

KEY="canary-$RANDOM$RANDOM-email"
PASSWORD="smtp-pw-$RANDOM$RANDOM$RANDOM"
export TIKLIVE_TEST_KEY=$KEY
start_simapi --key "$KEY"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$PD_TMP/smtp.key" -out "$PD_TMP/smtp.crt" \
	>/dev/null 2>&1 || fail "openssl could not make a certificate"
printf '%s\n' "$PASSWORD" >"$PD_TMP/smtp-password"
MAIL_OUT=$PD_TMP/mail.jsonl
ATTEMPTS=$PD_TMP/rcpt.jsonl
MODE=$PD_TMP/smtp-mode
echo ok >"$MODE"
"$SMTPD_PY" "$(dirname "$0")/smtpd.py" --port-file "$PD_TMP/smtp.port" --out "$MAIL_OUT" \
	--attempts "$ATTEMPTS" --mode-file "$MODE" --cert "$PD_TMP/smtp.crt" \
	--key "$PD_TMP/smtp.key" --user probed --password-file "$PD_TMP/smtp-password" \
	>>"$PD_TMP/smtpd.log" 2>&1 &
SMTPD_PID=$!
pd_track "$SMTPD_PID"
SMTP_PORT=$(pd_wait_port_file "$PD_TMP/smtp.port" "$SMTPD_PID" smtpd) || exit 1

write_config "$PD_TMP/probes.yaml" 1s 300ms
cat >>"$PD_TMP/probes.yaml" <<YAML
  - name: mail
    type: email
    url: smtp://127.0.0.1:$SMTP_PORT
    from: probed@example.org
    to: [oncall@example.org, sre@example.org]
    username: probed
    password: \${file:$PD_TMP/smtp-password}
    ca_file: $PD_TMP/smtp.crt
    timeout: 5s
    retry: {max_backoff: 2s}
    breaker: {failures: 50}
classify:
  correlation_window: 1s
  error_rate_low: 1
  error_rate_high: 1
YAML
"$PROBECTL_BIN" validate -c "$PD_TMP/probes.yaml" >/dev/null || fail "config invalid"
DB=$PD_TMP/probed.db
start_probed "$PD_TMP/probes.yaml"

# mails PYEXPR: accepted mails (m = the record, d = the message text) matching PYEXPR
mails() {
	"$PYTHON" - "$MAIL_OUT" "$1" <<'PY'
import json, sys
n = 0
try:
    for line in open(sys.argv[1]):
        if line.strip():
            m = json.loads(line)
            d = m["data"]
            n += bool(eval(sys.argv[2], {}, {"m": m, "d": d}))
except FileNotFoundError:
    pass
print(n)
PY
}
mails_is() { [ "$(mails "$2")" -eq "$1" ]; }
attempts() { # CODE: RCPTs the server answered with CODE
	[ -f "$ATTEMPTS" ] || { echo 0; return; }
	grep -c "\"code\": $1" "$ATTEMPTS" || true
}
attempts_ge() { [ "$(attempts "$2")" -ge "$1" ]; }
open_count() {
	"$PROBECTL_BIN" incidents --open --db "$DB" --json | "$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["incidents"]))'
}
all_resolved() { [ "$(open_count)" = 0 ]; }
dead_is() {
	"$PROBECTL_BIN" outbox --db "$DB" --json | "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["dead_lettered"]=='"$1"' else 1)'
}

# ==== 1. a P1: trigger and resolve, over STARTTLS with AUTH ====================================
echo "---- userid 401 (P1)"
sim_mode userid 401
TRIG='"\r\nSubject: [P1] " in d and "RESOLVED" not in d.split("\r\n\r\n")[0]'
check "a P1 trigger mail arrives" wait_for 30 mails_is 1 "$TRIG"
check "over TLS, logged in, envelope from and both recipients" mails_is 1 \
	"$TRIG and m['tls'] and m['auth'] and m['mail_from']=='probed@example.org' and m['rcpt']==['oncall@example.org','sre@example.org']"
check "headers: From, To, Date, Message-ID from the event id, text/plain utf-8" mails_is 1 \
	"$TRIG and 'From: probed <probed@example.org>' in d and 'To: oncall@example.org,\r\n sre@example.org' in d and d.split('\r\n\r\n')[0].count('Date: ')==1 and '\r\nMessage-ID: <probed-' in d and '.trigger@example.org>' in d and 'Content-Type: text/plain; charset=utf-8' in d"
check "body: severity, mode, reason, status draft, runbook, dedup key" mails_is 1 \
	"$TRIG and 'Severity:  P1' in d and 'Mode:' in d and 'key-rejected' in d and 'Reason:' in d and 'Status page draft:' in d and 'Runbook:' in d and 'key-rejected.md' in d and 'Dedup key: probed' in d"
KEYP1=$("$PYTHON" -c '
import json, sys
for l in open(sys.argv[1]):
    for h in json.loads(l)["data"].split("\r\n"):
        if h.startswith("X-Probed-Dedup-Key: "):
            print(h.split(": ", 1)[1]); sys.exit(0)' "$MAIL_OUT")
echo "dedup key: $KEYP1"
sim_mode userid ok
check "the incident resolves" wait_for 30 all_resolved
check "a P1 RESOLVED mail arrives, same dedup key" wait_for 15 mails_is 1 \
	"'\r\nSubject: [P1] RESOLVED: ' in d and 'X-Probed-Dedup-Key: $KEYP1' in d and '.resolve@example.org>' in d"
sleep 2
check "exactly two mails so far" mails_is 2 "True"

# ==== 2. 451: retried until taken ==============================================================
echo "---- 451 (transient)"
echo 451 >"$MODE"
sim_mode userid 401
check "the server refuses with 451, probed retries" wait_for 40 attempts_ge 4 451
check "nothing dead-lettered for a 4xx" dead_is 0
echo ok >"$MODE"
check "the retried trigger is taken" wait_for 20 mails_is 2 "$TRIG"

# ==== 3. 554: dead-lettered ====================================================================
echo "---- 554 (permanent)"
echo 554 >"$MODE"
N554_BEFORE=$(attempts 554)
sim_mode userid ok
check "the incident resolves" wait_for 30 all_resolved
check "the resolve is refused with 554" wait_for 15 attempts_ge $((N554_BEFORE + 1)) 554
check "and dead-lettered" wait_for 10 dead_is 1
N554=$(attempts 554)
sleep 4
check "not retried after the 554" [ "$(attempts 554)" -eq "$N554" ]
check "no second resolve mail" mails_is 1 "'RESOLVED' in d"
check "the log names the SMTP refusal" grep -q 'notify mail: resolve .* REJECTED (.*554)' "$PD_TMP/probed.log"

# ==== secrets ==================================================================================
stop_pid "$PROBED_PID"
check "the password is in no log line" not grep -qF "$PASSWORD" "$PD_TMP/probed.log"
check "the password is nowhere in the database" not bash -c "sqlite3 '$DB' .dump | grep -qF '$PASSWORD'"
pd_finish
