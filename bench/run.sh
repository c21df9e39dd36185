#!/usr/bin/env bash
# `make bench` driver: each section prints its figure and the command behind it.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

# --- classifier: accounts scored per second per core -------------------------
echo "== classifier"
if [ -f models/default.model ]; then
	echo "\$ $BUILD/bench/bench_clf models/default.model"
	"$BUILD/bench/bench_clf" models/default.model
fi
echo "\$ $BUILD/bench/bench_clf   # synthetic 1,200-column linear model"
"$BUILD/bench/bench_clf"
