/*
 * storehealth.c — when the state-store alert may clear (see storehealth.h).
 */
#include "storehealth.h"

bool dg_store_recovered(enum dg_store_cause cause, const struct dg_store_turn *t)
{
    if (t->errors) return false;
    switch (cause) {
    case DG_STORE_CAUSE_STATE:
        return t->state_saved;
    case DG_STORE_CAUSE_OUTBOX:
        return t->outbox_stored && t->backlog_bytes <= t->budget_bytes / 4 * 3;
    case DG_STORE_CAUSE_TURN:
        return t->state_saved || t->outbox_stored;
    case DG_STORE_CAUSE_NONE:
        return true;
    }
    return false;
}
