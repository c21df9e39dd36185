#!/usr/bin/env bash
# Build models/default.model (`make model`): cresci-2017 profiles (dev), the
# cresci-2015 humans not already in dev, a simulated population, and TweepFake's
# real timelines cut into chunks that train only the activity groups
# (docs/MODEL.md, "Real labelled timelines"), with fixed seeds so the bytes are
# reproducible. Data is read in place from
# ${BOTWATCH_DATA:-<repo>/../shared/data}; nothing is copied into the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DATA=${BOTWATCH_DATA:-../shared/data}
OUT=${1:-models/default.model}
# a fixed work directory: its paths are recorded in the model's metadata
TMP=$BUILD/model-data
mkdir -p "$TMP"

for f in dev/posts.ndjson.gz dev/labels.csv dev/source_meta.csv cresci2015/posts.ndjson.gz \
	cresci2015/labels.csv cresci2015/source_meta.csv tweepfake/posts.ndjson.gz \
	tweepfake/labels.csv; do
	[ -f "$DATA/$f" ] || { echo "model: $DATA/$f missing (set BOTWATCH_DATA)" >&2; exit 1; }
done
# cresci-2015: drop ids also labelled in dev (the README's overlap list); the
# labels loader would keep the first label anyway, this makes it explicit.
awk -F, 'NR==FNR { if (FNR > 1) seen[$1] = 1; next } FNR == 1 || !($1 in seen)' \
	"$DATA/dev/labels.csv" "$DATA/cresci2015/labels.csv" |
	awk -F, 'BEGIN { OFS = "," } FNR == 1 { print "user_id,label,class,dataset"; next }
		 { print $1, $2, "human", "cresci2015" }' > "$TMP/cresci2015.csv"
# models/relabel.csv comes first (the first label of an id wins): 13 accounts
# of cresci-2017's genuine set that declare themselves bots (docs/MODEL.md,
# "Label audit") are trained as self-declared bots.
# profile-only dumps: each record's probe time is its account's crawl time
# (source_meta.csv), so ages and growth rates are those the counts were seen at
for d in dev cresci2015; do
	python3 models/probe_times.py "$DATA/$d/posts.ndjson.gz" "$DATA/$d/source_meta.csv" \
		"$TMP/$d.ndjson.gz"
done
# TweepFake: every account cut into chunks of ~30 tweets with artefacts of the
# source's preprocessing neutralised; labels with dataset tweepfake/<pair> and
# evidence "posts" (models/tweepfake_chunks.py, models/tweepfake_pairs.csv)
python3 models/tweepfake_chunks.py "$DATA/tweepfake" models/tweepfake_pairs.csv "$TMP"
"$BUILD/botwatch" simulate --accounts 2000 --bot-share 0.5 --seed 20210401 \
	--out "$TMP/sim.jsonl.gz" --labels "$TMP/sim-raw.csv"
# dataset column "simulated", so the model's fit_rows tell real from simulated
awk -F, 'BEGIN { OFS = "," } FNR == 1 { print "user_id,label,class,dataset"; next }
	 { print $1, $2, $3, "simulated" }' "$TMP/sim-raw.csv" > "$TMP/sim.csv"
"$BUILD/botwatch" train --kernel mixed --folds 5 --seed 1 \
	--posts "$TMP/dev.ndjson.gz" "$TMP/cresci2015.ndjson.gz" "$TMP/sim.jsonl.gz" \
	"$TMP/tf_chunks.ndjson.gz" \
	--labels models/relabel.csv "$DATA/dev/labels.csv" "$TMP/cresci2015.csv" "$TMP/sim.csv" \
	"$TMP/tf_chunks.csv" \
	--out "$OUT"
