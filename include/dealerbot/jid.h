/*
 * jid.h — the one place a Jabber ID is folded for comparison. Pure (no I/O, no state), any
 * thread: it calls libidn's stringprep, which works on the caller's buffer only.
 *
 * XMPP servers compare the local part of a JID after the nodeprep profile and the domain after
 * nameprep (RFC 3920 appendices A and B, what Prosody and ejabberd apply), and both profiles
 * fold case over all of Unicode, not only A-Z. The directory, the session and the engine key
 * people by the folded bare JID, so "Émile@x" in people.csv matches the "émile@x" a server
 * reports as the sender.
 */
#ifndef DEALERBOT_JID_H
#define DEALERBOT_JID_H

#include <stdbool.h>
#include <stddef.h>

/* Longest local part and domain we accept, in bytes (RFC 7622 allows 1023 each). */
#define JID_PART_MAX 1023

/* True when s[0..len) is a bare JID, local@domain (RFC 7622 without a resource), in valid
 * UTF-8: what the directory's jid column and the config's JIDs must be. Non-ASCII is allowed
 * (internationalised names), control characters are not. */
bool jid_bare_valid(const char *s, size_t len);

/*
 * Folds the bare JID s[0..len) ("local@domain", or just "domain"; a "/resource" is cut off)
 * into out[0..cap), NUL-terminated: nodeprep on the local part, nameprep on the domain.
 * Returns 0; DBOT_ERR_INVALID when s is not UTF-8, a part is empty or over JID_PART_MAX, or a
 * profile refuses it (a prohibited character such as a space or '"' in the local part);
 * DBOT_ERR_TOOBIG when the folded JID does not fit in cap. out is written only on success.
 */
int jid_fold(const char *s, size_t len, char *out, size_t cap);

#endif
