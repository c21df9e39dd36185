#!/usr/bin/env bash
# Leave-one-source-out evaluation of the default model's training recipe
# (docs/MODEL.md, "Leave one source out"): the inputs of `make model`, each
# source held out in turn (the simulated population is always trained on),
# `botwatch eval --leave-source-out`. The table goes to stderr, the JSON to
# OUT (default build/eval-sources.json). Extra arguments are passed to eval
# (e.g. --seed 2, --kernel linear).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DATA=${BOTWATCH_DATA:-../shared/data}
OUT=${OUT:-$BUILD/eval-sources.json}
TMP=$BUILD/model-data
mkdir -p "$TMP"
. models/prepare.sh
"$BUILD/botwatch" eval --kernel mixed --folds 5 --seed 1 --balance-sources on --no-type-heads \
	--posts "${POSTS[@]}" --labels "${LABELS[@]}" \
	--leave-source-out --train-only simulated "$@" > "$OUT"
