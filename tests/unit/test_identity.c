/*
 * test_identity.c — dg_identity_check() and dg_identity_check_bed(): the
 * gateway's own check of who may publish as what (gateway/io/identity.h).
 *
 * Table-driven: each rule at, below and around its edge. The kind rule
 * (prefix) with and without an inventory; the inventory's membership (every
 * position of a sorted list, and every gap between), an empty inventory
 * that refuses everything, an id listed as the other kind, the bed tie of an
 * entry and an untied entry; dashboard and monitor ids posing as pumps;
 * the dashboard kind (the id of an ack topic), which no inventory lists;
 * ids and prefixes of the longest length an id can have. No allocation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "io/identity.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PUMP         DG_DEVICE_PUMP
#define MONITOR      DG_DEVICE_MONITOR
#define DASHBOARD    DG_DEVICE_DASHBOARD

/* 63 characters: the longest id (DG_ID_MAX - 1). */
#define LONG_PUMP                                                                                  \
    "pump-"                                                                                        \
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUV"
/* 64 characters, LONG_PUMP and one more: longer than any id can be. */
#define LONGER_PUMP LONG_PUMP "W"
/* A 63-character prefix leaves no room for a name after it. */
#define LONG_PREFIX "p23456789-123456789-123456789-123456789-123456789-123456789-123"

_Static_assert(sizeof LONG_PUMP == DG_ID_MAX, "LONG_PUMP is the longest id");
_Static_assert(sizeof LONG_PREFIX == DG_ID_MAX, "LONG_PREFIX is the longest prefix");

/* ------------------------------------------------------------- settings */

/* Sorted by id (strcmp), as the loader stores them. */
static struct dg_inventory_entry site_inventory[] = {
    {"monitor-1", MONITOR, ""}, {"monitor-2", MONITOR, "bed-2"}, {"pump-1", PUMP, "bed-1"},
    {"pump-2", PUMP, ""},       {"pump-8", MONITOR, ""}, /* listed as the other kind (the loader
                                                            refuses this) */
    {LONG_PUMP, PUMP, ""},
};

#define PREFIXES(p, m)                                                                             \
    .pump_id_prefix = p, .monitor_id_prefix = m, .dashboard_id_prefix = "dashboard-"
static struct dg_devices_settings prefix_only = {PREFIXES("pump-", "monitor-")};
static struct dg_devices_settings with_inventory = {
    PREFIXES("pump-", "monitor-"), .have_inventory = true, .n_inventory = ARRAY_LEN(site_inventory),
    .inventory = site_inventory};
/* Present but empty: refuses every device. */
static struct dg_devices_settings empty_inventory = {PREFIXES("pump-", "monitor-"),
                                                     .have_inventory = true};

/* One prefix for both kinds: the inventory alone says which is which. */
static struct dg_inventory_entry shared_inventory[] = {
    {"dev-1", PUMP, ""},
    {"dev-2", MONITOR, ""},
};
static struct dg_devices_settings shared_prefix = {PREFIXES("dev-", "dev-"), .have_inventory = true,
                                                   .n_inventory = ARRAY_LEN(shared_inventory),
                                                   .inventory = shared_inventory};

static struct dg_devices_settings long_prefix = {PREFIXES(LONG_PREFIX, "monitor-")};

/* ---------------------------------------------------------- dg_identity_check */

struct check_case {
    const char *what;
    const struct dg_devices_settings *d;
    enum dg_device_kind kind;
    const char *id;
    enum dg_identity_verdict want;
    const char *why; /* the whole line (for a refusal); NULL: not compared */
};

static const struct check_case check_cases[] = {
    /* The kind rule, prefix only: at, below and around the prefix. */
    {"pump id", &prefix_only, PUMP, "pump-1", DG_IDENTITY_OK, NULL},
    {"one character after the prefix", &prefix_only, PUMP, "pump-x", DG_IDENTITY_OK, NULL},
    {"prefix repeated", &prefix_only, PUMP, "pump--", DG_IDENTITY_OK, NULL},
    {"every id character", &prefix_only, PUMP, "pump-A.b_9-", DG_IDENTITY_OK, NULL},
    {"the prefix alone", &prefix_only, PUMP, "pump-", DG_IDENTITY_KIND,
     "pump- is not a pump: pump ids are 'pump-' followed by a name"},
    {"prefix less its last character", &prefix_only, PUMP, "pump", DG_IDENTITY_KIND, NULL},
    {"prefix in another case", &prefix_only, PUMP, "Pump-1", DG_IDENTITY_KIND, NULL},
    {"prefix not at the start", &prefix_only, PUMP, "xpump-1", DG_IDENTITY_KIND, NULL},
    {"prefix with another separator", &prefix_only, PUMP, "pump_1", DG_IDENTITY_KIND, NULL},
    {"empty id", &prefix_only, PUMP, "", DG_IDENTITY_KIND, NULL},
    {"dashboard id as a pump", &prefix_only, PUMP, "dashboard-2", DG_IDENTITY_KIND,
     "dashboard-2 is not a pump: pump ids start with 'pump-'"},
    {"monitor id as a pump", &prefix_only, PUMP, "monitor-1", DG_IDENTITY_KIND,
     "monitor-1 is not a pump: pump ids start with 'pump-'"},
    {"pump id as a monitor", &prefix_only, MONITOR, "pump-1", DG_IDENTITY_KIND,
     "pump-1 is not a monitor: monitor ids start with 'monitor-'"},
    {"gateway id as a monitor", &prefix_only, MONITOR, "gw-1", DG_IDENTITY_KIND, NULL},
    {"monitor id", &prefix_only, MONITOR, "monitor-1", DG_IDENTITY_OK, NULL},
    {"monitor prefix alone", &prefix_only, MONITOR, "monitor-", DG_IDENTITY_KIND, NULL},
    {"no kind", &prefix_only, (enum dg_device_kind)0, "pump-1", DG_IDENTITY_KIND, NULL},
    {"kind out of range", &prefix_only, (enum dg_device_kind)4, "monitor-1", DG_IDENTITY_KIND,
     NULL},
    /* Dashboards: the id in an ack topic (<root>/ack/<id>). */
    {"dashboard id", &prefix_only, DASHBOARD, "dashboard-1", DG_IDENTITY_OK, NULL},
    {"dashboard prefix alone", &prefix_only, DASHBOARD, "dashboard-", DG_IDENTITY_KIND,
     "dashboard- is not a dashboard: dashboard ids are 'dashboard-' followed by a name"},
    {"pump id as a dashboard", &prefix_only, DASHBOARD, "pump-1", DG_IDENTITY_KIND,
     "pump-1 is not a dashboard: dashboard ids start with 'dashboard-'"},
    {"gateway id as a dashboard", &prefix_only, DASHBOARD, "gateway", DG_IDENTITY_KIND, NULL},
    {"dashboard prefix in another case", &prefix_only, DASHBOARD, "Dashboard-1", DG_IDENTITY_KIND,
     NULL},
    {"longest pump id", &prefix_only, PUMP, LONG_PUMP, DG_IDENTITY_OK, NULL},
    /* Longer than any topic can carry: the prefix rule alone says nothing against it. */
    {"id longer than an id", &prefix_only, PUMP, LONGER_PUMP, DG_IDENTITY_OK, NULL},
    {"longest prefix, nothing after it", &long_prefix, PUMP, LONG_PREFIX, DG_IDENTITY_KIND, NULL},
    {"longest prefix plus one", &long_prefix, PUMP, LONG_PREFIX "x", DG_IDENTITY_OK, NULL},
    {"longest prefix less one", &long_prefix, PUMP,
     "p23456789-123456789-123456789-123456789-123456789-123456789-12", DG_IDENTITY_KIND, NULL},

    /* The inventory: every entry, and every gap before, between and after. */
    {"first entry", &with_inventory, MONITOR, "monitor-1", DG_IDENTITY_OK, NULL},
    {"second entry", &with_inventory, MONITOR, "monitor-2", DG_IDENTITY_OK, NULL},
    {"middle entry", &with_inventory, PUMP, "pump-1", DG_IDENTITY_OK, NULL},
    {"entry after the middle", &with_inventory, PUMP, "pump-2", DG_IDENTITY_OK, NULL},
    {"last entry, longest id", &with_inventory, PUMP, LONG_PUMP, DG_IDENTITY_OK, NULL},
    {"before the first entry", &with_inventory, MONITOR, "monitor-0", DG_IDENTITY_UNKNOWN,
     "monitor-0 is not in the device inventory (devices.inventory)"},
    {"between monitors", &with_inventory, MONITOR, "monitor-10", DG_IDENTITY_UNKNOWN, NULL},
    {"after the monitors", &with_inventory, MONITOR, "monitor-3", DG_IDENTITY_UNKNOWN, NULL},
    {"between pumps", &with_inventory, PUMP, "pump-10", DG_IDENTITY_UNKNOWN, NULL},
    {"an entry's prefix", &with_inventory, PUMP, "pump-", DG_IDENTITY_KIND, NULL},
    {"unlisted pump", &with_inventory, PUMP, "pump-3", DG_IDENTITY_UNKNOWN,
     "pump-3 is not in the device inventory (devices.inventory)"},
    {"after the last entry", &with_inventory, PUMP, "pump-z", DG_IDENTITY_UNKNOWN, NULL},
    {"longest id less its last character", &with_inventory, PUMP,
     "pump-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTU", DG_IDENTITY_UNKNOWN, NULL},
    {"longest id plus one character", &with_inventory, PUMP, LONGER_PUMP, DG_IDENTITY_UNKNOWN,
     NULL},
    /* The kind rule comes first, inventory or not. */
    {"listed monitor as a pump", &with_inventory, PUMP, "monitor-1", DG_IDENTITY_KIND, NULL},
    {"listed pump as a monitor", &with_inventory, MONITOR, "pump-1", DG_IDENTITY_KIND, NULL},
    {"dashboard id as a pump, inventory", &with_inventory, PUMP, "dashboard-1", DG_IDENTITY_KIND,
     NULL},
    /* Listed as the other kind. */
    {"pump id listed as a monitor", &with_inventory, PUMP, "pump-8", DG_IDENTITY_WRONG_KIND,
     "pump-8 is listed in the device inventory as a monitor, not a pump"},
    {"shared prefix: the pump", &shared_prefix, PUMP, "dev-1", DG_IDENTITY_OK, NULL},
    {"shared prefix: the monitor", &shared_prefix, MONITOR, "dev-2", DG_IDENTITY_OK, NULL},
    {"shared prefix: monitor as a pump", &shared_prefix, PUMP, "dev-2", DG_IDENTITY_WRONG_KIND,
     "dev-2 is listed in the device inventory as a monitor, not a pump"},
    {"shared prefix: pump as a monitor", &shared_prefix, MONITOR, "dev-1", DG_IDENTITY_WRONG_KIND,
     "dev-1 is listed in the device inventory as a pump, not a monitor"},
    {"shared prefix: unlisted", &shared_prefix, PUMP, "dev-3", DG_IDENTITY_UNKNOWN, NULL},

    /* Present but empty: nothing is accepted. */
    {"empty inventory: pump", &empty_inventory, PUMP, "pump-1", DG_IDENTITY_UNKNOWN,
     "pump-1 is not in the device inventory (devices.inventory)"},
    {"empty inventory: monitor", &empty_inventory, MONITOR, "monitor-1", DG_IDENTITY_UNKNOWN, NULL},
    {"empty inventory: wrong prefix", &empty_inventory, PUMP, "monitor-1", DG_IDENTITY_KIND, NULL},
    /* The inventory lists pumps and monitors only: it does not refuse a dashboard. */
    {"inventory: dashboard", &with_inventory, DASHBOARD, "dashboard-2", DG_IDENTITY_OK, NULL},
    {"empty inventory: dashboard", &empty_inventory, DASHBOARD, "dashboard-1", DG_IDENTITY_OK,
     NULL},
    {"inventory: pump id as a dashboard", &with_inventory, DASHBOARD, "pump-1", DG_IDENTITY_KIND,
     NULL},
};

static void check_table(void **state)
{
    (void)state;
    int64_t live = dg_alloc_live();
    for (size_t i = 0; i < ARRAY_LEN(check_cases); i++) {
        const struct check_case *c = &check_cases[i];
        char why[200];
        memset(why, 'x', sizeof why);
        enum dg_identity_verdict v = dg_identity_check(c->d, c->kind, c->id, why, sizeof why);
        if (v != c->want)
            fail_msg("%s: %s as kind %d: got %s (%s), want %s", c->what, c->id, (int)c->kind,
                     dg_identity_verdict_name(v), why, dg_identity_verdict_name(c->want));
        if (v == DG_IDENTITY_OK) {
            if (why[0] != '\0') fail_msg("%s: OK leaves a reason: %.60s", c->what, why);
            continue;
        }
        if (!memchr(why, '\0', sizeof why)) fail_msg("%s: reason not terminated", c->what);
        if (why[0] == '\0' || strchr(why, '\n')) fail_msg("%s: not one line: '%s'", c->what, why);
        if (c->why && strcmp(why, c->why) != 0)
            fail_msg("%s:\n got  %s\n want %s", c->what, why, c->why);
        /* Every refusal names the id it refused (truncated ones aside). */
        if (strlen(c->id) < 40 && c->id[0] && !strstr(why, c->id))
            fail_msg("%s: reason does not name %s: %s", c->what, c->id, why);
    }
    assert_int_equal(dg_alloc_live(), live);
}

/* -------------------------------------------------------- dg_identity_check_bed */

struct bed_case {
    const char *what;
    const struct dg_devices_settings *d;
    const char *id;
    const char *bed;
    enum dg_identity_verdict want;
    const char *why;
};

static const struct bed_case bed_cases[] = {
    {"no inventory: any bed", &prefix_only, "pump-1", "bed-9", DG_IDENTITY_OK, NULL},
    {"no inventory: empty bed", &prefix_only, "pump-1", "", DG_IDENTITY_OK, NULL},
    {"tied entry, its bed", &with_inventory, "pump-1", "bed-1", DG_IDENTITY_OK, NULL},
    {"tied entry, another bed", &with_inventory, "pump-1", "bed-2", DG_IDENTITY_BED,
     "pump-1 may report only bed bed-1 (devices.inventory), not bed-2"},
    {"tied entry, its bed and more", &with_inventory, "pump-1", "bed-10", DG_IDENTITY_BED, NULL},
    {"tied entry, its bed less one", &with_inventory, "pump-1", "bed-", DG_IDENTITY_BED, NULL},
    {"tied entry, no bed", &with_inventory, "pump-1", "", DG_IDENTITY_BED, NULL},
    {"tied entry, case differs", &with_inventory, "pump-1", "BED-1", DG_IDENTITY_BED, NULL},
    {"tied monitor, its bed", &with_inventory, "monitor-2", "bed-2", DG_IDENTITY_OK, NULL},
    {"tied monitor, another bed", &with_inventory, "monitor-2", "bed-1", DG_IDENTITY_BED, NULL},
    {"untied entry, any bed", &with_inventory, "pump-2", "bed-7", DG_IDENTITY_OK, NULL},
    {"untied entry, another", &with_inventory, "monitor-1", "bed-1", DG_IDENTITY_OK, NULL},
    {"untied entry, longest id", &with_inventory, LONG_PUMP, "bed-1", DG_IDENTITY_OK, NULL},
    {"unlisted id", &with_inventory, "pump-3", "bed-1", DG_IDENTITY_UNKNOWN, NULL},
    {"empty inventory", &empty_inventory, "pump-1", "bed-1", DG_IDENTITY_UNKNOWN, NULL},
};

static void bed_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bed_cases); i++) {
        const struct bed_case *c = &bed_cases[i];
        char why[200];
        memset(why, 'x', sizeof why);
        enum dg_identity_verdict v = dg_identity_check_bed(c->d, c->id, c->bed, why, sizeof why);
        if (v != c->want)
            fail_msg("%s: %s on %s: got %s (%s), want %s", c->what, c->id, c->bed,
                     dg_identity_verdict_name(v), why, dg_identity_verdict_name(c->want));
        if (v == DG_IDENTITY_OK) {
            if (why[0] != '\0') fail_msg("%s: OK leaves a reason: %.60s", c->what, why);
            continue;
        }
        if (why[0] == '\0' || strchr(why, '\n')) fail_msg("%s: not one line: '%s'", c->what, why);
        if (c->why && strcmp(why, c->why) != 0)
            fail_msg("%s:\n got  %s\n want %s", c->what, why, c->why);
    }
}

/* ------------------------------------------------------------ the rest */

/* A large inventory: every entry found at its position, every gap refused. */
static void large_inventory(void **state)
{
    (void)state;
    enum { N = 5000 };
    static struct dg_inventory_entry inv[N];
    for (size_t i = 0; i < N; i++) {
        /* Zero-padded: numeric order is strcmp order. */
        snprintf(inv[i].id, sizeof inv[i].id, "pump-%05zu", 2 * i + 1);
        inv[i].kind = PUMP;
        inv[i].bed_id[0] = '\0';
    }
    struct dg_devices_settings d = {PREFIXES("pump-", "monitor-"), .have_inventory = true,
                                    .n_inventory = N, .inventory = inv};
    char id[DG_ID_MAX], why[128];
    for (size_t i = 0; i <= 2 * N + 1; i++) {
        snprintf(id, sizeof id, "pump-%05zu", i);
        enum dg_identity_verdict want =
            (i % 2 == 1 && i < 2 * N) ? DG_IDENTITY_OK : DG_IDENTITY_UNKNOWN;
        enum dg_identity_verdict v = dg_identity_check(&d, PUMP, id, why, sizeof why);
        if (v != want) fail_msg("%s: got %s", id, dg_identity_verdict_name(v));
    }
    /* One entry, and none. */
    d.n_inventory = 1;
    assert_int_equal(dg_identity_check(&d, PUMP, "pump-00001", why, sizeof why), DG_IDENTITY_OK);
    assert_int_equal(dg_identity_check(&d, PUMP, "pump-00003", why, sizeof why),
                     DG_IDENTITY_UNKNOWN);
    assert_int_equal(dg_identity_check(&d, PUMP, "pump-00000", why, sizeof why),
                     DG_IDENTITY_UNKNOWN);
    d.n_inventory = 0;
    assert_int_equal(dg_identity_check(&d, PUMP, "pump-00001", why, sizeof why),
                     DG_IDENTITY_UNKNOWN);
}

/* The reason is optional and truncated to its buffer, never overrun. */
static void reason_buffer(void **state)
{
    (void)state;
    assert_int_equal(dg_identity_check(&prefix_only, PUMP, "dashboard-2", NULL, 0),
                     DG_IDENTITY_KIND);
    assert_int_equal(dg_identity_check_bed(&with_inventory, "pump-1", "bed-2", NULL, 0),
                     DG_IDENTITY_BED);
    char why[12];
    memset(why, 'x', sizeof why);
    assert_int_equal(dg_identity_check(&prefix_only, PUMP, "dashboard-2", why, 8),
                     DG_IDENTITY_KIND);
    assert_string_equal(why, "dashboa");
    assert_int_equal(why[8], 'x');
    memset(why, 'x', sizeof why);
    assert_int_equal(dg_identity_check(&prefix_only, PUMP, "dashboard-2", why, 1),
                     DG_IDENTITY_KIND);
    assert_int_equal(why[0], '\0');
    assert_int_equal(why[1], 'x');
}

static void verdict_names(void **state)
{
    (void)state;
    assert_string_equal(dg_identity_verdict_name(DG_IDENTITY_OK), "ok");
    assert_string_equal(dg_identity_verdict_name(DG_IDENTITY_KIND), "kind");
    assert_string_equal(dg_identity_verdict_name(DG_IDENTITY_UNKNOWN), "unknown");
    assert_string_equal(dg_identity_verdict_name(DG_IDENTITY_WRONG_KIND), "wrong_kind");
    assert_string_equal(dg_identity_verdict_name(DG_IDENTITY_BED), "bed");
    assert_string_equal(dg_identity_verdict_name((enum dg_identity_verdict)99), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_table),     cmocka_unit_test(bed_table),
        cmocka_unit_test(large_inventory), cmocka_unit_test(reason_buffer),
        cmocka_unit_test(verdict_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
