#!/usr/bin/env bash
# Installs the npm packages the tests use, exactly as locked in the repo, into a folder of the
# build tree (never into the source tree): today only the official DingTalk Stream SDK, which
# checks that tests/dingtalk_sim/ behaves like DingTalk (tests/integration/test_dingtalk_sdk.py).
#   scripts/npm-deps.sh [DEST]     DEST defaults to build/npm; idempotent (skips when the
#                                  installed lockfile equals the repo's)
# Uses npm's configured registry; needs node and npm (Debian: nodejs, npm).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src="$here/tests/dingtalk_sim/sdk"
dest=${1:-"$here/build/npm"}
mkdir -p "$dest"
if [[ -f "$dest/package-lock.json" && -d "$dest/node_modules/dingtalk-stream" ]] &&
    cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
    exit 0
fi
cp "$src/package.json" "$src/package-lock.json" "$dest/"
cd "$dest"
npm ci --ignore-scripts --no-audit --no-fund >&2
