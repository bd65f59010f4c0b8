/*
 * yamlutil.h — a schema-driven walker over libyaml's document model, for
 * files people edit by hand (the site config, the drug library).
 *
 * Design: the whole file is loaded with yaml_parser_load(), so every node
 * keeps the line it came from. A caller describes each mapping with a table of
 * struct dg_yaml_key (name, type, required, range, destination offset) and
 * calls dg_yaml_map(); the walker refuses unknown keys, duplicate keys, values
 * of the wrong type, out-of-range numbers, strings that do not fit and missing
 * required keys. It stops at the first problem and writes exactly one line
 *
 *     FILE:LINE: KEY.PATH: problem
 *
 * into the caller's error buffer. Scalars are converted straight into the
 * destination struct; mappings and lists are only type-checked and handed
 * back (struct dg_yaml_hit) so the caller walks them with their own tables,
 * in the order it needs, and can name their lines in cross-field checks.
 *
 * YAML typing: ints, doubles and bools must be plain (unquoted) scalars, as
 * in the YAML core schema; a quoted "10" is a string. A plain `~`, `null` or
 * an empty value is null, and null is refused everywhere ("has no value"):
 * an optional key is left out to get its default. Strings may be quoted or
 * not, must be non-empty unless the key allows empty, and may not contain
 * control characters or NUL.
 *
 * Not thread-safe per object; no globals. Memory: dg_yaml_parse() makes the
 * document, dg_yaml_close() frees it.
 */
#ifndef DG_YAMLUTIL_H
#define DG_YAMLUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

enum dg_yaml_type {
    DG_YAML_STRING, /* char[size] */
    DG_YAML_PATH,   /* char[size]: resolved against dg_yaml.dir, must be a readable file */
    DG_YAML_INT,    /* int, within [min_i, max_i] */
    DG_YAML_DOUBLE, /* double, finite, within [min_d, max_d] */
    DG_YAML_BOOL,   /* bool: true or false */
    DG_YAML_FLAG,   /* int: true -> 1, false -> 0 (for int-typed flags in core structs) */
    DG_YAML_ENUM,   /* int: the index of the value in names[] */
    DG_YAML_MAP,    /* not stored: handed back in dg_yaml_hit.value */
    DG_YAML_SEQ,    /* not stored: handed back in dg_yaml_hit.value */
};

/*
 * Extra check of a string value. Returns 0 if s is acceptable, else -1 with a
 * short reason (no key, no line) in why.
 */
typedef int (*dg_yaml_check_fn)(const char *s, char *why, size_t whylen);

struct dg_yaml_key {
    const char *name;
    enum dg_yaml_type type;
    bool required;
    bool allow_empty;         /* STRING: "" is accepted */
    size_t offset;            /* destination in the caller's base struct */
    size_t size;              /* STRING, PATH: destination buffer size */
    long long min_i, max_i;   /* INT */
    double min_d, max_d;      /* DOUBLE */
    bool min_exclusive;       /* DOUBLE: the value must be > min_d, not >= */
    bool whole;               /* DOUBLE: the value must be a whole number (a count) */
    const char *const *names; /* ENUM: NULL-terminated */
    dg_yaml_check_fn check;   /* STRING: optional extra check */
};

/* Where a key was found: both nodes NULL if absent. */
struct dg_yaml_hit {
    const yaml_node_t *key;
    const yaml_node_t *value;
};

struct dg_yaml {
    const char *file; /* name used in messages; borrowed, must outlive this */
    const char *dir;  /* directory relative paths resolve against; borrowed */
    char *err;        /* caller's error buffer; borrowed */
    size_t errlen;
    yaml_document_t doc;
    bool loaded;
};

/*
 * Parse buf (len bytes; borrowed, only read during the call) as exactly one
 * YAML document whose top level is a mapping. file and dir are kept by
 * pointer (see struct dg_yaml). On success returns 0 and y owns the document
 * until dg_yaml_close(); on failure returns -DG_ECONFIG (or -DG_ENOMEM) with
 * the error line in err, and y owns nothing.
 */
int dg_yaml_parse(struct dg_yaml *y, const char *file, const char *dir, const unsigned char *buf,
                  size_t len, char *err, size_t errlen);

/* Free the document (no-op if none). */
void dg_yaml_close(struct dg_yaml *y);

/* The top-level mapping of a parsed document. */
const yaml_node_t *dg_yaml_root(struct dg_yaml *y);

/*
 * Walk the mapping node `map` (whose key path is `path`, "" at the top) with
 * the nkeys-entry schema `keys`, storing scalars into base + keys[i].offset.
 * hits (nkeys entries, may be NULL) receives the key and value node of each
 * key found. Returns 0, or -DG_ECONFIG with the first problem in y->err.
 * base is only written for keys present in the file, so defaults are set
 * by pre-filling it.
 */
int dg_yaml_map(struct dg_yaml *y, const yaml_node_t *map, const char *path,
                const struct dg_yaml_key *keys, size_t nkeys, void *base, struct dg_yaml_hit *hits);

/* Number of items of a sequence node, and item i (0-based; borrowed from the
   document, valid until dg_yaml_close()). */
size_t dg_yaml_seq_len(const yaml_node_t *seq);
const yaml_node_t *dg_yaml_seq_item(struct dg_yaml *y, const yaml_node_t *seq, size_t i);

/*
 * Write "FILE:LINE: PATH: problem" (LINE of node; "FILE: PATH: problem" if
 * node is NULL) into y->err and return -DG_ECONFIG.
 */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
int dg_yaml_fail(struct dg_yaml *y, const yaml_node_t *node, const char *path, const char *fmt,
                 ...);

/* 1-based line of node. */
size_t dg_yaml_line(const yaml_node_t *node);

/* path + "." + name into buf (just name if path is empty); truncates safely. */
const char *dg_yaml_join(char *buf, size_t buflen, const char *path, const char *name);

/*
 * Resolve rel against dir into out (outlen bytes): absolute paths are kept,
 * relative ones become dir/rel. Returns 0, or -1 if it does not fit.
 */
int dg_yaml_resolve(char *out, size_t outlen, const char *dir, const char *rel);

#endif
