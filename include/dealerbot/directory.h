/*
 * directory.h — dealers and people (the brand's directory) as plain structs, plus the pure
 * validation of a directory row. Strings are heap-owned by the struct; *_cleanup frees them.
 */
#ifndef DEALERBOT_DIRECTORY_H
#define DEALERBOT_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dealerbot/error.h"

#define DEALER_CODE_MAX 32

struct dealer {
    char *code;           /* [A-Za-z0-9_-]{1,32}; stored as given, matched case-insensitively */
    char *name;
    char *region;         /* "" when none */
    int64_t sales_volume; /* units sold per year; -1 when unknown */
    char *timezone;       /* IANA name; NULL = the configured default */
    char *calendar;       /* business calendar name (config `calendars`); NULL = sla.calendar */
};

enum person_role { ROLE_AGENT = 0, ROLE_MANAGER, ROLE_SUPERVISOR, ROLE_ADMIN };

struct person {
    char *jid;            /* bare JID, lower-cased: the identity commands are authorized by */
    char *dealer;         /* dealer code, or NULL for brand staff ("brand" in CSV/API) */
    enum person_role role;
    char *name;
    char *language;       /* "zh-CN" | "en" */
};

void dealer_cleanup(struct dealer *d);
void person_cleanup(struct person *p);

int person_role_parse(const char *s, enum person_role *out);
const char *person_role_name(enum person_role r);

/* Validation of one row's fields (pure). Fills *out with copies; on failure returns
 * DBOT_ERR_INVALID and diag names the field ("code: must be 1-32 of A-Z a-z 0-9 _ -").
 * sales_volume "" means unknown; timezone "" means default; calendar "" means none (the
 * configured sla.calendar applies). A NULL field reads as "". A timezone must name a zone
 * under /usr/share/zoneinfo and a calendar one of the configured `calendars` — those checks
 * are done by the caller (importer, API), here only their shape: a calendar name is 1-31 of
 * a-z 0-9 _ - (as in the config). */
int dealer_from_fields(const char *code, const char *name, const char *region,
                       const char *sales_volume, const char *timezone, const char *calendar,
                       struct dealer *out, struct dbot_diag *diag);

/* dealer "brand" means brand staff; roles agent|manager for dealers, agent|supervisor|admin for
 * brand; language zh-CN|en (""=zh-CN). The JID is checked for a local@domain shape and
 * lower-cased. */
int person_from_fields(const char *jid, const char *dealer, const char *role, const char *name,
                       const char *language, struct person *out, struct dbot_diag *diag);
/* The same with a platform user id (DingTalk's userid) for the jid: 1..128 bytes of
 * printable ASCII without spaces, quotes, < > & @ /; stored lower-case like a JID. */
int person_from_fields_chat_id(const char *chat_id, const char *dealer, const char *role,
                               const char *name, const char *language, struct person *out,
                               struct dbot_diag *diag);

/* One entry of the penalty catalogue ("处罚大全"). */
#define PENALTY_CODE_MAX 32
#define PENALTY_POINTS_MAX 1000
struct penalty_rule {
    char *code;          /* [A-Za-z0-9_.-]{1,32}; matched case-insensitively */
    char *violation;     /* what the dealer did wrong, 1..200 code points */
    int points;          /* 0..PENALTY_POINTS_MAX */
    char *standard;      /* the rule it breaks ("" when none), at most 2000 code points */
    char *how_to_avoid;  /* ("" when none), at most 2000 code points */
};
void penalty_rule_cleanup(struct penalty_rule *r);

/* Validates one catalogue row (code,violation,points,standard,how_to_avoid) into *out (heap
 * copies). 0, or DBOT_ERR_INVALID with "field: reason" in diag (*out untouched), or
 * DBOT_ERR_NOMEM. Pure. */
int penalty_rule_from_fields(const char *code, const char *violation, const char *points,
                             const char *standard, const char *how_to_avoid,
                             struct penalty_rule *out, struct dbot_diag *diag);

/* The chat room of a dealer: "dealer-" + the code in lower case. Returns buf. */
char *dealer_room_name(const char *code, char *buf, size_t len);

#endif
