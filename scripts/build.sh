#!/usr/bin/env bash
# Configure and build into DIR (default build/). Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
mkdir -p "$dir"
# configure quietly, but show probed's own notes (e.g. "the tests are OFF" without Check)
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir/configure.log" 2>&1 ||
	{ cat "$dir/configure.log" >&2; exit 1; }
grep '^-- probed:' "$dir/configure.log" || true
cmake --build "$dir" -j"$(nproc)" -- --no-print-directory
