/*
 * audit.h — the audit trail's hash chain and its signed checkpoints
 * (contract.md, AuditRecord; docs/audit.md).
 *
 * Each record carries the SHA-256 of the previous record and its own
 * SHA-256, computed over the record encoded with this_hash empty. The
 * chain lives in memory for now; the durable store (issue 4) will persist
 * its head so that it continues across restarts.
 *
 * A checkpoint is an ordinary record in the chain (event_type
 * "audit.checkpoint", detail "count=<N> head=<hex>") whose `signature` is an
 * Ed25519 signature, made with the gateway's audit key, over
 *
 *     "dosegate-audit-checkpoint" 0x00 || gateway_id || 0x00 || u64be(N) || head
 *
 * where N is the seq of the record before the checkpoint and head (32 bytes)
 * that record's this_hash. The checkpoint is then hashed like any other
 * record, so its this_hash covers the signature. A verifier holding the
 * public key can therefore prove records 1..N unaltered and complete.
 *
 * Keys are OpenSSL EVP_PKEYs behind an opaque dg_audit_key, so callers need
 * no OpenSSL headers. Nothing here has global state; everything is
 * single-threaded per object.
 */
#ifndef DG_AUDIT_H
#define DG_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/types.h"

#define DG_AUDIT_CHECKPOINT_EVENT "audit.checkpoint"
/* Domain-separation prefix of the signed bytes (a NUL follows it). */
#define DG_AUDIT_SIG_DOMAIN "dosegate-audit-checkpoint"
#define DG_AUDIT_SIG_LEN    64  /* Ed25519 */
#define DG_AUDIT_ID_MAX     255 /* longest gateway_id a checkpoint can sign (bytes) */
/* Longest signed byte string: domain, NUL, gateway_id, NUL, u64, head. */
#define DG_AUDIT_SIGNED_MAX (sizeof DG_AUDIT_SIG_DOMAIN + DG_AUDIT_ID_MAX + 1 + 8 + 32)

/* An Ed25519 key (private, or public only); see "keys" below. */
typedef struct dg_audit_key dg_audit_key;

struct dg_audit_chain {
    uint64_t seq;            /* of the last record appended; 0 = none yet */
    uint8_t head[32];        /* this_hash of the last record; zeros before the first */
    uint64_t checkpoint_seq; /* seq of the last checkpoint record; 0 = none yet */
};

/* Start an empty chain. */
void dg_audit_chain_init(struct dg_audit_chain *ch);

/*
 * Sequence, hash and encode one event as the next AuditRecord. On success
 * returns 0 and *out (dg_malloc'd, caller frees) of *len bytes, and advances
 * the chain. On failure the chain is unchanged and a negative DG_E* code is
 * returned.
 */
int dg_audit_chain_append(struct dg_audit_chain *ch, const char *gateway_id, uint64_t time_ms,
                          const struct dg_audit_event *ev, uint8_t **out, size_t *len);

/*
 * As dg_audit_chain_append(), with sig (sig_len bytes, borrowed; NULL/0 =
 * none) as the record's `signature`. Checkpoints are made with
 * dg_audit_chain_checkpoint(); this is its building block, and lets tests
 * make records a correct gateway never would.
 */
int dg_audit_chain_append_signed(struct dg_audit_chain *ch, const char *gateway_id,
                                 uint64_t time_ms, const struct dg_audit_event *ev,
                                 const uint8_t *sig, size_t sig_len, uint8_t **out, size_t *len);

/*
 * Append a signed checkpoint over the chain as it stands (count = ch->seq,
 * head = ch->head) and set ch->checkpoint_seq to its seq. Output and errors
 * as dg_audit_chain_append(); -DG_EINVAL if the chain is empty, key holds no
 * private key, or gateway_id is longer than DG_AUDIT_ID_MAX.
 */
int dg_audit_chain_checkpoint(struct dg_audit_chain *ch, const char *gateway_id, uint64_t time_ms,
                              const dg_audit_key *key, uint8_t **out, size_t *len);

/* "count=<count> head=<64 lowercase hex>" into buf; 0 or -DG_EINVAL if it does not fit. */
int dg_audit_checkpoint_detail(char *buf, size_t buflen, uint64_t count, const uint8_t head[32]);

/*
 * The signed byte string of a checkpoint (see the top of this file) into
 * buf (at least DG_AUDIT_SIGNED_MAX bytes); its length in *len. gateway_id
 * is id_len bytes and may not contain NUL. 0, or -DG_EINVAL.
 */
int dg_audit_checkpoint_message(uint8_t *buf, size_t buflen, size_t *len, const char *gateway_id,
                                size_t id_len, uint64_t count, const uint8_t head[32]);

/* ------------------------------------------------------------ keys */

/*
 * Load an Ed25519 key from a PEM file. want_private = 1: an unencrypted
 * private key (the gateway's audit.key). 0: a public key (audit.pub), or a
 * private key, whose public half is then used. Returns 0 and *out (free with
 * dg_audit_key_free), or -DG_EIO (unreadable) / -DG_EINVAL (not such a key)
 * with one line "PATH: problem" in err.
 */
int dg_audit_key_load(dg_audit_key **out, const char *path, int want_private, char *err,
                      size_t errlen);
/* The same from PEM text pem[len] (borrowed). 0, -DG_EINVAL or -DG_ENOMEM. */
int dg_audit_key_from_pem(dg_audit_key **out, const void *pem, size_t len, int want_private);
/* A fresh Ed25519 key pair (tests). 0 or -DG_ENOMEM. */
int dg_audit_key_generate(dg_audit_key **out);
/* Free a key; NULL is a no-op. */
void dg_audit_key_free(dg_audit_key *key);
/* SHA-256 of the raw 32-byte public key, as 64 lowercase hex + NUL: names
   the key in logs and the audit trail. 0 or -DG_EIO. */
int dg_audit_key_fingerprint(const dg_audit_key *key, char hex[65]);

/* Ed25519 signature of msg[len] into sig; 0, or -DG_EINVAL (no private key) / -DG_EIO. */
int dg_audit_sign(const dg_audit_key *key, const uint8_t *msg, size_t len,
                  uint8_t sig[DG_AUDIT_SIG_LEN]);
/* 0 if sig[sig_len] is a valid signature of msg[len] by key, else -DG_EINVAL. */
int dg_audit_verify_signature(const dg_audit_key *key, const uint8_t *msg, size_t len,
                              const uint8_t *sig, size_t sig_len);

/* ------------------------------------------------------------ hashing */

/* SHA-256 of buf into out; 0 or -DG_EIO. */
int dg_sha256(const void *buf, size_t len, uint8_t out[32]);
/* SHA-256 of a file's bytes as 64 lowercase hex digits + NUL; 0 or -DG_EIO. */
int dg_sha256_file_hex(const char *path, char hex[65]);
/* n bytes as 2n lowercase hex digits + NUL into hex (2n + 1 bytes). */
void dg_hex(char *hex, const uint8_t *b, size_t n);

#endif
