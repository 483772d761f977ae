#!/usr/bin/env bash
# Builds the Debian package: installs missing dependencies (scripts/deps.sh), builds the
# release preset and runs CPack in it. Prints the path of build/release/dealerbot_<v>_<arch>.deb,
# which `apt install ./build/release/dealerbot_*.deb` installs with its dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
(cd build/release && cpack -G DEB >/dev/null)
version=$(sed -n 's/^project(dealerbot VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
deb="build/release/dealerbot_${version}_$(dpkg --print-architecture).deb"
[[ -f "$deb" ]] || { echo "package.sh: $deb was not written" >&2; exit 1; }
echo "$deb"
