#!/usr/bin/env bash
# botwatch eval --leave-source-out (docs/MODEL.md, "Leave one source out") on a
# small simulated population split into three sources: "both" (both classes,
# tested alone), "bots" (bots only, paired with humans of the others) and
# "humans/part" (humans only, source "humans", declaring name and screen name
# only: its profile columns of other fields are masked, and so are its paired
# bots'); "extra" is --train-only (never held out nor paired). Checks the
# JSON's per-source figures, the pairing, the mean and worst, and the table.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "eval_sources: $*"; exit 1; }

"$BUILD"/botwatch simulate --accounts 400 --bot-share 0.5 --seed 11 --out "$T/sim.gz" \
	--labels "$T/sim.csv" 2>/dev/null
# deal the accounts to sources by line number
awk -F, 'BEGIN { OFS = "," }
	NR == 1 { print "user_id,label,class,dataset,evidence,fields"; next }
	{ k = NR % 4
	  if (k == 0) print $1, $2, $3, "both", "all", "all"
	  else if (k == 1 && $2 == 1) print $1, $2, $3, "bots", "all", "all"
	  else if (k == 2 && $2 == 0) print $1, $2, $3, "humans/part", "all", "name+screen_name"
	  else if (k == 3) print $1, $2, $3, "extra", "all", "all" }' "$T/sim.csv" > "$T/labels.csv"
"$BUILD"/botwatch eval --posts "$T/sim.gz" --labels "$T/labels.csv" --leave-source-out \
	--train-only extra --kernel linear --folds 2 --no-type-heads \
	> "$T/out.json" 2> "$T/err" || fail "eval failed: $(tail -3 "$T/err")"
grep -q '^| held-out source | n | paired | AUC |' "$T/err" || fail "no table on stderr"
grep -q '^| \*\*mean / worst\*\*' "$T/err" || fail "no mean / worst row"
python3 - "$T/out.json" <<'PY' || fail "figures"
import json, sys
o = json.load(open(sys.argv[1]))["leave_source_out"]
s = o["sources"]
assert sorted(s) == ["both", "bots", "humans"], sorted(s)   # extra is train-only
assert s["both"]["one_sided"] is False and s["both"]["paired"] == 0, s["both"]
for k in ("bots", "humans"):
    assert s[k]["one_sided"] is True and s[k]["paired"] > 0, (k, s[k])
    assert s[k]["scored"] == s[k]["n"] + s[k]["paired"], (k, s[k])
for k, v in s.items():
    assert 0 <= v["auc"] <= 1 and 0 <= v["ece"] <= 1 and 0 <= v["balanced_accuracy"] <= 1, (k, v)
    assert v["train_rows"] > 0 and 0 <= v["in_support_share"] <= 1, (k, v)
    assert "loaded_model_auc" in v, (k, v)
aucs = [v["auc"] for v in s.values()]
# the JSON prints 6 significant digits: the mean of rounded AUCs is within 1e-6
assert abs(o["mean_auc"] - sum(aucs) / 3) < 1e-6 and o["worst_auc"] == min(aucs), o
# simulated bots and humans differ clearly: each held-out source is ranked
assert o["worst_auc"] > 0.7, o
PY
echo "eval_sources: ok ($(grep -c '^| ' "$T/err") table lines)"
