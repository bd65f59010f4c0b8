/*
 * topic.c — the dosegate topic tree (codec.h, docs/topics.md).
 *
 * Design. Every topic is <root>/<shape>, where shape is one of a fixed table
 * of "prefix<id>suffix" patterns (or a bare word for audit). Parsing and
 * formatting walk the same table, so the two cannot drift apart.
 *
 * An acknowledgement's topic names the dashboard that sent it
 * (<root>/ack/<dashboard_id>): the broker ACL lets a dashboard certificate
 * write only under its own CN, so the id says which certificate acked. The
 * bare <root>/ack of earlier versions is not in the tree any more.
 *
 * An id segment follows the rule the decoders apply to payload ids: 1 to
 * DG_ID_MAX - 1 bytes of printable ASCII without space, '/', '+' or '#'.
 * '/' would shift the levels, '+' and '#' are MQTT wildcards, and a topic id
 * that a payload id can never equal is better refused at the topic.
 *
 * The root is used as given, minus trailing '/'; it must not be empty nor
 * contain a wildcard. Pure string work: no allocation, no global state.
 */
#include "codec.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../core/error.h"

struct shape {
    enum dg_topic_kind kind;
    const char *prefix; /* after "<root>/" */
    const char *suffix; /* after the id; NULL = the shape has no id */
};

static const struct shape shapes[] = {
    {DG_TOPIC_TELEMETRY, "pump/", "/telemetry"},
    {DG_TOPIC_COMMAND, "pump/", "/command"},
    {DG_TOPIC_VITALS, "monitor/", "/vitals"},
    {DG_TOPIC_ALERT, "alert/", ""},
    {DG_TOPIC_ALARMS, "alarms/", ""},
    {DG_TOPIC_ACK, "ack/", ""},
    {DG_TOPIC_AUDIT, "audit", NULL},
    {DG_TOPIC_STATUS, "gateway/", "/status"},
};

#define N_SHAPES (sizeof shapes / sizeof shapes[0])

static bool id_char_ok(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '/' && c != '+' && c != '#';
}

/* Length of the usable root (trailing '/' dropped), or 0 if unusable. */
static size_t root_len(const char *root)
{
    if (!root) return 0;
    size_t n = strlen(root);
    while (n > 0 && root[n - 1] == '/')
        n--;
    for (size_t i = 0; i < n; i++)
        if (root[i] == '+' || root[i] == '#') return 0;
    return n;
}

/* Length of the id at s (up to '/' or the end) if every byte is allowed; 0 if not. */
static size_t id_span(const char *s)
{
    size_t n = 0;
    while (s[n] && s[n] != '/') {
        if (!id_char_ok((unsigned char)s[n])) return 0;
        n++;
    }
    return n;
}

static const struct shape *shape_of(enum dg_topic_kind kind)
{
    for (size_t i = 0; i < N_SHAPES; i++)
        if (shapes[i].kind == kind) return &shapes[i];
    return NULL;
}

enum dg_topic_kind dg_topic_parse(const char *root, const char *topic, char *id, size_t idlen)
{
    if (id && idlen > 0) id[0] = '\0';
    size_t rl = root_len(root);
    if (rl == 0 || !topic || !id || idlen == 0) return DG_TOPIC_UNKNOWN;
    if (strncmp(topic, root, rl) != 0 || topic[rl] != '/') return DG_TOPIC_UNKNOWN;
    const char *rest = topic + rl + 1;

    for (size_t i = 0; i < N_SHAPES; i++) {
        const struct shape *s = &shapes[i];
        if (!s->suffix) {
            if (strcmp(rest, s->prefix) == 0) return s->kind;
            continue;
        }
        size_t pl = strlen(s->prefix);
        if (strncmp(rest, s->prefix, pl) != 0) continue;
        const char *idp = rest + pl;
        size_t n = id_span(idp);
        if (n == 0 || strcmp(idp + n, s->suffix) != 0) continue;
        if (n > DG_ID_MAX - 1 || n >= idlen) return DG_TOPIC_UNKNOWN;
        memcpy(id, idp, n);
        id[n] = '\0';
        return s->kind;
    }
    return DG_TOPIC_UNKNOWN;
}

int dg_topic_format(char *buf, size_t buflen, const char *root, enum dg_topic_kind kind,
                    const char *id)
{
    if (buf && buflen > 0) buf[0] = '\0';
    size_t rl = root_len(root);
    const struct shape *s = shape_of(kind);
    if (!buf || buflen == 0 || rl == 0 || !s) return -DG_EINVAL;
    if (s->suffix) {
        size_t n = id ? id_span(id) : 0;
        if (n == 0 || id[n] != '\0' || n > DG_ID_MAX - 1) return -DG_EINVAL;
    } else {
        id = "";
    }
    int w = snprintf(buf, buflen, "%.*s/%s%s%s", (int)rl, root, s->prefix, id,
                     s->suffix ? s->suffix : "");
    if (w < 0 || (size_t)w >= buflen) {
        buf[0] = '\0';
        return -DG_EINVAL;
    }
    return 0;
}
