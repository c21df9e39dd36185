#!/usr/bin/env bash
# botwatch eval --report (docs/MODEL.md, "The eval report"; "Fairness and
# stability"): on a small simulated panel, the report's plots and page are
# written and non-trivial, the JSON carries the fairness figures with their
# tests, and the panel is stable: replayed twice (one and two threads) it gives
# the same bytes, and the report written twice is identical file by file.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "eval_report: $*"; exit 1; }
BW=$BUILD/botwatch

"$BW" simulate --accounts 600 --bot-share 0.4 --seed 21 --posts-per-account 20 --out "$T/train.gz" \
	--labels "$T/train.csv" 2>/dev/null
"$BW" simulate --accounts 500 --bot-share 0.4 --seed 22 --posts-per-account 20 --out "$T/panel.gz" \
	--labels "$T/panel.csv" 2>/dev/null
"$BW" train --kernel linear --no-type-heads --folds 3 --posts "$T/train.gz" --labels "$T/train.csv" \
	--out "$T/m.model" >/dev/null 2>&1 || fail "train"

"$BW" eval --model "$T/m.model" --posts "$T/panel.gz" --labels "$T/panel.csv" --report "$T/r1" \
	>"$T/e1.json" 2>/dev/null || fail "eval --report"
for f in score_hist.svg roc.svg pr.svg roc_by_class.svg pr_by_class.svg calibration.svg confusion.svg; do
	[ -s "$T/r1/$f" ] || fail "$f missing"
	python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' "$T/r1/$f" || fail "$f is not well-formed XML"
done
# what each plot must show
grep -c '<rect x=' "$T/r1/score_hist.svg" | awk '$1 < 40 { exit 1 }' || fail "score_hist.svg: fewer than 40 bars"
grep -q 'threshold 0.50' "$T/r1/score_hist.svg" || fail "score_hist.svg: threshold not marked"
grep -q 'ROC (AUC 0\.[0-9]*)' "$T/r1/roc.svg" || fail "roc.svg: no AUC"
grep -q '<circle' "$T/r1/roc.svg" || fail "roc.svg: threshold point not marked"
grep -q 'prevalence 0\.[0-9]*' "$T/r1/pr.svg" || fail "pr.svg: no prevalence baseline"
grep -q 'Precision-recall (AP 0\.[0-9]*)' "$T/r1/pr.svg" || fail "pr.svg: no average precision"
n=$(grep -c '<polyline' "$T/r1/roc_by_class.svg")
[ "$n" -ge 5 ] || fail "roc_by_class.svg: $n curves, expected one per bot class (5)"
for k in amplifier spammer fake_follower coordinated scheduled; do
	grep -q "$k (n [0-9]*, AUC" "$T/r1/roc_by_class.svg" || fail "roc_by_class.svg: no $k curve"
done
grep -q 'ECE' "$T/r1/calibration.svg" || fail "calibration.svg: no ECE"
python3 - "$T/r1/confusion.svg" "$T/e1.json" <<'PY' || fail "confusion.svg does not hold the counts"
import json, re, sys
svg = open(sys.argv[1]).read()
cells = [int(x) for x in re.findall(r'font-size="18">(\d+)</text>', svg)]
e = json.load(open(sys.argv[2]))
assert len(cells) == 4 and sum(cells) == e["n"], (cells, e["n"])
assert cells[2] + cells[3] == e["positives"], cells  # actual bots: false negatives + true positives
PY
for k in "<h2>Metrics</h2>" "ROC AUC" "average precision" "false positive rate" "By bot class" \
	"Fairness" "<h3>account_age</h3>" "<h3>language</h3>" "<h3>platform</h3>"; do
	grep -q "$k" "$T/r1/index.html" || fail "index.html: no '$k'"
done
python3 - "$T/e1.json" <<'PY' || fail "fairness figures"
import json, sys
f = json.load(open(sys.argv[1]))["fairness"]
for g in ("language", "platform", "account_age"):
    assert f[g]["groups"], g
age = f["account_age"]
assert len(age["groups"]) >= 2, age["groups"]
for t in ("false_positive_rate_test", "false_negative_rate_test", "human_scores_test", "bot_scores_test"):
    x = age[t]
    assert "note" in x or (0 <= x["p"] <= 1 and x["test"] in ("chi-square", "kruskal-wallis")), x
assert any("p" in age[t] for t in age if t.endswith("_test")), age
n = sum(v["humans"] + v["bots"] for v in age["groups"].values())
assert n == json.load(open(sys.argv[1]))["n"], n
PY
echo "  ok: report plots, tables and fairness figures"

# test-retest: the same panel replayed twice gives the same bits
"$BW" replay --model "$T/m.model" --threads 1 --out "$T/s1.ndjson" "$T/panel.gz" 2>/dev/null
"$BW" replay --model "$T/m.model" --threads 2 --out "$T/s2.ndjson" "$T/panel.gz" 2>/dev/null
[ -s "$T/s1.ndjson" ] || fail "replay wrote nothing"
cmp "$T/s1.ndjson" "$T/s2.ndjson" || fail "test-retest: the panel's scores differ between replays"
"$BW" eval --model "$T/m.model" --posts "$T/panel.gz" --labels "$T/panel.csv" --report "$T/r2" \
	>"$T/e2.json" 2>/dev/null || fail "second eval"
cmp "$T/e1.json" "$T/e2.json" || fail "test-retest: eval figures differ"
for f in "$T"/r1/*; do cmp "$f" "$T/r2/$(basename "$f")" || fail "test-retest: $(basename "$f") differs"; done
echo "  ok: test-retest: $(wc -l <"$T/s1.ndjson") scores and the report identical twice"
echo "eval_report: ok"
