#!/usr/bin/env bash
# Check of a model on real timelines:
# the 4 cresci-2017 accounts with partial timelines (dev/tweets_partial_4accounts,
# 2 genuine, 2 social_spambots_1), the REST fixture timelines of real human and
# organisational accounts (@Twitter, @dewitt, @TweepyDev: expected human) and
# TweepFake (23 text-generating bots, 17 humans; raw files). TweepFake is
# in-sample for the default model, which trains on its chunks: the blind figure
# comes from models/eval_tweepfake.sh. Prints one line per account of the first
# two and TweepFake's eval summary. Usage: models/check_real.sh [MODEL]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DATA=${BOTWATCH_DATA:-../shared/data}
MODEL=${1:-models/default.model}
FIX=$DATA/fixtures/twitter_v1_rest
tmp=$(mktemp -d /tmp/bw_check_real_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$BUILD/botwatch" replay --model "$MODEL" --out "$tmp/dev4.ndjson" \
	"$DATA/dev/tweets_partial_4accounts.ndjson.gz" 2>/dev/null
for f in tweepy_user_timeline_screen_name_Twitter python-twitter_get_user_timeline \
	tweepy_user_timeline_authenticated_user; do
	"$BUILD/botwatch" replay --model "$MODEL" --out "$tmp/$f.ndjson" "$FIX/$f.json" 2>/dev/null
done
python3 - "$DATA/dev/labels.csv" "$tmp"/*.ndjson <<'PY'
import csv, json, sys
labels = {r["user_id"]: r for r in csv.DictReader(open(sys.argv[1]))}
fmt = lambda v: "null" if v is None else "%.3f" % v
for path in sys.argv[2:]:
    for line in open(path):
        r = json.loads(line)
        lab = labels.get(r["user_id"])
        exp = lab["class"] if lab else "human (REST fixture)"
        c = r["categories"]
        print("%-14s %-28s posts %4d  score %s  user %s temporal %s content %s" % (
            r["screen_name"], exp, r["posts_seen"], fmt(r["score"]), fmt(c.get("user")),
            fmt(c.get("temporal")), fmt(c.get("content"))))
PY
"$BUILD/botwatch" eval --model "$MODEL" --posts "$DATA/tweepfake/posts.ndjson.gz" \
	--labels "$DATA/tweepfake/labels.csv" > "$tmp/tf.json" 2>/dev/null
"$BUILD/botwatch" replay --model "$MODEL" --out "$tmp/tf.ndjson" \
	"$DATA/tweepfake/posts.ndjson.gz" 2>/dev/null
python3 - "$tmp/tf.json" "$tmp/tf.ndjson" "$DATA/tweepfake/labels.csv" <<'PY'
import csv, json, sys, statistics as st
e = json.load(open(sys.argv[1]))
lab = {r["user_id"]: int(r["label"]) for r in csv.DictReader(open(sys.argv[3]))}
s = {0: [], 1: []}
for line in open(sys.argv[2]):
    r = json.loads(line)
    if r["user_id"] in lab and r["score"] is not None:
        s[lab[r["user_id"]]].append(r["score"])
print("TweepFake: auc %.3f pr_auc %.3f brier %.3f n %d; median score humans %.3f bots %.3f" % (
    e["auc"], e["pr_auc"], e["brier"], e["n"], st.median(s[0]), st.median(s[1])))
PY
