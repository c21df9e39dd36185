#!/usr/bin/env bash
# Leave-imitated-pair-out evaluation of the default model's recipe on TweepFake
# (docs/MODEL.md, "Real labelled timelines"). TweepFake's 16 pairs (a human and
# the bots imitating it, models/tweepfake_pairs.csv) are dealt into 5 folds
# (tf_folds.csv, written by models/tweepfake_chunks.py). For each fold the model
# is trained exactly as `make model` trains it but without that fold's chunks,
# then scores the fold's 40-or-fewer whole accounts (botwatch replay: screen
# name + every tweet, as a user would score them) and its chunks (botwatch eval
# with the chunks' posts-only evidence). No account is scored by a model that
# saw any tweet of its pair.
#
#   models/eval_tweepfake.sh [--raw] [--chunk N] OUTDIR
#
# --raw / --chunk N are passed to tweepfake_chunks.py (no text normalisation /
# another chunk length). Needs build/model-data from `make model` (the cresci
# copies and the simulated population). The fold models have no bot-type heads
# (--no-type-heads: the overall score is the same without them). Runs two
# folds at a time. Prints per-fold and pooled AUCs; files stay in OUTDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DATA=${BOTWATCH_DATA:-../shared/data}
MD=$BUILD/model-data
chunk_opts=()
while [ $# -gt 1 ]; do
	case $1 in
	--raw) chunk_opts+=(--raw); shift ;;
	--chunk) chunk_opts+=(--chunk "$2"); shift 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { echo "usage: models/eval_tweepfake.sh [--raw] [--chunk N] OUTDIR" >&2; exit 2; }
OUT=$1
for f in dev.ndjson.gz cresci2015.ndjson.gz cresci2015.csv sim.jsonl.gz sim.csv; do
	[ -f "$MD/$f" ] || { echo "eval_tweepfake: $MD/$f missing (run make model first)" >&2; exit 1; }
done
mkdir -p "$OUT"
# a copy of the binary (BW_BIN, default the build's), so a rebuild while the
# folds run cannot mix feature schemas
BW=$OUT/botwatch
cp "${BW_BIN:-$BUILD/botwatch}" "$BW"
python3 models/tweepfake_chunks.py "${chunk_opts[@]}" "$DATA/tweepfake" models/tweepfake_pairs.csv "$OUT"

# labels of fold k: "in" = rows of the fold's pairs, "out" = every other row
fold_rows() { # fold in|out labels.csv > out.csv
	awk -F, -v k="$1" -v want="$2" 'NR == FNR { if (FNR > 1) fold["tweepfake/" $1] = $2; next }
		FNR == 1 { print; next } { hit = fold[$4] == k }
		(want == "in" && hit) || (want == "out" && !hit)' "$OUT/tf_folds.csv" "$3"
}
run_fold() {
	local k=$1
	# a fold finished by an earlier run into the same OUTDIR is kept (resume)
	[ -s "$OUT/chunks$k.json" ] && [ -s "$OUT/whole$k.ndjson" ] && return 0
	fold_rows "$k" out "$OUT/tf_chunks.csv" > "$OUT/train$k.csv"
	fold_rows "$k" in "$OUT/tf_chunks.csv" > "$OUT/test_chunks$k.csv"
	fold_rows "$k" in "$OUT/tf_whole.csv" > "$OUT/test_whole$k.csv"
	"$BW" train --kernel mixed --folds 5 --seed 1 --no-type-heads \
		--posts "$MD/dev.ndjson.gz" "$MD/cresci2015.ndjson.gz" "$MD/sim.jsonl.gz" \
		"$OUT/tf_chunks.ndjson.gz" \
		--labels models/relabel.csv "$DATA/dev/labels.csv" "$MD/cresci2015.csv" \
		"$MD/sim.csv" "$OUT/train$k.csv" --out "$OUT/fold$k.model" > /dev/null 2> "$OUT/train$k.log"
	"$BW" replay --model "$OUT/fold$k.model" --out "$OUT/whole$k.ndjson" \
		"$OUT/tf_whole.ndjson.gz" 2> /dev/null
	"$BW" eval --model "$OUT/fold$k.model" --posts "$OUT/tf_chunks.ndjson.gz" \
		--labels "$OUT/test_chunks$k.csv" > "$OUT/chunks$k.json" 2> /dev/null
}
for pair in "1 2" "3 4" "5"; do
	pids=()
	for k in $pair; do
		run_fold "$k" & pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
done
python3 - "$OUT" <<'PY'
import csv, json, sys
out = sys.argv[1]

def auc(s, y):
    pos = [a for a, b in zip(s, y) if b]
    neg = [a for a, b in zip(s, y) if not b]
    if not pos or not neg:
        return float("nan")
    w = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return w / (len(pos) * len(neg))

pooled_s, pooled_y, chunk_aucs = [], [], []
for k in range(1, 6):
    lab = {r["user_id"]: r for r in csv.DictReader(open("%s/test_whole%d.csv" % (out, k)))}
    s, y = [], []
    for line in open("%s/whole%d.ndjson" % (out, k)):
        r = json.loads(line)
        if r["user_id"] in lab and r["score"] is not None:
            s.append(r["score"])
            y.append(int(lab[r["user_id"]]["label"]))
    pairs = sorted({v["dataset"].split("/")[1] for v in lab.values()})
    c = json.load(open("%s/chunks%d.json" % (out, k)))
    chunk_aucs.append(c["auc"])
    print("fold %d (%s): whole accounts %d (%d bots) AUC %.3f; chunks %d AUC %.3f" % (
        k, " ".join(pairs), len(y), sum(y), auc(s, y), c["n"], c["auc"]))
    pooled_s += s
    pooled_y += y
print("pooled over the 5 folds: whole accounts %d AUC %.3f; mean chunk AUC %.3f" % (
    len(pooled_y), auc(pooled_s, pooled_y), sum(chunk_aucs) / len(chunk_aucs)))
PY
