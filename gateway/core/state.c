/*
 * state.c — the core's tables: pumps, monitors, beds and patients.
 *
 * Small arrays searched linearly: a clinic has tens of chairs. Each entry is
 * created on first sight (of a device the shell has already let through its
 * identity check) and lives as long as the core.
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "internal.h"

void dg_copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* Grow *arr (of elem bytes) so that it holds at least need elements. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    void *p = dg_realloc(*arr, ncap * elem);
    if (!p) return -DG_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

int dg_core_new(dg_core **out, const struct dg_core_config *cfg, const struct dg_sink *sink)
{
    dg_core *c = dg_calloc(1, sizeof *c);
    if (!c) return -DG_ENOMEM;
    c->sink = *sink;
    c->lib = cfg->druglib;
    c->permit_to_infuse = cfg->permit_to_infuse;
    c->device_time_scale = cfg->device_time_scale >= 1 ? cfg->device_time_scale : 1;
    dg_copy_str(c->gateway_id, sizeof c->gateway_id, cfg->gateway_id);
    dg_copy_str(c->id_prefix, sizeof c->id_prefix, cfg->id_prefix);
    *out = c;
    return 0;
}

void dg_core_free_tables(dg_core *c)
{
    for (size_t i = 0; i < c->n_beds; i++) {
        for (size_t j = 0; j < c->beds[i].n_alerts; j++)
            dg_free(c->beds[i].alerts[j]);
        dg_free(c->beds[i].alerts);
    }
    dg_free(c->beds);
    dg_free(c->pumps);
    dg_free(c->monitors);
    dg_free(c->patients);
    c->beds = NULL;
    c->pumps = NULL;
    c->monitors = NULL;
    c->patients = NULL;
    c->n_beds = c->n_pumps = c->n_monitors = c->n_patients = 0;
    c->cap_beds = c->cap_pumps = c->cap_monitors = c->cap_patients = 0;
}

void dg_core_free(dg_core *c)
{
    if (!c) return;
    dg_core_free_tables(c);
    dg_free(c);
}

void dg_core_stats(const dg_core *c, struct dg_core_stats *out)
{
    *out = c->counters;
    out->pumps = (uint32_t)c->n_pumps;
    out->monitors = (uint32_t)c->n_monitors;
    out->beds = (uint32_t)c->n_beds;
    out->active_alerts = 0;
    for (size_t i = 0; i < c->n_beds; i++)
        out->active_alerts += (uint32_t)c->beds[i].n_alerts;
}

struct dg_bed *dg_bed_find(dg_core *c, const char *id)
{
    for (size_t i = 0; i < c->n_beds; i++)
        if (strcmp(c->beds[i].id, id) == 0) return &c->beds[i];
    return NULL;
}

struct dg_pump *dg_pump_find(dg_core *c, const char *id)
{
    for (size_t i = 0; i < c->n_pumps; i++)
        if (strcmp(c->pumps[i].id, id) == 0) return &c->pumps[i];
    return NULL;
}

struct dg_monitor *dg_monitor_find(dg_core *c, const char *id)
{
    for (size_t i = 0; i < c->n_monitors; i++)
        if (strcmp(c->monitors[i].id, id) == 0) return &c->monitors[i];
    return NULL;
}

const struct dg_patient *dg_patient_find(const dg_core *c, const char *ref)
{
    for (size_t i = 0; i < c->n_patients; i++)
        if (strcmp(c->patients[i].ref, ref) == 0) return &c->patients[i];
    return NULL;
}

const struct dg_input_note *dg_core_note(const dg_core *c)
{
    return &c->note;
}

struct dg_bed *dg_bed_get(dg_core *c, const char *id)
{
    struct dg_bed *b = dg_bed_find(c, id);
    if (b) return b;
    if (grow((void **)&c->beds, &c->cap_beds, c->n_beds + 1, sizeof *c->beds) != 0) return NULL;
    b = &c->beds[c->n_beds++];
    memset(b, 0, sizeof *b);
    dg_copy_str(b->id, sizeof b->id, id);
    return b;
}

struct dg_pump *dg_pump_get(dg_core *c, const char *id)
{
    struct dg_pump *p = dg_pump_find(c, id);
    if (p) return p;
    if (grow((void **)&c->pumps, &c->cap_pumps, c->n_pumps + 1, sizeof *c->pumps) != 0) return NULL;
    p = &c->pumps[c->n_pumps++];
    memset(p, 0, sizeof *p);
    dg_copy_str(p->id, sizeof p->id, id);
    return p;
}

struct dg_monitor *dg_monitor_get(dg_core *c, const char *id)
{
    struct dg_monitor *found = dg_monitor_find(c, id);
    if (found) return found;
    if (grow((void **)&c->monitors, &c->cap_monitors, c->n_monitors + 1, sizeof *c->monitors) != 0)
        return NULL;
    struct dg_monitor *m = &c->monitors[c->n_monitors++];
    memset(m, 0, sizeof *m);
    dg_copy_str(m->id, sizeof m->id, id);
    return m;
}

struct dg_patient *dg_patient_get(dg_core *c, const char *ref)
{
    for (size_t i = 0; i < c->n_patients; i++)
        if (strcmp(c->patients[i].ref, ref) == 0) return &c->patients[i];
    if (grow((void **)&c->patients, &c->cap_patients, c->n_patients + 1, sizeof *c->patients) != 0)
        return NULL;
    struct dg_patient *pt = &c->patients[c->n_patients++];
    memset(pt, 0, sizeof *pt);
    dg_copy_str(pt->ref, sizeof pt->ref, ref);
    return pt;
}
