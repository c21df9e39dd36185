#!/usr/bin/env bash
# Mastodon live from several servers at once (docs/INGEST.md, "Mastodon"): one
# `botwatch ingest` per server's /api/v1/streaming/public, with a bearer token,
# into the same topic; each reconnects after a drop on its own, and the topic
# holds every status either server completed, once.
source "$(dirname "$0")/lib/ingest.bash"

start_broker 3
declare -a FH_PORT FH_LOG ING
for s in 1 2; do
	rm -f "$T/port"
	"$FIREHOSE" --framing sse --plan '200,send=150,ctrl,then=dropmid;200,send=120,then=hold' \
		--first-id $((s * 1000000)) --accounts 30 --port-file "$T/port" --log "$T/fh$s.log" &
	PIDS+=($!)
	wait_for "$T/port"
	FH_PORT[$s]=$(cat "$T/port")
done
for s in 1 2; do
	BOTWATCH_INGEST_BEARER_TOKEN=token$s "$BW" ingest --source "http://127.0.0.1:${FH_PORT[$s]}/api/v1/streaming/public" \
		--brokers "$BROKER" --topic posts.masto --set ingest.lag_groups= "${FAST[@]}" \
		>"$T/ingest$s.out" 2>"$T/ingest$s.err" &
	ING[$s]=$!
	PIDS+=(${ING[$s]})
done
for s in 1 2; do
	for _ in $(seq 200); do grep -q 'conn=2 completed' "$T/fh$s.log" && break; sleep 0.05; done
	grep -q 'conn=2 completed' "$T/fh$s.log" || fail "server $s: no second connection"
	grep -q 'conn=1 request GET /api/v1/streaming/public auth=Bearer' "$T/fh$s.log" || fail "server $s: no bearer token"
done
sleep 0.5
for s in 1 2; do
	kill -TERM "${ING[$s]}"
	wait "${ING[$s]}" || fail "ingest $s exited $? after SIGTERM"
done
ok "two servers, one ingest each with its bearer token; each reconnected after its drop"
cat "$T/fh1.log" "$T/fh2.log" | awk '$3 == "completed" { split($4, r, "-"); for (i = r[1]; i <= r[2]; i++) print i }' | sort >"$T/want"
n=$(wc -l <"$T/want")
[ "$n" -eq 540 ] || fail "servers completed $n statuses, expected 540"
consume_ids posts.masto "$n"
cmp -s "$T/want" "$T/got" || { diff "$T/want" "$T/got" | head >&2; fail "statuses in Kafka differ from those completed"; }
ok "the topic holds the $n statuses both servers completed, each once"
