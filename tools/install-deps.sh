#!/usr/bin/env bash
# Install every Debian package botwatch's build, tests, benchmarks and demo need.
# Idempotent. With --if-missing it does nothing (and touches no network) when
# everything is already installed.
set -euo pipefail

PACKAGES=(
	build-essential pkg-config git ca-certificates
	librdkafka-dev libjansson-dev libcmocka-dev libcurl4-openssl-dev libssl-dev
	libsvm-dev liblmdb-dev libmicrohttpd-dev libsimdjson-dev zlib1g-dev
	libinih-dev libxxhash-dev libzstd-dev
	clang libfuzzer-14-dev libclang-rt-14-dev
	kcat wrk gnuplot-nox hyperfine valgrind python3 python3-venv openssl curl
	chromium
	wamerican
)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ "${1:-}" = "--if-missing" ] && [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PACKAGES[@]} packages present"
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null; then SUDO=sudo; else
		echo "install-deps: need root to install: ${missing[*]}" >&2
		exit 1
	fi
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
