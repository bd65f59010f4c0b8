/*
 * audit.c — SHA-256 hash chain of AuditRecords and its Ed25519-signed
 * checkpoints (see audit.h and docs/audit.md).
 *
 * Signing uses OpenSSL's EVP interface: Ed25519 is a "one-shot" signature
 * scheme, so EVP_DigestSign{Init,} are called with a NULL message digest and
 * the whole message at once. The signed bytes are built here and nowhere
 * else (dg_audit_checkpoint_message), and the verifier (audit_verify.c)
 * calls the same function, so signer and verifier cannot drift apart.
 */
#include "audit.h"

#include <inttypes.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "../core/alloc.h"
#include "../core/error.h"
#include "codec.h"

#define KEY_FILE_MAX (64 * 1024) /* bytes; a PEM Ed25519 key is ~120 */

struct dg_audit_key {
    EVP_PKEY *pkey;
    int has_private;
};

void dg_audit_chain_init(struct dg_audit_chain *ch)
{
    memset(ch, 0, sizeof *ch);
}

void dg_hex(char *hex, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[b[i] >> 4];
        hex[2 * i + 1] = digits[b[i] & 15];
    }
    hex[2 * n] = '\0';
}

int dg_sha256(const void *buf, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    if (EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32) return -DG_EIO;
    return 0;
}

int dg_sha256_file_hex(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f) return -DG_EIO;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = -DG_EIO;
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) goto out;
    unsigned char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        if (EVP_DigestUpdate(ctx, buf, n) != 1) goto out;
    if (ferror(f)) goto out;
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) goto out;
    dg_hex(hex, md, 32);
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    fclose(f);
    return rc;
}

/* ------------------------------------------------------------ chain */

int dg_audit_chain_append_signed(struct dg_audit_chain *ch, const char *gateway_id,
                                 uint64_t time_ms, const struct dg_audit_event *ev,
                                 const uint8_t *sig, size_t sig_len, uint8_t **out, size_t *len)
{
    struct dg_audit_record rec;
    memset(&rec, 0, sizeof rec);
    rec.seq = ch->seq + 1;
    rec.time_ms = time_ms;
    rec.gateway_id = gateway_id;
    rec.ev = ev;
    rec.signature = sig_len ? sig : NULL;
    rec.signature_len = sig ? sig_len : 0;
    memcpy(rec.prev_hash, ch->head, 32);

    uint8_t *unhashed = NULL;
    size_t unhashed_len = 0;
    int rc = dg_codec_encode_audit(&rec, 0, &unhashed, &unhashed_len);
    if (rc != 0) return rc;
    rc = dg_sha256(unhashed, unhashed_len, rec.this_hash);
    dg_free(unhashed);
    if (rc != 0) return rc;
    rc = dg_codec_encode_audit(&rec, 1, out, len);
    if (rc != 0) return rc;
    ch->seq = rec.seq;
    memcpy(ch->head, rec.this_hash, 32);
    return 0;
}

int dg_audit_chain_append(struct dg_audit_chain *ch, const char *gateway_id, uint64_t time_ms,
                          const struct dg_audit_event *ev, uint8_t **out, size_t *len)
{
    return dg_audit_chain_append_signed(ch, gateway_id, time_ms, ev, NULL, 0, out, len);
}

int dg_audit_checkpoint_detail(char *buf, size_t buflen, uint64_t count, const uint8_t head[32])
{
    char hex[65];
    dg_hex(hex, head, 32);
    int n = snprintf(buf, buflen, "count=%" PRIu64 " head=%s", count, hex);
    return n < 0 || (size_t)n >= buflen ? -DG_EINVAL : 0;
}

int dg_audit_checkpoint_message(uint8_t *buf, size_t buflen, size_t *len, const char *gateway_id,
                                size_t id_len, uint64_t count, const uint8_t head[32])
{
    const size_t dlen = sizeof DG_AUDIT_SIG_DOMAIN; /* with its NUL */
    if (!gateway_id || id_len > DG_AUDIT_ID_MAX || memchr(gateway_id, '\0', id_len))
        return -DG_EINVAL;
    size_t need = dlen + id_len + 1 + 8 + 32;
    if (need > buflen) return -DG_EINVAL;
    uint8_t *p = buf;
    memcpy(p, DG_AUDIT_SIG_DOMAIN, dlen);
    p += dlen;
    memcpy(p, gateway_id, id_len);
    p += id_len;
    *p++ = 0;
    for (int i = 7; i >= 0; i--)
        *p++ = (uint8_t)(count >> (8 * i));
    memcpy(p, head, 32);
    *len = need;
    return 0;
}

int dg_audit_chain_checkpoint(struct dg_audit_chain *ch, const char *gateway_id, uint64_t time_ms,
                              const dg_audit_key *key, uint8_t **out, size_t *len)
{
    if (!ch || ch->seq == 0 || !key || !key->has_private || !gateway_id) return -DG_EINVAL;
    uint8_t msg[DG_AUDIT_SIGNED_MAX];
    size_t mlen = 0;
    int rc = dg_audit_checkpoint_message(msg, sizeof msg, &mlen, gateway_id, strlen(gateway_id),
                                         ch->seq, ch->head);
    if (rc != 0) return rc;
    uint8_t sig[DG_AUDIT_SIG_LEN];
    rc = dg_audit_sign(key, msg, mlen, sig);
    if (rc != 0) return rc;
    char detail[96];
    rc = dg_audit_checkpoint_detail(detail, sizeof detail, ch->seq, ch->head);
    if (rc != 0) return rc;
    struct dg_audit_event ev = {.event_type = DG_AUDIT_CHECKPOINT_EVENT,
                                .action = "E",
                                .outcome = DG_OUTCOME_SUCCESS,
                                .participant_kind = DG_PART_GATEWAY,
                                .participant_id = gateway_id,
                                .object_type = "audit",
                                .object_id = gateway_id,
                                .detail = detail};
    rc = dg_audit_chain_append_signed(ch, gateway_id, time_ms, &ev, sig, sizeof sig, out, len);
    if (rc == 0) ch->checkpoint_seq = ch->seq;
    return rc;
}

/* ------------------------------------------------------------ keys */

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1; /* never prompt; an encrypted key is refused */
}

static int is_ed25519(const EVP_PKEY *k)
{
    return EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519;
}

int dg_audit_key_from_pem(dg_audit_key **out, const void *pem, size_t len, int want_private)
{
    *out = NULL;
    if (!pem || len == 0 || len > KEY_FILE_MAX) return -DG_EINVAL;
    EVP_PKEY *k = NULL;
    int has_private = 0;
    if (!want_private) {
        BIO *bio = BIO_new_mem_buf(pem, (int)len);
        if (!bio) return -DG_ENOMEM;
        k = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
        BIO_free(bio);
    }
    if (!k) {
        BIO *bio = BIO_new_mem_buf(pem, (int)len);
        if (!bio) return -DG_ENOMEM;
        k = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
        BIO_free(bio);
        has_private = k != NULL;
    }
    ERR_clear_error();
    if (!k || !is_ed25519(k)) {
        EVP_PKEY_free(k);
        return -DG_EINVAL;
    }
    dg_audit_key *key = dg_calloc(1, sizeof *key);
    if (!key) {
        EVP_PKEY_free(k);
        return -DG_ENOMEM;
    }
    key->pkey = k;
    key->has_private = has_private;
    *out = key;
    return 0;
}

int dg_audit_key_load(dg_audit_key **out, const char *path, int want_private, char *err,
                      size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open", path);
        return -DG_EIO;
    }
    char *buf = dg_malloc(KEY_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return -DG_ENOMEM;
    }
    size_t n = fread(buf, 1, KEY_FILE_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    int rc;
    if (bad) {
        snprintf(err, errlen, "%s: cannot read", path);
        rc = -DG_EIO;
    } else if (n > KEY_FILE_MAX) {
        snprintf(err, errlen, "%s: larger than %d bytes: not a key", path, KEY_FILE_MAX);
        rc = -DG_EINVAL;
    } else {
        rc = dg_audit_key_from_pem(out, buf, n, want_private);
        if (rc == -DG_EINVAL)
            snprintf(err, errlen,
                     want_private ? "%s: holds no unencrypted Ed25519 private key in PEM"
                                  : "%s: holds no Ed25519 public key (or private key) in PEM",
                     path);
        else if (rc != 0)
            snprintf(err, errlen, "%s: %s", path, dg_strerror(rc));
    }
    /* The buffer may have held a private key. */
    OPENSSL_cleanse(buf, KEY_FILE_MAX + 1);
    dg_free(buf);
    return rc;
}

int dg_audit_key_generate(dg_audit_key **out)
{
    *out = NULL;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!k) {
        ERR_clear_error();
        return -DG_ENOMEM;
    }
    dg_audit_key *key = dg_calloc(1, sizeof *key);
    if (!key) {
        EVP_PKEY_free(k);
        return -DG_ENOMEM;
    }
    key->pkey = k;
    key->has_private = 1;
    *out = key;
    return 0;
}

void dg_audit_key_free(dg_audit_key *key)
{
    if (!key) return;
    EVP_PKEY_free(key->pkey);
    dg_free(key);
}

int dg_audit_key_fingerprint(const dg_audit_key *key, char hex[65])
{
    uint8_t raw[32], md[32];
    size_t n = sizeof raw;
    if (!key || EVP_PKEY_get_raw_public_key(key->pkey, raw, &n) != 1 || n != sizeof raw) {
        ERR_clear_error();
        return -DG_EIO;
    }
    if (dg_sha256(raw, n, md) != 0) return -DG_EIO;
    dg_hex(hex, md, 32);
    return 0;
}

int dg_audit_sign(const dg_audit_key *key, const uint8_t *msg, size_t len,
                  uint8_t sig[DG_AUDIT_SIG_LEN])
{
    if (!key || !key->has_private) return -DG_EINVAL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return -DG_ENOMEM;
    size_t siglen = DG_AUDIT_SIG_LEN;
    int rc = -DG_EIO;
    if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
        EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1 && siglen == DG_AUDIT_SIG_LEN)
        rc = 0;
    EVP_MD_CTX_free(ctx);
    if (rc != 0) ERR_clear_error();
    return rc;
}

int dg_audit_verify_signature(const dg_audit_key *key, const uint8_t *msg, size_t len,
                              const uint8_t *sig, size_t sig_len)
{
    if (!key || !sig || sig_len != DG_AUDIT_SIG_LEN) return -DG_EINVAL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return -DG_ENOMEM;
    int ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok ? 0 : -DG_EINVAL;
}
