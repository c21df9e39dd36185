#!/usr/bin/env bash
# `make bench` driver: each section prints its figures and the command that
# produced them. Keep each section under about a minute on 2 shared cores.
# BUILD names the build directory (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

section() { echo; echo "== $1"; }

# --- features: update + extract throughput, state bytes per account -----------
section "features"
echo "\$ $BUILD/bench/bench_features 20000"
"$BUILD"/bench/bench_features 20000
