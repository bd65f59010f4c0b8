/*
 * druglib.h — the drug-library model the interlock core evaluates.
 *
 * Filled by the shell's YAML loader (gateway/io/config.c) from the file a
 * biomedical engineer or pharmacist edits; the core only reads it. Limits are
 * per drug entry and care area. A limit of 0 means "no such limit".
 */
#ifndef DG_DRUGLIB_H
#define DG_DRUGLIB_H

#include <stddef.h>

#include "types.h"

#define DG_DRUGS_MAX 32

/* A soft/hard limit pair; the unit is in the owning field's name. */
struct dg_limit {
    double soft; /* > soft: medium alert, no action; 0 = none */
    double hard; /* > hard: high alert + the rule's action; 0 = none */
};

struct dg_drug {
    char id[DG_ID_MAX];                    /* drug code the pump sends, e.g. "ketamine-trd" */
    char care_area[DG_ID_MAX];             /* care area it applies to */
    char name[DG_ID_MAX];                  /* display name */
    struct dg_limit rate_mg_per_kg_h;      /* infusion rate */
    enum dg_alert_action rate_hard_action; /* default pause */
};

struct dg_druglib {
    char id[DG_ID_MAX];      /* library id, e.g. "clinic-default" */
    char version[DG_ID_MAX]; /* library version, e.g. "2026.11.1" */
    char sha256_hex[65];     /* of the file's bytes, filled by the loader */
    size_t n_drugs;
    struct dg_drug drugs[DG_DRUGS_MAX];
};

/* The entry for (drug code, care area), or NULL. An entry with an empty
   care_area matches any care area. */
const struct dg_drug *dg_druglib_find(const struct dg_druglib *lib, const char *drug_code,
                                      const char *care_area);

#endif
