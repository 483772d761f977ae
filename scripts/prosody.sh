#!/usr/bin/env bash
# scripts/prosody.sh — a private, unprivileged Prosody (0.12, Debian package `prosody`) on
# loopback, for the demo (scripts/run.sh) and the integration tests (tests/integration/xmpp.py).
# Nothing of the system Prosody is used: every instance lives in its own DIR with its own ports.
#
#   scripts/prosody.sh start DIR [HTTP_PORT] [C2S_PORT]
#       Writes DIR/prosody.cfg.lua (DIR is created; relative paths are made absolute; DIR holds
#       data/, certs/, prosody.cfg.lua, prosody.log, prosody.pid), starts Prosody in the background
#       and waits (at most 10 s) until both ports listen in that process and the WebSocket port
#       accepts a TCP connection. Then prints one line on stdout, usable with eval:
#         http_port=N c2s_port=N ws_url=ws://127.0.0.1:N/xmpp-websocket pid=N
#       Ports: the ones given, else the ones of an existing DIR/prosody.cfg.lua (a restart keeps
#       its URL), else free ones picked at random (retried if another process wins the race).
#       Already running in DIR: prints the same line and exits 0. On failure: the log tail on
#       stderr, exit 1.
#   scripts/prosody.sh stop DIR             SIGTERM to the PID in DIR/prosody.pid, SIGKILL after 5 s;
#                                           exit 0 also when nothing was running
#   scripts/prosody.sh status DIR           "running pid=N http_port=..." (exit 0) or "stopped" (exit 3)
#   scripts/prosody.sh register DIR USER PASSWORD     create USER@localhost, or reset its password
#   scripts/prosody.sh register-many DIR FILE         the same for every "user password" line of
#                                           FILE ("-" = stdin; blank lines and # comments skipped);
#                                           one admin-shell round trip when the server is running
#       User names: lower-case a-z 0-9 . _ -; passwords: one line, no leading/trailing blanks.
#
# The server: VirtualHost "localhost" (users USER@localhost), MUC component "conference.localhost"
# (anyone may create rooms; new rooms are unlocked at once, so no config form is needed; stock
# Prosody room defaults: not persistent, open, semi-anonymous — an owner configures them),
# WebSocket (RFC 7395, subprotocol "xmpp"), c2s TCP, XEP-0198 (mod_smacks), XEP-0199 (mod_ping),
# no TLS, no s2s, SASL SCRAM-SHA-1 and PLAIN (plain-text auth allowed: loopback only), no rate
# limits (mod_limits is not loaded).
# Extra Lua config (e.g. `admins = { "dealerbot@localhost" }`) can be passed in the environment:
# PROSODY_EXTRA_CONFIG goes into the global section, PROSODY_MUC_EXTRA_CONFIG into the MUC
# component (e.g. `muc_room_default_members_only = true`).
#
# As root, Prosody runs as the `prosody` user (runuser; DIR is chown'ed to it). Prosody refuses
# to run as root and then hangs (0.12.3), so root is only used, with `run_as_root = true` and a
# warning, when the prosody user cannot reach DIR (a parent directory it may not enter). As any
# other user, Prosody runs as that user.
set -euo pipefail

# Forks cost 10-15 ms each on small VMs: the polling paths below use bash builtins only.
LC_ALL=C            # byte semantics for ${#var} and ${var:offset}
umask 022

DOMAIN=localhost
MUC=conference.localhost
START_TIMEOUT_MS=10000
STOP_TIMEOUT_MS=5000

die() { echo "prosody.sh: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

now_ms() { NOW_MS=$((${EPOCHREALTIME/./} / 1000)); }

SLEEP_FD=""
nap() { # sleep $1 seconds without forking /bin/sleep: a read that times out on an idle pipe
    [[ -n "$SLEEP_FD" ]] || exec {SLEEP_FD}<> <(:)
    read -r -t "$1" -u "$SLEEP_FD" _ || true
}

command -v prosody >/dev/null || die "prosody is not installed (scripts/deps.sh installs it)"

set_paths() { # DIR made absolute and normalised (no symlinks resolved), and the files in it
    [[ -n "$1" ]] || die "DIR is empty"
    local p=$1 part
    [[ "$p" == /* ]] || p=$PWD/$p
    local -a parts out=()
    IFS=/ read -r -a parts <<<"$p"
    for part in "${parts[@]}"; do
        case $part in
            "" | .) ;;
            ..) ((${#out[@]})) && unset 'out[${#out[@]}-1]' ;;
            *) out+=("$part") ;;
        esac
    done
    DIR=$(IFS=/; echo "/${out[*]}")
    CFG=$DIR/prosody.cfg.lua
    PIDFILE=$DIR/prosody.pid
    LOG=$DIR/prosody.log
}

# ---- processes -------------------------------------------------------------------------------

# true when PID is alive (not a zombie) and was started with our config file
is_ours() {
    local pid=$1 stat arg prev=""
    local -a args=()
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
    stat=${stat##*) }                   # after "pid (comm) ": the state letter first
    [[ "${stat:0:1}" != Z && "${stat:0:1}" != X ]] || return 1
    mapfile -d '' args 2>/dev/null <"/proc/$pid/cmdline" || return 1
    for arg in "${args[@]}"; do
        [[ "$prev" == --config && "$arg" == "$CFG" ]] && return 0
        prev=$arg
    done
    return 1
}

# RUNNING_PID: the running Prosody of DIR, from the pidfile (empty when none)
find_running() {
    RUNNING_PID=""
    local pid=""
    [[ -r "$PIDFILE" ]] && { read -r pid <"$PIDFILE" || true; } 2>/dev/null
    if [[ -n "$pid" ]] && is_ours "$pid"; then RUNNING_PID=$pid; fi
}

# OUR_PIDS: every live process started with our config (Prosody and, as root, its runuser parent)
find_ours() {
    OUR_PIDS=()
    local f p
    # shellcheck disable=SC2013  # /proc/N/cmdline paths have no spaces
    for f in $(grep -lsF -- "$CFG" /proc/[0-9]*/cmdline 2>/dev/null); do
        p=${f#/proc/}
        p=${p%/cmdline}
        [[ $p != "$$" && $p != "$BASHPID" ]] && is_ours "$p" && OUR_PIDS+=("$p")
    done
    return 0
}

kill_pid() { # SIGTERM, wait, SIGKILL
    local pid=$1 deadline
    kill -TERM "$pid" 2>/dev/null || return 0
    now_ms; deadline=$((NOW_MS + STOP_TIMEOUT_MS))
    while is_ours "$pid"; do
        now_ms
        if ((NOW_MS > deadline)); then
            echo "prosody.sh: pid $pid ignored SIGTERM for $((STOP_TIMEOUT_MS / 1000)) s; SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            deadline=$((NOW_MS + STOP_TIMEOUT_MS))
            while is_ours "$pid" && { now_ms; ((NOW_MS < deadline)); }; do nap 0.01; done
            return 0
        fi
        nap 0.01
    done
}

# ---- ports -----------------------------------------------------------------------------------

# PORT_USED[port]=1 for every local TCP port any socket holds (any state, v4 and v6);
# PORT_LISTEN[port]="inode..." for listening sockets
scan_tcp() {
    declare -gA PORT_USED=() PORT_LISTEN=()
    local f sl local_ st rest port
    for f in /proc/net/tcp /proc/net/tcp6; do
        [[ -r $f ]] || continue
        while read -r sl local_ _ st rest; do
            [[ "$sl" == sl ]] && continue
            port=$((16#${local_##*:}))
            PORT_USED[$port]=1
            if [[ "$st" == 0A ]]; then
                read -r _ _ _ _ _ inode _ <<<"$rest"
                PORT_LISTEN[$port]+="$inode "
            fi
        done <"$f"
    done
}

# true when process PID holds the listening socket of PORT (one fork, after the port answered)
owns_port() {
    local pid=$1 port=$2 inode fds
    scan_tcp
    fds=$(ls -l "/proc/$pid/fd" 2>/dev/null) || return 1
    for inode in ${PORT_LISTEN[$port]:-}; do
        [[ "$fds" == *"socket:[$inode]"* ]] && return 0
    done
    return 1
}

tcp_connects() { # connect and close, in this shell (no subshell)
    local fd
    { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
    exec {fd}>&-
}

# PICKED: a port in 20000..32767 (below Linux's ephemeral range, so no outgoing connection
# holds it) that no socket uses at the moment and is not $1
pick_port() {
    local i
    for ((i = 0; i < 500; i++)); do
        PICKED=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
        [[ "$PICKED" == "${1:-}" || -n "${PORT_USED[$PICKED]:-}" ]] && continue
        PORT_USED[$PICKED]=1
        return 0
    done
    die "no free port found"
}

cfg_ports() {   # CFG_HTTP, CFG_C2S from an existing config (empty when none)
    CFG_HTTP="" CFG_C2S=""
    [[ -r "$CFG" ]] || return 0
    local line n=0
    while IFS= read -r line && ((n++ < 5)); do
        if [[ "$line" =~ ^--\ ports:\ http=([0-9]+)\ c2s=([0-9]+)$ ]]; then
            CFG_HTTP=${BASH_REMATCH[1]} CFG_C2S=${BASH_REMATCH[2]}
            return 0
        fi
    done <"$CFG"
}

ports_line() {  # the line callers eval, from the config
    cfg_ports
    echo "http_port=$CFG_HTTP c2s_port=$CFG_C2S ws_url=ws://127.0.0.1:$CFG_HTTP/xmpp-websocket pid=$1"
}

valid_port() { [[ "$1" =~ ^[0-9]+$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535)); }

# ---- config ----------------------------------------------------------------------------------

lua_str() { # LUA_STR: $1 as a Lua string literal
    local s=${1//\\/\\\\}
    s=${s//\"/\\\"}
    LUA_STR="\"$s\""
}

write_config() {
    local http=$1 c2s=$2 as_root=$3 root_line="" config
    [[ $as_root == 1 ]] && root_line='run_as_root = true     -- the prosody user cannot reach this directory'
    lua_str "$DIR"
    IFS= read -r -d '' config <<EOF || true
-- Generated by scripts/prosody.sh; rewritten on every start. Private test/demo Prosody.
-- ports: http=$http c2s=$c2s
local base = $LUA_STR
data_path    = base .. "/data"
pidfile      = base .. "/prosody.pid"
certificates = base .. "/certs"         -- empty; no TLS anywhere
log = { { levels = { min = "info" }, to = "file", filename = base .. "/prosody.log" } }
$root_line

interfaces       = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports        = { $c2s }
c2s_interfaces   = { "127.0.0.1" }
http_ports       = { $http }
http_interfaces  = { "127.0.0.1" }
https_ports      = { }
s2s_ports        = { }
component_ports  = { }

modules_enabled = {
    "roster"; "saslauth"; "disco"; "ping"; "posix"; "websocket"; "smacks";
    "admin_shell"; "admin_socket";      -- register/register-many talk to the running server
}
modules_disabled = { "s2s"; "offline"; "tls" }
admin_socket = base .. "/data/prosody.sock"

authentication = "internal_hashed"      -- SCRAM-SHA-1, and PLAIN (below)
c2s_require_encryption       = false
allow_unencrypted_plain_auth = true     -- loopback only
consider_websocket_secure    = true     -- ws:// counts as secure: every mechanism is offered
-- WebSocket endpoint: ws://127.0.0.1:$http/xmpp-websocket, subprotocol "xmpp"

${PROSODY_EXTRA_CONFIG:-}

VirtualHost "$DOMAIN"

Component "$MUC" "muc"
    name = "Chatrooms"
    restrict_room_creation = false      -- any user may create a room
    -- muc_room_locking: Prosody's default (on), as on a production server: a new room is
    -- locked until its owner submits the configuration form (XEP-0045 10.1.2/10.1.3)
    muc_tombstones         = false      -- a destroyed room can be created again at once
    muc_room_cache_size    = 20000      -- live rooms kept in memory (Prosody default 100)
${PROSODY_MUC_EXTRA_CONFIG:-}
EOF
    printf '%s' "$config" >"$CFG"
}

# ---- start -----------------------------------------------------------------------------------

log_tail() {
    echo "---- tail of $LOG ----" >&2
    tail -n 30 "$LOG" >&2 2>/dev/null || echo "(no log)" >&2
    if [[ -s "$DIR/prosody.out" ]]; then
        echo "---- $DIR/prosody.out ----" >&2
        tail -n 20 "$DIR/prosody.out" >&2
    fi
    echo "---- end ----" >&2
}

# NEW_LOG: what Prosody appended to its log since LOG_OFFSET (the log is kept across restarts)
read_new_log() {
    local all=""
    { IFS= read -r -d '' all <"$LOG" || true; } 2>/dev/null
    NEW_LOG=${all:LOG_OFFSET}
}

# the prosody user (uid gid) from /etc/passwd; empty when there is none
find_prosody_user() {
    PROSODY_UID="" PROSODY_GID=""
    local name uid gid rest
    while IFS=: read -r name _ uid gid rest; do
        [[ "$name" == prosody ]] && { PROSODY_UID=$uid PROSODY_GID=$gid; return 0; }
    done </etc/passwd
    return 0
}

# true when the prosody user may enter every parent directory of DIR (mode bits; DIR itself is
# chown'ed to it). ACLs are not looked at: if they deny, Prosody exits and the log says why.
prosody_can_reach() {
    local d=$DIR m u g
    local -a parents=()
    while [[ "$d" != / && -n "$d" ]]; do d=${d%/*}; parents+=("${d:-/}"); done
    while read -r m u g; do
        if ((u == PROSODY_UID)); then ((8#$m & 0100)) || return 1
        elif ((g == PROSODY_GID)); then ((8#$m & 0010)) || return 1
        else ((8#$m & 0001)) || return 1
        fi
    done < <(stat -c '%a %u %g' -- "${parents[@]}")
}

# one attempt: launch and wait. Returns 0 (up), 1 (failed), 2 (port taken: retry with others)
launch() {
    local http=$1 c2s=$2 as_root=$3 t0 deadline launcher pid="" fail="" p
    now_ms; t0=$NOW_MS
    rm -f "$PIDFILE"
    : >"$DIR/prosody.out"
    LOG_OFFSET=0
    [[ -e "$LOG" ]] && { read_new_log; LOG_OFFSET=${#NEW_LOG}; }
    local -a runas=()
    if ((EUID == 0)) && [[ $as_root == 0 ]]; then
        chown -R prosody:prosody "$DIR"
        runas=(runuser -u prosody --)
    fi
    # setsid: its own session, so a Ctrl-C to the caller's process group does not reach it
    setsid "${runas[@]}" prosody --config "$CFG" -F </dev/null >>"$DIR/prosody.out" 2>&1 &
    launcher=$!
    deadline=$((t0 + START_TIMEOUT_MS))
    while :; do
        if [[ -z "$pid" ]]; then
            [[ -r "$PIDFILE" ]] && { read -r pid <"$PIDFILE" || true; } 2>/dev/null
            [[ -n "$pid" ]] && ! is_ours "$pid" && pid=""
        fi
        if [[ -n "$pid" ]] && tcp_connects "$http" && tcp_connects "$c2s" \
            && owns_port "$pid" "$http" && owns_port "$pid" "$c2s"; then
            now_ms
            echo "prosody.sh: up in $((NOW_MS - t0)) ms (pid $pid, $DIR)" >&2
            ports_line "$pid"
            return 0
        fi
        read_new_log
        now_ms
        if [[ "$NEW_LOG" == *"Failed to open server port"* ]]; then
            fail=port
        elif [[ "$NEW_LOG" == *"Refusing to run as root"* ]]; then
            fail="refused to run as root"
        elif ! kill -0 "$launcher" 2>/dev/null; then
            fail="exited"
        elif ((NOW_MS > deadline)); then
            fail="timeout"
        fi
        [[ -z "$fail" ]] && { nap 0.005; continue; }
        # failed: clean up whatever was started
        [[ -n "$pid" ]] && kill_pid "$pid"
        find_ours
        for p in "${OUR_PIDS[@]}"; do kill_pid "$p"; done
        wait "$launcher" 2>/dev/null || true
        rm -f "$PIDFILE"
        if [[ $fail == port ]]; then
            [[ "$NEW_LOG" =~ Failed\ to\ open\ server\ port\ ([0-9]+) ]] && FAILED_PORT=${BASH_REMATCH[1]}
            return 2
        fi
        echo "prosody.sh: Prosody did not come up in $DIR ($fail after $((NOW_MS - t0)) ms)" >&2
        log_tail
        return 1
    done
}

cmd_start() {
    (($# >= 1 && $# <= 3)) || usage
    set_paths "$1"
    local http=${2:-} c2s=${3:-} as_root=0 auto=0 attempt rc p
    [[ -z "$http" ]] || valid_port "$http" || die "bad HTTP port: $http"
    [[ -z "$c2s" ]] || valid_port "$c2s" || die "bad c2s port: $c2s"
    [[ -d "$DIR/data" && -d "$DIR/certs" ]] || mkdir -p "$DIR/data" "$DIR/certs"

    find_running
    if [[ -n "$RUNNING_PID" ]]; then
        cfg_ports
        if [[ -n "$http" && "$http" != "$CFG_HTTP" ]] || [[ -n "$c2s" && "$c2s" != "$CFG_C2S" ]]; then
            die "already running in $DIR (pid $RUNNING_PID) on other ports (http=$CFG_HTTP c2s=$CFG_C2S)"
        fi
        echo "prosody.sh: already running (pid $RUNNING_PID, $DIR)" >&2
        ports_line "$RUNNING_PID"
        return 0
    fi
    # leftovers of a killed run (its pidfile is gone or stale)
    find_ours
    for p in "${OUR_PIDS[@]}"; do kill_pid "$p"; done

    if [[ -z "$http" || -z "$c2s" ]]; then
        cfg_ports
        if [[ -z "$http" && -z "$c2s" && -n "$CFG_HTTP" ]]; then
            http=$CFG_HTTP c2s=$CFG_C2S       # a restart keeps its URL
        else
            auto=1
        fi
    fi

    if ((EUID == 0)); then
        find_prosody_user
        if [[ -z "$PROSODY_UID" ]]; then
            as_root=1
            echo "prosody.sh: warning: there is no user prosody; running Prosody as root" >&2
        elif ! prosody_can_reach; then
            as_root=1
            echo "prosody.sh: warning: user prosody cannot enter a parent directory of $DIR;" \
                "running Prosody as root with run_as_root = true" >&2
        fi
    fi

    scan_tcp
    for p in "$http" "$c2s"; do   # (only listeners count: TIME_WAIT leftovers do not stop a bind)
        [[ -n "$p" && -n "${PORT_LISTEN[$p]:-}" ]] && die "port $p is in use by another process"
    done
    FAILED_PORT=""
    for ((attempt = 1; attempt <= 5; attempt++)); do
        [[ -z "$http" ]] && { pick_port "$c2s"; http=$PICKED; }
        [[ -z "$c2s" ]] && { pick_port "$http"; c2s=$PICKED; }
        write_config "$http" "$c2s" "$as_root"
        rc=0
        launch "$http" "$c2s" "$as_root" || rc=$?
        case $rc in
            0) return 0 ;;
            2) if [[ $auto == 1 && "$FAILED_PORT" != "${2:-}" && "$FAILED_PORT" != "${3:-}" ]]; then
                   echo "prosody.sh: port $FAILED_PORT was taken meanwhile; trying others" >&2
                   http=${2:-} c2s=${3:-}
                   scan_tcp
                   continue
               fi
               echo "prosody.sh: port $FAILED_PORT is in use by another process" >&2
               log_tail
               exit 1 ;;
            *) exit 1 ;;
        esac
    done
    die "could not find free ports after 5 attempts"
}

cmd_stop() {
    (($# == 1)) || usage
    set_paths "$1"
    local p
    find_running
    [[ -n "$RUNNING_PID" ]] && kill_pid "$RUNNING_PID"
    # the runuser parent exits with its child; anything else started with our config goes too
    find_ours
    for p in "${OUR_PIDS[@]}"; do kill_pid "$p"; done
    rm -f "$PIDFILE"
    [[ -n "$RUNNING_PID" ]] && echo "prosody.sh: stopped pid $RUNNING_PID ($DIR)" >&2
    return 0
}

cmd_status() {
    (($# == 1)) || usage
    set_paths "$1"
    find_running
    if [[ -n "$RUNNING_PID" ]]; then
        echo "running $(ports_line "$RUNNING_PID")"
        return 0
    fi
    echo "stopped"
    return 3
}

check_user() {
    # lower-case ASCII letters, digits, . _ - and any non-ASCII (UTF-8) text, already in the
    # form the server stores (nodeprep: lower case), not starting with . _ -
    local ascii
    ascii=$(LC_ALL=C tr -d '\200-\377' <<<"$1")
    [[ -n "$1" && "$1" != [._-]* && "$ascii" =~ ^[a-z0-9._-]*$ ]] \
        || die "bad user name '$1' (use lower-case a-z 0-9 . _ - or non-ASCII letters)"
    [[ -n "$2" && "$2" != *[[:cntrl:]]* ]] || die "bad or empty password for '$1'"
}

# a Lua chunk (one line) for the admin shell: create each user or reset its password. The
# shell's environment has the console commands (user:create ...) but no Lua globals (no ipairs).
shell_chunk() {
    local chunk='local t = {' user pass u
    while read -r user pass; do
        [[ -z "$user" ]] && continue
        lua_str "$user@$DOMAIN"; u=$LUA_STR
        lua_str "$pass"
        chunk+="{$u,$LUA_STR},"
    done
    chunk+='}; local n = 0; for i = 1, #t do local u = t[i]; local ok, err = user:create(u[1], u[2]); if not ok and err == "User exists" then ok, err = user:password(u[1], u[2]) end; if not ok then return nil, u[1] .. ": " .. (err or "?") end; n = n + 1 end; return true, n .. " accounts ready"'
    printf '%s' "$chunk"
}

# reads "user password" lines on stdin
register_lines() {
    local line user pass n=0 out lines=""
    while IFS= read -r line || [[ -n "$line" ]]; do
        read -r user pass <<<"$line"
        [[ -z "$user" || "$user" == \#* ]] && continue
        check_user "$user" "$pass"
        lines+="$user $pass"$'\n'
        n=$((n + 1))
    done
    ((n > 0)) || return 0

    find_running
    if [[ -n "$RUNNING_PID" && -S "$DIR/data/prosody.sock" ]]; then
        # one round trip to the running server, instead of one prosodyctl start per account
        if out=$(prosodyctl --config "$CFG" shell "$(shell_chunk <<<"$lines")" 2>&1); then
            echo "prosody.sh: ${out##*$'\n'}" >&2
            return 0
        fi
        echo "prosody.sh: admin shell failed ($out); falling back to prosodyctl" >&2
    fi
    while read -r user pass; do
        [[ -z "$user" ]] && continue
        # (register overwrites the password of an existing account)
        out=$(prosodyctl --config "$CFG" register "$user" "$DOMAIN" "$pass" 2>&1) \
            || die "prosodyctl register $user: $out"
    done <<<"$lines"
    echo "prosody.sh: $n accounts ready (prosodyctl)" >&2
}

cmd_register() {
    (($# == 3)) || usage
    set_paths "$1"
    [[ -r "$CFG" ]] || die "no $CFG (run start first)"
    check_user "$2" "$3"
    printf '%s %s\n' "$2" "$3" | register_lines
}

cmd_register_many() {
    (($# == 2)) || usage
    set_paths "$1"
    [[ -r "$CFG" ]] || die "no $CFG (run start first)"
    if [[ "$2" == - ]]; then
        register_lines
    else
        [[ -r "$2" ]] || die "cannot read $2"
        register_lines <"$2"
    fi
}

(($# >= 1)) || usage
cmd=$1
shift
case $cmd in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    register) cmd_register "$@" ;;
    register-many) cmd_register_many "$@" ;;
    -h | --help | help) usage ;;
    *) usage ;;
esac
