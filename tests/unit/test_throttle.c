/*
 * test_throttle.c — token buckets per device: bursts, steady rate, episodes,
 * independence of devices. Time passed in, no sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/throttle.h"

static void burst_then_steady_rate(void **state)
{
    (void)state;
    int64_t live = dg_alloc_live();
    dg_throttle *t;
    assert_int_equal(dg_throttle_new(&t, 10, 2), 0); /* 10/s, bursts of 20 */
    int edge, passed = 0;
    for (int i = 0; i < 20; i++)
        passed += dg_throttle_take(t, "pump-1", 1000, &edge);
    assert_int_equal(passed, 20);
    assert_int_equal(dg_throttle_take(t, "pump-1", 1000, &edge), 0); /* the 21st */
    assert_int_equal(edge, 1);                                       /* a flood starts */
    assert_int_equal(dg_throttle_take(t, "pump-1", 1000, &edge), 0);
    assert_int_equal(edge, 0); /* once per episode */
    /* another device is not affected */
    assert_int_equal(dg_throttle_take(t, "monitor-1", 1000, &edge), 1);
    /* 100 ms later: one token back */
    assert_int_equal(dg_throttle_take(t, "pump-1", 1100, &edge), 1);
    assert_int_equal(dg_throttle_take(t, "pump-1", 1100, &edge), 0);
    /* a steady 10/s passes indefinitely */
    int ok = 0;
    for (uint64_t ms = 1200; ms < 11200; ms += 100)
        ok += dg_throttle_take(t, "pump-1", ms, &edge);
    assert_int_equal(ok, 100);
    /* quiet long enough to refill: the episode ends */
    assert_int_equal(dg_throttle_take(t, "pump-1", 20000, &edge), 1);
    assert_int_equal(edge, -1);
    dg_throttle_free(t);
    assert_int_equal(dg_alloc_live(), live);
}

static void out_of_memory_passes(void **state)
{
    (void)state;
    dg_throttle *t;
    assert_int_equal(dg_throttle_new(&t, 10, 2), 0);
    int edge;
    dg_alloc_fail_after(1);
    assert_int_equal(dg_throttle_take(t, "pump-9", 0, &edge), -DG_ENOMEM);
    dg_alloc_fail_after(0);
    dg_throttle_free(t);
}

/* After a reconnect, a device's queued messages arrive at once: within
   rate x time away they all pass and no flood starts; the credit is once
   per reconnect and only within its window; a real flood still empties the
   bucket. (Before: the 21st message of the burst was throttled and every
   device raised a flood alert.) */
static void reconnect_backlog_is_not_a_flood(void **state)
{
    (void)state;
    int64_t live = dg_alloc_live();
    dg_throttle *t;
    assert_int_equal(dg_throttle_new(&t, 10, 2), 0); /* 10/s, bursts of 20 */
    int edge, passed = 0;
    assert_int_equal(dg_throttle_take(t, "pump-1", 0, &edge), 1);
    /* away 60 s: up to 600 messages per device queued; 20 + 600 - 1 pass */
    dg_throttle_backlog(t, 60000, 60000);
    for (int i = 0; i < 620; i++) {
        passed += dg_throttle_take(t, "pump-1", 60000, &edge);
        assert_int_equal(edge, 0);
    }
    assert_int_equal(passed, 620);
    /* the next is a flood: the credit was 600, once */
    assert_int_equal(dg_throttle_take(t, "pump-1", 60000, &edge), 0);
    assert_int_equal(edge, 1);
    /* a device first seen in the window gets the credit too */
    passed = 0;
    for (int i = 0; i < 620; i++)
        passed += dg_throttle_take(t, "monitor-1", 61000, &edge);
    assert_int_equal(passed, 620);
    /* credit not used within the window (30 s + away / 10) is dropped */
    dg_throttle_backlog(t, 60000, 100000);
    passed = 0;
    for (int i = 0; i < 100; i++)
        passed += dg_throttle_take(t, "pump-2", 100000 + 36000, &edge);
    assert_int_equal(passed, 100); /* in the window (36 s): credit */
    passed = 0;
    for (int i = 0; i < 100; i++)
        passed += dg_throttle_take(t, "pump-3", 100000 + 36001, &edge);
    assert_int_equal(passed, 20); /* after it: the plain burst */
    /* a long absence credits at most 600 s of rate */
    dg_throttle_backlog(t, 3600000, 200000);
    passed = 0;
    for (int i = 0; i < 7000; i++)
        passed += dg_throttle_take(t, "pump-4", 200000, &edge);
    assert_int_equal(passed, 20 + 6000);
    dg_throttle_free(t);
    assert_int_equal(dg_alloc_live(), live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_then_steady_rate),
        cmocka_unit_test(out_of_memory_passes),
        cmocka_unit_test(reconnect_backlog_is_not_a_flood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
