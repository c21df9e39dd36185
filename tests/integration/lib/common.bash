# What tests/integration/lib/*.bash share (sourced by them, after the `cd` to
# the repository root and after setting T, the scratch directory): the
# recorded processes and the EXIT trap that kills them and removes T, `ok`
# and `wait_for`. Each helper library defines its own `fail`.
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "  ok: $*"; }

# wait_for FILE [seconds]: until FILE exists and is non-empty
wait_for() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	fail "timed out waiting for $1"
}
