/*
 * frame.h — DingTalk Stream mode and OpenAPI JSON, parsed and built without I/O (pure; every
 * byte the gateway or the OpenAPI sends goes through here first; fuzzed by
 * tests/fuzz/fuzz_dingtalk.c).
 *
 * A down frame is {"specVersion","type","headers":{"topic","messageId",...},"data":"<JSON
 * string>"}; a robot callback's data is a second JSON document. Answers to the send APIs are
 * JSON objects. Strings handed back are copies owned by the struct (freed by its _cleanup);
 * each is valid UTF-8 without NUL, or the parse fails.
 */
#ifndef DBOT_CHAT_DINGTALK_FRAME_H
#define DBOT_CHAT_DINGTALK_FRAME_H

#include <stdbool.h>
#include <stddef.h>

#include "dealerbot/error.h"

#define DT_FRAME_MAX (1024u * 1024) /* a down frame larger than this is refused */
#define DT_TEXT_MAX (64u * 1024)    /* a message text larger than this is refused */
#define DT_ID_MAX 256               /* ids (messageId, msgId, staff ids, conversation ids) */
#define DT_PARAM_MAX 15000          /* msgParam bytes, DingTalk's documented limit */
#define DT_PART_MAX 6000            /* text bytes per sent part (escaped it stays in msgParam) */
#define DT_TITLE_MAX 60             /* title bytes at most (cut on a character boundary) */

#define DT_TOPIC_ROBOT "/v1.0/im/bot/messages/get"

enum dt_frame_type { DT_SYSTEM = 1, DT_EVENT, DT_CALLBACK };

struct dt_frame {
    enum dt_frame_type type;
    char *topic;      /* "" when absent */
    char *message_id; /* never NULL on success */
    char *data;       /* the data string ("" when absent) */
};

/* Parses one down frame. 0; DBOT_ERR_INVALID (not JSON, not an object, unknown type, no
 * messageId, data not a string, not UTF-8) or DBOT_ERR_TOOBIG with a one-line diag;
 * DBOT_ERR_NOMEM. *f is written only on success. */
int dt_frame_parse(const char *buf, size_t len, struct dt_frame *f, struct dbot_diag *diag);
void dt_frame_cleanup(struct dt_frame *f);

/* A robot message (the data of a CALLBACK on DT_TOPIC_ROBOT). */
struct dt_robot_msg {
    bool group;            /* conversationType "2" */
    char *conversation_id; /* openConversationId of the group (or the 1:1 chat's id) */
    char *sender;          /* senderStaffId: the person's id in the directory */
    char *msg_id;
    char *text;            /* text.content, trimmed of surrounding white space */
};

/* Parses a robot message. DBOT_ERR_INVALID with a one-line diag when data is not a JSON
 * object, or lacks msgId, senderStaffId, conversationId or a text, or a string is not UTF-8
 * (or over its limit). */
int dt_robot_msg_parse(const char *data, size_t len, struct dt_robot_msg *m,
                       struct dbot_diag *diag);
void dt_robot_msg_cleanup(struct dt_robot_msg *m);

/* The answer frame to a down frame: code (200 OK, 400 bad request), its messageId, and data
 * (a JSON text to carry as a string; NULL: {"response":null}). Returns a new NUL-terminated
 * string in *out (caller frees), or DBOT_ERR_NOMEM/INVALID. */
int dt_ack_format(int code, const char *message_id, const char *data, char **out);

/* The JSON bodies the bot posts. Each returns a new string in *out (caller frees). */
int dt_open_format(const char *client_id, const char *secret, char **out);
int dt_token_format(const char *client_id, const char *secret, char **out);
/* group: to is the openConversationId; otherwise a user id (batchSend with one user). */
int dt_send_format(bool group, const char *robot_code, const char *to, const char *title,
                   const char *text, char **out);

/* The gateway's answer: endpoint and ticket, both non-empty. */
int dt_open_parse(const char *buf, size_t len, char **endpoint, char **ticket,
                  struct dbot_diag *diag);
/* The token answer: accessToken (non-empty, at most 1024 bytes) and expireIn (seconds). */
int dt_token_parse(const char *buf, size_t len, char **token, long long *expire_in,
                   struct dbot_diag *diag);

enum dt_send_result {
    DT_SEND_OK = 0,    /* processQueryKey given: delivered */
    DT_SEND_THROTTLED, /* slow down: HTTP 429, a QpsLimit code, or users flow-controlled */
    DT_SEND_AUTH,      /* HTTP 401: the token is no good */
    DT_SEND_REFUSED,   /* a permanent refusal (4xx): the robot may not send there */
    DT_SEND_RETRY,     /* anything else (5xx, not JSON, no processQueryKey): try again */
};

/* Classifies a send API's answer by HTTP status and body; diag says why for anything but OK
 * (one line, no secrets). */
enum dt_send_result dt_send_classify(long status, const char *buf, size_t len,
                                     struct dbot_diag *diag);

/* Renders a message text as DingTalk markdown parts: the title is the first line (cut to
 * DT_TITLE_MAX bytes on a character boundary), each part's text at most DT_PART_MAX bytes,
 * split at line ends where possible and never inside a UTF-8 character. Lines become
 * markdown lines (two trailing spaces keep the line break). Returns the number of parts
 * (>= 1) in *n and a new array of new strings in *parts (free each and the array), or
 * DBOT_ERR_NOMEM/INVALID (not UTF-8). */
int dt_markdown_split(const char *text, char ***parts, size_t *n, char *title, size_t title_cap);

#endif
