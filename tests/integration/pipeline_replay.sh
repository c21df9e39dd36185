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
S=$DATA/dev/tweets_partial_4accounts.ndjson.gz
if [ -e "$S" ]; then
	# small batches and a long debounce (ten years of event time): after its first
	# score, every update of an account is held back and replaced by the next one
	# (timing-independent: the stages no longer wait 3 s for a group join, so
	# without it each update was scored before the next arrived)
	check timelines "$S" --set features.batch=500 --set features.batch_ms=20 \
		--set score.debounce_ms=315360000000
	D=$(grep -o '[0-9]* debounced' "$T/timelines-kafka.log" | tail -1 | cut -d' ' -f1)
	[ "${D:-0}" -gt 0 ] || fail "no feature update was debounced (summary: '${D:-none}')"
	ok "timelines: $D updates debounced"
else
	echo "  skip: $S not found (set BOTWATCH_DATA)"
fi

# usage errors are one clear line and status 2
"$BW" replay --via-kafka --features-out "$T/x" "$DEMO" 2>"$T/usage.log"
[ $? -eq 2 ] && grep -q -- '--via-kafka' "$T/usage.log" || fail "--via-kafka --features-out is not a usage error"
ok "usage errors"
