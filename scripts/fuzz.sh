#!/usr/bin/env bash
# Fuzz probed: builds the libFuzzer harnesses of tests/fuzz with clang-14 under ASan +
# UBSan (build-fuzz/, -DPROBED_FUZZ=ON), then runs each harness for SECONDS (default 60),
# one after the other, niced, and prints per harness the wall and CPU time, the
# executions, the coverage (cov and ft of libFuzzer's final stats), the new inputs and
# the findings.
#
#   scripts/fuzz.sh [SECONDS] [NAME...]      NAME: config jsonschema check shape timeparse httpd
#
# Inputs: each run starts from the checked-in seeds (tests/fuzz/corpus/NAME) plus what
# earlier runs found (build-fuzz/corpus/NAME, kept between runs); new interesting inputs
# go to build-fuzz/corpus/NAME. With FUZZ_MERGE=1, tests/fuzz/minimize.sh then adds to
# tests/fuzz/corpus/NAME the few of them that reach new edges (-merge=1), to be
# reviewed and committed.
# Findings (crash-*, leak-*, oom-*, timeout-*) are written to build-fuzz/findings/NAME/;
# a timeout (-timeout=10 s per input) or an out-of-memory (-rss_limit_mb=2048) is a
# finding like a crash. Add a finding to tests/fuzz/corpus/NAME once it is fixed: the
# test command replays every corpus file (ctest fuzz_replay_NAME).
#
# Environment: FUZZ_MERGE=1 (above); FUZZ_NICE (default 10); FUZZ_ARGS (more libFuzzer
# options, e.g. FUZZ_ARGS=-max_len=4096). Exit status 1 when anything was found.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
case $seconds in '' | *[!0-9]*) echo "usage: fuzz.sh [SECONDS] [NAME...]" >&2; exit 64 ;; esac
all=(config jsonschema check shape timeparse httpd)
names=("$@")
[ "${#names[@]}" -gt 0 ] || names=("${all[@]}")
for n in "${names[@]}"; do
	case " ${all[*]} " in *" $n "*) ;; *) echo "fuzz.sh: unknown harness '$n' (${all[*]})" >&2; exit 64 ;; esac
done

# max_len: large enough for the blow-ups big inputs cause (deep nesting, aliases, huge
# bodies); the libFuzzer default of 4 KB never reaches them.
declare -A max_len=([config]=1048576 [jsonschema]=262144 [check]=1048576 [shape]=1048576
	[timeparse]=4096 [httpd]=65536)

bash scripts/deps.sh --fuzz
dir=build-fuzz
mkdir -p "$dir"
echo "== build ($dir: clang-14, libFuzzer, ASan + UBSan)"
CC=clang-14 cmake -S . -B "$dir" -DPROBED_FUZZ=ON -DPROBED_TESTS=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$dir/configure.log" 2>&1 ||
	{ cat "$dir/configure.log" >&2; exit 1; }
nice -n "${FUZZ_NICE:-10}" cmake --build "$dir" -j"$(nproc)" \
	--target "${names[@]/#/fuzz_}" -- --no-print-directory >"$dir/build.log" 2>&1 ||
	{ cat "$dir/build.log" >&2; exit 1; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
found=0
summary=()
for n in "${names[@]}"; do
	work=$dir/corpus/$n
	findings=$dir/findings/$n
	log=$dir/fuzz-$n.log
	mkdir -p "$work" "$findings"
	dict=()
	[ -f "tests/fuzz/dict/$n.dict" ] && dict=(-dict="tests/fuzz/dict/$n.dict")
	# the harnesses' temporary directories (libFuzzer exits without atexit handlers)
	rm -rf "$dir/tmp" && mkdir -p "$dir/tmp"
	before=$(find "$findings" -type f | wc -l)
	echo "== $n: ${seconds}s (max_len ${max_len[$n]})"
	start=$(date +%s)
	# CPU time (user + system) of the fuzzer: the machine may be shared, so wall time
	# says little about how much fuzzing was done
	# shellcheck disable=SC2086
	TMPDIR=$PWD/$dir/tmp /usr/bin/time -o "$dir/cpu-$n" -f '%U %S' \
		nice -n "${FUZZ_NICE:-10}" "$dir/tests/fuzz/fuzz_$n" "$work" "tests/fuzz/corpus/$n" \
		-max_total_time="$seconds" -max_len="${max_len[$n]}" -rss_limit_mb=2048 \
		-timeout=10 -print_final_stats=1 -artifact_prefix="$findings/" "${dict[@]}" \
		${FUZZ_ARGS:-} >"$log" 2>&1 || true
	wall=$(($(date +%s) - start))
	cpu=$(awk 'END { printf "%d", $1 + $2 }' "$dir/cpu-$n" 2>/dev/null || echo '?')
	# the last status line ("#N DONE cov: X ft: Y ..." or the last "#N ..." before a crash)
	last=$(grep -aE '^#[0-9]+' "$log" | tail -n 1 || true)
	execs=$(grep -a '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
	[ -n "$execs" ] || execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$last")
	cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
	ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
	new=$(grep -a '^stat::new_units_added' "$log" | awk '{print $2}' || true)
	rss=$(grep -a '^stat::peak_rss_mb' "$log" | awk '{print $2}' || true)
	after=$(find "$findings" -type f | wc -l)
	crashes=$((after - before))
	[ "$crashes" -eq 0 ] || found=1
	line=$(printf '%-11s wall %5ss cpu %5ss  execs %-10s cov %-6s ft %-7s new %-5s rss %sMB  findings %s' \
		"$n" "$wall" "${cpu:-?}" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${new:-?}" "${rss:-?}" \
		"$crashes")
	echo "   $line"
	if [ "$crashes" -gt 0 ]; then
		grep -aE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|property violated' \
			"$log" | head -n 3 | sed 's/^/   | /'
		find "$findings" -type f -newer "$dir/build.log" | sed 's/^/   > /'
	fi
	summary+=("$line")
done
echo "== summary (log per harness: $dir/fuzz-NAME.log)"
printf '   %s\n' "${summary[@]}"
if [ "${FUZZ_MERGE:-0}" = 1 ]; then
	echo "== merging new coverage into tests/fuzz/corpus (tests/fuzz/minimize.sh)"
	bash tests/fuzz/minimize.sh "${names[@]}"
fi
exit "$found"
