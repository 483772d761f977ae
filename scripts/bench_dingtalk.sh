#!/usr/bin/env bash
# bench_dingtalk.sh — the DingTalk adapter benchmark (bench/bench_dingtalk.py): push rate to the
# repo's DingTalk simulator, confirm latency, bot CPU per message and RSS.
# Builds the release preset first (--no-build skips that). Other options go to bench_dingtalk.py
# (--messages N). Run by hand, never as a timed test.
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
exec /usr/bin/python3 bench/bench_dingtalk.py "$@"
