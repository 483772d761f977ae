/*
 * httpc.c — libcurl multi on the lws loop (see httpc.h).
 */
#include "httpc.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dealerbot/log.h"

#define MOD "httpc"
#define REQ_TIMEOUT_MS 30000L
#define CONNECT_TIMEOUT_MS 10000L
#define IDLE_EASY_MAX 32 /* finished easy handles kept for the next requests */

struct httpc_req {
    struct httpc_req *prev, *next;
    struct httpc *h;
    CURL *easy;
    struct curl_slist *headers;
    char *resp;
    size_t len, cap;
    bool too_big;
    httpc_done_fn cb;
    void *arg;
    char err[CURL_ERROR_SIZE];
};

/* One socket curl asked us to watch. */
struct hsock {
    struct httpc *h;
    curl_socket_t fd; /* curl's */
    struct lws *wsi;  /* the adopted dup, NULL once gone */
    int want;         /* CURL_POLL_* */
};

struct httpc {
    struct lws_context *ctx;
    struct lws_vhost *vh;
    CURLM *multi;
    char *ca_file;
    struct httpc_req *reqs;
    size_t n_reqs;
    lws_sorted_usec_list_t sul;
    bool sul_armed;
    bool in_action; /* inside curl_multi_socket_action: done callbacks wait */
    bool stopped;   /* httpc_cancel_all ran: the loop may be going away, curl is not driven */
    CURL *idle[IDLE_EASY_MAX]; /* reset easy handles, ready for reuse */
    size_t n_idle;
};

static void check_done(struct httpc *h);

static void drive(struct httpc *h, curl_socket_t fd, int ev)
{
    int running = 0;
    h->in_action = true;
    curl_multi_socket_action(h->multi, fd, ev, &running);
    h->in_action = false;
    check_done(h);
}

static void hsock_detach(struct hsock *hs)
{
    if (hs->wsi) {
        lws_set_opaque_user_data(hs->wsi, NULL);
        lws_set_timeout(hs->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        hs->wsi = NULL;
    }
}

static void hsock_apply(struct hsock *hs)
{
    if (!hs->wsi)
        return;
    lws_rx_flow_control(hs->wsi, (hs->want & CURL_POLL_IN) ? 1 : 0);
    if (hs->want & CURL_POLL_OUT)
        lws_callback_on_writable(hs->wsi);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    struct httpc *h = userp;
    struct hsock *hs = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (hs) {
            hsock_detach(hs);
            curl_multi_assign(h->multi, fd, NULL);
            free(hs);
        }
        return 0;
    }
    if (!hs) {
        hs = calloc(1, sizeof *hs);
        if (!hs)
            return -1;
        hs->h = h;
        hs->fd = fd;
        int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dupfd < 0) {
            free(hs);
            return -1;
        }
        lws_sock_file_fd_type u;
        memset(&u, 0, sizeof u);
        u.filefd = (lws_filefd_type)dupfd;
        hs->wsi = lws_adopt_descriptor_vhost(h->vh, LWS_ADOPT_RAW_FILE_DESC, u,
                                             HTTPC_PROTOCOL_NAME, NULL);
        if (!hs->wsi) {
            close(dupfd);
            free(hs);
            log_error(MOD, "cannot watch a socket of an outgoing request");
            return -1;
        }
        lws_set_opaque_user_data(hs->wsi, hs);
        curl_multi_assign(h->multi, fd, hs);
    }
    hs->want = what;
    hsock_apply(hs);
    return 0;
}

static void on_sul(lws_sorted_usec_list_t *sul)
{
    struct httpc *h = lws_container_of(sul, struct httpc, sul);
    h->sul_armed = false;
    if (h->stopped)
        return;
    drive(h, CURL_SOCKET_TIMEOUT, 0);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct httpc *h = userp;
    if (h->sul_armed)
        lws_sul_cancel(&h->sul);
    h->sul_armed = false;
    if (timeout_ms < 0 || h->stopped)
        return 0;
    lws_sul_schedule(h->ctx, 0, &h->sul, on_sul, (lws_usec_t)timeout_ms * 1000);
    h->sul_armed = true;
    return 0;
}

int httpc_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct hsock *hs = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        if (!hs)
            return -1;
        drive(hs->h, hs->fd, CURL_CSELECT_IN);
        return 0;
    case LWS_CALLBACK_RAW_WRITEABLE_FILE:
        if (!hs)
            return 0;
        {
            struct httpc *h = hs->h;
            curl_socket_t fd = hs->fd;
            drive(h, fd, CURL_CSELECT_OUT);
            /* hs may be gone now (curl removed the socket) */
        }
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (hs && hs->h->stopped) {
            /* the context is closing everything: curl is not driven from here */
            lws_set_opaque_user_data(wsi, NULL);
            hs->wsi = NULL;
        } else if (hs) {
            /* lws gave up on the socket (hang-up): let curl see it and end the transfer */
            struct httpc *h = hs->h;
            curl_socket_t fd = hs->fd;
            lws_set_opaque_user_data(wsi, NULL);
            hs->wsi = NULL;
            drive(h, fd, CURL_CSELECT_IN | CURL_CSELECT_ERR);
        }
        return 0;
    default:
        break;
    }
    (void)user;
    (void)in;
    (void)len;
    return 0;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct httpc_req *r = userdata;
    size_t n = size * nmemb;
    if (r->len + n > HTTPC_BODY_MAX) {
        r->too_big = true;
        return 0; /* curl fails the transfer */
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 1024;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *nb = realloc(r->resp, cap);
        if (!nb)
            return 0;
        r->resp = nb;
        r->cap = cap;
    }
    memcpy(r->resp + r->len, ptr, n);
    r->len += n;
    r->resp[r->len] = '\0';
    return n;
}

static void req_unlink(struct httpc_req *r)
{
    struct httpc *h = r->h;
    if (r->prev)
        r->prev->next = r->next;
    else
        h->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    h->n_reqs--;
}

static void req_free(struct httpc_req *r)
{
    struct httpc *h = r->h;
    curl_multi_remove_handle(h->multi, r->easy);
    if (h->n_idle < IDLE_EASY_MAX) {
        curl_easy_reset(r->easy);
        h->idle[h->n_idle++] = r->easy;
    } else {
        curl_easy_cleanup(r->easy);
    }
    curl_slist_free_all(r->headers);
    free(r->resp);
    free(r);
}

static void check_done(struct httpc *h)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct httpc_req *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (!r)
            continue;
        CURLcode rc = msg->data.result;
        long status = 0;
        char why[CURL_ERROR_SIZE + 64] = "";
        if (rc == CURLE_OK) {
            curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        } else if (r->too_big) {
            snprintf(why, sizeof why, "the answer is over %u bytes", HTTPC_BODY_MAX);
        } else {
            snprintf(why, sizeof why, "%s", r->err[0] ? r->err : curl_easy_strerror(rc));
        }
        req_unlink(r);
        httpc_done_fn cb = r->cb;
        void *arg = r->arg;
        const char *body = r->resp ? r->resp : "";
        size_t len = r->len;
        char *keep = r->resp;
        r->resp = NULL;
        req_free(r);
        if (cb)
            cb(status, body, len, status ? NULL : why, arg);
        free(keep);
    }
}

int httpc_new(struct lws_context *ctx, struct lws_vhost *vh, const char *ca_file,
              long max_conns, struct httpc **out)
{
    struct httpc *h = calloc(1, sizeof *h);
    if (!h)
        return DBOT_ERR_NOMEM;
    h->ctx = ctx;
    h->vh = vh;
    if (ca_file && !(h->ca_file = strdup(ca_file))) {
        free(h);
        return DBOT_ERR_NOMEM;
    }
    h->multi = curl_multi_init();
    if (!h->multi) {
        free(h->ca_file);
        free(h);
        return DBOT_ERR_IO;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_conns);
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, max_conns);
    curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    *out = h;
    return 0;
}

void httpc_cancel(struct httpc_req *r)
{
    if (!r)
        return;
    req_unlink(r);
    req_free(r);
}

void httpc_cancel_all(struct httpc *h)
{
    if (!h)
        return;
    while (h->reqs)
        httpc_cancel(h->reqs);
    h->stopped = true;
    if (h->sul_armed)
        lws_sul_cancel(&h->sul);
    h->sul_armed = false;
}

void httpc_free(struct httpc *h)
{
    if (!h)
        return;
    httpc_cancel_all(h);
    while (h->n_idle)
        curl_easy_cleanup(h->idle[--h->n_idle]);
    curl_multi_cleanup(h->multi);
    free(h->ca_file);
    free(h);
}

size_t httpc_active(const struct httpc *h)
{
    return h ? h->n_reqs : 0;
}

int httpc_post(struct httpc *h, const char *url, const char *token, const char *body,
               httpc_done_fn cb, void *arg, struct httpc_req **out)
{
    if (h->stopped)
        return DBOT_ERR_BUSY;
    struct httpc_req *r = calloc(1, sizeof *r);
    if (!r)
        return DBOT_ERR_NOMEM;
    r->h = h;
    r->cb = cb;
    r->arg = arg;
    r->easy = h->n_idle ? h->idle[--h->n_idle] : curl_easy_init();
    if (!r->easy) {
        free(r);
        return DBOT_ERR_NOMEM;
    }
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json"), *n;
    if (hd) {
        if ((n = curl_slist_append(hd, "Accept: application/json")) == NULL) {
            curl_slist_free_all(hd);
            hd = NULL;
        } else {
            hd = n;
        }
    }
    if (hd && token) {
        char line[1200];
        n = NULL;
        if ((size_t)snprintf(line, sizeof line, "x-acs-dingtalk-access-token: %s", token) <
            sizeof line)
            n = curl_slist_append(hd, line);
        memset(line, 0, sizeof line);
        if (!n) {
            curl_slist_free_all(hd);
            hd = NULL;
        } else {
            hd = n;
        }
    }
    if (!hd) {
        curl_easy_cleanup(r->easy);
        free(r);
        return DBOT_ERR_NOMEM;
    }
    r->headers = hd;
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->err);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, REQ_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    if (h->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        curl_slist_free_all(hd);
        curl_easy_cleanup(e);
        free(r);
        return DBOT_ERR_NOMEM;
    }
    r->next = h->reqs;
    if (h->reqs)
        h->reqs->prev = r;
    h->reqs = r;
    h->n_reqs++;
    if (out)
        *out = r;
    return 0;
}
