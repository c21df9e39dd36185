#!/usr/bin/env bash
# Files and stdin replay through Kafka and end at EOF: every good line becomes
# a post, exactly the bad lines reach the DLQ with their reasons, gzip is
# read, and kcat reads back what ingest wrote.
source "$(dirname "$0")/lib/ingest.bash"

start_broker 3
f=$T/in.ndjson
for i in $(seq 1 400); do
	printf '{"id_str":"%d","created_at":"Mon Jan 02 10:00:%02d +0000 2023","text":"post %d","user":{"id_str":"%d","screen_name":"u%d","followers_count":%d}}\n' \
		$((5000 + i)) $((i % 60)) "$i" $((900 + i % 17)) $((i % 17)) "$i"
	case $i in
	100) echo '{"id_str": "broken", "text": ' ;;
	200) printf '{"pad":"%s"}\n' "$(head -c 3000 /dev/zero | tr '\0' x)" ;;
	300) echo 'not json at all' ;;
	esac
done >"$f"

timeout 60 "$BW" ingest --source "$f" --brokers "$BROKER" --set ingest.max_line_bytes=2048 \
	--set ingest.lag_groups= >"$T/ingest.out" 2>"$T/ingest.err" || fail "file ingest exited $?: $(tail -2 "$T/ingest.err")"
grep -q 'botwatch ingest: 400 post(s), 3 dead-lettered' "$T/ingest.err" || fail "file summary: $(tail -1 "$T/ingest.err")"
ok "file ends at EOF with exit 0: 400 posts, 3 dead-lettered"

seq 5001 5400 | sort >"$T/want"
consume_ids posts 400
cmp -s "$T/want" "$T/got" || fail "posts from the file differ"
timeout 30 "$KCONSUME" -b "$BROKER" -t posts.dlq --raw -n 3 --idle-ms 2000 >"$T/dlq" 2>"$T/kc.err" || fail "DLQ: $(cat "$T/kc.err")"
[ "$(grep -c '"reason":"invalid_json"' "$T/dlq")" -eq 2 ] && [ "$(grep -c '"reason":"too_large"' "$T/dlq")" -eq 1 ] \
	|| fail "DLQ reasons: $(cat "$T/dlq")"
grep -q '"line":101' "$T/dlq" && grep -q '"line":202' "$T/dlq" && grep -q '"line":303' "$T/dlq" || fail "DLQ records do not name their lines: $(cat "$T/dlq")"
ok "DLQ holds exactly the 3 bad lines (2 invalid_json, 1 too_large) with their line numbers"

# kcat reads what ingest wrote: keys are the account ids
timeout 30 kcat -C -b "$BROKER" -t posts -e -q -f '%k\n' >"$T/keys" 2>"$T/kcat.err" || fail "kcat: $(cat "$T/kcat.err")"
[ "$(wc -l <"$T/keys")" -eq 400 ] || fail "kcat read $(wc -l <"$T/keys") messages, expected 400"
[ "$(sort -u "$T/keys" | wc -l)" -eq 17 ] || fail "kcat keys are not the 17 account ids"
grep -qvx '9[0-9][0-9]' "$T/keys" && fail "a key is not an account id"
ok "kcat -C -b <broker> -t posts -e reads the 400 messages, keyed by account id"

# stdin and gzip
gzip -c "$f" >"$f.gz"
timeout 60 "$BW" ingest --source - --topic posts.stdin --brokers "$BROKER" --set ingest.max_line_bytes=2048 \
	--set ingest.lag_groups= <"$f.gz" >"$T/ingest.out" 2>"$T/ingest.err" || fail "stdin ingest exited $?"
grep -q 'botwatch ingest: 400 post(s), 3 dead-lettered' "$T/ingest.err" || fail "stdin summary: $(tail -1 "$T/ingest.err")"
consume_ids posts.stdin 400
cmp -s "$T/want" "$T/got" || fail "posts from gzip stdin differ"
ok "gzip on stdin: the same 400 posts"

# ingest.format: forced v2, every v1.1 line is dead-lettered as wrong_format naming it
timeout 60 "$BW" ingest --source "$f" --format v2 --topic posts.fmt --set ingest.dlq_topic=posts.fmt.dlq \
	--brokers "$BROKER" --set ingest.max_line_bytes=2048 --set ingest.lag_groups= \
	>"$T/ingest.out" 2>"$T/ingest.err" || fail "--format v2 ingest exited $?: $(tail -2 "$T/ingest.err")"
grep -q 'botwatch ingest: 0 post(s), 403 dead-lettered' "$T/ingest.err" || fail "--format v2 summary: $(tail -1 "$T/ingest.err")"
timeout 30 "$KCONSUME" -b "$BROKER" -t posts.fmt.dlq --raw -n 403 --idle-ms 2000 >"$T/dlq.fmt" 2>"$T/kc.err" || fail "DLQ: $(cat "$T/kc.err")"
[ "$(grep -c '"reason":"wrong_format","detail":"ingest.format is v2: expected a v2 stream line, page or tweet, got a v1.1 status"' "$T/dlq.fmt")" -eq 400 ] \
	|| fail "wrong_format records: $(head -c 600 "$T/dlq.fmt")"
ok "--format v2 on a v1.1 file: 400 wrong_format records naming the format, 0 posts"

# a missing file is a clear one-line error
"$BW" ingest --source "$T/nope.ndjson" --brokers "$BROKER" --set ingest.lag_groups= >"$T/o" 2>"$T/e"
[ $? -eq 1 ] && grep -q 'nope.ndjson' "$T/e" || fail "missing file: $(cat "$T/e")"
"$BW" ingest --brokers "$BROKER" >"$T/o" 2>"$T/e"
[ $? -eq 2 ] || fail "no --source should be a usage error"
ok "missing file exits 1 naming it; no --source exits 2"
