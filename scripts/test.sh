#!/usr/bin/env bash
# Runs the whole test suite: installs missing dependencies, builds the `dev` preset
# (Debug + ASan/UBSan + -Werror) and runs every CTest label (unit, integration, fuzz-regress).
# The `release` preset is built too (no tests): -O2 finds warnings, made errors, that -O0
# does not. DBOT_SKIP_RELEASE=1 skips it. The libFuzzer targets are built with clang (the
# `fuzz` preset, targets only; no campaign runs here) so that preset cannot rot unnoticed;
# DBOT_SKIP_FUZZ=1 skips that.
# The `tsan` preset (ThreadSanitizer) builds the daemon and the reader pool's unit test and
# runs only the tests of the reader threads (its test preset's filter); DBOT_SKIP_TSAN=1 skips
# it. Extra arguments go to the dev ctest, e.g. `scripts/test.sh -L unit` or `-R store`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${DBOT_SKIP_FUZZ:-0}" != 1 ]]; then
    scripts/deps.sh --fuzz
else
    scripts/deps.sh
fi
scripts/npm-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev -j"$(nproc)"
if [[ "${DBOT_SKIP_RELEASE:-0}" != 1 ]]; then
    cmake --preset release >/dev/null
    cmake --build --preset release -j"$(nproc)"
fi
if [[ "${DBOT_SKIP_FUZZ:-0}" != 1 ]]; then
    cmake --preset fuzz >/dev/null
    cmake --build --preset fuzz -j"$(nproc)" --target fuzz_targets
fi
# LeakSanitizer is on with ASan; abort on the first UBSan report instead of printing on.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --preset dev -j"$(nproc)" "$@"
if [[ "${DBOT_SKIP_TSAN:-0}" != 1 ]]; then
    cmake --preset tsan >/dev/null
    cmake --build --preset tsan -j"$(nproc)"
    ctest --preset tsan
fi
