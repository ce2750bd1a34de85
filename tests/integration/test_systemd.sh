#!/usr/bin/env bash
# probed under systemd's rules, without needing systemd as PID 1:
#  - packaging/probed.service passes `systemd-analyze verify` (with its ExecStart pointed at
#    the built binary and its Documentation= man pages on MANPATH) and
#    `systemd-analyze security --offline=true` rates it <= 2.0 (and the same unit stripped
#    of its hardening rates > 2.0, so the check can fail);
#  - the sd_notify protocol, against a real unix datagram socket (NOTIFY_SOCKET) bound by
#    the test, with probed inside the unit's own sandbox rebuilt by hand: the seccomp
#    allow-list SystemCallFilter=@system-service ~@privileged @resources with
#    SystemCallErrorNumber=EPERM, RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX,
#    NoNewPrivileges and MemoryDenyWriteExecute (prctl PR_SET_MDWE, so PCRE2's JIT cannot
#    get W+X memory: JSON Schema "pattern" must still work, interpreted);
#    READY=1 with STATUS= after start, WATCHDOG=1 every WATCHDOG_USEC/2, STATUS= tracking
#    a page, RELOADING=1 then READY=1 on SIGHUP, "reload FAILED: ..." in STATUS= on a bad
#    reload, no WATCHDOG=1 while SIGSTOPped and again after SIGCONT, STOPPING=1 on SIGTERM;
#    every message sent by probed's own PID (NotifyAccess=main);
#  - journald priority prefixes with JOURNAL_STREAM set; the API key (a ${file:...}
#    credential) in no log, notification or database;
#  - a dead NOTIFY_SOCKET changes nothing: probed runs and exits 0.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

UNIT=$PD_SRC/packaging/probed.service
command -v systemd-analyze >/dev/null || fail "systemd-analyze not installed (package systemd)"

# ---- the unit file --------------------------------------------------------------------------

# A MANPATH with the package's man pages, so verify can resolve Documentation=man:...
mkdir -p "$PD_TMP/man/man1" "$PD_TMP/man/man5" "$PD_TMP/man/man8"
cp "$PD_SRC/packaging/man/probectl.1" "$PD_TMP/man/man1/"
cp "$PD_SRC/packaging/man/probes.yaml.5" "$PD_TMP/man/man5/"
cp "$PD_SRC/packaging/man/probed.8" "$PD_TMP/man/man8/"
# The unit as installed, but with ExecStart= at the built binary (verify wants it to exist).
mkdir -p "$PD_TMP/unit"
sed -e "s|^ExecStart=/usr/sbin/probed |ExecStart=$PROBED_BIN |" \
	-e "s|^ExecReload=/usr/bin/probectl |ExecReload=$PROBECTL_BIN |" "$UNIT" >"$PD_TMP/unit/probed.service"
check "the unit's ExecStart was pointed at the built binary" \
	grep -qx "ExecStart=$PROBED_BIN -c /etc/probed/probes.yaml" "$PD_TMP/unit/probed.service"

rc=0
(cd "$PD_TMP/unit" && MANPATH=$PD_TMP/man systemd-analyze verify ./probed.service) \
	>"$PD_TMP/verify.out" 2>&1 || rc=$?
cat "$PD_TMP/verify.out"
check "systemd-analyze verify exits 0" [ "$rc" = 0 ]
check "systemd-analyze verify prints no warning" not [ -s "$PD_TMP/verify.out" ]

# exposure FILE: the "Overall exposure level" number of `systemd-analyze security`.
exposure() {
	(cd "$(dirname "$1")" && systemd-analyze security --offline=true --no-pager "./$(basename "$1")") \
		>"$PD_TMP/security.out" 2>&1 || true
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$PD_TMP/security.out"
}
score=$(exposure "$PD_TMP/unit/probed.service")
echo "systemd-analyze security --offline=true: exposure $score"
check "security: an exposure level is reported" [ -n "$score" ]
check "security: exposure <= 2.0" awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'
rc=0
(cd "$PD_TMP/unit" && systemd-analyze security --offline=true --threshold=20 --no-pager ./probed.service) \
	>/dev/null 2>&1 || rc=$?
check "security --threshold=20 (2.0) exits 0" [ "$rc" = 0 ]
# Negative control: the same unit without its hardening block must score worse.
mkdir -p "$PD_TMP/weak"
sed '/^# Hardening/,/^\[Install\]/{/^\[Install\]/!d}' "$PD_TMP/unit/probed.service" \
	>"$PD_TMP/weak/probed.service"
weak=$(exposure "$PD_TMP/weak/probed.service")
echo "without the hardening block: exposure $weak"
check "security: the unhardened unit scores > 2.0 (the check can fail)" \
	awk -v s="${weak:-0}" 'BEGIN { exit !(s > 2.0) }'
for k in Type=notify WatchdogSec=30s Restart=on-failure 'ExecReload=/usr/bin/probectl reload -c /etc/probed/probes.yaml --pid $MAINPID' LimitCORE=0 \
	DynamicUser=yes StateDirectory=probed ConfigurationDirectory=probed \
	LoadCredential=tiklive-key:/etc/probed/credentials/tiklive-key \
	MemoryDenyWriteExecute=yes SystemCallFilter=@system-service \
	'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX'; do
	check "unit has $k" grep -qxF -- "$k" "$UNIT"
done

# ---- helpers: a notify socket reader and the sandbox ---------------------------------------

# notify-listen.py SOCKET OUT: bind SOCKET (unix datagram) and append one JSON line per
# message to OUT: {"t": monotonic, "pid": sender (SCM_CREDENTIALS), "msg": text}.
cat >"$PD_TMP/notify-listen.py" <<'PY'
import json, os, signal, socket, struct, sys, time
path, out = sys.argv[1], sys.argv[2]
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path + ".tmp")
os.rename(path + ".tmp", path)  # appears only once bound
with open(out, "a") as f:
    while True:
        data, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(12))
        pid = None
        for lvl, typ, d in anc:
            if lvl == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", d[:12])[0]
        f.write(json.dumps({"t": time.monotonic(), "pid": pid,
                            "msg": data.decode("utf-8", "replace")}) + "\n")
        f.flush()
PY

# nq.py FILE FROM EXPR: count messages from index FROM on for which EXPR holds; `a` is the
# message as a dict of assignments, `m` the raw text, `pid` the sender.
# nq.py FILE FROM --status: print the last STATUS= from index FROM on.
# nq.py FILE FROM --seq K1 K2: 0 when a message with K1 is followed by one with K2.
cat >"$PD_TMP/nq.py" <<'PY'
import json, sys
path, start = sys.argv[1], int(sys.argv[2])
recs = []
try:
    with open(path) as f:
        recs = [json.loads(l) for l in f if l.strip()][start:]
except FileNotFoundError:
    pass
def assigns(m):
    return dict(l.split("=", 1) for l in m.split("\n") if "=" in l)
if sys.argv[3] == "--status":
    st = [assigns(r["msg"])["STATUS"] for r in recs if "STATUS" in assigns(r["msg"])]
    print(st[-1] if st else "")
elif sys.argv[3] == "--seq":
    k1, k2 = sys.argv[4], sys.argv[5]
    i = next((i for i, r in enumerate(recs) if assigns(r["msg"]).get(k1) == "1"), None)
    ok = i is not None and any(assigns(r["msg"]).get(k2) == "1" for r in recs[i + 1:])
    sys.exit(0 if ok else 1)
else:
    print(sum(1 for r in recs
              if eval(sys.argv[3], {}, {"a": assigns(r["msg"]), "m": r["msg"], "pid": r["pid"]})))
PY

# sandbox.py CMD...: exec CMD with the seccomp filter, address families, NoNewPrivileges
# and MemoryDenyWriteExecute of packaging/probed.service, and WATCHDOG_PID set to its own
# PID (exec keeps it). Syscall groups are expanded with `systemd-analyze syscall-filter`.
cat >"$PD_TMP/sandbox.py" <<'PY'
import ctypes, errno, os, re, socket, subprocess, sys

def group(name, seen=None):
    seen = seen if seen is not None else set()
    if name in seen:
        return set()
    seen.add(name)
    out = subprocess.run(["systemd-analyze", "syscall-filter", name], check=True,
                         capture_output=True, text=True).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        w = line.strip()
        if not w or w.startswith("#"):
            continue
        calls |= group(w, seen) if w.startswith("@") else {w}
    return calls

unit = open(sys.argv[1]).read()
cmd = sys.argv[2:]
allow, deny = set(), set()
for v in re.findall(r"^SystemCallFilter=(.*)$", unit, re.M):
    neg = v.startswith("~")
    for w in v.lstrip("~").split():
        s = group(w) if w.startswith("@") else {w}
        if neg:
            deny |= s
        else:
            allow |= s
allow -= deny
fams = re.search(r"^RestrictAddressFamilies=(.*)$", unit, re.M).group(1).split()
assert re.search(r"^SystemCallErrorNumber=EPERM$", unit, re.M)
assert re.search(r"^MemoryDenyWriteExecute=yes$", unit, re.M)
assert re.search(r"^NoNewPrivileges=yes$", unit, re.M)

libc = ctypes.CDLL(None, use_errno=True)
sc = ctypes.CDLL("libseccomp.so.2", use_errno=True)
sc.seccomp_init.restype = ctypes.c_void_p
sc.seccomp_init.argtypes = [ctypes.c_uint32]
sc.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
sc.seccomp_load.argtypes = [ctypes.c_void_p]

class ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]

sc.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                      ctypes.c_uint, ctypes.POINTER(ArgCmp)]
ALLOW, ERRNO = 0x7fff0000, 0x00050000
SCMP_CMP_EQ = 4
ctx = sc.seccomp_init(ERRNO | errno.EPERM)
assert ctx
sock_nr = sc.seccomp_syscall_resolve_name(b"socket")
n = 0
for name in sorted(allow):
    nr = sc.seccomp_syscall_resolve_name(name.encode())
    if nr < 0 or nr == sock_nr:
        continue  # not a syscall on this architecture; socket() is filtered by family below
    assert sc.seccomp_rule_add_array(ctx, ALLOW, nr, 0, None) == 0, name
    n += 1
assert "socket" in allow
for fam in fams:
    cmp = ArgCmp(0, SCMP_CMP_EQ, getattr(socket, fam), 0)
    assert sc.seccomp_rule_add_array(ctx, ALLOW, sock_nr, 1, ctypes.byref(cmp)) == 0, fam
PR_SET_NO_NEW_PRIVS, PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 38, 65, 1
assert libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
assert libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) == 0, "PR_SET_MDWE"
print(f"sandbox: {n} syscalls allowed, {len(deny)} denied by name, families {fams}, MDWE on",
      file=sys.stderr, flush=True)
os.environ["WATCHDOG_PID"] = str(os.getpid())
assert sc.seccomp_load(ctx) == 0
os.execv(cmd[0], cmd)
PY

# The sandbox is real: a W+X mapping is refused, and PCRE2's JIT fails in it, so probed's
# schema patterns below run on the interpreter.
cat >"$PD_TMP/jitprobe.py" <<'PY'
import ctypes, mmap, sys
p = ctypes.CDLL("libpcre2-8.so.0")
p.pcre2_compile_8.restype = ctypes.c_void_p
p.pcre2_compile_8.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint32,
                              ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_size_t),
                              ctypes.c_void_p]
p.pcre2_jit_compile_8.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
ec, off = ctypes.c_int(), ctypes.c_size_t()
code = p.pcre2_compile_8(b"^https?://", ctypes.c_size_t(-1).value, 0, ctypes.byref(ec),
                         ctypes.byref(off), None)
assert code
print(p.pcre2_jit_compile_8(code, 1))  # 0 = JIT compiled, < 0 = not available
PY
jit_free=$("$PYTHON" "$PD_TMP/jitprobe.py")
jit_boxed=$("$PYTHON" "$PD_TMP/sandbox.py" "$UNIT" "$(command -v "$PYTHON")" "$PD_TMP/jitprobe.py" 2>/dev/null) || true
echo "pcre2_jit_compile: $jit_free outside the sandbox, $jit_boxed inside"
check "PCRE2 JIT works outside the sandbox" [ "$jit_free" = 0 ]
check "PCRE2 JIT fails inside the sandbox (MemoryDenyWriteExecute)" \
	bash -c "[ -n '$jit_boxed' ] && [ '$jit_boxed' -lt 0 ]"
check "the sandbox lets an AF_INET6 socket through" \
	bash -c "'$PYTHON' '$PD_TMP/sandbox.py' '$UNIT' '$(command -v "$PYTHON")' -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_STREAM)' 2>/dev/null"
netlink_in_sandbox() {
	"$PYTHON" "$PD_TMP/sandbox.py" "$UNIT" "$(command -v "$PYTHON")" -c \
		'import socket; socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)' 2>/dev/null
}
check "the sandbox refuses a netlink socket" not netlink_in_sandbox

# ---- probed in the sandbox, talking to a notify socket ----------------------------------------
KEY="canary-$RANDOM$RANDOM-credential"
start_simapi --key "$KEY"
start_receiver webhook
mkdir -p "$PD_TMP/credentials"
printf '%s\n' "$KEY" >"$PD_TMP/credentials/tiklive-key"
chmod 600 "$PD_TMP/credentials/tiklive-key"
CFG=$PD_TMP/probes.yaml
DB=$PD_TMP/probed.db

# write_sd_config FILE [EXTRA_PROBE_NAME]: three probes that pass (with "pattern" in their
# schemas) and "pattern-canary", whose pattern the real answer does not match.
write_sd_config() {
	cat >"$1" <<YAML
defaults:
  interval: 1s
  timeout: 2s
  failures_before_page: 2
  confirm_after: 300ms
  successes_before_resolve: 2
  headers:
    X-Api-Key: \${file:$PD_TMP/credentials/tiklive-key}
store:
  path: $DB
  retention: 1d
probes:
  - name: userid
    url: $SIM_URL/userid/?username=tiktok
    expect:
      json: {type: object, required: [id], properties: {id: {type: string, pattern: "^[0-9]+\$"}}}
  - name: userinfo
    family: userinfo-by-username
    url: $SIM_URL/userinfo-by-username/?username=tiktok
    expect:
      json: {type: object, required: [user, stats]}
  - name: post-detail
    url: $SIM_URL/post-detail/?url=https%3A%2F%2Fwww.tiktok.com%2F%40tiktok%2Fvideo%2F7106594312292453675
    expect:
      json:
        type: object
        required: [play]
        properties: {play: {type: string, pattern: "^https?://[a-z0-9.]+/"}}
  - name: pattern-canary
    family: post-detail
    url: $SIM_URL/post-detail/?url=https%3A%2F%2Fwww.tiktok.com%2F%40tiktok%2Fvideo%2F7106594312292453675
    expect:
      json:
        type: object
        properties: {play: {type: string, pattern: "\\\\.webm\$"}}
YAML
	if [ -n "${2:-}" ]; then
		printf '  - name: %s\n    url: %s/userid/?username=tiktok\n' "$2" "$SIM_URL" >>"$1"
	fi
	printf 'notify:\n  - name: hook\n    type: webhook\n    url: http://127.0.0.1:%s/hook\n    timeout: 2s\n' \
		"$WEBHOOK_PORT" >>"$1"
}
write_sd_config "$CFG"
"$PROBECTL_BIN" validate -c "$CFG" >/dev/null || fail "the test's config does not validate"

SOCK=$PD_TMP/notify.sock
NLOG=$PD_TMP/notify.jsonl
"$PYTHON" "$PD_TMP/notify-listen.py" "$SOCK" "$NLOG" >>"$PD_TMP/listener.log" 2>&1 &
pd_track $!
wait_for 5 test -S "$SOCK" || fail "the notify socket was not bound"

nmsg() { "$PYTHON" "$PD_TMP/nq.py" "$NLOG" "$@"; }
nmsg_ge() { [ "$(nmsg "$2" "$3")" -ge "$1" ]; }
status_matches() { nmsg "${2:-0}" --status | grep -Eq -- "$1"; }

# In a sanitizer build LeakSanitizer needs ptrace at exit, which the unit's filter (like
# systemd's) refuses: leaks are checked in every other run of probed, not in this one.
NOTIFY_SOCKET=$SOCK WATCHDOG_USEC=1000000 JOURNAL_STREAM=8:12345 \
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	"$PYTHON" "$PD_TMP/sandbox.py" "$UNIT" "$PROBED_BIN" -c "$CFG" >>"$PD_TMP/probed.log" 2>&1 &
PROBED_PID=$!
pd_track "$PROBED_PID"

check "READY=1 arrives" wait_for 10 nmsg_ge 1 0 'a.get("READY") == "1"'
check "READY=1 comes with STATUS= and the probe counts" \
	nmsg_ge 1 0 'a.get("READY") == "1" and a.get("STATUS","").startswith("4 probes: 4 up, 0 down; open incidents 0; outbox 0; config OK")'
ready_and_db() { nmsg_ge 1 0 'a.get("READY") == "1"' && test -s "$DB"; }
check "the database was open by READY=1" ready_and_db
check "WATCHDOG=1 arrives" wait_for 3 nmsg_ge 1 0 'a.get("WATCHDOG") == "1"'
n0=$(nmsg 0 'a.get("WATCHDOG") == "1"')
sleep 3
n1=$(nmsg 0 'a.get("WATCHDOG") == "1"')
echo "WATCHDOG=1 in 3 s at WATCHDOG_USEC=1s: $((n1 - n0))"
check "WATCHDOG=1 every ~0.5 s (4..8 in 3 s)" [ $((n1 - n0)) -ge 4 -a $((n1 - n0)) -le 8 ]
all_from_probed() {
	[ "$(nmsg 0 "pid != $PROBED_PID")" = 0 ] && [ "$(nmsg 0 "pid == $PROBED_PID")" -gt 0 ]
}
check "every message comes from probed's own PID" all_from_probed

# results_ok NAME: at least 2 results for NAME, none failed
results_ok() {
	"$PROBECTL_BIN" history "$1" --db "$DB" --since 1h --json 2>/dev/null |
		"$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["count"]>=2 and d["failures"]==0 else 1)'
}
for n in userid userinfo post-detail; do
	check "in the sandbox: $n passes (pattern matched without JIT)" wait_for 10 results_ok "$n"
done
check "the pattern-canary pages (a non-matching pattern fails without JIT)" \
	wait_for 15 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="trigger" and b.get("probe")=="pattern-canary" and "pattern" in b.get("reason","")'
check "STATUS= follows: 3 up, 1 down, 1 open incident (refreshed within 5 s)" \
	wait_for 8 status_matches '^4 probes: 3 up, 1 down; open incidents 1; outbox 0; config OK$'
echo "STATUS=$(nmsg 0 --status)"

pid_gone "$PROBED_PID" && fail "probed exited (see probed.log)"

# ---- reloads --------------------------------------------------------------------------------
m=$(wc -l <"$NLOG")
write_sd_config "$PD_TMP/v2.yaml" extra
mv "$PD_TMP/v2.yaml" "$CFG"
kill -HUP "$PROBED_PID"
check "SIGHUP: RELOADING=1 then READY=1" wait_for 5 nmsg "$m" --seq RELOADING READY
check "SIGHUP: RELOADING=1 carries MONOTONIC_USEC=" \
	nmsg_ge 1 "$m" '"MONOTONIC_USEC" in a and a.get("RELOADING") == "1"'
check "good reload: STATUS= counts the added probe, config OK" \
	wait_for 5 status_matches '^5 probes: [0-9]+ up, [0-9]+ down; open incidents [0-9]+; outbox [0-9]+; config OK$' "$m"

m=$(wc -l <"$NLOG")
printf 'probes:\n  - name: broken\n    url: ftp://nowhere/\n' >"$PD_TMP/bad.yaml"
mv "$PD_TMP/bad.yaml" "$CFG"
kill -HUP "$PROBED_PID"
check "bad reload: RELOADING=1 then READY=1 (the old config keeps running)" \
	wait_for 5 nmsg "$m" --seq RELOADING READY
check "bad reload: STATUS= says reload FAILED with the reason, running previous config" \
	wait_for 5 status_matches "^reload FAILED: $CFG:3:10: url: invalid URL .*; running previous config; 5 probes: " "$m"
sleep 6 # a periodic refresh must keep the failure visible
check "bad reload: the failure stays in STATUS= across refreshes" \
	status_matches '^reload FAILED: .*running previous config; 5 probes:' 0
check "bad reload: probing goes on" wait_for 5 results_ok extra
m=$(wc -l <"$NLOG")
write_sd_config "$PD_TMP/v3.yaml"
mv "$PD_TMP/v3.yaml" "$CFG"
kill -HUP "$PROBED_PID"
check "fixed reload: STATUS= back to config OK" \
	wait_for 5 status_matches '^4 probes: .*; config OK$' "$m"

# ---- a stuck process stops feeding the watchdog --------------------------------------------------
kill -STOP "$PROBED_PID"
sleep 0.5
s0=$(nmsg 0 'a.get("WATCHDOG") == "1"')
sleep 2.5
s1=$(nmsg 0 'a.get("WATCHDOG") == "1"')
echo "WATCHDOG=1 while SIGSTOPped for 2.5 s: $((s1 - s0))"
check "SIGSTOP: no WATCHDOG=1 for 2.5 s (systemd would restart it)" [ "$s1" = "$s0" ]
kill -CONT "$PROBED_PID"
check "SIGCONT: WATCHDOG=1 resumes" wait_for 3 nmsg_ge $((s1 + 2)) 0 'a.get("WATCHDOG") == "1"'

# ---- shutdown -------------------------------------------------------------------------------
m=$(wc -l <"$NLOG")
stop_pid "$PROBED_PID" 20
check "SIGTERM: exit 0" [ "$STOP_RC" = 0 ]
check "SIGTERM: STOPPING=1 with STATUS=" nmsg_ge 1 "$m" 'a.get("STOPPING") == "1" and "STATUS" in a'
check "journald priority prefixes (JOURNAL_STREAM set)" grep -q '^<6>probed .* started' "$PD_TMP/probed.log"
check "every log line of probed has a priority prefix" \
	not grep -Ev '^(<[0-7]>|sandbox: )' "$PD_TMP/probed.log"
check "the sandbox was applied" grep -q '^sandbox: [0-9]* syscalls allowed' "$PD_TMP/probed.log"
check "the credential is in no log, notify message or database" \
	not grep -qaF -- "$KEY" "$PD_TMP/probed.log" "$NLOG" "$DB"* "$WEBHOOK_OUT"

# ---- without a listening NOTIFY_SOCKET nothing changes ---------------------------------------------
write_sd_config "$CFG"
NOTIFY_SOCKET=$PD_TMP/nobody.sock WATCHDOG_USEC=1000000 WATCHDOG_PID=1 \
	"$PROBED_BIN" -c "$CFG" >>"$PD_TMP/dead-notify.log" 2>&1 &
pid=$!
pd_track "$pid"
sleep 2
check "dead NOTIFY_SOCKET: probed keeps running" not pid_gone "$pid"
stop_pid "$pid" 20
check "dead NOTIFY_SOCKET: SIGTERM exits 0" [ "$STOP_RC" = 0 ]
check "WATCHDOG_PID of another process: no watchdog" \
	not grep -q 'systemd watchdog' "$PD_TMP/dead-notify.log"
pd_finish
