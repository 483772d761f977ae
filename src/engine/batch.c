/*
 * batch.c — batch warnings: many complaints of one category in a short window, at one dealer
 * or network-wide, give the staff room ONE warning with the list, not one per complaint. The
 * next warning for the same scope and category comes after another full window.
 */
#include "engine_int.h"

#include <stdio.h>
#include <string.h>

#include "dealerbot/log.h"

#define MOD "engine"
#define LIST_MAX 10 /* complaints named in a warning */

static int check(struct engine *e, const char *scope, const char *dealer, int64_t threshold,
                 const char *category, int64_t now)
{
    if (threshold <= 0)
        return 0;
    int64_t window = e->cfg->batch_warning.window_s, since = now - window;
    int64_t count = 0, last = 0;
    /* the cheap question first: warned already in this window? (indexed lookup) */
    int err = store_batch_last(e->store, scope, category, &last);
    if (err || (last && now - last < window))
        return err;
    /* then count only up to the threshold: the cost does not grow with the window's size */
    if ((err = store_category_count(e->store, category, dealer, since, threshold, &count)) != 0 ||
        count < threshold)
        return err;

    int64_t ids[LIST_MAX];
    int n = 0;
    if ((err = store_category_ids(e->store, category, dealer, since, ids, LIST_MAX, &n)) != 0)
        return err;
    char list[LIST_MAX * 24 + 8] = "";
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        char id[32];
        int w = snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "",
                         complaint_id_format(ids[i], id, sizeof id));
        if (w < 0 || (size_t)w >= sizeof list - off)
            break;
        off += (size_t)w;
    }
    if (count > n && off + 4 < sizeof list)
        snprintf(list + off, sizeof list - off, " …");
    if ((err = store_batch_add(e->store, scope, category, count, now)) != 0)
        return err;
    log_info(MOD, "batch warning: %lld or more \"%s\" complaints at %s in the window",
             (long long)count, category, scope);
    if (!e->msgs)
        return 0;
    const char *lang = e->cfg->language;
    char cnt[24], span[48];
    snprintf(cnt, sizeof cnt, "%lld", (long long)count);
    eng__span(lang, window, span, sizeof span);
    struct msg_var v[] = {{"category", category},
                          {"count", cnt},
                          {"window", span},
                          {"scope", dealer ? dealer : eng__label(e, lang, "scope_network")},
                          {"list", list}};
    return eng__say(e, 0, true, e->cfg->chat.staff_room, lang, "batch_warning", v, 5, "alarm",
                    now);
}

int eng__batch_check(struct engine *e, const char *category, const char *dealer, int64_t now)
{
    int err = check(e, dealer, dealer, e->cfg->batch_warning.dealer_count, category, now);
    if (err == 0)
        err = check(e, "*", NULL, e->cfg->batch_warning.network_count, category, now);
    return err;
}
