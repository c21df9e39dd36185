# Helpers shared by tests/kafka/kafka_*.sh (sourced, not run): the pipeline
# test helpers (tests/integration/lib/pipeline.bash) plus the real cluster
# that tests/kafka/run.sh started (KAFKA_BOOTSTRAP, KAFKA_DIR). Every test
# uses topics and groups of its own (suffix $S), so tests share the cluster.
source "$(dirname "$0")/../integration/lib/pipeline.bash"
KADMIN=$BUILD/tests/kadmin
[ -n "${KAFKA_BOOTSTRAP:-}" ] || fail "KAFKA_BOOTSTRAP is not set: run through tests/kafka/run.sh"
B=$KAFKA_BOOTSTRAP
S=$(basename "$0" .sh)-$$
# topics, groups and watches of this test; the embedded broker's bounded
# retention does not apply here, so the retention cap is off
NAMES=(--brokers "$B" "${KAFKA_FAST[@]}"
       --set "ingest.topic=posts.$S" --set "ingest.dlq_topic=posts.dlq.$S"
       --set "features.topic=features.$S" --set "score.topic=scores.$S"
       --set "features.group_id=f.$S" --set "score.group_id=s.$S"
       --set "ingest.lag_groups=f.$S" --set "features.lag_groups=s.$S"
       --set ingest.lag_retention_cap=false)

# make_topics PARTITIONS: the posts and features topics of this test
make_topics() {
	"$KADMIN" -b "$B" create "posts.$S" "$1" || fail "cannot create posts.$S"
	"$KADMIN" -b "$B" create "features.$S" "$1" || fail "cannot create features.$S"
}

# node_ctl stop|start I: stop or start node I of the cluster
node_ctl() {
	tools/kafka.sh "$1-node" "$2" --dir "$KAFKA_DIR" 2>>"$T/cluster.log" || fail "$1 node $2"
}

# keep the logs of a failed test for a look (KEEP_LOGS=DIR)
if [ -n "${KEEP_LOGS:-}" ]; then
	eval "orig_$(declare -f fail)"
	fail() { rm -rf "$KEEP_LOGS"; cp -r "$T" "$KEEP_LOGS"; orig_fail "$@"; }
fi
