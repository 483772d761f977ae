#!/usr/bin/env bash
# Runs dealerbot locally: installs missing dependencies, builds the release preset, creates
# var/ with an API token, imports the demo directory (config/demo/) into the embedded SQLite
# database var/dealerbot.db, and runs the daemon in the foreground (Ctrl-C stops it).
# Uses config/dealerbot.conf unless DEALERBOT_CONFIG names another file.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
bin=build/release/src/dealerbot
conf="${DEALERBOT_CONFIG:-config/dealerbot.conf}"

mkdir -p var
chmod 700 var
if [[ ! -s var/api.token ]]; then
    (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > var/api.token)
fi

"$bin" -c "$conf" check-config >/dev/null
"$bin" -c "$conf" dealers import config/demo/dealers.csv
"$bin" -c "$conf" people import config/demo/people.csv

listen=$(sed -n 's/^ *listen *= *"\([^"]*\)".*/\1/p' "$conf" | head -n 1)
cat <<MSG

dealerbot is starting on http://${listen:-127.0.0.1:8080} (Ctrl-C to stop). Try:
  curl -s -H "Authorization: Bearer \$(cat var/api.token)" -H 'Content-Type: application/json' \\
       -d '{"external_id":"demo-1","dealer":"SH001","category":"after-sales","priority":"normal",
            "customer":{"name":"张三","phone":"13800000000"},"summary":"车辆异响"}' \\
       http://${listen:-127.0.0.1:8080}/api/v1/complaints

MSG
exec "$bin" -c "$conf" run
