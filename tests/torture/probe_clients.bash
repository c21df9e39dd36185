# Hostile clients of the API (issue 20, item 4), sourced by tests/torture/torture.sh:
# `botwatch serve` with a token on a small store (tests/tools/bw_mkstore), its
# default limits, attacked by tests/torture/hostile_clients.py (oversized ids and
# bodies, million-id batches, malformed JSON, wrong methods and tokens,
# pipelining, header floods) while tests/integration/slow_clients.py holds idle
# and slowloris connections. Each attack must get its 4xx (or a close), /healthz
# must answer within 2 s throughout, RSS before/peak/after is printed and its
# growth bounded, and no log line may hold a token. The token comparison itself
# is SHA-256 of both sides then CRYPTO_memcmp (api/api_routes.c, authorized()).
# Uses torture.sh's row, log, $BUILD, $BW, $T, $QUICK, ALLPIDS.

probe_clients() {
	local d=$T/clients i rc out tok
	log "clients: hostile API clients"
	mkdir -p "$d"
	"$BUILD/tests/bw_mkstore" "$d/store" 100 5000 0 16 >/dev/null || { row clients/api - - - - FAIL "bw_mkstore"; return; }
	tok=torture-$RANDOM$RANDOM-secret-token
	BOTWATCH_API_TOKEN=$tok "$BW" serve --store "$d/store" --listen 127.0.0.1:0 \
		--set store.map_size_mb=16 --port-file "$d/port" 2>"$d/serve.log" &
	local spid=$!
	ALLPIDS+=($spid)
	for ((i = 0; i < 100; i++)); do [ -s "$d/port" ] && break; sleep 0.1; done
	if [ $QUICK -eq 1 ]; then
		set -- --idle 1000 --slow 100 --seconds 5
	else
		set -- --idle 10000 --slow 1100 --seconds 20
	fi
	out=$(python3 tests/torture/hostile_clients.py "$(cat "$d/port")" "$spid" "$d/serve.log" "$tok" "$@" 2>"$d/fail")
	rc=$?
	local crashes=0
	kill -0 "$spid" 2>/dev/null || crashes=1
	kill -TERM "$spid" 2>/dev/null; wait "$spid"; local src=$?
	[ $src -eq 0 ] || { [ $src -gt 128 ] && [ $src -ne 143 ] && crashes=1; log "serve exited $src"; rc=1; }
	[ -s "$d/fail" ] && log "clients/api: $(head -5 "$d/fail" | tr '\n' ';')"
	row clients/api "$(grep -o '^[0-9]* requests' <<<"$out" | grep -o '[0-9]*')" - - "$crashes" \
		"$([ $rc -eq 0 ] && [ $crashes -eq 0 ] && echo pass || echo FAIL)" "$out"
}
