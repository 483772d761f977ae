/*
 * bench_intake — load generator for the complaint intake API (issue 2, "Benchmark").
 *
 * N clients, each on its own HTTP/1.1 keep-alive connection, post complaints to a running
 * dealerbot (`POST /api/v1/complaints`) as fast as the bot answers, for a given count or
 * duration. Every complaint carries a unique external_id ("bench-<run>-<n>") and one of the
 * dealers D0001..DK in turn, so every request creates a ticket: a 201 is the only success.
 *
 * At the end it prints plain "key: value" lines: the machine, complaints/s, the latency of the
 * 201s (p50/p90/p99/max, from the first byte of the request to the last byte of the answer,
 * connection setup included for a connection's first request), the count of non-201 answers
 * and transport errors, the CPU both sides spent per complaint, and with --pid the bot's
 * VmRSS/VmHWM. It exits 1 when anything but a 201 came back, 2 on a usage error.
 *
 * Two engines send the same requests. `raw` (the default) is plain non-blocking sockets and
 * poll(); `curl` is libcurl's multi interface, kept as a cross-check of the raw client's HTTP
 * handling and for https URLs. The client shares the machine's cores with the bot, so its own
 * cost matters: against a trivial epoll server on the 2-core bench machine, raw spent 12-18 us
 * of CPU per request and curl 25-29 us, and at 16 clients curl added ~0.3 ms to the median;
 * against dealerbot (~130 us of bot CPU per durable complaint) raw spent ~20 us and curl ~46 us
 * (the "bench cpu" line reports it on every run). Both get the same answers; raw leaves the bot
 * more of the shared CPU, so it is the default.
 *
 * One thread, no signals; everything it allocates lives until exit.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define REQ_MAX 4096          /* one request, headers and body */
#define RESP_MAX 16384        /* one response; the intake API answers a few hundred bytes */
#define SNIPPET_MAX 200       /* how much of an unexpected answer is kept for the report */
#define ERROR_EXAMPLES 5      /* distinct unexpected answers shown at the end */
#define LATENCIES_MAX (200u * 1000u * 1000u) /* 800 MB of samples: a bound, not a target */

enum engine { ENGINE_RAW, ENGINE_CURL };

struct options {
    const char *url;
    char *token;
    int clients;
    long count;      /* > 0: stop after this many requests */
    double seconds;  /* > 0: stop issuing after this long */
    int dealers;
    long pid;        /* > 0: the bot, for RSS and CPU */
    char run_id[64];
    enum engine engine;
    int timeout_ms;  /* per request */
};

/* The parsed --url: the raw engine speaks only plain http. */
struct target {
    char host[256];
    char port[16];
    char hostport[300];   /* for the Host header, as written in the URL */
    char path[512];       /* base path + /api/v1/complaints */
    char full_url[1024];  /* for libcurl */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int family;
};

struct stats {
    uint32_t *lat_us;      /* latencies of the 201s, microseconds */
    size_t n, cap;
    long answers[600];     /* by HTTP status */
    long other_status;     /* status outside 100..599 */
    long transport_errors; /* reset, timeout, malformed answer */
    char examples[ERROR_EXAMPLES][SNIPPET_MAX + 64];
    int n_examples;
};

struct bench {
    struct options opt;
    struct target tgt;
    struct stats st;
    long next_seq;   /* sequence number of the next complaint */
    double t_start;  /* monotonic seconds */
    double t_end;    /* when the last answer arrived */
    double deadline; /* --seconds mode */
};

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die_usage(const char *msg)
{
    fprintf(stderr, "bench_intake: %s (try --help)\n", msg);
    exit(2);
}

/* ---- options ---------------------------------------------------------------------------- */

static long parse_long(const char *s, const char *what, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "bench_intake: %s must be an integer in %ld..%ld, not '%s'\n", what, min,
                max, s);
        exit(2);
    }
    return v;
}

static double parse_seconds(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v > 0.0) || v > 86400.0) {
        fprintf(stderr, "bench_intake: --seconds must be a number in (0, 86400], not '%s'\n", s);
        exit(2);
    }
    return v;
}

/* Reads a token file: first line, surrounding whitespace removed. Returns a new string. */
static char *read_token_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bench_intake: cannot open token file %s: %s\n", path, strerror(errno));
        exit(2);
    }
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = buf;
    while (*p && isspace((unsigned char)*p))
        p++;
    size_t len = strcspn(p, "\r\n");
    while (len > 0 && isspace((unsigned char)p[len - 1]))
        len--;
    p[len] = '\0';
    if (len == 0) {
        fprintf(stderr, "bench_intake: token file %s is empty\n", path);
        exit(2);
    }
    return strdup(p);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bench_intake [options]\n"
            "  --url URL          bot base URL (default http://127.0.0.1:8080)\n"
            "  --token TOKEN      API bearer token\n"
            "  --token-file FILE  read the token from FILE\n"
            "  --clients N        concurrent keep-alive connections (default 16)\n"
            "  --count M          post M complaints in all (default 10000)\n"
            "  --seconds S        or: post for S seconds\n"
            "  --dealers K        spread over dealers D0001..DK (default 5000)\n"
            "  --pid PID          the bot's pid: report its VmRSS/VmHWM and CPU\n"
            "  --run-id ID        external_id prefix bench-ID-<n> (default: time and pid)\n"
            "  --engine raw|curl  HTTP client (default raw: sockets + poll)\n"
            "  --timeout-ms MS    per-request timeout (default 30000)\n"
            "Exit status: 0 all 201, 1 anything else came back, 2 usage error.\n");
}

static void parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},     {"token", required_argument, NULL, 't'},
        {"token-file", required_argument, NULL, 'T'},
        {"clients", required_argument, NULL, 'c'}, {"count", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 's'}, {"dealers", required_argument, NULL, 'd'},
        {"pid", required_argument, NULL, 'p'},     {"run-id", required_argument, NULL, 'r'},
        {"engine", required_argument, NULL, 'e'},  {"timeout-ms", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->url = "http://127.0.0.1:8080";
    o->clients = 16;
    o->dealers = 5000;
    o->timeout_ms = 30000;
    o->engine = ENGINE_RAW;
    snprintf(o->run_id, sizeof o->run_id, "%lx-%ld", (long)time(NULL), (long)getpid());

    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'u': o->url = optarg; break;
        case 't': free(o->token); o->token = strdup(optarg); break;
        case 'T': free(o->token); o->token = read_token_file(optarg); break;
        case 'c': o->clients = (int)parse_long(optarg, "--clients", 1, 10000); break;
        case 'n': o->count = parse_long(optarg, "--count", 1, LATENCIES_MAX); break;
        case 's': o->seconds = parse_seconds(optarg); break;
        case 'd': o->dealers = (int)parse_long(optarg, "--dealers", 1, 9999999); break;
        case 'p': o->pid = parse_long(optarg, "--pid", 1, 1L << 30); break;
        case 'r':
            if (strlen(optarg) >= sizeof o->run_id || strpbrk(optarg, "\"\\") != NULL)
                die_usage("--run-id must be under 64 characters without quotes or backslashes");
            snprintf(o->run_id, sizeof o->run_id, "%s", optarg);
            break;
        case 'e':
            if (strcmp(optarg, "raw") == 0)
                o->engine = ENGINE_RAW;
            else if (strcmp(optarg, "curl") == 0)
                o->engine = ENGINE_CURL;
            else
                die_usage("--engine is raw or curl");
            break;
        case 'o': o->timeout_ms = (int)parse_long(optarg, "--timeout-ms", 1, 3600000); break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument");
    if (!o->token)
        die_usage("--token or --token-file is required");
    if (strpbrk(o->token, "\r\n") != NULL || strlen(o->token) > 1000)
        die_usage("the token must be one line of at most 1000 characters");
    if (o->count > 0 && o->seconds > 0)
        die_usage("--count and --seconds exclude each other");
    if (o->count == 0 && o->seconds == 0)
        o->count = 10000;
}

/* Splits http://host[:port][/base] and resolves host for the raw engine. */
static void parse_target(const struct options *o, struct target *t)
{
    memset(t, 0, sizeof *t);
    const char *u = o->url;
    bool https = strncmp(u, "https://", 8) == 0;
    if (strncmp(u, "http://", 7) != 0 && !https)
        die_usage("--url must start with http:// or https://");
    if (https && o->engine == ENGINE_RAW)
        die_usage("the raw engine speaks plain http; use --engine curl for https");
    const char *hp = u + (https ? 8 : 7);
    size_t hplen = strcspn(hp, "/?#");
    if (hplen == 0 || hplen >= sizeof t->hostport)
        die_usage("--url has no host or an over-long one");
    memcpy(t->hostport, hp, hplen);
    const char *base = hp + hplen;
    size_t blen = strcspn(base, "?#");
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    if (blen + sizeof "/api/v1/complaints" > sizeof t->path)
        die_usage("--url path is too long");
    snprintf(t->path, sizeof t->path, "%.*s/api/v1/complaints", (int)blen, base);
    if ((size_t)snprintf(t->full_url, sizeof t->full_url, "%s://%s%s", https ? "https" : "http",
                         t->hostport, t->path) >= sizeof t->full_url)
        die_usage("--url is too long");

    /* host and port: [v6]:port, host:port or host */
    const char *port = NULL;
    if (t->hostport[0] == '[') {
        const char *rb = strchr(t->hostport, ']');
        if (!rb)
            die_usage("--url has an unterminated [IPv6] host");
        snprintf(t->host, sizeof t->host, "%.*s", (int)(rb - t->hostport - 1), t->hostport + 1);
        if (rb[1] == ':')
            port = rb + 2;
    } else {
        const char *colon = strrchr(t->hostport, ':');
        snprintf(t->host, sizeof t->host, "%.*s",
                 (int)(colon ? (size_t)(colon - t->hostport) : strlen(t->hostport)),
                 t->hostport);
        if (colon)
            port = colon + 1;
    }
    snprintf(t->port, sizeof t->port, "%s", port && *port ? port : (https ? "443" : "80"));

    if (o->engine != ENGINE_RAW)
        return;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(t->host, t->port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "bench_intake: cannot resolve %s port %s: %s\n", t->host, t->port,
                gai_strerror(rc));
        exit(2);
    }
    memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
    t->addrlen = res->ai_addrlen;
    t->family = res->ai_family;
    freeaddrinfo(res);
}

/* ---- requests and results (shared by both engines) --------------------------------------- */

/* Hands out the next complaint number, or returns false when the run is over. */
static bool take_next(struct bench *b, long *seq)
{
    if (b->opt.count > 0) {
        if (b->next_seq >= b->opt.count)
            return false;
    } else if (now_mono() >= b->deadline) {
        return false;
    }
    *seq = b->next_seq++;
    return true;
}

/* Writes complaint number seq as JSON into buf. Returns its length. */
static size_t format_body(const struct bench *b, long seq, char *buf, size_t cap)
{
    int dealer = (int)(seq % b->opt.dealers) + 1;
    int n = snprintf(buf, cap,
                     "{\"external_id\":\"bench-%s-%ld\",\"dealer\":\"D%04d\","
                     "\"category\":\"sales\",\"priority\":\"normal\","
                     "\"customer\":{\"name\":\"张三\",\"phone\":\"13800000000\"},"
                     "\"summary\":\"新车交付延期两周，销售顾问不回电话，客户要求说明原因"
                     "并给出交车日期 (bench %ld)\"}",
                     b->opt.run_id, seq, dealer, seq);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "bench_intake: request body does not fit in %zu bytes\n", cap);
        exit(2);
    }
    return (size_t)n;
}

static void record_latency(struct stats *st, double seconds)
{
    if (st->n == st->cap) {
        size_t ncap = st->cap ? st->cap * 2 : 65536;
        if (ncap > LATENCIES_MAX)
            ncap = LATENCIES_MAX;
        if (ncap <= st->n) {
            fprintf(stderr, "bench_intake: more than %u samples; use a shorter run\n",
                    LATENCIES_MAX);
            exit(2);
        }
        uint32_t *p = realloc(st->lat_us, ncap * sizeof *p);
        if (!p) {
            fprintf(stderr, "bench_intake: out of memory for latency samples\n");
            exit(2);
        }
        st->lat_us = p;
        st->cap = ncap;
    }
    double us = seconds * 1e6;
    st->lat_us[st->n++] = us >= 4e9 ? UINT32_MAX : (uint32_t)(us + 0.5);
}

/* Keeps a few distinct examples of what went wrong, for the report. */
static void note_example(struct stats *st, const char *what, const char *body, size_t len)
{
    char line[sizeof st->examples[0]];
    size_t n = (size_t)snprintf(line, sizeof line, "%s", what);
    if (len > 0 && n + 2 < sizeof line) {
        line[n++] = ':';
        line[n++] = ' ';
        for (size_t i = 0; i < len && i < SNIPPET_MAX && n + 1 < sizeof line; i++)
            line[n++] = (body[i] == '\r' || body[i] == '\n') ? ' ' : body[i];
        line[n] = '\0';
    }
    for (int i = 0; i < st->n_examples; i++)
        if (strcmp(st->examples[i], line) == 0)
            return;
    if (st->n_examples < ERROR_EXAMPLES)
        snprintf(st->examples[st->n_examples++], sizeof st->examples[0], "%s", line);
}

/* One answer arrived: status and body, t0 when the request started. */
static void record_answer(struct bench *b, int status, const char *body, size_t len, double t0)
{
    double t = now_mono();
    b->t_end = t;
    if (status >= 100 && status < 600)
        b->st.answers[status]++;
    else
        b->st.other_status++;
    if (status == 201) {
        record_latency(&b->st, t - t0);
    } else {
        char what[32];
        snprintf(what, sizeof what, "status %d", status);
        note_example(&b->st, what, body, len);
    }
}

static void record_transport_error(struct bench *b, const char *what)
{
    b->t_end = now_mono();
    b->st.transport_errors++;
    note_example(&b->st, what, NULL, 0);
}

/* ---- raw engine: non-blocking sockets and poll() ----------------------------------------- */

enum conn_state { CONN_FREE, CONN_CONNECTING, CONN_SENDING, CONN_RECEIVING, CONN_DONE };

struct conn {
    int fd;
    enum conn_state state;
    long seq;
    double t0;
    int served; /* answers received on this connection */
    size_t req_len, req_off;
    size_t resp_len;
    char req[REQ_MAX];
    char resp[RESP_MAX];
};

struct answer {
    int status;
    bool keep_alive;
    size_t body_off, body_len;
};

static const char *find_crlf(const char *p, const char *end)
{
    for (; p + 1 < end; p++)
        if (p[0] == '\r' && p[1] == '\n')
            return p;
    return NULL;
}

static const char *find_header_end(const char *p, size_t len)
{
    for (size_t i = 0; i + 3 < len; i++)
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
            return p + i;
    return NULL;
}

static bool header_is(const char *line, size_t len, const char *name, const char **value)
{
    size_t nl = strlen(name);
    if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return false;
    const char *v = line + nl + 1;
    while (v < line + len && (*v == ' ' || *v == '\t'))
        v++;
    *value = v;
    return true;
}

static bool value_has(const char *v, const char *end, const char *token)
{
    size_t tl = strlen(token);
    for (; v + tl <= end; v++)
        if (strncasecmp(v, token, tl) == 0)
            return true;
    return false;
}

/*
 * Decides whether resp[0..len) holds one complete HTTP/1.x answer. Returns 1 and fills *a when
 * it does, 0 when more bytes are needed, -1 when it is malformed (or, at eof, truncated).
 * The answer must end exactly at len: one request is in flight per connection, so anything
 * after it is a protocol error. Bodies are framed by Content-Length, chunked encoding, or
 * (neither) the end of the connection.
 */
static int parse_answer(const char *resp, size_t len, bool eof, struct answer *a)
{
    const char *end = resp + len;
    const char *hend = find_header_end(resp, len);
    if (!hend)
        return eof || len == RESP_MAX ? -1 : 0;
    if (len < 12 || strncmp(resp, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)resp[9]) ||
        !isdigit((unsigned char)resp[10]) || !isdigit((unsigned char)resp[11]))
        return -1;
    int status = (resp[9] - '0') * 100 + (resp[10] - '0') * 10 + (resp[11] - '0');
    bool keep = resp[7] == '1';
    long clen = -1;
    bool chunked = false;

    const char *hdr_stop = hend + 2; /* past the last header line's CRLF */
    const char *line = find_crlf(resp, hdr_stop) + 2;
    while (line < hdr_stop) {
        const char *eol = find_crlf(line, hdr_stop);
        size_t ll = (size_t)(eol - line);
        const char *v;
        if (header_is(line, ll, "content-length", &v)) {
            char *e;
            errno = 0;
            clen = strtol(v, &e, 10);
            if (errno != 0 || e == v || clen < 0)
                return -1;
        } else if (header_is(line, ll, "transfer-encoding", &v)) {
            chunked = value_has(v, eol, "chunked");
        } else if (header_is(line, ll, "connection", &v)) {
            if (value_has(v, eol, "close"))
                keep = false;
            else if (value_has(v, eol, "keep-alive"))
                keep = true;
        }
        line = eol + 2;
    }

    size_t body_off = (size_t)(hend + 4 - resp);
    size_t body_len;
    if ((status >= 100 && status < 200) || status == 204 || status == 304) {
        body_len = 0;
        if (len != body_off)
            return -1;
    } else if (chunked) {
        const char *p = resp + body_off;
        for (;;) {
            const char *crlf = find_crlf(p, end);
            if (!crlf)
                return eof || len == RESP_MAX ? -1 : 0;
            char *e;
            unsigned long sz = strtoul(p, &e, 16);
            if (e == p || (e < crlf && *e != ';' && *e != ' '))
                return -1;
            p = crlf + 2;
            if (sz == 0) {
                for (;;) { /* trailers, then an empty line */
                    crlf = find_crlf(p, end);
                    if (!crlf)
                        return eof || len == RESP_MAX ? -1 : 0;
                    bool empty = crlf == p;
                    p = crlf + 2;
                    if (empty)
                        break;
                }
                break;
            }
            if ((size_t)(end - p) < sz + 2)
                return eof || len == RESP_MAX ? -1 : 0;
            p += sz + 2;
        }
        if (p != end)
            return -1;
        body_len = len - body_off; /* raw chunks; only used as a snippet */
    } else if (clen >= 0) {
        if (len - body_off < (size_t)clen)
            return eof || len == RESP_MAX ? -1 : 0;
        if (len - body_off > (size_t)clen)
            return -1;
        body_len = (size_t)clen;
    } else {
        if (!eof)
            return len == RESP_MAX ? -1 : 0;
        keep = false;
        body_len = len - body_off;
    }
    a->status = status;
    a->keep_alive = keep;
    a->body_off = body_off;
    a->body_len = body_len;
    return 1;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->served = 0;
}

/* Opens a connection (non-blocking connect). Returns 0, or -1 with errno set. */
static int conn_open(struct bench *b, struct conn *c)
{
    int fd = socket(b->tgt.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&b->tgt.addr, b->tgt.addrlen) != 0 &&
        errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    c->fd = fd;
    c->served = 0;
    return 0;
}

/* Sends what is left of the request; moves to RECEIVING when all is out. 0 or -1. */
static int conn_send(struct conn *c)
{
    while (c->req_off < c->req_len) {
        ssize_t n = send(c->fd, c->req + c->req_off, c->req_len - c->req_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR)
                continue;
            return -1;
        }
        c->req_off += (size_t)n;
    }
    c->state = CONN_RECEIVING;
    c->resp_len = 0;
    return 0;
}

/* Starts the next complaint on c (opening a connection when it has none), or retires c. */
static void conn_start_next(struct bench *b, struct conn *c)
{
    long seq;
    if (!take_next(b, &seq)) {
        conn_close(c);
        c->state = CONN_DONE;
        return;
    }
    char body[REQ_MAX];
    size_t blen = format_body(b, seq, body, sizeof body);
    int n = snprintf(c->req, sizeof c->req,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     b->tgt.path, b->tgt.hostport, b->opt.token, blen, body);
    if (n < 0 || (size_t)n >= sizeof c->req) {
        fprintf(stderr, "bench_intake: request does not fit in %d bytes\n", REQ_MAX);
        exit(2);
    }
    c->req_len = (size_t)n;
    c->req_off = 0;
    c->seq = seq;
    c->t0 = now_mono();
    if (c->fd < 0) {
        if (conn_open(b, c) != 0) {
            char what[96];
            snprintf(what, sizeof what, "connect: %s", strerror(errno));
            record_transport_error(b, what);
            c->state = CONN_DONE; /* a refused connect will not get better */
            return;
        }
        c->state = CONN_CONNECTING;
        return;
    }
    c->state = CONN_SENDING;
    if (conn_send(c) != 0) {
        char what[96];
        snprintf(what, sizeof what, "send: %s", strerror(errno));
        record_transport_error(b, what);
        conn_close(c);
        conn_start_next(b, c);
    }
}

/* The request on c failed in transport: count it, reconnect and go on. */
static void conn_fail(struct bench *b, struct conn *c, const char *what)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s (request %d on its connection)", what, c->served + 1);
    record_transport_error(b, buf);
    conn_close(c);
    conn_start_next(b, c);
}

static void conn_on_event(struct bench *b, struct conn *c, short revents)
{
    if (c->state == CONN_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
            err = errno;
        if (err != 0) {
            char what[96];
            snprintf(what, sizeof what, "connect: %s", strerror(err));
            record_transport_error(b, what);
            conn_close(c);
            c->state = CONN_DONE;
            return;
        }
        c->state = CONN_SENDING;
    }
    if (c->state == CONN_SENDING) {
        if (conn_send(c) != 0) {
            char what[96];
            snprintf(what, sizeof what, "send: %s", strerror(errno));
            conn_fail(b, c, what);
        }
        return;
    }
    if (c->state != CONN_RECEIVING || !(revents & (POLLIN | POLLHUP | POLLERR)))
        return;

    bool eof = false;
    for (;;) {
        if (c->resp_len == RESP_MAX)
            break;
        ssize_t n = recv(c->fd, c->resp + c->resp_len, RESP_MAX - c->resp_len, 0);
        if (n > 0) {
            c->resp_len += (size_t)n;
            continue;
        }
        if (n == 0) {
            eof = true;
            break;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        char what[96];
        snprintf(what, sizeof what, "recv: %s", strerror(errno));
        conn_fail(b, c, what);
        return;
    }
    struct answer a;
    int rc = parse_answer(c->resp, c->resp_len, eof, &a);
    if (rc == 0)
        return;
    if (rc < 0) {
        conn_fail(b, c,
                  c->resp_len == 0 ? "connection closed before any answer"
                                   : (c->resp_len == RESP_MAX ? "answer over 16 KiB"
                                                              : "malformed or truncated answer"));
        return;
    }
    record_answer(b, a.status, c->resp + a.body_off, a.body_len, c->t0);
    c->served++;
    if (!a.keep_alive || eof)
        conn_close(c);
    conn_start_next(b, c);
}

static void run_raw(struct bench *b)
{
    int nc = b->opt.clients;
    struct conn *conns = calloc((size_t)nc, sizeof *conns);
    struct pollfd *pfds = calloc((size_t)nc, sizeof *pfds);
    int *map = calloc((size_t)nc, sizeof *map);
    if (!conns || !pfds || !map) {
        fprintf(stderr, "bench_intake: out of memory for %d connections\n", nc);
        exit(2);
    }
    for (int i = 0; i < nc; i++) {
        conns[i].fd = -1;
        conns[i].state = CONN_FREE;
    }
    b->t_start = now_mono();
    b->deadline = b->t_start + b->opt.seconds;
    for (int i = 0; i < nc; i++)
        conn_start_next(b, &conns[i]);

    double timeout = b->opt.timeout_ms / 1000.0;
    for (;;) {
        int np = 0;
        double now = now_mono();
        for (int i = 0; i < nc; i++) {
            struct conn *c = &conns[i];
            if (c->state == CONN_DONE || c->state == CONN_FREE)
                continue;
            if (now - c->t0 > timeout) {
                conn_fail(b, c, "timeout");
                if (c->state == CONN_DONE)
                    continue;
            }
            pfds[np].fd = c->fd;
            pfds[np].events =
                (c->state == CONN_CONNECTING || c->state == CONN_SENDING) ? POLLOUT : POLLIN;
            pfds[np].revents = 0;
            map[np++] = i;
        }
        if (np == 0)
            break;
        int rc = poll(pfds, (nfds_t)np, 100);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "bench_intake: poll: %s\n", strerror(errno));
            exit(1);
        }
        for (int k = 0; k < np && rc > 0; k++) {
            if (pfds[k].revents == 0)
                continue;
            rc--;
            conn_on_event(b, &conns[map[k]], pfds[k].revents);
        }
    }
    free(conns);
    free(pfds);
    free(map);
}

/* ---- curl engine: the multi interface, one easy handle per client ------------------------ */

struct easy {
    CURL *h;
    long seq;
    double t0;
    char body[REQ_MAX];
    char resp[SNIPPET_MAX];
    size_t resp_len;
};

static size_t on_curl_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct easy *e = ud;
    size_t n = size * nmemb;
    size_t room = sizeof e->resp - e->resp_len;
    size_t k = n < room ? n : room;
    memcpy(e->resp + e->resp_len, ptr, k);
    e->resp_len += k;
    return n;
}

/* Gives e the next complaint and adds it to the multi handle; false when the run is over. */
static bool easy_start_next(struct bench *b, CURLM *m, struct easy *e)
{
    long seq;
    if (!take_next(b, &seq))
        return false;
    size_t blen = format_body(b, seq, e->body, sizeof e->body);
    curl_easy_setopt(e->h, CURLOPT_POSTFIELDS, e->body);
    curl_easy_setopt(e->h, CURLOPT_POSTFIELDSIZE, (long)blen);
    e->seq = seq;
    e->resp_len = 0;
    e->t0 = now_mono();
    CURLMcode mc = curl_multi_add_handle(m, e->h);
    if (mc != CURLM_OK) {
        fprintf(stderr, "bench_intake: curl_multi_add_handle: %s\n", curl_multi_strerror(mc));
        exit(1);
    }
    return true;
}

static void run_curl(struct bench *b)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "bench_intake: curl_global_init failed\n");
        exit(1);
    }
    CURLM *m = curl_multi_init();
    int nc = b->opt.clients;
    struct easy *es = calloc((size_t)nc, sizeof *es);
    char auth[1200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", b->opt.token);
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, auth);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (!m || !es || !hdrs) {
        fprintf(stderr, "bench_intake: out of memory setting up libcurl\n");
        exit(2);
    }
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)nc);
    for (int i = 0; i < nc; i++) {
        struct easy *e = &es[i];
        e->h = curl_easy_init();
        if (!e->h) {
            fprintf(stderr, "bench_intake: curl_easy_init failed\n");
            exit(2);
        }
        curl_easy_setopt(e->h, CURLOPT_URL, b->tgt.full_url);
        curl_easy_setopt(e->h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(e->h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(e->h, CURLOPT_WRITEFUNCTION, on_curl_data);
        curl_easy_setopt(e->h, CURLOPT_WRITEDATA, e);
        curl_easy_setopt(e->h, CURLOPT_PRIVATE, e);
        curl_easy_setopt(e->h, CURLOPT_TIMEOUT_MS, (long)b->opt.timeout_ms);
        curl_easy_setopt(e->h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e->h, CURLOPT_TCP_NODELAY, 1L);
    }
    b->t_start = now_mono();
    b->deadline = b->t_start + b->opt.seconds;
    int active = 0;
    for (int i = 0; i < nc; i++)
        if (easy_start_next(b, m, &es[i]))
            active++;

    /* perform, then collect and restart what finished, and only then sleep in poll: a
     * transfer that perform completed has no socket activity left to wake poll up */
    while (active > 0) {
        int running;
        CURLMcode mc = curl_multi_perform(m, &running);
        if (mc != CURLM_OK) {
            fprintf(stderr, "bench_intake: curl_multi_perform: %s\n", curl_multi_strerror(mc));
            exit(1);
        }
        bool restarted = false;
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct easy *e;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&e);
            CURLcode res = msg->data.result;
            curl_multi_remove_handle(m, e->h);
            if (res != CURLE_OK) {
                char what[128];
                snprintf(what, sizeof what, "curl: %s", curl_easy_strerror(res));
                record_transport_error(b, what);
            } else {
                long status = 0;
                curl_easy_getinfo(e->h, CURLINFO_RESPONSE_CODE, &status);
                record_answer(b, (int)status, e->resp, e->resp_len, e->t0);
            }
            if (easy_start_next(b, m, e))
                restarted = true;
            else
                active--;
        }
        if (restarted || active == 0)
            continue;
        mc = curl_multi_poll(m, NULL, 0, 100, NULL);
        if (mc != CURLM_OK) {
            fprintf(stderr, "bench_intake: curl_multi_poll: %s\n", curl_multi_strerror(mc));
            exit(1);
        }
    }
    for (int i = 0; i < nc; i++)
        curl_easy_cleanup(es[i].h);
    curl_slist_free_all(hdrs);
    curl_multi_cleanup(m);
    free(es);
    curl_global_cleanup();
}

/* ---- report ------------------------------------------------------------------------------ */

static void print_machine(void)
{
    char model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "model name", 10) != 0 && strncmp(line, "Hardware", 8) != 0)
                continue;
            char *v = strchr(line, ':');
            if (!v)
                continue;
            v++;
            while (*v == ' ' || *v == '\t')
                v++;
            v[strcspn(v, "\n")] = '\0';
            snprintf(model, sizeof model, "%s", v);
            break;
        }
        fclose(f);
    }
    struct utsname u;
    if (uname(&u) != 0)
        memset(&u, 0, sizeof u);
    printf("machine: %ld cores, %s, %s %s %s\n", sysconf(_SC_NPROCESSORS_ONLN), model, u.sysname,
           u.release, u.machine);
}

/* Reads "VmRSS:" style lines from /proc/PID/status into kB; -1 when absent. */
static long proc_status_kb(long pid, const char *key)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            char *e;
            kb = strtol(line + kl + 1, &e, 10);
            if (e == line + kl + 1)
                kb = -1;
            break;
        }
    }
    fclose(f);
    return kb;
}

/* The bot's user+system CPU seconds from /proc/PID/stat; -1 when unreadable. */
static double proc_cpu_seconds(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* comm may hold spaces */
    if (!p)
        return -1;
    /* after ") ": state(3) ... utime(14) stime(15) */
    unsigned long long utime = 0, stime = 0;
    int field = 2;
    for (char *s = p + 1; *s && field < 15;) {
        while (*s == ' ')
            s++;
        field++;
        char *e;
        unsigned long long v = strtoull(s, &e, 10);
        if (field == 14)
            utime = v;
        else if (field == 15)
            stime = v;
        s = strchr(s, ' ');
        if (!s)
            break;
    }
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples, in milliseconds. */
static double percentile_ms(const uint32_t *s, size_t n, double p)
{
    if (n == 0)
        return 0.0;
    size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return s[rank - 1] / 1000.0;
}

int main(int argc, char **argv)
{
    struct bench b;
    memset(&b, 0, sizeof b);
    parse_options(argc, argv, &b.opt);
    parse_target(&b.opt, &b.tgt);
    if (b.opt.pid > 0 && proc_status_kb(b.opt.pid, "VmRSS") < 0) {
        fprintf(stderr, "bench_intake: no process %ld to measure\n", b.opt.pid);
        return 2;
    }
    if (b.opt.count > 0) {
        b.st.cap = (size_t)b.opt.count;
        b.st.lat_us = malloc(b.st.cap * sizeof *b.st.lat_us);
        if (!b.st.lat_us) {
            fprintf(stderr, "bench_intake: out of memory for %ld samples\n", b.opt.count);
            return 2;
        }
    }

    double bot_cpu0 = b.opt.pid > 0 ? proc_cpu_seconds(b.opt.pid) : -1;
    double self_cpu0 = self_cpu_seconds();
    if (b.opt.engine == ENGINE_RAW)
        run_raw(&b);
    else
        run_curl(&b);
    double self_cpu = self_cpu_seconds() - self_cpu0;
    double bot_cpu = b.opt.pid > 0 && bot_cpu0 >= 0 ? proc_cpu_seconds(b.opt.pid) - bot_cpu0 : -1;

    long ok = b.st.answers[201];
    long total = b.st.transport_errors + b.st.other_status;
    for (int s = 0; s < 600; s++)
        total += b.st.answers[s];
    long bad = total - ok;
    double elapsed = b.t_end > b.t_start ? b.t_end - b.t_start : 0.0;
    qsort(b.st.lat_us, b.st.n, sizeof *b.st.lat_us, cmp_u32);

    print_machine();
    printf("engine: %s\n", b.opt.engine == ENGINE_RAW ? "raw" : "curl");
    printf("clients: %d\n", b.opt.clients);
    printf("dealers: %d\n", b.opt.dealers);
    printf("run id: %s\n", b.opt.run_id);
    printf("requests: %ld\n", total);
    printf("elapsed s: %.3f\n", elapsed);
    printf("complaints/s: %.1f\n", elapsed > 0 ? (double)ok / elapsed : 0.0);
    printf("latency p50 ms: %.3f\n", percentile_ms(b.st.lat_us, b.st.n, 50));
    printf("latency p90 ms: %.3f\n", percentile_ms(b.st.lat_us, b.st.n, 90));
    printf("latency p99 ms: %.3f\n", percentile_ms(b.st.lat_us, b.st.n, 99));
    printf("latency max ms: %.3f\n", b.st.n ? b.st.lat_us[b.st.n - 1] / 1000.0 : 0.0);
    printf("status 201: %ld\n", ok);
    for (int s = 0; s < 600; s++)
        if (s != 201 && b.st.answers[s] > 0)
            printf("status %d: %ld\n", s, b.st.answers[s]);
    printf("non-201: %ld\n", bad);
    printf("transport errors: %ld\n", b.st.transport_errors);
    printf("bench cpu us/req: %.1f\n", total > 0 ? self_cpu * 1e6 / (double)total : 0.0);
    if (b.opt.pid > 0) {
        if (bot_cpu >= 0)
            printf("bot cpu us/req: %.1f\n", total > 0 ? bot_cpu * 1e6 / (double)total : 0.0);
        long rss = proc_status_kb(b.opt.pid, "VmRSS");
        long hwm = proc_status_kb(b.opt.pid, "VmHWM");
        printf("bot VmRSS kB: %ld\n", rss);
        printf("bot VmHWM kB: %ld\n", hwm);
        printf("bot rss MB: %.1f\n", rss / 1024.0);
        printf("bot hwm MB: %.1f\n", hwm / 1024.0);
    }
    for (int i = 0; i < b.st.n_examples; i++)
        fprintf(stderr, "bench_intake: unexpected: %s\n", b.st.examples[i]);

    free(b.st.lat_us);
    free(b.opt.token);
    if (ok == 0) {
        fprintf(stderr, "bench_intake: no complaint was accepted\n");
        return 1;
    }
    return bad == 0 ? 0 : 1;
}
