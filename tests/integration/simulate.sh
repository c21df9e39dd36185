#!/usr/bin/env bash
# botwatch simulate: deterministic for a seed, every kind present, and the
# normal decoder reads every line (no dead letters).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$BUILD"/botwatch simulate --accounts 120 --bot-share 0.5 --seed 7 --out "$T/a.gz" --labels "$T/a.csv" 2>/dev/null
"$BUILD"/botwatch simulate --accounts 120 --bot-share 0.5 --seed 7 --out "$T/b.gz" --labels "$T/b.csv" 2>/dev/null
cmp "$T/a.gz" "$T/b.gz" || { echo "simulate: same seed, different dump"; exit 1; }
cmp "$T/a.csv" "$T/b.csv" || { echo "simulate: same seed, different labels"; exit 1; }
"$BUILD"/botwatch simulate --accounts 120 --seed 8 --out "$T/c.gz" --labels "$T/c.csv" 2>/dev/null
! cmp -s "$T/a.gz" "$T/c.gz" || { echo "simulate: seed ignored"; exit 1; }

[ "$(head -1 "$T/a.csv")" = "user_id,label,class" ] || { echo "simulate: bad labels header"; exit 1; }
[ "$(tail -n +2 "$T/a.csv" | wc -l)" -eq 120 ] || { echo "simulate: expected 120 labels"; exit 1; }
for k in human scheduled amplifier spammer fake_follower coordinated; do
	grep -q ",$k\$" "$T/a.csv" || { echo "simulate: no $k account"; exit 1; }
done
# bot share 0.5 with 3 % label noise (docs/SIMULATOR.md): 60 bots, a few labels flipped
nb=$(awk -F, 'NR > 1 && $2 == 1' "$T/a.csv" | wc -l)
[ "$nb" -ge 52 ] && [ "$nb" -le 68 ] || { echo "simulate: bot share ($nb of 120)"; exit 1; }

"$BUILD"/botwatch decode --dlq "$T/dlq.ndjson" "$T/a.gz" > "$T/posts.ndjson" 2>/dev/null
[ ! -s "$T/dlq.ndjson" ] || { echo "simulate: decoder dead-lettered lines:"; head -3 "$T/dlq.ndjson"; exit 1; }
# every labelled account appears as an author in the decoded output
tail -n +2 "$T/a.csv" | cut -d, -f1 | sort -u > "$T/ids"
grep -o '"author":{"id":"[0-9]*"' "$T/posts.ndjson" | grep -o '[0-9]\+' | sort -u > "$T/authors"
missing=$(comm -23 "$T/ids" "$T/authors" | wc -l)
[ "$missing" -eq 0 ] || { echo "simulate: $missing labelled accounts have no record"; exit 1; }
echo "simulate: ok ($(zcat "$T/a.gz" | wc -l) lines)"
