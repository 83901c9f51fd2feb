#!/usr/bin/env bash
# Runs the same load scenarios against polysocket, Node socket.io 4.8 and socketioxide in
# one invocation and prints a side-by-side markdown table of medians.
#
#   bench/run.sh                  # full: 3 runs per cell, 10k connect, 5 s per throughput run
#   QUICK=1 bench/run.sh          # quick: 1 run, fewer clients, 2 s
#   SCENARIOS="echo-ack broadcast" SERVERS="polysocket node" RUNS=5 bench/run.sh
#
# Server pinned to core 0, load generator to core 1 (2-core machine). Only 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")"
BENCH_DIR=$PWD

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  RUNS=${RUNS:-1}; DURATION=${DURATION:-2}
  CONNECT_CLIENTS=${CONNECT_CLIENTS:-2000}; ECHO_CLIENTS=${ECHO_CLIENTS:-50}
  BROADCAST_CLIENTS=${BROADCAST_CLIENTS:-200}; POLLING_CLIENTS=${POLLING_CLIENTS:-20}
else
  RUNS=${RUNS:-3}; DURATION=${DURATION:-5}
  CONNECT_CLIENTS=${CONNECT_CLIENTS:-10000}; ECHO_CLIENTS=${ECHO_CLIENTS:-50}
  BROADCAST_CLIENTS=${BROADCAST_CLIENTS:-1000}; POLLING_CLIENTS=${POLLING_CLIENTS:-20}
fi
SCENARIOS=${SCENARIOS:-"connect echo-ack broadcast slow-consumer polling-echo client-echo"}
# slow-consumer: 100 readers + 1 member of the room that never reads, 1 KiB broadcasts.
SLOW_CLIENTS=${SLOW_CLIENTS:-100}; SLOW_DURATION=${SLOW_DURATION:-16}
SERVERS=${SERVERS:-"polysocket node socketioxide"}
SERVER_CPU=${SERVER_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}

# Servers and load generator inherit this (the "ulimit -n" wrapper for node too).
ulimit -n "$(ulimit -Hn)"

export CARGO_TARGET_DIR=$BENCH_DIR/target
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  echo "== building (release) into $CARGO_TARGET_DIR" >&2
  nice cargo build --release --quiet
  echo "== npm ci (socket.io)" >&2
  (cd servers && npm ci --no-audit --no-fund --silent)
  (cd clients && npm ci --no-audit --no-fund --silent)
fi
BIN=$CARGO_TARGET_DIR/release
PYTHON=${PYTHON:-$BENCH_DIR/../.venv/bin/python}
NODE_VERSION=$(node --version)
SIO_VERSION=$(node -p 'require("./servers/node_modules/socket.io/package.json").version')

WORK=$(mktemp -d /tmp/polysocket-bench.XXXXXX)
RESULTS=$WORK/results.tsv
: >"$RESULTS"
SERVER_PID=

cleanup() {
  if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

server_cmd() {
  case $1 in
    polysocket) echo "$BIN/polysocket-server" ;;
    socketioxide) echo "$BIN/socketioxide-server" ;;
    node) echo "node $BENCH_DIR/servers/node-server.js" ;;
    # The same Node app with require("socket.io") swapped for polysocket's Node binding,
    # attached to the app's http.Server (build it first: npm --prefix bindings-node run build).
    polysocket-node) echo "env SOCKET_IO_MODULE=$BENCH_DIR/../bindings-node node $BENCH_DIR/servers/node-server.js" ;;
    # The same app on the binding, standalone (`new Server(port)`: the engine owns the port).
    polysocket-node-standalone) echo "env SOCKET_IO_MODULE=$BENCH_DIR/../bindings-node STANDALONE=1 node $BENCH_DIR/servers/node-server.js" ;;
    # python-socketio's AsyncServer, and the same app with `import polysocket as socketio`
    # (the Python binding, installed in the repo's .venv: scripts/python-binding.sh or
    # `maturin develop --release` in bindings-python/), served by aiohttp, by uvicorn, or
    # (polysocket only) by the engine's own listener.
    python-socketio-aiohttp) echo "env SOCKETIO_MODULE=socketio SERVING=aiohttp $PYTHON $BENCH_DIR/servers/python-server.py" ;;
    python-socketio-uvicorn) echo "env SOCKETIO_MODULE=socketio SERVING=uvicorn $PYTHON $BENCH_DIR/servers/python-server.py" ;;
    polysocket-python) echo "env SOCKETIO_MODULE=polysocket SERVING=serve $PYTHON $BENCH_DIR/servers/python-server.py" ;;
    polysocket-python-aiohttp) echo "env SOCKETIO_MODULE=polysocket SERVING=aiohttp $PYTHON $BENCH_DIR/servers/python-server.py" ;;
    polysocket-python-uvicorn) echo "env SOCKETIO_MODULE=polysocket SERVING=uvicorn $PYTHON $BENCH_DIR/servers/python-server.py" ;;
  esac
}

start_server() { # name -> sets SERVER_PID, PORT
  local log=$WORK/$1.log
  : >"$log"
  # shellcheck disable=SC2046
  PORT=0 taskset -c "$SERVER_CPU" $(server_cmd "$1") >"$log" 2>&1 &
  SERVER_PID=$!
  PORT=
  for _ in $(seq 1 300); do
    PORT=$(sed -n 's/^LISTENING \([0-9]*\).*/\1/p' "$log" | head -1)
    [[ -n $PORT ]] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if [[ -z $PORT ]]; then
    echo "server $1 did not start:" >&2; cat "$log" >&2
    return 1
  fi
  sleep 0.3 # let the idle RSS settle
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

loadgen_args() { # scenario
  case $1 in
    connect) echo "--clients $CONNECT_CLIENTS --server-pid $SERVER_PID" ;;
    echo-ack) echo "--clients $ECHO_CLIENTS --duration $DURATION --server-pid $SERVER_PID" ;;
    broadcast) echo "--clients $BROADCAST_CLIENTS --duration $DURATION --server-pid $SERVER_PID" ;;
    slow-consumer) echo "--clients $SLOW_CLIENTS --duration $SLOW_DURATION --payload 1024 --server-pid $SERVER_PID" ;;
    polling-echo) echo "--clients $POLLING_CLIENTS --duration $DURATION --server-pid $SERVER_PID" ;;
  esac
}

# client-echo compares the clients, not the servers: both run against polysocket-server,
# the polysocket client in loadgen and socket.io-client in Node, each pinned to the
# load generator's core.
client_cmd() {
  case $1 in
    polysocket) echo "$BIN/loadgen client-echo" ;;
    node) echo "node $BENCH_DIR/clients/node-client.js" ;;
  esac
}
CLIENT_ECHO_CLIENTS=${CLIENT_ECHO_CLIENTS:-50}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== results in $RESULTS (load average before: $LOAD_BEFORE)" >&2
for scenario in $SCENARIOS; do
  if [[ $scenario == client-echo ]]; then
    for run in $(seq 1 "$RUNS"); do
      for client in polysocket node; do
        start_server polysocket || continue
        # shellcheck disable=SC2046
        line=$(timeout 120 taskset -c "$LOADGEN_CPU" $(client_cmd "$client") --port "$PORT" \
          --clients "$CLIENT_ECHO_CLIENTS" --duration "$DURATION" --server-pid "$SERVER_PID" \
          2>>"$WORK/loadgen.log" | grep '^RESULT' || true)
        [[ -n $line ]] || line="RESULT scenario=client-echo error=no_result_or_timeout"
        printf '%s\t%s\n' "$client" "$line" >>"$RESULTS"
        echo "[client-echo run $run/$RUNS] client $client: ${line#RESULT }" >&2
        stop_server
        sleep 0.5
      done
    done
    continue
  fi
  for run in $(seq 1 "$RUNS"); do
    for server in $SERVERS; do
      start_server "$server" || { printf '%s\tRESULT scenario=%s error=start_failed\n' "$server" "$scenario" >>"$RESULTS"; continue; }
      # shellcheck disable=SC2046
      line=$(timeout 180 taskset -c "$LOADGEN_CPU" "$BIN/loadgen" "$scenario" --port "$PORT" \
        $(loadgen_args "$scenario") 2>>"$WORK/loadgen.log" | grep '^RESULT' || true)
      [[ -n $line ]] || line="RESULT scenario=$scenario error=no_result_or_timeout"
      printf '%s\t%s\n' "$server" "$line" >>"$RESULTS"
      echo "[$scenario run $run/$RUNS] $server: ${line#RESULT }" >&2
      stop_server
      sleep 0.5
    done
  done
done

echo
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')); server on core $SERVER_CPU, loadgen on core $LOADGEN_CPU; ulimit -n $(ulimit -n); somaxconn $(cat /proc/sys/net/core/somaxconn); node $NODE_VERSION, socket.io $SIO_VERSION, socketioxide 0.18.9"
echo "Load average before/after (other work on the machine shares both cores): $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Parameters: runs=$RUNS duration=${DURATION}s connect_clients=$CONNECT_CLIENTS echo_clients=$ECHO_CLIENTS broadcast_receivers=$BROADCAST_CLIENTS polling_clients=$POLLING_CLIENTS"
echo
"$BIN/loadgen" report "$RESULTS"
