/*
 * rooms.c — the directory's rooms handed to the chat adapter (see rooms.h).
 */
#include "dealerbot/rooms.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dealerbot/log.h"

/* A growable list of owned strings. */
struct id_list {
    char **v;
    size_t n, cap;
};

static int list_add(struct id_list *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return DBOT_ERR_NOMEM;
        l->v = nv;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s)))
        return DBOT_ERR_NOMEM;
    l->n++;
    return 0;
}

static void list_truncate(struct id_list *l, size_t n)
{
    while (l->n > n)
        free(l->v[--l->n]);
}

static void list_free(struct id_list *l)
{
    list_truncate(l, 0);
    free(l->v);
}

/* Hands the room to the chat with its platform address from the directory (schema 18),
 * when it has one. */
static int sync_one(struct store *st, struct chat *chat, struct chat_room *room)
{
    char *addr = NULL;
    int err = store_room_address_get(st, room->name, &addr);
    if (err && err != DBOT_ERR_NOTFOUND)
        return err;
    room->address = addr;
    err = chat_sync_room(chat, room);
    free(addr);
    return err;
}

static int add_person(const struct person *p, void *arg)
{
    return list_add(arg, p->jid);
}

struct dealer_walk {
    struct store *st;
    struct chat *chat;
    struct id_list members; /* brand staff first, then the current dealer's people */
    size_t n_staff;
};

static int sync_dealer(const struct dealer *d, void *arg)
{
    struct dealer_walk *w = arg;
    list_truncate(&w->members, w->n_staff);
    int err = store_person_each(w->st, d->code, add_person, &w->members);
    if (err)
        return err;
    char name[DEALER_CODE_MAX + 16];
    struct chat_room room = {
        .name = dealer_room_name(d->code, name, sizeof name),
        .title = d->name,
        .members = (const char *const *)w->members.v,
        .n_members = w->members.n,
    };
    return sync_one(w->st, w->chat, &room);
}

struct under_walk {
    struct store *st;
    struct id_list *members;
};

static int add_dealer_people(const char *code, void *arg)
{
    struct under_walk *w = arg;
    return store_person_each(w->st, code, add_person, w->members);
}

int rooms_sync_underperformers(struct store *st, const struct config *cfg, struct chat *chat)
{
    struct id_list members = {0};
    struct under_walk w = {.st = st, .members = &members};
    int err = store_person_each(st, "brand", add_person, &members);
    if (err == 0)
        err = store_underperformers_each(st, add_dealer_people, &w);
    if (err == 0) {
        struct chat_room under = {.name = cfg->chat.underperformers_room,
                                  .title = cfg->chat.underperformers_room,
                                  .members = (const char *const *)members.v,
                                  .n_members = members.n};
        err = sync_one(st, chat, &under);
    }
    list_free(&members);
    return err;
}

int rooms_sync_dealers(struct store *st, struct chat *chat, const char *const *codes, size_t n)
{
    struct dealer_walk w = {.st = st, .chat = chat};
    int err = store_person_each(st, "brand", add_person, &w.members);
    w.n_staff = w.members.n;
    for (size_t i = 0; err == 0 && i < n; i++) {
        struct dealer d;
        err = store_dealer_get(st, codes[i], &d);
        if (err == DBOT_ERR_NOTFOUND) {
            err = 0; /* gone meanwhile: nothing to set up */
            continue;
        }
        if (err == 0) {
            err = sync_dealer(&d, &w);
            dealer_cleanup(&d);
        }
    }
    if (err)
        log_error("rooms", "cannot sync the dealers' rooms: %s", dbot_strerror(err));
    list_free(&w.members);
    return err;
}

int rooms_sync_all(struct store *st, const struct config *cfg, struct chat *chat)
{
    struct dealer_walk w = {.st = st, .chat = chat};
    int err = store_person_each(st, "brand", add_person, &w.members);
    if (err)
        goto out;
    w.n_staff = w.members.n;
    const char *const *staff = (const char *const *)w.members.v;
    struct chat_room staff_room = {.name = cfg->chat.staff_room, .title = cfg->chat.staff_room,
                                   .members = staff, .n_members = w.n_staff};
    if ((err = sync_one(st, chat, &staff_room)) != 0 ||
        (err = rooms_sync_underperformers(st, cfg, chat)) != 0)
        goto out;
    err = store_dealer_each(st, sync_dealer, &w);
out:
    if (err)
        log_error("rooms", "cannot sync the rooms: %s", dbot_strerror(err));
    list_free(&w.members);
    return err;
}

int rooms_resolve(struct store *st, const struct config *cfg, const char *name, char *out,
                  size_t cap, struct dbot_diag *diag)
{
    const char *room = NULL;
    if (!name || !*name)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "no room named");
    if (strcasecmp(name, "staff") == 0 || strcasecmp(name, cfg->chat.staff_room) == 0)
        room = cfg->chat.staff_room;
    else if (strcasecmp(name, "underperformers") == 0 ||
             strcasecmp(name, cfg->chat.underperformers_room) == 0)
        room = cfg->chat.underperformers_room;
    if (room) {
        if (strlen(room) >= cap)
            return dbot_diag_set(diag, DBOT_ERR_INVALID, "room name too long");
        memcpy(out, room, strlen(room) + 1);
        return 0;
    }
    const char *code = strncasecmp(name, "dealer-", 7) == 0 ? name + 7 : name;
    struct dealer d;
    int err = store_dealer_get(st, code, &d);
    if (err == DBOT_ERR_NOTFOUND)
        return dbot_diag_set(diag, DBOT_ERR_NOTFOUND,
                             "no room \"%.64s\" (staff, underperformers or a dealer code)", name);
    if (err)
        return dbot_diag_set(diag, err, "cannot look up dealer \"%.64s\": %s", code,
                             dbot_strerror(err));
    char buf[DEALER_CODE_MAX + 16];
    const char *r = dealer_room_name(d.code, buf, sizeof buf);
    dealer_cleanup(&d);
    if (!r || strlen(r) >= cap)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "room name too long");
    memcpy(out, r, strlen(r) + 1);
    return 0;
}

bool rooms_address_ok(const char *a)
{
    size_t n = a ? strlen(a) : 0;
    if (n == 0 || n > ROOM_ADDRESS_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c <= ' ' || c > '~' || c == '"' || c == '\'' || c == ',' || c == '\\')
            return false;
    }
    return true;
}
