#!/usr/bin/env bash
# Build models/default.model (`make model`): every labelled source of
# ${BOTWATCH_DATA:-<repo>/../shared/data} — cresci-2017 profiles (dev), the
# cresci-2015 humans not already in dev, TweepFake's real timelines cut into
# chunks that train only the activity groups, the six one-sided collections of
# extra/ (each with its collection date and its fields declared) — and a
# simulated population, with fixed seeds so the bytes are reproducible
# (docs/MODEL.md, "Sources"). Data is read in place; nothing is copied into
# the repo. models/prepare.sh does the preparation.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DATA=${BOTWATCH_DATA:-../shared/data}
OUT=${1:-models/default.model}
# a fixed work directory: its paths are recorded in the model's metadata
TMP=$BUILD/model-data
mkdir -p "$TMP"
. models/prepare.sh
"$BUILD/botwatch" train --kernel mixed --folds 5 --seed 1 --balance-sources on \
	--posts "${POSTS[@]}" --labels "${LABELS[@]}" --out "$OUT"
