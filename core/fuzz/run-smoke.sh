#!/usr/bin/env bash
# Smoke-runs every fuzz target for a few seconds on a scratch copy of its seed corpus.
#
#   core/fuzz/run-smoke.sh [seconds]      (default 30 per target)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
# Exits non-zero if any target crashes (its reproducer is left in core/fuzz/artifacts/).
set -uo pipefail

SECONDS_PER_TARGET="${1:-30}"
if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || [ "$SECONDS_PER_TARGET" -eq 0 ]; then
    echo "usage: $0 [seconds]" >&2
    exit 2
fi

FUZZ_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CORE_DIR="$(dirname "$FUZZ_DIR")"
TARGETS=(engineio_payload socketio_packet socketio_msgpack websocket_frames)

WORK="$(mktemp -d "${TMPDIR:-/tmp}/polysocket-fuzz.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

cd "$CORE_DIR" || exit 2

# Build once up front so that a compile error is reported as such, not as a crash.
if ! cargo +nightly fuzz build >"$WORK/build.log" 2>&1; then
    cat "$WORK/build.log" >&2
    echo "fuzz: build failed" >&2
    exit 2
fi

status=0
summary=()
for target in "${TARGETS[@]}"; do
    corpus="$WORK/corpus/$target"
    mkdir -p "$corpus"
    cp "$FUZZ_DIR/corpus/$target"/seed-* "$corpus"/
    log="$WORK/$target.log"
    echo "running fuzz target $target for ${SECONDS_PER_TARGET}s..." >&2
    cargo +nightly fuzz run "$target" "$corpus" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 >"$log" 2>&1
    rc=$?
    runs="$(grep -Eo 'Done [0-9]+ runs' "$log" | tail -n 1 | grep -Eo '[0-9]+')"
    if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
        summary+=("fuzz $target: ok ($runs runs)")
    else
        status=1
        # The panic message (the backtrace after it is long), then libFuzzer's crash report.
        grep -A 3 -m 1 'panicked at' "$log" >&2
        grep -B 2 -A 1 -E '^SUMMARY: libFuzzer|Test unit written to' "$log" >&2
        artifact="$(grep -Eo 'Test unit written to [^ ]+' "$log" | tail -n 1 | sed 's/Test unit written to //')"
        summary+=("fuzz $target: FAILED (exit $rc${artifact:+, reproducer: $artifact})")
    fi
done

for line in "${summary[@]}"; do
    echo "$line"
done
exit "$status"
