#!/usr/bin/env bash
# `botwatch features` and `botwatch replay --features-out` end to end: the
# registry listing, the generated docs, replays of the 4-account tweet sample
# and of the profile-only dump (finite vectors for every account), usage
# errors. Reads ../shared/data in place (or $BOTWATCH_DATA).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/botwatch
DATA=${BOTWATCH_DATA:-../shared/data}
TMP=$(mktemp -d /tmp/bw_features_cli.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

fail() { echo "features_cli: $*" >&2; exit 1; }

# 1. the registry: >= 1,150 TSV rows, all six classes, works without input
timeout 30 "$BIN" features --list > "$TMP/list.tsv" || fail "--list exit $?"
python3 - "$TMP/list.tsv" <<'PY' || fail "bad --list output"
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
assert len(rows) >= 1150, len(rows)
assert all(len(r) == 4 and r[0] == str(i) for i, r in enumerate(rows))
assert {r[2] for r in rows} == {"user", "friend", "network", "temporal", "content", "sentiment"}
assert all(r[1].split(".")[0] == r[2] for r in rows)
assert len({r[1] for r in rows}) == len(rows)
PY
timeout 30 "$BIN" features --markdown | cmp -s - docs/FEATURES.md || fail "docs/FEATURES.md is stale"
[ "$("$BIN" features --hash | wc -c)" -eq 17 ] || fail "--hash"
set +e
"$BIN" features --bogus 2>/dev/null; [ $? -eq 2 ] || fail "unknown option must exit 2"
"$BIN" replay "$TMP/none.ndjson" 2>/dev/null; [ $? -eq 2 ] || fail "replay without --features-out must exit 2"
"$BIN" replay --features-out "$TMP/x" --probe-time yesterday "$TMP/none" 2>/dev/null; [ $? -eq 2 ] || fail "bad --probe-time must exit 2"
"$BIN" replay --features-out "$TMP/x" "$TMP/missing.ndjson" 2>"$TMP/err.txt"; [ $? -eq 1 ] || fail "missing input must exit 1"
set -e
grep -q "missing.ndjson" "$TMP/err.txt" || fail "missing input: unclear message: $(cat "$TMP/err.txt")"

# 2. the 4-account sample, twice (duplicates change nothing): 4 lines, finite vectors
S=$DATA/dev/tweets_partial_4accounts.ndjson.gz
timeout 60 "$BIN" replay --features-out "$TMP/four.ndjson" "$S" 2> "$TMP/err.txt" || fail "replay exit $?: $(cat "$TMP/err.txt")"
timeout 60 "$BIN" replay --features-out "$TMP/four2.ndjson" "$S" "$S" 2> /dev/null || fail "replay twice exit $?"
cmp -s "$TMP/four.ndjson" "$TMP/four2.ndjson" || fail "replaying the sample twice changed the output"
python3 - "$TMP/four.ndjson" "$TMP/list.tsv" <<'PY' || fail "bad replay output for the 4-account sample"
import json, math, sys
names = [l.split("\t")[1] for l in open(sys.argv[2])]
lines = [json.loads(l) for l in open(sys.argv[1])]
assert sorted(d["screen_name"] for d in lines) == ["BuzzJackson", "ElisaDospina", "davideb66", "heathr"]
assert sum(d["posts_seen"] for d in lines) == 7115
for d in lines:
    assert set(d) == {"user_id", "screen_name", "posts_seen", "features"}
    assert list(d["features"]) == names
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in d["features"].values())
PY

# 3. the profile-only dump: one finite vector per account, at a given probe time
#    (every vector is also checked in tests/unit/test_feat_data.c; here: count,
#    no non-finite literal anywhere, and the first lines in full)
timeout 120 "$BIN" replay --probe-time 2017-01-01T00:00:00Z --features-out "$TMP/dump.ndjson" \
	"$DATA/dev/posts.ndjson.gz" 2> "$TMP/err.txt" || fail "profile-only replay exit $?"
[ "$(wc -l < "$TMP/dump.ndjson")" -eq 14368 ] || fail "expected 14368 lines"
! grep -qiE ': -?(nan|inf)' "$TMP/dump.ndjson" || fail "non-finite value in the output"
head -n 200 "$TMP/dump.ndjson" | python3 -c '
import json, math, sys
for line in sys.stdin:
    d = json.loads(line)
    assert d["posts_seen"] == 0 and all(math.isfinite(v) for v in d["features"].values())
    assert d["features"]["user.account_age_days"] > 0
' || fail "profile-only replay output"
grep -q "14368 listed" "$TMP/err.txt" || fail "summary: $(cat "$TMP/err.txt")"
echo "features_cli: ok"
