/*
 * rooms.h — which chat rooms the directory calls for, with which members: one room per dealer
 * (dealer-<code>: the dealer's people and the brand staff), the brand staff room and the
 * underperformers room (brand staff; dealers join it through the network programme).
 *
 * Reads the store and hands each room to chat_sync_room(). Main thread only.
 */
#ifndef DEALERBOT_ROOMS_H
#define DEALERBOT_ROOMS_H

#include <stdbool.h>
#include <stddef.h>

#include "dealerbot/chat.h"
#include "dealerbot/config.h"
#include "dealerbot/store.h"

/* Syncs every room; returns 0 or the first error (rooms before it were synced). */
int rooms_sync_all(struct store *st, const struct config *cfg, struct chat *chat);

/* Syncs the rooms of the dealers `codes[0..n)` (codes the store no longer has are skipped);
 * returns 0 or the first error. */
int rooms_sync_dealers(struct store *st, struct chat *chat, const char *const *codes, size_t n);

/* Makes the underperformers room's members the people of the listed dealers plus the brand
 * staff. */
int rooms_sync_underperformers(struct store *st, const struct config *cfg, struct chat *chat);

/* The room a brand admin or a rooms file names: "staff", "underperformers", a dealer code
 * of the store ("SH001"), or a room name itself (the staff room's, the underperformers
 * room's, "dealer-<code>"). Writes the room's local name into out. 0, DBOT_ERR_NOTFOUND
 * (no such room: diag says which), DBOT_ERR_INVALID, or a store error. */
int rooms_resolve(struct store *st, const struct config *cfg, const char *name, char *out,
                  size_t cap, struct dbot_diag *diag);

/* True when `address` can be a platform room address: 1..ROOM_ADDRESS_MAX bytes of printable
 * ASCII without spaces, quotes or commas. */
bool rooms_address_ok(const char *address);

#endif
