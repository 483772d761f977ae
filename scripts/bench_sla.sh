#!/usr/bin/env bash
# bench_sla.sh — the SLA scheduler benchmark of issue 5 (bench/bench_sla.py): 1,000,000 open
# complaints with their reminders, breaches and escalations (~3 M pending events) spread over
# 30 days; the bot's idle CPU (target < 1 % of a core), wake-up cost and the lateness of what it
# fires (target: none > 1 s late), then 10,000 reminders due in the same second (target: drained
# within 10 s). A private Prosody takes the chat messages (500 dealer rooms: see bench_sla.py
# for why not 5,000). Needs ~600 MB of disk in $TMPDIR and about 5 minutes. Builds the release
# preset first (--no-build skips that). Other options go to bench_sla.py (--complaints N,
# --dealers K, --staff S, --idle S, --burst M, --lead S, --after S, --keep).
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
exec /usr/bin/python3 bench/bench_sla.py "$@"
