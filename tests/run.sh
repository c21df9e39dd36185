#!/usr/bin/env bash
# Run botwatch's tests: cmocka unit tests, integration tests, fuzz-corpus replay.
#   tests/run.sh [unit|integration|torture|fuzz]...   (default: all four; torture is
#   the reduced tests/torture/torture.sh --quick, about a minute)
# BUILD names the build directory (build, build-san). Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(unit integration torture fuzz)

pass=0 fail=0 failed=()

run_one() { # name, command...
	local name=$1; shift
	local start=$SECONDS
	if "$@"; then
		pass=$((pass + 1)); echo "ok   $name ($((SECONDS - start))s)"
	else
		fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name ($((SECONDS - start))s)"
	fi
}

for suite in "${suites[@]}"; do
	case $suite in
	unit)
		echo "== unit tests"
		for t in "$BUILD"/tests/test_*; do
			[ -x "$t" ] || continue
			run_one "unit/$(basename "$t")" "$t"
		done ;;
	integration)
		echo "== integration tests"
		for t in tests/integration/*.sh; do
			[ -e "$t" ] || continue
			run_one "integration/$(basename "$t" .sh)" bash "$t"
		done ;;
	torture)
		echo "== torture (reduced)"
		run_one "torture/quick" bash tests/torture/torture.sh --quick ;;
	fuzz)
		echo "== fuzz corpus replay"
		# one replay per fuzz target source (a stale binary of a removed target is ignored)
		for src in fuzz/fuzz_*.c; do
			name=${src#fuzz/fuzz_}; name=${name%.c}
			run_one "fuzz/$name" "$BUILD/fuzz/replay_fuzz_$name" "fuzz/corpus/$name"
		done ;;
	*) echo "unknown suite $suite" >&2; exit 2 ;;
	esac
done

echo
echo "suites: $pass passed, $fail failed"
[ $fail -eq 0 ] || { printf 'failed: %s\n' "${failed[@]}"; exit 1; }
