/*
 * test_storehealth.c — the state-store alert clears only after a turn that
 * stored, without error, the kind of thing whose refusal raised it. Before,
 * a refused save followed by a successful commit in the same turn declared
 * recovery at once, and the alert raised and cleared every turn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "io/storehealth.h"

#define MB (1024u * 1024u)

static void refused_save_clears_only_after_a_stored_save(void **state)
{
    (void)state;
    /* the turn whose save was refused (too large): commit fine, outbox fine */
    struct dg_store_turn t = {.errors = 1, .outbox_stored = true, .budget_bytes = 256 * MB};
    assert_false(dg_store_recovered(DG_STORE_CAUSE_STATE, &t));
    /* a later turn with no error but no state save: proves nothing */
    t = (struct dg_store_turn){.outbox_stored = true, .budget_bytes = 256 * MB};
    assert_false(dg_store_recovered(DG_STORE_CAUSE_STATE, &t));
    /* a save stored without error */
    t.state_saved = true;
    assert_true(dg_store_recovered(DG_STORE_CAUSE_STATE, &t));
}

static void budget_clears_below_three_quarters(void **state)
{
    (void)state;
    struct dg_store_turn t = {.outbox_stored = true, .budget_bytes = 4 * MB};
    t.backlog_bytes = 3 * MB + 1; /* just above 3/4 */
    assert_false(dg_store_recovered(DG_STORE_CAUSE_OUTBOX, &t));
    t.backlog_bytes = 3 * MB; /* at */
    assert_true(dg_store_recovered(DG_STORE_CAUSE_OUTBOX, &t));
    t.outbox_stored = false; /* nothing tried */
    assert_false(dg_store_recovered(DG_STORE_CAUSE_OUTBOX, &t));
    t.outbox_stored = true;
    t.errors = 1; /* another refusal in the turn */
    assert_false(dg_store_recovered(DG_STORE_CAUSE_OUTBOX, &t));
}

static void failed_commit_clears_after_a_turn_that_wrote(void **state)
{
    (void)state;
    struct dg_store_turn t = {.budget_bytes = MB};
    assert_false(dg_store_recovered(DG_STORE_CAUSE_TURN, &t)); /* an empty turn */
    t.state_saved = true;
    assert_true(dg_store_recovered(DG_STORE_CAUSE_TURN, &t));
    t.errors = 1;
    assert_false(dg_store_recovered(DG_STORE_CAUSE_TURN, &t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refused_save_clears_only_after_a_stored_save),
        cmocka_unit_test(budget_clears_below_three_quarters),
        cmocka_unit_test(failed_commit_clears_after_a_turn_that_wrote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
