/*
 * fuzz_config.c — libFuzzer harness for the two files people edit by hand:
 * the drug library and the site config, parsed from memory with
 * dg_config_parse() (the code dg_config_load() runs once it has read the
 * files; nothing is opened, so certificate checks are out of scope here).
 *
 * Input layout: byte 0 selects, the rest is the YAML text.
 *   bit 0  target: 0 the drug library (with a fixed valid site config),
 *                  1 the site config (with a fixed valid drug library)
 *   bit 1  fail the first allocation (dg_alloc_fail_after(1))
 *   bit 2  a 24-byte error buffer instead of 512 (truncated messages)
 *
 * Besides the sanitizers (and LeakSanitizer for libyaml's documents), the
 * harness checks what dg_config_load() promises its callers:
 *   - a failure is -DG_ECONFIG (-DG_ENOMEM only when a failure was
 *     injected) with one printable, terminated line in err that starts with
 *     the name of the file at fault and ':' and then either a line number
 *     within the text or a space, and *cfg is left untouched;
 *   - a success yields a sane model: 1..DG_DRUGS_MAX drugs, well-formed ids,
 *     every limit finite, >= 0 and within its documented maximum, hard >
 *     soft when both are set, soft_min < soft_max <= hard_max, a hard action
 *     other than the default only with a hard limit (a bolus action only
 *     when boluses are not allowed), no two entries for one (drug, care
 *     area); vital-sign thresholds > 0 with every warning less severe than
 *     its critical threshold, silent timeouts warn < crit, a permit renewed
 *     before it lapses, every action none/pause/stop, the data-quality
 *     keys in range (a whole number of missing messages); SHA-256 of
 *     exactly the given bytes, and site settings within their documented
 *     ranges;
 *   - the devices section: well-formed prefixes that do not overlap unless
 *     an inventory says each device's kind; an inventory of at most
 *     DG_INVENTORY_MAX entries, strictly sorted by id (so unique), each id
 *     its kind's prefix and a name, and each accepted by identity.c as its
 *     kind (and its bed, if tied, and no other);
 *   - no dg_malloc'd memory outlives the call, nor a loaded config once
 *     dg_config_free()d.
 * A broken property aborts.
 *
 * Build: -DDG_FUZZ=ON with clang (tests/fuzz/CMakeLists.txt). Seeds:
 * tests/fuzz/corpus/config (the shipped files and test fixtures, each behind
 * its selector byte).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/config.h"
#include "io/identity.h"

#define CFG_NAME "site.yaml"
#define LIB_NAME "drugs.yaml"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The partner of the fuzzed file: both load (tests/data/config/minimal.yaml
   and drugs-ok.yaml without the file paths that would need a PKI). */
static const char fixed_config[] = "gateway:\n"
                                   "  id: gw-1\n"
                                   "  site: test-site\n"
                                   "device_link:\n"
                                   "  url: ssl://127.0.0.1:8883\n"
                                   "  ca_file: certs/ca.pem\n"
                                   "  cert_file: certs/gateway.pem\n"
                                   "  key_file: certs/gateway.key\n"
                                   "drug_library: " LIB_NAME "\n"
                                   "audit:\n"
                                   "  key_file: certs/audit.key\n";
static const char fixed_druglib[] = "library:\n"
                                    "  id: test-lib\n"
                                    "  version: \"1\"\n"
                                    "drugs:\n"
                                    "  - id: ketamine-trd\n"
                                    "    name: Ketamine\n"
                                    "    rate_mg_per_kg_h: {soft: 1.125, hard: 1.5}\n";

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_config: property violated: %s\n", what);
        abort();
    }
}

/* [A-Za-z0-9_.-]+ (config.c check_id), or "" if allowed. */
static int id_ok(const char *s, size_t cap, int allow_empty)
{
    size_t n = strnlen(s, cap);
    if (n == cap || (!allow_empty && n == 0)) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* Terminated within cap, non-empty, no control characters. */
static int text_ok(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == 0 || n == cap) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) return 0;
    }
    return 1;
}

static void sha256_of(const uint8_t *data, size_t size, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    check(EVP_Digest(data, size, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32,
          "harness SHA-256");
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* 0 <= v <= max, finite. */
static int in_range(double v, double max)
{
    return isfinite(v) && v >= 0 && v <= max;
}

/* 0 < v <= max, finite. */
static int positive(double v, double max)
{
    return isfinite(v) && v > 0 && v <= max;
}

static int action_ok(enum dg_alert_action a)
{
    return a >= DG_ACTION_NONE && a <= DG_ACTION_STOP;
}

/* lo < hi whenever both are set (> 0). */
static int ordered(double lo, double hi)
{
    return !(lo > 0 && hi > 0) || lo < hi;
}

/* An action differs from its default only if the limit it acts on is set. */
static int action_needs(enum dg_alert_action a, enum dg_alert_action dflt, double limit)
{
    return a == dflt || limit > 0;
}

static void check_drug_limits(const struct dg_drug *d)
{
    struct dg_drug dflt;
    memset(&dflt, 0, sizeof dflt);
    dg_drug_defaults(&dflt, 0);

    const struct dg_limit *r = &d->rate_mg_per_kg_h, *s = &d->session_dose_mg_per_kg,
                          *p = &d->programmed_dose_mg_per_kg;
    check(in_range(r->soft, 100) && in_range(r->hard, 100), "rate limits in 0..100");
    check(in_range(s->soft, 100) && in_range(s->hard, 100), "session dose limits in 0..100");
    check(in_range(p->soft, 100) && in_range(p->hard, 100), "programmed dose limits in 0..100");
    check(in_range(d->rolling_24h_dose_mg_per_kg_hard, 100), "24 h limit in 0..100");
    check(ordered(r->soft, r->hard) && ordered(s->soft, s->hard) && ordered(p->soft, p->hard),
          "hard > soft when both set");

    double cmin = d->concentration_soft_min_mg_per_ml, cmax = d->concentration_soft_max_mg_per_ml,
           chard = d->concentration_hard_max_mg_per_ml;
    check(in_range(cmin, 1000) && in_range(cmax, 1000) && in_range(chard, 1000),
          "concentration limits in 0..1000");
    check(ordered(cmin, cmax) && ordered(cmin, chard) &&
              (!(cmax > 0 && chard > 0) || cmax <= chard),
          "soft_min < soft_max <= hard_max");
    check(in_range(d->weight_hard_min_kg, 1000) && in_range(d->weight_hard_max_kg, 1000) &&
              ordered(d->weight_hard_min_kg, d->weight_hard_max_kg),
          "weight limits in 0..1000, min < max");
    check(d->sessions_max_per_7d >= 0 && d->sessions_max_per_7d <= 100, "max_per_7d in 0..100");
    check(in_range(d->sessions_min_hours_between, 168), "min_hours_between in 0..168");

    check(action_ok(d->rate_hard_action) && action_ok(d->session_dose_hard_action) &&
              action_ok(d->rolling_24h_hard_action) && action_ok(d->bolus_action) &&
              action_ok(d->concentration_hard_action),
          "drug actions in range");
    check(action_needs(d->rate_hard_action, dflt.rate_hard_action, r->hard) &&
              action_needs(d->session_dose_hard_action, dflt.session_dose_hard_action, s->hard) &&
              action_needs(d->rolling_24h_hard_action, dflt.rolling_24h_hard_action,
                           d->rolling_24h_dose_mg_per_kg_hard) &&
              action_needs(d->concentration_hard_action, dflt.concentration_hard_action, chard),
          "hard_action set only with a hard limit");
    check(d->bolus_allowed == 0 || d->bolus_allowed == 1, "bolus.allowed is 0 or 1");
    check(d->bolus_action == dflt.bolus_action || !d->bolus_allowed,
          "bolus.action set only when boluses are not allowed");
}

static void check_vitals(const struct dg_vitals_rules *v)
{
    check(positive(v->baseline_max_age_min, 240), "baseline.max_age_min in (0, 240]");
    check(positive(v->baseline_warn_sys_mmhg, 300) && positive(v->baseline_warn_dia_mmhg, 300) &&
              positive(v->baseline_crit_sys_mmhg, 300) && positive(v->baseline_crit_dia_mmhg, 300),
          "baseline thresholds in (0, 300]");
    check(v->baseline_warn_sys_mmhg < v->baseline_crit_sys_mmhg &&
              v->baseline_warn_dia_mmhg < v->baseline_crit_dia_mmhg,
          "baseline warn < crit");
    check(positive(v->bp_rise_sys_mmhg, 300) && positive(v->bp_rise_dia_mmhg, 300) &&
              positive(v->bp_high_sys_mmhg, 300) && positive(v->bp_high_dia_mmhg, 300) &&
              positive(v->bp_severe_sys_mmhg, 300) && positive(v->bp_severe_dia_mmhg, 300),
          "bp thresholds in (0, 300]");
    check(positive(v->bp_high_window_min, 60), "bp high window in (0, 60]");
    check(v->bp_high_sys_mmhg < v->bp_severe_sys_mmhg &&
              v->bp_high_dia_mmhg < v->bp_severe_dia_mmhg,
          "bp high < severe");
    check(positive(v->hr_warn_low_bpm, 300) && positive(v->hr_warn_high_bpm, 300) &&
              positive(v->hr_crit_low_bpm, 300) && positive(v->hr_crit_high_bpm, 300),
          "hr thresholds in (0, 300]");
    check(v->hr_crit_low_bpm < v->hr_warn_low_bpm && v->hr_warn_low_bpm < v->hr_warn_high_bpm &&
              v->hr_warn_high_bpm < v->hr_crit_high_bpm,
          "hr crit_low < warn_low < warn_high < crit_high");
    check(positive(v->spo2_warn_pct, 100) && positive(v->spo2_crit_pct, 100) &&
              v->spo2_crit_pct < v->spo2_warn_pct,
          "spo2 0 < crit < warn <= 100");
    check(positive(v->rr_warn_low_bpm, 100) && positive(v->rr_warn_high_bpm, 100) &&
              positive(v->rr_crit_low_bpm, 100) && v->rr_crit_low_bpm < v->rr_warn_low_bpm &&
              v->rr_warn_low_bpm < v->rr_warn_high_bpm,
          "rr 0 < crit_low < warn_low < warn_high");
    check(in_range(v->hr_warn_delay_s, 600) && in_range(v->spo2_warn_delay_s, 600) &&
              in_range(v->rr_warn_delay_s, 600),
          "condition delays in 0..600");
    check(in_range(v->observation_min, 1440), "observation_min in 0..1440");
    check(in_range(v->baseline_grace_min, 60), "baseline.grace_min in 0..60");
    check(action_ok(v->baseline_crit_action) && action_ok(v->bp_high_action) &&
              action_ok(v->bp_severe_action) && action_ok(v->hr_crit_action) &&
              action_ok(v->spo2_crit_action) && action_ok(v->rr_crit_action) &&
              action_ok(v->two_warnings_action),
          "vitals actions in range");
}

static void check_liveness(const struct dg_liveness *l)
{
    check(positive(l->vitals_silent_warn_s, 3600) && positive(l->vitals_silent_crit_s, 3600) &&
              l->vitals_silent_warn_s < l->vitals_silent_crit_s,
          "vitals silent 0 < warn < crit <= 3600");
    check(positive(l->pump_silent_warn_s, 3600) && positive(l->pump_silent_crit_s, 3600) &&
              l->pump_silent_warn_s < l->pump_silent_crit_s,
          "pump silent 0 < warn < crit <= 3600");
    check(positive(l->nibp_stale_min, 240), "nibp_stale_min in (0, 240]");
    check(positive(l->command_timeout_s, 600), "command_timeout_s in (0, 600]");
    check(positive(l->dose_mismatch_rel_pct, 100) && positive(l->dose_mismatch_abs_mg_per_kg, 10),
          "dose mismatch margins > 0");
    check(positive(l->clock_skew_s, 86400), "clock_skew_s in (0, 86400]");
    check(positive(l->permit_valid_s, 60) && positive(l->permit_period_s, 60) &&
              l->permit_period_s < l->permit_valid_s,
          "0 < permit_period_s < permit_valid_s <= 60");
    check(positive(l->clock_jump_tolerance_s, 3600), "clock_jump_tolerance_s in (0, 3600]");
    check(in_range(l->seq_gap_advisory_missing, 1000000) &&
              l->seq_gap_advisory_missing == floor(l->seq_gap_advisory_missing),
          "seq_gap_advisory_missing a whole number in 0..1000000");
    check(positive(l->data_quality_clear_s, 86400), "data_quality_clear_s in (0, 86400]");
}

static void check_druglib(const struct dg_druglib *lib)
{
    check(id_ok(lib->id, sizeof lib->id, 0), "library.id");
    check(id_ok(lib->version, sizeof lib->version, 0), "library.version");
    check(lib->n_drugs >= 1 && lib->n_drugs <= DG_DRUGS_MAX, "1 <= n_drugs <= DG_DRUGS_MAX");
    for (size_t i = 0; i < lib->n_drugs; i++) {
        const struct dg_drug *d = &lib->drugs[i];
        check(id_ok(d->id, sizeof d->id, 0), "drug.id");
        check(id_ok(d->care_area, sizeof d->care_area, 1), "drug.care_area");
        check(text_ok(d->name, sizeof d->name), "drug.name");
        check_drug_limits(d);
        for (size_t j = 0; j < i; j++)
            check(strcmp(lib->drugs[j].id, d->id) != 0 ||
                      strcmp(lib->drugs[j].care_area, d->care_area) != 0,
                  "one entry per (drug, care area)");
        const struct dg_drug *f = dg_druglib_find(lib, d->id, d->care_area);
        check(f && strcmp(f->id, d->id) == 0 &&
                  (f->care_area[0] == '\0' || strcmp(f->care_area, d->care_area) == 0),
              "every entry can be found");
    }
    check_vitals(&lib->vitals);
    check_liveness(&lib->liveness);
}

static void check_link(const struct dg_link_settings *l)
{
    check(text_ok(l->url, sizeof l->url) && strncmp(l->url, "ssl://", 6) == 0, "link.url ssl://");
    check(id_ok(l->client_id, sizeof l->client_id, 0), "link.client_id");
    check(text_ok(l->ca_file, sizeof l->ca_file) && text_ok(l->cert_file, sizeof l->cert_file) &&
              text_ok(l->key_file, sizeof l->key_file),
          "link files named");
    check(l->keepalive_s >= 2 && l->keepalive_s <= 600, "link.keepalive_s in 2..600");
}

/* id is prefix followed by at least one character. */
static int has_prefix(const char *id, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(id, prefix, n) == 0 && id[n] != '\0';
}

static void check_devices(const struct dg_devices_settings *d)
{
    const char *p = d->pump_id_prefix, *m = d->monitor_id_prefix;
    check(id_ok(p, sizeof d->pump_id_prefix, 0) && id_ok(m, sizeof d->monitor_id_prefix, 0),
          "device id prefixes well-formed");
    check(d->have_inventory || (strncmp(p, m, strlen(p)) != 0 && strncmp(m, p, strlen(m)) != 0),
          "prefixes overlap only with an inventory");
    check(d->have_inventory || (d->n_inventory == 0 && !d->inventory), "no inventory, no entries");
    check(d->n_inventory <= DG_INVENTORY_MAX, "inventory within DG_INVENTORY_MAX");
    check((d->n_inventory == 0) == (d->inventory == NULL), "an array exactly when entries");
    char why[160];
    for (size_t i = 0; i < d->n_inventory; i++) {
        const struct dg_inventory_entry *e = &d->inventory[i];
        check(id_ok(e->id, sizeof e->id, 0), "inventory id well-formed");
        check(id_ok(e->bed_id, sizeof e->bed_id, 1), "inventory bed well-formed");
        check(e->kind == DG_DEVICE_PUMP || e->kind == DG_DEVICE_MONITOR, "inventory kind");
        check(i == 0 || strcmp(d->inventory[i - 1].id, e->id) < 0,
              "inventory strictly sorted by id");
        check(has_prefix(e->id, e->kind == DG_DEVICE_PUMP ? p : m),
              "inventory id is its kind's prefix and a name");
        check(dg_identity_check(d, e->kind, e->id, why, sizeof why) == DG_IDENTITY_OK,
              "every listed device is accepted as its kind");
        enum dg_device_kind other = e->kind == DG_DEVICE_PUMP ? DG_DEVICE_MONITOR : DG_DEVICE_PUMP;
        check(dg_identity_check(d, other, e->id, why, sizeof why) != DG_IDENTITY_OK,
              "no listed device is accepted as the other kind");
        check(dg_identity_check_bed(d, e->id, e->bed_id[0] ? e->bed_id : "any-bed", why,
                                    sizeof why) == DG_IDENTITY_OK,
              "a listed device may report its bed");
        check(!e->bed_id[0] ||
                  dg_identity_check_bed(d, e->id, "", why, sizeof why) == DG_IDENTITY_BED,
              "a tied device may report no other bed");
    }
}

static void check_config(const struct dg_config *c)
{
    check(strcmp(c->path, CFG_NAME) == 0, "cfg.path is the name given");
    check(id_ok(c->gateway_id, sizeof c->gateway_id, 0), "gateway.id");
    check(id_ok(c->site, sizeof c->site, 0), "gateway.site");
    const char *r = c->topic_root;
    size_t n = strnlen(r, sizeof c->topic_root);
    check(n > 0 && n < sizeof c->topic_root, "topic_root set");
    check(!strpbrk(r, "+#") && r[0] != '/' && r[n - 1] != '/' && !strstr(r, "//"),
          "topic_root has no wildcard or empty level");
    check(c->log_level >= DG_LOG_DEBUG && c->log_level <= DG_LOG_ERROR, "log_level in range");
    check(c->status_interval_s >= 1 && c->status_interval_s <= 3600, "status_interval_s range");
    check(isfinite(c->device_time_scale) && c->device_time_scale >= 1 &&
              c->device_time_scale <= 1000,
          "device_time_scale in 1..1000");
    check_link(&c->device_link);
    check_link(&c->clinic_link);
    check(strcmp(c->device_link.client_id, c->clinic_link.client_id) != 0,
          "links use different client ids");
    check(text_ok(c->drug_library_path, sizeof c->drug_library_path), "drug_library named");
    check_devices(&c->devices);
}

/* Upper bound of the line numbers libyaml can report: it also breaks lines
   at CR, NEL (C2 85), LS and PS (E2 80 A8/A9), and at the end of the stream
   it moves to a new line when the last one has no line break, so an error
   there names the line after the last. */
static size_t max_line(const uint8_t *t, size_t n)
{
    size_t lines = 2;
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '\n' || t[i] == '\r')
            lines++;
        else if (t[i] == 0xc2 && i + 1 < n && t[i + 1] == 0x85)
            lines++;
        else if (t[i] == 0xe2 && i + 2 < n && t[i + 1] == 0x80 &&
                 (t[i + 2] == 0xa8 || t[i + 2] == 0xa9))
            lines++;
    }
    return lines;
}

/* "NAME:LINE: ..." or "NAME: ...", possibly truncated to errlen - 1 bytes. */
static void check_error(const char *err, size_t errlen, const char *name, const uint8_t *text,
                        size_t textlen)
{
    size_t n = strnlen(err, errlen);
    check(n < errlen, "error terminated within errlen");
    check(n > 0, "error not empty");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)err[i];
        check(c >= 0x20 && c != 0x7f, "error is one printable line");
    }
    size_t nl = strlen(name);
    if (n < nl + 2) {
        check(strncmp(err, name, n) == 0, "truncated error starts with the file name");
        return;
    }
    check(strncmp(err, name, nl) == 0 && err[nl] == ':', "error starts with \"FILE:\"");
    const char *p = err + nl + 1;
    if (*p == ' ') return;
    char *end;
    unsigned long line = strtoul(p, &end, 10);
    check(end != p && (*end == ':' || *end == '\0'), "\"FILE:\" then a line number or a space");
    if (*end == '\0') return; /* truncated inside the number */
    check(line >= 1 && line <= max_line(text, textlen), "line number within the text");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned sel = data[0];
    data++;
    size--;
    int is_config = sel & 1u;
    int inject = (sel >> 1) & 1u;
    size_t errlen = (sel >> 2) & 1u ? 24 : 512;

    /* An exact-size heap copy, so ASan catches any read past the text. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    const uint8_t *cfg_text = is_config ? buf : (const uint8_t *)fixed_config;
    size_t cfg_len = is_config ? size : sizeof fixed_config - 1;
    const uint8_t *lib_text = is_config ? (const uint8_t *)fixed_druglib : buf;
    size_t lib_len = is_config ? sizeof fixed_druglib - 1 : size;

    /* Canaries around and after the error buffer, a pattern in cfg. */
    static char errbuf[512 + 16];
    memset(errbuf, 0x5a, sizeof errbuf);
    static struct dg_config cfg, before;
    memset(&cfg, 0xa5, sizeof cfg);
    memcpy(&before, &cfg, sizeof cfg);

    int64_t live = dg_alloc_live();
    if (inject) dg_alloc_fail_after(1);
    int rc = dg_config_parse(&cfg, CFG_NAME, cfg_text, cfg_len, LIB_NAME, lib_text, lib_len, errbuf,
                             errlen);
    dg_alloc_fail_after(0);
    if (rc != 0) check(dg_alloc_live() == live, "no allocation outlives a failed parse");
    for (size_t i = errlen; i < sizeof errbuf; i++)
        check(errbuf[i] == 0x5a, "nothing written past errlen");

    if (rc == 0) {
        check(!inject, "the injected failure is reported");
        check(errbuf[0] == '\0', "success leaves err empty");
        check_config(&cfg);
        check_druglib(&cfg.druglib);
        char hex[65];
        sha256_of(cfg_text, cfg_len, hex);
        check(strcmp(cfg.sha256_hex, hex) == 0, "config sha256 of the bytes parsed");
        sha256_of(lib_text, lib_len, hex);
        check(strcmp(cfg.druglib.sha256_hex, hex) == 0, "library sha256 of the bytes parsed");
        dg_config_free(&cfg);
        check(dg_alloc_live() == live, "a loaded config owns nothing once freed");
    } else {
        check(memcmp(&cfg, &before, sizeof cfg) == 0, "a failed parse leaves *cfg untouched");
        if (rc == -DG_ENOMEM) {
            check(inject, "-DG_ENOMEM only under injected failure");
            check_error(errbuf, errlen, CFG_NAME, cfg_text, 0);
        } else {
            check(rc == -DG_ECONFIG, "parse returns 0, -DG_ECONFIG or -DG_ENOMEM");
            check(!inject, "the injected failure is reported first");
            check_error(errbuf, errlen, is_config ? CFG_NAME : LIB_NAME, data, size);
        }
    }
    free(buf);
    return 0;
}
