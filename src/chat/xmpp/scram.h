/*
 * scram.h — the client side of SASL SCRAM-SHA-1 / SCRAM-SHA-256 (RFC 5802, RFC 7677) and the
 * PLAIN initial response (RFC 4616), for the XMPP session's authentication step.
 *
 * A struct scram is one exchange. Usage, with the payloads as the base64 text that travels in
 * <auth>/<challenge>/<response>/<success>:
 *
 *     scram_init(&s, SCRAM_SHA_1, user, password, NULL, &diag);
 *     scram_client_first(&s, &b64);          -> <auth mechanism='SCRAM-SHA-1'>b64</auth>
 *     scram_client_final(&s, challenge, &b64) -> <response>b64</response>
 *     scram_server_final(&s, success_data)    -> 0 only if the server proved it knows the
 *                                                password (v= matches); anything else is a
 *                                                failed login, even after <success/>
 *     scram_cleanup(&s);
 *
 * Security properties: the server signature is always verified (constant-time compare), a
 * server nonce that does not extend ours is refused, `e=` server errors are reported, and the
 * iteration count is capped (SCRAM_MAX_ITERATIONS) so a hostile server cannot make the event
 * loop spin in PBKDF2. No channel binding (gs2 header "n,,"): -PLUS variants are not used.
 * The password is copied, used once for PBKDF2, then wiped (OPENSSL_cleanse), as are the
 * derived keys; nothing here logs, and no diag ever contains the password.
 *
 * SASLprep: RFC 5802 wants user and password passed through SASLprep (RFC 4013) as stored
 * strings; scram_init does that with libidn (sasl_prep), so a non-ASCII password is mapped and
 * normalised the way the server (Prosody, ejabberd) prepared it when the account was made.
 * What the profile refuses (control characters, unassigned code points, empty) fails with
 * DBOT_ERR_INVALID; `check-config` refuses such a chat.xmpp.password up front.
 *
 * Pure apart from RAND_bytes for the nonce (which tests replace by passing a fixed nonce).
 * Any thread; one struct per exchange.
 */
#ifndef DBOT_CHAT_XMPP_SCRAM_H
#define DBOT_CHAT_XMPP_SCRAM_H

#include <stddef.h>

#include "dealerbot/error.h"

#define SCRAM_MAX_ITERATIONS 1000000 /* PBKDF2 rounds accepted from a server (~0.3 s SHA-256) */
#define SCRAM_MAX_DIGEST 32
#define SCRAM_NONCE_BYTES 24         /* random bytes behind a generated client nonce */

enum scram_hash { SCRAM_SHA_1, SCRAM_SHA_256 };

enum scram_state { SCRAM_NEW, SCRAM_SENT_FIRST, SCRAM_SENT_FINAL, SCRAM_DONE, SCRAM_FAILED };

struct scram {
    enum scram_hash hash;
    enum scram_state state;
    char *password;           /* SASLprep-ed copy until client_final; then wiped and freed */
    char *client_first_bare;  /* n=USER,r=CNONCE */
    size_t cnonce_len;        /* length of the client nonce inside client_first_bare */
    unsigned char server_sig[SCRAM_MAX_DIGEST]; /* expected v=, set by client_final */
    size_t sig_len;
};

/* The SASL mechanism name: "SCRAM-SHA-1" or "SCRAM-SHA-256". */
const char *scram_mechanism(enum scram_hash hash);

/* Starts an exchange; copies user and password. nonce NULL draws SCRAM_NONCE_BYTES from
 * RAND_bytes (base64, 32 characters); tests pass the RFC vector's nonce, which must be
 * printable ASCII without ','. 0, DBOT_ERR_INVALID (diag says which input and why),
 * DBOT_ERR_NOMEM or DBOT_ERR_INTERNAL (no randomness). On failure s needs no cleanup. */
int scram_init(struct scram *s, enum scram_hash hash, const char *user, const char *password,
               const char *nonce, struct dbot_diag *diag);

/* The client-first message "n,,n=USER,r=CNONCE", base64. Returns a new string in *out_b64
 * (caller frees with free()). 0, DBOT_ERR_NOMEM, DBOT_ERR_INVALID (wrong state). */
int scram_client_first(struct scram *s, char **out_b64, struct dbot_diag *diag);

/* Takes the server-first message (the base64 text of <challenge>) and returns the
 * client-final message, base64, in *out_b64 (caller frees). 0, DBOT_ERR_INVALID (malformed
 * challenge, nonce mismatch, bad salt, iteration count outside 1..SCRAM_MAX_ITERATIONS, a
 * mandatory extension, wrong state), DBOT_ERR_DENIED (the server sent e=...), DBOT_ERR_NOMEM,
 * DBOT_ERR_INTERNAL (libcrypto failed). Any failure ends the exchange. */
int scram_client_final(struct scram *s, const char *challenge_b64, char **out_b64,
                       struct dbot_diag *diag);

/* Checks the server-final message (the base64 text of <success>, or of a last <challenge> if
 * the server sends it that way). 0 only if it is "v=SIG" and SIG matches; DBOT_ERR_DENIED for
 * "e=REASON" or a wrong signature; DBOT_ERR_INVALID if malformed, absent (NULL) or out of
 * order. */
int scram_server_final(struct scram *s, const char *success_b64, struct dbot_diag *diag);

/* Wipes and frees everything. NULL-safe, idempotent. */
void scram_cleanup(struct scram *s);

/* PLAIN initial response: base64("" NUL user NUL password) (RFC 4616, no authzid). Returns a
 * new string in *out_b64 (caller frees; it is as sensitive as the password). 0,
 * DBOT_ERR_INVALID (empty user/password), DBOT_ERR_NOMEM. PLAIN carries any UTF-8; no
 * SASLprep restriction applies here. */
int scram_plain_initial(const char *user, const char *password, char **out_b64);

#endif
