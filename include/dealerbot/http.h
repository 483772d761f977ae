/*
 * http.h — the intake API: an HTTP/1.1 server on its own libwebsockets vhost and protocol,
 * sharing the process's one lws context and loop with the chat client.
 *
 * Routes (DESIGN.md, Intake API): POST/GET /api/v1/complaints, GET /api/v1/complaints/{id},
 * GET /api/v1/dealers, GET|PUT /api/v1/dealers/{code}, GET /healthz, GET /metrics (Prometheus
 * text format 0.0.4: the server's counters, then what the metrics hook adds). Every /api/ call needs
 * `Authorization: Bearer <http.token>` (compared in constant time). Bodies and answers are
 * JSON; every error is {"error": "<one line>"} with its status (400, 401, 404, 405 + Allow,
 * 411, 413, 415, 422, 500).
 *
 * Group commit: a validated POSTed complaint is queued, not committed on its own. The queue is
 * committed in ONE engine_intake_batch() call when http.commit_window_us has passed since the
 * first queued item (0 = the next loop turn) or when HTTP_BATCH_MAX items are waiting. Only
 * after that commit returns are the 201/200 answers written, so a 201 means the complaint is
 * on disk. A client that hangs up while its item is queued still gets its complaint stored;
 * nothing is written to it.
 *
 * HTTP/1.1 keep-alive is supported; a request pipelined behind a POST/PUT is not served on
 * that connection: the POST/PUT is answered with "Connection: close" (libwebsockets 4.1
 * cannot hold the extra bytes while an answer waits for its commit).
 *
 * Threads: everything here runs on the loop thread that services the lws context. The server
 * never blocks except inside the store calls (one commit per batch, reads for GETs).
 *
 * Ownership: the server borrows the config and the engine (and through it the store); they
 * must outlive it. The vhost belongs to the lws context. Tear down in this order:
 * http_server_stop() (commits what is queued, cancels the timer), lws_context_destroy()
 * (closes the connections; their callbacks still use the server), http_server_free().
 */
#ifndef DEALERBOT_HTTP_H
#define DEALERBOT_HTTP_H

#include <stdbool.h>
#include <stdio.h>

#include "dealerbot/config.h"
#include "dealerbot/engine.h"
#include "dealerbot/error.h"

struct lws_context;
struct http_server;

/* The most complaints one group commit takes; a full queue is committed at once. */
#define HTTP_BATCH_MAX 256

/* Splits http.listen ("127.0.0.1:8080", "[::1]:8080", "*:8080", "localhost:8080") into the
 * interface lws binds (copied into iface; "" = every interface) and the port. Pure. Returns 0
 * or DBOT_ERR_INVALID with diag. */
int http_listen_parse(const char *listen, char *iface, size_t iface_len, int *port,
                      struct dbot_diag *diag);

/* Creates the "http" vhost on `ctx` (which must have been created with
 * LWS_SERVER_OPTION_EXPLICIT_VHOSTS) listening on cfg->http.listen. Returns 0 and *out = a new
 * server, or DBOT_ERR_INVALID (bad listen address) / DBOT_ERR_IO (cannot bind) /
 * DBOT_ERR_NOMEM with diag. Borrows cfg and eng. */
int http_server_start(struct lws_context *ctx, const struct config *cfg, struct engine *eng,
                      struct http_server **out, struct dbot_diag *diag);

/* Appends Prometheus text-format lines (with their # HELP/# TYPE) to `out` for GET /metrics. */
typedef void (*http_metrics_fn)(FILE *out, void *arg);

/* Sets the hook that adds the rest of the process's metrics (chat, outbox) to GET /metrics;
 * `arg` is borrowed and must outlive the server (or the hook be reset to NULL first). */
void http_server_set_metrics(struct http_server *srv, http_metrics_fn fn, void *arg);

/* (The lines themselves are written with metrics.h, which the engine uses too.) */

/* The port the server listens on (useful when http.listen asked for port 0). */
int http_server_port(const struct http_server *srv);

/* Commits whatever intake is queued now and stops the commit timer; from now on each queued
 * intake is committed at once. The answers are written as the loop keeps running. */
void http_server_stop(struct http_server *srv);

/* True while some request is in hand: being received, queued for commit or being answered. */
bool http_server_busy(const struct http_server *srv);

/* Frees the server. Call only after lws_context_destroy() (the connections' close callbacks
 * use it). NULL allowed. */
void http_server_free(struct http_server *srv);

#endif
