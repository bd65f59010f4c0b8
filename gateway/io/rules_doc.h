/*
 * rules_doc.h — the rules reference (docs/rules.md) rendered from a loaded
 * drug library, so the documentation cannot drift from the shipped file.
 *
 * Design: the library holds the values (limits, delays, actions); this module
 * holds what a library cannot — each rule's id, its condition in words, its
 * alert priority and kind, when it is evaluated, and its published source —
 * and joins the two into one Markdown table, one row per rule id. The unit
 * test tests/unit/test_rules_doc.c loads gateway/etc/drug-library.yaml,
 * renders it and requires the result to be byte-identical to the section of
 * docs/rules.md between DG_RULES_DOC_BEGIN and DG_RULES_DOC_END; run it with
 * --update to rewrite that section after the library changes.
 *
 * No globals, no allocation; the caller owns the stream.
 */
#ifndef DG_RULES_DOC_H
#define DG_RULES_DOC_H

#include <stdio.h>

#include "../core/druglib.h"

#define DG_RULES_DOC_BEGIN "<!-- rules:begin (generated: tests/unit/test_rules_doc --update) -->"
#define DG_RULES_DOC_END   "<!-- rules:end -->"

/*
 * Write the rules table for lib to out: the drug rules with the values of
 * the entry for drug_id that applies in any care area (the first entry with
 * that id if none does), the vital-sign and liveness rules with the
 * library's. lib and drug_id are borrowed, only read during the call. The
 * output is the lines between the markers, not the markers themselves.
 * Returns 0, -DG_EINVAL if lib has no entry drug_id, -DG_EIO if out failed.
 */
int dg_rules_doc_write(FILE *out, const struct dg_druglib *lib, const char *drug_id);

#endif
