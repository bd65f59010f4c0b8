/*
 * courier.c — the outbox's delivery side (see courier.h).
 *
 * Per link a lane: the link, whether it is connected, a cursor (the highest
 * outbox id handed to the link since the last rewind) and the number of
 * items in flight. After each committed turn a lane asks the store for the
 * next undelivered items after its cursor, up to max_inflight in flight. A
 * PUBACK marks the item delivered in the next turn; a failed publish or a
 * reconnect rewinds the cursor so the undelivered items go out again, in
 * order.
 *
 * The items a turn queued are remembered until the turn commits: if the
 * commit fails (disk full, read-only, I/O error), nothing of the turn is in
 * the store, so they are published at once without it rather than lost.
 */
#include "courier.h"

#include <string.h>

#include "../core/alloc.h"
#include "../core/error.h"
#include "log.h"

#define LANES 2

struct lane {
    char name[DG_STORE_LINK_MAX + 1];
    dg_link *link;
    int connected;
    uint64_t cursor;     /* highest id handed over since the last rewind */
    uint64_t high_water; /* highest id ever handed over: below it is a resend */
    size_t inflight;
};

/* An item queued by the current turn (kept until the commit). */
struct pending {
    struct pending *next;
    enum dg_outbox_kind kind;
    char *link, *topic;
    uint8_t *payload;
    size_t len;
    int retained;
    int stored; /* 1: the store took it (publish directly only if the turn fails) */
};

struct dg_courier {
    dg_store *store;
    size_t max_inflight;
    struct lane lanes[LANES];
    int in_turn;
    struct pending *turn_items, *turn_tail;
    uint64_t *done;
    size_t n_done, cap_done;
    struct dg_courier_stats st;
};

int dg_courier_new(dg_courier **out, dg_store *store, size_t max_inflight)
{
    dg_courier *c = dg_calloc(1, sizeof *c);
    if (!c) return -DG_ENOMEM;
    c->store = store;
    c->max_inflight = max_inflight ? max_inflight : 32;
    *out = c;
    return 0;
}

static void pending_free(struct pending *p)
{
    dg_free(p->link);
    dg_free(p->topic);
    dg_free(p->payload);
    dg_free(p);
}

static void forget_turn(dg_courier *c)
{
    while (c->turn_items) {
        struct pending *p = c->turn_items;
        c->turn_items = p->next;
        pending_free(p);
    }
    c->turn_tail = NULL;
}

void dg_courier_free(dg_courier *c)
{
    if (!c) return;
    forget_turn(c);
    dg_free(c->done);
    dg_free(c);
}

static struct lane *lane_by_name(dg_courier *c, const char *name)
{
    for (int i = 0; i < LANES; i++)
        if (c->lanes[i].link && strcmp(c->lanes[i].name, name) == 0) return &c->lanes[i];
    return NULL;
}

static struct lane *lane_by_link(dg_courier *c, dg_link *link)
{
    for (int i = 0; i < LANES; i++)
        if (c->lanes[i].link == link) return &c->lanes[i];
    return NULL;
}

void dg_courier_attach(dg_courier *c, const char *name, dg_link *link)
{
    for (int i = 0; i < LANES; i++) {
        if (!c->lanes[i].link) {
            memset(&c->lanes[i], 0, sizeof c->lanes[i]);
            snprintf(c->lanes[i].name, sizeof c->lanes[i].name, "%s", name);
            c->lanes[i].link = link;
            return;
        }
    }
}

void dg_courier_detach_all(dg_courier *c)
{
    memset(c->lanes, 0, sizeof c->lanes);
}

void dg_courier_turn(dg_courier *c)
{
    if (c->in_turn) return;
    if (dg_store_begin(c->store) == 0) c->in_turn = 1;
}

/* Publish without the store: token 0, nothing to mark on PUBACK. */
static void publish_direct(dg_courier *c, const char *link, const char *topic, const void *payload,
                           size_t len, int retained)
{
    struct lane *l = lane_by_name(c, link);
    c->st.undurable++;
    if (!l) return;
    int rc = dg_link_publish(l->link, topic, payload, len, 1, retained, 0);
    if (rc != 0)
        DG_ERROR("courier",
                 "msg=\"message could not be queued at all\" link=%s topic=%s error=\"%s\"", link,
                 topic, dg_strerror(rc));
}

int dg_courier_send(dg_courier *c, enum dg_outbox_kind kind, const char *link, const char *topic,
                    const void *payload, size_t len, int retained)
{
    dg_courier_turn(c);
    struct pending *p = dg_calloc(1, sizeof *p);
    if (p) {
        p->kind = kind;
        p->link = dg_strdup(link);
        p->topic = dg_strdup(topic);
        p->payload = dg_malloc(len ? len : 1);
        p->len = len;
        p->retained = retained;
        if (!p->link || !p->topic || !p->payload) {
            pending_free(p);
            p = NULL;
        } else if (len) {
            memcpy(p->payload, payload, len);
        }
    }
    int rc = c->in_turn
                 ? dg_store_outbox_add(c->store, kind, link, topic, payload, len, retained, NULL)
                 : dg_store_turn_error(c->store);
    if (rc == 0 && !c->in_turn) rc = -DG_EIO;
    if (rc != 0 || !p) {
        /* The store did not take it (or we could not remember it for a
           failed commit): out now, without durability. */
        publish_direct(c, link, topic, payload, len, retained);
        if (p) pending_free(p);
        return rc ? rc : -DG_ENOMEM;
    }
    p->stored = 1;
    c->st.queued++;
    if (c->turn_tail)
        c->turn_tail->next = p;
    else
        c->turn_items = p;
    c->turn_tail = p;
    return 0;
}

struct flush_ctx {
    dg_courier *c;
    struct lane *l;
};

static int hand_over(void *ctx, const struct dg_outbox_item *it)
{
    struct flush_ctx *f = ctx;
    int rc = dg_link_publish(f->l->link, it->topic, it->payload, it->len, 1, it->retained, it->id);
    if (rc != 0) return 1; /* the link's own queue is full: next turn */
    if (it->id <= f->l->high_water)
        f->c->st.resent++;
    else
        f->l->high_water = it->id;
    f->l->cursor = it->id;
    f->l->inflight++;
    return 0;
}

static void flush(dg_courier *c)
{
    for (int i = 0; i < LANES; i++) {
        struct lane *l = &c->lanes[i];
        if (!l->link || !l->connected || l->inflight >= c->max_inflight) continue;
        struct flush_ctx f = {c, l};
        int n = dg_store_outbox_each(c->store, l->cursor, l->name, c->max_inflight - l->inflight,
                                     hand_over, &f);
        if (n < 0)
            DG_ERROR("courier",
                     "msg=\"outbox could not be read\" link=%s error=\"%s\" detail=\"%s\"", l->name,
                     dg_strerror(n), dg_store_errmsg(c->store));
    }
}

int dg_courier_end_turn(dg_courier *c)
{
    int rc = 0;
    if (c->n_done) {
        dg_courier_turn(c);
        for (size_t i = 0; i < c->n_done && c->in_turn; i++) {
            int r = dg_store_outbox_done(c->store, c->done[i]);
            if (r == 0) c->st.delivered++;
        }
        c->n_done = 0;
    }
    if (c->in_turn) {
        rc = dg_store_commit(c->store);
        c->in_turn = 0;
        if (rc != 0) {
            DG_ERROR("courier",
                     "msg=\"turn not stored; its messages go out without the store\" error=\"%s\" "
                     "detail=\"%s\"",
                     dg_strerror(rc), dg_store_errmsg(c->store));
            for (struct pending *p = c->turn_items; p; p = p->next)
                if (p->stored)
                    publish_direct(c, p->link, p->topic, p->payload, p->len, p->retained);
        }
    }
    forget_turn(c);
    flush(c);
    return rc;
}

void dg_courier_on_connected(dg_courier *c, dg_link *link)
{
    struct lane *l = lane_by_link(c, link);
    if (!l) return;
    /* Whatever was in flight may or may not have reached the broker: send
       every undelivered item again, oldest first. */
    l->connected = 1;
    l->cursor = 0;
    l->inflight = 0;
    flush(c);
}

void dg_courier_on_disconnected(dg_courier *c, dg_link *link)
{
    struct lane *l = lane_by_link(c, link);
    if (l) l->connected = 0;
}

void dg_courier_on_done(dg_courier *c, dg_link *link, uint64_t token, int rc)
{
    if (token == 0) return; /* undurable */
    struct lane *l = lane_by_link(c, link);
    if (l && l->inflight) l->inflight--;
    if (rc == 0) {
        if (c->n_done == c->cap_done) {
            size_t cap = c->cap_done ? c->cap_done * 2 : 64;
            uint64_t *d = dg_realloc(c->done, cap * sizeof *d);
            if (!d) return; /* not marked: sent again later, deduplicated downstream */
            c->done = d;
            c->cap_done = cap;
        }
        c->done[c->n_done++] = token;
    } else if (l && token <= l->cursor) {
        l->cursor = token - 1; /* send it (and what follows) again */
    }
}

void dg_courier_stats(const dg_courier *c, struct dg_courier_stats *out)
{
    *out = c->st;
    dg_store_outbox_depth(c->store, &out->backlog, &out->backlog_bytes);
}
