#!/usr/bin/env bash
# The default model (score.model = models/default.model, relative) is found
# wherever botwatch runs from: beside the build tree, and after `make install`
# under PREFIX/share/botwatch; with neither, the error names every place
# looked in. Every command here runs from a scratch directory, not the repo.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
BIN=$ROOT/$BUILD/botwatch
DEMO=$ROOT/data/demo/posts.ndjson.gz
T=$(mktemp -d /tmp/bw_model_path.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "model_path: $*" >&2; exit 1; }
ok() { echo "  ok: $*"; }
KAFKA_FAST=(--set kafka.session.timeout.ms=6000 --set kafka.heartbeat.interval.ms=500)

# reference: from the repo root, the model named explicitly
timeout 60 "$BIN" replay --model models/default.model --out "$T/want.ndjson" "$DEMO" 2>"$T/want.log" ||
	fail "replay from the repo root: exit $?"
[ "$(wc -l <"$T/want.ndjson")" -eq 108 ] || fail "reference replay wrote $(wc -l <"$T/want.ndjson") records"

mkdir -p "$T/elsewhere"
cd "$T/elsewhere"

# 1. the build tree's binary, run from elsewhere on the default score.model
timeout 60 "$BIN" replay --out "$T/got.ndjson" "$DEMO" 2>"$T/got.log" || fail "replay from elsewhere: $(cat "$T/got.log")"
cmp -s "$T/got.ndjson" "$T/want.ndjson" || fail "replay from elsewhere scored differently"
ok "replay from another directory uses the build tree's models/default.model"
timeout 60 "$BIN" eval --posts "$DEMO" --labels "$ROOT/data/demo/labels.csv" >"$T/eval.json" 2>"$T/eval.log" ||
	fail "eval from elsewhere: $(cat "$T/eval.log")"
grep -q '"model_version":"sha256:' "$T/eval.json" || fail "eval printed no model version"
ok "eval from another directory"

# 2. make install into a staging directory; the installed binary finds its own data
make -C "$ROOT" --no-print-directory -s install BUILD="$BUILD" DESTDIR="$T/stage" PREFIX=/opt/bw >"$T/install.log" 2>&1 ||
	fail "make install: $(tail -5 "$T/install.log")"
for f in bin/botwatch share/botwatch/models/default.model share/botwatch/botwatch.conf \
	share/botwatch/data/demo/posts.ndjson.gz share/botwatch/data/demo/README.md \
	share/doc/botwatch/CONFIG.md share/doc/botwatch/README.md; do
	[ -e "$T/stage/opt/bw/$f" ] || fail "make install did not install $f"
done
IBIN=$T/stage/opt/bw/bin/botwatch
timeout 60 "$IBIN" replay --out "$T/inst.ndjson" "$DEMO" 2>"$T/inst.log" || fail "installed replay: $(cat "$T/inst.log")"
cmp -s "$T/inst.ndjson" "$T/want.ndjson" || fail "installed replay scored differently"
ok "installed binary (DESTDIR staging, PREFIX=/opt/bw) finds share/botwatch/models/default.model"
# `run` with nothing configured: the installed demo sample and model
timeout 90 "$IBIN" run --exit-when-idle --listen 127.0.0.1:0 --store "$T/store" \
	--set "features.state_dir=$T/state" "${KAFKA_FAST[@]}" 2>"$T/run.log" ||
	fail "installed run: $(grep -v CONFWARN "$T/run.log" | tail -3)"
grep -q "ingesting the demo sample $T/stage/opt/bw/share/botwatch/data/demo/posts.ndjson.gz" "$T/run.log" ||
	fail "run did not take the installed demo sample"
grep -q '108 accounts scored' "$T/run.log" || fail "run: $(grep 'accounts scored' "$T/run.log")"
ok "installed run on its defaults (demo sample and model found under the prefix)"

# 3. a lone copy of the binary with no model anywhere: one clear line naming every place
mkdir -p "$T/lone/bin"
cp "$BIN" "$T/lone/bin/botwatch"
set +e
timeout 60 "$T/lone/bin/botwatch" replay --out "$T/none.ndjson" "$DEMO" 2>"$T/none.log"
rc=$?
set -e
[ $rc -eq 1 ] || fail "no model: exit $rc, want 1"
msg=$(grep '"level":"error".*"msg":"score.model' "$T/none.log") || fail "no error line: $(cat "$T/none.log")"
for place in "$T/elsewhere/models/default.model" "$T/lone/bin/../models/default.model" \
	"$T/lone/bin/../share/botwatch/models/default.model"; do
	case $msg in *"$place"*) ;; *) fail "error does not name $place: $msg" ;; esac
done
ok "no model anywhere: $msg"
# serve starts without a model and says why the model routes answer 503
"$T/lone/bin/botwatch" serve --store "$T/store" --listen 127.0.0.1:0 --port-file "$T/port" 2>"$T/serve.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || fail "serve did not start: $(cat "$T/serve.log")"
grep -q 'score.model models/default.model not found; looked in: .*answer 503' "$T/serve.log" ||
	fail "serve did not explain the missing model: $(cat "$T/serve.log")"
ok "serve without a model warns with the places looked in"
