#!/usr/bin/env bash
# probed under a real systemd: a Debian 12 container booted with systemd-nspawn (systemd 252
# as PID 1), the built .deb installed with apt, the API key as a credential, the service
# started against the simulated API and a webhook receiver on the shared loopback.
# Promises checked:
#  - start: the unit is active only after READY=1 (probed's start lines come before systemd's
#    "Started"), `systemctl status` shows probed's STATUS= text; a bad config fails the
#    start with 78 and never becomes active;
#  - reload: `systemctl reload probed` applies a good edit; a bad edit fails the reload with
#    FILE:LINE:COL in the journal and the old config keeps running (same PID, still probing);
#  - watchdog: a daemon that stops feeding it (SIGSTOP) is restarted by systemd, and the open
#    outage survives the restart: exactly one page reaches the receiver;
#  - sandbox: NoNewPrivs 1, Seccomp 2, not dumpable, no write outside its state directory,
#    `systemd-analyze security` <= 1.5 inside the container;
#  - journal: probed's lines carry the right priorities; the canary key is nowhere in the
#    journal or the database;
#  - packaging: `apt remove` keeps /etc/probed and the database, `apt purge` removes both.
# A machine that cannot boot the container fails this test loudly; it never passes silently.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

[ "$(id -u)" = 0 ] || fail "needs root (systemd-nspawn); run the test command as root"
for t in debootstrap systemd-nspawn nsenter dpkg-deb; do
	command -v "$t" >/dev/null ||
		fail "$t not installed (bash scripts/deps.sh --test installs debootstrap, systemd-container, util-linux)"
done

# ---- the container's root: debootstrap once, cached; booted read-only with a tmpfs overlay ----
# Runtime libraries of the .deb are included so that `apt install ./probed.deb` needs no network.
PKGS=systemd,systemd-sysv,dbus,libcurl4,libcjson1,libyaml-0-2,libev4,libsqlite3-0,libpcre2-8-0,libmicrohttpd12,ca-certificates
CACHE=${PROBED_NSPAWN_CACHE:-/var/tmp/probed-nspawn}
ROOTFS=$CACHE/rootfs-$(printf '%s' "$PKGS" | md5sum | cut -c1-8)
mkdir -p "$CACHE"
(
	flock 9
	if [ ! -x "$ROOTFS/lib/systemd/systemd" ]; then
		mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
		[ -n "$mirror" ] || mirror=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
		[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
		echo "building the container root with debootstrap (once, about a minute): $ROOTFS"
		rm -rf "$ROOTFS.tmp"
		debootstrap --variant=minbase --include="$PKGS" bookworm "$ROOTFS.tmp" "$mirror" \
			>"$CACHE/debootstrap.log" 2>&1 ||
			{ tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
		echo probed-test >"$ROOTFS.tmp/etc/hostname"
		rm -f "$ROOTFS.tmp/etc/machine-id"
		mv "$ROOTFS.tmp" "$ROOTFS"
	fi
) 9>"$CACHE/lock" || fail "debootstrap of the container root failed (see $CACHE/debootstrap.log)"

# ---- the package ----------------------------------------------------------------------------
BUILD=$(cd "$(dirname "$PROBED_BIN")" && pwd)
VERSION=$("$PROBED_BIN" -V | awk '{print $2}')
DEB=$BUILD/probed_${VERSION}_$(dpkg --print-architecture).deb
cmake --build "$BUILD" --target package >"$PD_TMP/cpack.log" 2>&1 ||
	{ tail -30 "$PD_TMP/cpack.log" >&2; fail "cmake --build --target package failed"; }
mkdir -p "$PD_TMP/deb"
cp "$DEB" "$PD_TMP/deb/probed.deb"

# ---- the loopback side: simulated API and the on-call webhook ---------------------------------
KEY="canary-$RANDOM$RANDOM-nspawn-do-not-leak"
start_simapi --key "$KEY"
start_receiver webhook

# ---- boot ----------------------------------------------------------------------------------
MACHINE=probed-it-$$
systemd-nspawn --register=no --keep-unit --quiet --machine="$MACHINE" -D "$ROOTFS" \
	--volatile=overlay --bind-ro="$PD_TMP/deb:/mnt/deb" -b >"$PD_TMP/nspawn.log" 2>&1 &
NSPAWN_PID=$!
pd_track "$NSPAWN_PID"
# the container's PID 1 is the first systemd below systemd-nspawn (a child or a grandchild,
# depending on how nspawn sets up the namespaces)
container_init() {
	ps -e -o pid=,ppid=,comm= 2>/dev/null | awk -v root="$NSPAWN_PID" '
		{ parent[$1] = $2; comm[$1] = $3; order[NR] = $1 }
		END {
			for (i = 1; i <= NR; i++) {
				p = order[i]
				if (comm[p] != "systemd") continue
				for (q = parent[p]; q != "" && q > 1; q = parent[q])
					if (q == root) { print p; exit }
			}
		}' || true
}
CPID=
for _ in $(seq 1 100); do
	CPID=$(container_init)
	[ -n "$CPID" ] && break
	kill -0 "$NSPAWN_PID" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$CPID" ]; then
	cat "$PD_TMP/nspawn.log" >&2
	fail "THIS MACHINE CANNOT BOOT THE TEST CONTAINER (systemd-nspawn -b); the real-systemd test did not run"
fi
in_c() { nsenter -t "$CPID" -a -r -w "$@"; }
state=
for _ in $(seq 1 120); do
	state=$(in_c systemctl is-system-running 2>/dev/null || true)
	case $state in running | degraded) break ;; esac
	sleep 0.5
done
echo "container systemd (pid $CPID on the host): $(in_c systemctl --version | head -1); system $state"
check "the container booted with systemd as PID 1 (running or degraded)" \
	bash -c "case '$state' in running|degraded) exit 0;; *) exit 1;; esac"
[ "$state" = running ] || [ "$state" = degraded ] || fail "container did not finish booting (state '$state')"

# ---- install -------------------------------------------------------------------------------
in_c env DEBIAN_FRONTEND=noninteractive apt-get install -y -q /mnt/deb/probed.deb \
	>"$PD_TMP/apt-install.log" 2>&1 || { tail -20 "$PD_TMP/apt-install.log" >&2; fail "apt install of the .deb failed"; }
check "apt installed probed" in_c dpkg-query -W -f='${Status}\n' probed
check "the .deb ships the Prometheus rules under /usr/share/probed" \
	in_c test -s /usr/share/probed/prometheus/probed.rules.yml
check "the .deb ships the runbooks" in_c test -s /usr/share/probed/runbooks/mode1-upstream-changed.md

in_c install -d -m 0700 /etc/probed/credentials
printf '%s\n' "$KEY" | in_c sh -c 'umask 077; cat > /etc/probed/credentials/tiklive-key'
write_conf() { # write_conf INTERVAL [EXTRA-TOP-LEVEL-YAML]
	in_c sh -c 'cat > /etc/probed/probes.yaml' <<YAML
defaults:
  interval: $1
  timeout: 2s
  confirm_after: 500ms
  headers:
    X-Api-Key: \${file:/run/credentials/probed.service/tiklive-key}
store:
  path: /var/lib/probed/probed.db
http:
  listen: 127.0.0.1:$HTTP_PORT
probes:
  - name: userid
    family: userid
    url: $SIM_URL/userid/?username=tiktok
    expect:
      status: [200]
      json: {type: object, required: [id]}
  - name: post-detail
    family: post-detail
    url: $SIM_URL/post-detail/?url=x
    expect:
      status: [200]
notify:
  - name: oncall
    type: webhook
    url: http://127.0.0.1:$WEBHOOK_PORT/hook
    timeout: 2s
${2:-}
YAML
}
HTTP_PORT=$(free_port)
# a short watchdog, so the SIGSTOP check takes seconds (the unit's own is 30 s)
in_c mkdir -p /etc/systemd/system/probed.service.d
in_c sh -c 'printf "[Service]\nWatchdogSec=4s\nRestartSec=1s\n" > /etc/systemd/system/probed.service.d/test.conf'
# A kernel refuses user namespaces to a process in a chroot (clone(2): EPERM), so inside a
# chroot (the fresh-machine check runs the test command in one) the unit's PrivateUsers=yes
# fails at step USER. Then, and only then, the test turns PrivateUsers off with a drop-in,
# says so loudly, and checks everything else; on a booted host the unit runs unchanged.
USERNS=yes
if ! in_c unshare -U true 2>/dev/null; then
	USERNS=no
	echo "NOTE: this machine refuses user namespaces here (a chroot?): PrivateUsers=no for this run;"
	echo "NOTE: every other check runs unchanged (the unit itself is not modified)."
	in_c sh -c 'printf "[Service]\nPrivateUsers=no\n" > /etc/systemd/system/probed.service.d/no-userns.conf'
fi
in_c systemctl daemon-reload

# a bad config first: the start fails with 78 and the unit never becomes active
write_conf 1s "bogus_key: 1"
rc=0; in_c systemctl start probed >/dev/null 2>&1 || rc=$?
check "a bad config: systemctl start fails" [ "$rc" != 0 ]
check "a bad config: the unit is not active" not in_c systemctl is-active --quiet probed
check "a bad config: exit status 78 (CONFIG), so systemd does not restart it" \
	bash -c "[ \"\$(nsenter -t $CPID -a -r -w systemctl show -p ExecMainStatus --value probed)\" = 78 ]"
check "a bad config: FILE:LINE:COL in the journal" \
	bash -c "nsenter -t $CPID -a -r -w journalctl -u probed --no-pager | grep -q '/etc/probed/probes.yaml:[0-9]*:[0-9]*: .*bogus_key'"
in_c systemctl reset-failed probed 2>/dev/null || true

# ---- start ---------------------------------------------------------------------------------
write_conf 1s
in_c journalctl --rotate >/dev/null 2>&1 || true
SINCE=$(in_c date '+%Y-%m-%d %H:%M:%S')
in_c systemctl start probed || { in_c journalctl -u probed --no-pager | tail -20 >&2; fail "systemctl start probed failed"; }
check "probed.service is active (running)" \
	bash -c "[ \"\$(nsenter -t $CPID -a -r -w systemctl show -p ActiveState,SubState --value probed | tr '\n' ' ')\" = 'active running ' ]"
in_c systemctl status probed --no-pager >"$PD_TMP/status.txt" 2>&1 || true
sed 's/^/  | /' "$PD_TMP/status.txt"
check "systemctl status shows probed's STATUS= text" grep -Eq 'Status: ".*probes?: ' "$PD_TMP/status.txt"
in_c journalctl -u probed --since "$SINCE" --no-pager -o cat >"$PD_TMP/journal-start.txt"
ready_order() {
	local started ours
	ours=$(grep -n 'probed .* started (pid' "$PD_TMP/journal-start.txt" | head -1 | cut -d: -f1)
	started=$(grep -n '^Started probed.service' "$PD_TMP/journal-start.txt" | head -1 | cut -d: -f1)
	[ -n "$ours" ] && [ -n "$started" ] && [ "$ours" -lt "$started" ]
}
check "active only after READY=1: probed's start line precedes systemd's 'Started'" ready_order
MAINPID=$(in_c systemctl show -p MainPID --value probed)
check "the service has a main PID" [ "${MAINPID:-0}" -gt 1 ]

# ---- sandbox -------------------------------------------------------------------------------
in_c cat /proc/"$MAINPID"/status >"$PD_TMP/proc-status"
check "the sandbox: NoNewPrivs 1" grep -Eq '^NoNewPrivs:[[:space:]]+1$' "$PD_TMP/proc-status"
check "the sandbox: Seccomp 2 (filter)" grep -Eq '^Seccomp:[[:space:]]+2$' "$PD_TMP/proc-status"
SVC_UID=$(awk '/^Uid:/ {print $2}' "$PD_TMP/proc-status")
check "runs as a dynamic user, not root (uid $SVC_UID)" [ "${SVC_UID:-0}" != 0 ]
check "not dumpable: its /proc files belong to root, not to uid $SVC_UID" \
	[ "$(in_c stat -c %u /proc/"$MAINPID"/status)" = 0 ]
# writes, from inside the service's own namespaces, as its user
as_svc_ok() { in_c nsenter -t "$MAINPID" -m -r -w -S "$SVC_UID" -G "$SVC_UID" "$@"; }
check "the sandbox: can write its state directory" as_svc_ok sh -c ': > /var/lib/probed/write-probe && rm /var/lib/probed/write-probe'
check "control: the same write as root outside the sandbox succeeds" \
	in_c sh -c ': > /etc/probed/write-probe && rm /etc/probed/write-probe'
for d in /etc/probed /usr/lib /var/lib/dpkg /root /home; do
	check "the sandbox: cannot write $d" not as_svc_ok sh -c ": > $d/write-probe"
done
in_c systemd-analyze security probed.service --no-pager >"$PD_TMP/security.txt" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for probed.service: \([0-9.]*\).*/\1/p' "$PD_TMP/security.txt")
echo "systemd-analyze security probed.service (in the container, user namespaces: $USERNS): ${score:-?}"
check "systemd-analyze security inside the container scores <= 1.5" \
	awk -v s="${score:-99}" 'BEGIN { exit !(s <= 1.5) }'

# ---- probing, paging -----------------------------------------------------------------------
check "both probes are up (probectl status inside the container)" wait_for 20 bash -c \
	"nsenter -t $CPID -a -r -w probectl status --db /var/lib/probed/probed.db 2>/dev/null | grep -c ' up ' | grep -qx 2"

# ---- reload --------------------------------------------------------------------------------
write_conf 2s
rc=0; in_c systemctl reload probed || rc=$?
check "reload of a good edit succeeds" [ "$rc" = 0 ]
check "the good edit is applied (journal)" wait_for 10 bash -c \
	"nsenter -t $CPID -a -r -w journalctl -u probed --no-pager -o cat | grep -q 'config /etc/probed/probes.yaml applied'"
write_conf 2s "also_bogus: [1"
rc=0; in_c systemctl reload probed >/dev/null 2>&1 || rc=$?
check "reload of a bad edit fails" [ "$rc" != 0 ]
check "the bad edit's FILE:LINE:COL is in the journal" bash -c \
	"nsenter -t $CPID -a -r -w journalctl -u probed --no-pager -o cat | grep -Eq '^/etc/probed/probes.yaml:[0-9]+:[0-9]+: '"
check "after the bad reload the same process runs" [ "$(in_c systemctl show -p MainPID --value probed)" = "$MAINPID" ]
check "after the bad reload the unit is still active" in_c systemctl is-active --quiet probed
results_total() {
	curl -fsS "http://127.0.0.1:$HTTP_PORT/metrics" | awk '/^probed_results_total/ {s+=$2} END {print s+0}'
}
n0=$(results_total)
check "the old config keeps probing after the bad reload (probed_results_total grows)" \
	wait_for 10 bash -c "[ \"\$(curl -fsS http://127.0.0.1:$HTTP_PORT/metrics | awk '/^probed_results_total/ {s+=\$2} END {print s+0}')\" -gt $n0 ]"
write_conf 1s
in_c systemctl reload probed >/dev/null 2>&1 || true

# ---- an outage, the watchdog, the restart --------------------------------------------------
sim_mode post-detail 502
check "the outage pages the webhook once" wait_for 30 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="trigger"'
in_c bash -c "kill -STOP $MAINPID" # bash's kill: a minimal Debian has no /bin/kill
check "the watchdog restarts the stopped daemon (new main PID)" wait_for 30 bash -c \
	"p=\$(nsenter -t $CPID -a -r -w systemctl show -p MainPID --value probed); [ -n \"\$p\" ] && [ \"\$p\" != 0 ] && [ \"\$p\" != $MAINPID ] && nsenter -t $CPID -a -r -w systemctl is-active --quiet probed"
check "the journal says the watchdog fired" bash -c \
	"nsenter -t $CPID -a -r -w journalctl -u probed --no-pager -o cat | grep -qi 'watchdog timeout'"
sleep 6 # several probe intervals and incident passes after the restart
check "exactly one page for the outage across the restart" received_is 1 "$WEBHOOK_OUT" 'b.get("event")=="trigger"'
check "the outage state survived the restart (post-detail still down)" bash -c \
	"nsenter -t $CPID -a -r -w probectl status --db /var/lib/probed/probed.db 2>/dev/null | grep -E '^post-detail' | grep -q down"
sim_mode post-detail ok
check "recovery resolves the page" wait_for 30 received_ge 1 "$WEBHOOK_OUT" 'b.get("event")=="resolve"'

# ---- journal -------------------------------------------------------------------------------
in_c journalctl -u probed -o json --no-pager >"$PD_TMP/journal.json"
prio_of() { # prio_of REGEX: the PRIORITY of the first journal line of probed matching REGEX
	python3 -c 'import json,re,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    m = e.get("MESSAGE")
    if isinstance(m, str) and e.get("SYSLOG_IDENTIFIER") == "probed" and re.search(sys.argv[2], m):
        print(e.get("PRIORITY")); break' "$PD_TMP/journal.json" "$1"
}
check "journal: the start line is info (6)" [ "$(prio_of 'started \(pid')" = 6 ]
check "journal: up -> failing is a warning (4)" [ "$(prio_of 'up -> failing')" = 4 ]
check "journal: failing -> down is an error (3)" [ "$(prio_of 'failing -> down')" = 3 ]
check "journal: no line carries probed's own <N> prefix (journald parsed it)" \
	not grep -q '"MESSAGE":"<[0-7]>' "$PD_TMP/journal.json"
in_c journalctl -o export --no-pager >"$PD_TMP/journal-all.export" 2>/dev/null || true
check "the whole journal was read" test -s "$PD_TMP/journal-all.export"
check "the canary key is nowhere in the journal" not grep -aqF "$KEY" "$PD_TMP/journal-all.export"
in_c sh -c 'cat /var/lib/private/probed/probed.db* 2>/dev/null' >"$PD_TMP/db.bytes"
check "the database was read" test -s "$PD_TMP/db.bytes"
check "the canary key is nowhere in the database" not grep -aqF "$KEY" "$PD_TMP/db.bytes"
check "the canary key is in no payload" not grep -aqF "$KEY" "$WEBHOOK_OUT"

# ---- remove and purge ----------------------------------------------------------------------
in_c env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q probed >"$PD_TMP/apt-remove.log" 2>&1 ||
	{ tail -20 "$PD_TMP/apt-remove.log" >&2; fail "apt remove failed"; }
check "apt remove stops the service" not in_c systemctl is-active --quiet probed
check "apt remove keeps /etc/probed/probes.yaml" in_c test -s /etc/probed/probes.yaml
check "apt remove keeps the credential" in_c test -s /etc/probed/credentials/tiklive-key
check "apt remove keeps the database" in_c test -s /var/lib/private/probed/probed.db
in_c env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q probed >"$PD_TMP/apt-purge.log" 2>&1 ||
	{ tail -20 "$PD_TMP/apt-purge.log" >&2; fail "apt purge failed"; }
check "apt purge removes /etc/probed/probes.yaml" not in_c test -e /etc/probed/probes.yaml
check "apt purge removes the database" not in_c test -e /var/lib/private/probed/probed.db

# ---- shut the container down (stop_pid sends SIGTERM: nspawn powers the container off) -------
stop_pid "$NSPAWN_PID" 30
pd_untrack "$NSPAWN_PID"
pd_finish
