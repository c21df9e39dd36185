# Helpers shared by tests/integration/pipeline_*.sh (sourced, not run).
# Every process started here is recorded and killed by the EXIT trap.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BW=$BUILD/botwatch
DEMO=data/demo/posts.ndjson.gz
T=$(mktemp -d /tmp/bw-pipeline-it.XXXXXX)
source tests/integration/lib/common.bash # PIDS, cleanup trap, ok, wait_for
# a short session timeout: the embedded broker's coordinator waits that long for a departed member
KAFKA_FAST=(--set kafka.session.timeout.ms=6000 --set kafka.heartbeat.interval.ms=500)

fail() {
	echo "FAIL: $*" >&2
	for f in "$T"/*.log; do [ -e "$f" ] && { echo "--- $f"; grep -v CONFWARN "$f" | tail -5; }; done >&2
	exit 1
}

# wait_exit PID SECONDS: wait for a recorded process to exit; sets RC
wait_exit() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$1" 2>/dev/null && fail "process $1 still running after $2 s"
	wait "$1"
	RC=$?
}

# expected: the plain replay's records of the demo sample into $T/expected.ndjson
expected() {
	"$BW" replay --out "$T/expected.ndjson" "$DEMO" 2>"$T/replay.log" || fail "replay exit $?"
	N_EXPECTED=$(wc -l <"$T/expected.ndjson")
	[ "$N_EXPECTED" -gt 100 ] || fail "replay wrote only $N_EXPECTED records"
}

# poll_export URL SECONDS [EXPECTED]: until GET URL/v1/accounts has N_EXPECTED lines
# and, with EXPECTED, the same records (a stream's stored scores reach the final
# ones within score.max_staleness_ms of its last post; earlier reads may see an
# account's intermediate record); into $T/export.ndjson
poll_export() {
	local i
	for ((i = 0; i < $2 * 4; i++)); do
		curl -sf "$1/v1/accounts" >"$T/export.ndjson" 2>/dev/null &&
			[ "$(wc -l <"$T/export.ndjson")" -eq "$N_EXPECTED" ] &&
			{ [ -z "${3:-}" ] || (same_records "$T/export.ndjson" "$3") 2>/dev/null; } &&
			return 0
		sleep 0.25
	done
	[ -n "${3:-}" ] && same_records "$T/export.ndjson" "$3"
	fail "the API held $(wc -l <"$T/export.ndjson" 2>/dev/null) of $N_EXPECTED records after $2 s"
}

# same_records A B: identical bytes after sorting the lines by user_id
same_records() {
	python3 - "$1" "$2" <<'PY' || fail "records differ: $1 vs $2"
import json, sys
def load(p):
    lines = open(p, "rb").read().splitlines()
    return sorted(lines, key=lambda l: json.loads(l)["user_id"])
a, b = load(sys.argv[1]), load(sys.argv[2])
if a != b:
    for x, y in zip(a, b):
        if x != y:
            print("first difference:\n ", x[:300], "\n ", y[:300], file=sys.stderr)
            break
    print(f"{len(a)} vs {len(b)} records", file=sys.stderr)
    sys.exit(1)
PY
}

# start_broker: `botwatch broker --partitions 4` in the background; sets B (its
# address) and BROKER (its pid)
start_broker() {
	"$BW" broker --partitions 4 >"$T/broker.out" 2>"$T/broker.log" &
	BROKER=$!
	PIDS+=($BROKER)
	wait_for "$T/broker.out"
	B=$(head -1 "$T/broker.out")
}
