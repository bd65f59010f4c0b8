/*
 * test_config.c — dg_config_load(): the shipped files load, every fixture in
 * tests/data/config/ that must fail fails with the exact one-line shape
 * "FILE:LINE: KEY.PATH: problem", and clinic_link defaults as documented.
 *
 * The group setup makes a private directory under /tmp with a throwaway PKI
 * (certs/ca.pem, gateway.pem, gateway.key, the Ed25519 audit.key, plus the
 * wrong and encrypted keys the negative cases need), a copy of every fixture, and a copy of the two
 * shipped files laid out as in the source tree (gateway/etc/ next to
 * out/certs/), so nothing is written into the source tree and no key is
 * ever committed.
 */
/* realpath() and mkdtemp() beyond the build's _POSIX_C_SOURCE. */
#define _XOPEN_SOURCE 700

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/config.h"
#include "io/identity.h"

#define FIXTURES DG_TEST_DATA "/config"

static char tmp[256];    /* mkdtemp() result */
static char tmpabs[256]; /* its real path (what resolved paths start with) */

/* ---------------------------------------------------------------- helpers */

static void join(char *out, size_t outlen, const char *a, const char *b)
{
    int n = snprintf(out, outlen, "%s/%s", a, b);
    assert_true(n > 0 && (size_t)n < outlen);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    assert_non_null(in);
    FILE *out = fopen(to, "wb");
    assert_non_null(out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
                char sub[PATH_MAX];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void sha256_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static unsigned char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    unsigned char md[32];
    unsigned int mdlen = 0;
    assert_int_equal(EVP_Digest(buf, n, md, &mdlen, EVP_sha256(), NULL), 1);
    for (unsigned int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static X509 *self_signed(EVP_PKEY *key, const char *cn)
{
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    return x;
}

static void write_cert(const char *dir, const char *file, X509 *x)
{
    char p[PATH_MAX];
    join(p, sizeof p, dir, file);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, x), 1);
    fclose(f);
}

static void write_key(const char *dir, const char *file, EVP_PKEY *k, const char *passphrase)
{
    char p[PATH_MAX];
    join(p, sizeof p, dir, file);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    if (passphrase)
        assert_int_equal(PEM_write_PrivateKey(f, k, EVP_aes_128_cbc(),
                                              (const unsigned char *)passphrase,
                                              (int)strlen(passphrase), NULL, NULL),
                         1);
    else
        assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
}

/* A CA-less development PKI: one self-signed certificate serves as both the
   trust store and the client certificate; only the files' shape matters. */
static void make_pki(const char *dir)
{
    assert_int_equal(mkdir(dir, 0700), 0);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    EVP_PKEY *other = EVP_EC_gen("P-256");
    assert_non_null(key);
    assert_non_null(other);
    X509 *cert = self_signed(key, "gateway");
    write_cert(dir, "ca.pem", cert);
    write_cert(dir, "gateway.pem", cert);
    write_key(dir, "gateway.key", key, NULL);
    write_key(dir, "other.key", other, NULL);
    write_key(dir, "encrypted.key", key, "secret");
    /* The audit signing key: every config that loads names one (or opts out). */
    EVP_PKEY *audit = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(audit);
    write_key(dir, "audit.key", audit, NULL);
    EVP_PKEY_free(audit);
    char p[PATH_MAX];
    join(p, sizeof p, dir, "garbage.pem");
    write_file(p, "not a certificate\n", 18);
    X509_free(cert);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
}

static int setup(void **state)
{
    (void)state;
    char p[PATH_MAX], q[PATH_MAX];
    snprintf(tmp, sizeof tmp, "/tmp/dg-test-config-XXXXXX");
    if (!mkdtemp(tmp)) return -1;
    char *abs = realpath(tmp, NULL);
    if (!abs) return -1;
    snprintf(tmpabs, sizeof tmpabs, "%s", abs);
    free(abs);

    /* Every fixture, flat, with the PKI in certs/ next to them. */
    join(p, sizeof p, tmp, "certs");
    make_pki(p);
    DIR *d = opendir(FIXTURES);
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        join(p, sizeof p, FIXTURES, e->d_name);
        join(q, sizeof q, tmp, e->d_name);
        copy_file(p, q);
    }
    closedir(d);

    /* The shipped files, where they sit relative to out/certs. */
    const char *dirs[] = {"shipped", "shipped/gateway", "shipped/gateway/etc", "shipped/out"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        join(p, sizeof p, tmp, dirs[i]);
        assert_int_equal(mkdir(p, 0700), 0);
    }
    join(p, sizeof p, tmp, "shipped/out/certs");
    make_pki(p);
    join(q, sizeof q, tmp, "shipped/gateway/etc/dosegate.yaml");
    copy_file(DG_SOURCE_DIR "/gateway/etc/dosegate.yaml", q);
    join(q, sizeof q, tmp, "shipped/gateway/etc/drug-library.yaml");
    copy_file(DG_SOURCE_DIR "/gateway/etc/drug-library.yaml", q);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (tmp[0]) rm_rf(tmp);
    return 0;
}

/* Load tmp/file; returns rc, err filled. */
static int load(struct dg_config *cfg, const char *file, char *err, size_t errlen)
{
    char p[PATH_MAX];
    join(p, sizeof p, tmp, file);
    return dg_config_load(cfg, p, err, errlen);
}

static void assert_abs_in(const char *path, const char *dir, const char *file)
{
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%s/%s", dir, file);
    assert_string_equal(path, want);
}

/* Field-by-field equality of the library's numbers and actions (no memcmp:
   struct copies need not preserve padding). */
#define EQ_D(f) assert_true(a->f == b->f)
#define EQ_I(f) assert_int_equal(a->f, b->f)

static void assert_drug_limits_equal(const struct dg_drug *a, const struct dg_drug *b)
{
    EQ_D(rate_mg_per_kg_h.soft);
    EQ_D(rate_mg_per_kg_h.hard);
    EQ_I(rate_hard_action);
    EQ_D(session_dose_mg_per_kg.soft);
    EQ_D(session_dose_mg_per_kg.hard);
    EQ_I(session_dose_hard_action);
    EQ_D(rolling_24h_dose_mg_per_kg_hard);
    EQ_I(rolling_24h_hard_action);
    EQ_I(bolus_allowed);
    EQ_I(bolus_action);
    EQ_D(concentration_soft_min_mg_per_ml);
    EQ_D(concentration_soft_max_mg_per_ml);
    EQ_D(concentration_hard_max_mg_per_ml);
    EQ_I(concentration_hard_action);
    EQ_D(weight_hard_min_kg);
    EQ_D(weight_hard_max_kg);
    EQ_D(programmed_dose_mg_per_kg.soft);
    EQ_D(programmed_dose_mg_per_kg.hard);
    EQ_I(sessions_max_per_7d);
    EQ_D(sessions_min_hours_between);
}

static void assert_vitals_equal(const struct dg_vitals_rules *a, const struct dg_vitals_rules *b)
{
    EQ_D(baseline_max_age_min);
    EQ_D(baseline_warn_sys_mmhg);
    EQ_D(baseline_warn_dia_mmhg);
    EQ_D(baseline_crit_sys_mmhg);
    EQ_D(baseline_crit_dia_mmhg);
    EQ_I(baseline_crit_action);
    EQ_D(baseline_grace_min);
    EQ_D(bp_rise_sys_mmhg);
    EQ_D(bp_rise_dia_mmhg);
    EQ_D(bp_high_sys_mmhg);
    EQ_D(bp_high_dia_mmhg);
    EQ_D(bp_high_window_min);
    EQ_D(bp_severe_sys_mmhg);
    EQ_D(bp_severe_dia_mmhg);
    EQ_I(bp_high_action);
    EQ_I(bp_severe_action);
    EQ_D(hr_warn_low_bpm);
    EQ_D(hr_warn_high_bpm);
    EQ_D(hr_warn_delay_s);
    EQ_D(hr_crit_low_bpm);
    EQ_D(hr_crit_high_bpm);
    EQ_I(hr_crit_action);
    EQ_D(spo2_warn_pct);
    EQ_D(spo2_warn_delay_s);
    EQ_D(spo2_crit_pct);
    EQ_I(spo2_crit_action);
    EQ_D(rr_warn_low_bpm);
    EQ_D(rr_warn_high_bpm);
    EQ_D(rr_warn_delay_s);
    EQ_D(rr_crit_low_bpm);
    EQ_I(rr_crit_action);
    EQ_I(two_warnings_action);
    EQ_D(observation_min);
}

static void assert_liveness_equal(const struct dg_liveness *a, const struct dg_liveness *b)
{
    EQ_D(vitals_silent_warn_s);
    EQ_D(vitals_silent_crit_s);
    EQ_D(nibp_stale_min);
    EQ_D(pump_silent_warn_s);
    EQ_D(pump_silent_crit_s);
    EQ_D(command_timeout_s);
    EQ_D(dose_mismatch_rel_pct);
    EQ_D(dose_mismatch_abs_mg_per_kg);
    EQ_D(clock_skew_s);
    EQ_D(permit_valid_s);
    EQ_D(permit_period_s);
    EQ_D(clock_jump_tolerance_s);
    EQ_D(seq_gap_advisory_missing);
    EQ_D(data_quality_clear_s);
}
#undef EQ_D
#undef EQ_I

/* The contract's vitals and liveness (druglib.c). */
static const struct dg_druglib *contract_defaults(void)
{
    static struct dg_druglib lib;
    memset(&lib, 0, sizeof lib);
    dg_druglib_defaults(&lib);
    return &lib;
}

/* A drug entry's defaults: actions only (ketamine: the contract's limits too). */
static const struct dg_drug *drug_defaults(int ketamine)
{
    static struct dg_drug d;
    memset(&d, 0, sizeof d);
    dg_drug_defaults(&d, ketamine);
    return &d;
}

/* ------------------------------------------------------------ good files */

static void test_shipped_files(void **state)
{
    (void)state;
    static struct dg_config cfg;
    char err[512];
    int64_t live = dg_alloc_live();

    int rc = load(&cfg, "shipped/gateway/etc/dosegate.yaml", err, sizeof err);
    if (rc != 0) fail_msg("shipped config refused: %s", err);
    assert_int_equal(dg_alloc_live(), live);
    assert_string_equal(err, "");

    char etc[PATH_MAX];
    join(etc, sizeof etc, tmpabs, "shipped/gateway/etc");
    assert_string_equal(cfg.gateway_id, "gw-1");
    assert_string_equal(cfg.site, "demo-clinic");
    assert_string_equal(cfg.topic_root, "dosegate/v1/demo-clinic");
    assert_int_equal(cfg.log_level, DG_LOG_INFO);
    assert_int_equal(cfg.status_interval_s, 30);
    assert_true(cfg.permit_to_infuse);

    const struct dg_link_settings *dev = &cfg.device_link;
    assert_string_equal(dev->url, "ssl://127.0.0.1:8883");
    assert_string_equal(dev->client_id, "gw-1-device");
    assert_abs_in(dev->ca_file, etc, "../../out/certs/ca.pem");
    assert_abs_in(dev->cert_file, etc, "../../out/certs/gateway.pem");
    assert_abs_in(dev->key_file, etc, "../../out/certs/gateway.key");
    assert_int_equal(dev->keepalive_s, 10);

    /* clinic_link left out: a copy of device_link with its own client id. */
    const struct dg_link_settings *cli = &cfg.clinic_link;
    assert_string_equal(cli->url, dev->url);
    assert_string_equal(cli->client_id, "gw-1-clinic");
    assert_string_equal(cli->ca_file, dev->ca_file);
    assert_string_equal(cli->cert_file, dev->cert_file);
    assert_string_equal(cli->key_file, dev->key_file);
    assert_int_equal(cli->keepalive_s, dev->keepalive_s);

    assert_abs_in(cfg.drug_library_path, etc, "drug-library.yaml");
    /* Signed by default: the example config names the key make-certs makes. */
    assert_abs_in(cfg.audit.key_file, etc, "../../out/certs/audit.key");
    assert_false(cfg.audit.allow_unsigned);
    assert_int_equal(cfg.audit.checkpoint_every, 100);
    assert_int_equal(cfg.audit.checkpoint_interval_s, 60);
    const struct dg_druglib *lib = &cfg.druglib;
    assert_string_equal(lib->id, "clinic-default");
    assert_string_equal(lib->version, "2026.11.1");
    assert_int_equal(lib->n_drugs, 1);
    const struct dg_drug *k = &lib->drugs[0];
    assert_string_equal(k->id, "ketamine-trd");
    assert_string_equal(k->name, "Ketamine (treatment-resistant depression)");
    assert_string_equal(k->care_area, "");
    /* contract.md: derived from 0.75 and 1.0 mg/kg over 40 min. */
    assert_true(k->rate_mg_per_kg_h.soft == 0.75 * 60.0 / 40.0);
    assert_true(k->rate_mg_per_kg_h.hard == 1.0 * 60.0 / 40.0);
    assert_int_equal(k->rate_hard_action, DG_ACTION_PAUSE);
    assert_ptr_equal(dg_druglib_find(lib, "ketamine-trd", "infusion-clinic"), k);
    /* Every other value is the contract's too (druglib.c holds the same table). */
    assert_drug_limits_equal(k, drug_defaults(1));
    assert_true(k->session_dose_mg_per_kg.hard == 1.0);
    assert_true(k->concentration_hard_max_mg_per_ml == 10.0);
    assert_int_equal(k->sessions_max_per_7d, 3);
    assert_vitals_equal(&lib->vitals, &contract_defaults()->vitals);
    assert_liveness_equal(&lib->liveness, &contract_defaults()->liveness);
    assert_true(lib->vitals.observation_min == 120);
    assert_true(lib->liveness.dose_mismatch_abs_mg_per_kg == 0.05);
    assert_true(lib->vitals.baseline_grace_min == 2);
    assert_true(lib->liveness.clock_jump_tolerance_s == 5);
    assert_true(lib->liveness.seq_gap_advisory_missing == 5);
    assert_true(lib->liveness.data_quality_clear_s == 60);
    assert_true(cfg.device_time_scale == 1);

    char hex[65];
    sha256_file(DG_SOURCE_DIR "/gateway/etc/dosegate.yaml", hex);
    assert_string_equal(cfg.sha256_hex, hex);
    sha256_file(DG_SOURCE_DIR "/gateway/etc/drug-library.yaml", hex);
    assert_string_equal(lib->sha256_hex, hex);

    char p[PATH_MAX];
    join(p, sizeof p, tmp, "shipped/gateway/etc/dosegate.yaml");
    assert_string_equal(cfg.path, p);

    /* The simulator's and certs/make-certs' names; no inventory. */
    assert_string_equal(cfg.devices.pump_id_prefix, "pump-");
    assert_string_equal(cfg.devices.monitor_id_prefix, "monitor-");
    assert_string_equal(cfg.devices.dashboard_id_prefix, "dashboard-");
    assert_false(cfg.devices.have_inventory);
    dg_config_free(&cfg);
}

static void test_every_key(void **state)
{
    (void)state;
    static struct dg_config cfg;
    char err[512];
    int rc = load(&cfg, "good.yaml", err, sizeof err);
    if (rc != 0) fail_msg("good.yaml refused: %s", err);

    assert_string_equal(cfg.gateway_id, "gw-7");
    assert_string_equal(cfg.site, "north.wing");
    assert_string_equal(cfg.topic_root, "acme/infusion/north");
    assert_int_equal(cfg.log_level, DG_LOG_DEBUG);
    assert_int_equal(cfg.status_interval_s, 3600);
    assert_true(cfg.permit_to_infuse);
    assert_true(cfg.device_time_scale == 60);
    assert_string_equal(cfg.device_link.url, "ssl://localhost:18883");
    assert_string_equal(cfg.device_link.client_id, "gw7-dev");
    assert_int_equal(cfg.device_link.keepalive_s, 2);
    assert_abs_in(cfg.device_link.ca_file, tmpabs, "certs/ca.pem");
    assert_string_equal(cfg.clinic_link.url, "ssl://[::1]:8884");
    assert_string_equal(cfg.clinic_link.client_id, "gw7-clin");
    assert_int_equal(cfg.clinic_link.keepalive_s, 600);
    assert_abs_in(cfg.clinic_link.key_file, tmpabs, "certs/gateway.key");
    assert_abs_in(cfg.audit.key_file, tmpabs, "certs/audit.key");
    assert_false(cfg.audit.allow_unsigned);
    assert_int_equal(cfg.audit.checkpoint_every, 7);
    assert_int_equal(cfg.audit.checkpoint_interval_s, 30);
    assert_string_equal(cfg.devices.dashboard_id_prefix, "desk-");

    const struct dg_druglib *lib = &cfg.druglib;
    assert_string_equal(lib->id, "north-wing");
    assert_string_equal(lib->version, "2026.11.1-rc1");
    assert_int_equal(lib->n_drugs, 4);
    assert_string_equal(lib->drugs[0].care_area, "");
    assert_true(lib->drugs[0].rate_mg_per_kg_h.hard == 1.5);
    assert_int_equal(lib->drugs[0].rate_hard_action, DG_ACTION_PAUSE);
    assert_string_equal(lib->drugs[1].care_area, "infusion-clinic");
    assert_true(lib->drugs[1].rate_mg_per_kg_h.soft == 1.0);
    assert_true(lib->drugs[1].rate_mg_per_kg_h.hard == 1.25);
    assert_int_equal(lib->drugs[1].rate_hard_action, DG_ACTION_STOP);
    assert_string_equal(lib->drugs[2].name, "Saline: no limits");
    assert_true(lib->drugs[2].rate_mg_per_kg_h.soft == 0 &&
                lib->drugs[2].rate_mg_per_kg_h.hard == 0);
    assert_int_equal(lib->drugs[3].rate_hard_action, DG_ACTION_NONE);

    /* drugs[1]: every drug key. */
    const struct dg_drug *d = &lib->drugs[1];
    assert_true(d->session_dose_mg_per_kg.soft == 0.5);
    assert_true(d->session_dose_mg_per_kg.hard == 0.8);
    assert_int_equal(d->session_dose_hard_action, DG_ACTION_PAUSE);
    assert_true(d->rolling_24h_dose_mg_per_kg_hard == 0.9);
    assert_int_equal(d->rolling_24h_hard_action, DG_ACTION_NONE);
    assert_int_equal(d->bolus_allowed, 0);
    assert_int_equal(d->bolus_action, DG_ACTION_STOP);
    assert_true(d->concentration_soft_min_mg_per_ml == 0.8);
    assert_true(d->concentration_soft_max_mg_per_ml == 1.2);
    assert_true(d->concentration_hard_max_mg_per_ml == 1.2); /* soft_max <= hard_max */
    assert_int_equal(d->concentration_hard_action, DG_ACTION_PAUSE);
    assert_true(d->weight_hard_min_kg == 40);
    assert_true(d->weight_hard_max_kg == 180);
    assert_true(d->programmed_dose_mg_per_kg.soft == 0.6);
    assert_true(d->programmed_dose_mg_per_kg.hard == 0.7);
    assert_int_equal(d->sessions_max_per_7d, 2);
    assert_true(d->sessions_min_hours_between == 72);
    /* drugs[2]: boluses allowed; its action keeps the default. */
    assert_int_equal(lib->drugs[2].bolus_allowed, 1);
    assert_int_equal(lib->drugs[2].bolus_action, DG_ACTION_PAUSE);
    /* drugs[0]: only a rate: every other limit off, every action its default. */
    struct dg_drug want = *drug_defaults(0);
    want.rate_mg_per_kg_h = lib->drugs[0].rate_mg_per_kg_h;
    assert_drug_limits_equal(&lib->drugs[0], &want);

    const struct dg_vitals_rules *v = &lib->vitals;
    assert_true(v->baseline_max_age_min == 10);
    assert_true(v->baseline_warn_sys_mmhg == 135);
    assert_true(v->baseline_warn_dia_mmhg == 85);
    assert_true(v->baseline_crit_sys_mmhg == 170);
    assert_true(v->baseline_crit_dia_mmhg == 105);
    assert_int_equal(v->baseline_crit_action, DG_ACTION_PAUSE);
    assert_true(v->baseline_grace_min == 0);
    assert_true(v->bp_rise_sys_mmhg == 30);
    assert_true(v->bp_rise_dia_mmhg == 20);
    assert_true(v->bp_high_sys_mmhg == 170);
    assert_true(v->bp_high_dia_mmhg == 105);
    assert_true(v->bp_high_window_min == 10);
    assert_int_equal(v->bp_high_action, DG_ACTION_STOP);
    assert_true(v->bp_severe_sys_mmhg == 190);
    assert_true(v->bp_severe_dia_mmhg == 115);
    assert_int_equal(v->bp_severe_action, DG_ACTION_PAUSE);
    assert_true(v->hr_warn_low_bpm == 55);
    assert_true(v->hr_warn_high_bpm == 110);
    assert_true(v->hr_warn_delay_s == 0);
    assert_true(v->hr_crit_low_bpm == 45);
    assert_true(v->hr_crit_high_bpm == 140);
    assert_int_equal(v->hr_crit_action, DG_ACTION_STOP);
    assert_true(v->spo2_warn_pct == 92);
    assert_true(v->spo2_warn_delay_s == 10);
    assert_true(v->spo2_crit_pct == 88);
    assert_int_equal(v->spo2_crit_action, DG_ACTION_STOP);
    assert_true(v->rr_warn_low_bpm == 12);
    assert_true(v->rr_warn_high_bpm == 25);
    assert_true(v->rr_warn_delay_s == 20);
    assert_true(v->rr_crit_low_bpm == 8);
    assert_int_equal(v->rr_crit_action, DG_ACTION_NONE);
    assert_int_equal(v->two_warnings_action, DG_ACTION_NONE);
    assert_true(v->observation_min == 0);

    const struct dg_liveness *l = &lib->liveness;
    assert_true(l->vitals_silent_warn_s == 5);
    assert_true(l->vitals_silent_crit_s == 30);
    assert_true(l->nibp_stale_min == 10);
    assert_true(l->pump_silent_warn_s == 3);
    assert_true(l->pump_silent_crit_s == 15);
    assert_true(l->command_timeout_s == 2.5);
    assert_true(l->dose_mismatch_rel_pct == 5);
    assert_true(l->dose_mismatch_abs_mg_per_kg == 0.02);
    assert_true(l->clock_skew_s == 10);
    assert_true(l->permit_valid_s == 3);
    assert_true(l->permit_period_s == 0.5);
    assert_true(l->clock_jump_tolerance_s == 3600);
    assert_true(l->seq_gap_advisory_missing == 0);
    assert_true(l->data_quality_clear_s == 86400);
    /* The per-area entry wins over the any-area one. */
    assert_ptr_equal(dg_druglib_find(lib, "ketamine-trd", "infusion-clinic"), &lib->drugs[1]);
    assert_ptr_equal(dg_druglib_find(lib, "ketamine-trd", "icu"), &lib->drugs[0]);
    dg_config_free(&cfg);
}

static void test_clinic_link_defaults(void **state)
{
    (void)state;
    static struct dg_config cfg;
    char err[512];

    /* Left out: device_link's settings, client id "<gateway.id>-clinic". */
    int rc = load(&cfg, "minimal.yaml", err, sizeof err);
    if (rc != 0) fail_msg("minimal.yaml refused: %s", err);
    assert_string_equal(cfg.device_link.client_id, "gw-1-device");
    assert_string_equal(cfg.clinic_link.client_id, "gw-1-clinic");
    assert_string_equal(cfg.clinic_link.url, "ssl://127.0.0.1:8883");
    assert_string_equal(cfg.clinic_link.cert_file, cfg.device_link.cert_file);
    assert_int_equal(cfg.clinic_link.keepalive_s, 10);
    assert_string_equal(cfg.topic_root, "dosegate/v1/test-site");
    assert_int_equal(cfg.log_level, DG_LOG_INFO);
    assert_int_equal(cfg.status_interval_s, 30);
    assert_false(cfg.permit_to_infuse);
    assert_true(cfg.device_time_scale == 1);
    /* No vitals or liveness sections: the contract's values. */
    assert_true(cfg.druglib.vitals.baseline_grace_min == 2);
    assert_true(cfg.druglib.liveness.clock_jump_tolerance_s == 5);
    assert_true(cfg.druglib.liveness.seq_gap_advisory_missing == 5);
    assert_true(cfg.druglib.liveness.data_quality_clear_s == 60);
    assert_vitals_equal(&cfg.druglib.vitals, &contract_defaults()->vitals);
    assert_liveness_equal(&cfg.druglib.liveness, &contract_defaults()->liveness);
    dg_config_free(&cfg);

    /* Present with only a url: the url is its own, the rest inherited. */
    rc = load(&cfg, "clinic-partial.yaml", err, sizeof err);
    if (rc != 0) fail_msg("clinic-partial.yaml refused: %s", err);
    assert_string_equal(cfg.clinic_link.url, "ssl://clinic.example:8883");
    assert_string_equal(cfg.clinic_link.client_id, "gw-1-clinic");
    assert_string_equal(cfg.clinic_link.ca_file, cfg.device_link.ca_file);
    assert_string_equal(cfg.clinic_link.cert_file, cfg.device_link.cert_file);
    assert_string_equal(cfg.clinic_link.key_file, cfg.device_link.key_file);
    assert_int_equal(cfg.clinic_link.keepalive_s, 42);
    assert_int_equal(cfg.device_link.keepalive_s, 42);
    dg_config_free(&cfg);
}

/* A relative config path still yields absolute file paths. */
static void test_relative_config_path(void **state)
{
    (void)state;
    static struct dg_config cfg;
    char err[512], cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(tmp), 0);
    int rc = dg_config_load(&cfg, "minimal.yaml", err, sizeof err);
    assert_int_equal(chdir(cwd), 0);
    if (rc != 0) fail_msg("minimal.yaml refused: %s", err);
    assert_string_equal(cfg.path, "minimal.yaml");
    assert_abs_in(cfg.device_link.ca_file, tmpabs, "certs/ca.pem");
    assert_abs_in(cfg.drug_library_path, tmpabs, "drugs-ok.yaml");
    dg_config_free(&cfg);
}

/* --------------------------------------------------------------- bad files */

struct bad_case {
    const char *file;    /* fixture in tests/data/config/ */
    bool druglib;        /* the fixture is a drug library, named by a generated config */
    unsigned line;       /* expected LINE */
    const char *key;     /* expected KEY.PATH */
    const char *problem; /* a distinctive substring of the problem */
};

static const struct bad_case bad_cases[] = {
    /* site config */
    {"syntax.yaml", false, 7, "syntax error", "mapping values are not allowed"},
    {"unknown-key.yaml", false, 5, "gateway.log_lvl", "unknown key (expected one of: id, site,"},
    {"wrong-type.yaml", false, 10, "device_link.keepalive_s", "expected an integer, got \"ten\""},
    {"quoted-int.yaml", false, 5, "gateway.status_interval_s", "(quoted values are strings)"},
    {"out-of-range.yaml", false, 10, "device_link.keepalive_s",
     "must be between 2 and 600, got 9000"},
    {"missing-required.yaml", false, 3, "gateway.site", "required key is missing"},
    {"tcp-url.yaml", false, 6, "device_link.url",
     "TLS is mandatory: use ssl://HOST:PORT instead of tcp://"},
    {"no-port.yaml", false, 6, "device_link.url", "must be ssl://HOST:PORT"},
    {"missing-cert.yaml", false, 8, "device_link.cert_file",
     "/certs/missing.pem: No such file or directory"},
    {"bad-id.yaml", false, 3, "gateway.id", "may only contain A-Z a-z 0-9 _ . - (got \"gw 1\")"},
    {"missing-druglib.yaml", false, 10, "drug_library",
     "/no-such-library.yaml: No such file or directory"},
    {"duplicate-key.yaml", false, 5, "gateway.id", "duplicate key (first at line 3)"},
    {"null-value.yaml", false, 10, "device_link.keepalive_s", "has no value"},
    {"bad-enum.yaml", false, 5, "gateway.log_level",
     "must be one of debug, info, warn, error; got \"verbose\""},
    {"bad-bool.yaml", false, 5, "gateway.permit_to_infuse", "expected true or false, got \"yes\""},
    {"topic-wildcard.yaml", false, 5, "gateway.topic_root", "wildcards"},
    {"client-id-clash.yaml", false, 12, "clinic_link.client_id", "different client ids"},
    {"clinic-no-url.yaml", false, 11, "clinic_link.url", "required key is missing"},
    {"link-not-map.yaml", false, 5, "device_link", "expected a mapping, got \"ssl://"},
    {"two-docs.yaml", false, 12, "(document)", "only one YAML document"},
    {"empty.yaml", false, 1, "(document)", "the file is empty"},
    {"key-mismatch.yaml", false, 9, "device_link.key_file", "does not match certificate"},
    {"key-encrypted.yaml", false, 9, "device_link.key_file", "encrypted"},
    {"ca-not-pem.yaml", false, 7, "device_link.ca_file", "holds no PEM certificate"},
    {"cert-is-dir.yaml", false, 8, "device_link.cert_file", "is not a regular file"},
    {"time-scale-range.yaml", false, 5, "gateway.device_time_scale",
     "must be between 1 and 1000, got 0.5"},
    /* devices */
    {"devices-not-map.yaml", false, 12, "devices", "expected a mapping, got a list"},
    {"devices-unknown-key.yaml", false, 12, "devices.pump_prefix",
     "unknown key (expected one of: pump_id_prefix, monitor_id_prefix, dashboard_id_prefix, "
     "inventory)"},
    {"devices-prefix-empty.yaml", false, 12, "devices.pump_id_prefix", "must not be empty"},
    {"devices-prefix-charset.yaml", false, 12, "devices.monitor_id_prefix",
     "may only contain A-Z a-z 0-9 _ . - (got \"mon itor-\")"},
    {"devices-prefix-too-long.yaml", false, 12, "devices.pump_id_prefix",
     "must be at most 63 characters, got 64"},
    {"devices-prefix-overlap.yaml", false, 13, "devices.monitor_id_prefix",
     "\"dev-mon-\" and pump_id_prefix \"dev-\" overlap"},
    {"devices-prefix-overlap-default.yaml", false, 12, "devices.pump_id_prefix",
     "\"mon\" and monitor_id_prefix \"monitor-\" (the default) overlap"},
    {"devices-inventory-not-list.yaml", false, 13, "devices.inventory",
     "expected a list, got a mapping"},
    {"devices-inventory-null.yaml", false, 12, "devices.inventory", "has no value"},
    {"devices-entry-not-map.yaml", false, 14, "devices.inventory[1]",
     "expected a mapping, got \"pump-2\""},
    {"devices-entry-unknown-key.yaml", false, 15, "devices.inventory[0].bed_id",
     "unknown key (expected one of: id, kind, bed)"},
    {"devices-id-missing.yaml", false, 13, "devices.inventory[0].id", "required key is missing"},
    {"devices-id-charset.yaml", false, 14, "devices.inventory[1].id",
     "may only contain A-Z a-z 0-9 _ . - (got \"pump 2\")"},
    {"devices-id-too-long.yaml", false, 13, "devices.inventory[0].id",
     "must be at most 63 characters, got 64"},
    {"devices-kind-missing.yaml", false, 13, "devices.inventory[0].kind",
     "required key is missing"},
    {"devices-kind-bad.yaml", false, 14, "devices.inventory[0].kind",
     "must be one of pump, monitor; got \"dashboard\""},
    {"devices-kind-prefix.yaml", false, 15, "devices.inventory[1].id",
     "a pump's id must be pump_id_prefix \"pump-\" followed by a name (got \"monitor-1\")"},
    {"devices-id-is-prefix.yaml", false, 13, "devices.inventory[0].id",
     "a monitor's id must be monitor_id_prefix \"monitor-\" followed by a name (got "
     "\"monitor-\")"},
    {"devices-dup.yaml", false, 19, "devices.inventory[3].id",
     "duplicate device id \"pump-2\" (first at line 13)"},
    {"devices-bed-charset.yaml", false, 15, "devices.inventory[0].bed",
     "may only contain A-Z a-z 0-9 _ . - (got \"bed/1\")"},
    {"devices-bed-empty.yaml", false, 15, "devices.inventory[0].bed", "must not be empty"},
    {"devices-dashboard-overlap.yaml", false, 12, "devices.dashboard_id_prefix",
     "\"pump-desk-\" and pump_id_prefix \"pump-\" (the default) overlap (one starts with the "
     "other), so an id alone cannot tell a dashboard from a pump"},
    {"devices-dashboard-overlap-default.yaml", false, 12, "devices.monitor_id_prefix",
     "\"dash\" and dashboard_id_prefix \"dashboard-\" (the default) overlap"},
    /* audit: signed unless the file opts out, in so many words. The check
       comes last: the line is the audit: mapping's, or the file's first key. */
    {"audit-missing.yaml", false, 2, "audit.key_file",
     "required key is missing; set audit.unsigned: true to run without signed checkpoints"},
    {"audit-no-key.yaml", false, 12, "audit.key_file",
     "required key is missing; set audit.unsigned: true"},
    {"audit-unsigned-false.yaml", false, 12, "audit.key_file", "required key is missing"},
    {"audit-unsigned-and-key.yaml", false, 13, "audit.unsigned",
     "true contradicts audit.key_file ("},
    /* drug library */
    {"drugs-dup.yaml", true, 11, "drugs[1].id",
     "duplicate entry for drug \"ketamine-trd\" with no care area (any) (first at line 6)"},
    {"drugs-dup-area.yaml", true, 11, "drugs[2].id", "with care area \"icu\" (first at line 6)"},
    {"drugs-hard-le-soft.yaml", true, 10, "drugs[0].rate_mg_per_kg_h.hard",
     "must be greater than soft (1.125), got 1.125"},
    {"drugs-empty.yaml", true, 5, "drugs", "must list at least one drug"},
    {"drugs-negative.yaml", true, 9, "drugs[0].rate_mg_per_kg_h.soft",
     "must be between 0 and 100, got -1"},
    {"drugs-inf.yaml", true, 10, "drugs[0].rate_mg_per_kg_h.hard", "must be a finite number"},
    {"drugs-syntax.yaml", true, 11, "syntax error", "(while scanning a quoted scalar at line 4)"},
    {"drugs-unknown-key.yaml", true, 8, "drugs[0].dose_mg_per_kg", "unknown key"},
    {"drugs-action-no-hard.yaml", true, 10, "drugs[0].rate_mg_per_kg_h.hard_action",
     "has no effect without a hard limit"},
    {"drugs-no-library.yaml", true, 2, "library", "required key is missing"},
    {"drugs-bad-action.yaml", true, 11, "drugs[0].rate_mg_per_kg_h.hard_action",
     "must be one of none, pause, stop; got \"alarm\""},
    {"drugs-not-map.yaml", true, 11, "drugs[1]", "expected a mapping, got \"ketamine\""},
    {"drugs-too-many.yaml", true, 38, "drugs", "at most 32 drugs are supported, got 33"},
    {"drugs-dose-hard-le-soft.yaml", true, 10, "drugs[0].session_dose_mg_per_kg.hard",
     "must be greater than soft (0.75), got 0.5"},
    {"drugs-prog-hard-le-soft.yaml", true, 8, "drugs[0].programmed_dose_mg_per_kg.hard",
     "must be greater than soft (1), got 1"},
    {"drugs-conc-min-ge-max.yaml", true, 10, "drugs[0].concentration_mg_per_ml.soft_max",
     "must be greater than soft_min (2), got 1"},
    {"drugs-conc-soft-above-hard.yaml", true, 10, "drugs[0].concentration_mg_per_ml.hard_max",
     "must be at least soft_max (12), got 10"},
    {"drugs-conc-min-ge-hard.yaml", true, 9, "drugs[0].concentration_mg_per_ml.hard_max",
     "must be greater than soft_min (10), got 10"},
    {"drugs-conc-action-no-hard.yaml", true, 10, "drugs[0].concentration_mg_per_ml.hard_action",
     "has no effect without a hard limit (set hard_max > 0)"},
    {"drugs-24h-action-no-hard.yaml", true, 9, "drugs[0].rolling_24h_dose_mg_per_kg.hard_action",
     "has no effect without a hard limit (set hard > 0)"},
    {"drugs-weight-min-ge-max.yaml", true, 10, "drugs[0].weight_kg.hard_max",
     "must be greater than hard_min (250), got 30"},
    {"drugs-bolus-action-allowed.yaml", true, 10, "drugs[0].bolus.action",
     "has no effect when allowed is true"},
    {"drugs-bolus-not-bool.yaml", true, 9, "drugs[0].bolus.allowed",
     "expected true or false, got \"no\""},
    {"drugs-rate-absurd.yaml", true, 10, "drugs[0].rate_mg_per_kg_h.hard",
     "must be between 0 and 100, got 1500"},
    {"drugs-sessions-range.yaml", true, 9, "drugs[0].sessions.max_per_7d",
     "must be between 0 and 100, got 500"},
    {"drugs-sessions-float.yaml", true, 9, "drugs[0].sessions.max_per_7d",
     "expected an integer, got \"2.5\""},
    /* vitals: warning thresholds less severe than critical ones, > 0 */
    {"vitals-hr-crit-low.yaml", true, 10, "vitals.heart_rate.crit_low_bpm",
     "must be less than warn_low_bpm (50, the default), got 55"},
    {"vitals-hr-crit-high.yaml", true, 11, "vitals.heart_rate.crit_high_bpm",
     "must be greater than warn_high_bpm (130), got 125"},
    {"vitals-hr-warn-order.yaml", true, 9, "vitals.heart_rate.warn_high_bpm",
     "must be greater than warn_low_bpm (100), got 90"},
    {"vitals-spo2-order.yaml", true, 10, "vitals.spo2.warn_pct",
     "must be greater than crit_pct (90), got 85"},
    {"vitals-rr-order.yaml", true, 10, "vitals.resp_rate.crit_low_bpm",
     "must be less than warn_low_bpm (10, the default), got 12"},
    {"vitals-bp-order.yaml", true, 10, "vitals.blood_pressure.severe_sys_mmhg",
     "must be greater than high_sys_mmhg (180, the default), got 170"},
    {"vitals-baseline-order.yaml", true, 11, "vitals.baseline.crit_dia_mmhg",
     "must be greater than warn_dia_mmhg (120), got 110"},
    {"vitals-zero-threshold.yaml", true, 10, "vitals.spo2.crit_pct",
     "must be greater than 0 and at most 100, got 0"},
    {"vitals-negative-delay.yaml", true, 10, "vitals.heart_rate.warn_delay_s",
     "must be between 0 and 600, got -1"},
    {"vitals-window-zero.yaml", true, 10, "vitals.blood_pressure.high_window_min",
     "must be greater than 0 and at most 60, got 0"},
    {"vitals-unknown-key.yaml", true, 10, "vitals.heart_rate.warn_bpm",
     "unknown key (expected one of: warn_low_bpm,"},
    {"vitals-bad-action.yaml", true, 9, "vitals.two_warnings_action",
     "must be one of none, pause, stop; got \"alarm\""},
    {"vitals-not-map.yaml", true, 9, "vitals", "expected a mapping, got a list"},
    {"vitals-observation-range.yaml", true, 9, "vitals.observation_min",
     "must be between 0 and 1440, got 2000"},
    /* liveness: warn before crit, permits renewed before they lapse, > 0 */
    {"liveness-warn-ge-crit.yaml", true, 9, "liveness.vitals_silent_warn_s",
     "must be less than vitals_silent_crit_s (60, the default), got 60"},
    {"liveness-pump-order.yaml", true, 10, "liveness.pump_silent_crit_s",
     "must be greater than pump_silent_warn_s (20), got 10"},
    {"liveness-permit.yaml", true, 10, "liveness.permit_valid_s",
     "must be greater than permit_period_s (5), got 5"},
    {"liveness-zero-timeout.yaml", true, 9, "liveness.command_timeout_s",
     "must be greater than 0 and at most 600, got 0"},
    {"liveness-nan.yaml", true, 9, "liveness.clock_skew_s", "must be a finite number"},
    {"liveness-unknown-key.yaml", true, 9, "liveness.monitor_silent_s", "unknown key"},
};

/* A valid site config in tmp naming the drug-library fixture lib. */
static void write_site_for(const char *lib, char *path, size_t pathlen)
{
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "gateway: {id: gw-1, site: test-site}\n"
                     "device_link:\n"
                     "  url: ssl://127.0.0.1:8883\n"
                     "  ca_file: certs/ca.pem\n"
                     "  cert_file: certs/gateway.pem\n"
                     "  key_file: certs/gateway.key\n"
                     "drug_library: %s\n"
                     "audit: {key_file: certs/audit.key}\n",
                     lib);
    assert_true(n > 0 && (size_t)n < sizeof text);
    char name[300];
    snprintf(name, sizeof name, "site-for-%s", lib);
    join(path, pathlen, tmp, name);
    write_file(path, text, (size_t)n);
}

static void test_bad_fixtures(void **state)
{
    (void)state;
    static struct dg_config cfg, before;
    char err[512], path[PATH_MAX], want[PATH_MAX + 200];

    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        if (c->druglib)
            write_site_for(c->file, path, sizeof path);
        else
            join(path, sizeof path, tmp, c->file);

        memset(&cfg, 0xA5, sizeof cfg);
        before = cfg;
        int64_t live = dg_alloc_live();
        int rc = dg_config_load(&cfg, path, err, sizeof err);
        if (rc != -DG_ECONFIG) fail_msg("%s: rc %d (%s), want -DG_ECONFIG", c->file, rc, err);
        assert_int_equal(dg_alloc_live(), live);
        /* A refused file leaves the caller's config untouched. */
        assert_memory_equal(&cfg, &before, sizeof cfg);

        /* FILE is the path as given for the config, the resolved path for the
           drug library; both end in the fixture's name. */
        if (c->druglib)
            snprintf(want, sizeof want, "%s/%s:%u: %s: ", tmpabs, c->file, c->line, c->key);
        else
            snprintf(want, sizeof want, "%s/%s:%u: %s: ", tmp, c->file, c->line, c->key);
        if (strncmp(err, want, strlen(want)) != 0)
            fail_msg("%s:\n got  %s\n want %s...", c->file, err, want);
        if (!strstr(err + strlen(want), c->problem))
            fail_msg("%s:\n got  %s\n want ...%s...", c->file, err, c->problem);
        if (strchr(err, '\n')) fail_msg("%s: error is not one line: %s", c->file, err);
    }
}

/* Keys left out of vitals, liveness and a drug entry keep their defaults. */
static void test_partial_library(void **state)
{
    (void)state;
    static struct dg_config cfg;
    char err[512], path[PATH_MAX];
    write_site_for("drugs-partial.yaml", path, sizeof path);
    int rc = dg_config_load(&cfg, path, err, sizeof err);
    if (rc != 0) fail_msg("drugs-partial.yaml refused: %s", err);

    struct dg_drug want = *drug_defaults(0);
    want.session_dose_mg_per_kg.hard = 1.0;
    assert_drug_limits_equal(&cfg.druglib.drugs[0], &want);
    assert_int_equal(cfg.druglib.drugs[0].session_dose_hard_action, DG_ACTION_STOP);

    struct dg_druglib lib = *contract_defaults();
    lib.vitals.hr_crit_action = DG_ACTION_STOP;
    lib.liveness.clock_skew_s = 120;
    assert_vitals_equal(&cfg.druglib.vitals, &lib.vitals);
    assert_liveness_equal(&cfg.druglib.liveness, &lib.liveness);
    dg_config_free(&cfg);
}

static void test_missing_file(void **state)
{
    (void)state;
    static struct dg_config cfg;
    char err[512], path[PATH_MAX], want[PATH_MAX + 100];
    join(path, sizeof path, tmp, "no-such-config.yaml");
    assert_int_equal(dg_config_load(&cfg, path, err, sizeof err), -DG_ECONFIG);
    snprintf(want, sizeof want, "%s: cannot open: %s", path, strerror(ENOENT));
    assert_string_equal(err, want);

    /* A directory is not a config file either. */
    assert_int_equal(dg_config_load(&cfg, tmp, err, sizeof err), -DG_ECONFIG);
    snprintf(want, sizeof want, "%s: cannot read: not a regular file", tmp);
    assert_string_equal(err, want);
}

/* The error line is truncated, never overrun, in a small buffer. */
static void test_small_error_buffer(void **state)
{
    (void)state;
    static struct dg_config cfg;
    char err[16];
    memset(err, 'x', sizeof err);
    assert_int_equal(load(&cfg, "out-of-range.yaml", err, sizeof err), -DG_ECONFIG);
    assert_int_equal(strlen(err), sizeof err - 1);
    assert_int_equal(load(&cfg, "out-of-range.yaml", NULL, 0), -DG_ECONFIG);
}

/* Every allocation failure is reported as such, leaks nothing, and the
   load succeeds once allocations do. */
static void test_out_of_memory(void **state)
{
    (void)state;
    static struct dg_config cfg;
    char err[512];
    int64_t live = dg_alloc_live();
    uint64_t n;
    for (n = 1; n < 100; n++) {
        dg_alloc_fail_after(n);
        int rc = load(&cfg, "minimal.yaml", err, sizeof err);
        dg_alloc_fail_after(0);
        assert_int_equal(dg_alloc_live(), live);
        if (rc == 0) break;
        assert_int_equal(rc, -DG_ENOMEM);
        assert_non_null(strstr(err, "out of memory"));
    }
    assert_true(n > 1 && n < 100);
    dg_config_free(&cfg);
}

/* The hash is of the bytes: a comment changes it, the values do not. */
static void test_hash_tracks_bytes(void **state)
{
    (void)state;
    static struct dg_config a, b;
    char err[512], p[PATH_MAX], q[PATH_MAX];
    assert_int_equal(load(&a, "minimal.yaml", err, sizeof err), 0);
    join(p, sizeof p, tmp, "minimal.yaml");
    join(q, sizeof q, tmp, "minimal-commented.yaml");
    copy_file(p, q);
    FILE *f = fopen(q, "a");
    assert_non_null(f);
    fputs("# a comment\n", f);
    fclose(f);
    assert_int_equal(dg_config_load(&b, q, err, sizeof err), 0);
    assert_string_not_equal(a.sha256_hex, b.sha256_hex);
    assert_string_equal(a.druglib.sha256_hex, b.druglib.sha256_hex);
    assert_int_equal(strlen(a.sha256_hex), 64);
    char hex[65];
    sha256_file(p, hex);
    assert_string_equal(a.sha256_hex, hex);
    dg_config_free(&a);
    dg_config_free(&b);
}

/* ---------------------------------------------------- data-quality keys */

/* The library keys of baseline grace and of the data-quality advisories,
   each at, just inside and just outside its range, parsed from memory: a
   value in range is stored, one outside is refused naming the library,
   the line and the key. */
static void test_data_quality_keys(void **state)
{
    (void)state;
    static const char site[] = "gateway: {id: gw-1, site: test-site}\n"
                               "device_link:\n"
                               "  url: ssl://127.0.0.1:8883\n"
                               "  ca_file: ca.pem\n"
                               "  cert_file: gateway.pem\n"
                               "  key_file: gateway.key\n"
                               "drug_library: lib.yaml\n"
                               "audit: {key_file: audit.key}\n";
    enum { GRACE, JUMP, SEQ, CLEAR };
    static const struct {
        int key;
        const char *value;
        double want;         /* stored value when ok */
        const char *problem; /* NULL: loads */
    } cases[] = {
        {GRACE, "0", 0, NULL},
        {GRACE, "0.5", 0.5, NULL},
        {GRACE, "60", 60, NULL},
        {GRACE, "-0.1", 0, "must be between 0 and 60, got -0.1"},
        {GRACE, "60.01", 0, "must be between 0 and 60, got 60.01"},
        {GRACE, "\"2\"", 0, "expected a number, got \"2\" (quoted values are strings)"},
        {JUMP, "0.001", 0.001, NULL},
        {JUMP, "3600", 3600, NULL},
        {JUMP, "0", 0, "must be greater than 0 and at most 3600, got 0"},
        {JUMP, "-5", 0, "must be greater than 0 and at most 3600, got -5"},
        {JUMP, "3600.5", 0, "must be greater than 0 and at most 3600, got 3600.5"},
        {JUMP, ".inf", 0, "must be a finite number"},
        {SEQ, "0", 0, NULL},
        {SEQ, "1", 1, NULL},
        {SEQ, "1000000", 1000000, NULL},
        {SEQ, "-1", 0, "must be between 0 and 1e+06, got -1"},
        {SEQ, "1000001", 0, "must be between 0 and 1e+06, got 1000001"},
        {SEQ, "2.5", 0, "must be a whole number, got 2.5"},
        {SEQ, "5.0", 5, NULL},
        {CLEAR, "0.5", 0.5, NULL},
        {CLEAR, "86400", 86400, NULL},
        {CLEAR, "0", 0, "must be greater than 0 and at most 86400, got 0"},
        {CLEAR, "86401", 0, "must be greater than 0 and at most 86400, got 86401"},
        {CLEAR, "null", 0, "has no value"},
    };
    static const char *const section[] = {
        "vitals:\n  baseline:\n    grace_min: ", "liveness:\n  clock_jump_tolerance_s: ",
        "liveness:\n  seq_gap_advisory_missing: ", "liveness:\n  data_quality_clear_s: "};
    static const char *const key[] = {
        "vitals.baseline.grace_min", "liveness.clock_jump_tolerance_s",
        "liveness.seq_gap_advisory_missing", "liveness.data_quality_clear_s"};
    static const unsigned line[] = {10, 9, 9, 9};

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        static struct dg_config cfg;
        char lib[512], err[512], want[300];
        int n = snprintf(lib, sizeof lib,
                         "# a library that sets one key\n"
                         "library:\n"
                         "  id: test-lib\n"
                         "  version: \"1\"\n"
                         "drugs:\n"
                         "  - id: ketamine-trd\n"
                         "    name: Ketamine\n"
                         "%s%s\n",
                         section[cases[i].key], cases[i].value);
        assert_true(n > 0 && (size_t)n < sizeof lib);
        int64_t live = dg_alloc_live();
        int rc =
            dg_config_parse(&cfg, "site.yaml", (const unsigned char *)site, sizeof site - 1,
                            "lib.yaml", (const unsigned char *)lib, (size_t)n, err, sizeof err);
        assert_int_equal(dg_alloc_live(), live);
        const char *what = key[cases[i].key];
        if (!cases[i].problem) {
            if (rc != 0) fail_msg("%s: %s refused: %s", what, cases[i].value, err);
            const double got[] = {cfg.druglib.vitals.baseline_grace_min,
                                  cfg.druglib.liveness.clock_jump_tolerance_s,
                                  cfg.druglib.liveness.seq_gap_advisory_missing,
                                  cfg.druglib.liveness.data_quality_clear_s};
            if (got[cases[i].key] != cases[i].want)
                fail_msg("%s: %s stored as %g", what, cases[i].value, got[cases[i].key]);
            dg_config_free(&cfg);
            continue;
        }
        if (rc != -DG_ECONFIG)
            fail_msg("%s: %s: rc %d, want -DG_ECONFIG", what, cases[i].value, rc);
        snprintf(want, sizeof want, "lib.yaml:%u: %s: ", line[cases[i].key], what);
        if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, cases[i].problem))
            fail_msg("%s = %s:\n got  %s\n want %s...%s", what, cases[i].value, err, want,
                     cases[i].problem);
    }
}

/* The shipped library writes each data-quality key out, with its value and
   the source of the value on the same line (as every other key there). */
static void test_shipped_data_quality_keys(void **state)
{
    (void)state;
    static const struct {
        const char *section, *line;
    } want[] = {
        {"  baseline:\n", "    grace_min: 2 "},
        {"liveness:\n", "  clock_jump_tolerance_s: 5 "},
        {"liveness:\n", "  seq_gap_advisory_missing: 5 "},
        {"liveness:\n", "  data_quality_clear_s: 60 "},
    };
    FILE *f = fopen(DG_SOURCE_DIR "/gateway/etc/drug-library.yaml", "rb");
    assert_non_null(f);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *sec = strstr(text, want[i].section);
        if (!sec) fail_msg("no %s section", want[i].section);
        const char *l = strstr(sec, want[i].line);
        if (!l || (l > text && l[-1] != '\n'))
            fail_msg("shipped library lacks \"%s\"", want[i].line);
        const char *eol = strchr(l, '\n');
        const char *src = strstr(l, "# Source: ");
        if (!src || (eol && src > eol)) fail_msg("\"%s\" has no # Source: comment", want[i].line);
    }
}

/* ---------------------------------------------------------------- devices */

static void assert_entry(const struct dg_inventory_entry *e, const char *id,
                         enum dg_device_kind kind, const char *bed)
{
    assert_string_equal(e->id, id);
    assert_int_equal(e->kind, kind);
    assert_string_equal(e->bed_id, bed);
}

/* Left out: the prefixes certs/make-certs and the simulator use, no inventory. */
static void test_devices_defaults(void **state)
{
    (void)state;
    static struct dg_config cfg;
    char err[512];
    int64_t live = dg_alloc_live();
    int rc = load(&cfg, "minimal.yaml", err, sizeof err);
    if (rc != 0) fail_msg("minimal.yaml refused: %s", err);
    assert_string_equal(cfg.devices.pump_id_prefix, "pump-");
    assert_string_equal(cfg.devices.monitor_id_prefix, "monitor-");
    assert_string_equal(cfg.devices.dashboard_id_prefix, "dashboard-");
    assert_false(cfg.devices.have_inventory);
    assert_int_equal(cfg.devices.n_inventory, 0);
    assert_null(cfg.devices.inventory);
    assert_int_equal(dg_alloc_live(), live);
    dg_config_free(&cfg);
}

/* Every key; the inventory is stored sorted by id, owned, freed once. */
static void test_devices_inventory(void **state)
{
    (void)state;
    static struct dg_config cfg;
    char err[512], why[160];
    int64_t live = dg_alloc_live();
    int rc = load(&cfg, "devices-good.yaml", err, sizeof err);
    if (rc != 0) fail_msg("devices-good.yaml refused: %s", err);
    const struct dg_devices_settings *d = &cfg.devices;
    assert_string_equal(d->pump_id_prefix, "ip-");
    assert_string_equal(d->monitor_id_prefix, "mon.");
    assert_string_equal(d->dashboard_id_prefix, "desk.");
    assert_true(d->have_inventory);
    assert_int_equal(d->n_inventory, 4);
    assert_non_null(d->inventory);
    assert_entry(&d->inventory[0], "ip-1", DG_DEVICE_PUMP, "bed-1");
    assert_entry(&d->inventory[1], "ip-3", DG_DEVICE_PUMP, "");
    assert_entry(&d->inventory[2], "mon.1", DG_DEVICE_MONITOR, "");
    assert_entry(&d->inventory[3], "mon.2", DG_DEVICE_MONITOR, "bed-2");
    assert_true(dg_alloc_live() > live);

    /* What the gateway will do with it. */
    assert_int_equal(dg_identity_check(d, DG_DEVICE_PUMP, "ip-3", why, sizeof why), DG_IDENTITY_OK);
    assert_int_equal(dg_identity_check(d, DG_DEVICE_PUMP, "ip-2", why, sizeof why),
                     DG_IDENTITY_UNKNOWN);
    assert_int_equal(dg_identity_check(d, DG_DEVICE_PUMP, "pump-1", why, sizeof why),
                     DG_IDENTITY_KIND);
    assert_int_equal(dg_identity_check(d, DG_DEVICE_MONITOR, "mon.2", why, sizeof why),
                     DG_IDENTITY_OK);
    assert_int_equal(dg_identity_check_bed(d, "mon.2", "bed-1", why, sizeof why), DG_IDENTITY_BED);
    /* Dashboards: the prefix alone decides (the inventory lists devices). */
    assert_int_equal(dg_identity_check(d, DG_DEVICE_DASHBOARD, "desk.3", why, sizeof why),
                     DG_IDENTITY_OK);
    assert_int_equal(dg_identity_check(d, DG_DEVICE_DASHBOARD, "dashboard-1", why, sizeof why),
                     DG_IDENTITY_KIND);

    dg_config_free(&cfg);
    assert_null(cfg.devices.inventory);
    assert_int_equal(cfg.devices.n_inventory, 0);
    assert_int_equal(dg_alloc_live(), live);
    dg_config_free(&cfg); /* twice: a no-op */
    assert_int_equal(dg_alloc_live(), live);

    /* good.yaml sets every key of the site config, devices included. */
    rc = load(&cfg, "good.yaml", err, sizeof err);
    if (rc != 0) fail_msg("good.yaml refused: %s", err);
    assert_string_equal(cfg.devices.pump_id_prefix, "pump-");
    assert_string_equal(cfg.devices.monitor_id_prefix, "mon-");
    assert_int_equal(cfg.devices.n_inventory, 2);
    assert_entry(&cfg.devices.inventory[0], "mon-1", DG_DEVICE_MONITOR, "bed-1");
    assert_entry(&cfg.devices.inventory[1], "pump-1", DG_DEVICE_PUMP, "bed-1");
    dg_config_free(&cfg);
    assert_int_equal(dg_alloc_live(), live);
}

/* Present but empty refuses everything; a shared prefix needs the inventory. */
static void test_devices_edge_inventories(void **state)
{
    (void)state;
    static struct dg_config cfg;
    char err[512], why[160];
    int64_t live = dg_alloc_live();
    int rc = load(&cfg, "devices-empty-inventory.yaml", err, sizeof err);
    if (rc != 0) fail_msg("devices-empty-inventory.yaml refused: %s", err);
    assert_true(cfg.devices.have_inventory);
    assert_int_equal(cfg.devices.n_inventory, 0);
    assert_int_equal(dg_identity_check(&cfg.devices, DG_DEVICE_PUMP, "pump-1", why, sizeof why),
                     DG_IDENTITY_UNKNOWN);
    assert_int_equal(
        dg_identity_check(&cfg.devices, DG_DEVICE_MONITOR, "monitor-1", why, sizeof why),
        DG_IDENTITY_UNKNOWN);
    dg_config_free(&cfg);
    assert_int_equal(dg_alloc_live(), live);

    rc = load(&cfg, "devices-shared-prefix.yaml", err, sizeof err);
    if (rc != 0) fail_msg("devices-shared-prefix.yaml refused: %s", err);
    assert_entry(&cfg.devices.inventory[0], "dev-1", DG_DEVICE_PUMP, "");
    assert_entry(&cfg.devices.inventory[1], "dev-2", DG_DEVICE_MONITOR, "");
    assert_int_equal(dg_identity_check(&cfg.devices, DG_DEVICE_PUMP, "dev-1", why, sizeof why),
                     DG_IDENTITY_OK);
    assert_int_equal(dg_identity_check(&cfg.devices, DG_DEVICE_PUMP, "dev-2", why, sizeof why),
                     DG_IDENTITY_WRONG_KIND);
    dg_config_free(&cfg);
    assert_int_equal(dg_alloc_live(), live);
}

/* A site config in tmp/name: minimal.yaml's keys, then devices_text. */
static void write_devices_config(const char *name, const char *devices_text, size_t len)
{
    static const char head[] = "gateway: {id: gw-1, site: test-site}\n"
                               "device_link:\n"
                               "  url: ssl://127.0.0.1:8883\n"
                               "  ca_file: certs/ca.pem\n"
                               "  cert_file: certs/gateway.pem\n"
                               "  key_file: certs/gateway.key\n"
                               "drug_library: drugs-ok.yaml\n"
                               "audit:\n"
                               "  key_file: certs/audit.key\n"
                               "devices:\n"
                               "  inventory:\n";
    char p[PATH_MAX];
    join(p, sizeof p, tmp, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(head, 1, sizeof head - 1, f), sizeof head - 1);
    assert_int_equal(fwrite(devices_text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

#define HEAD_LINES 11 /* lines of write_devices_config's head */

/* Thousands of devices, in no order: all stored sorted, all found; a
   duplicate at the very end is still named at its own line. */
static void test_devices_large_inventory(void **state)
{
    (void)state;
    enum { N = 20000 };
    static struct dg_config cfg;
    char err[512], why[160], id[DG_ID_MAX];
    size_t cap = (size_t)N * 64 + 128, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    /* 7919 is prime to N: i -> i * 7919 % N visits every number once, out of order. */
    for (size_t i = 0; i < N; i++) {
        size_t k = i * 7919 % N;
        int n;
        if (k % 2)
            n = snprintf(text + len, cap - len,
                         "    - {id: pump-%05zu, kind: pump, bed: bed-%zu}\n", k, k);
        else
            n = snprintf(text + len, cap - len, "    - {id: monitor-%05zu, kind: monitor}\n", k);
        assert_true(n > 0 && (size_t)n < cap - len);
        len += (size_t)n;
    }
    write_devices_config("devices-large.yaml", text, len);
    int64_t live = dg_alloc_live();
    int rc = load(&cfg, "devices-large.yaml", err, sizeof err);
    if (rc != 0) fail_msg("devices-large.yaml refused: %s", err);
    const struct dg_devices_settings *d = &cfg.devices;
    assert_int_equal(d->n_inventory, N);
    for (size_t i = 1; i < N; i++)
        if (strcmp(d->inventory[i - 1].id, d->inventory[i].id) >= 0)
            fail_msg("not sorted at %zu: %s, %s", i, d->inventory[i - 1].id, d->inventory[i].id);
    for (size_t k = 0; k < N; k++) {
        enum dg_device_kind kind = k % 2 ? DG_DEVICE_PUMP : DG_DEVICE_MONITOR;
        snprintf(id, sizeof id, "%s-%05zu", k % 2 ? "pump" : "monitor", k);
        if (dg_identity_check(d, kind, id, why, sizeof why) != DG_IDENTITY_OK)
            fail_msg("%s refused: %s", id, why);
    }
    snprintf(id, sizeof id, "pump-%05d", N + 1);
    assert_int_equal(dg_identity_check(d, DG_DEVICE_PUMP, id, why, sizeof why),
                     DG_IDENTITY_UNKNOWN);
    assert_int_equal(dg_identity_check_bed(d, "pump-00001", "bed-1", why, sizeof why),
                     DG_IDENTITY_OK);
    assert_int_equal(dg_identity_check_bed(d, "pump-00001", "bed-3", why, sizeof why),
                     DG_IDENTITY_BED);
    dg_config_free(&cfg);
    assert_int_equal(dg_alloc_live(), live);

    /* The last line repeats an entry from the middle of the file (a pump). */
    const size_t dup_i = N / 2 + 1, dup_k = dup_i * 7919 % N;
    assert_true(dup_k % 2 == 1);
    int n = snprintf(text + len, cap - len, "    - {id: pump-%05zu, kind: pump}\n", dup_k);
    assert_true(n > 0);
    len += (size_t)n;
    write_devices_config("devices-large-dup.yaml", text, len);
    static struct dg_config before;
    memset(&cfg, 0xA5, sizeof cfg);
    before = cfg;
    assert_int_equal(load(&cfg, "devices-large-dup.yaml", err, sizeof err), -DG_ECONFIG);
    assert_memory_equal(&cfg, &before, sizeof cfg);
    assert_int_equal(dg_alloc_live(), live);
    char want[200];
    snprintf(want, sizeof want,
             ":%d: devices.inventory[%d].id: duplicate device id \"pump-%05zu\" "
             "(first at line %d)",
             HEAD_LINES + N + 1, N, dup_k, (int)(HEAD_LINES + dup_i + 1));
    if (!strstr(err, want)) fail_msg("got  %s\nwant ...%s", err, want);
    free(text);
}

/* The signed default and its opt-out. Without a key the file must say
   audit.unsigned: true (test_bad_fixtures has the refusals); then it loads
   with no key, and the gateway runs unsigned, warning and auditing it. */
static void test_audit_opt_out(void **state)
{
    (void)state;
    static struct dg_config cfg;
    char err[512];
    int rc = load(&cfg, "audit-unsigned.yaml", err, sizeof err);
    if (rc != 0) fail_msg("audit-unsigned.yaml refused: %s", err);
    assert_true(cfg.audit.allow_unsigned);
    assert_string_equal(cfg.audit.key_file, "");
    assert_int_equal(cfg.audit.checkpoint_every, 100);
    dg_config_free(&cfg);

    /* minimal.yaml: the key is the one thing about audit it must say. */
    rc = load(&cfg, "minimal.yaml", err, sizeof err);
    if (rc != 0) fail_msg("minimal.yaml refused: %s", err);
    assert_false(cfg.audit.allow_unsigned);
    assert_abs_in(cfg.audit.key_file, tmpabs, "certs/audit.key");
    dg_config_free(&cfg);

    /* The same rules in memory (dg_config_parse: nothing opened). */
    static const char site[] = "gateway: {id: gw-1, site: test-site}\n"
                               "device_link:\n"
                               "  url: ssl://127.0.0.1:8883\n"
                               "  ca_file: ca.pem\n"
                               "  cert_file: gateway.pem\n"
                               "  key_file: gateway.key\n"
                               "drug_library: lib.yaml\n";
    static const char lib[] = "library: {id: l, version: \"1\"}\n"
                              "drugs:\n"
                              "  - {id: ketamine-trd, name: K}\n";
    static const struct {
        const char *audit, *err; /* err NULL: loads */
    } cases[] = {
        {"", "site.yaml:1: audit.key_file: required key is missing; set audit.unsigned: true to "
             "run without signed checkpoints"},
        {"audit: {checkpoint_every: 5}\n", "site.yaml:8: audit.key_file: required key is missing"},
        {"audit: {unsigned: false}\n", "site.yaml:8: audit.key_file: required key is missing"},
        {"audit: {unsigned: true}\n", NULL},
        {"audit: {key_file: audit.key}\n", NULL},
        {"audit:\n  key_file: audit.key\n  unsigned: true\n",
         "site.yaml:10: audit.unsigned: true contradicts audit.key_file (audit.key): remove one "
         "of them"},
        {"audit: {unsigned: yes}\n", "site.yaml:8: audit.unsigned: expected true or false"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        int n = snprintf(text, sizeof text, "%s%s", site, cases[i].audit);
        assert_true(n > 0 && (size_t)n < sizeof text);
        rc = dg_config_parse(&cfg, "site.yaml", (const unsigned char *)text, (size_t)n, "lib.yaml",
                             (const unsigned char *)lib, sizeof lib - 1, err, sizeof err);
        if (!cases[i].err) {
            if (rc != 0) fail_msg("%s: refused: %s", cases[i].audit, err);
            dg_config_free(&cfg);
            continue;
        }
        if (rc != -DG_ECONFIG || strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
            fail_msg("%s: rc %d, err\n got  %s\n want %s", cases[i].audit, rc, err, cases[i].err);
    }
}

/* More entries than DG_INVENTORY_MAX (only aliases fit them in 1 MiB) are
   refused before anything is allocated for them. */
static void test_devices_too_many(void **state)
{
    (void)state;
    static struct dg_config cfg;
    char err[512];
    size_t cap = (size_t)(DG_INVENTORY_MAX + 1) * 10 + 64, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text, cap, "    - &p {id: pump-1, kind: pump}\n");
    for (size_t i = 1; i <= DG_INVENTORY_MAX; i++)
        len += (size_t)snprintf(text + len, cap - len, "    - *p\n");
    assert_true(len < cap);
    write_devices_config("devices-too-many.yaml", text, len);
    free(text);
    int64_t live = dg_alloc_live();
    assert_int_equal(load(&cfg, "devices-too-many.yaml", err, sizeof err), -DG_ECONFIG);
    assert_int_equal(dg_alloc_live(), live);
    char want[200];
    snprintf(want, sizeof want, ":%d: devices.inventory: at most %d devices are supported, got %d",
             HEAD_LINES, DG_INVENTORY_MAX, DG_INVENTORY_MAX + 1);
    if (!strstr(err, want)) fail_msg("got  %s\nwant ...%s", err, want);
}

/* Every allocation failure while loading an inventory is reported, leaks
   nothing and leaves the caller's config untouched. */
static void test_devices_out_of_memory(void **state)
{
    (void)state;
    static struct dg_config cfg, before;
    char err[512];
    int64_t live = dg_alloc_live();
    uint64_t n;
    for (n = 1; n < 200; n++) {
        memset(&cfg, 0x5A, sizeof cfg);
        before = cfg;
        dg_alloc_fail_after(n);
        int rc = load(&cfg, "devices-good.yaml", err, sizeof err);
        dg_alloc_fail_after(0);
        if (rc == 0) break;
        assert_int_equal(rc, -DG_ENOMEM);
        assert_non_null(strstr(err, "out of memory"));
        assert_memory_equal(&cfg, &before, sizeof cfg);
        assert_int_equal(dg_alloc_live(), live);
    }
    assert_true(n > 1 && n < 200);
    assert_int_equal(cfg.devices.n_inventory, 4);
    dg_config_free(&cfg);
    assert_int_equal(dg_alloc_live(), live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_files),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_clinic_link_defaults),
        cmocka_unit_test(test_relative_config_path),
        cmocka_unit_test(test_bad_fixtures),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_small_error_buffer),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_hash_tracks_bytes),
        cmocka_unit_test(test_partial_library),
        cmocka_unit_test(test_data_quality_keys),
        cmocka_unit_test(test_shipped_data_quality_keys),
        cmocka_unit_test(test_devices_defaults),
        cmocka_unit_test(test_devices_inventory),
        cmocka_unit_test(test_devices_edge_inventories),
        cmocka_unit_test(test_devices_large_inventory),
        cmocka_unit_test(test_devices_too_many),
        cmocka_unit_test(test_devices_out_of_memory),
        cmocka_unit_test(test_audit_opt_out),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
