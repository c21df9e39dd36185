#!/usr/bin/env bash
# The tests on a real Apache Kafka cluster (make test-kafka): start a 3-node
# KRaft cluster on loopback with tools/kafka.sh (the broker's jars are
# downloaded once into build/kafka/), run every tests/kafka/kafka_*.sh against
# it, stop it. Each test names its own topics and groups, so they share the
# cluster. Exits non-zero on any failure.
#   tests/kafka/run.sh [NAME...]   (default: every test)
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
export BUILD
KAFKA_DIR=$(mktemp -d /tmp/bw-kafka-cluster.XXXXXX)
export KAFKA_DIR

stop_cluster() {
	tools/kafka.sh down --dir "$KAFKA_DIR" 2>/dev/null
	rm -rf "$KAFKA_DIR"
}
trap stop_cluster EXIT

start=$SECONDS
tools/kafka.sh up --nodes 3 --dir "$KAFKA_DIR" --heap "${KAFKA_HEAP:-320m}" >"$KAFKA_DIR/up.out" ||
	{ echo "FAIL: the cluster did not start"; exit 1; }
KAFKA_BOOTSTRAP=$(tail -1 "$KAFKA_DIR/up.out")
export KAFKA_BOOTSTRAP
echo "== real-cluster tests on $KAFKA_BOOTSTRAP (up in $((SECONDS - start))s)"

tests=("$@")
[ ${#tests[@]} -eq 0 ] && for t in tests/kafka/kafka_*.sh; do tests+=("$(basename "$t" .sh)"); done
pass=0 fail=0 failed=()
for name in "${tests[@]}"; do
	t0=$SECONDS
	if bash "tests/kafka/$name.sh"; then
		pass=$((pass + 1)); echo "ok   kafka/$name ($((SECONDS - t0))s)"
	else
		fail=$((fail + 1)); failed+=("$name"); echo "FAIL kafka/$name ($((SECONDS - t0))s)"
	fi
done
echo
echo "kafka: $pass passed, $fail failed"
[ $fail -eq 0 ] || { printf 'failed: %s\n' "${failed[@]}"; exit 1; }
