#!/usr/bin/env bash
# (e) Transactions and zombie fencing. A features worker and a scoring worker
# with instance ids commit their output and offsets in Kafka transactions
# (transactional.id <group>.<instance>); the records equal replay's. Then the
# features worker is frozen (SIGSTOP) — a zombie — and a new process is
# started under the same instance id: its init_transactions fences the old
# epoch. Thawed (SIGCONT), the zombie's next transactional step is refused:
#
# once it rejoins and gets input, it stops with a non-zero status saying it was fenced, while the new one
# goes on and the records stay replay's.
source "$(dirname "$0")/lib/kafka.bash"
expected
make_topics 4
FEATS=("${NAMES[@]}" --set features.batch_ms=50 --set features.instance_id=w1)

"$BW" features "${FEATS[@]}" --set "features.state_dir=$T/stateA" 2>"$T/featuresA.log" &
A=$!
PIDS+=($A)
"$BW" score "${NAMES[@]}" --set score.instance_id=s1 --set "store.path=$T/store" \
	2>"$T/score.log" &
PIDS+=($!)
for ((i = 0; i < 300; i++)); do
	grep -aq '"features: assigned [1-9]' "$T/featuresA.log" &&
		grep -aq 'committed in transactions' "$T/score.log" && break
	sleep 0.1
done
grep -aq 'committed in transactions (transactional.id f\.' "$T/featuresA.log" ||
	fail "the features worker is not transactional"
grep -aq 'committed in transactions (transactional.id s\.' "$T/score.log" ||
	fail "the scoring worker is not transactional"
timeout -k 5 60 "$BW" ingest "${NAMES[@]}" --source "$DEMO" 2>"$T/ingest.log" || fail "ingest exit $?"
for ((i = 0; i < 60; i++)); do # serve opens the store once it holds a record
	"$BW" serve --store "$T/store" --listen 127.0.0.1:0 --port-file "$T/port" 2>"$T/serve.log" &
	PIDS+=($!)
	for ((j = 0; j < 20; j++)); do [ -s "$T/port" ] && break 2; sleep 0.1; done
	sleep 1
done
wait_for "$T/port"
poll_export "http://127.0.0.1:$(cat "$T/port")" 60 "$T/expected.ndjson"
ok "transactional features and score workers: the replay's $N_EXPECTED records"

kill -STOP $A
"$BW" features "${FEATS[@]}" --set "features.state_dir=$T/stateB" 2>"$T/featuresB.log" &
NEWB=$!
PIDS+=($NEWB)
for ((i = 0; i < 600; i++)); do
	grep -aq 'committed in transactions' "$T/featuresB.log" && break
	sleep 0.1
done
grep -aq 'committed in transactions' "$T/featuresB.log" || fail "the new instance did not start its transactions"
ok "a second process under instance id w1 initialised its transactions (the first is frozen)"
# more input for the new instance while the zombie sleeps past its session
timeout -k 5 60 "$BW" ingest "${NAMES[@]}" --source "$DEMO" 2>"$T/ingest2.log" || fail "ingest exit $?"
sleep 8
kill -CONT $A
# thawed, the zombie rejoins the group and gets partitions back; the next
# input makes it produce and commit, which the cluster refuses
for ((i = 0; i < 300; i++)); do
	[ "$(grep -ac '"features: assigned [1-9]' "$T/featuresA.log")" -ge 2 ] && break
	kill -0 $A 2>/dev/null || break
	sleep 0.1
done
timeout -k 5 60 "$BW" ingest "${NAMES[@]}" --source "$DEMO" 2>"$T/ingest3.log" || fail "ingest exit $?"
wait_exit $A 60
[ "$RC" -ne 0 ] || fail "the zombie exited 0"
grep -aq 'fenced' "$T/featuresA.log" || fail "the zombie did not say it was fenced: $(tail -2 "$T/featuresA.log")"
ok "the zombie was fenced: exit $RC, '$(grep -ao 'fenced[^"]*' "$T/featuresA.log" | head -1)'"
kill -0 $NEWB 2>/dev/null || fail "the new instance stopped"
poll_export "http://127.0.0.1:$(cat "$T/port")" 60 "$T/expected.ndjson"
ok "the new instance goes on; the records are still the replay's"
