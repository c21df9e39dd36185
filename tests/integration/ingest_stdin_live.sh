#!/usr/bin/env bash
# stdin and pipes are read as data arrives: each line written to a pipe that
# stays open reaches Kafka before the next one is written (`tail -f x.ndjson |
# botwatch ingest --source -`), gzip on a pipe likewise (flushed per line), and
# closing the pipe ends the run with exit 0.
source "$(dirname "$0")/lib/ingest.bash"

line() { # id account
	printf '{"id_str":"%d","created_at":"Mon Jan 02 10:00:00 +0000 2023","text":"post %d","user":{"id_str":"%d","screen_name":"u%d"}}\n' "$1" "$1" "$2" "$2"
}

# count_in TOPIC N: wait until TOPIC holds N posts (fails after 10 s)
count_in() {
	timeout 20 "$KCONSUME" -b "$BROKER" -t "$1" --list -n "$2" --idle-ms 10000 --timeout-ms 10000 \
		>"$T/got.raw" 2>"$T/kc.err" || fail "$1 holds $(wc -l <"$T/got.raw") post(s), expected $2 while the pipe is open"
}

# start_pipe TOPIC: ingest reading stdin from the fifo $T/pipe, whose write end
# is fd 3 of this shell (opened read-write first so neither open blocks; the
# child does not inherit it, so closing fd 3 is the end of its input)
start_pipe() {
	rm -f "$T/pipe"; mkfifo "$T/pipe"
	exec 3<>"$T/pipe"
	"$BW" ingest --source - --brokers "$BROKER" --topic "$1" --set ingest.lag_groups= \
		<"$T/pipe" 3>&- >"$T/ingest.out" 2>"$T/ingest.err" &
	IPID=$!
	PIDS+=($IPID)
}

start_broker 1
start_pipe posts.live
for i in 1 2 3; do
	line $((7000 + i)) $((40 + i)) >&3
	count_in posts.live "$i"
	grep -q "^$((7000 + i)) " "$T/got.raw" || fail "post $i: $(cat "$T/got.raw")" # any partition
done
ok "three lines written one at a time to an open pipe each reached Kafka before the next was written"
exec 3>&-
wait "$IPID"; ISTATUS=$?
[ "$ISTATUS" -eq 0 ] || fail "ingest exited $ISTATUS at the end of the pipe: $(tail -2 "$T/ingest.err")"
grep -q 'botwatch ingest: 3 post(s), 0 dead-lettered' "$T/ingest.err" || fail "summary: $(tail -1 "$T/ingest.err")"
ok "closing the pipe ends the run: exit 0, 3 posts"

# gzip arriving on a pipe, one sync-flushed line at a time
start_pipe posts.gz
coproc GZ { python3 -c '
import sys, zlib
z = zlib.compressobj(6, zlib.DEFLATED, 31)
out = sys.stdout.buffer
for l in sys.stdin.buffer:
    out.write(z.compress(l) + z.flush(zlib.Z_SYNC_FLUSH)); out.flush()
out.write(z.flush()); out.flush()
' >&3; }
exec 3>&-
for i in 1 2; do
	line $((8000 + i)) $((50 + i)) >&"${GZ[1]}"
	count_in posts.gz "$i"
done
ok "gzip on a pipe: each sync-flushed line reached Kafka before the next was written"
exec {GZ[1]}>&-
wait "$GZ_PID" 2>/dev/null
wait "$IPID"; ISTATUS=$?
[ "$ISTATUS" -eq 0 ] || fail "gzip pipe: ingest exited $ISTATUS: $(tail -2 "$T/ingest.err")"
grep -q 'botwatch ingest: 2 post(s), 0 dead-lettered' "$T/ingest.err" || fail "gzip summary: $(tail -1 "$T/ingest.err")"
ok "gzip pipe ends cleanly at the gzip trailer: exit 0, 2 posts"

# a gzip pipe cut before its trailer is an error, as for a truncated file
head -c 60 < <(line 9001 60 | gzip -c) | "$BW" ingest --source - --brokers "$BROKER" --topic posts.cut \
	--set ingest.lag_groups= >/dev/null 2>"$T/cut.err" && fail "a truncated gzip pipe exited 0"
grep -q 'truncated gzip input' "$T/cut.err" || fail "truncated gzip pipe: $(tail -2 "$T/cut.err")"
ok "a gzip pipe cut before its trailer fails with 'truncated gzip input'"
