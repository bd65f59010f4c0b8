/*
 * throttle.c — token buckets per device (see throttle.h). A small array
 * searched linearly, like the core's tables: a clinic has tens of devices.
 */
#include "throttle.h"

#include <stdbool.h>
#include <string.h>

#include "../core/alloc.h"
#include "../core/error.h"
#include "../core/types.h"

struct bucket {
    char id[DG_ID_MAX];
    double tokens; /* may exceed the capacity by a backlog credit */
    uint64_t last_ms;
    uint64_t epoch; /* the backlog credit it has had */
    bool flooding;
};

struct dg_throttle {
    double rate_per_ms, capacity;
    /* The current backlog credit: each bucket gets it once (epoch), until
       credit_until_ms. */
    uint64_t epoch;
    double credit;
    uint64_t credit_until_ms;
    struct bucket *b;
    size_t n, cap;
};

int dg_throttle_new(dg_throttle **out, double rate_per_s, double burst_s)
{
    dg_throttle *t = dg_calloc(1, sizeof *t);
    if (!t) return -DG_ENOMEM;
    t->rate_per_ms = rate_per_s / 1000.0;
    t->capacity = rate_per_s * burst_s;
    if (t->capacity < 1) t->capacity = 1;
    *out = t;
    return 0;
}

void dg_throttle_free(dg_throttle *t)
{
    if (!t) return;
    dg_free(t->b);
    dg_free(t);
}

static struct bucket *find(dg_throttle *t, const char *id, uint64_t now_ms)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->b[i].id, id) == 0) return &t->b[i];
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct bucket *nb = dg_realloc(t->b, cap * sizeof *nb);
        if (!nb) return NULL;
        t->b = nb;
        t->cap = cap;
    }
    struct bucket *b = &t->b[t->n++];
    memset(b, 0, sizeof *b);
    size_t len = strlen(id);
    if (len >= sizeof b->id) len = sizeof b->id - 1;
    memcpy(b->id, id, len);
    b->tokens = t->capacity;
    b->last_ms = now_ms;
    return b;
}

void dg_throttle_backlog(dg_throttle *t, uint64_t away_ms, uint64_t now_ms)
{
    uint64_t max_ms = (uint64_t)DG_THROTTLE_BACKLOG_MAX_S * 1000u;
    if (away_ms > max_ms) away_ms = max_ms;
    t->epoch++;
    t->credit = (double)away_ms * t->rate_per_ms;
    t->credit_until_ms = now_ms + DG_THROTTLE_BACKLOG_WINDOW_MS + away_ms / 10;
}

int dg_throttle_take(dg_throttle *t, const char *device_id, uint64_t now_ms, int *edge)
{
    *edge = 0;
    struct bucket *b = find(t, device_id, now_ms);
    if (!b) return -DG_ENOMEM;
    if (now_ms > b->last_ms) {
        /* Refill up to the capacity (a credit above it is not refilled). */
        if (b->tokens < t->capacity) {
            b->tokens += (double)(now_ms - b->last_ms) * t->rate_per_ms;
            if (b->tokens > t->capacity) b->tokens = t->capacity;
        }
        b->last_ms = now_ms;
    }
    bool in_window = t->epoch && now_ms <= t->credit_until_ms;
    if (in_window && b->epoch != t->epoch) {
        b->epoch = t->epoch; /* this reconnect's credit, once */
        b->tokens += t->credit;
    } else if (!in_window && b->tokens > t->capacity) {
        b->tokens = t->capacity; /* the window is over: unused credit goes */
    }
    if (b->flooding && b->tokens >= t->capacity) {
        b->flooding = false;
        *edge = -1;
    }
    if (b->tokens >= 1) {
        b->tokens -= 1;
        return 1;
    }
    if (!b->flooding) {
        b->flooding = true;
        *edge = 1;
    }
    return 0;
}
