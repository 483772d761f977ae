#!/usr/bin/env bash
# bench_chat.sh — the chat benchmark of issues 3 and 19 (bench/bench_chat.py), on Prosody and on
# ejabberd in turn: each server's raw relay rate beside the bot's outbox push rate into a room
# (target ratio >= 0.8 on each), confirm latency p50/p99 under a burst and at the default rate
# limits, and the bot's RSS with 5,000 rooms.
# Builds the release preset first (--no-build skips that). Other options go to bench_chat.py
# (--messages N, --paced M, --rooms K, --servers prosody,ejabberd, --keep). Run by hand, never as a timed test.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

if [ "${1:-}" = --no-build ]; then
    shift
else
    scripts/deps.sh
    cmake --preset release >/dev/null
    cmake --build --preset release --target dealerbot -j"$(nproc)"
fi
export DEALERBOT_BIN="$ROOT/build/release/src/dealerbot"
export DBOT_LOG_LEVEL="${DBOT_LOG_LEVEL:-info}"
exec /usr/bin/python3 bench/bench_chat.py "$@"
