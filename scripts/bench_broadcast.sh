#!/usr/bin/env bash
# bench_broadcast.sh — the broadcast benchmark (bench/bench_broadcast.py): a broadcast to 5,000
# dealer rooms, time to deliver all at the configured rate. One private Prosody; a bot with the
# default chat limits (rate_global 100/s, rate_room 10/s), then one with rate_global 1000/s to
# show that the limit sets the time. Prints the POST's time, time to deliver all, achieved vs
# configured rate, throttled count, bot CPU and RSS over the drain and the broadcast's
# recipients/delivered counts; exits 1 unless all were delivered. Takes several minutes (most
# of it provisioning 5,000 rooms twice). Builds the release preset first (--no-build skips
# that). Other options go to bench_broadcast.py (--dealers N, --rates 100,1000, --keep).
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
export DEALERBOT_BIN="${DEALERBOT_BIN:-$ROOT/build/release/src/dealerbot}"
export DBOT_LOG_LEVEL="${DBOT_LOG_LEVEL:-info}"
exec /usr/bin/python3 bench/bench_broadcast.py "$@"
