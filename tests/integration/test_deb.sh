#!/usr/bin/env bash
# The Debian package, built by CPack and installed for real into a scratch root:
#  - `cmake --build BUILD --target package` makes probed_<version>_amd64.deb with
#    computed Depends (dpkg-shlibdeps) and /etc/probed/probes.yaml as its only conffile;
#  - `dpkg --root=SCRATCH -i` installs (maintainer scripts run chrootless with DPKG_ROOT
#    set, so they must not touch the host); the binaries run, the unit, example config,
#    runbooks and man pages are where they belong and equal to the sources; each man page
#    renders with `man -l` without a groff warning; no probed-simapi, no tests;
#  - the installed unit passes `systemd-analyze verify` (with its paths pointed into the
#    scratch root) and `systemd-analyze security --root` rates it <= 2.0;
#  - the example config validates once its credential path exists;
#  - conffile semantics: a local edit survives reinstalling, `dpkg -r` keeps the file,
#    `dpkg -P` removes it and the service's state directory.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin # dpkg wants ldconfig and friends

for t in dpkg dpkg-deb dpkg-shlibdeps man systemd-analyze gzip; do
	command -v "$t" >/dev/null || fail "$t not installed (packages dpkg-dev, man-db, systemd)"
done
BUILD=$(cd "$(dirname "$PROBED_BIN")" && pwd)
[ -f "$BUILD/CMakeCache.txt" ] || fail "$BUILD is not a CMake build directory"
VERSION=$("$PROBED_BIN" -V | awk '{print $2}')
ARCH=$(dpkg --print-architecture)
DEB=$BUILD/probed_${VERSION}_${ARCH}.deb

# ---- build ----------------------------------------------------------------------------------
rm -f "$DEB"
cmake --build "$BUILD" --target package >"$PD_TMP/cpack.log" 2>&1 ||
	{ tail -30 "$PD_TMP/cpack.log" >&2; fail "cmake --build --target package failed"; }
check "package target builds probed_${VERSION}_${ARCH}.deb" test -s "$DEB"

field() { dpkg-deb -f "$DEB" "$1"; }
check "control: Package probed" [ "$(field Package)" = probed ]
check "control: Version $VERSION" [ "$(field Version)" = "$VERSION" ]
check "control: Architecture $ARCH" [ "$(field Architecture)" = "$ARCH" ]
depends=$(field Depends)
echo "Depends: $depends"
for lib in libc6 libcurl4 libsqlite3-0 libyaml-0-2 libpcre2-8-0 libev4 libcjson1 libsystemd0; do
	check "Depends (computed by dpkg-shlibdeps) has $lib" \
		grep -Eq "(^|, )$lib( \\(|,|$)" <<<"$depends"
done
check "Depends carries versions from the shlibs files" grep -Eq 'libc6 \(>= [0-9.]+\)' <<<"$depends"
dpkg-deb --ctrl-tarfile "$DEB" | tar -x -O ./conffiles >"$PD_TMP/conffiles" 2>/dev/null || true
check "conffiles lists exactly /etc/probed/probes.yaml" \
	diff <(printf '/etc/probed/probes.yaml\n') "$PD_TMP/conffiles"
dpkg-deb -c "$DEB" | awk '{print $NF}' | sed 's|^\./|/|' >"$PD_TMP/contents"
check "no probed-simapi in the package" not grep -q simapi "$PD_TMP/contents"
check "no tests in the package" not grep -Eq '/check_|/tests?/|receiver\.py' "$PD_TMP/contents"
check "nothing under /usr/local" not grep -q '^/usr/local' "$PD_TMP/contents"
check "every file owned by root" not bash -c "dpkg-deb -c '$DEB' | awk '{print \$2}' | grep -v '^root/root\$'"

# ---- install into a scratch root --------------------------------------------------------------
ROOT=$PD_TMP/root
mkdir -p "$ROOT/var/lib/dpkg/updates" "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/triggers"
: >"$ROOT/var/lib/dpkg/status"
: >"$ROOT/var/lib/dpkg/available"
DPKG=(dpkg "--root=$ROOT" --log=/dev/null --force-depends --force-script-chrootless)
if [ "$(id -u)" != 0 ]; then
	DPKG+=(--force-not-root)
fi
rc=0
"${DPKG[@]}" -i "$DEB" >"$PD_TMP/dpkg-i.log" 2>&1 || rc=$?
check "dpkg -i into the scratch root exits 0" [ "$rc" = 0 ]
check "dpkg: install ok installed" \
	bash -c "dpkg --root='$ROOT' -s probed | grep -qx 'Status: install ok installed'"
check "dpkg: /etc/probed/probes.yaml registered as a conffile" \
	bash -c "dpkg --root='$ROOT' -s probed | grep -Eq '^ /etc/probed/probes.yaml [0-9a-f]{32}\$'"

R=$ROOT
check "/usr/sbin/probed installed, executable" test -x "$R/usr/sbin/probed"
check "/usr/bin/probectl installed, executable" test -x "$R/usr/bin/probectl"
check "installed probed runs: -V prints $VERSION" \
	bash -c "[ \"\$('$R/usr/sbin/probed' -V)\" = 'probed $VERSION' ]"
check "installed probectl runs: help lists validate" \
	bash -c "'$R/usr/bin/probectl' help | grep -q 'validate'"
check "/lib/systemd/system/probed.service is the unit" \
	cmp "$R/lib/systemd/system/probed.service" "$PD_SRC/packaging/probed.service"
check "/etc/probed/probes.yaml is the example config" \
	cmp "$R/etc/probed/probes.yaml" "$PD_SRC/packaging/probes.yaml"
check "/etc/probed/credentials is a 0700 directory" \
	bash -c "[ \"\$(stat -c %a '$R/etc/probed/credentials')\" = 700 ]"
check "the example reads the key as a systemd credential" \
	grep -qF 'X-Api-Key: ${file:/run/credentials/probed.service/tiklive-key}' "$R/etc/probed/probes.yaml"

# runbooks: every runbooks/*.md of the source tree, byte for byte (none yet is fine)
nrb=0
for f in "$PD_SRC"/runbooks/*.md; do
	[ -e "$f" ] || continue
	nrb=$((nrb + 1))
	check "runbook $(basename "$f") installed" cmp "$f" "$R/usr/share/probed/runbooks/$(basename "$f")"
done
ninst=$(find "$R/usr/share/probed/runbooks" -name '*.md' 2>/dev/null | wc -l)
echo "runbooks: $nrb in the source, $ninst installed"
check "as many runbooks installed as in runbooks/" [ "$ninst" = "$nrb" ]

# gzip_n FILE: a gzip header without a file name (FLG.FNAME) and with MTIME 0, as gzip -n
gzip_n() {
	local flg mtime
	flg=$(od -An -tu1 -j3 -N1 "$1" | tr -d ' ')
	mtime=$(od -An -tu4 -j4 -N4 "$1" | tr -d ' ')
	[ $((flg & 8)) = 0 ] && [ "$mtime" = 0 ]
}

# man pages: gzipped, equal to the sources, rendering cleanly
for page in man8/probed.8 man1/probectl.1 man5/probes.yaml.5; do
	gz=$R/usr/share/man/$page.gz
	name=$(basename "$page")
	check "man page $page.gz installed" test -s "$gz"
	check "$page.gz is gzip -9n (no file name, no timestamp in the header)" gzip_n "$gz"
	check "$page.gz is packaging/man/$name" cmp <(gzip -dc "$gz") "$PD_SRC/packaging/man/$name"
	rc=0
	MANWIDTH=80 man --warnings -l "$gz" >"$PD_TMP/man.out" 2>"$PD_TMP/man.err" || rc=$?
	check "man -l $page renders (exit 0)" [ "$rc" = 0 ]
	check "man -l $page: no groff warnings" not [ -s "$PD_TMP/man.err" ]
	cat "$PD_TMP/man.err" >&2
	title=$(printf '%s' "${name%.*}" | tr '[:lower:]' '[:upper:]')
	check "man -l $page: title ${title}(${name##*.}) and NAME section" \
		bash -c "head -1 '$PD_TMP/man.out' | grep -q '^${title}(${name##*.})' && grep -q '^NAME' '$PD_TMP/man.out'"
done
check "probed(8) documents the exit statuses" grep -q '^EXIT STATUS' <(MANWIDTH=80 man -l "$R/usr/share/man/man8/probed.8.gz")

# every command of `probectl help` has a "probectl CMD" line in probectl(1)
man_has_commands() {
	local out c ok=0
	out=$(MANROFFOPT=-rHY=0 MANWIDTH=200 man -l "$R/usr/share/man/man1/probectl.1.gz" 2>/dev/null)
	for c in $("$R/usr/bin/probectl" help | awk '/^  [a-z]/ {print $1}'); do
		grep -q "probectl $c" <<<"$out" || { echo "probectl(1) lacks $c" >&2; ok=1; }
	done
	return $ok
}
check "probectl(1) documents every command of probectl help" man_has_commands

# every key the config parser accepts (the *_keys[] tables of src/config*.c) is in
# probes.yaml(5); the top-level ones as their own entries
# keys_of PREFIX: the strings of the PREFIX_keys[] tables in src/config*.c
keys_of() {
	awk -v re="^static const char \\*const $1_keys\\[\\] = \\{" \
		'$0 ~ re {f = 1} f {print} f && /};/ {f = 0}' "$PD_SRC"/src/config*.c |
		grep -o '"[a-z0-9_]*"' | tr -d '"'
}
man_has_keys() {
	local out k ok=0 n=0
	out=$(MANROFFOPT=-rHY=0 MANWIDTH=200 man -l "$R/usr/share/man/man5/probes.yaml.5.gz" 2>/dev/null)
	for k in $(keys_of '[a-z_]*' | sort -u); do
		n=$((n + 1))
		grep -qw -- "$k" <<<"$out" || { echo "probes.yaml(5) lacks key $k" >&2; ok=1; }
	done
	for k in $(keys_of top); do
		grep -Eq "^       $k( |\$)" <<<"$out" || { echo "probes.yaml(5): no entry for $k" >&2; ok=1; }
	done
	echo "probes.yaml(5): checked $n configuration keys"
	[ "$n" -ge 20 ] && return $ok
}
check "probes.yaml(5) documents every configuration key of src/config*.c" man_has_keys

# ---- the installed unit ---------------------------------------------------------------------------
mkdir -p "$PD_TMP/unit"
sed -e "s|^ExecStart=/usr/sbin/probed |ExecStart=$R/usr/sbin/probed |" \
	-e "s|^ExecReload=/usr/bin/probectl |ExecReload=$R/usr/bin/probectl |" \
	"$R/lib/systemd/system/probed.service" >"$PD_TMP/unit/probed.service"
rc=0
(cd "$PD_TMP/unit" && MANPATH=$R/usr/share/man systemd-analyze verify ./probed.service) \
	>"$PD_TMP/verify.out" 2>&1 || rc=$?
cat "$PD_TMP/verify.out"
check "installed unit: systemd-analyze verify exits 0 (Documentation= from the installed man pages)" [ "$rc" = 0 ]
check "installed unit: systemd-analyze verify is silent" not [ -s "$PD_TMP/verify.out" ]
systemd-analyze security --offline=true --no-pager "--root=$R" probed.service >"$PD_TMP/sec.out" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$PD_TMP/sec.out")
echo "installed unit: exposure $score"
check "installed unit: systemd-analyze security --root rates it <= 2.0" \
	awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'

# ---- the example config ---------------------------------------------------------------------------
printf 'test-key\n' >"$PD_TMP/tiklive-key"
sed "s|/run/credentials/probed.service/tiklive-key|$PD_TMP/tiklive-key|" \
	"$R/etc/probed/probes.yaml" >"$PD_TMP/example.yaml"
rc=0
"$R/usr/bin/probectl" validate -c "$PD_TMP/example.yaml" >"$PD_TMP/validate.out" 2>&1 || rc=$?
cat "$PD_TMP/validate.out"
check "the installed example config validates (credential path in place)" [ "$rc" = 0 ]
if [ ! -e /run/credentials/probed.service/tiklive-key ]; then
	rc=0
	"$R/usr/bin/probectl" validate -c "$R/etc/probed/probes.yaml" >"$PD_TMP/validate.out" 2>&1 || rc=$?
	check "without the credential it is a config error (78) naming the file" \
		bash -c "[ $rc = 78 ] && grep -q 'probes.yaml:[0-9]*:[0-9]*: .*/run/credentials/probed.service/tiklive-key' '$PD_TMP/validate.out'"
fi

# ---- conffile semantics, remove, purge ---------------------------------------------------------
printf '# local edit\n' >>"$R/etc/probed/probes.yaml"
rc=0
"${DPKG[@]}" -i "$DEB" >>"$PD_TMP/dpkg-i.log" 2>&1 </dev/null || rc=$?
check "reinstall exits 0" [ "$rc" = 0 ]
check "reinstall keeps the local edit of the conffile" grep -qx '# local edit' "$R/etc/probed/probes.yaml"
mkdir -p "$R/var/lib/private/probed"
: >"$R/var/lib/private/probed/probed.db"
ln -sfn private/probed "$R/var/lib/probed"
rc=0
"${DPKG[@]}" -r probed >>"$PD_TMP/dpkg-i.log" 2>&1 || rc=$?
check "dpkg -r exits 0" [ "$rc" = 0 ]
check "remove: binaries gone" not test -e "$R/usr/sbin/probed"
check "remove: unit gone" not test -e "$R/lib/systemd/system/probed.service"
check "remove: the conffile stays" test -f "$R/etc/probed/probes.yaml"
check "remove: the database stays" test -e "$R/var/lib/private/probed/probed.db"
rc=0
"${DPKG[@]}" -P probed >>"$PD_TMP/dpkg-i.log" 2>&1 || rc=$?
check "dpkg -P exits 0" [ "$rc" = 0 ]
check "purge: the conffile is gone" not test -e "$R/etc/probed/probes.yaml"
check "purge: the state directory is gone (postrm, inside the scratch root only)" \
	not test -e "$R/var/lib/private/probed"
check "purge: dpkg forgot the package" \
	not bash -c "dpkg --root='$R' -s probed 2>/dev/null | grep -q '^Status: install'"
pd_finish
