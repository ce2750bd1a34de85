#!/usr/bin/env bash
# probectl runbooks lint, on the repository's runbooks (must pass) and on broken copies
# in a temp dir (must fail, naming the file and the section):
#  - the four runbooks exist, pass, and use the test key and probectl;
#  - a removed, emptied or misplaced section is reported as FILE: ..., exit 1, and only
#    the broken file is named; README.md is never linted;
#  - case-insensitive headings and CRLF files pass; a "## Mitigate" inside a code block
#    does not count;
#  - an empty dir is a problem (1), a missing dir is unreadable (2), bad usage is 64;
#  - without DIR it lints ./runbooks (when /usr/share/probed/runbooks is absent).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pd_tmpdir

RB=$PD_SRC/runbooks
OUT=$PD_TMP/out
ERR=$PD_TMP/err

# lint ARGS...: run probectl runbooks lint; stdout in $OUT, stderr in $ERR, status in $RC.
lint() {
	RC=0
	"$PROBECTL_BIN" runbooks lint "$@" >"$OUT" 2>"$ERR" || RC=$?
}

# copy NAME: a fresh copy of the repository's runbooks in $PD_TMP/NAME; prints its path.
copy() {
	local d=$PD_TMP/$1
	rm -rf "$d"
	cp -r "$RB" "$d"
	echo "$d"
}

# ---------------------------------------------------------------- the real ones
for f in mode1-upstream-changed.md mode2-database-bottleneck.md mode3-queue-backed-up.md \
	key-rejected.md cert-expiry.md slo-burn-rate.md README.md; do
	check "runbooks/$f exists" test -s "$RB/$f"
done
lint "$RB"
check "repository runbooks pass (exit 0)" test "$RC" -eq 0
check "reports 6 runbooks OK" grep -qx "$RB: 6 runbooks OK" "$OUT"
check "no problem lines" test "$(grep -c ': missing\|: empty\|out of order' "$OUT" || true)" -eq 0
for f in "$RB"/mode*.md "$RB"/key-rejected.md "$RB"/slo-burn-rate.md; do
	b=$(basename "$f")
	check "$b has the five sections in order" \
		test "$(grep -E '^## (Detect|Declare|Communicate|Mitigate|RCA)$' "$f" | tr '\n' ' ')" \
		= "## Detect ## Declare ## Communicate ## Mitigate ## RCA "
	check "$b uses the test key, never a literal one" grep -q 'X-Api-Key: \$TEST_KEY' "$f"
	check "$b uses probectl" grep -q 'probectl status\|probectl check' "$f"
	check "$b points to the postmortem draft" grep -q 'probectl postmortem' "$f"
done
# the certificate runbook needs no API key
f=$RB/cert-expiry.md
check "cert-expiry.md has the five sections in order" \
	test "$(grep -E '^## (Detect|Declare|Communicate|Mitigate|RCA)$' "$f" | tr '\n' ' ')" \
	= "## Detect ## Declare ## Communicate ## Mitigate ## RCA "
check "cert-expiry.md uses probectl" grep -q 'probectl status\|probectl check' "$f"
check "cert-expiry.md points to the postmortem draft" grep -q 'probectl postmortem' "$f"
check "README indexes every runbook" bash -c '
	for f in mode1-upstream-changed.md mode2-database-bottleneck.md \
		mode3-queue-backed-up.md key-rejected.md cert-expiry.md slo-burn-rate.md; do
		grep -q "($f)" "$1/README.md" || exit 1
	done' _ "$RB"

# ------------------------------------------------------------ a section removed
D=$(copy missing)
sed -i '/^## Mitigate/,/^## RCA/{/^## RCA/!d}' "$D/mode1-upstream-changed.md"
lint "$D"
check "missing section: exit 1" test "$RC" -eq 1
check "missing section: file and section named" \
	grep -qx "$D/mode1-upstream-changed.md: missing section 'Mitigate'" "$OUT"
check "missing section: the one problem only" test "$(wc -l <"$OUT")" -eq 1
check "missing section: count on stderr" grep -q '^1 problem in ' "$ERR"

# --------------------------------------------------------------- a section emptied
D=$(copy empty)
sed -i '/^## Detect/,/^## Declare/{/^## /!d}' "$D/mode2-database-bottleneck.md"
lint "$D"
check "empty section: exit 1" test "$RC" -eq 1
check "empty section: file and section named" \
	grep -qx "$D/mode2-database-bottleneck.md: empty section 'Detect'" "$OUT"
check "empty section: other files not named" test "$(grep -vc mode2 "$OUT" || true)" -eq 0

# ------------------------------------------------------------ a section misplaced
D=$(copy order)
"$PYTHON" - "$D/mode3-queue-backed-up.md" <<'EOF'
import re, sys
p = sys.argv[1]
t = open(p).read()
i = t.index("\n## RCA\n")
rca, rest = t[i + 1:], t[:i + 1]
j = rest.index("## Detect\n")
open(p, "w").write(rest[:j] + rca + "\n" + rest[j:])
EOF
lint "$D"
check "out of order: exit 1" test "$RC" -eq 1
check "out of order: file and section named" \
	grep -qx "$D/mode3-queue-backed-up.md: section 'RCA' out of order" "$OUT"
check "out of order: the one problem only" test "$(wc -l <"$OUT")" -eq 1

# ---------------------------------------- several files broken, all of them named
D=$(copy several)
sed -i '/^## Declare/d' "$D/key-rejected.md"
sed -i 's/^## Communicate$/### Communicate/' "$D/mode1-upstream-changed.md"
lint "$D"
check "several: exit 1" test "$RC" -eq 1
check "several: key-rejected missing Declare" \
	grep -qx "$D/key-rejected.md: missing section 'Declare'" "$OUT"
check "several: a level-3 heading is not the section" \
	grep -qx "$D/mode1-upstream-changed.md: missing section 'Communicate'" "$OUT"
check "several: sorted by file name" \
	test "$(cut -d: -f1 "$OUT" | tr '\n' ' ')" = "$D/key-rejected.md $D/mode1-upstream-changed.md "

# --------------------------------------------- a heading inside a code block
D=$(copy fenced)
sed -i 's/^## Mitigate$/```\n## Mitigate\n```/' "$D/mode3-queue-backed-up.md"
lint "$D"
check "fenced heading: not a section" \
	grep -qx "$D/mode3-queue-backed-up.md: missing section 'Mitigate'" "$OUT"

# ----------------------------------------------- lenient where it should be
D=$(copy lenient)
sed -i 's/^## Detect$/## DETECT/; s/^## RCA$/## rca (postmortem)/' "$D/key-rejected.md"
sed -i 's/$/\r/' "$D/mode2-database-bottleneck.md"
printf 'no sections at all\n' >"$D/README.md"
printf 'not markdown\n' >"$D/notes.txt"
lint "$D"
check "case, suffixes, CRLF, README, non-.md: pass" test "$RC" -eq 0
check "lenient: 6 runbooks counted" grep -qx "$D: 6 runbooks OK" "$OUT"

# ------------------------------------------------------------ one file, by name
lint "$PD_TMP/missing/mode1-upstream-changed.md"
check "single file: exit 1" test "$RC" -eq 1
check "single file: named" grep -q "mode1-upstream-changed.md: missing section 'Mitigate'" "$OUT"
lint "$RB/mode2-database-bottleneck.md"
check "single good file: exit 0" test "$RC" -eq 0

# ------------------------------------------------------------- edges and errors
mkdir -p "$PD_TMP/none"
lint "$PD_TMP/none"
check "empty dir: exit 1" test "$RC" -eq 1
check "empty dir: says so" grep -q "no runbooks" "$OUT"
lint "$PD_TMP/does-not-exist"
check "missing dir: exit 2" test "$RC" -eq 2
check "missing dir: error names it" grep -q "does-not-exist" "$ERR"
mkfifo "$PD_TMP/fifo.md"
RC=0
timeout 10 "$PROBECTL_BIN" runbooks lint "$PD_TMP/fifo.md" >"$OUT" 2>"$ERR" || RC=$?
check "a FIFO is not read (exit 2, no hang)" test "$RC" -eq 2
# (an unreadable directory cannot be made as root, so a regular file stands in for a
# directory that cannot be listed)
lint "$PD_TMP/fifo.md/not-a-dir"
check "a path that cannot be listed: exit 2" test "$RC" -eq 2
RC=0
"$PROBECTL_BIN" runbooks >"$OUT" 2>"$ERR" || RC=$?
check "no subcommand: usage 64" test "$RC" -eq 64
RC=0
"$PROBECTL_BIN" runbooks frobnicate >"$OUT" 2>"$ERR" || RC=$?
check "unknown subcommand: usage 64" test "$RC" -eq 64
check "help lists runbooks lint" bash -c '"$1" help | grep -q "runbooks lint"' _ "$PROBECTL_BIN"

# ------------------------------------------------------------------ default DIR
if [ ! -d /usr/share/probed/runbooks ]; then
	mkdir -p "$PD_TMP/cwd"
	cp -r "$PD_TMP/missing" "$PD_TMP/cwd/runbooks"
	RC=0
	(cd "$PD_TMP/cwd" && "$PROBECTL_BIN" runbooks lint) >"$OUT" 2>"$ERR" || RC=$?
	check "default: ./runbooks linted (exit 1)" test "$RC" -eq 1
	check "default: relative file named" \
		grep -qx "runbooks/mode1-upstream-changed.md: missing section 'Mitigate'" "$OUT"
else
	RC=0
	(cd "$PD_TMP" && "$PROBECTL_BIN" runbooks lint) >"$OUT" 2>"$ERR" || RC=$?
	check "default: installed runbooks pass" test "$RC" -eq 0
	check "default: /usr/share/probed/runbooks used" grep -q '^/usr/share/probed/runbooks: ' "$OUT"
fi

pd_finish
