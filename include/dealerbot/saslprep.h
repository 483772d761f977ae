/*
 * saslprep.h — SASLprep (RFC 4013) through libidn's stringprep, for SCRAM user names and
 * passwords (RFC 5802 Normalize()) and for check-config. Pure, any thread. The buffers that
 * held a secret are wiped before they are freed.
 */
#ifndef DEALERBOT_SASLPREP_H
#define DEALERBOT_SASLPREP_H

/*
 * Prepares the NUL-terminated UTF-8 s as a SASLprep "stored string" (unassigned code points
 * refused, as RFC 5802 asks): non-ASCII spaces become U+0020, soft hyphens and the like go,
 * NFKC, then the prohibited characters (controls, private use, ...) and the bidi rules are
 * checked. On success *out is a new string (the caller wipes and frees it) and 0 is returned;
 * DBOT_ERR_INVALID when s is not UTF-8, the profile refuses it or nothing is left;
 * DBOT_ERR_NOMEM. *out is written only on success.
 */
int sasl_prep(const char *s, char **out);

#endif
