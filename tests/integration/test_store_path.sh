#!/usr/bin/env bash
# A database path that cannot be opened says why and what to do, for probed
# (exit 70, "cannot start: ...") and probectl alike, instead of SQLite's "unable to open
# database file" / "disk I/O error":
#  - a directory given as the database;
#  - a directory that does not exist, a file where a directory should be;
#  - a directory or file this user may not write (as nobody: root may write anything);
#  - a read-only file system (a read-only tmpfs in a private mount namespace).
# Every message names --db PATH or store.path. Nothing probes: probed stops at the open.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

CFG=$PD_TMP/probes.yaml
cp "$PD_SRC/tests/fixtures/config/good_minimal.yaml" "$CFG"
WAYOUT="--db PATH or store.path in probes.yaml"

# probed_db NAME DB [WRAPPER...]: run probed --db DB (bounded), stderr to $PD_TMP/NAME.err,
# exit status to $RC.
probed_db() {
	local name=$1 db=$2
	shift 2
	RC=0
	timeout 10 "$@" "$PROBED_BIN" -c "$CFG" --db "$db" >"$PD_TMP/$name.out" 2>"$PD_TMP/$name.err" ||
		RC=$?
}

# ---- a directory as the database
mkdir "$PD_TMP/dbdir"
probed_db dir "$PD_TMP/dbdir"
check "probed --db DIR: exit 70" [ "$RC" = 70 ]
check "... says it is a directory and shows a file path" grep -qF -- \
	"cannot start: $PD_TMP/dbdir is a directory: name the database file itself, e.g. --db $PD_TMP/dbdir/probed.db (or store.path in probes.yaml)" \
	"$PD_TMP/dir.err"
check "... and not SQLite's 'disk I/O error'" not grep -q 'disk I/O' "$PD_TMP/dir.err"
RC=0
"$PROBECTL_BIN" status --db "$PD_TMP/dbdir" >"$PD_TMP/pdir.out" 2>"$PD_TMP/pdir.err" || RC=$?
check "probectl status --db DIR: exit 3, the same explanation" \
	bash -c "[ $RC = 3 ] && grep -qxF 'probectl: $PD_TMP/dbdir is a directory: name the database file itself, e.g. --db $PD_TMP/dbdir/probed.db (or store.path in probes.yaml)' '$PD_TMP/pdir.err'"

# ---- a directory that does not exist; a file where a directory should be
probed_db nodir "$PD_TMP/nope/probed.db"
check "probed --db in a missing directory: exit 70, names the directory and the way out" \
	bash -c "[ $RC = 70 ] && grep -qF 'cannot start: $PD_TMP/nope/probed.db: directory $PD_TMP/nope does not exist (systemd makes it for probed.service); create it, or use $WAYOUT' '$PD_TMP/nodir.err'"
check "... and creates nothing" [ ! -e "$PD_TMP/nope" ]
: >"$PD_TMP/afile"
probed_db notdir "$PD_TMP/afile/probed.db"
check "probed --db under a regular file: exit 70, 'is a file, not a directory'" \
	bash -c "[ $RC = 70 ] && grep -qF 'cannot start: $PD_TMP/afile/probed.db: $PD_TMP/afile is a file, not a directory; use another path: $WAYOUT' '$PD_TMP/notdir.err'"

# ---- not root: a directory and a file this user may not write
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	AS_NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	chmod 755 "$PD_TMP"
	chmod 644 "$CFG"
	# the binary may live under a directory nobody cannot enter (a home directory)
	mkdir "$PD_TMP/bin"
	cp "$PROBED_BIN" "$PD_TMP/bin/probed"
	chmod 755 "$PD_TMP/bin" "$PD_TMP/bin/probed"
	mkdir -m 755 "$PD_TMP/own"
	RC=0
	timeout 10 "${AS_NOBODY[@]}" "$PD_TMP/bin/probed" -c "$CFG" --db "$PD_TMP/own/probed.db" \
		>"$PD_TMP/own.out" 2>"$PD_TMP/own.err" || RC=$?
	check "as nobody, a root-owned directory: exit 70, says who may not write where" \
		bash -c "[ $RC = 70 ] && grep -qF 'cannot start: $PD_TMP/own/probed.db: permission denied: uid 65534' '$PD_TMP/own.err' &&
			grep -qF ' may not write in directory $PD_TMP/own (owner uid 0, mode 755); run as root or as the service, or use $WAYOUT' '$PD_TMP/own.err'"
	: >"$PD_TMP/own/probed.db"   # root's, as a root-run probed would have left it
	chmod 600 "$PD_TMP/own/probed.db"
	chmod 777 "$PD_TMP/own"
	RC=0
	timeout 10 "${AS_NOBODY[@]}" "$PD_TMP/bin/probed" -c "$CFG" --db "$PD_TMP/own/probed.db" \
		>"$PD_TMP/file.out" 2>"$PD_TMP/file.err" || RC=$?
	check "as nobody, a root-owned 0600 database: exit 70, 'may not write it'" \
		bash -c "[ $RC = 70 ] && grep -qF ' may not write it (owner uid 0, mode 600); run as root or as the service, or use $WAYOUT' '$PD_TMP/file.err'"
else
	fail "not root or no setpriv (util-linux): the permission cases need to become another user"
fi

# ---- a read-only file system
mkdir "$PD_TMP/ro"
if unshare -m true 2>/dev/null; then
	RC=0
	unshare -m bash -c '
		mount --make-rprivate / && mount -t tmpfs -o ro,size=1m tmpfs "$1" || exit 99
		timeout 10 "$2" -c "$3" --db "$1/probed.db"' sh "$PD_TMP/ro" "$PROBED_BIN" "$CFG" \
		>"$PD_TMP/ro.out" 2>"$PD_TMP/ro.err" || RC=$?
	[ "$RC" != 99 ] || fail "cannot mount a read-only tmpfs here (the test command runs as root)"
	check "a read-only file system: exit 70, says so and names the way out" \
		bash -c "[ $RC = 70 ] && grep -qF 'cannot start: $PD_TMP/ro/probed.db: $PD_TMP/ro is on a read-only file system; use a file on a writable one: $WAYOUT' '$PD_TMP/ro.err'"
else
	fail "no mount namespace (unshare -m): the read-only file system case cannot run"
fi

pd_finish
