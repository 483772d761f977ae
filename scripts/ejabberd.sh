#!/usr/bin/env bash
# scripts/ejabberd.sh — a private ejabberd (23.01, Debian package `ejabberd`) on loopback, for
# the integration tests (tests/integration/xmpp.py, DBOT_XMPP_SERVER=ejabberd) and the chat
# benchmark. Nothing of the system ejabberd is used (never its service, config, spool or node):
# every instance lives in its own DIR with its own ports, Erlang node name and cookie.
#
#   scripts/ejabberd.sh start DIR [HTTP_PORT] [C2S_PORT]
#       Writes DIR/etc/{ejabberd.yml,ejabberdctl.cfg,inetrc} (DIR is created; it also holds
#       spool/ (Mnesia), log/ejabberd.log and ejabberd.out), starts ejabberd in the background
#       and waits (at most 30 s) until both ports listen in its Erlang VM. Then prints one line
#       on stdout, usable with eval:
#         http_port=N c2s_port=N ws_url=ws://127.0.0.1:N/ws pid=N
#       Ports: the ones given, else those of an existing config (a restart keeps its URL and
#       its node name, which Mnesia's data is tied to), else free ones picked at random.
#       Already running in DIR: prints the same line and exits 0. On failure: the log tail on
#       stderr, exit 1.
#   scripts/ejabberd.sh stop DIR            SIGTERM to the VM (a clean Mnesia shutdown), SIGKILL
#                                           after 15 s; exit 0 also when nothing was running
#   scripts/ejabberd.sh status DIR          "running pid=N http_port=..." (exit 0) or "stopped" (3)
#   scripts/ejabberd.sh register DIR USER PASSWORD    create USER@localhost or reset its password
#   scripts/ejabberd.sh register-many DIR FILE        the same for every "user password" line of
#                                           FILE ("-" = stdin; blank lines and # comments
#                                           skipped); one remote call for all of them
#       User names: lower-case a-z 0-9 . _ -; passwords: one line, no blanks. The server must run.
#
# The server: host "localhost", MUC service "conference.localhost" (local users create rooms,
# persistent ones too; ejabberd does not lock new rooms), c2s TCP without TLS, a plain
# WebSocket listener (module ejabberd_http, request handler /ws: ejabberd_http_ws, RFC 7395),
# XEP-0198 (mod_stream_mgmt), XEP-0199 (mod_ping), SASL SCRAM-SHA-1 (auth_password_format:
# scram) and PLAIN, no s2s. The stock shaper rules stay: ordinary users are held to the
# `normal` shaper (3,000 bytes/s), as on a production server.
# Environment:
#   EJABBERD_ADMINS="boss@localhost ..."    the `admin` ACL (server admins: owners of every room)
#   EJABBERD_UNSHAPED="dealerbot@localhost" the `bot` ACL, exempt from the c2s shaper (the rule
#                                           README recommends: {none: admin}, {none: bot},
#                                           {normal: all})
#   EJABBERD_STANZA_LIMIT=N                 c2s max_stanza_size (default 262144)
#   EJABBERD_MUC_EXTRA_CONFIG               YAML lines added to mod_muc's options (4 spaces in)
#   EJABBERD_MODULES_EXTRA_CONFIG           YAML lines added to `modules:` (2 spaces in)
#
# ejabberdctl runs the VM as the `ejabberd` user when called as root, so DIR belongs to that
# user; any other caller must be that user. The Erlang distribution listens on 127.0.0.1 on a
# port of its own (no epmd) with a random cookie kept in DIR/etc/ejabberdctl.cfg.
set -euo pipefail

LC_ALL=C
umask 022

DOMAIN=localhost
MUC=conference.localhost
EJ_USER=ejabberd
START_TIMEOUT_MS=30000
STOP_TIMEOUT_MS=15000

die() { echo "ejabberd.sh: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
now_ms() { NOW_MS=$((${EPOCHREALTIME/./} / 1000)); }
SLEEP_FD=""
nap() {
    [[ -n "$SLEEP_FD" ]] || exec {SLEEP_FD}<> <(:)
    read -r -t "$1" -u "$SLEEP_FD" _ || true
}

command -v ejabberdctl >/dev/null || die "ejabberd is not installed (scripts/deps.sh installs it)"
ERL=/usr/bin/erl

set_paths() {
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
    ETC=$DIR/etc
    CFG=$ETC/ejabberd.yml
    CTLCFG=$ETC/ejabberdctl.cfg
    SPOOL=$DIR/spool
    LOGDIR=$DIR/log
    LOG=$LOGDIR/ejabberd.log
    OUT=$DIR/ejabberd.out
}

ctl() { ejabberdctl --config-dir "$ETC" --spool "$SPOOL" --logs "$LOGDIR" "$@"; }

# NODE, COOKIE, DIST_PORT, CFG_HTTP, CFG_C2S from an existing DIR/etc/ejabberdctl.cfg
read_ctlcfg() {
    NODE="" COOKIE="" DIST_PORT="" CFG_HTTP="" CFG_C2S=""
    [[ -r "$CTLCFG" ]] || return 0
    local line
    while IFS= read -r line; do
        case $line in
            ERLANG_NODE=*) NODE=${line#*=} ;;
            ERL_DIST_PORT=*) DIST_PORT=${line#*=} ;;
            "# cookie: "*) COOKIE=${line#\# cookie: } ;;
            "# ports: "*) [[ "$line" =~ http=([0-9]+)\ c2s=([0-9]+) ]] &&
                CFG_HTTP=${BASH_REMATCH[1]} CFG_C2S=${BASH_REMATCH[2]} ;;
        esac
    done <"$CTLCFG"
}

# ---- processes -------------------------------------------------------------------------------

# true when PID is a live (not zombie) beam.smp of our node
is_ours() {
    local pid=$1 stat arg prev=""
    local -a args=()
    [[ "$pid" =~ ^[0-9]+$ && -n "$NODE" ]] || return 1
    read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
    stat=${stat##*) }
    [[ "${stat:0:1}" != Z && "${stat:0:1}" != X ]] || return 1
    mapfile -d '' args 2>/dev/null <"/proc/$pid/cmdline" || return 1
    [[ "${args[0]:-}" == */beam* ]] || return 1
    for arg in "${args[@]}"; do
        [[ ( "$prev" == -sname || "$prev" == -name ) && "$arg" == "$NODE" ]] && return 0
        prev=$arg
    done
    return 1
}

# RUNNING_PID: our VM (empty when none)
find_running() {
    RUNNING_PID=""
    local f p
    [[ -n "$NODE" ]] || return 0
    # shellcheck disable=SC2013
    for f in $(grep -lsF -- "$NODE" /proc/[0-9]*/cmdline 2>/dev/null); do
        p=${f#/proc/}
        p=${p%/cmdline}
        if is_ours "$p"; then RUNNING_PID=$p; return 0; fi
    done
    return 0
}

kill_pid() {
    local pid=$1 deadline
    kill -TERM "$pid" 2>/dev/null || return 0
    now_ms; deadline=$((NOW_MS + STOP_TIMEOUT_MS))
    while is_ours "$pid"; do
        now_ms
        if ((NOW_MS > deadline)); then
            echo "ejabberd.sh: pid $pid ignored SIGTERM for $((STOP_TIMEOUT_MS / 1000)) s; SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            while is_ours "$pid"; do nap 0.01; done
            return 0
        fi
        nap 0.02
    done
}

# ---- ports -----------------------------------------------------------------------------------

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

owns_port() {
    local pid=$1 port=$2 inode fds
    scan_tcp
    fds=$(ls -l "/proc/$pid/fd" 2>/dev/null) || return 1
    for inode in ${PORT_LISTEN[$port]:-}; do
        [[ "$fds" == *"socket:[$inode]"* ]] && return 0
    done
    return 1
}

tcp_connects() {
    local fd
    { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
    exec {fd}>&-
}

pick_port() { # PICKED: a free port in 20000..32767 not among $@
    local i p
    for ((i = 0; i < 500; i++)); do
        PICKED=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
        [[ -n "${PORT_USED[$PICKED]:-}" ]] && continue
        for p in "$@"; do [[ "$p" == "$PICKED" ]] && continue 2; done
        PORT_USED[$PICKED]=1
        return 0
    done
    die "no free port found"
}

valid_port() { [[ "$1" =~ ^[0-9]+$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535)); }

ports_line() {
    echo "http_port=$CFG_HTTP c2s_port=$CFG_C2S ws_url=ws://127.0.0.1:$CFG_HTTP/ws pid=$1"
}

# ---- config ----------------------------------------------------------------------------------

yaml_list() { # YAML_LIST: a flow list of quoted strings from the words of $1
    local w out=""
    for w in $1; do
        [[ "$w" =~ ^[a-z0-9._-]+@[a-z0-9.-]+$ ]] || die "bad JID in the environment: '$w'"
        out+="${out:+, }\"$w\""
    done
    YAML_LIST="[$out]"
}

write_config() {
    local http=$1 c2s=$2 config limit=${EJABBERD_STANZA_LIMIT:-262144}
    [[ "$limit" =~ ^[0-9]+$ ]] || die "EJABBERD_STANZA_LIMIT must be a number"
    yaml_list "${EJABBERD_ADMINS:-}"; local admins=$YAML_LIST
    yaml_list "${EJABBERD_UNSHAPED:-}"; local unshaped=$YAML_LIST
    mkdir -p "$ETC" "$SPOOL" "$LOGDIR"
    if [[ -z "$NODE" ]]; then
        local rnd
        rnd=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
        NODE="dbot-${rnd:0:10}@localhost"
        COOKIE="c${rnd}$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
    fi
    IFS= read -r -d '' config <<EOF || true
# Generated by scripts/ejabberd.sh; rewritten on every start. Private test ejabberd.
# ports: http=$http c2s=$c2s
# cookie: $COOKIE
ERLANG_NODE=$NODE
ERL_DIST_PORT=$DIST_PORT
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0 -setcookie $COOKIE -kernel inet_dist_use_interface {127,0,0,1}"
EJABBERD_PID_PATH=$SPOOL/ejabberd.pid
EJABBERD_BYPASS_WARNINGS=true
EOF
    printf '%s' "$config" >"$CTLCFG"
    chmod 600 "$CTLCFG"
    cp /etc/ejabberd/inetrc "$ETC/inetrc" 2>/dev/null ||
        printf '{lookup,["file","native"]}.\n{host,{127,0,0,1}, ["localhost"]}.\n' >"$ETC/inetrc"
    IFS= read -r -d '' config <<EOF || true
# Generated by scripts/ejabberd.sh; rewritten on every start. Private test ejabberd.
hosts:
  - "$DOMAIN"
loglevel: info
log_rotate_count: 0
certfiles: []
listen:
  -
    port: $c2s
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: $limit
    shaper: c2s_shaper
    access: c2s
    starttls: false
    starttls_required: false
  -
    port: $http
    ip: "127.0.0.1"
    module: ejabberd_http
    tls: false
    request_handlers:
      /ws: ejabberd_http_ws
acl:
  admin:
    user: $admins
  bot:
    user: $unshaped
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
  muc_create:
    allow: local
  muc_admin:
    allow: admin
shaper:
  normal:
    rate: 3000
    burst_size: 20000
  fast: 200000
shaper_rules:
  max_user_sessions: 10
  c2s_shaper:
    - none: admin
    - none: bot
    - normal: all
auth_method: internal
auth_password_format: scram
modules:
  mod_disco: {}
  mod_ping: {}
  mod_roster: {}
  mod_stream_mgmt: {}
${EJABBERD_MODULES_EXTRA_CONFIG:-}
  mod_muc:
    host: "$MUC"
    access: all
    access_create: muc_create
    access_persistent: muc_create
    access_admin: muc_admin
    max_users: 5000
    max_user_conferences: 100000
${EJABBERD_MUC_EXTRA_CONFIG:-}
EOF
    printf '%s' "$config" >"$CFG"
    if ((EUID == 0)); then chown -R "$EJ_USER:$EJ_USER" "$DIR"; fi
}

# ---- start -----------------------------------------------------------------------------------

log_tail() {
    echo "---- tail of $LOG ----" >&2
    tail -n 30 "$LOG" >&2 2>/dev/null || echo "(no log)" >&2
    [[ -s "$OUT" ]] && { echo "---- $OUT ----" >&2; tail -n 20 "$OUT" >&2; }
    echo "---- end ----" >&2
}

launch() { # 0 up, 1 failed, 2 a port was taken (retry with others)
    local http=$1 c2s=$2 t0 deadline launcher out=""
    now_ms; t0=$NOW_MS
    : >"$OUT"
    ((EUID == 0)) && chown "$EJ_USER:$EJ_USER" "$OUT"
    setsid ejabberdctl --config-dir "$ETC" --spool "$SPOOL" --logs "$LOGDIR" foreground \
        </dev/null >>"$OUT" 2>&1 &
    launcher=$!
    deadline=$((t0 + START_TIMEOUT_MS))
    while :; do
        [[ -z "$RUNNING_PID" ]] && find_running
        if [[ -n "$RUNNING_PID" ]] && tcp_connects "$http" && tcp_connects "$c2s" \
            && owns_port "$RUNNING_PID" "$http" && owns_port "$RUNNING_PID" "$c2s"; then
            now_ms
            echo "ejabberd.sh: up in $((NOW_MS - t0)) ms (pid $RUNNING_PID, node $NODE, $DIR)" >&2
            ports_line "$RUNNING_PID"
            return 0
        fi
        { IFS= read -r -d '' out <"$OUT" || true; } 2>/dev/null
        now_ms
        local fail=""
        if [[ "$out" == *eaddrinuse* ]]; then
            fail=port
        elif ! kill -0 "$launcher" 2>/dev/null; then
            fail=exited
        elif ((NOW_MS > deadline)); then
            fail=timeout
        fi
        [[ -z "$fail" ]] && { nap 0.05; continue; }
        find_running
        [[ -n "$RUNNING_PID" ]] && kill_pid "$RUNNING_PID"
        RUNNING_PID=""
        wait "$launcher" 2>/dev/null || true
        [[ $fail == port ]] && return 2
        echo "ejabberd.sh: ejabberd did not come up in $DIR ($fail after $((NOW_MS - t0)) ms)" >&2
        log_tail
        return 1
    done
}

cmd_start() {
    (($# >= 1 && $# <= 3)) || usage
    set_paths "$1"
    local http=${2:-} c2s=${3:-} auto=0 attempt rc
    [[ -z "$http" ]] || valid_port "$http" || die "bad HTTP port: $http"
    [[ -z "$c2s" ]] || valid_port "$c2s" || die "bad c2s port: $c2s"
    ((EUID == 0)) || [[ $(id -un) == "$EJ_USER" ]] ||
        die "run as root or as the $EJ_USER user (ejabberdctl insists)"
    read_ctlcfg
    find_running
    if [[ -n "$RUNNING_PID" ]]; then
        if [[ -n "$http" && "$http" != "$CFG_HTTP" ]] || [[ -n "$c2s" && "$c2s" != "$CFG_C2S" ]]; then
            die "already running in $DIR (pid $RUNNING_PID) on other ports (http=$CFG_HTTP c2s=$CFG_C2S)"
        fi
        echo "ejabberd.sh: already running (pid $RUNNING_PID, $DIR)" >&2
        ports_line "$RUNNING_PID"
        return 0
    fi
    if [[ -z "$http" && -z "$c2s" && -n "$CFG_HTTP" ]]; then
        http=$CFG_HTTP c2s=$CFG_C2S       # a restart keeps its URL
    elif [[ -z "$http" || -z "$c2s" ]]; then
        auto=1
    fi
    scan_tcp
    local p
    for p in "$http" "$c2s"; do
        [[ -n "$p" && -n "${PORT_LISTEN[$p]:-}" ]] && die "port $p is in use by another process"
    done
    for ((attempt = 1; attempt <= 5; attempt++)); do
        [[ -z "$http" ]] && { pick_port "$c2s"; http=$PICKED; }
        [[ -z "$c2s" ]] && { pick_port "$http"; c2s=$PICKED; }
        if [[ -z "$DIST_PORT" || -n "${PORT_LISTEN[$DIST_PORT]:-}" ]]; then
            pick_port "$http" "$c2s"; DIST_PORT=$PICKED
        fi
        CFG_HTTP=$http CFG_C2S=$c2s
        write_config "$http" "$c2s"
        rc=0
        launch "$http" "$c2s" || rc=$?
        case $rc in
            0) return 0 ;;
            2) if [[ $auto == 1 ]]; then
                   echo "ejabberd.sh: a port was taken meanwhile; trying others" >&2
                   http=${2:-} c2s=${3:-} DIST_PORT=""
                   scan_tcp
                   continue
               fi
               echo "ejabberd.sh: a port is in use by another process" >&2
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
    read_ctlcfg
    find_running
    if [[ -n "$RUNNING_PID" ]]; then
        local pid=$RUNNING_PID
        kill_pid "$pid"
        echo "ejabberd.sh: stopped pid $pid ($DIR)" >&2
    fi
    return 0
}

cmd_status() {
    (($# == 1)) || usage
    set_paths "$1"
    read_ctlcfg
    find_running
    if [[ -n "$RUNNING_PID" ]]; then
        echo "running $(ports_line "$RUNNING_PID")"
        return 0
    fi
    echo "stopped"
    return 3
}

check_user() {
    [[ "$1" =~ ^[a-z0-9][a-z0-9._-]*$ ]] || die "bad user name '$1' (use lower-case a-z 0-9 . _ -)"
    [[ -n "$2" && "$2" =~ ^[^[:space:][:cntrl:]]+$ ]] || die "bad or empty password for '$1'"
}

# reads "user password" lines on stdin; one hidden Erlang node calls ejabberd_auth on ours
# for all of them (ejabberdctl register starts a VM per account: ~1 s each)
register_lines() {
    local line user pass n=0 list out
    list=$(mktemp)
    while IFS= read -r line || [[ -n "$line" ]]; do
        read -r user pass <<<"$line"
        [[ -z "$user" || "$user" == \#* ]] && continue
        check_user "$user" "$pass"
        printf '%s %s\n' "$user" "$pass" >>"$list"
        n=$((n + 1))
    done
    ((n > 0)) || { rm -f "$list"; return 0; }
    read_ctlcfg
    find_running
    [[ -n "$RUNNING_PID" ]] || { rm -f "$list"; die "not running in $DIR (accounts need the server)"; }
    # shellcheck disable=SC2016
    local prog='N = list_to_atom(os:getenv("EJ_NODE")),
{ok, B} = file:read_file(os:getenv("EJ_LIST")),
H = list_to_binary(os:getenv("EJ_HOST")),
Ls = [L || L <- binary:split(B, <<"\n">>, [global]), L =/= <<>>],
Bad = lists:filtermap(fun(L) ->
    [U, P] = binary:split(L, <<" ">>),
    R = case rpc:call(N, ejabberd_auth, try_register, [U, H, P], 30000) of
            {error, exists} -> rpc:call(N, ejabberd_auth, set_password, [U, H, P], 30000);
            Other -> Other
        end,
    case R of ok -> false; _ -> {true, {U, R}} end
end, Ls),
case Bad of
    [] -> io:format("~b accounts ready~n", [length(Ls)]), halt(0);
    _ -> io:format("failed: ~p~n", [Bad]), halt(1)
end.'
    local rc=0
    out=$(EJ_NODE=$NODE EJ_LIST=$list EJ_HOST=$DOMAIN "$ERL" -sname "ctl-$$-$RANDOM@localhost" \
        -setcookie "$COOKIE" -erl_epmd_port "$DIST_PORT" -start_epmd false -dist_listen false \
        -hidden -noinput -eval "$prog" 2>&1) || rc=$?
    rm -f "$list"
    ((rc == 0)) || die "registering accounts failed: $out"
    echo "ejabberd.sh: ${out##*$'\n'}" >&2
}

cmd_register() {
    (($# == 3)) || usage
    set_paths "$1"
    check_user "$2" "$3"
    printf '%s %s\n' "$2" "$3" | register_lines
}

cmd_register_many() {
    (($# == 2)) || usage
    set_paths "$1"
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
