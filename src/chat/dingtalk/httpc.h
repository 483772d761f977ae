/*
 * httpc.h — outgoing HTTP(S) requests through libcurl's multi interface, driven by the
 * daemon's lws event loop: no thread, no blocking call.
 *
 * libcurl tells us which of its sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to call
 * it back (CURLMOPT_TIMERFUNCTION); each watched socket is adopted into lws as a raw file
 * descriptor (a dup of curl's, so that lws closing its copy never closes curl's) on a protocol
 * of the owner's vhost, and its readiness becomes curl_multi_socket_action(); the timer is an
 * lws_sorted_usec_list_t. Connections are kept alive and reused (HTTP/1.1 keep-alive, HTTP/2
 * multiplexing over TLS).
 *
 * Main thread only. Callbacks run from the loop, never from inside httpc_post(). The owner
 * puts HTTPC_PROTOCOL into its vhost's protocol list (name and callback below).
 */
#ifndef DBOT_CHAT_DINGTALK_HTTPC_H
#define DBOT_CHAT_DINGTALK_HTTPC_H

#include <libwebsockets.h>
#include <stddef.h>

#include "dealerbot/error.h"

struct httpc;
struct httpc_req;

#define HTTPC_PROTOCOL_NAME "dealerbot-httpc"
#define HTTPC_BODY_MAX (256u * 1024) /* an answer body larger than this fails the request */

/* The lws protocol callback for adopted sockets (put it in the vhost's protocols). */
int httpc_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len);

/* A request ended: status is the HTTP status (0 when there was no answer: err says why, one
 * line); body/len the answer (NUL-terminated, valid for the call only). The request is freed
 * after the call. */
typedef void (*httpc_done_fn)(long status, const char *body, size_t len, const char *err,
                              void *arg);

/* A new client on ctx/vhost (the vhost must have the HTTPC protocol). ca_file may be NULL.
 * max_conns: connections kept per host. Returns 0, DBOT_ERR_NOMEM or DBOT_ERR_IO. */
int httpc_new(struct lws_context *ctx, struct lws_vhost *vh, const char *ca_file,
              long max_conns, struct httpc **out);

/* Cancels every request (no callbacks) and frees. NULL allowed. Call while the context
 * still exists, or after httpc_cancel_all() ran while it did. */
void httpc_free(struct httpc *h);

/* Cancels every request without calling their callbacks; afterwards the client takes no
 * new request and no longer drives curl from the loop (the owner is stopping). */
void httpc_cancel_all(struct httpc *h);

/* POSTs body (JSON, copied) to url with an optional access-token header value (copied;
 * never logged). Returns 0 and the request in *out (may be NULL), or DBOT_ERR_NOMEM. */
int httpc_post(struct httpc *h, const char *url, const char *token, const char *body,
               httpc_done_fn cb, void *arg, struct httpc_req **out);

/* Cancels one request; its callback is not called. */
void httpc_cancel(struct httpc_req *r);

/* Requests running now. */
size_t httpc_active(const struct httpc *h);

#endif
