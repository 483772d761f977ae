/*
 * scram.c — SCRAM-SHA-1/256 client and PLAIN; see scram.h.
 *
 * The messages (RFC 5802 §7), without channel binding:
 *   client-first  = "n,," client-first-bare
 *   client-first-bare = "n=" saslname ",r=" c-nonce
 *   server-first  = ["m=" ext ","] "r=" c-nonce s-nonce ",s=" base64(salt) ",i=" count [",…"]
 *   client-final  = "c=biws,r=" nonce ",p=" base64(ClientProof)      (biws = base64("n,,"))
 *   server-final  = "e=" reason | "v=" base64(ServerSignature) [",…"]
 * and the keys:
 *   SaltedPassword  = PBKDF2-HMAC-H(password, salt, i)
 *   ClientKey       = HMAC(SaltedPassword, "Client Key");  StoredKey = H(ClientKey)
 *   AuthMessage     = client-first-bare "," server-first "," client-final-without-proof
 *   ClientProof     = ClientKey XOR HMAC(StoredKey, AuthMessage)
 *   ServerSignature = HMAC(HMAC(SaltedPassword, "Server Key"), AuthMessage)
 */
#include "chat/xmpp/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "chat/xmpp/base64.h"
#include "dealerbot/saslprep.h"

const char *scram_mechanism(enum scram_hash hash)
{
    return hash == SCRAM_SHA_256 ? "SCRAM-SHA-256" : "SCRAM-SHA-1";
}

static const EVP_MD *md_of(enum scram_hash hash)
{
    return hash == SCRAM_SHA_256 ? EVP_sha256() : EVP_sha1();
}

static void free_secret(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

/* A client nonce: printable ASCII (checked besides ',' and space by the caller). */
static bool nonce_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            return false;
    return true;
}

/* RFC 5802 saslname: '=' → "=3D", ',' → "=2C". Returns a new string or NULL. */
static char *escape_user(const char *user)
{
    size_t n = 0;
    for (const char *p = user; *p; p++)
        n += (*p == '=' || *p == ',') ? 3 : 1;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const char *p = user; *p; p++) {
        if (*p == '=') {
            memcpy(o, "=3D", 3);
            o += 3;
        } else if (*p == ',') {
            memcpy(o, "=2C", 3);
            o += 3;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

/* Concatenates up to 5 NUL-terminated parts (NULL ends the list early) into a new string. */
static char *concat(const char *a, const char *b, const char *c, const char *d, const char *e)
{
    const char *parts[] = {a, b, c, d, e};
    size_t n = 0;
    for (size_t i = 0; i < 5 && parts[i]; i++)
        n += strlen(parts[i]);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < 5 && parts[i]; i++) {
        size_t l = strlen(parts[i]);
        memcpy(out + o, parts[i], l);
        o += l;
    }
    out[o] = '\0';
    return out;
}

int scram_init(struct scram *s, enum scram_hash hash, const char *user, const char *password,
               const char *nonce, struct dbot_diag *diag)
{
    memset(s, 0, sizeof *s);
    if (hash != SCRAM_SHA_1 && hash != SCRAM_SHA_256)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "unknown SCRAM hash");
    if (nonce && (!nonce_ok(nonce) || strchr(nonce, ',') || strchr(nonce, ' ')))
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "SCRAM nonce must be printable ASCII "
                                                     "without ',' or space");

    /* RFC 5802 Normalize(): both go through SASLprep, as the server's side does */
    char *puser = NULL, *ppass = NULL, *gen = NULL, *euser = NULL;
    int rc = sasl_prep(user, &puser);
    if (rc == DBOT_ERR_INVALID) {
        rc = dbot_diag_set(diag, rc, "SCRAM username: SASLprep (RFC 4013) refuses it (empty, "
                                     "not UTF-8, or a prohibited or unassigned character)");
        goto out;
    }
    if (rc == 0 && (rc = sasl_prep(password, &ppass)) == DBOT_ERR_INVALID) {
        rc = dbot_diag_set(diag, rc, "SCRAM password: SASLprep (RFC 4013) refuses it (empty, "
                                     "not UTF-8, or a prohibited or unassigned character)");
        goto out;
    }
    if (rc)
        goto nomem;

    if (!nonce) {
        unsigned char raw[SCRAM_NONCE_BYTES];
        if (RAND_bytes(raw, sizeof raw) != 1) {
            rc = dbot_diag_set(diag, DBOT_ERR_INTERNAL, "RAND_bytes failed");
            goto out;
        }
        rc = base64_encode(raw, sizeof raw, &gen, NULL);
        OPENSSL_cleanse(raw, sizeof raw);
        if (rc != 0)
            goto nomem;
        nonce = gen;
    }

    euser = escape_user(puser);
    s->hash = hash;
    s->cnonce_len = strlen(nonce);
    s->client_first_bare = euser ? concat("n=", euser, ",r=", nonce, NULL) : NULL;
    if (!s->client_first_bare)
        goto nomem;
    s->password = ppass; /* taken */
    ppass = NULL;
    rc = 0;
    goto out;
nomem:
    rc = dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    scram_cleanup(s);
out:
    free(puser);
    free_secret(ppass);
    free(euser);
    free(gen);
    return rc;
}

int scram_client_first(struct scram *s, char **out_b64, struct dbot_diag *diag)
{
    if (s->state != SCRAM_NEW || !s->client_first_bare)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "SCRAM client-first out of order");
    char *msg = concat("n,,", s->client_first_bare, NULL, NULL, NULL);
    if (!msg)
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    int rc = base64_encode(msg, strlen(msg), out_b64, NULL);
    free(msg);
    if (rc != 0)
        return dbot_diag_set(diag, rc, "out of memory");
    s->state = SCRAM_SENT_FIRST;
    return 0;
}

/* Decodes a base64 SASL payload into a NUL-terminated string with no embedded NUL. */
static int decode_payload(const char *b64, char **out, struct dbot_diag *diag, const char *what)
{
    if (!b64 || !*b64 || strcmp(b64, "=") == 0)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "SCRAM %s is empty", what);
    unsigned char *raw = NULL;
    size_t n = 0;
    int rc = base64_decode(b64, strlen(b64), &raw, &n);
    if (rc == DBOT_ERR_NOMEM)
        return dbot_diag_set(diag, rc, "out of memory");
    if (rc != 0)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "SCRAM %s is not valid base64", what);
    if (memchr(raw, '\0', n)) {
        free(raw);
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "SCRAM %s contains a NUL byte", what);
    }
    *out = (char *)raw;
    return 0;
}

/* Copies the value of the attribute that starts at p ("x=value,…") into a new string. */
static char *attr_value(const char *p)
{
    const char *v = p + 2;
    size_t n = strcspn(v, ",");
    return strndup(v, n);
}

/* Server error values are from a fixed vocabulary (RFC 5802 §7); keep the diag one short
 * line of safe characters anyway. */
static int server_error(const char *msg, struct dbot_diag *diag)
{
    char reason[64];
    size_t n = strcspn(msg + 2, ",");
    if (n >= sizeof reason)
        n = sizeof reason - 1;
    for (size_t i = 0; i < n; i++) {
        char c = msg[2 + i];
        reason[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    reason[n] = '\0';
    return dbot_diag_set(diag, DBOT_ERR_DENIED, "SCRAM server error: %s", reason);
}

/* Parses server-first into nonce, salt and iteration count. */
static int parse_server_first(const struct scram *s, const char *msg, char **nonce,
                              unsigned char **salt, size_t *salt_len, unsigned *iters,
                              struct dbot_diag *diag)
{
    if (strncmp(msg, "e=", 2) == 0)
        return server_error(msg, diag);
    if (strncmp(msg, "m=", 2) == 0)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "SCRAM server requires an unsupported "
                                                     "extension");
    if (strncmp(msg, "r=", 2) != 0)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "SCRAM challenge does not start with r=");
    const char *p_s = strstr(msg, ",s=");
    const char *p_i = strstr(msg, ",i=");
    if (!p_s || !p_i || p_i < p_s)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "SCRAM challenge lacks s= or i=");
    /* r=, s=, i= come first and in this order (RFC 5802 grammar); extensions may follow. */
    if ((size_t)(p_s - msg) != 2 + strcspn(msg + 2, ",") ||
        (size_t)(p_i - p_s) != 3 + strcspn(p_s + 3, ","))
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "SCRAM challenge attributes out of order");

    size_t nlen = (size_t)(p_s - msg) - 2;
    const char *cnonce = s->client_first_bare + strlen(s->client_first_bare) - s->cnonce_len;
    if (nlen <= s->cnonce_len || memcmp(msg + 2, cnonce, s->cnonce_len) != 0)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "SCRAM server nonce does not extend ours");

    /* i= must be followed by the end or another attribute, and be 1..MAX. */
    const char *ip = p_i + 3;
    unsigned long v = 0;
    size_t digits = 0;
    while (ip[digits] >= '0' && ip[digits] <= '9' && digits < 8) {
        v = v * 10 + (unsigned long)(ip[digits] - '0');
        digits++;
    }
    if (digits == 0 || (ip[digits] != '\0' && ip[digits] != ',') || v < 1 ||
        v > SCRAM_MAX_ITERATIONS)
        return dbot_diag_set(diag, DBOT_ERR_INVALID,
                             "SCRAM iteration count missing or outside 1..%d",
                             SCRAM_MAX_ITERATIONS);

    char *salt_b64 = attr_value(p_s + 1);
    char *n = strndup(msg + 2, nlen);
    if (!salt_b64 || !n) {
        free(salt_b64);
        free(n);
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    }
    int rc = base64_decode(salt_b64, strlen(salt_b64), salt, salt_len);
    free(salt_b64);
    if (rc == 0 && *salt_len == 0) {
        free(*salt);
        *salt = NULL;
        rc = DBOT_ERR_INVALID;
    }
    if (rc != 0) {
        free(n);
        return rc == DBOT_ERR_NOMEM ? dbot_diag_set(diag, rc, "out of memory")
                                    : dbot_diag_set(diag, DBOT_ERR_INVALID,
                                                    "SCRAM salt is empty or not base64");
    }
    *nonce = n;
    *iters = (unsigned)v;
    return 0;
}

static bool hmac(const EVP_MD *md, const unsigned char *key, size_t key_len, const void *data,
                 size_t len, unsigned char *out)
{
    unsigned int out_len = 0;
    return HMAC(md, key, (int)key_len, data, len, out, &out_len) != NULL;
}

int scram_client_final(struct scram *s, const char *challenge_b64, char **out_b64,
                       struct dbot_diag *diag)
{
    if (s->state != SCRAM_SENT_FIRST || !s->password)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "SCRAM challenge out of order");
    s->state = SCRAM_FAILED; /* until proven otherwise */

    const EVP_MD *md = md_of(s->hash);
    size_t hlen = (size_t)EVP_MD_get_size(md);
    char *server_first = NULL, *nonce = NULL, *without_proof = NULL, *auth_msg = NULL;
    char *proof_b64 = NULL, *final_msg = NULL;
    unsigned char *salt = NULL;
    size_t salt_len = 0;
    unsigned iters = 0;
    unsigned char salted[SCRAM_MAX_DIGEST], client_key[SCRAM_MAX_DIGEST];
    unsigned char stored_key[SCRAM_MAX_DIGEST], client_sig[SCRAM_MAX_DIGEST];
    unsigned char server_key[SCRAM_MAX_DIGEST], proof[SCRAM_MAX_DIGEST];

    int rc = decode_payload(challenge_b64, &server_first, diag, "challenge");
    if (rc != 0)
        goto out;
    rc = parse_server_first(s, server_first, &nonce, &salt, &salt_len, &iters, diag);
    if (rc != 0)
        goto out;

    without_proof = concat("c=biws,r=", nonce, NULL, NULL, NULL);
    auth_msg = without_proof ? concat(s->client_first_bare, ",", server_first, ",",
                                      without_proof)
                             : NULL;
    if (!auth_msg) {
        rc = dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
        goto out;
    }
    size_t am_len = strlen(auth_msg);

    if (PKCS5_PBKDF2_HMAC(s->password, (int)strlen(s->password), salt, (int)salt_len,
                          (int)iters, md, (int)hlen, salted) != 1 ||
        !hmac(md, salted, hlen, "Client Key", 10, client_key) ||
        EVP_Digest(client_key, hlen, stored_key, NULL, md, NULL) != 1 ||
        !hmac(md, stored_key, hlen, auth_msg, am_len, client_sig) ||
        !hmac(md, salted, hlen, "Server Key", 10, server_key) ||
        !hmac(md, server_key, hlen, auth_msg, am_len, s->server_sig)) {
        rc = dbot_diag_set(diag, DBOT_ERR_INTERNAL, "libcrypto failed computing SCRAM keys");
        goto out;
    }
    s->sig_len = hlen;
    for (size_t i = 0; i < hlen; i++)
        proof[i] = client_key[i] ^ client_sig[i];

    rc = base64_encode(proof, hlen, &proof_b64, NULL);
    if (rc != 0) {
        rc = dbot_diag_set(diag, rc, "out of memory");
        goto out;
    }
    final_msg = concat(without_proof, ",p=", proof_b64, NULL, NULL);
    if (!final_msg) {
        rc = dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = base64_encode(final_msg, strlen(final_msg), out_b64, NULL);
    if (rc != 0) {
        rc = dbot_diag_set(diag, rc, "out of memory");
        goto out;
    }
    s->state = SCRAM_SENT_FINAL;

out:
    /* The password is needed exactly once. */
    free_secret(s->password);
    s->password = NULL;
    OPENSSL_cleanse(salted, sizeof salted);
    OPENSSL_cleanse(client_key, sizeof client_key);
    OPENSSL_cleanse(stored_key, sizeof stored_key);
    OPENSSL_cleanse(client_sig, sizeof client_sig);
    OPENSSL_cleanse(server_key, sizeof server_key);
    OPENSSL_cleanse(proof, sizeof proof);
    free(server_first);
    free(nonce);
    free(salt);
    free(without_proof);
    free(auth_msg);
    free_secret(proof_b64);
    free_secret(final_msg);
    return rc;
}

int scram_server_final(struct scram *s, const char *success_b64, struct dbot_diag *diag)
{
    if (s->state != SCRAM_SENT_FINAL)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "SCRAM server-final out of order");
    s->state = SCRAM_FAILED;
    char *msg = NULL;
    int rc = decode_payload(success_b64, &msg, diag, "server-final");
    if (rc != 0)
        return rc;
    if (strncmp(msg, "e=", 2) == 0) {
        rc = server_error(msg, diag);
        free(msg);
        return rc;
    }
    if (strncmp(msg, "v=", 2) != 0) {
        free(msg);
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "SCRAM server-final lacks v=");
    }
    char *sig_b64 = attr_value(msg);
    free(msg);
    if (!sig_b64)
        return dbot_diag_set(diag, DBOT_ERR_NOMEM, "out of memory");
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    rc = base64_decode(sig_b64, strlen(sig_b64), &sig, &sig_len);
    free(sig_b64);
    if (rc == DBOT_ERR_NOMEM)
        return dbot_diag_set(diag, rc, "out of memory");
    if (rc != 0)
        return dbot_diag_set(diag, DBOT_ERR_INVALID, "SCRAM server signature is not base64");
    bool ok = sig_len == s->sig_len && CRYPTO_memcmp(sig, s->server_sig, sig_len) == 0;
    free(sig);
    if (!ok)
        return dbot_diag_set(diag, DBOT_ERR_DENIED,
                             "SCRAM server signature mismatch: the server does not know the "
                             "password (possible impostor)");
    s->state = SCRAM_DONE;
    return 0;
}

void scram_cleanup(struct scram *s)
{
    if (!s)
        return;
    free_secret(s->password);
    free(s->client_first_bare);
    OPENSSL_cleanse(s->server_sig, sizeof s->server_sig);
    memset(s, 0, sizeof *s);
}

int scram_plain_initial(const char *user, const char *password, char **out_b64)
{
    if (!user || !*user || !password || !*password)
        return DBOT_ERR_INVALID;
    size_t ul = strlen(user), pl = strlen(password);
    size_t n = 1 + ul + 1 + pl;
    unsigned char *msg = malloc(n);
    if (!msg)
        return DBOT_ERR_NOMEM;
    msg[0] = '\0';
    memcpy(msg + 1, user, ul);
    msg[1 + ul] = '\0';
    memcpy(msg + 2 + ul, password, pl);
    int rc = base64_encode(msg, n, out_b64, NULL);
    OPENSSL_cleanse(msg, n);
    free(msg);
    return rc;
}
