#!/usr/bin/env bash
# bench_scorecards.sh — the scorecard benchmark (bench/bench_scorecards.py): every dealer's
# scorecard for 5,000 dealers over 1,000,000 complaints, all in the default 90-day window,
# through `dealerbot scorecard --csv` and GET /api/v1/scorecards (target <= 1 s each), then
# narrower windows, one dealer, a month and a quarter; then intake latency alone and while 4
# clients read the network report (issue 18). Needs ~500 MB of disk in $TMPDIR and about
# three minutes (most of it writing the data). Builds the release preset first (--no-build
# skips that). Other options go to bench_scorecards.py (--dealers N, --complaints N,
# --span-days D, --runs R, --intake N, --readers N, --keep). Run by hand, never as a timed
# test.
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
export DEALERBOT_BIN="${DEALERBOT_BIN:-$ROOT/build/release/src/dealerbot}"
export DBOT_LOG_LEVEL="${DBOT_LOG_LEVEL:-info}"
exec /usr/bin/python3 bench/bench_scorecards.py "$@"
