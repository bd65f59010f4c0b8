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
 *           never half-read (strings inside are then trusted to be ours).
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
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "internal.h"

#define MAGIC          "DGCS"
#define FORMAT_VERSION 2u

static uint64_t fnv1a64(const uint8_t *p, size_t n)
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
    uint64_t sum = b.err ? 0 : fnv1a64(b.p, b.len);
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
    if (fnv1a64(blob, len) != sum) return -DG_EINVAL;
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
            if (b->n_nibp > DG_NIBP_KEPT || (n && n > (len - off) / sizeof(struct dg_alert))) {
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
    for (size_t i = 0; rc == 0 && i < t.n_patients; i++)
        if (t.patients[i].n_sessions > DG_SESSIONS_KEPT) rc = -DG_EINVAL;
    if (rc == 0 && off != len) rc = -DG_EINVAL;
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
