/*
 * audit.c — SHA-256 hash chain of AuditRecords (see audit.h).
 */
#include "audit.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "../core/alloc.h"
#include "../core/error.h"
#include "codec.h"

void dg_audit_chain_init(struct dg_audit_chain *ch)
{
    memset(ch, 0, sizeof *ch);
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
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    fclose(f);
    return rc;
}

int dg_audit_chain_append(struct dg_audit_chain *ch, const char *gateway_id, uint64_t time_ms,
                          const struct dg_audit_event *ev, uint8_t **out, size_t *len)
{
    struct dg_audit_record rec;
    memset(&rec, 0, sizeof rec);
    rec.seq = ch->seq + 1;
    rec.time_ms = time_ms;
    rec.gateway_id = gateway_id;
    rec.ev = ev;
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
