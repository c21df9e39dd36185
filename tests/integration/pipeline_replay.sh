#!/usr/bin/env bash
# `botwatch replay --via-kafka` writes the same score records as the plain
# replay, byte for byte after sorting by user_id: on the bundled demo sample
# (108 accounts, mostly profile-only) and, when the research data is present,
# on the 4-account timeline sample (7,115 posts: many feature updates per
# account, debounced). Reads ../shared/data in place (or $BOTWATCH_DATA).
source "$(dirname "$0")/lib/pipeline.bash"
DATA=${BOTWATCH_DATA:-../shared/data}

check() { # name file [extra settings...]
	local name=$1 f=$2; shift 2
	"$BW" replay --out "$T/$name.plain" "$f" 2>"$T/$name-plain.log" || fail "replay exit $?"
	timeout -k 5 60 "$BW" replay --via-kafka --out "$T/$name.kafka" "${KAFKA_FAST[@]}" "$@" "$f" \
		2>"$T/$name-kafka.log" || fail "replay --via-kafka exit $?"
	[ -s "$T/$name.plain" ] || fail "no records"
	same_records "$T/$name.kafka" "$T/$name.plain"
	ok "$name: $(wc -l <"$T/$name.plain") records identical"
}

check demo "$DEMO"
# a features stage that keeps 16 states in memory: evicted states come back from
# its LMDB store, checkpoints are forced by the full cache, the records are the same
check demo-small-cache "$DEMO" --set features.cache_accounts=16

# population features: six accounts share a template bio (digits and links
# differ), one joins it late by changing its bio, one leaves it; three more
# share a template filled with their own names, one of them only a five-word
# run of it; one batch per record, so the stage re-sends the templates' earlier
# accounts as they grow and shrink, and their latest updates must carry the
# final count as replay does
python3 - "$T/shared.ndjson" <<'PY'
import json, sys
def rec(uid, t, bio, name=None, handle=None):
    return {"id_str": str(9000 + t), "created_at": "Mon Mar 0%d 12:00:00 +0000 2020" % (1 + t // 10),
            "text": "post %d" % t,
            "user": {"id_str": uid, "screen_name": handle or "acct" + uid, "name": name or "A " + uid,
                     "description": bio, "followers_count": 10 + t, "friends_count": 20,
                     "statuses_count": 30, "created_at": "Mon Jan 01 00:00:00 +0000 2018"}}
tmpl = "Love to travel, connect with %d new friends! http://x.co/%d"
out = [rec("70%d" % i, i, tmpl % (i, i)) for i in range(6)]
out += [rec("7100", 6, "Reporter covering city hall and the courts since 2009"),
        rec("7101", 7, "Gardener, beekeeper and occasional tuba player here"),
        rec("7100", 8, tmpl % (8, 8)),          # joins the template
        rec("705", 9, "Now writing about birds and nothing else"),  # leaves it
        rec("7200", 10, "Blogs, articles, resources and more - all on Morris Albert!",
            "Morris Albert", "ilovemorrisalbe"),
        rec("7201", 11, "Blogs, articles, resources and more - all on Pets!", "Pets iGuide",
            "petsiguide"),
        rec("7202", 12, "Daily blogs, articles, resources and more for you")]
with open(sys.argv[1], "w") as f:
    for r in out:
        f.write(json.dumps(r) + "\n")
PY
check shared "$T/shared.ndjson" --set features.batch=1 --set features.batch_ms=1
"$BW" replay --features-out "$T/shared.feat" "$T/shared.ndjson" 2>/dev/null || fail "features-out exit $?"
python3 - "$T/shared.feat" <<'PY' || fail "user.description_shared is not the final count"
import json, sys
got = {d["user_id"]: d["features"]["user.description_shared"] for d in map(json.loads, open(sys.argv[1]))}
want = {"700": 5, "701": 5, "702": 5, "703": 5, "704": 5, "7100": 5, "705": 0, "7101": 0,
        "7200": 2, "7201": 2, "7202": 2}
assert got == want, got
PY
ok "shared: the templates' accounts count 5 and 2 others in both"
S=$DATA/dev/tweets_partial_4accounts.ndjson.gz
if [ -e "$S" ]; then
	# small batches and a long debounce (ten years of event time): after its first
	# score, every update of an account is held back and replaced by the next one.
	# The wall-clock bounds (score.max_staleness_ms, score.idle_flush_ms) are raised to
	# an hour so that this holds however slowly a loaded machine delivers the updates.
	check timelines "$S" --set features.batch=500 --set features.batch_ms=20 \
		--set score.debounce_ms=315360000000 --set score.max_staleness_ms=3600000 \
		--set score.idle_flush_ms=3600000
	D=$(grep -o '[0-9]* debounced' "$T/timelines-kafka.log" | tail -1 | cut -d' ' -f1)
	U=$(grep -o '[0-9]* feature updates;' "$T/timelines-kafka.log" | tail -1 | cut -d' ' -f1)
	# an account with two updates or more has one held back (how many updates the
	# features stage sends depends on how its batches fall)
	[ "${U:-0}" -le 4 ] || [ "${D:-0}" -gt 0 ] ||
		fail "no feature update was debounced ($U updates; summary: '${D:-none}')"
	ok "timelines: $D of $U updates debounced"
else
	echo "  skip: $S not found (set BOTWATCH_DATA)"
fi

# usage errors are one clear line and status 2
"$BW" replay --via-kafka --features-out "$T/x" "$DEMO" 2>"$T/usage.log"
[ $? -eq 2 ] && grep -q -- '--via-kafka' "$T/usage.log" || fail "--via-kafka --features-out is not a usage error"
ok "usage errors"
