/*
 * persist.c — the interlock core's whole state as one blob, so the shell can
 * store it (in the same transaction as the outbox) and a restarted gateway
 * resumes with the same delivered doses, session history, active alerts and
 * latches. A dose ceiling must never be reset by a restart.
 *
 * Format (native byte order; the blob never leaves the edge box):
 *   header  magic "DGCS", format version, and the sizes of every struct
 *           written, so a build whose layout differs refuses the blob
 *           (-DG_EINVAL) instead of misreading it; the shell then refuses to
 *           start rather than forget doses (see docs/store.md).
 *   body    counters, the ack-id ring, then pumps, monitors, patients and
 *           beds as arrays of their structs; each bed is followed by its
 *           active alerts.
 *   trailer FNV-1a 64 of everything before it: a damaged blob is refused,
 *           never half-read.
 *
 * The checksum catches damage, not forgery: whoever can write the state
 * directory can recompute it. So every field is checked on load as well
 * (check_state, below), and a blob with one the core could not have written
 * is refused (-DG_EINVAL, core unchanged): every string terminated inside
 * its array, every bool 0 or 1, every enum one of its values, every count
 * within its array, every time within TIME_MAX_MS, every amount the rules
 * compute with a number and not negative, the keys of every table unique,
 * every device's bed in the bed table and each bed's member counts those of
 * the pump and monitor tables, as the core keeps them. A forged state that
 * passes is then one the core could have reached: it cannot make the core
 * read or write out of bounds, overflow, or emit what the shell cannot
 * publish (tests/fuzz/fuzz_state_load.c holds it to that). A saved bed's
 * alerts pointer and capacity are written as zeros: a blob holds no heap
 * address, and one state always saves the same bytes.
 *
 * Times on the gateway's monotonic clock mean nothing after a restart (the
 * clock starts again), so dg_core_load() re-bases them on `now`: every device
 * counts as just heard from, every pending command as just sent, so liveness
 * and command-not-honoured restart their timers and reconcile with the first
 * fresh messages. Device-time fields (clinical windows) are kept as they are,
 * and so are corrected times: the gateway's timeline resumes where it stood
 * at the save, advanced by the wall-clock time the gateway was away (x the
 * device time scale), so it never steps back and every device's clock
 * offset stays valid.
 */
#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "internal.h"

#define MAGIC          "DGCS"
#define FORMAT_VERSION 2u

/* Times of the gateway's timeline and of device clocks (ms): below 2^53
   (285,000 years; the codec takes device clocks up to the year 2200), so
   they are exact as doubles and their differences fit int64 (trust.c
   subtracts them as signed numbers). */
#define TIME_MAX_MS (UINT64_C(1) << 53)

uint64_t dg_persist_checksum(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

struct buf {
    uint8_t *p;
    size_t len, cap;
    int err;
};

static void put(struct buf *b, const void *src, size_t n)
{
    if (b->err) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *np = dg_realloc(b->p, cap);
        if (!np) {
            b->err = -DG_ENOMEM;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

int dg_core_save(const dg_core *c, uint8_t **out, size_t *len)
{
    struct dg_persist_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, 4);
    h.version = FORMAT_VERSION;
    h.sz_pump = sizeof(struct dg_pump);
    h.sz_monitor = sizeof(struct dg_monitor);
    h.sz_bed = sizeof(struct dg_bed);
    h.sz_patient = sizeof(struct dg_patient);
    h.sz_alert = sizeof(struct dg_alert);
    h.n_pumps = c->n_pumps;
    h.n_monitors = c->n_monitors;
    h.n_beds = c->n_beds;
    h.n_patients = c->n_patients;
    h.next_alert = c->next_alert;
    h.next_command = c->next_command;
    h.event_seq = c->event_seq;
    h.ack_next = c->ack_next;
    h.tl_have = c->tl_have;
    h.tl_clin_ms = c->tl_have ? dg_clin_ms(c, c->last_now.mono_ms) : 0;
    h.tl_wall_ms = c->last_now.wall_ms;
    h.counters = c->counters;

    struct buf b = {0};
    put(&b, &h, sizeof h);
    put(&b, c->ack_ids, sizeof c->ack_ids);
    if (c->n_pumps) put(&b, c->pumps, c->n_pumps * sizeof *c->pumps);
    if (c->n_monitors) put(&b, c->monitors, c->n_monitors * sizeof *c->monitors);
    if (c->n_patients) put(&b, c->patients, c->n_patients * sizeof *c->patients);
    for (size_t i = 0; i < c->n_beds; i++) {
        const struct dg_bed *bd = &c->beds[i];
        /* Its alerts pointer and capacity are this process's: written as
           zeros (a blob holds no heap address, and the same state saves the
           same bytes), rebuilt on load. */
        struct dg_bed disk = *bd;
        disk.alerts = NULL;
        disk.cap_alerts = 0;
        put(&b, &disk, sizeof disk);
        for (size_t j = 0; j < bd->n_alerts; j++)
            put(&b, bd->alerts[j], sizeof *bd->alerts[j]);
    }
    uint64_t sum = b.err ? 0 : dg_persist_checksum(b.p, b.len);
    put(&b, &sum, sizeof sum);
    if (b.err) {
        dg_free(b.p);
        return b.err;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}

/* Read n bytes at *off into dst; -DG_EINVAL past the end. */
static int take(const uint8_t *blob, size_t len, size_t *off, void *dst, size_t n)
{
    if (n > len - *off) return -DG_EINVAL;
    memcpy(dst, blob + *off, n);
    *off += n;
    return 0;
}

/* Allocate and read an array of n elements of size sz. */
static int take_array(const uint8_t *blob, size_t len, size_t *off, void **arr, size_t *cap,
                      uint64_t n, size_t sz)
{
    *arr = NULL;
    *cap = 0;
    if (n == 0) return 0;
    if (n > (len - *off) / sz) return -DG_EINVAL;
    *arr = dg_malloc((size_t)n * sz);
    if (!*arr) return -DG_ENOMEM;
    *cap = (size_t)n;
    return take(blob, len, off, *arr, (size_t)n * sz);
}

/* ------------------------------------------------------------ field checks */

static_assert(sizeof(bool) == 1, "a bool is read as one byte");

/* A bool, read as its byte: loading any value but 0 or 1 into a bool is
   undefined behaviour, so the check must not load it as a bool. */
static bool flag_ok(const bool *b)
{
    unsigned char v;
    memcpy(&v, b, 1);
    return v <= 1;
}

/* s, an array of cap bytes, holds a string. */
static bool str_ok(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}
#define STR_OK(arr) str_ok((arr), sizeof(arr))

static bool time_ok(uint64_t t_ms)
{
    return t_ms <= TIME_MAX_MS;
}

/* An amount a rule computes with (dose, weight, rate, pressure): a number
   and not negative (infinity is over every limit; NaN would pass them all). */
static bool amount_ok(double v)
{
    return v >= 0;
}

static bool seq_ok(const struct dg_seq *s)
{
    return flag_ok(&s->have) && s->n_retired <= DG_INCARNATIONS_KEPT;
}

static bool clock_ok(const struct dg_devclock *k)
{
    return flag_ok(&k->have) && time_ok(k->last_device_ms) && time_ok(k->last_recv_clin_ms) &&
           k->offset_ms >= -(int64_t)TIME_MAX_MS && k->offset_ms <= (int64_t)TIME_MAX_MS;
}

static bool program_ok(const struct dg_program *p)
{
    return STR_OK(p->drug_code) && STR_OK(p->care_area) && amount_ok(p->concentration_mg_per_ml) &&
           amount_ok(p->patient_weight_kg) && amount_ok(p->dose_mg_per_kg) &&
           amount_ok(p->duration_min) && amount_ok(p->rate_ml_per_h);
}

/* A pump's last accepted telemetry (all zeros before the first). */
static bool telemetry_ok(const struct dg_telemetry *t)
{
    return STR_OK(t->pump_id) && STR_OK(t->bed_id) && STR_OK(t->patient_ref) &&
           STR_OK(t->session_id) && STR_OK(t->last_command_id) && time_ok(t->device_time_ms) &&
           (unsigned)t->state <= DG_PUMP_ALARM && flag_ok(&t->has_program) &&
           flag_ok(&t->permit_required) && program_ok(&t->program) && amount_ok(t->rate_ml_per_h) &&
           amount_ok(t->volume_infused_ml) && amount_ok(t->dose_infused_mg) &&
           amount_ok(t->bolus_dose_mg);
}

static bool measurement_ok(const struct dg_measurement *m)
{
    return flag_ok(&m->present) && flag_ok(&m->valid) && amount_ok(m->value);
}

static bool vitals_ok(const struct dg_vitals *v)
{
    return STR_OK(v->monitor_id) && STR_OK(v->bed_id) && time_ok(v->device_time_ms) &&
           measurement_ok(&v->heart_rate_bpm) && measurement_ok(&v->spo2_pct) &&
           measurement_ok(&v->systolic_mmhg) && measurement_ok(&v->diastolic_mmhg) &&
           measurement_ok(&v->mean_mmhg) && measurement_ok(&v->resp_rate_bpm) &&
           measurement_ok(&v->etco2_mmhg);
}

/* A pause or stop waiting to be honoured (action 0: none ever sent). */
static bool pending_ok(const struct dg_pending_cmd *pc)
{
    unsigned a = (unsigned)pc->action;
    return flag_ok(&pc->active) && flag_ok(&pc->escalated) &&
           (a == DG_CMD_PAUSE || a == DG_CMD_STOP || (a == 0 && !pc->active)) &&
           STR_OK(pc->command_id) && STR_OK(pc->alert_id);
}

static bool pump_ok(const struct dg_pump *p)
{
    return STR_OK(p->id) && STR_OK(p->bed_id) && STR_OK(p->session_id) && STR_OK(p->patient_ref) &&
           STR_OK(p->weight_alert_id) && seq_ok(&p->seq) && clock_ok(&p->clock) &&
           flag_ok(&p->have_last) && telemetry_ok(&p->last) &&
           (unsigned)p->state <= DG_PUMP_ALARM && flag_ok(&p->permit_required) &&
           flag_ok(&p->session_known) && flag_ok(&p->started) && flag_ok(&p->refused) &&
           time_ok(p->start_device_ms) && time_ok(p->start_clin_ms) && time_ok(p->end_device_ms) &&
           amount_ok(p->trusted_weight_kg) && flag_ok(&p->weight_adopt) &&
           amount_ok(p->integrated_mg) && time_ok(p->integ_device_ms) &&
           amount_ok(p->integ_rate_mg_per_h) && pending_ok(&p->pending) &&
           flag_ok(&p->permit_withheld) && flag_ok(&p->skew_checked);
}

static bool monitor_ok(const struct dg_monitor *m)
{
    return STR_OK(m->id) && STR_OK(m->bed_id) && seq_ok(&m->seq) && clock_ok(&m->clock) &&
           flag_ok(&m->have_last) && vitals_ok(&m->last) && time_ok(m->hr_warn_since_ms) &&
           time_ok(m->spo2_warn_since_ms) && time_ok(m->rr_warn_since_ms) &&
           flag_ok(&m->skew_checked);
}

/* A blood pressure reading (mean NaN: the monitor sent none). */
static bool nibp_ok(const struct dg_nibp *n)
{
    return time_ok(n->clin_ms) && amount_ok(n->sys) && amount_ok(n->dia) &&
           (amount_ok(n->mean) || isnan(n->mean));
}

static bool bed_ok(const struct dg_bed *b)
{
    if (!STR_OK(b->id) || !STR_OK(b->patient_ref) || !STR_OK(b->baseline_pump) ||
        !STR_OK(b->baseline_session) || !STR_OK(b->baseline_patient) ||
        !time_ok(b->last_vitals_device_ms) || b->n_nibp > DG_NIBP_KEPT ||
        !flag_ok(&b->have_baseline) || !time_ok(b->baseline_due_clin_ms) ||
        !time_ok(b->observe_until_clin_ms))
        return false;
    for (size_t i = 0; i < b->n_nibp; i++)
        if (!nibp_ok(&b->nibp[i])) return false;
    return !b->have_baseline || nibp_ok(&b->baseline);
}

/* One of bed b's active alerts. */
static bool alert_ok(const struct dg_alert *a, const struct dg_bed *b)
{
    unsigned kind = (unsigned)a->kind, prio = (unsigned)a->priority;
    unsigned act = (unsigned)a->action, want = (unsigned)a->action_wanted;
    if (!STR_OK(a->alert_id) || !STR_OK(a->condition) || !STR_OK(a->bed_id) ||
        !STR_OK(a->pump_id) || !STR_OK(a->patient_ref) || !STR_OK(a->source_id) ||
        !STR_OK(a->unit) || !STR_OK(a->limit_source) || !STR_OK(a->message) ||
        strcmp(a->bed_id, b->id) != 0 || kind < DG_KIND_PHYSIOLOGICAL || kind > DG_KIND_ADVISORY ||
        prio > DG_PRIO_HIGH || act > DG_ACTION_STOP || want > DG_ACTION_STOP ||
        a->n_targets > DG_TARGETS_MAX || !flag_ok(&a->latched) || !flag_ok(&a->acknowledged) ||
        !flag_ok(&a->bed_wide))
        return false;
    for (size_t i = 0; i < a->n_targets; i++)
        if (!STR_OK(a->targets[i])) return false;
    return true;
}

static bool patient_ok(const struct dg_patient *pt)
{
    if (!STR_OK(pt->ref) || pt->n_sessions > DG_SESSIONS_KEPT) return false;
    for (size_t i = 0; i < pt->n_sessions; i++) {
        const struct dg_session_rec *r = &pt->sessions[i];
        if (!STR_OK(r->session_id) || !time_ok(r->start_clin_ms) || !amount_ok(r->dose_mg_per_kg))
            return false;
    }
    return true;
}

/* Is the id at index i of a table of n elements of sz bytes (the id at
   offset 0 of each) unique? Tables are small (tens of devices). */
static bool key_unique(const void *table, size_t i, size_t sz)
{
    const char *id = (const char *)table + i * sz;
    for (size_t j = 0; j < i; j++)
        if (strcmp((const char *)table + j * sz, id) == 0) return false;
    return true;
}

/* Does a device whose bed is device_bed count as a member of bed bed_id? */
static bool member_of(const char *device_bed, const char *bed_id)
{
    return device_bed[0] && strcmp(device_bed, bed_id) == 0;
}

/* A device's bed: none yet (""), or one of the table (beds are never removed). */
static bool bed_known(const dg_core *t, const char *bed_id)
{
    if (!bed_id[0]) return true;
    for (size_t i = 0; i < t->n_beds; i++)
        if (strcmp(t->beds[i].id, bed_id) == 0) return true;
    return false;
}

/* The loaded tables (in t) and header h: 0, or -DG_EINVAL for a state the
   core could not have saved (see the top of this file). */
static int check_state(const dg_core *t, const struct dg_persist_header *h)
{
    static_assert(offsetof(struct dg_pump, id) == 0 && offsetof(struct dg_monitor, id) == 0 &&
                      offsetof(struct dg_bed, id) == 0 && offsetof(struct dg_patient, ref) == 0,
                  "key_unique() finds each table's key at offset 0");
    if (!time_ok(h->tl_clin_ms) || !time_ok(h->tl_wall_ms)) return -DG_EINVAL;
    for (size_t i = 0; i < DG_ACK_IDS_KEPT; i++)
        if (!STR_OK(t->ack_ids[i])) return -DG_EINVAL;
    for (size_t i = 0; i < t->n_pumps; i++)
        if (!pump_ok(&t->pumps[i]) || !key_unique(t->pumps, i, sizeof *t->pumps)) return -DG_EINVAL;
    for (size_t i = 0; i < t->n_monitors; i++)
        if (!monitor_ok(&t->monitors[i]) || !key_unique(t->monitors, i, sizeof *t->monitors))
            return -DG_EINVAL;
    for (size_t i = 0; i < t->n_patients; i++)
        if (!patient_ok(&t->patients[i]) || !key_unique(t->patients, i, sizeof *t->patients))
            return -DG_EINVAL;
    for (size_t i = 0; i < t->n_beds; i++) {
        const struct dg_bed *b = &t->beds[i];
        if (!bed_ok(b) || !key_unique(t->beds, i, sizeof *t->beds)) return -DG_EINVAL;
        /* Membership (core.c): the pumps and monitors that last reported
           the bed ("" = none yet), and those of the pumps that run. */
        uint64_t pumps = 0, running = 0, monitors = 0;
        for (size_t k = 0; k < t->n_pumps; k++) {
            if (!member_of(t->pumps[k].bed_id, b->id)) continue;
            pumps++;
            running += t->pumps[k].state == DG_PUMP_RUNNING;
        }
        for (size_t k = 0; k < t->n_monitors; k++)
            monitors += member_of(t->monitors[k].bed_id, b->id);
        if (b->n_pumps != pumps || b->n_running != running || b->n_monitors != monitors)
            return -DG_EINVAL;
        for (size_t j = 0; j < b->n_alerts; j++) {
            const struct dg_alert *a = b->alerts[j];
            if (!alert_ok(a, b)) return -DG_EINVAL;
            /* One alert per (condition, source) on a bed. */
            for (size_t k = 0; k < j; k++)
                if (strcmp(b->alerts[k]->condition, a->condition) == 0 &&
                    strcmp(b->alerts[k]->source_id, a->source_id) == 0)
                    return -DG_EINVAL;
        }
    }
    for (size_t i = 0; i < t->n_pumps; i++)
        if (!bed_known(t, t->pumps[i].bed_id)) return -DG_EINVAL;
    for (size_t i = 0; i < t->n_monitors; i++)
        if (!bed_known(t, t->monitors[i].bed_id)) return -DG_EINVAL;
    return 0;
}

/* ------------------------------------------------------------ loading */

static uint64_t if_set(uint64_t t, uint64_t now)
{
    return t ? now : 0;
}

static void rebase(dg_core *c, const struct dg_persist_header *h, struct dg_now now)
{
    c->last_now = now;
    c->loaded_wall_ms = h->tl_wall_ms;
    c->tl_have = h->tl_have != 0;
    if (c->tl_have) {
        uint64_t clin = h->tl_clin_ms;
        if (now.wall_ms > h->tl_wall_ms)
            clin += (uint64_t)(c->device_time_scale * (double)(now.wall_ms - h->tl_wall_ms));
        c->tl_anchor_clin_ms = clin;
        c->tl_anchor_mono_ms = now.mono_ms;
    }
    for (size_t i = 0; i < c->n_pumps; i++) {
        struct dg_pump *p = &c->pumps[i];
        p->last_seen_mono_ms = now.mono_ms;
        p->last_permit_mono_ms = 0;
        if (p->pending.active) p->pending.issued_mono_ms = now.mono_ms;
        p->clock.last_jump_mono_ms = if_set(p->clock.last_jump_mono_ms, now.mono_ms);
        p->clock.last_gap_mono_ms = if_set(p->clock.last_gap_mono_ms, now.mono_ms);
    }
    for (size_t i = 0; i < c->n_monitors; i++) {
        struct dg_monitor *m = &c->monitors[i];
        m->last_seen_mono_ms = now.mono_ms;
        m->last_continuous_mono_ms = if_set(m->last_continuous_mono_ms, now.mono_ms);
        m->clock.last_jump_mono_ms = if_set(m->clock.last_jump_mono_ms, now.mono_ms);
        m->clock.last_gap_mono_ms = if_set(m->clock.last_gap_mono_ms, now.mono_ms);
    }
    for (size_t i = 0; i < c->n_beds; i++) {
        struct dg_bed *b = &c->beds[i];
        b->running_since_mono_ms = now.mono_ms;
        for (size_t j = 0; j < b->n_nibp; j++)
            b->nibp[j].mono_ms = now.mono_ms;
        if (b->have_baseline) b->baseline.mono_ms = now.mono_ms;
        for (size_t j = 0; j < b->n_alerts; j++)
            b->alerts[j]->last_step_mono_ms = now.mono_ms;
    }
}

uint64_t dg_core_saved_wall_ms(const dg_core *c)
{
    return c->loaded_wall_ms;
}

int dg_core_load(dg_core *c, const uint8_t *blob, size_t len, struct dg_now now)
{
    struct dg_persist_header h;
    size_t off = 0;
    uint64_t sum;
    if (len < sizeof h + sizeof sum) return -DG_EINVAL;
    memcpy(&sum, blob + len - sizeof sum, sizeof sum);
    len -= sizeof sum;
    if (dg_persist_checksum(blob, len) != sum) return -DG_EINVAL;
    if (take(blob, len, &off, &h, sizeof h) != 0) return -DG_EINVAL;
    if (memcmp(h.magic, MAGIC, 4) != 0 || h.version != FORMAT_VERSION ||
        h.sz_pump != sizeof(struct dg_pump) || h.sz_monitor != sizeof(struct dg_monitor) ||
        h.sz_bed != sizeof(struct dg_bed) || h.sz_patient != sizeof(struct dg_patient) ||
        h.sz_alert != sizeof(struct dg_alert) || h.ack_next >= DG_ACK_IDS_KEPT)
        return -DG_EINVAL;

    /* Build into a scratch core, then swap: a bad blob leaves c as it was. */
    dg_core t = *c;
    t.beds = NULL;
    t.pumps = NULL;
    t.monitors = NULL;
    t.patients = NULL;
    t.n_beds = t.cap_beds = t.n_pumps = t.cap_pumps = 0;
    t.n_monitors = t.cap_monitors = t.n_patients = t.cap_patients = 0;
    int rc = take(blob, len, &off, t.ack_ids, sizeof t.ack_ids);
    if (rc == 0)
        rc = take_array(blob, len, &off, (void **)&t.pumps, &t.cap_pumps, h.n_pumps,
                        sizeof *t.pumps);
    t.n_pumps = rc == 0 ? t.cap_pumps : 0;
    if (rc == 0)
        rc = take_array(blob, len, &off, (void **)&t.monitors, &t.cap_monitors, h.n_monitors,
                        sizeof *t.monitors);
    t.n_monitors = rc == 0 ? t.cap_monitors : 0;
    if (rc == 0)
        rc = take_array(blob, len, &off, (void **)&t.patients, &t.cap_patients, h.n_patients,
                        sizeof *t.patients);
    t.n_patients = rc == 0 ? t.cap_patients : 0;
    if (rc == 0 && h.n_beds) {
        if (h.n_beds > (len - off) / sizeof(struct dg_bed)) rc = -DG_EINVAL;
        if (rc == 0 && !(t.beds = dg_calloc((size_t)h.n_beds, sizeof *t.beds))) rc = -DG_ENOMEM;
        if (rc == 0) t.cap_beds = (size_t)h.n_beds;
        for (uint64_t i = 0; rc == 0 && i < h.n_beds; i++) {
            struct dg_bed *b = &t.beds[i];
            rc = take(blob, len, &off, b, sizeof *b);
            if (rc != 0) break;
            size_t n = b->n_alerts;
            b->alerts = NULL;
            b->n_alerts = b->cap_alerts = 0;
            t.n_beds = (size_t)i + 1;
            if (n && n > (len - off) / sizeof(struct dg_alert)) {
                rc = -DG_EINVAL;
                break;
            }
            if (n && !(b->alerts = dg_calloc(n, sizeof *b->alerts))) {
                rc = -DG_ENOMEM;
                break;
            }
            b->cap_alerts = n;
            for (size_t j = 0; j < n && rc == 0; j++) {
                struct dg_alert *a = dg_malloc(sizeof *a);
                if (!a) {
                    rc = -DG_ENOMEM;
                    break;
                }
                rc = take(blob, len, &off, a, sizeof *a);
                if (rc != 0) {
                    dg_free(a);
                    break;
                }
                b->alerts[b->n_alerts++] = a;
            }
        }
    }
    if (rc == 0 && off != len) rc = -DG_EINVAL;
    if (rc == 0) rc = check_state(&t, &h);
    if (rc != 0) {
        dg_core_free_tables(&t);
        return rc;
    }
    dg_core_free_tables(c);
    c->pumps = t.pumps;
    c->n_pumps = t.n_pumps;
    c->cap_pumps = t.cap_pumps;
    c->monitors = t.monitors;
    c->n_monitors = t.n_monitors;
    c->cap_monitors = t.cap_monitors;
    c->patients = t.patients;
    c->n_patients = t.n_patients;
    c->cap_patients = t.cap_patients;
    c->beds = t.beds;
    c->n_beds = t.n_beds;
    c->cap_beds = t.cap_beds;
    memcpy(c->ack_ids, t.ack_ids, sizeof c->ack_ids);
    c->ack_next = (size_t)h.ack_next;
    c->next_alert = h.next_alert;
    c->next_command = h.next_command;
    c->event_seq = h.event_seq;
    c->counters = h.counters;
    rebase(c, &h, now);
    return 0;
}
