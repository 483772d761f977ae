#!/usr/bin/env bash
# bench.sh — the intake benchmark of issue 2, end to end, in a throw-away directory.
#
# Builds the release preset, writes a config (database, free loopback port, token file, no
# chat platform) into a temp dir, imports 5,000 dealers, starts `dealerbot run`, waits for
# /healthz, posts a warm-up batch and then the measured batch with bench_intake, prints the
# numbers, stops the bot with SIGTERM and removes the temp dir. Exit status: 0 when every
# complaint got its 201 and the bot stopped cleanly, 1 otherwise, 2 on a usage error.
#
# Targets (issue 2, 2-core machine): >= 2,000 complaints/s, p99 <= 10 ms, bot RSS <= 16 MB.
# It is run by hand, never as a timed test.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

clients=16
count=20000
warmup=2000
dealers=5000
engine=raw
build=1
build_dir="$ROOT/build/release"
perf_out=""
keep=0
log_level=warn

usage() {
    cat <<EOF
usage: scripts/bench.sh [options]
  --clients N      concurrent keep-alive connections (default $clients)
  --count M        complaints in the measured run (default $count)
  --warmup W       complaints posted first and not measured (default $warmup; 0 = none)
  --dealers K      dealers imported and posted to (default $dealers)
  --engine E       bench_intake client: raw | curl (default $engine)
  --build-dir DIR  use the dealerbot and bench_intake already built in DIR (no build)
  --no-build       use the binaries already in build/release
  --perf FILE      record the bot with 'perf record -g' during the measured run
  --keep           keep the temp dir (config, database, bot log) and print its path
  --log-level L    the bot's log_level (default $log_level; info shows its commit summary)
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
    --clients) clients=${2:?}; shift 2 ;;
    --count) count=${2:?}; shift 2 ;;
    --warmup) warmup=${2:?}; shift 2 ;;
    --dealers) dealers=${2:?}; shift 2 ;;
    --engine) engine=${2:?}; shift 2 ;;
    --build-dir) build_dir=$(cd "${2:?}" && pwd); build=0; shift 2 ;;
    --no-build) build=0; shift ;;
    --perf) perf_out=$(realpath -m "${2:?}"); shift 2 ;;
    --keep) keep=1; shift ;;
    --log-level) log_level=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
for v in "$clients" "$count" "$warmup" "$dealers"; do
    case "$v" in
    '' | *[!0-9]*) echo "bench.sh: counts must be plain numbers, not '$v'" >&2; exit 2 ;;
    esac
done
if [ "$dealers" -lt 1 ] || [ "$dealers" -gt 9999 ]; then
    echo "bench.sh: --dealers must be in 1..9999 (codes D0001..D9999)" >&2
    exit 2
fi

if [ "$build" = 1 ]; then
    if ! (cd "$ROOT" && cmake --preset release >/dev/null &&
        cmake --build --preset release --target dealerbot bench_intake); then
        echo "bench.sh: the release build failed" >&2
        exit 1
    fi
fi
bot="$build_dir/src/dealerbot"
bench="$build_dir/bench/bench_intake"
for f in "$bot" "$bench"; do
    [ -x "$f" ] || { echo "bench.sh: $f is not built" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dealerbot-bench.XXXXXX")
bot_pid=""
perf_pid=""

# Stops the bot (if still running) and removes the temp dir, whatever way the script ends.
cleanup() {
    local rc=$?
    if [ -n "$perf_pid" ] && kill -0 "$perf_pid" 2>/dev/null; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
    fi
    if [ -n "$bot_pid" ] && kill -0 "$bot_pid" 2>/dev/null; then
        kill -TERM "$bot_pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$bot_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$bot_pid" 2>/dev/null || true
        wait "$bot_pid" 2>/dev/null || true
    fi
    if [ "$keep" = 1 ]; then
        echo "bench.sh: kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

show_log() {
    echo "---- bot log ($tmp/bot.log) ----" >&2
    tail -n 40 "$tmp/bot.log" >&2 || true
}

# A loopback port nobody listens on (checked by connecting); the bot's start confirms it.
pick_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    echo "bench.sh: no free loopback port found" >&2
    return 1
}

# True when GET /healthz on the port answers 200 (plain bash, no curl binary needed).
healthz() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$1" >&3
        IFS= read -r -t 2 line <&3 || exit 1
        case "$line" in "HTTP/1."?" 200"*) exit 0 ;; *) exit 1 ;; esac
    ) 2>/dev/null
}

# ---- config, token, dealers ---------------------------------------------------------------
token=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
(umask 077 && printf '%s\n' "$token" >"$tmp/api.token")

write_config() {
    cat >"$tmp/dealerbot.conf" <<EOF
# written by scripts/bench.sh
database = "$tmp/dealerbot.db";
timezone = "Asia/Shanghai";
log_level = "$log_level";
http = { listen = "127.0.0.1:$1"; token_file = "$tmp/api.token"; };
chat = { platform = "none"; };
sla = { default = { ack = "12h"; solution = "5d"; close = "15d"; remind_before = ["2h", "30m"]; }; };
EOF
}

awk -v n="$dealers" 'BEGIN {
    split("华东 华南 华北 华中 西南 西北 东北", region, " ");
    print "code,name,region,sales_volume";
    for (i = 1; i <= n; i++)
        printf "D%04d,经销商%04d,%s,%d\n", i, i, region[(i - 1) % 7 + 1], 200 + (i * 7919) % 3000;
}' >"$tmp/dealers.csv"

port=$(pick_port)
write_config "$port"
conf="$tmp/dealerbot.conf"
if ! "$bot" -c "$conf" dealers import "$tmp/dealers.csv" >"$tmp/import.log" 2>&1; then
    echo "bench.sh: dealers import failed:" >&2
    cat "$tmp/import.log" >&2
    exit 1
fi

# ---- start the bot (a second port if the first one was taken meanwhile) -------------------
started=0
for attempt in 1 2 3; do
    if [ "$attempt" -gt 1 ]; then
        port=$(pick_port)
        write_config "$port"
    fi
    "$bot" -c "$conf" run >"$tmp/bot.log" 2>&1 &
    bot_pid=$!
    for _ in $(seq 300); do
        if healthz "$port"; then started=1; break; fi
        kill -0 "$bot_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ "$started" = 1 ] && break
    if kill -0 "$bot_pid" 2>/dev/null; then
        echo "bench.sh: the bot did not answer /healthz on port $port within 30 s" >&2
        show_log
        exit 1
    fi
    wait "$bot_pid" 2>/dev/null || true
    bot_pid=""
done
if [ "$started" != 1 ]; then
    echo "bench.sh: the bot did not start" >&2
    show_log
    exit 1
fi

url="http://127.0.0.1:$port"
common=(--url "$url" --token-file "$tmp/api.token" --clients "$clients" --dealers "$dealers"
    --engine "$engine")

# ---- warm-up, then the measured run -------------------------------------------------------
if [ "$warmup" -gt 0 ]; then
    if ! "$bench" "${common[@]}" --count "$warmup" --run-id "warmup-$$" >"$tmp/warmup.out" 2>&1
    then
        echo "bench.sh: warm-up failed:" >&2
        cat "$tmp/warmup.out" >&2
        show_log
        exit 1
    fi
fi

if [ -n "$perf_out" ]; then
    perf record -g -o "$perf_out" -p "$bot_pid" >"$tmp/perf.log" 2>&1 &
    perf_pid=$!
    sleep 0.5
fi

bench_rc=0
"$bench" "${common[@]}" --count "$count" --run-id "run-$$" --pid "$bot_pid" || bench_rc=$?

if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    perf_pid=""
    echo "perf data: $perf_out (perf report -i $perf_out --no-children)"
fi

db_kb=$(du -sk "$tmp" | cut -f1)
echo "warm-up complaints: $warmup"
echo "temp dir kB (database, WAL, logs): $db_kb"

# ---- stop the bot -------------------------------------------------------------------------
stop_rc=0
kill -TERM "$bot_pid" 2>/dev/null || true
for _ in $(seq 100); do kill -0 "$bot_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$bot_pid" 2>/dev/null; then
    echo "bench.sh: the bot did not stop within 10 s of SIGTERM" >&2
    stop_rc=1
else
    wait "$bot_pid" || stop_rc=$?
    bot_pid=""
    echo "bot exit status: $stop_rc"
fi

if [ "$bench_rc" != 0 ] || [ "$stop_rc" != 0 ]; then
    show_log
    exit 1
fi
if [ "$log_level" != warn ] && [ -s "$tmp/bot.log" ]; then
    echo "---- bot log ----"
    tail -n 20 "$tmp/bot.log"
fi
