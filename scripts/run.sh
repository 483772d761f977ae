#!/usr/bin/env bash
# Runs dealerbot locally: installs missing dependencies, builds the release preset, creates
# var/ with an API token, starts a private Prosody (scripts/prosody.sh, state in var/prosody,
# WebSocket on 127.0.0.1:15280, c2s on 127.0.0.1:15222) with the demo accounts of
# config/demo/accounts.txt, imports the demo directory (config/demo/) into the embedded SQLite
# database var/dealerbot.db, and runs the daemon in the foreground connected to that Prosody.
# Ctrl-C stops the bot, then the Prosody it started.
# Uses config/dealerbot.conf unless DEALERBOT_CONFIG names another file; PROSODY_HTTP_PORT and
# PROSODY_C2S_PORT move the chat server (the config's chat.xmpp.url must then follow).
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

# The chat server. The bot's password comes from the demo accounts file.
http_port=${PROSODY_HTTP_PORT:-15280}
c2s_port=${PROSODY_C2S_PORT:-15222}
scripts/prosody.sh start var/prosody "$http_port" "$c2s_port" >/dev/null
trap 'scripts/prosody.sh stop var/prosody' EXIT
scripts/prosody.sh register-many var/prosody config/demo/accounts.txt
(umask 077; awk '$1 == "dealerbot" { print $2 }' config/demo/accounts.txt > var/xmpp.password)

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

Chat: join with any XMPP client (Gajim, Dino, Conversations, ...) on 127.0.0.1:${c2s_port}
(no TLS; allow plain-text connections), e.g. as wang.sh001@localhost / demo-wang-pass (the
accounts are in config/demo/accounts.txt). The bot's rooms are on conference.localhost:
dealer-sh001, dealer-bj002, brand-service, underperformers.

MSG
# Not exec: the EXIT trap stops Prosody after the bot. Ctrl-C (or a SIGTERM to this script)
# reaches the bot, which shuts down cleanly; the script waits for it and returns its status.
"$bin" -c "$conf" run &
bot=$!
trap 'kill -TERM "$bot" 2>/dev/null || true' INT TERM
status=0
while :; do
    wait "$bot" && status=0 || status=$?
    kill -0 "$bot" 2>/dev/null || break
done
exit "$status"
