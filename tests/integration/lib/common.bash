# What tests/integration/lib/*.bash share (sourced by them, after the `cd` to
# the repository root and after setting T, the scratch directory): the
# recorded processes and the EXIT trap that kills them and removes T, `ok`
# and `wait_for`. Each helper library defines its own `fail`.
PIDS=()

# running PID: the process exists and has not exited (an unreaped child that
# exited is a zombie, which kill -0 still finds)
running() {
	local st
	st=$(cut -d')' -f2 "/proc/$1/stat" 2>/dev/null) || return 1
	[ "${st:1:1}" != Z ]
}

# stop the recorded processes, the last started first (the stages before the
# broker they talk to); what still runs after 20 s is killed, so a hung
# process never hangs the suite
cleanup() {
	local i p
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[i]}" 2>/dev/null; done
	for ((i = 0; i < 200; i++)); do
		for p in "${PIDS[@]}"; do running "$p" && break; p=; done
		[ -z "${p:-}" ] && break
		sleep 0.1
	done
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
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
