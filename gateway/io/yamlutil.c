/*
 * yamlutil.c — schema-driven walker over libyaml documents (see yamlutil.h).
 *
 * Every error is one line, "FILE:LINE: KEY.PATH: problem", and the walk stops
 * at the first one: a person fixes one thing at a time, and a single line is
 * what `dosegate --check-config` and the refusal to start both print.
 * Line numbers are node->start_mark.line + 1 (libyaml counts from 0). For a
 * key with no value the key's own line is named, because an empty scalar's
 * mark may already sit on the next line.
 */
#include "yamlutil.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/error.h"
#include "log.h"

#define ROOT_PATH "(document)"
#define PATH_LEN  160 /* longest key path we build; schema names are short */

size_t dg_yaml_line(const yaml_node_t *node)
{
    return node->start_mark.line + 1;
}

int dg_yaml_fail(struct dg_yaml *y, const yaml_node_t *node, const char *path, const char *fmt, ...)
{
    if (!y->err || y->errlen == 0) return -DG_ECONFIG;
    const char *p = (path && path[0]) ? path : ROOT_PATH;
    int n;
    if (node)
        n = snprintf(y->err, y->errlen, "%s:%zu: %s: ", y->file, dg_yaml_line(node), p);
    else
        n = snprintf(y->err, y->errlen, "%s: %s: ", y->file, p);
    if (n >= 0 && (size_t)n < y->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(y->err + n, y->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    /* One printable line, whatever a key or value in the file contained. */
    for (char *c = y->err; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    return -DG_ECONFIG;
}

const char *dg_yaml_join(char *buf, size_t buflen, const char *path, const char *name)
{
    int n;
    if (path && path[0])
        n = snprintf(buf, buflen, "%s.%s", path, name);
    else
        n = snprintf(buf, buflen, "%s", name);
    if (n < 0 && buflen) buf[0] = '\0';
    return buf;
}

int dg_yaml_resolve(char *out, size_t outlen, const char *dir, const char *rel)
{
    int n;
    if (rel[0] == '/' || !dir || !dir[0])
        n = snprintf(out, outlen, "%s", rel);
    else
        n = snprintf(out, outlen, "%s/%s", dir, rel);
    return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

/* ------------------------------------------------------------------ parse */

/* The 1-based line of byte offset off in buf (for reader errors, which carry
   an offset but no mark). */
static size_t line_of_offset(const unsigned char *buf, size_t len, size_t off)
{
    size_t line = 1;
    for (size_t i = 0; i < off && i < len; i++)
        if (buf[i] == '\n') line++;
    return line;
}

static int syntax_error(struct dg_yaml *y, const yaml_parser_t *parser, const unsigned char *buf,
                        size_t len)
{
    if (parser->error == YAML_MEMORY_ERROR) {
        snprintf(y->err, y->errlen, "%s: out of memory", y->file);
        return -DG_ENOMEM;
    }
    size_t line;
    if (parser->error == YAML_READER_ERROR)
        line = line_of_offset(buf, len, parser->problem_offset);
    else
        line = parser->problem_mark.line + 1;
    const char *problem = parser->problem ? parser->problem : "unknown problem";
    int n = snprintf(y->err, y->errlen, "%s:%zu: syntax error: %s", y->file, line, problem);
    if (parser->context && n >= 0 && (size_t)n < y->errlen)
        snprintf(y->err + n, y->errlen - (size_t)n, " (%s at line %zu)", parser->context,
                 parser->context_mark.line + 1);
    return -DG_ECONFIG;
}

int dg_yaml_parse(struct dg_yaml *y, const char *file, const char *dir, const unsigned char *buf,
                  size_t len, char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_document_t extra;
    int rc;

    memset(y, 0, sizeof *y);
    y->file = file;
    y->dir = dir;
    y->err = err;
    y->errlen = errlen;
    if (errlen) err[0] = '\0';

    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: out of memory", file);
        return -DG_ENOMEM;
    }
    yaml_parser_set_input_string(&parser, buf, len);
    if (!yaml_parser_load(&parser, &y->doc)) {
        rc = syntax_error(y, &parser, buf, len);
        goto fail_parser;
    }
    y->loaded = true;

    const yaml_node_t *root = yaml_document_get_root_node(&y->doc);
    if (!root) {
        snprintf(err, errlen, "%s:1: %s: the file is empty (expected a mapping of keys)", file,
                 ROOT_PATH);
        rc = -DG_ECONFIG;
        goto fail_doc;
    }
    if (root->type != YAML_MAPPING_NODE) {
        rc = dg_yaml_fail(y, root, "", "expected a mapping of keys at the top level, got %s",
                          root->type == YAML_SEQUENCE_NODE ? "a list" : "a single value");
        goto fail_doc;
    }

    /* Exactly one document: a second one would be silently ignored. */
    if (!yaml_parser_load(&parser, &extra)) {
        rc = syntax_error(y, &parser, buf, len);
        goto fail_doc;
    }
    const yaml_node_t *extra_root = yaml_document_get_root_node(&extra);
    if (extra_root) {
        snprintf(err, errlen, "%s:%zu: %s: only one YAML document is allowed per file", file,
                 dg_yaml_line(extra_root), ROOT_PATH);
        yaml_document_delete(&extra);
        rc = -DG_ECONFIG;
        goto fail_doc;
    }
    yaml_document_delete(&extra);
    yaml_parser_delete(&parser);
    return 0;

fail_doc:
    yaml_document_delete(&y->doc);
    y->loaded = false;
fail_parser:
    yaml_parser_delete(&parser);
    return rc;
}

void dg_yaml_close(struct dg_yaml *y)
{
    if (y->loaded) yaml_document_delete(&y->doc);
    y->loaded = false;
}

const yaml_node_t *dg_yaml_root(struct dg_yaml *y)
{
    return y->loaded ? yaml_document_get_root_node(&y->doc) : NULL;
}

size_t dg_yaml_seq_len(const yaml_node_t *seq)
{
    if (seq->type != YAML_SEQUENCE_NODE) return 0;
    return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

const yaml_node_t *dg_yaml_seq_item(struct dg_yaml *y, const yaml_node_t *seq, size_t i)
{
    if (i >= dg_yaml_seq_len(seq)) return NULL;
    return yaml_document_get_node(&y->doc, seq->data.sequence.items.start[i]);
}

/* ---------------------------------------------------------------- scalars */

static const char *sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static bool is_plain(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* YAML core schema null: a plain ~, null, Null, NULL or nothing at all. */
static bool is_null(const yaml_node_t *n)
{
    if (!is_plain(n)) return false;
    const char *s = sval(n);
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* What the node is, for "got ..." in messages. */
static const char *describe(char *buf, size_t buflen, const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_SCALAR_NODE: {
        char shortened[64];
        size_t len = n->data.scalar.length;
        if (len >= sizeof shortened) {
            memcpy(shortened, sval(n), sizeof shortened - 4);
            memcpy(shortened + sizeof shortened - 4, "...", 4);
        } else {
            memcpy(shortened, sval(n), len + 1);
        }
        return dg_log_q(buf, buflen, shortened);
    }
    default:
        return "nothing";
    }
}

/* [-+]?[0-9]+ */
static bool looks_int(const char *s)
{
    if (*s == '-' || *s == '+') s++;
    if (!*s) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

/* [-+]?(digits[.digits]|.digits)([eE][-+]?digits)?  — no hex, no inf/nan words. */
static bool looks_double(const char *s)
{
    size_t digits = 0;
    if (*s == '-' || *s == '+') s++;
    for (; *s >= '0' && *s <= '9'; s++)
        digits++;
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++)
            digits++;
    if (digits == 0) return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+') s++;
        if (*s < '0' || *s > '9') return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

/* YAML's .inf / .nan spellings: valid numbers, but never a valid limit. */
static bool is_yaml_nonfinite(const char *s)
{
    if (*s == '-' || *s == '+') s++;
    return strcmp(s, ".inf") == 0 || strcmp(s, ".Inf") == 0 || strcmp(s, ".INF") == 0 ||
           strcmp(s, ".nan") == 0 || strcmp(s, ".NaN") == 0 || strcmp(s, ".NAN") == 0;
}

static const char *type_name(enum dg_yaml_type t)
{
    switch (t) {
    case DG_YAML_STRING:
        return "a string";
    case DG_YAML_PATH:
        return "a file path";
    case DG_YAML_INT:
        return "an integer";
    case DG_YAML_DOUBLE:
        return "a number";
    case DG_YAML_BOOL:
    case DG_YAML_FLAG:
        return "true or false";
    case DG_YAML_ENUM:
        return "one of the listed words";
    case DG_YAML_MAP:
        return "a mapping";
    case DG_YAML_SEQ:
        return "a list";
    }
    return "?";
}

/* "a, b, c" into buf. */
static const char *join_names(char *buf, size_t buflen, const char *const *names)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; names[i]; i++) {
        int n = snprintf(buf + o, buflen - o, "%s%s", i ? ", " : "", names[i]);
        if (n < 0 || (size_t)n >= buflen - o) break;
        o += (size_t)n;
    }
    return buf;
}

static int store_string(struct dg_yaml *y, const struct dg_yaml_key *k, const yaml_node_t *v,
                        const char *path, char *dst)
{
    char why[160];
    const char *s = sval(v);
    size_t len = v->data.scalar.length;

    if (strlen(s) != len) return dg_yaml_fail(y, v, path, "must not contain a NUL character");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return dg_yaml_fail(y, v, path, "must not contain control characters");
    }
    if (len == 0 && !k->allow_empty) return dg_yaml_fail(y, v, path, "must not be empty");

    if (k->type == DG_YAML_PATH) {
        char resolved[4096];
        if (dg_yaml_resolve(resolved, sizeof resolved, y->dir, s) != 0 ||
            strlen(resolved) >= k->size)
            return dg_yaml_fail(y, v, path, "path is longer than %zu characters once resolved",
                                k->size - 1);
        /* Readable now, by this process: the gateway must not start with a
           file it will only fail to open on its first (re)connect. */
        int fd = open(resolved, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return dg_yaml_fail(y, v, path, "cannot open %s: %s", resolved, strerror(errno));
        struct stat st;
        int st_rc = fstat(fd, &st);
        int st_errno = errno;
        close(fd);
        if (st_rc != 0)
            return dg_yaml_fail(y, v, path, "cannot stat %s: %s", resolved, strerror(st_errno));
        if (!S_ISREG(st.st_mode))
            return dg_yaml_fail(y, v, path, "%s is not a regular file", resolved);
        memcpy(dst, resolved, strlen(resolved) + 1);
        return 0;
    }

    if (len >= k->size)
        return dg_yaml_fail(y, v, path, "must be at most %zu characters, got %zu", k->size - 1,
                            len);
    if (k->check && k->check(s, why, sizeof why) != 0) return dg_yaml_fail(y, v, path, "%s", why);
    memcpy(dst, s, len + 1);
    return 0;
}

static int store_value(struct dg_yaml *y, const struct dg_yaml_key *k, const yaml_node_t *kn,
                       const yaml_node_t *v, const char *path, void *base)
{
    char got[80], list[200];
    char *dst = (char *)base + k->offset;

    if (v->type == YAML_SCALAR_NODE && is_null(v))
        return dg_yaml_fail(y, kn, path, "has no value%s",
                            k->required ? "" : " (leave the key out to get the default)");

    if (k->type == DG_YAML_MAP || k->type == DG_YAML_SEQ) {
        yaml_node_type_t want = k->type == DG_YAML_MAP ? YAML_MAPPING_NODE : YAML_SEQUENCE_NODE;
        if (v->type != want)
            return dg_yaml_fail(y, v, path, "expected %s, got %s", type_name(k->type),
                                describe(got, sizeof got, v));
        return 0;
    }
    if (v->type != YAML_SCALAR_NODE)
        return dg_yaml_fail(y, v, path, "expected %s, got %s",
                            k->type == DG_YAML_ENUM ? "a single word" : type_name(k->type),
                            describe(got, sizeof got, v));

    const char *s = sval(v);
    /* Scalars the YAML core schema would type differently only if unquoted. */
    const char *quoted_hint = is_plain(v) ? "" : " (quoted values are strings)";

    switch (k->type) {
    case DG_YAML_STRING:
    case DG_YAML_PATH:
        return store_string(y, k, v, path, dst);

    case DG_YAML_INT: {
        if (!is_plain(v) || !looks_int(s))
            return dg_yaml_fail(y, v, path, "expected an integer, got %s%s",
                                describe(got, sizeof got, v), quoted_hint);
        errno = 0;
        long long n = strtoll(s, NULL, 10);
        if (errno == ERANGE || n < k->min_i || n > k->max_i)
            return dg_yaml_fail(y, v, path, "must be between %lld and %lld, got %s", k->min_i,
                                k->max_i, s);
        int i = (int)n; /* min_i/max_i are within int for every INT key */
        memcpy(dst, &i, sizeof i);
        return 0;
    }

    case DG_YAML_DOUBLE: {
        if (is_plain(v) && is_yaml_nonfinite(s))
            return dg_yaml_fail(y, v, path, "must be a finite number, got %s", s);
        if (!is_plain(v) || !looks_double(s))
            return dg_yaml_fail(y, v, path, "expected a number, got %s%s",
                                describe(got, sizeof got, v), quoted_hint);
        double d = strtod(s, NULL);
        if (!isfinite(d)) return dg_yaml_fail(y, v, path, "must be a finite number, got %s", s);
        bool below = k->min_exclusive ? !(d > k->min_d) : d < k->min_d;
        if (below || d > k->max_d) {
            if (k->min_exclusive && k->max_d >= 1e300)
                return dg_yaml_fail(y, v, path, "must be greater than %g, got %s", k->min_d, s);
            if (k->min_exclusive)
                return dg_yaml_fail(y, v, path, "must be greater than %g and at most %g, got %s",
                                    k->min_d, k->max_d, s);
            if (k->max_d >= 1e300)
                return dg_yaml_fail(y, v, path, "must be >= %g, got %s", k->min_d, s);
            return dg_yaml_fail(y, v, path, "must be between %g and %g, got %s", k->min_d, k->max_d,
                                s);
        }
        if (k->whole && d != floor(d))
            return dg_yaml_fail(y, v, path, "must be a whole number, got %s", s);
        memcpy(dst, &d, sizeof d);
        return 0;
    }

    case DG_YAML_BOOL:
    case DG_YAML_FLAG: {
        bool b;
        if (is_plain(v) && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")))
            b = true;
        else if (is_plain(v) && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")))
            b = false;
        else
            return dg_yaml_fail(y, v, path, "expected true or false, got %s%s",
                                describe(got, sizeof got, v), quoted_hint);
        if (k->type == DG_YAML_FLAG) {
            int flag = b ? 1 : 0;
            memcpy(dst, &flag, sizeof flag);
        } else {
            memcpy(dst, &b, sizeof b);
        }
        return 0;
    }

    case DG_YAML_ENUM:
        for (int i = 0; k->names[i]; i++) {
            if (strcmp(s, k->names[i]) == 0 && strlen(s) == v->data.scalar.length) {
                memcpy(dst, &i, sizeof i);
                return 0;
            }
        }
        return dg_yaml_fail(y, v, path, "must be one of %s; got %s",
                            join_names(list, sizeof list, k->names), describe(got, sizeof got, v));

    case DG_YAML_MAP:
    case DG_YAML_SEQ:
        break;
    }
    return dg_yaml_fail(y, v, path, "internal error: unhandled key type");
}

/* ---------------------------------------------------------------- mapping */

int dg_yaml_map(struct dg_yaml *y, const yaml_node_t *map, const char *path,
                const struct dg_yaml_key *keys, size_t nkeys, void *base, struct dg_yaml_hit *hits)
{
    char kpath[PATH_LEN], got[80];

    if (hits) memset(hits, 0, nkeys * sizeof *hits);
    if (map->type != YAML_MAPPING_NODE)
        return dg_yaml_fail(y, map, path, "expected a mapping, got %s",
                            describe(got, sizeof got, map));

    const yaml_node_pair_t *first = map->data.mapping.pairs.start;
    const yaml_node_pair_t *end = map->data.mapping.pairs.top;
    for (const yaml_node_pair_t *p = first; p < end; p++) {
        const yaml_node_t *kn = yaml_document_get_node(&y->doc, p->key);
        const yaml_node_t *vn = yaml_document_get_node(&y->doc, p->value);
        if (!kn || !vn) return dg_yaml_fail(y, map, path, "internal error: dangling node");
        if (kn->type != YAML_SCALAR_NODE || strlen(sval(kn)) != kn->data.scalar.length)
            return dg_yaml_fail(y, kn, path, "keys must be plain names, got %s",
                                describe(got, sizeof got, kn));
        const char *name = sval(kn);
        dg_yaml_join(kpath, sizeof kpath, path, name);

        /* Duplicates: YAML forbids them, libyaml keeps both; we refuse. */
        for (const yaml_node_pair_t *q = first; q < p; q++) {
            const yaml_node_t *qk = yaml_document_get_node(&y->doc, q->key);
            if (qk && qk->type == YAML_SCALAR_NODE && strcmp(sval(qk), name) == 0)
                return dg_yaml_fail(y, kn, kpath, "duplicate key (first at line %zu)",
                                    dg_yaml_line(qk));
        }

        size_t i = 0;
        while (i < nkeys && strcmp(keys[i].name, name) != 0)
            i++;
        if (i == nkeys) {
            char expected[300];
            size_t o = 0;
            expected[0] = '\0';
            for (size_t j = 0; j < nkeys; j++) {
                int n = snprintf(expected + o, sizeof expected - o, "%s%s", j ? ", " : "",
                                 keys[j].name);
                if (n < 0 || (size_t)n >= sizeof expected - o) break;
                o += (size_t)n;
            }
            return dg_yaml_fail(y, kn, kpath, "unknown key (expected one of: %s)", expected);
        }

        int rc = store_value(y, &keys[i], kn, vn, kpath, base);
        if (rc != 0) return rc;
        if (hits) {
            hits[i].key = kn;
            hits[i].value = vn;
        }
    }

    for (size_t i = 0; i < nkeys; i++) {
        if (!keys[i].required) continue;
        bool found = false;
        for (const yaml_node_pair_t *p = first; p < end && !found; p++) {
            const yaml_node_t *kn = yaml_document_get_node(&y->doc, p->key);
            found = kn && strcmp(sval(kn), keys[i].name) == 0;
        }
        if (!found)
            return dg_yaml_fail(y, map, dg_yaml_join(kpath, sizeof kpath, path, keys[i].name),
                                "required key is missing");
    }
    return 0;
}
