/*
 * audit.h — the audit trail's hash chain (contract.md, AuditRecord).
 *
 * Each record carries the SHA-256 of the previous record and its own
 * SHA-256, computed over the record encoded with this_hash empty. The
 * chain lives in memory for now; the durable store (issue 4) will persist
 * its head so that it continues across restarts.
 */
#ifndef DG_AUDIT_H
#define DG_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/types.h"

struct dg_audit_chain {
    uint64_t seq;     /* of the last record appended; 0 = none yet */
    uint8_t head[32]; /* this_hash of the last record; zeros before the first */
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

/* SHA-256 of buf into out; 0 or -DG_EIO. */
int dg_sha256(const void *buf, size_t len, uint8_t out[32]);
/* SHA-256 of a file's bytes as 64 lowercase hex digits + NUL; 0 or -DG_EIO. */
int dg_sha256_file_hex(const char *path, char hex[65]);

#endif
