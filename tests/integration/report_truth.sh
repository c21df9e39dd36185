#!/usr/bin/env bash
# report_truth: the conversation report (`botwatch report`, docs/REPORT.md) on
# simulator dumps, whose ground truth is known.
#   1. counts: every row of the hashtag and domain reports (all time and per
#      week) equals an independent recount from the dump and the score
#      records, and its intervals equal the documented formulas (Wilson;
#      Wilson at the design-effect-corrected size for posts);
#   2. sampling error: the ground-truth shares (--labels) of two independent
#      dumps of the same population (seeds 7 and 8) agree within their
#      stated 95 % intervals: |p1 - p2| <= 1.96 sqrt(se1² + se2²) for at
#      least 80 % of the keys with >= 300 posts in both, and within 3.3 for
#      every one (the mean z² is printed, and that of a binomial interval
#      over posts without the design effect, for comparison);
#   3. classifier against ground truth: the shares above CAP 0.5 from the
#      default model's scores differ from the ground-truth shares by at most
#      0.08 for every key with >= 300 posts (measured 0.055 and 0.063);
#   4. replay --via-kafka (the features stage records the tallies) gives the
#      same report as replay, and so does `run` on the same store twice (no post
#      counted again); usage errors.
set -euo pipefail
BUILD=${BUILD:-build}
BIN=$BUILD/botwatch
tmp=$(mktemp -d /tmp/bw_report_truth_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "report_truth: $*" >&2; exit 1; }
[ -f models/default.model ] || fail "models/default.model missing (make model)"

for seed in 7 8; do
	"$BIN" simulate --accounts 2000 --bot-share 0.3 --seed $seed --posts-per-account 50 \
		--out "$tmp/sim$seed.jsonl.gz" --labels "$tmp/labels$seed.csv" 2>/dev/null
	"$BIN" replay --store "$tmp/store$seed" --out "$tmp/scores$seed.ndjson" \
		--set store.map_size_mb=256 "$tmp/sim$seed.jsonl.gz" 2>"$tmp/log" ||
		fail "replay: $(cat "$tmp/log")"
done
for by in hashtag domain; do
	for w in all 1w; do
		"$BIN" report --store "$tmp/store7" --by $by --window $w --top 0 --format json \
			> "$tmp/rep_${by}_$w.json" || fail "report --by $by --window $w"
	done
done
for seed in 7 8; do
	"$BIN" report --store "$tmp/store$seed" --window all --top 0 --format json \
		--labels "$tmp/labels$seed.csv" > "$tmp/truth$seed.json" || fail "report --labels"
done

python3 - "$tmp" <<'EOF' || fail "checks failed"
import collections, csv, gzip, json, math, sys
from datetime import datetime
tmp = sys.argv[1]
Z = 1.959963984540054

def wilson(k, n):
    if n <= 0:
        return (0.0, 1.0)
    p = k / n; d = 1 + Z * Z / n
    c = (p + Z * Z / (2 * n)) / d
    h = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))

def domain(url):
    if "://" not in url:
        return None
    host = url.split("://", 1)[1]
    for c in "/?#":
        host = host.split(c, 1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].lower()
    return host[4:] if host.startswith("www.") and len(host) > 4 else host or None

# 1. recount from the dump (only statuses: profile-only records are no posts)
caps = {}
for line in open(f"{tmp}/scores7.ndjson"):
    r = json.loads(line)
    caps[r["user_id"]] = (r.get("cap") or {}).get("english")
tallies = {"hashtag": collections.defaultdict(collections.Counter),
           "domain": collections.defaultdict(collections.Counter)}
for line in gzip.open(f"{tmp}/sim7.jsonl.gz", "rt"):
    o = json.loads(line)
    if "entities" not in o:
        continue
    u = o["user"]["id_str"]
    t = int(datetime.strptime(o["created_at"], "%a %b %d %H:%M:%S %z %Y").timestamp())
    for kind, keys in (("hashtag", {h["text"].lower() for h in o["entities"]["hashtags"]}),
                       ("domain", {domain(x.get("expanded_url") or x["url"]) for x in o["entities"]["urls"]} - {None})):
        for k in keys:
            tallies[kind][("all", k)][u] += 1
            tallies[kind][(t - t % 604800, k)][u] += 1

def expect(accts, threshold=0.5):
    n = sum(1 for u in accts if caps.get(u) is not None)
    above = [u for u in accts if caps.get(u) is not None and caps[u] >= threshold]
    m = sum(c for u, c in accts.items() if caps.get(u) is not None)
    ma = sum(accts[u] for u in above)
    p = ma / m
    ss = sum(c * c * ((1 if caps[u] >= threshold else 0) - p) ** 2
             for u, c in accts.items() if caps.get(u) is not None)
    v = n / (n - 1) * ss / (m * m) if n > 1 else 0
    neff = min(m, p * (1 - p) / v) if 0 < p < 1 and v > 0 else n
    return dict(posts=sum(accts.values()), accounts=len(accts), accounts_scored=n,
                accounts_above=len(above), posts_scored=m, posts_above=ma,
                share_accounts_ci=wilson(len(above), n), share_posts_ci=wilson(p * neff, neff),
                design_effect=m / neff)

checked = 0
for kind in ("hashtag", "domain"):
    for w in ("all", "1w"):
        rep = json.load(open(f"{tmp}/rep_{kind}_{w}.json"))
        assert rep["rows"], (kind, w)
        seen = set()
        for r in rep["rows"]:
            if w == "all":
                key = ("all", r["key"])
            else:
                key = (int(datetime.strptime(r["window_start"], "%Y-%m-%dT%H:%M:%S%z").timestamp()), r["key"])
            seen.add(key)
            e = expect(tallies[kind][key])
            for f in ("posts", "accounts", "accounts_scored", "accounts_above", "posts_scored", "posts_above"):
                assert r[f] == e[f], (kind, w, key, f, r[f], e[f])
            for f in ("share_accounts_ci", "share_posts_ci"):
                assert all(abs(a - b) < 2e-6 for a, b in zip(r[f], e[f])), (kind, key, f, r[f], e[f])
            assert abs(r["design_effect"] - e["design_effect"]) < 1e-3 * max(1, e["design_effect"]), (key, r["design_effect"], e["design_effect"])
            checked += 1
        want = {k for k in tallies[kind] if (k[0] == "all") == (w == "all")}
        assert seen == want, (kind, w, len(seen), len(want))
print(f"report_truth: {checked} rows equal the recount")

# 2. sampling error: two realisations of the same population
t7 = {r["key"]: r for r in json.load(open(f"{tmp}/truth7.json"))["rows"]}
t8 = {r["key"]: r for r in json.load(open(f"{tmp}/truth8.json"))["rows"]}
keys = sorted(k for k in t7 if k in t8 and t7[k]["posts"] >= 300 and t8[k]["posts"] >= 300)
assert len(keys) >= 10, keys
def se(r, f):
    lo, hi = r[f + "_ci"]
    return (hi - lo) / (2 * Z)
worst = {}
for f in ("share_accounts", "share_posts"):
    zs = [abs(t7[k][f] - t8[k][f]) / math.hypot(se(t7[k], f), se(t8[k], f)) for k in keys]
    inside = sum(z <= Z for z in zs)
    worst[f] = max(zs)
    print(f"report_truth: {f}: {inside}/{len(keys)} keys agree within the 95% interval, largest z {max(zs):.2f}")
    assert inside >= 0.8 * len(keys) and max(zs) <= 3.3, (f, zs)
# for information: a binomial interval over posts (no design effect) is too narrow
naive = []
for k in keys:
    s = [math.sqrt(r["share_posts"] * (1 - r["share_posts"]) / r["posts_scored"]) for r in (t7[k], t8[k])]
    naive.append(abs(t7[k]["share_posts"] - t8[k]["share_posts"]) / math.hypot(*s))
zs = [abs(t7[k]["share_posts"] - t8[k]["share_posts"]) / math.hypot(se(t7[k], "share_posts"), se(t8[k], "share_posts")) for k in keys]
print(f"report_truth: mean z^2 of share_posts {sum(z * z for z in zs) / len(zs):.2f} "
      f"(binomial interval instead: {sum(z * z for z in naive) / len(naive):.2f}; 1 when calibrated)")

# 3. the model's shares against the ground truth
c7 = {r["key"]: r for r in json.load(open(f"{tmp}/rep_hashtag_all.json"))["rows"]}
gap = {f: max(abs(c7[k][f] - t7[k][f]) for k in t7 if t7[k]["posts"] >= 300)
       for f in ("share_accounts", "share_posts")}
print(f"report_truth: largest gap between CAP >= 0.5 and ground truth: accounts {gap['share_accounts']:.3f}, posts {gap['share_posts']:.3f}")
assert gap["share_accounts"] <= 0.08 and gap["share_posts"] <= 0.08, gap
EOF

# 4. the pipeline records the same tallies as replay (a small dump: via Kafka is slower)
"$BIN" simulate --accounts 200 --bot-share 0.4 --seed 3 --posts-per-account 20 \
	--out "$tmp/small.jsonl.gz" --labels "$tmp/small.csv" 2>/dev/null
"$BIN" replay --store "$tmp/sa" --out /dev/null --set store.map_size_mb=64 "$tmp/small.jsonl.gz" 2>/dev/null
"$BIN" replay --via-kafka --store "$tmp/sb" --out /dev/null --set store.map_size_mb=64 \
	--set features.state_dir="$tmp/state" "$tmp/small.jsonl.gz" 2>"$tmp/log" ||
	fail "replay --via-kafka: $(tail -3 "$tmp/log")"
for by in hashtag domain; do
	"$BIN" report --store "$tmp/sa" --by $by --window 1d --top 0 > "$tmp/a.csv"
	"$BIN" report --store "$tmp/sb" --by $by --window 1d --top 0 > "$tmp/b.csv"
	[ "$(wc -l < "$tmp/a.csv")" -gt 10 ] || fail "$by: too few rows"
	cmp -s "$tmp/a.csv" "$tmp/b.csv" || fail "$by: via Kafka differs: $(diff "$tmp/a.csv" "$tmp/b.csv" | head -5)"
done

# `run` twice on the same input, same store and state (a new embedded broker each
# time): the second run counts nothing again (the marks restart with the broker; the
# author's state takes no post twice), so the report still equals replay's
for i in 1 2; do
	"$BIN" run --source "$tmp/small.jsonl.gz" --store "$tmp/sc" --listen 127.0.0.1:0 \
		--exit-when-idle --set store.map_size_mb=64 --set features.state_dir="$tmp/state2" \
		--set log.level=warn 2>"$tmp/log" || fail "run $i: $(tail -3 "$tmp/log")"
	"$BIN" report --store "$tmp/sa" --window 1d --top 0 > "$tmp/a.csv"
	"$BIN" report --store "$tmp/sc" --window 1d --top 0 > "$tmp/c.csv"
	cmp -s "$tmp/a.csv" "$tmp/c.csv" || fail "run $i: report differs from replay's: $(diff "$tmp/a.csv" "$tmp/c.csv" | head -5)"
done

# usage errors: exit 2 and one line
set +e
for args in "--by rule" "--by nothing" "--window 10" "--window 2x" "--threshold 1.5" \
	"--cap french" "--top -1" "--format xml" "--bogus 1"; do
	# shellcheck disable=SC2086
	"$BIN" report --store "$tmp/sa" $args >/dev/null 2>"$tmp/err"; rc=$?
	[ $rc -eq 2 ] || fail "'$args': exit $rc"
done
"$BIN" report --store "$tmp/nonexistent" >/dev/null 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "missing store: exit $rc"
echo "report_truth: ok"
