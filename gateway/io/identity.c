/*
 * identity.c — who may publish as what (see identity.h).
 *
 * Design: three rules, in the order a refusal is most useful to read.
 *
 *   kind       the id is the kind's prefix followed by at least one more
 *              character ("pump-" alone names no device). A kind other than
 *              pump, monitor or dashboard has no prefix and is refused.
 *   inventory  when the site lists devices (have_inventory, even with no
 *              entry) a pump's or monitor's id must be listed, as the kind
 *              asked for; dashboards are not listed, so for them the kind
 *              rule decides alone. The
 *              list is sorted by id (strcmp) and unique, as the loader
 *              stores it (config.c): a binary search, O(log n) per message.
 *   bed        an entry with a bed may report only that one, exactly
 *              (case-sensitive, no prefix match; an empty bed is not it).
 *
 * The kind rule comes first even with an inventory, so a dashboard or monitor
 * certificate writing pump telemetry is named for what it is. An id listed as
 * the other kind (possible when both kinds share a prefix, and the inventory
 * alone tells them apart) is DG_IDENTITY_WRONG_KIND.
 *
 * Pure: no I/O, no allocation, no globals; ids are compared as C strings, so
 * an id longer than any entry (or than DG_ID_MAX) simply is not listed.
 */
#include "identity.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
say(char *why, size_t n, const char *fmt, ...)
{
    if (!why || n == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
}

static const char *kind_name(enum dg_device_kind kind)
{
    switch (kind) {
    case DG_DEVICE_PUMP:
        return "pump";
    case DG_DEVICE_MONITOR:
        return "monitor";
    case DG_DEVICE_DASHBOARD:
        return "dashboard";
    }
    return NULL;
}

static const char *kind_prefix(const struct dg_devices_settings *d, enum dg_device_kind kind)
{
    switch (kind) {
    case DG_DEVICE_PUMP:
        return d->pump_id_prefix;
    case DG_DEVICE_MONITOR:
        return d->monitor_id_prefix;
    case DG_DEVICE_DASHBOARD:
        return d->dashboard_id_prefix;
    }
    return NULL;
}

static int by_id(const void *key, const void *elem)
{
    return strcmp(key, ((const struct dg_inventory_entry *)elem)->id);
}

/* The inventory entry for id, or NULL (also when there is no inventory). */
static const struct dg_inventory_entry *find(const struct dg_devices_settings *d, const char *id)
{
    if (!d->have_inventory || d->n_inventory == 0 || !d->inventory) return NULL;
    return bsearch(id, d->inventory, d->n_inventory, sizeof d->inventory[0], by_id);
}

enum dg_identity_verdict dg_identity_check(const struct dg_devices_settings *d,
                                           enum dg_device_kind kind, const char *id, char *why,
                                           size_t n)
{
    say(why, n, "%s", "");
    if (!id) id = "";
    const char *name = kind_name(kind);
    const char *prefix = kind_prefix(d, kind);
    if (!name || !prefix) {
        say(why, n, "%s: no such device kind (%d)", id, (int)kind);
        return DG_IDENTITY_KIND;
    }
    size_t plen = strlen(prefix);
    if (strncmp(id, prefix, plen) != 0) {
        say(why, n, "%s is not a %s: %s ids start with '%s'", id, name, name, prefix);
        return DG_IDENTITY_KIND;
    }
    if (id[plen] == '\0') {
        say(why, n, "%s is not a %s: %s ids are '%s' followed by a name", id, name, name, prefix);
        return DG_IDENTITY_KIND;
    }
    if (!d->have_inventory || kind == DG_DEVICE_DASHBOARD) return DG_IDENTITY_OK;

    const struct dg_inventory_entry *e = find(d, id);
    if (!e) {
        say(why, n, "%s is not in the device inventory (devices.inventory)", id);
        return DG_IDENTITY_UNKNOWN;
    }
    if (e->kind != kind) {
        const char *listed = kind_name(e->kind);
        say(why, n, "%s is listed in the device inventory as a %s, not a %s", id,
            listed ? listed : "device of no kind", name);
        return DG_IDENTITY_WRONG_KIND;
    }
    return DG_IDENTITY_OK;
}

enum dg_identity_verdict dg_identity_check_bed(const struct dg_devices_settings *d, const char *id,
                                               const char *bed_id, char *why, size_t n)
{
    say(why, n, "%s", "");
    if (!d->have_inventory) return DG_IDENTITY_OK;
    if (!id) id = "";
    if (!bed_id) bed_id = "";
    const struct dg_inventory_entry *e = find(d, id);
    if (!e) {
        say(why, n, "%s is not in the device inventory (devices.inventory)", id);
        return DG_IDENTITY_UNKNOWN;
    }
    if (e->bed_id[0] && strcmp(e->bed_id, bed_id) != 0) {
        say(why, n, "%s may report only bed %s (devices.inventory), not %s", id, e->bed_id,
            bed_id[0] ? bed_id : "(none)");
        return DG_IDENTITY_BED;
    }
    return DG_IDENTITY_OK;
}

const char *dg_identity_verdict_name(enum dg_identity_verdict v)
{
    switch (v) {
    case DG_IDENTITY_OK:
        return "ok";
    case DG_IDENTITY_KIND:
        return "kind";
    case DG_IDENTITY_UNKNOWN:
        return "unknown";
    case DG_IDENTITY_WRONG_KIND:
        return "wrong_kind";
    case DG_IDENTITY_BED:
        return "bed";
    }
    return "?";
}
