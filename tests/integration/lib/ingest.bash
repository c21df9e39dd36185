# Helpers shared by tests/integration/ingest_*.sh (sourced, not run).
# Every process started here is recorded and killed by the EXIT trap.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BW=$BUILD/botwatch
FIREHOSE=$BUILD/tests/firehose
KCONSUME=$BUILD/tests/kconsume
T=$(mktemp -d /tmp/bw-ingest-it.XXXXXX)
source tests/integration/lib/common.bash # PIDS, cleanup trap, ok, wait_for

fail() { echo "FAIL: $*" >&2; exit 1; }

# start_broker [partitions]: sets BROKER
start_broker() {
	rm -f "$T/broker.out"
	"$BW" broker --partitions "${1:-4}" >"$T/broker.out" 2>"$T/broker.err" &
	PIDS+=($!)
	wait_for "$T/broker.out"
	BROKER=$(head -1 "$T/broker.out")
	[[ $BROKER =~ ^127\.0\.0\.1:[0-9]+(,127\.0\.0\.1:[0-9]+)*$ ]] || fail "broker printed '$BROKER'"
}

# start_firehose FRAMING PLAN [extra args]: sets PORT; log in $T/fh.log
start_firehose() {
	local framing=$1 plan=$2
	shift 2
	rm -f "$T/port"
	"$FIREHOSE" --framing "$framing" --plan "$plan" --port-file "$T/port" --log "$T/fh.log" "$@" &
	FPID=$!
	PIDS+=($FPID)
	wait_for "$T/port"
	PORT=$(cat "$T/port")
}

# stop_firehose: end the current firehose
stop_firehose() {
	kill "$FPID" 2>/dev/null
	wait "$FPID" 2>/dev/null
}

# Scaled-down time constants for tests.
FAST=(--set ingest.backoff.tcp_step_ms=50 --set ingest.backoff.tcp_max_ms=200
      --set ingest.backoff.http_initial_ms=200 --set ingest.backoff.http_max_ms=800
      --set ingest.backoff.ratelimit_initial_ms=300 --set ingest.backoff.ratelimit_max_ms=1200
      --set ingest.idle_timeout_v1_ms=500 --set ingest.idle_timeout_v2_ms=500
      --set ingest.idle_timeout_sse_ms=500 --set ingest.connect_timeout_ms=1000)

# start_ingest ARGS...: runs botwatch ingest in the background; sets IPID
start_ingest() {
	"$BW" ingest "$@" >"$T/ingest.out" 2>"$T/ingest.err" &
	IPID=$!
	PIDS+=($IPID)
}

# stop_ingest: SIGTERM, wait; sets ISTATUS
stop_ingest() {
	kill -TERM "$IPID" 2>/dev/null
	wait "$IPID"
	ISTATUS=$?
}

# wait_log PATTERN [seconds]: until the firehose log matches
wait_log() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		grep -qE "$1" "$T/fh.log" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "timed out waiting for '$1' in the firehose log"
}

# The ids the firehose completed, one per line, sorted.
completed_ids() {
	awk '$3 == "completed" { split($4, r, "-"); for (i = r[1]; i <= r[2]; i++) print i }' "$T/fh.log" | sort
}

# ms between the first event matching A and the next line matching B after it
gap_ms() {
	awk -v a="$1" -v b="$2" '
		start == "" && $0 ~ a { sub("t=", "", $1); start = $1; next }
		start != "" && $0 ~ b { sub("t=", "", $1); print $1 - start; exit }' "$T/fh.log"
}

# consume_ids TOPIC EXPECTED: the post ids in TOPIC, sorted, into $T/got
consume_ids() {
	timeout 60 "$KCONSUME" -b "$BROKER" -t "$1" --list -n "$2" --idle-ms 3000 --timeout-ms 30000 \
		>"$T/got.raw" 2>"$T/kc.err" || { cat "$T/kc.err" >&2; fail "kconsume $1 got $(cat "$T/kc.err")"; }
	awk '{ print $1 }' "$T/got.raw" | sort >"$T/got"
}
