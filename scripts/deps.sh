#!/usr/bin/env bash
# Installs what probed needs to build (and, with --test, to run its tests; with --fuzz, to
# run scripts/fuzz.sh) from Debian 12 packages. Idempotent: apt-get only runs when something
# is missing.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config ca-certificates
	libcurl4-openssl-dev libcjson-dev libyaml-dev libev-dev libsqlite3-dev libpcre2-dev)
run_pkgs=(curl python3 sqlite3 openssl)
test_pkgs=(check json-schema-test-suite)
# several probe hosts: promtool/amtool checks and the multi-location test
test_pkgs+=(prometheus prometheus-alertmanager)
# systemd and packaging: sd_notify (libsystemd), the .deb (CPack + dpkg-shlibdeps),
# systemd-analyze verify/security, man -l, and the unit's seccomp sandbox in the test
build_pkgs+=(libsystemd-dev dpkg-dev)
test_pkgs+=(systemd man-db libseccomp2 gzip)
# metrics and status page: the HTTP listener (libmicrohttpd), promtool + a real
# Prometheus scraping it, headless Chromium for the status-page screenshot
build_pkgs+=(libmicrohttpd-dev)
test_pkgs+=(prometheus chromium fonts-dejavu-core)
# the .deb's dependency computation (dpkg-shlibdeps via CPack) runs `file`; the real-systemd
# test boots a Debian 12 container (debootstrap + systemd-nspawn) and talks to it (nsenter)
test_pkgs+=(file debootstrap systemd-container util-linux)
# the wall-clock step fault test runs probed under libfaketime
test_pkgs+=(faketime)
# the certificate-expiry test makes its CA and certificates with openssl
test_pkgs+=(openssl)
# the email target's test runs a real SMTP server (aiosmtpd) with STARTTLS
test_pkgs+=(python3-aiosmtpd)
# the style check of the test command (scripts/style.sh): the formatter Debian 12 ships
test_pkgs+=(clang-format-14)

# scripts/fuzz.sh: clang-14 with libFuzzer and the sanitizer runtimes. The test
# command needs none of them: it replays the fuzz corpora with the normal compiler.
fuzz_pkgs=(clang-14 libclang-rt-14-dev libfuzzer-14-dev time)

want=("${build_pkgs[@]}" "${run_pkgs[@]}")
for arg in "$@"; do
	case $arg in
	--test) want+=("${test_pkgs[@]}") ;;
	--fuzz) want+=("${fuzz_pkgs[@]}") ;;
	*) echo "usage: deps.sh [--test] [--fuzz]" >&2; exit 64 ;;
	esac
done

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps: all ${#want[@]} packages present"
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
