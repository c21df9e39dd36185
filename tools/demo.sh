#!/usr/bin/env bash
# `make demo`: 1. replay the bundled demo sample through decode → features →
# scores with the default model, print one line per account (label, status,
# score, CAP), then a summary (AUC on the sample's labels); 2. the live demo
# (`botwatch demo`): a simulated stream served by `botwatch simulate --serve`
# read by the whole pipeline (`botwatch run`), with a live view (posts/s,
# accounts, scored, top bots, the conversation report), the dashboard's URL,
# and a one-line JSON summary at the end. BUILD names the build directory;
# DEMO_DURATION (seconds, default 60; 0 = until Ctrl-C), DEMO_RATE (posts/s,
# default 200) and DEMO_FRAMING (v1.1, v2, jetstream) shape the live part.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$BUILD/botwatch
DEMO=data/demo
OUT=${BOTWATCH_DEMO_OUT:-$BUILD/demo}
mkdir -p "$OUT"

echo "demo: $BIN replay --out $OUT/scores.ndjson --store $OUT/store $DEMO/posts.ndjson.gz"
rm -rf "$OUT/store"
"$BIN" replay --out "$OUT/scores.ndjson" --store "$OUT/store" "$DEMO/posts.ndjson.gz"

python3 - "$OUT/scores.ndjson" "$DEMO/labels.csv" <<'PY'
import csv, json, sys
labels = {r["user_id"]: r for r in csv.DictReader(open(sys.argv[2]))}
rows = [json.loads(l) for l in open(sys.argv[1])]
print()
print(f"{'user_id':>20}  {'screen_name':<16} {'truth':<24} {'status':<17} {'score':>6} {'cap':>6}")
scored = []
for r in sorted(rows, key=lambda r: -(r.get("score") or -1)):
    lab = labels.get(r["user_id"])
    truth = (lab["class"] if lab else "unlabelled")
    s = r.get("score")
    cap = (r.get("cap") or {}).get("english")
    print(f"{r['user_id']:>20}  {str(r.get('screen_name') or '-')[:16]:<16} {truth:<24} "
          f"{r['status']:<17} {'' if s is None else format(s, '.3f'):>6} "
          f"{'' if cap is None else format(cap, '.3f'):>6}")
    if lab and s is not None:
        scored.append((s, int(lab["label"])))
pos = [s for s, y in scored if y == 1]
neg = [s for s, y in scored if y == 0]
auc = None
if pos and neg:
    auc = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))
print()
print(f"demo: {len(rows)} accounts scored; {len(scored)} labelled "
      f"({len(pos)} bots, {len(neg)} humans); AUC on this sample "
      f"{'n/a' if auc is None else format(auc, '.3f')}"
      f" (in-domain: the default model was trained on the dataset this sample comes from)")
print(f"model: {rows[0].get('model_version') if rows else '-'}")
PY
echo "demo: serve these scores with: $BIN serve --store $OUT/store --listen 127.0.0.1:8080"
echo "demo: conversation report of the sample: $BIN report --store $OUT/store --window all"

echo
echo "demo: live: $BIN demo --duration ${DEMO_DURATION:-60} --rate ${DEMO_RATE:-200} --framing ${DEMO_FRAMING:-v1.1} (open the dashboard URL it prints)"
"$BIN" demo --duration "${DEMO_DURATION:-60}" --rate "${DEMO_RATE:-200}" --framing "${DEMO_FRAMING:-v1.1}"
