/*
 * test_rules_doc.c — docs/rules.md cannot drift from the shipped drug library.
 *
 * The rules table in docs/rules.md (between DG_RULES_DOC_BEGIN and
 * DG_RULES_DOC_END) must be byte-identical to dg_rules_doc_write() of
 * gateway/etc/drug-library.yaml, loaded by the real loader; the shipped
 * library must hold the contract's values (druglib.c's defaults); the table
 * must follow the library's values, not restate them; and every rule id has
 * exactly one row.
 *
 * The same program regenerates the table:
 *     test_rules_doc --update           rewrite docs/rules.md's table
 *     test_rules_doc --print [LIBRARY]  print the table of any library file
 * (LIBRARY defaults to the shipped one; its first drug entry is shown.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/config.h"
#include "io/rules_doc.h"

#define SHIPPED_LIB  DG_SOURCE_DIR "/gateway/etc/drug-library.yaml"
#define RULES_MD     DG_SOURCE_DIR "/docs/rules.md"
#define SHIPPED_DRUG "ketamine-trd"

static const char *self = "test_rules_doc"; /* argv[0], for the regenerate hint */

/* A valid site config naming nothing real: only the library is of interest. */
static const char site_text[] = "gateway: {id: gw-1, site: docs}\n"
                                "device_link:\n"
                                "  url: ssl://127.0.0.1:8883\n"
                                "  ca_file: ca.pem\n"
                                "  cert_file: gateway.pem\n"
                                "  key_file: gateway.key\n"
                                "drug_library: drug-library.yaml\n"
                                "audit: {key_file: audit.key}\n";

/* The whole file at path, NUL-terminated, malloc'd (caller frees); NULL if
   it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1) break;
        cap *= 2;
        char *bigger = realloc(buf, cap);
        if (!bigger) free(buf);
        buf = bigger;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/* Load the library file at path with the real loader into *cfg. Returns 0,
   or the loader's error with the message in err. */
static int load_library(struct dg_config *cfg, const char *path, char *err, size_t errlen)
{
    size_t len = 0;
    char *text = slurp(path, &len);
    if (!text) {
        snprintf(err, errlen, "%s: cannot read", path);
        return -DG_EIO;
    }
    int rc =
        dg_config_parse(cfg, "site.yaml", (const unsigned char *)site_text, sizeof site_text - 1,
                        path, (const unsigned char *)text, len, err, errlen);
    free(text);
    return rc;
}

/* dg_rules_doc_write() into a malloc'd string (caller frees). */
static char *render(const struct dg_druglib *lib, const char *drug_id, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    *rc = dg_rules_doc_write(f, lib, drug_id);
    assert_int_equal(fclose(f), 0);
    return buf;
}

/* The generated section of doc: [*begin, *end) after the begin marker's line
   up to the end marker. Returns 0, or -1 if the markers are missing. */
static int find_section(const char *doc, size_t *begin, size_t *end)
{
    const char *b = strstr(doc, DG_RULES_DOC_BEGIN "\n");
    if (!b) return -1;
    b += strlen(DG_RULES_DOC_BEGIN "\n");
    const char *e = strstr(b, DG_RULES_DOC_END);
    if (!e || (e > doc && e[-1] != '\n')) return -1;
    *begin = (size_t)(b - doc);
    *end = (size_t)(e - doc);
    return 0;
}

/* ------------------------------------------------------------------ tests */

static void test_doc_matches_shipped_library(void **state)
{
    (void)state;
    static struct dg_config cfg;
    char err[512];
    int rc = load_library(&cfg, SHIPPED_LIB, err, sizeof err);
    if (rc != 0) fail_msg("shipped library refused: %s", err);

    char *table = render(&cfg.druglib, SHIPPED_DRUG, &rc);
    assert_int_equal(rc, 0);
    char *doc = slurp(RULES_MD, NULL);
    if (!doc) fail_msg("cannot read %s", RULES_MD);
    size_t b, e;
    if (find_section(doc, &b, &e) != 0)
        fail_msg("%s: no \"%s\" line followed by \"%s\"", RULES_MD, DG_RULES_DOC_BEGIN,
                 DG_RULES_DOC_END);

    const char *have = doc + b;
    size_t have_len = e - b;
    if (have_len != strlen(table) || memcmp(have, table, have_len) != 0) {
        /* Name the first line that differs. */
        size_t i = 0, line = 1, start = 0;
        while (i < have_len && table[i] && have[i] == table[i]) {
            if (have[i] == '\n') {
                line++;
                start = i + 1;
            }
            i++;
        }
        const char *hl = have + start, *tl = table + start;
        size_t hmax = have_len - start, hlen = strcspn(hl, "\n");
        int hn = (int)(hlen < hmax ? hlen : hmax);
        int tn = (int)strcspn(tl, "\n");
        fail_msg("docs/rules.md is out of date with gateway/etc/drug-library.yaml.\n"
                 "First difference, line %zu of the generated table:\n"
                 "  docs:    %.*s\n"
                 "  library: %.*s\n"
                 "Regenerate it with:\n"
                 "  %s --update\n"
                 "then review and commit docs/rules.md.",
                 line, hn, hl, tn, tl, self);
    }
    free(doc);
    free(table);
    dg_config_free(&cfg);
}

/* The shipped file holds the contract's values, as druglib.c states them. */
static void test_shipped_is_contract(void **state)
{
    (void)state;
    static struct dg_config cfg;
    static struct dg_druglib want;
    char err[512];
    int rc = load_library(&cfg, SHIPPED_LIB, err, sizeof err);
    if (rc != 0) fail_msg("shipped library refused: %s", err);

    memset(&want, 0, sizeof want);
    dg_druglib_defaults(&want);
    snprintf(want.id, sizeof want.id, "%s", cfg.druglib.id);
    snprintf(want.version, sizeof want.version, "%s", cfg.druglib.version);
    want.n_drugs = 1;
    snprintf(want.drugs[0].id, sizeof want.drugs[0].id, SHIPPED_DRUG);
    dg_drug_defaults(&want.drugs[0], 1);

    char *a = render(&cfg.druglib, SHIPPED_DRUG, &rc);
    assert_int_equal(rc, 0);
    char *b = render(&want, SHIPPED_DRUG, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
    dg_config_free(&cfg);
}

/* Exactly one row per rule id, and nothing else in the table's first column. */
static void test_every_rule_once(void **state)
{
    (void)state;
    static const char *const ids[] = {
        "rate-soft",
        "rate-hard",
        "dose-soft",
        "dose-hard",
        "dose-24h",
        "bolus",
        "concentration-soft",
        "concentration-hard",
        "weight",
        "weight-change",
        "programmed-dose-soft",
        "programmed-dose-hard",
        "unknown-drug",
        "no-program",
        "sessions-7d",
        "sessions-interval",
        "baseline-bp-warn",
        "baseline-bp-missing",
        "baseline-bp-crit",
        "bp-rise",
        "bp-high",
        "bp-severe",
        "hr-warn",
        "hr-crit",
        "spo2-warn",
        "spo2-crit",
        "rr-warn",
        "rr-crit",
        "two-warnings",
        "observation",
        "vitals-silent",
        "nibp-stale",
        "pump-silent",
        "command-not-honoured",
        "dose-mismatch",
        "clock-skew",
        "clock-jump",
        "seq-gap",
        "permit-to-infuse",
    };
    static struct dg_druglib lib;
    memset(&lib, 0, sizeof lib);
    dg_druglib_defaults(&lib);
    lib.n_drugs = 1;
    snprintf(lib.drugs[0].id, sizeof lib.drugs[0].id, "x");
    dg_drug_defaults(&lib.drugs[0], 1);
    int rc;
    char *t = render(&lib, "x", &rc);
    assert_int_equal(rc, 0);

    size_t rows = 0;
    for (const char *p = strstr(t, "\n| `"); p; p = strstr(p + 1, "\n| `"))
        rows++;
    assert_int_equal(rows, sizeof ids / sizeof ids[0]);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char cell[80];
        snprintf(cell, sizeof cell, "\n| `%s` |", ids[i]);
        const char *p = strstr(t, cell);
        if (!p) fail_msg("no row for %s", ids[i]);
        if (strstr(p + 1, cell)) fail_msg("two rows for %s", ids[i]);
    }
    free(t);
}

/* Values, "off" and actions come from the library, not from the renderer. */
static void test_table_follows_library(void **state)
{
    (void)state;
    static struct dg_druglib lib;
    memset(&lib, 0, sizeof lib);
    dg_druglib_defaults(&lib);
    lib.n_drugs = 2;
    snprintf(lib.drugs[0].id, sizeof lib.drugs[0].id, "ketamine-trd");
    snprintf(lib.drugs[0].care_area, sizeof lib.drugs[0].care_area, "icu");
    dg_drug_defaults(&lib.drugs[0], 1);
    snprintf(lib.drugs[1].id, sizeof lib.drugs[1].id, "ketamine-trd");
    struct dg_drug *d = &lib.drugs[1]; /* the any-area entry is the one shown */
    dg_drug_defaults(d, 1);
    d->rate_mg_per_kg_h.soft = 0;
    d->rate_mg_per_kg_h.hard = 2.25;
    d->rate_hard_action = DG_ACTION_STOP;
    d->bolus_allowed = 1;
    d->concentration_soft_min_mg_per_ml = 0;
    d->weight_hard_max_kg = 0;
    d->sessions_max_per_7d = 0;
    lib.vitals.hr_warn_delay_s = 0;
    lib.vitals.two_warnings_action = DG_ACTION_NONE;
    lib.vitals.baseline_crit_action = DG_ACTION_PAUSE;
    lib.liveness.permit_valid_s = 3.5;
    lib.vitals.baseline_grace_min = 0;
    lib.liveness.clock_jump_tolerance_s = 7.5;
    lib.liveness.seq_gap_advisory_missing = 0;
    lib.liveness.data_quality_clear_s = 90;

    int rc;
    char *t = render(&lib, "ketamine-trd", &rc);
    assert_int_equal(rc, 0);
    static const char *const want[] = {
        "| `rate-soft` | rate | running rate above soft (mg/kg/h = mL/h × mg/mL ÷ kg) | off | "
        "medium, physiological | — |",
        "| `rate-hard` | rate | running rate above hard | > 2.25 mg/kg/h | high, physiological | "
        "stop |",
        "| `bolus` | bolus | any bolus (count or bolus dose > 0) when boluses are not allowed | "
        "off "
        "(allowed) | high, physiological | — |",
        "| > 2 mg/mL | medium, physiological | none |",
        "| missing or < 30 kg |",
        "| `sessions-7d` | sessions | more sessions started in the last 7 days than max_per_7d, "
        "this one "
        "included | off |",
        "| < 50 or > 120 bpm for 0 s |",
        "| `two-warnings` | two-warnings | two or more warnings (medium physiological alerts, or "
        "vitals-silent) "
        "active at once on one bed | off |",
        "| ≥ 180/110 mmHg | high, physiological | pause on start |",
        "| every 1 s, valid 3.5 s |",
        "| none in the last 15 min |",
        "| forward > scale × (gateway time + 7.5 s), backward > scale × 7.5 s; clears after 90 s "
        "quiet | low, advisory | none |",
        "| off (every gap still counted and audited) | low, advisory | — |",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(t, want[i])) fail_msg("table lacks \"%s\":\n%s", want[i], t);
    free(t);

    /* A drug with only a care-area entry is still documented. */
    snprintf(d->id, sizeof d->id, "other");
    t = render(&lib, "ketamine-trd", &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(t, "| > 1.125 mg/kg/h |"));
    free(t);

    /* The defaults: a grace after the start, an advisory from 5 missing. */
    memset(&lib, 0, sizeof lib);
    dg_druglib_defaults(&lib);
    lib.n_drugs = 1;
    snprintf(lib.drugs[0].id, sizeof lib.drugs[0].id, "ketamine-trd");
    dg_drug_defaults(&lib.drugs[0], 1);
    lib.vitals.baseline_grace_min = 2.5;
    lib.liveness.seq_gap_advisory_missing = 7;
    t = render(&lib, "ketamine-trd", &rc);
    assert_int_equal(rc, 0);
    static const char *const want_defaults[] = {
        "| none in the last 15 min, nor in 2.5 min after the start |",
        "| ≥ 7 messages missing; clears after 60 s quiet | low, advisory | none |",
        ("| forward > scale × (gateway time + 5 s), backward > scale × 5 s; clears after 60 s "
         "quiet |"),
        "`vitals.baseline.crit_sys_mmhg`, `.crit_dia_mmhg`, `.crit_action`, `.grace_min`",
    };
    for (size_t i = 0; i < sizeof want_defaults / sizeof want_defaults[0]; i++)
        if (!strstr(t, want_defaults[i])) fail_msg("table lacks \"%s\":\n%s", want_defaults[i], t);
    free(t);
}

static void test_errors(void **state)
{
    (void)state;
    static struct dg_druglib lib;
    memset(&lib, 0, sizeof lib);
    dg_druglib_defaults(&lib);
    int rc;
    char *t = render(&lib, "ketamine-trd", &rc);
    assert_int_equal(rc, -DG_EINVAL);
    free(t);
    assert_int_equal(dg_rules_doc_write(NULL, &lib, "x"), -DG_EINVAL);
}

/* -------------------------------------------------------------- commands */

static int print_table(const char *path)
{
    static struct dg_config cfg;
    char err[512];
    int rc = load_library(&cfg, path, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const char *drug = cfg.druglib.drugs[0].id;
    if (strcmp(path, SHIPPED_LIB) == 0) drug = SHIPPED_DRUG;
    rc = dg_rules_doc_write(stdout, &cfg.druglib, drug);
    if (rc != 0) fprintf(stderr, "rules table: %s\n", dg_strerror(rc));
    dg_config_free(&cfg);
    return rc == 0 ? 0 : 1;
}

static int update_doc(void)
{
    static struct dg_config cfg;
    char err[512];
    int rc = load_library(&cfg, SHIPPED_LIB, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    char *doc = slurp(RULES_MD, NULL);
    size_t b, e;
    if (!doc || find_section(doc, &b, &e) != 0) {
        fprintf(stderr, "%s: cannot read it, or no \"%s\" line followed by \"%s\"\n", RULES_MD,
                DG_RULES_DOC_BEGIN, DG_RULES_DOC_END);
        free(doc);
        dg_config_free(&cfg);
        return 1;
    }
    const char *tmp_path = RULES_MD ".tmp";
    FILE *f = fopen(tmp_path, "wb");
    if (!f) {
        perror(tmp_path);
        free(doc);
        dg_config_free(&cfg);
        return 1;
    }
    fwrite(doc, 1, b, f);
    rc = dg_rules_doc_write(f, &cfg.druglib, SHIPPED_DRUG);
    dg_config_free(&cfg);
    fputs(doc + e, f);
    free(doc);
    if (fclose(f) != 0 || rc != 0 || rename(tmp_path, RULES_MD) != 0) {
        fprintf(stderr, "%s: cannot write (%s)\n", RULES_MD, rc ? dg_strerror(rc) : "I/O error");
        remove(tmp_path);
        return 1;
    }
    printf("%s: rules table regenerated from %s\n", RULES_MD, SHIPPED_LIB);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 0) self = argv[0];
    if (argc == 2 && strcmp(argv[1], "--update") == 0) return update_doc();
    if ((argc == 2 || argc == 3) && strcmp(argv[1], "--print") == 0)
        return print_table(argc == 3 ? argv[2] : SHIPPED_LIB);
    if (argc > 1) {
        fprintf(stderr, "usage: %s [--update | --print [LIBRARY]]\n", self);
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doc_matches_shipped_library),
        cmocka_unit_test(test_shipped_is_contract),
        cmocka_unit_test(test_every_rule_once),
        cmocka_unit_test(test_table_follows_library),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
