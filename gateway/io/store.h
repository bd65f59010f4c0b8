/*
 * store.h — the gateway's durable state: an outbox of messages not yet
 * acknowledged by a broker, and named state blobs, in one SQLite database
 * (<dir>/dosegate.db, WAL mode). docs/store.md explains the design, the sync
 * levels and the disk budget.
 *
 * Turns: the loop groups everything one loop turn produces into one turn,
 *
 *     dg_store_begin(s);
 *     dg_store_put(s, "core", state, n);               // dose recorded ...
 *     dg_store_outbox_add(s, DG_OUTBOX_ALERT, ...);    // ... and alert queued
 *     if (dg_store_commit(s) == 0) publish what was added;
 *
 * and a turn is all or nothing: after a crash, power loss or storage error
 * either every add, put and delete of the turn is in the store or none is.
 * A commit that stored anything durable (an add, a put, a delete of a state
 * blob) costs one fsync (synchronous=FULL); a turn that only marked items
 * delivered costs none (synchronous=NORMAL: losing that mark in a power
 * failure only repeats a delivery). Calls made outside a turn run as a turn
 * of their own.
 *
 * Errors: functions return 0 or a negative DG_E* code. A full disk is
 * -DG_EFULL; a read-only file system or any other storage failure is
 * -DG_EIO; dg_store_errmsg() then says what failed, with SQLite's message and
 * the OS error. A storage error rolls back the whole turn (later calls in the
 * turn return the same code without touching the disk, and so does commit);
 * the next turn reopens the database, so the store works again as soon as
 * the disk does. A refusal by the disk budget (-DG_EFULL too) refuses only
 * that item: the turn goes on, and dg_store_turn_error() stays 0.
 *
 * Threading: one thread (the libuv loop thread) owns a store; nothing here is
 * thread-safe. One process owns a store directory: the database is opened
 * with an exclusive lock held until close, so a second gateway on the same
 * directory is refused at open.
 */
#ifndef DG_STORE_H
#define DG_STORE_H

#include <stddef.h>
#include <stdint.h>

/* Newest schema this code reads and writes (meta.schema_version). */
#define DG_STORE_SCHEMA_VERSION 1
/* Each outbox item counts toward the disk budget as its payload, topic and
   link name plus this much (row header, index entry, page slack). */
#define DG_STORE_ITEM_OVERHEAD 64
/* Largest payload or state blob, and longest key, topic and link name. */
#define DG_STORE_BLOB_MAX  (16u * 1024u * 1024u)
#define DG_STORE_KEY_MAX   255
#define DG_STORE_TOPIC_MAX 1024
#define DG_STORE_LINK_MAX  32

typedef struct dg_store dg_store;

/* What the outbox holds; the values are stored on disk: never renumber. */
enum dg_outbox_kind {
    DG_OUTBOX_ALERT = 1,   /* alert event: never coalesced, budget reserve */
    DG_OUTBOX_ALARMS = 2,  /* retained alarm snapshot of a bed: each one delivered, in order */
    DG_OUTBOX_COMMAND = 3, /* pump command: never coalesced */
    DG_OUTBOX_AUDIT = 4,   /* audit record: never coalesced, budget reserve */
    DG_OUTBOX_STATUS = 5,  /* retained gateway status: latest per topic wins */
};

/* What dg_store_open() found on disk. */
struct dg_store_found {
    int created;           /* 1: the database did not exist and was made */
    int schema_version;    /* after open (migrations applied) */
    uint64_t outbox_items; /* undelivered items */
    uint64_t outbox_bytes; /* their budget cost (see DG_STORE_ITEM_OVERHEAD) */
    uint64_t first_id;     /* lowest undelivered id, 0 if none */
    uint64_t last_id;      /* highest id ever given out (delivered or not), 0 if none */
    uint64_t state_keys;   /* state blobs present */
};

/*
 * Open (creating if needed) the store in dir: dir itself is created with mode
 * 0700 if missing (its parent must exist), then dir/dosegate.db. A database
 * written by a newer schema, a file that is not a dosegate store, a
 * directory that is not writable and a store already open (in this or
 * another process) are refused. disk_budget_bytes (> 0) bounds the
 * undelivered outbox (see dg_store_outbox_add).
 *
 * Returns 0 and *out (free with dg_store_close), or a negative DG_E* code
 * (-DG_EINVAL, -DG_ENOMEM, -DG_EIO, -DG_EFULL) with one line naming the file
 * and the problem in err (errlen bytes; err may be NULL if errlen is 0).
 * dir is only read during the call.
 */
int dg_store_open(dg_store **out, const char *dir, uint64_t disk_budget_bytes, char *err,
                  size_t errlen);

/* What the open found (valid until close). */
const struct dg_store_found *dg_store_found(const dg_store *s);

/*
 * Close the store and free it. A turn still open is rolled back (as a crash
 * would). NULL is a no-op.
 */
void dg_store_close(dg_store *s);

/*
 * Start a turn. -DG_EINVAL if one is already open. When an earlier turn
 * failed, this first reopens the database; if that fails the turn starts
 * failed (dg_store_turn_error) and every call in it returns the error.
 * Always returns 0 otherwise, and the turn must be ended with commit or
 * rollback.
 */
int dg_store_begin(dg_store *s);

/*
 * End the turn, making it durable. Returns 0, or the negative code of the
 * storage error that failed the turn (now or earlier in the turn): then
 * nothing of the turn is in the store. -DG_EINVAL if no turn is open.
 */
int dg_store_commit(dg_store *s);

/* End the turn discarding everything it did. No-op without a turn. */
void dg_store_rollback(dg_store *s);

/* 0 while the current turn is intact, else the code of the error that failed
   it (the turn will commit nothing). */
int dg_store_turn_error(const dg_store *s);

/*
 * Queue a message for a broker: durable once the turn commits. kind as
 * above; link names the broker link ("device", "clinic"); topic, payload
 * (len bytes, may be NULL if len is 0) are copied. retained is the MQTT
 * retain flag. On success *id (may be NULL) is the item's id: ids strictly
 * increase and are never given out twice by one open store (not even after
 * a failed turn); use it as the publish token and pass it to
 * dg_store_outbox_done() on the broker's acknowledgement.
 *
 * A retained STATUS item replaces any undelivered item of the same kind,
 * link and topic (a heartbeat: only the latest matters). Alerts, alarm
 * snapshots, commands and audit records are never replaced or merged: the
 * clinic gets every alarm state a bed went through, in order.
 *
 * Disk budget: the undelivered items' cost (payload + topic + link +
 * DG_STORE_ITEM_OVERHEAD) may reach disk_budget_bytes for ALERT and AUDIT
 * items, but only disk_budget_bytes - reserve for the other kinds (reserve =
 * 1/8 of the budget), so alerts and audit records still fit when
 * commands and snapshots have filled their part. An add that would go over
 * its limit is refused with -DG_EFULL and the turn goes on: the caller
 * must not drop it silently (raise a high technical alert, audit, publish it
 * undurably).
 *
 * Returns 0, -DG_EINVAL (bad kind, empty or too long link/topic, len >
 * DG_STORE_BLOB_MAX), -DG_EFULL (budget, or disk full), -DG_EIO.
 */
int dg_store_outbox_add(dg_store *s, enum dg_outbox_kind kind, const char *link, const char *topic,
                        const void *payload, size_t len, int retained, uint64_t *id);

/*
 * The broker acknowledged item id: remove it. -DG_ENOTFOUND if no such
 * undelivered item (already done, replaced by a newer snapshot, or from a
 * turn that failed): harmless. Other errors as for add.
 */
int dg_store_outbox_done(dg_store *s, uint64_t id);

/* One undelivered item, as seen by dg_store_outbox_each(). Every pointer is
   valid only during the callback. */
struct dg_outbox_item {
    uint64_t id;
    enum dg_outbox_kind kind;
    const char *link;
    const char *topic;
    const void *payload; /* len bytes; non-NULL */
    size_t len;
    int retained;
};

/* Return 0 to go on, non-zero to stop the iteration. Must not call any
   dg_store_* function on the same store. */
typedef int (*dg_outbox_fn)(void *ctx, const struct dg_outbox_item *item);

/*
 * Call fn for up to limit undelivered items with id > after_id, in id order,
 * restricted to one link unless link is NULL. Replay asks for batches:
 * after_id = the last id seen. Items added by the current (uncommitted) turn
 * are included. Returns the number of items fn was called for (>= 0), or a
 * negative DG_E* code.
 */
int dg_store_outbox_each(dg_store *s, uint64_t after_id, const char *link, size_t limit,
                         dg_outbox_fn fn, void *ctx);

/* Undelivered items and their budget cost, including the current turn. */
void dg_store_outbox_depth(const dg_store *s, uint64_t *count, uint64_t *bytes);

/*
 * Store blob (len bytes, copied; may be NULL if len is 0) under key (1 to
 * DG_STORE_KEY_MAX bytes), replacing any earlier value, in the current turn.
 * State blobs do not count toward the disk budget. Returns 0, -DG_EINVAL,
 * -DG_EFULL (disk full), -DG_EIO.
 */
int dg_store_put(dg_store *s, const char *key, const void *blob, size_t len);

/*
 * The blob stored under key (including the current turn's puts): *blob is
 * dg_malloc'd (caller frees with dg_free; non-NULL even when *len is 0).
 * Returns 0, -DG_ENOTFOUND, -DG_ENOMEM, -DG_EIO.
 */
int dg_store_get(dg_store *s, const char *key, void **blob, size_t *len);

/* Remove key in the current turn. Returns 0, -DG_ENOTFOUND, or as put. */
int dg_store_del(dg_store *s, const char *key);

/* What the last failure was, one line: "commit: database or disk is full
   (SQLITE_FULL, errno 28: No space left on device)". "" if none yet. Valid
   until the next call on s. */
const char *dg_store_errmsg(const dg_store *s);

/*
 * For benchmarks only: full = 0 commits durable turns with
 * synchronous=NORMAL (no fsync per turn: a power failure can then lose the
 * last turns, a crash of the process still cannot). The default is 1.
 */
void dg_store_set_sync_full(dg_store *s, int full);

#endif
