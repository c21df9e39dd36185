#!/usr/bin/env bash
# systemd_units: `make install` puts complete systemd units in place — botwatch.service
# (`run`), one unit per stage (ingest, features, score, serve), botwatch-stages.target
# and the sysusers.d entry of the botwatch user — with the installed paths filled in.
# Each service runs as User=botwatch with StateDirectory=botwatch and a restart policy;
# the units that handle SIGHUP (run, score, serve) reload with it, the others do not
# (SIGHUP would end them); every ExecStart names a real subcommand and only settings
# botwatch accepts (checked with `botwatch config --dump` on the same arguments);
# systemd-analyze verify finds nothing to say; `make uninstall` removes them.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
fail() { echo "systemd_units: $*" >&2; exit 1; }
T=$(mktemp -d /tmp/bw_units_XXXXXX)
trap 'rm -rf "$T"' EXIT
P=$T/prefix
make --no-print-directory -s install BUILD="$BUILD" PREFIX="$P" >"$T/install.log" 2>&1 ||
	fail "make install: $(tail -n 5 "$T/install.log")"
U=$P/lib/systemd/system
[ -s "$P/lib/sysusers.d/botwatch.conf" ] || fail "no sysusers.d entry"
grep -q '^u botwatch ' "$P/lib/sysusers.d/botwatch.conf" || fail "sysusers: no botwatch user"

for unit in botwatch botwatch-ingest botwatch-features botwatch-score botwatch-serve; do
	f=$U/$unit.service
	[ -s "$f" ] || fail "$unit.service not installed"
	grep -q '@[A-Z]*DIR@' "$f" && fail "$unit: placeholder left: $(grep '@[A-Z]*DIR@' "$f")"
	for key in 'User=botwatch' 'Group=botwatch' 'StateDirectory=botwatch' 'Restart=on-failure' \
		'RestartSec=' 'ConfigurationDirectory=botwatch' 'WantedBy='; do
		grep -q "^$key" "$f" || fail "$unit: no $key"
	done
	# ExecStart, continuation lines joined, %S as systemd expands it
	cmd=$(awk '/^ExecStart=/ { on = 1; sub(/^ExecStart=/, "") } on { c = sub(/\\$/, ""); print; if (!c) exit }' "$f" |
		tr '\n\t' '  ' |
		sed "s|%S|$T/var|g; s|/etc/botwatch/botwatch.conf|$P/share/botwatch/botwatch.conf|")
	read -r -a argv <<<"$cmd"
	[ "${argv[0]}" = "$P/bin/botwatch" ] || fail "$unit: ExecStart runs ${argv[0]}"
	sub=${argv[1]}
	"${argv[0]}" "$sub" --help >/dev/null 2>&1 || fail "$unit: 'botwatch $sub' is not a command"
	"${argv[0]}" config --dump "${argv[@]:2}" >"$T/$unit.conf" 2>"$T/$unit.err" ||
		fail "$unit: ExecStart settings refused: $(cat "$T/$unit.err")"
	case $sub in
	run | score | serve)
		grep -q '^ExecReload=/bin/kill -HUP \$MAINPID' "$f" || fail "$unit: no SIGHUP reload" ;;
	*)
		grep -q '^ExecReload=' "$f" && fail "$unit: ExecReload would send a signal it does not handle" ;;
	esac
	echo "  ok: $unit.service: botwatch $sub as botwatch, state in /var/lib/botwatch, restart on failure"
done
grep -q "^store.path = $T/var/botwatch/store" "$T/botwatch-serve.conf" || fail "serve: store.path: $(grep store.path "$T/botwatch-serve.conf")"
grep -q "^store.path = $T/var/botwatch/store" "$T/botwatch-score.conf" || fail "score and serve disagree on the store"
grep -q "^features.state_dir = $T/var/botwatch/state" "$T/botwatch-features.conf" || fail "features: state_dir"
[ -s "$U/botwatch-stages.target" ] || fail "no botwatch-stages.target"
for s in ingest features score serve; do
	grep -q "botwatch-$s.service" "$U/botwatch-stages.target" || fail "the target does not want botwatch-$s"
done

if command -v systemd-analyze >/dev/null; then
	(cd "$T" && systemd-analyze verify "$U"/*.service "$U"/*.target) >"$T/verify.log" 2>&1 ||
		fail "systemd-analyze verify: $(cat "$T/verify.log")"
	[ ! -s "$T/verify.log" ] || fail "systemd-analyze verify: $(cat "$T/verify.log")"
	echo "  ok: systemd-analyze verify: no complaint"
else
	echo "  (systemd-analyze not installed: unit syntax not verified)"
fi
make --no-print-directory -s uninstall BUILD="$BUILD" PREFIX="$P" >/dev/null
[ -z "$(ls "$U")" ] && [ ! -e "$P/lib/sysusers.d/botwatch.conf" ] || fail "make uninstall left $(ls "$U")"
echo "systemd_units: ok"
