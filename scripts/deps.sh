#!/usr/bin/env bash
# Installs what dealerbot needs to build, test and run, from Debian packages only.
# Idempotent: installs nothing when everything is there; runs `apt-get update` once at most.
#   scripts/deps.sh          build + test + run dependencies (dpkg-dev: dpkg-shlibdeps for the
#                            .deb; groff-base and systemd: the man page and unit checks)
#   scripts/deps.sh --fuzz   also clang and its sanitizer runtimes (for the `fuzz` preset)
set -euo pipefail

packages=(
    build-essential cmake pkg-config
    libwebsockets-dev libjansson-dev libcurl4-openssl-dev libsqlite3-dev libexpat1-dev
    libconfig-dev libcmocka-dev libidn11-dev
    python3 tzdata curl ca-certificates
    libssl-dev prosody ejabberd
    dpkg-dev groff-base systemd
    profanity tmux          # tests/integration/test_profanity.py types into a real client
    nodejs
)
if [[ "${1:-}" == "--fuzz" ]]; then
    packages+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
# npm runs the official DingTalk SDK against the simulator (scripts/npm-deps.sh); some
# nodejs builds carry it, Debian's ships it as its own package.
if ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
fi
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
