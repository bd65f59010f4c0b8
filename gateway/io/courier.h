/*
 * courier.h — durable before visible: everything the gateway publishes is
 * first added to the store's outbox in the loop turn that produced it; at
 * the end of the turn the turn is committed (with the core's state, so a
 * recorded dose and the alert it caused are one transaction), and only then
 * does the courier hand the new items, in id order, to their broker link.
 * An item is removed from the outbox when the broker acknowledges it (QoS 1
 * PUBACK). After a reconnect or a restart, undelivered items go out again in
 * their original order, at most max_inflight at a time per link, before
 * anything newer: nothing new can overtake them because everything takes
 * the same path.
 *
 * Delivery is at least once: an item the broker took but whose PUBACK was
 * lost in a crash or a broken connection is sent again; receivers
 * deduplicate by the ids inside the messages (alert id + event seq, command
 * id, audit seq, snapshot seq).
 *
 * When the store cannot take an item (disk budget reached, disk full,
 * read-only, I/O error) the item is published at once without durability
 * (never dropped), the failure is counted, and courier's caller is told so it
 * can raise a high technical alert and audit it.
 *
 * Threading: loop thread only.
 */
#ifndef DG_COURIER_H
#define DG_COURIER_H

#include <stddef.h>
#include <stdint.h>

#include "link.h"
#include "store.h"

typedef struct dg_courier dg_courier;

struct dg_courier_stats {
    uint64_t queued;    /* items added to the outbox */
    uint64_t delivered; /* items acknowledged by a broker */
    uint64_t resent;    /* items handed to a link more than once */
    uint64_t undurable; /* items published without the store (store refused) */
    uint64_t backlog;   /* undelivered items in the outbox */
    uint64_t backlog_bytes;
};

/* store is borrowed (must outlive the courier). Links are attached with
   dg_courier_attach() once open. 0 or -DG_ENOMEM. */
int dg_courier_new(dg_courier **out, dg_store *store, size_t max_inflight);
void dg_courier_free(dg_courier *c);
/* Attach the link that carries items whose link name is name. */
void dg_courier_attach(dg_courier *c, const char *name, dg_link *link);
/* Forget every link (they are closing): nothing is handed over any more;
   undelivered items stay in the outbox. */
void dg_courier_detach_all(dg_courier *c);

/* Open the store turn if none is open (every add/put calls it). */
void dg_courier_turn(dg_courier *c);

/*
 * Queue one message. Returns 0 when it is in the outbox (it goes out after
 * the turn commits), or the store's negative code when it was published
 * without the store instead (the caller alerts and audits).
 */
int dg_courier_send(dg_courier *c, enum dg_outbox_kind kind, const char *link, const char *topic,
                    const void *payload, size_t len, int retained);

/*
 * End the turn: mark acknowledged items delivered, commit, then hand
 * committed items to connected links. Returns 0 or the store's negative
 * code when the turn could not be committed (then everything the turn
 * queued is published without the store: the caller alerts and audits).
 */
int dg_courier_end_turn(dg_courier *c);

/* Link events, forwarded by the link's owner. */
void dg_courier_on_connected(dg_courier *c, dg_link *link);
void dg_courier_on_disconnected(dg_courier *c, dg_link *link);
/* A publish made by the courier completed (token = outbox id; 0 = undurable). */
void dg_courier_on_done(dg_courier *c, dg_link *link, uint64_t token, int rc);

void dg_courier_stats(const dg_courier *c, struct dg_courier_stats *out);

#endif
