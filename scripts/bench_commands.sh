#!/usr/bin/env bash
# bench_commands.sh — the chat command benchmark of issue 4 (bench/bench_commands.py): the /ack
# round trip through a private Prosody (dealer types "/ack C-n" in the dealer room, the bot's
# ack_ok reply arrives there), one at a time (p50/p90/p99/max) and with 20 dealers typing at
# once in a closed loop (commands/s, p50/p99 under load), with the bot's CPU per command and RSS.
# The bot's outgoing rate limits are lifted (100000/s) so they do not dominate.
# Builds the release preset first (--no-build skips that). Other options go to
# bench_commands.py (--commands N, --dealers D, --per-dealer M, --prosody-nodelay, --keep).
# Run by hand, never as a timed test.
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
exec /usr/bin/python3 bench/bench_commands.py "$@"
