#!/usr/bin/env bash
# The ThreadSanitizer check: build with `make SANITIZE=thread` (build-tsan/),
# then run `botwatch run --exit-when-idle` on the demo sample and a
# `replay --via-kafka` of it, and fail on a non-zero exit or any race report
# left after tests/tsan/suppressions.txt (one documented pattern, inside
# librdkafka). librdkafka's C11 threads and locks are made visible to TSan by
# tests/tsan/c11_threads.c.
#   tests/tsan/run.sh            (after make SANITIZE=thread)
set -uo pipefail
cd "$(dirname "$0")/../.."
B=${BUILD:-build-tsan}/botwatch
T=$(mktemp -d /tmp/bw-tsan.XXXXXX)
trap 'rm -rf "$T"' EXIT
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 history_size=4 suppressions=$PWD/tests/tsan/suppressions.txt ${TSAN_OPTIONS:-}"
status=0

check() { # name log
	local n own
	n=$(grep -c '^WARNING: ThreadSanitizer' "$2")
	# a report names our code when one of its frames is in the repository
	own=$(awk '/^WARNING: ThreadSanitizer/ { r = 1; hit = 0 }
		r && / (common|config|ingest|features|classifier|store|api|stage|pipeline|cmd)\/[a-z_]+\.c:/ { hit = 1 }
		r && /^SUMMARY: ThreadSanitizer/ { own += hit; r = 0 }
		END { print own + 0 }' "$2")
	echo "$1: exit $3, $n ThreadSanitizer report(s), $own with a frame in botwatch's code"
	[ "$3" -eq 0 ] && [ "$n" -eq 0 ] || { status=1; grep -A30 -m3 '^WARNING: ThreadSanitizer' "$2" | head -80; }
}

timeout -k 5 300 "$B" run --exit-when-idle --listen 127.0.0.1:0 --set "store.path=$T/store" \
	--set "features.state_dir=$T/state" 2>"$T/run.log"
check "run --exit-when-idle (demo)" "$T/run.log" $?
timeout -k 5 300 "$B" replay --via-kafka --out "$T/kafka.ndjson" data/demo/posts.ndjson.gz 2>"$T/replay.log"
check "replay --via-kafka (demo)" "$T/replay.log" $?
exit $status
