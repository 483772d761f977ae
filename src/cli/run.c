/*
 * run.c — `dealerbot run`: wiring of the event loop, the intake API and the signals.
 *
 * The signal handlers only set a flag and call lws_cancel_service(), which writes to lws's
 * wake-up pipe (async-signal-safe) so that lws_service() returns and the loop sees the flag.
 *
 * Everything else — the store, the commits, the answers — happens on this thread, except the
 * heavy reads, which the reader threads (readers.h) compute on their own read-only
 * connections and hand back through lws_cancel_service().
 *
 * Under systemd (Type=notify) the service manager hears READY=1 once the store is open and
 * migrated and the HTTP API listens (so `systemctl start` returns when /healthz answers), and
 * STOPPING=1 when a stop signal arrived.
 */
#include "dealerbot/cli_run.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "dealerbot/chatlink.h"
#include "dealerbot/engine.h"
#include "dealerbot/http.h"
#include "dealerbot/import.h"
#include "dealerbot/log.h"
#include "dealerbot/notify.h"
#include "dealerbot/readers.h"
#include "dealerbot/scheduler.h"

#define MOD "run"

static volatile sig_atomic_t stop_requested;
static struct lws_context *volatile signal_ctx;

/* What the daemon runs besides the HTTP server, for the hooks below. */
struct parts {
    struct chatlink *chat;       /* NULL without a chat platform */
    struct scheduler *sched;
    struct readers *readers;
};

static void on_metrics(FILE *f, void *arg)
{
    struct parts *p = arg;
    if (p->chat)
        chatlink_metrics(f, p->chat);
    if (p->sched)
        scheduler_metrics(f, p->sched);
    readers_metrics(f, p->readers);
}

/* The engine committed outbox rows: the pump sends them now, not at its next poll. */
static void on_kick(void *arg)
{
    chatlink_kick(arg);
}

/* The underperformers list changed: the room's members follow. */
static void on_rooms_kick(void *arg)
{
    chatlink_rooms_changed(arg);
}

/* The API changed the directory: the rooms follow now. */
static void on_directory_kick(void *arg)
{
    chatlink_directory_changed(arg);
}

/* The engine planned SLA events: the scheduler re-arms for the earliest. */
static void on_sla_kick(void *arg)
{
    scheduler_kick(arg);
}

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    struct lws_context *ctx = signal_ctx;
    if (ctx)
        lws_cancel_service(ctx);
}

/* lws log lines arrive formatted, with a trailing newline; errors and warnings keep their
 * level, the chatty notice/info lines become debug. */
static void lws_log_emit(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    enum log_level l = (level & LLL_ERR) ? LOG_ERROR : (level & LLL_WARN) ? LOG_WARN : LOG_DEBUG;
    if (log_get_level() <= l)
        log_msg(l, "lws", "%.*s", (int)n, line);
}

/* Wakes the loop when the drain time is up. */
struct drain_timer {
    lws_sorted_usec_list_t sul;
    struct lws_context *ctx;
    bool expired;
};

static void on_drain_timeout(lws_sorted_usec_list_t *sul)
{
    struct drain_timer *t = lws_container_of(sul, struct drain_timer, sul);
    t->expired = true;
    /* lws 4.1 does not return from lws_service() after a timer alone; wake it. */
    lws_cancel_service(t->ctx);
}

int cli_run(const struct config *cfg, struct store *st)
{
    struct sigaction sa, old_term, old_int, old_pipe;
    struct dbot_diag diag;
    struct http_server *srv = NULL;
    struct engine eng;
    char iface[64];
    int port;

    if (cfg->timezone && cfg->timezone[0]) {
        if (setenv("TZ", cfg->timezone, 1) != 0) {
            log_error(MOD, "cannot set the time zone %s", cfg->timezone);
            return 1;
        }
    }
    tzset();

    dbot_diag_clear(&diag);
    if (engine_init(&eng, cfg, st, &diag) != 0) {
        log_error(MOD, "%s", diag.msg);
        return 1;
    }
    if (cfg->penalties.catalogue && cfg->penalties.catalogue[0]) {
        size_t n = 0;
        dbot_diag_clear(&diag);
        if (import_penalties(st, cfg->penalties.catalogue, &n, &diag) != 0) {
            log_error(MOD, "penalties.catalogue: %s", diag.msg);
            engine_cleanup(&eng);
            return 1;
        }
        log_info(MOD, "penalty catalogue: %zu rule(s) from %s", n, cfg->penalties.catalogue);
    }
    dbot_diag_clear(&diag);
    if (http_listen_parse(cfg->http.listen, iface, sizeof iface, &port, &diag) != 0) {
        log_error(MOD, "%s", diag.msg);
        engine_cleanup(&eng);
        return 1;
    }

    int lws_levels = LLL_ERR | LLL_WARN;
    if (log_get_level() <= LOG_DEBUG)
        lws_levels |= LLL_NOTICE;
    lws_set_log_level(lws_levels, lws_log_emit);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    /* The vhosts are ours to create: the intake API now, the chat client's later. */
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.gid = -1;
    info.uid = -1;
    /* Connections that may hold parsed headers at once (each one is in a transaction,
     * possibly waiting for its group commit). */
    info.max_http_header_pool = 1024;
    /* All the headers of one request, in bytes; a request with more is refused by lws. */
    info.max_http_header_data = 4096;
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx) {
        log_error(MOD, "cannot create the event loop (libwebsockets context)");
        engine_cleanup(&eng);
        return 1;
    }

    /* The reader threads first: the store is migrated (cli opened it), and their vhost
     * takes the hand-backs on this context. */
    struct readers *readers = NULL;
    int rc = readers_start(ctx, cfg->database, (int)cfg->readers.threads,
                           (int)cfg->readers.queue, &readers, &diag);
    if (rc) {
        log_error(MOD, "%s", diag.msg);
        lws_context_destroy(ctx);
        engine_cleanup(&eng);
        return 1;
    }
    eng.readers = readers;
    rc = http_server_start(ctx, cfg, &eng, &srv, &diag);
    if (rc) {
        log_error(MOD, "%s", diag.msg);
        readers_stop(readers);
        lws_context_destroy(ctx);
        readers_free(readers);
        engine_cleanup(&eng);
        return 1;
    }
    struct chatlink *chat = NULL;
    if (cfg->chat.platform && strcmp(cfg->chat.platform, "none") != 0) {
        dbot_diag_clear(&diag);
        if (chatlink_start(ctx, cfg, &eng, &chat, &diag) != 0) {
            log_error(MOD, "%s", diag.msg);
            http_server_stop(srv);
            readers_stop(readers);
            lws_context_destroy(ctx);
            http_server_free(srv);
            readers_free(readers);
            engine_cleanup(&eng);
            return 1;
        }
    }
    struct parts parts = {.chat = chat, .readers = readers};
    if (scheduler_start(ctx, &eng, &parts.sched) != 0) {
        log_error(MOD, "cannot start the SLA scheduler: out of memory");
        chatlink_stop(chat);
        readers_stop(readers);
        lws_context_destroy(ctx);
        http_server_free(srv);
        chatlink_free(chat);
        readers_free(readers);
        engine_cleanup(&eng);
        return 1;
    }
    http_server_set_metrics(srv, on_metrics, &parts);
    eng.sla_kick = on_sla_kick;
    eng.sla_kick_arg = parts.sched;
    if (chat) {
        eng.kick = on_kick;
        eng.kick_arg = chat;
        eng.rooms_kick = on_rooms_kick;
        eng.rooms_kick_arg = chat;
        eng.directory_kick = on_directory_kick;
        eng.directory_kick_arg = chat;
    }
    bool v6 = strchr(iface, ':') != NULL;
    log_info(MOD, "listening on %s%s%s:%d", v6 ? "[" : "", iface[0] ? iface : "*", v6 ? "]" : "",
             http_server_port(srv));

    stop_requested = 0;
    signal_ctx = ctx;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, &old_pipe);

    char status[160];
    snprintf(status, sizeof status, "READY=1\nSTATUS=listening on %s%s%s:%d\nMAINPID=%ld",
             v6 ? "[" : "", iface[0] ? iface : "*", v6 ? "]" : "", http_server_port(srv),
             (long)getpid());
    if (notify_send(status) != 0)
        log_warn(MOD, "cannot tell the service manager that the daemon is ready "
                      "($NOTIFY_SOCKET)");

    int exit_code = 0;
    while (!stop_requested) {
        if (lws_service(ctx, 0) < 0) {
            log_error(MOD, "the event loop failed");
            exit_code = 1;
            break;
        }
    }
    log_info(MOD, "stopping");
    notify_send("STOPPING=1");

    /* Finish what is in hand: commit the queue, then let the loop write the answers. */
    http_server_stop(srv);
    struct drain_timer drain = {.ctx = ctx, .expired = false};
    lws_sul_schedule(ctx, 0, &drain.sul, on_drain_timeout,
                     (lws_usec_t)RUN_DRAIN_MS * 1000);
    while (http_server_busy(srv) && !drain.expired) {
        if (lws_service(ctx, 0) < 0)
            break;
    }
    if (http_server_busy(srv))
        log_warn(MOD, "stopped with answers still unwritten after %d ms", RUN_DRAIN_MS);
    lws_sul_cancel(&drain.sul);

    /* No more timers of ours: the scheduler goes before the chat closes. */
    eng.sla_kick = NULL;
    scheduler_free(parts.sched);
    parts.sched = NULL;

    /* Close the chat stream politely and give the loop a moment to write the close. */
    if (chat) {
        chatlink_stop(chat);
        drain.expired = false;
        lws_sul_schedule(ctx, 0, &drain.sul, on_drain_timeout, 200 * 1000);
        while (!drain.expired) {
            if (lws_service(ctx, 0) < 0)
                break;
        }
        lws_sul_cancel(&drain.sul);
    }

    /* The reader threads end before the context they wake goes; reads still parked are
     * dropped when their connections close with the context, and readers_free() calls
     * their done so that nothing leaks. */
    readers_stop(readers);
    signal_ctx = NULL;
    lws_context_destroy(ctx);
    http_server_free(srv);
    chatlink_free(chat);
    eng.readers = NULL;
    readers_free(readers);
    engine_cleanup(&eng);

    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGPIPE, &old_pipe, NULL);
    log_info(MOD, "stopped");
    return exit_code;
}
