/*
 * storehealth.h — when the state-store alert may clear.
 *
 * The gateway raises the high technical "state-store" alert the moment the
 * store refuses something (gateway.c, store_problem). Clearing it is the
 * harder half: a turn that merely did not fail proves nothing if it did not
 * try what failed. So the alert clears only at the end of a turn that
 *   - had no store error at all (no refused save, no refused outbox item,
 *     commit succeeded), and
 *   - stored the kind of thing whose refusal raised it:
 *       DG_STORE_CAUSE_STATE   a state save (oversize, out of memory):
 *                              a state save succeeded this turn;
 *       DG_STORE_CAUSE_OUTBOX  an outbox item (the disk budget): an outbox
 *                              item was stored this turn and the undelivered
 *                              backlog is back under 3/4 of the budget (so
 *                              the next few items fit; no flapping at the
 *                              edge);
 *       DG_STORE_CAUSE_TURN    the commit (disk full, read-only, I/O): a
 *                              turn that stored anything committed.
 * Pure: no I/O, no clock.
 */
#ifndef DG_STOREHEALTH_H
#define DG_STOREHEALTH_H

#include <stdbool.h>
#include <stdint.h>

enum dg_store_cause {
    DG_STORE_CAUSE_NONE = 0,
    DG_STORE_CAUSE_STATE,
    DG_STORE_CAUSE_OUTBOX,
    DG_STORE_CAUSE_TURN,
};

/* What one loop turn did with the store. */
struct dg_store_turn {
    unsigned errors;        /* store refusals or failures this turn, commit included */
    bool state_saved;       /* a state save was stored */
    bool outbox_stored;     /* an outbox item was stored */
    uint64_t backlog_bytes; /* undelivered outbox cost after the turn */
    uint64_t budget_bytes;  /* the disk budget */
};

/* May the alert raised for cause clear after turn t? */
bool dg_store_recovered(enum dg_store_cause cause, const struct dg_store_turn *t);

#endif
