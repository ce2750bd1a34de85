#!/usr/bin/env bash
# Checks that the C sources are formatted as .clang-format says (clang-format 14, the
# version Debian 12 ships: another version may format differently); with --fix, formats
# them in place. Exit status 1 and the offending places when something is off.
#
#   scripts/style.sh [--fix]
set -euo pipefail
cd "$(dirname "$0")/.."
cf=${CLANG_FORMAT:-clang-format-14}
command -v "$cf" >/dev/null || { echo "style: $cf not found (bash scripts/deps.sh --test)" >&2; exit 2; }
# the C sources of the tree (build directories sit at the top and are not searched)
mapfile -t files < <(find src include tests bench tools -type f \( -name '*.c' -o -name '*.h' \) | sort)
if [ "${1:-}" = --fix ]; then
	"$cf" -i --style=file "${files[@]}"
	echo "style: formatted ${#files[@]} files"
	exit 0
fi
bad=0
for f in "${files[@]}"; do
	if ! "$cf" --style=file --dry-run --Werror "$f" 2>/dev/null; then
		bad=$((bad + 1))
		"$cf" --style=file "$f" | diff -u --label "$f" --label "$f (formatted)" "$f" - | head -n 20 || true
	fi
done
if [ "$bad" -gt 0 ]; then
	echo "style: $bad of ${#files[@]} files are not formatted (bash scripts/style.sh --fix)" >&2
	exit 1
fi
echo "style: ${#files[@]} files formatted as .clang-format says"
