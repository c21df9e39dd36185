#!/usr/bin/env bash
# tools/pyvenv.sh: the Python environment the tests use, in $BUILD/pyvenv: the
# pinned packages of tools/requirements-test.txt (botometer-python and the
# tweepy 3.x it needs, pandas for the client's DataFrame export) and the
# repository's own client (clients/python), installed with pip as a user would.
# Prints the venv's python on stdout. Runs pip only when the requirements or
# the client changed since the last install (a stamp holds their hash).
# Fails loudly (exit 1, the pip output on stderr) when pip cannot install
# them, e.g. without access to the package index: the tests that need them
# must fail, not skip.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
VENV=$PWD/$BUILD/pyvenv
[[ $BUILD = /* ]] && VENV=$BUILD/pyvenv
REQ=tools/requirements-test.txt
PY=${PYTHON:-python3}

hash=$(cat "$REQ" $(find clients/python -type f -not -path '*/__pycache__/*' \
	-not -path '*.egg-info*' -not -path '*/build/*' | sort) | sha256sum | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.stamp" 2>/dev/null)" = "$hash" ]; then
	echo "$VENV/bin/python"
	exit 0
fi
log=$(mktemp /tmp/bw_pyvenv_XXXXXX)
trap 'rm -f "$log"' EXIT
rm -rf "$VENV"
if ! "$PY" -m venv "$VENV" >"$log" 2>&1; then
	cat "$log" >&2
	echo "pyvenv: cannot create $VENV with $PY (Debian: python3-venv)" >&2
	exit 1
fi
if ! "$VENV/bin/pip" install --disable-pip-version-check -q -r "$REQ" >"$log" 2>&1 ||
	! "$VENV/bin/pip" install --disable-pip-version-check -q ./clients/python >>"$log" 2>&1; then
	cat "$log" >&2
	echo "pyvenv: pip could not install $REQ and clients/python into $VENV" >&2
	exit 1
fi
rm -rf clients/python/build clients/python/*.egg-info
echo "$hash" >"$VENV/.stamp"
echo "$VENV/bin/python"
