#!/usr/bin/env bash
# Refresh the checked-in corpora from what scripts/fuzz.sh found, keeping them small: for
# each NAME (default: all), the named inputs of tests/fuzz/corpus/NAME (hand-written
# seeds, finding-* regression inputs) all stay; from the rest of it and from
# build-fuzz/corpus/NAME, libFuzzer -merge=1 adds only inputs that reach an edge the
# corpus does not reach yet (-use_counters=0: edges, not hit counts, so the set stays
# small; smaller inputs first). Added inputs are named by their SHA-1.
# Needs the fuzz build (scripts/fuzz.sh builds it). Review with `git status` and commit.
#
#   tests/fuzz/minimize.sh [NAME...]
set -euo pipefail
cd "$(dirname "$0")/../.."
all=(config jsonschema check shape timeparse httpd)
names=("$@")
[ "${#names[@]}" -gt 0 ] || names=("${all[@]}")
declare -A max_len=([config]=1048576 [jsonschema]=262144 [check]=1048576 [shape]=1048576
	[timeparse]=4096 [httpd]=65536)
for n in "${names[@]}"; do
	bin=build-fuzz/tests/fuzz/fuzz_$n
	src=tests/fuzz/corpus/$n
	[ -x "$bin" ] || { echo "minimize: $bin missing: run scripts/fuzz.sh first" >&2; exit 1; }
	keep=$(mktemp -d "build-fuzz/keep-$n.XXXXXX")
	find "$src" -maxdepth 1 -type f -regextype posix-extended ! -regex '.*/[0-9a-f]{40}' -exec cp {} "$keep"/ \;
	mkdir -p "build-fuzz/corpus/$n"
	before=$(find "$src" -type f | wc -l)
	nice -n "${FUZZ_NICE:-10}" "$bin" -merge=1 -use_counters=0 -max_len="${max_len[$n]}" \
		-rss_limit_mb=2048 -timeout=10 "$keep" "$src" "build-fuzz/corpus/$n" \
		>"build-fuzz/minimize-$n.log" 2>&1 ||
		{ tail -n 20 "build-fuzz/minimize-$n.log" >&2; rm -rf "$keep"; exit 1; }
	rm -f "$src"/*
	cp "$keep"/* "$src"/
	rm -rf "$keep"
	printf 'minimize: %-11s %4d -> %4d inputs, %s\n' "$n" "$before" \
		"$(find "$src" -type f | wc -l)" "$(du -sh --apparent-size "$src" | cut -f1)"
done
