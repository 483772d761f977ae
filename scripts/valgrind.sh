#!/usr/bin/env bash
# valgrind.sh — the main flows of the daemon under valgrind's memcheck: integration test files
# run against the release build with every `dealerbot run` wrapped in memcheck
# (tests/integration/dbot.py, DBOT_VALGRIND=1); a bot's clean stop then fails on any memory
# error and on any definite or indirect leak, and the file fails with it. ASan/LSan covers the
# same ground on every test run (scripts/test.sh); this is the second opinion, run by hand.
#   scripts/valgrind.sh                  intake API, chat delivery, lifecycle in chat, network
#   scripts/valgrind.sh test_sla ...     the named files of tests/integration/
# test_sla is not in the default set: its restart test times a SIGKILL against deadlines a few
# seconds apart, which memcheck's slowness moves (the other SLA tests pass under it).
# Builds the release preset first (--no-build skips that). Takes a few minutes.
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
if ! command -v valgrind >/dev/null; then
    echo "valgrind.sh: installing valgrind" >&2
    sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends valgrind
fi
files=("$@")
[[ ${#files[@]} -gt 0 ]] || files=(test_intake_api test_chat test_lifecycle test_network)
export DEALERBOT_BIN="$ROOT/build/release/src/dealerbot"
export DBOT_SOURCE_DIR="$ROOT" DBOT_VALGRIND=1 PYTHONDONTWRITEBYTECODE=1
failed=0
for f in "${files[@]}"; do
    echo "== $f under memcheck"
    if ! /usr/bin/python3 "tests/integration/${f%.py}.py"; then
        failed=$((failed + 1))
    fi
done
echo "valgrind.sh: ${#files[@]} file(s), $failed failed"
[[ $failed -eq 0 ]]
