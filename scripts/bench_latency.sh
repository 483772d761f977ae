#!/usr/bin/env bash
# bench_latency.sh — the intake latency benchmark of issue 17 (bench/bench_latency.py): one
# complaint at a time (201 p50/p99, POST -> card seen by a real XMPP client in the room, the
# bot's commit summary) beside the raw durable SQLite commit measured in the same run on the
# same disk, then 16 clients (durable complaints/s, cards into one room against Prosody's raw
# relay). Builds the release preset first (--no-build skips that). Other options go to
# bench_latency.py (--single N, --cards N, --load N, --relay N, --floor N, --keep).
# Run by hand on a quiet machine, never as a timed test.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

if [ "${1:-}" = --no-build ]; then
    shift
else
    scripts/deps.sh
    cmake --preset release >/dev/null
    cmake --build --preset release --target dealerbot bench_intake bench_commit -j"$(nproc)"
fi
export DEALERBOT_BIN="$ROOT/build/release/src/dealerbot"
export DBOT_BENCH_DIR="$ROOT/build/release/bench"
export DBOT_LOG_LEVEL="${DBOT_LOG_LEVEL:-info}"
exec /usr/bin/python3 bench/bench_latency.py "$@"
