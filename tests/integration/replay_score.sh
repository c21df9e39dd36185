#!/usr/bin/env bash
# replay_score: `botwatch replay` scores the bundled demo sample with the
# default model — one score record per account in id order, deterministic,
# every account scored, features and records written to the LMDB store — and
# `botwatch serve` on that store returns, over HTTP, exactly the --out line.
# Also its usage errors and a refused model.
set -euo pipefail
BUILD=${BUILD:-build}
BIN=$BUILD/botwatch
DEMO=data/demo/posts.ndjson.gz
tmp=$(mktemp -d /tmp/bw_replay_score_XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "replay_score: $*" >&2; exit 1; }
[ -f models/default.model ] || fail "models/default.model missing (make model)"

# usage errors (exit 2) and a model that cannot be loaded (exit 1)
"$BIN" replay --help | grep -q -- "--store DIR" || fail "--help"
set +e
"$BIN" replay "$DEMO" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "nothing to write" "$tmp/err" || fail "no output option: rc $rc"
"$BIN" replay --out - --features-out - "$DEMO" 2>/dev/null; rc=$?
[ $rc -eq 2 ] || fail "both outputs on stdout must exit 2 (got $rc)"
echo '{"format":"botwatch-model","format_version":1}' > "$tmp/bad.model"
"$BIN" replay --model "$tmp/bad.model" --out "$tmp/x" "$DEMO" 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] && [ "$(wc -l < "$tmp/err")" -eq 1 ] || fail "bad model: rc $rc, $(cat "$tmp/err")"

# score into a file, the store and a features file in one pass
"$BIN" replay --out "$tmp/scores.ndjson" --features-out "$tmp/features.ndjson" \
	--store "$tmp/store" --set store.map_size_mb=64 "$DEMO" 2>"$tmp/log" ||
	fail "replay failed: $(cat "$tmp/log")"
grep -q "scored 4 ok, 104 profile_only, 0 posts_only, 0 insufficient_data" "$tmp/log" ||
	fail "status counts: $(cat "$tmp/log")"
model_id="sha256:$(sha256sum models/default.model | cut -d' ' -f1)"
python3 - "$tmp/scores.ndjson" "$tmp/features.ndjson" data/demo/labels.csv "$model_id" <<'EOF' ||
import csv, json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
feats = [json.loads(l) for l in open(sys.argv[2])]
labels = {r["user_id"]: int(r["label"]) for r in csv.DictReader(open(sys.argv[3]))}
ids = [r["user_id"] for r in recs]
assert len(recs) == 108 and set(ids) == set(labels), (len(recs), set(labels) ^ set(ids))
assert ids == sorted(ids, key=int), "records not in account-id order"
assert [f["user_id"] for f in feats] == ids, "features and scores differ in accounts or order"
keys = ["user_id", "screen_name", "status", "score", "english", "universal", "cap",
        "categories", "raw_scores", "evidence", "model_version", "feature_schema",
        "scored_at", "posts_seen", "in_support"]
for r in recs:
    assert list(r) == keys, list(r)
    assert r["model_version"] == sys.argv[4], r["model_version"]
    assert isinstance(r["score"], float) and 0 < r["score"] < 1, r
    assert r["score"] == r["english"]
    assert r["categories"]["user"] is not None, r
    if r["status"] == "profile_only":
        assert r["categories"]["temporal"] is None and r["posts_seen"] == 0, r
    else:
        assert r["status"] == "ok" and r["posts_seen"] == 150 and "posts" in r["evidence"], r
# the scores separate the labels (Mann-Whitney AUC, ties half)
pos = [r["score"] for r in recs if labels[r["user_id"]]]
neg = [r["score"] for r in recs if not labels[r["user_id"]]]
auc = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))
assert auc > 0.8, auc
print("replay_score: demo AUC %.3f over %d accounts" % (auc, len(recs)))
EOF
	fail "score records"

# deterministic: a second run writes the same bytes
"$BIN" replay --out "$tmp/again.ndjson" "$DEMO" 2>/dev/null
cmp -s "$tmp/scores.ndjson" "$tmp/again.ndjson" || fail "two replays differ"

# accounts only ever observed (mentioned, retweeted) have nothing to score:
# with --include-observed they are written with status insufficient_data and a
# null score, never silently dropped; --probe-time sets scored_at
"$BIN" replay --include-observed --probe-time 2016-01-01T00:00:00Z --out "$tmp/obs.ndjson" "$DEMO" \
	2>"$tmp/log" || fail "replay --include-observed: $(cat "$tmp/log")"
python3 - "$tmp/obs.ndjson" "$tmp/scores.ndjson" <<'EOF' || fail "--include-observed records"
import json, sys
obs = [json.loads(l) for l in open(sys.argv[1])]
scored = {json.loads(l)["user_id"] for l in open(sys.argv[2])}
extra = [r for r in obs if r["user_id"] not in scored]
assert len(obs) > len(scored) and scored <= {r["user_id"] for r in obs}, (len(obs), len(scored))
for r in extra:
    assert r["status"] == "insufficient_data" and r["score"] is None and r["evidence"] == [], r
    assert r["cap"] == {"english": None, "universal": None}, r
assert all(r["scored_at"] == "2016-01-01T00:00:00Z" for r in obs)
EOF

# --format (ingest.format) is honoured: the demo's v1.1 profile records are all
# dead-lettered as wrong_format under v2, and give the same records under v1.1
# (every line rejected: exit 1, one summary line, no output file)
"$BIN" replay --format v2 --out "$tmp/v2.ndjson" "$DEMO" 2>"$tmp/log" && fail "replay --format v2: exit 0 with every line rejected"
[ ! -e "$tmp/v2.ndjson" ] || fail "--format v2 wrote $tmp/v2.ndjson"
grep -q 'wrong_format' "$tmp/log" || fail "--format v2: no wrong_format dead letter: $(tail -2 "$tmp/log")"
grep -q '"level":"error".*every input unit was dead-lettered, nothing written: 704 units' "$tmp/log" ||
	fail "--format v2: no summary: $(tail -1 "$tmp/log")"
"$BIN" replay --format v1.1 --out "$tmp/v11.ndjson" "$DEMO" 2>"$tmp/log" || fail "replay --format v1.1"
cmp -s "$tmp/v11.ndjson" "$tmp/scores.ndjson" || fail "--format v1.1 records differ from auto"

# serve the store: the record over HTTP is exactly the --out line
"$BIN" serve --store "$tmp/store" --listen 127.0.0.1:0 --set store.map_size_mb=64 \
	--port-file "$tmp/port" 2>"$tmp/serve.log" &
pid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || fail "no port file; log: $(cat "$tmp/serve.log")"
url="http://127.0.0.1:$(cat "$tmp/port")"
[ "$(curl -s -m 10 "$url/healthz")" = '{"status":"ok","accounts":108}' ] || fail "healthz"
for n in 1 50 108; do
	line=$(sed -n "${n}p" "$tmp/scores.ndjson")
	id=$(printf '%s' "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["user_id"])')
	[ "$(curl -s -m 10 "$url/v1/accounts/$id")" = "$line" ] || fail "record $id over HTTP differs from --out"
done
echo "replay_score: ok"
