#!/usr/bin/env bash
# The Python binding end to end:
#   1. `maturin build` makes the abi3 wheel (bindings-python/);
#   2. a fresh venv gets the wheel from the file plus the example's requirements from PyPI;
#   3. the binding's pytest suite (python-socketio's AsyncClient and npm socket.io-client
#      against python-socketio itself and polysocket served three ways) and `mypy --strict`;
#   4. the FastAPI chat example and its tests, on python-socketio as written, then with
#      `import socketio` changed to `import polysocket as socketio` in app.py, then in the
#      tests (the client) too.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

.venv/bin/pip install -q --disable-pip-version-check -r bindings-python/requirements-dev.txt
rm -rf target/wheels-python
.venv/bin/maturin build --release -q -m bindings-python/Cargo.toml -o target/wheels-python
wheel=$(ls target/wheels-python/polysocket-*.whl)
echo "python-binding: built $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install -q --disable-pip-version-check "$wheel" \
  -r examples/python-fastapi-chat/requirements.txt -r bindings-python/requirements-dev.txt
# The installed wheel, not the source tree, is what the tests import.
(cd "$work" && "$py" -c 'import polysocket, polysocket._native as n; print("python-binding: installed", polysocket.__file__)')

echo "== binding tests"
(cd bindings-python && "$py" -m pytest -q -p no:cacheprovider tests)

echo "== mypy --strict"
(cd bindings-python && "$py" -m mypy --cache-dir=/dev/null)

echo "== FastAPI chat example on python-socketio"
cp -r examples/python-fastapi-chat "$work/chat-reference"
(cd "$work/chat-reference" && "$py" -m pytest -q -p no:cacheprovider)

echo "== FastAPI chat example on polysocket (the import line changed)"
cp -r examples/python-fastapi-chat "$work/chat-polysocket"
sed -i 's/^import socketio$/import polysocket as socketio/' "$work/chat-polysocket/app.py"
grep -q '^import polysocket as socketio$' "$work/chat-polysocket/app.py"
(cd "$work/chat-polysocket" && "$py" -m pytest -q -p no:cacheprovider)

echo "== FastAPI chat example on polysocket, its tests' client too"
cp -r examples/python-fastapi-chat "$work/chat-both"
sed -i 's/^import socketio$/import polysocket as socketio/' "$work/chat-both/app.py" "$work/chat-both/test_chat.py"
grep -q '^import polysocket as socketio$' "$work/chat-both/test_chat.py"
(cd "$work/chat-both" && "$py" -m pytest -q -p no:cacheprovider)
echo "python-binding: all passes ok ($root)"
