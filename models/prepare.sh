# Sourced by models/build.sh and models/eval_sources.sh: prepares every
# labelled source of ${DATA} in $TMP (never in the repository) and sets the
# arrays POSTS and LABELS that `botwatch train` and `botwatch eval` read
# (docs/MODEL.md, "Sources"). Needs DATA, TMP and BUILD set, and
# $BUILD/botwatch built.
for f in dev/posts.ndjson.gz dev/labels.csv dev/source_meta.csv cresci2015/posts.ndjson.gz \
	cresci2015/labels.csv cresci2015/source_meta.csv tweepfake/posts.ndjson.gz \
	tweepfake/labels.csv extra/botwiki2019/posts.ndjson.gz extra/verified2019/posts.ndjson.gz \
	extra/vendor2019/posts.ndjson.gz extra/politicalbots2019/posts.ndjson.gz \
	extra/pronbots2019/posts.ndjson.gz extra/ira2018/posts.ndjson.gz; do
	[ -f "$DATA/$f" ] || { echo "model: $DATA/$f missing (set BOTWATCH_DATA)" >&2; exit 1; }
done
# cresci-2015: drop ids also labelled in dev (the README's overlap list); the
# labels loader would keep the first label anyway, this makes it explicit.
awk -F, 'NR==FNR { if (FNR > 1) seen[$1] = 1; next } FNR == 1 || !($1 in seen)' \
	"$DATA/dev/labels.csv" "$DATA/cresci2015/labels.csv" |
	awk -F, 'BEGIN { OFS = "," } FNR == 1 { print "user_id,label,class,dataset"; next }
		 { print $1, $2, "human", "cresci2015" }' > "$TMP/cresci2015.csv"
# profile-only dumps: each record's probe time is its account's crawl time
# (source_meta.csv), so ages and growth rates are those the counts were seen at
for d in dev cresci2015; do
	python3 models/probe_times.py "$DATA/$d/posts.ndjson.gz" "$DATA/$d/source_meta.csv" \
		"$TMP/$d.ndjson.gz"
done
# the six one-sided collections: probe time = collection date, fields
# declared, pronbots sampled (models/sources.py)
python3 models/sources.py "$DATA" "$TMP"
# TweepFake: every account cut into chunks of ~30 tweets with artefacts of the
# source's preprocessing neutralised; labels with dataset tweepfake/<pair> and
# evidence "posts" (models/tweepfake_chunks.py, models/tweepfake_pairs.csv)
python3 models/tweepfake_chunks.py "$DATA/tweepfake" models/tweepfake_pairs.csv "$TMP"
"$BUILD/botwatch" simulate --accounts 2000 --bot-share 0.5 --seed 20210401 \
	--out "$TMP/sim.jsonl.gz" --labels "$TMP/sim-raw.csv"
# dataset column "simulated", so the model's fit_rows tell real from simulated;
# evidence column SIM_EVIDENCE (default all; "posts": the simulated accounts
# train the activity groups only, the profile groups learn from real profiles)
awk -F, -v ev="${SIM_EVIDENCE:-all}" 'BEGIN { OFS = "," }
	FNR == 1 { print "user_id,label,class,dataset,evidence"; next }
	{ print $1, $2, $3, "simulated", ev }' "$TMP/sim-raw.csv" > "$TMP/sim.csv"
EXTRA_SETS=(botwiki2019 verified2019 vendor2019 politicalbots2019 pronbots2019 ira2018)
POSTS=("$TMP/dev.ndjson.gz" "$TMP/cresci2015.ndjson.gz" "$TMP/sim.jsonl.gz" "$TMP/tf_chunks.ndjson.gz")
# models/relabel.csv comes first (the first label of an id wins): 13 accounts
# of cresci-2017's genuine set that declare themselves bots (docs/MODEL.md,
# "Label audit") are trained as self-declared bots.
LABELS=(models/relabel.csv "$DATA/dev/labels.csv" "$TMP/cresci2015.csv" "$TMP/sim.csv" "$TMP/tf_chunks.csv")
for s in "${EXTRA_SETS[@]}"; do
	POSTS+=("$TMP/$s.ndjson.gz")
	LABELS+=("$TMP/$s.csv")
done
