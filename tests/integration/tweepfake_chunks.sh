#!/usr/bin/env bash
# models/tweepfake_chunks.py on a made-up TweepFake-shaped input (three
# accounts, two pairs): chunk boundaries (30 + remainder >= 15 kept, shorter
# remainder merged, short account one chunk), the pair / evidence columns,
# byte-identical output on a second run, the artefact normalisation (<U+XXXX>
# escapes decoded, literal \n and real line breaks to one space, trailing
# ellipsis removed), and that HTML entities, left in place, reach no feature:
# the decoder unescapes them.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
T=$(mktemp -d /tmp/bw_tf_chunks.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "tweepfake_chunks: $*" >&2; exit 1; }
ok() { echo "  ok: $*"; }

mkdir -p "$T/src"
python3 - "$T/src" <<'PY'
import gzip, json, sys
src = sys.argv[1]
acc = [("alice", "101", 0, 75), ("alice_bot", "102", 1, 40), ("bob", "103", 0, 12)]
with gzip.open(src + "/posts.ndjson.gz", "wt", encoding="utf-8") as f:
    for sn, uid, label, n in acc:
        for i in range(n):
            text = "%s says %d" % (sn, i)
            if sn == "alice" and i == 0:
                text = "crying <U+0001F62D> and <U+0915> &amp; more"
            if sn == "alice_bot" and i == 0:
                text = "line one\\nline two\\r\\n  \"quoted\\\" end"
            if sn == "bob" and i == 0:
                text = "real\nbreak and a cut-off tail \u2026"
            user = {"id": int(uid), "id_str": uid, "_synthetic_id": True, "screen_name": sn}
            f.write(json.dumps({"text": text, "user": user, "_source_split": "train"}) + "\n")
with open(src + "/labels.csv", "w") as f:
    f.write("user_id,label,class\n101,0,human\n102,1,gpt2\n103,0,human\n")
with open(src + "/../pairs.csv", "w") as f:
    f.write("# test pairs\nscreen_name,pair\nalice,alice\nalice_bot,alice\nbob,bob\n")
PY
python3 models/tweepfake_chunks.py "$T/src" "$T/pairs.csv" "$T/a" || fail "tool failed"
python3 models/tweepfake_chunks.py "$T/src" "$T/pairs.csv" "$T/b" || fail "second run failed"
for f in tf_chunks.ndjson.gz tf_chunks.csv tf_whole.ndjson.gz tf_whole.csv tf_folds.csv; do
	cmp -s "$T/a/$f" "$T/b/$f" || fail "$f differs between two runs"
done
ok "two runs give the same bytes"

python3 - "$T/a" <<'PY' || fail "chunk layout"
import csv, gzip, json, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(d + "/tf_chunks.csv")))
assert list(rows[0].keys()) == ["user_id", "label", "class", "dataset", "evidence"], rows[0].keys()
per = {}
for line in gzip.open(d + "/tf_chunks.ndjson.gz", "rt", encoding="utf-8"):
    r = json.loads(line)
    per.setdefault(r["user"]["screen_name"], {}).setdefault(r["user"]["id_str"], []).append(r["text"])
sizes = {sn: [len(v) for v in c.values()] for sn, c in per.items()}
assert sizes == {"alice": [30, 30, 15], "alice_bot": [40], "bob": [12]}, sizes
ids = [r["user_id"] for r in rows]
assert len(ids) == len(set(ids)) == 5, ids
assert not {"101", "102", "103"} & set(ids), "chunk ids reuse account ids"
by = {r["user_id"]: r for r in rows}
for sn, c in per.items():
    for cid in c:
        r = by[cid]
        assert r["evidence"] == "posts", r
        assert r["dataset"] == "tweepfake/" + ("bob" if sn == "bob" else "alice"), r
        assert r["class"] == ("text_generator" if sn == "alice_bot" else "human"), r
        assert r["label"] == ("1" if sn == "alice_bot" else "0"), r
whole = list(csv.DictReader(open(d + "/tf_whole.csv")))
assert [(r["user_id"], r["dataset"], r["evidence"]) for r in whole] == [
    ("101", "tweepfake/alice", "all"), ("102", "tweepfake/alice", "all"),
    ("103", "tweepfake/bob", "all")], whole
folds = list(csv.DictReader(open(d + "/tf_folds.csv")))
assert [(r["pair"], r["fold"], r["tweets"]) for r in folds] == [("alice", "1", "115"), ("bob", "2", "12")], folds
PY
ok "chunks of 30 (+remainder), pair and evidence columns, folds"

python3 - "$T/a" <<'PY' || fail "normalisation"
import gzip, json, sys
first = {}
for line in gzip.open(sys.argv[1] + "/tf_whole.ndjson.gz", "rt", encoding="utf-8"):
    r = json.loads(line)
    first.setdefault(r["user"]["screen_name"], r["text"])
want = {"alice": "crying \U0001F62D and \u0915 &amp; more",
        "alice_bot": 'line one line two "quoted" end',
        "bob": "real break and a cut-off tail"}
assert first == want, first
PY
ok "<U+XXXX> decoded, literal \\n / line breaks to a space, trailing ellipsis dropped"

python3 models/tweepfake_chunks.py --raw "$T/src" "$T/pairs.csv" "$T/raw" || fail "--raw failed"
zcat "$T/raw/tf_whole.ndjson.gz" | grep -q '<U+0001F62D>' || fail "--raw changed the text"
ok "--raw keeps the source text"

"$BUILD/botwatch" decode "$T/a/tf_whole.ndjson.gz" > "$T/decoded.ndjson" 2>/dev/null ||
	fail "decode failed"
grep -q 'crying' "$T/decoded.ndjson" || fail "decoded text missing"
if grep 'crying' "$T/decoded.ndjson" | grep -q '&amp;'; then fail "&amp; reached the decoded text"; fi
grep 'crying' "$T/decoded.ndjson" | grep -q ' & more' || fail "&amp; not unescaped by the decoder"
ok "HTML entities are unescaped by the decoder"

printf 'screen_name,pair\nalice,alice\n' > "$T/short_pairs.csv"
if python3 models/tweepfake_chunks.py "$T/src" "$T/short_pairs.csv" "$T/c" 2> "$T/err"; then
	fail "an account missing from the pairs file was accepted"
fi
grep -q 'not in' "$T/err" || fail "unclear error: $(cat "$T/err")"
ok "an account without a pair is an error"
