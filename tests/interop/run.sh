#!/usr/bin/env bash
# Run both interop suites (Node, then Python) against the server under test.
# Installs nothing: see tests/interop/README.md for the one-time setup.
#   POLYSOCKET_INTEROP_SERVER=/path/to/server  (unset: node tests/interop/reference-server.js)
#   PYTHON=/path/to/python                       (default: python3)
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
PYTHON="${PYTHON:-python3}"

if [ ! -d "$here/node_modules/socket.io-client" ]; then
  echo "run.sh: $here/node_modules is missing; run: (cd tests/interop && npm ci)" >&2
  exit 2
fi
echo "interop: server under test: ${POLYSOCKET_INTEROP_SERVER:-node tests/interop/reference-server.js}"

status=0
echo "== Node suite (socket.io-client) =="
node --test tests/interop/node/ || status=1

echo "== Python suite (python-socketio) =="
"$PYTHON" -m pytest -q tests/interop/python || status=1

if [ "$status" -ne 0 ]; then
  echo "interop: FAILED" >&2
else
  echo "interop: all suites passed"
fi
exit "$status"
