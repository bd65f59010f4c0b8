/*
 * config.c — load and validate the site config and the drug library it names
 * (see config.h; every key is documented in docs/config.md).
 *
 * Design: each file is read whole into memory (at most DG_CONFIG_FILE_MAX
 * bytes), hashed with SHA-256 (the hash the gateway reports in its status and
 * audit trail is of exactly the bytes that were parsed), and parsed with
 * libyaml's document loader so every node keeps its line. The key tables
 * below are the schema: yamlutil's walker checks names, types, ranges and
 * required keys against them; the code after each walk does what a table
 * cannot (defaults that depend on other keys, certificate files that must
 * parse and match, duplicate drug entries and device ids, inventory ids that
 * the kind rule would refuse, and the order of limits and thresholds: soft <
 * hard, warning less severe than critical). The drug
 * library starts from the contract's defaults in the core
 * (dg_druglib_defaults, dg_drug_defaults), so a key left out keeps them.
 *
 * Everything that can be checked without a network is checked here, so the
 * gateway refuses to start rather than fail later: files named by the config
 * must be readable regular files now, the CA file must hold a PEM
 * certificate, the client certificate and key must parse and belong
 * together, and the key must not be encrypted (the gateway has no passphrase
 * to give it); the audit signing key (audit.key_file) must be an unencrypted
 * Ed25519 private key, and is required unless the file opts out with
 * audit.unsigned: true (checked last, so a file is refused for it only once
 * everything else in it is valid). Validity dates are NOT checked: an edge
 * box may boot with a wrong clock, and the broker's handshake is the
 * authority on expiry.
 *
 * The result is built in a private copy and copied into *cfg only on
 * success, so a failed load (e.g. a reload with a bad file) leaves the
 * caller's config untouched. The only memory a config owns is the device
 * inventory (devices.inventory, sorted by id for identity.c's binary
 * search): handed over with the copy on success, freed on failure.
 *
 * dg_config_parse() runs the same code on two memory buffers (for fuzzers
 * and tests): parse_config() and parse_druglib() take bytes, and only the
 * callers differ in where the bytes come from. In memory mode nothing is
 * opened: the path keys are walked as plain strings (see path_keys_as_strings)
 * and check_tls_files() is skipped; every other check is shared.
 */
/* realpath() is XSI; the build only asks for _POSIX_C_SOURCE. */
#define _XOPEN_SOURCE 700

#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../core/alloc.h"
#include "../core/error.h"
#include "log.h"
#include "yamlutil.h"

#define DG_CONFIG_FILE_MAX (1024 * 1024) /* bytes; a hand-edited file is far smaller */

/* ENUM keys store the index as an int into these enum fields. */
static_assert(sizeof(enum dg_log_level) == sizeof(int), "enum dg_log_level is not int-sized");
static_assert(sizeof(enum dg_alert_action) == sizeof(int), "enum dg_alert_action is not int-sized");
static_assert(DG_LOG_DEBUG == 0 && DG_LOG_ERROR == 3, "log_levels[] order");
static_assert(DG_ACTION_NONE == 0 && DG_ACTION_PAUSE == 1 && DG_ACTION_STOP == 2,
              "hard_actions[] order");

#define ARRAY_LEN(a)            (sizeof(a) / sizeof((a)[0]))
#define FIELD_SIZE(type, field) sizeof(((type *)0)->field)

/* --------------------------------------------------------------- checks */

/* Ids become topic segments, MQTT client ids and log values. */
static int check_id(const char *s, char *why, size_t whylen)
{
    char q[80];
    for (const char *c = s; *c; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            *c == '_' || *c == '.' || *c == '-')
            continue;
        snprintf(why, whylen, "may only contain A-Z a-z 0-9 _ . - (got %s)",
                 dg_log_q(q, sizeof q, s));
        return -1;
    }
    return 0;
}

/* care_area: an id, or "" for "any care area". */
static int check_id_or_empty(const char *s, char *why, size_t whylen)
{
    return s[0] ? check_id(s, why, whylen) : 0;
}

/* topic_root: levels of [A-Za-z0-9_.-] joined by '/'; no wildcards, no
   empty level, no leading '$' (reserved by brokers). */
static int check_topic_root(const char *s, char *why, size_t whylen)
{
    char q[80];
    dg_log_q(q, sizeof q, s);
    if (strchr(s, '+') || strchr(s, '#')) {
        snprintf(why, whylen, "must not contain the MQTT wildcards + or # (got %s)", q);
        return -1;
    }
    if (s[0] == '/' || s[strlen(s) - 1] == '/') {
        snprintf(why, whylen, "must not start or end with '/' (got %s)", q);
        return -1;
    }
    if (strstr(s, "//")) {
        snprintf(why, whylen, "must not contain an empty level '//' (got %s)", q);
        return -1;
    }
    for (const char *c = s; *c; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            *c == '_' || *c == '.' || *c == '-' || *c == '/')
            continue;
        snprintf(why, whylen, "levels may only contain A-Z a-z 0-9 _ . - (got %s)", q);
        return -1;
    }
    return 0;
}

/* ssl://HOST:PORT, HOST a name, an IPv4 address or a [bracketed] IPv6 one. */
static int check_url(const char *s, char *why, size_t whylen)
{
    static const char *const plaintext[] = {"tcp://", "mqtt://", "ws://"};
    char q[80];
    dg_log_q(q, sizeof q, s);

    for (size_t i = 0; i < ARRAY_LEN(plaintext); i++) {
        if (strncmp(s, plaintext[i], strlen(plaintext[i])) == 0) {
            snprintf(why, whylen, "TLS is mandatory: use ssl://HOST:PORT instead of %s (got %s)",
                     plaintext[i], q);
            return -1;
        }
    }
    if (strncmp(s, "ssl://", 6) != 0) {
        snprintf(why, whylen, "must start with ssl:// (TLS is mandatory), got %s", q);
        return -1;
    }
    const char *host = s + 6;
    const char *colon;
    bool host_ok = true;
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        if (!close || close == host + 1) host_ok = false;
        for (const char *c = host + 1; host_ok && c < close; c++)
            host_ok = strchr("0123456789abcdefABCDEF:.", *c) != NULL;
        colon = close ? close + 1 : NULL;
        if (colon && *colon != ':') colon = NULL;
    } else {
        colon = strrchr(host, ':');
        if (!colon || colon == host) host_ok = false;
        for (const char *c = host; host_ok && c < colon; c++)
            host_ok = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                      (*c >= '0' && *c <= '9') || *c == '.' || *c == '-';
    }
    long port = 0;
    bool port_ok = colon && colon[1] != '\0';
    for (const char *c = colon ? colon + 1 : ""; port_ok && *c; c++) {
        port_ok = *c >= '0' && *c <= '9' && port < 65536;
        port = port * 10 + (*c - '0');
    }
    if (!host_ok || !port_ok || port < 1 || port > 65535) {
        snprintf(why, whylen, "must be ssl://HOST:PORT with a port 1..65535 (got %s)", q);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- schema */

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const hard_actions[] = {"none", "pause", "stop", NULL};

#define STR(n, req, T, field, chk)                                                                 \
    {                                                                                              \
        .name = n, .type = DG_YAML_STRING, .required = req, .offset = offsetof(T, field),          \
        .size = FIELD_SIZE(T, field), .check = chk                                                 \
    }
#define PATHK(n, req, T, field)                                                                    \
    {                                                                                              \
        .name = n, .type = DG_YAML_PATH, .required = req, .offset = offsetof(T, field),            \
        .size = FIELD_SIZE(T, field)                                                               \
    }
#define INT(n, T, field, lo, hi)                                                                   \
    {                                                                                              \
        .name = n, .type = DG_YAML_INT, .offset = offsetof(T, field), .min_i = lo, .max_i = hi     \
    }
#define NODE(n, req, t)                                                                            \
    {                                                                                              \
        .name = n, .type = t, .required = req                                                      \
    }

enum { R_GATEWAY, R_DEVICE, R_CLINIC, R_DRUGLIB, R_AUDIT, R_DEVICES };
static const struct dg_yaml_key root_keys[] = {
    [R_GATEWAY] = NODE("gateway", true, DG_YAML_MAP),
    [R_DEVICE] = NODE("device_link", true, DG_YAML_MAP),
    [R_CLINIC] = NODE("clinic_link", false, DG_YAML_MAP),
    [R_DRUGLIB] = PATHK("drug_library", true, struct dg_config, drug_library_path),
    [R_AUDIT] = NODE("audit", false, DG_YAML_MAP),
    [R_DEVICES] = NODE("devices", false, DG_YAML_MAP),
};

enum {
    G_ID,
    G_SITE,
    G_TOPIC_ROOT,
    G_LOG_LEVEL,
    G_STATUS,
    G_PERMIT,
    G_TIME_SCALE,
    G_STATE_DIR,
    G_BUDGET,
    G_FLOOD
};
static const struct dg_yaml_key gateway_keys[] = {
    [G_ID] = STR("id", true, struct dg_config, gateway_id, check_id),
    [G_SITE] = STR("site", true, struct dg_config, site, check_id),
    [G_TOPIC_ROOT] = STR("topic_root", false, struct dg_config, topic_root, check_topic_root),
    [G_LOG_LEVEL] = {.name = "log_level",
                     .type = DG_YAML_ENUM,
                     .offset = offsetof(struct dg_config, log_level),
                     .names = log_levels},
    [G_STATUS] = INT("status_interval_s", struct dg_config, status_interval_s, 1, 3600),
    [G_PERMIT] = {.name = "permit_to_infuse",
                  .type = DG_YAML_BOOL,
                  .offset = offsetof(struct dg_config, permit_to_infuse)},
    [G_TIME_SCALE] = {.name = "device_time_scale",
                      .type = DG_YAML_DOUBLE,
                      .offset = offsetof(struct dg_config, device_time_scale),
                      .min_d = 1,
                      .max_d = 1000},
    /* A directory, possibly not there yet: a string, resolved below. */
    [G_STATE_DIR] = STR("state_dir", false, struct dg_config, state_dir, NULL),
    [G_BUDGET] = INT("disk_budget_mb", struct dg_config, disk_budget_mb, 1, 1048576),
    [G_FLOOD] =
        INT("max_msgs_per_s_per_device", struct dg_config, max_msgs_per_s_per_device, 1, 100000),
};

/* device_link: everything but client_id and keepalive_s is required.
   clinic_link: only url; the rest is inherited from device_link. */
enum { L_URL, L_CLIENT_ID, L_CA, L_CERT, L_KEY, L_KEEPALIVE };
#define LINK_KEYS(req)                                                                             \
    {                                                                                              \
        [L_URL] = STR("url", true, struct dg_link_settings, url, check_url),                       \
        [L_CLIENT_ID] = STR("client_id", false, struct dg_link_settings, client_id, check_id),     \
        [L_CA] = PATHK("ca_file", req, struct dg_link_settings, ca_file),                          \
        [L_CERT] = PATHK("cert_file", req, struct dg_link_settings, cert_file),                    \
        [L_KEY] = PATHK("key_file", req, struct dg_link_settings, key_file),                       \
        [L_KEEPALIVE] = INT("keepalive_s", struct dg_link_settings, keepalive_s, 2, 600),          \
    }
static const struct dg_yaml_key device_link_keys[] = LINK_KEYS(true);
static const struct dg_yaml_key clinic_link_keys[] = LINK_KEYS(false);

/* audit: key_file, unless unsigned: true (checked in parse_config()); the
   rest optional (docs/audit.md). */
enum { A_KEY, A_UNSIGNED, A_EVERY, A_INTERVAL };
static const struct dg_yaml_key audit_keys[] = {
    [A_KEY] = PATHK("key_file", false, struct dg_audit_settings, key_file),
    [A_UNSIGNED] = {.name = "unsigned",
                    .type = DG_YAML_BOOL,
                    .offset = offsetof(struct dg_audit_settings, allow_unsigned)},
    [A_EVERY] = INT("checkpoint_every", struct dg_audit_settings, checkpoint_every, 1, 100000),
    [A_INTERVAL] =
        INT("checkpoint_interval_s", struct dg_audit_settings, checkpoint_interval_s, 1, 86400),
};

/* devices: every key optional (docs/config.md); the prefixes default in
   parse_config(). */
enum { DV_PUMP_PREFIX, DV_MONITOR_PREFIX, DV_DASHBOARD_PREFIX, DV_INVENTORY };
static const struct dg_yaml_key devices_keys[] = {
    [DV_PUMP_PREFIX] =
        STR("pump_id_prefix", false, struct dg_devices_settings, pump_id_prefix, check_id),
    [DV_MONITOR_PREFIX] =
        STR("monitor_id_prefix", false, struct dg_devices_settings, monitor_id_prefix, check_id),
    [DV_DASHBOARD_PREFIX] = STR("dashboard_id_prefix", false, struct dg_devices_settings,
                                dashboard_id_prefix, check_id),
    [DV_INVENTORY] = NODE("inventory", false, DG_YAML_SEQ),
};

/* One devices.inventory[i] as walked: the entry, its kind as the index in
   device_kinds[] (ENUM keys store an index), and where it was, to sort and
   still name the right line. */
struct inventory_item {
    struct dg_inventory_entry e;
    int kind;
    size_t index;
    const yaml_node_t *id_node;
};
static const char *const device_kinds[] = {"pump", "monitor", NULL};
static const enum dg_device_kind device_kind_of[] = {DG_DEVICE_PUMP, DG_DEVICE_MONITOR};
enum { IN_ID, IN_KIND, IN_BED };
static const struct dg_yaml_key inventory_keys[] = {
    [IN_ID] = STR("id", true, struct inventory_item, e.id, check_id),
    [IN_KIND] = {.name = "kind",
                 .type = DG_YAML_ENUM,
                 .required = true,
                 .offset = offsetof(struct inventory_item, kind),
                 .names = device_kinds},
    [IN_BED] = STR("bed", false, struct inventory_item, e.bed_id, check_id),
};

/*
 * The drug library's schema. Every mapping below is a "section": its key
 * table, walked by yamlutil, and the cross-key rules a table cannot say,
 * checked by walk_section() right after the walk so an error still names
 * the line of the key at fault.
 *
 * Ranges: every limit is finite and >= 0. Sane maxima sit far above any
 * clinical use but catch a slipped unit or digit (1500 for 1.5, mcg for
 * mg). Vital-sign thresholds, silent timeouts and windows must be > 0 (a 0
 * there would fire on every reading or never wait); condition delays and
 * drug limits may be 0 (no delay; no such limit).
 */
#define MAX_MG_PER_KG_H 100.0  /* rate */
#define MAX_MG_PER_KG   100.0  /* session, rolling and programmed dose */
#define MAX_MG_PER_ML   1000.0 /* concentration */
#define MAX_KG          1000.0 /* patient weight */
#define MAX_MMHG        300.0
#define MAX_HR_BPM      300.0
#define MAX_RR_BPM      100.0
#define MAX_PCT         100.0
#define MAX_DELAY_S     600.0  /* condition delays, command timeout */
#define MAX_SILENT_S    3600.0 /* liveness timeouts */
#define MAX_AGE_MIN     240.0  /* baseline age, NIBP staleness */

#define NUM(n, T, field, lo, hi)                                                                   \
    {                                                                                              \
        .name = n, .type = DG_YAML_DOUBLE, .offset = offsetof(T, field), .min_d = lo, .max_d = hi  \
    }
/* A number that must be > 0. */
#define POS(n, T, field, hi)                                                                       \
    {                                                                                              \
        .name = n, .type = DG_YAML_DOUBLE, .offset = offsetof(T, field), .min_d = 0,               \
        .min_exclusive = true, .max_d = hi                                                         \
    }
#define ACTION(n, T, field)                                                                        \
    {                                                                                              \
        .name = n, .type = DG_YAML_ENUM, .offset = offsetof(T, field), .names = hard_actions       \
    }

/* keys[lo] < keys[hi] (<= if or_equal) whenever both are > 0. */
struct order_rule {
    unsigned char lo, hi;
    bool or_equal;
};

struct section {
    const char *name; /* its key in the parent mapping */
    const struct dg_yaml_key *keys;
    size_t nkeys;
    const struct order_rule *orders;
    size_t norders;
    /* An action key written in the file must have an effect: keys[needs]
       must be > 0 (== 0 when needs_zero), else `why`. action < 0: none. */
    int action, needs;
    bool needs_zero;
    const char *why;
};

#define SECTION(n, keys_, ...)                                                                     \
    {                                                                                              \
        .name = n, .keys = keys_, .nkeys = ARRAY_LEN(keys_), __VA_ARGS__                           \
    }
#define ORDERS(o) .orders = o, .norders = ARRAY_LEN(o)
#define NO_ACTION .action = -1, .needs = -1

enum { D_LIBRARY, D_DRUGS, D_VITALS, D_LIVENESS };
static const struct dg_yaml_key druglib_root_keys[] = {
    [D_LIBRARY] = NODE("library", true, DG_YAML_MAP),
    [D_DRUGS] = NODE("drugs", true, DG_YAML_SEQ),
    [D_VITALS] = NODE("vitals", false, DG_YAML_MAP),
    [D_LIVENESS] = NODE("liveness", false, DG_YAML_MAP),
};

static const struct dg_yaml_key library_keys[] = {
    STR("id", true, struct dg_druglib, id, check_id),
    STR("version", true, struct dg_druglib, version, check_id),
};

/* ---- drugs[i] */

#define DRUG struct dg_drug
enum { LIM_SOFT, LIM_HARD, LIM_ACTION };
static const struct dg_yaml_key rate_keys[] = {
    [LIM_SOFT] = NUM("soft", DRUG, rate_mg_per_kg_h.soft, 0, MAX_MG_PER_KG_H),
    [LIM_HARD] = NUM("hard", DRUG, rate_mg_per_kg_h.hard, 0, MAX_MG_PER_KG_H),
    [LIM_ACTION] = ACTION("hard_action", DRUG, rate_hard_action),
};
static const struct dg_yaml_key session_dose_keys[] = {
    [LIM_SOFT] = NUM("soft", DRUG, session_dose_mg_per_kg.soft, 0, MAX_MG_PER_KG),
    [LIM_HARD] = NUM("hard", DRUG, session_dose_mg_per_kg.hard, 0, MAX_MG_PER_KG),
    [LIM_ACTION] = ACTION("hard_action", DRUG, session_dose_hard_action),
};
static const struct dg_yaml_key programmed_dose_keys[] = {
    [LIM_SOFT] = NUM("soft", DRUG, programmed_dose_mg_per_kg.soft, 0, MAX_MG_PER_KG),
    [LIM_HARD] = NUM("hard", DRUG, programmed_dose_mg_per_kg.hard, 0, MAX_MG_PER_KG),
};
static const struct order_rule soft_below_hard[] = {{LIM_SOFT, LIM_HARD, false}};

enum { R24_HARD, R24_ACTION };
static const struct dg_yaml_key rolling_keys[] = {
    [R24_HARD] = NUM("hard", DRUG, rolling_24h_dose_mg_per_kg_hard, 0, MAX_MG_PER_KG),
    [R24_ACTION] = ACTION("hard_action", DRUG, rolling_24h_hard_action),
};

enum { BO_ALLOWED, BO_ACTION };
static const struct dg_yaml_key bolus_keys[] = {
    [BO_ALLOWED] = {.name = "allowed",
                    .type = DG_YAML_FLAG,
                    .offset = offsetof(DRUG, bolus_allowed)},
    [BO_ACTION] = ACTION("action", DRUG, bolus_action),
};

enum { CO_SOFT_MIN, CO_SOFT_MAX, CO_HARD_MAX, CO_ACTION };
static const struct dg_yaml_key concentration_keys[] = {
    [CO_SOFT_MIN] = NUM("soft_min", DRUG, concentration_soft_min_mg_per_ml, 0, MAX_MG_PER_ML),
    [CO_SOFT_MAX] = NUM("soft_max", DRUG, concentration_soft_max_mg_per_ml, 0, MAX_MG_PER_ML),
    [CO_HARD_MAX] = NUM("hard_max", DRUG, concentration_hard_max_mg_per_ml, 0, MAX_MG_PER_ML),
    [CO_ACTION] = ACTION("hard_action", DRUG, concentration_hard_action),
};
static const struct order_rule concentration_orders[] = {
    {CO_SOFT_MIN, CO_SOFT_MAX, false},
    {CO_SOFT_MAX, CO_HARD_MAX, true},
    {CO_SOFT_MIN, CO_HARD_MAX, false}, /* when soft_max is not set */
};

enum { WT_MIN, WT_MAX };
static const struct dg_yaml_key weight_keys[] = {
    [WT_MIN] = NUM("hard_min", DRUG, weight_hard_min_kg, 0, MAX_KG),
    [WT_MAX] = NUM("hard_max", DRUG, weight_hard_max_kg, 0, MAX_KG),
};
static const struct order_rule weight_orders[] = {{WT_MIN, WT_MAX, false}};

static const struct dg_yaml_key sessions_keys[] = {
    INT("max_per_7d", DRUG, sessions_max_per_7d, 0, 100),
    NUM("min_hours_between", DRUG, sessions_min_hours_between, 0, 168),
};

#define WITHOUT_HARD(act, lim, what)                                                               \
    .action = act, .needs = lim, .why = "has no effect without a hard limit (set " what " > 0)"

/* In drug_keys order, starting at DR_RATE. */
static const struct section drug_sections[] = {
    SECTION("rate_mg_per_kg_h", rate_keys, ORDERS(soft_below_hard),
            WITHOUT_HARD(LIM_ACTION, LIM_HARD, "hard")),
    SECTION("session_dose_mg_per_kg", session_dose_keys, ORDERS(soft_below_hard),
            WITHOUT_HARD(LIM_ACTION, LIM_HARD, "hard")),
    SECTION("rolling_24h_dose_mg_per_kg", rolling_keys, WITHOUT_HARD(R24_ACTION, R24_HARD, "hard")),
    SECTION("bolus", bolus_keys, .action = BO_ACTION, .needs = BO_ALLOWED, .needs_zero = true,
            .why = "has no effect when allowed is true"),
    SECTION("concentration_mg_per_ml", concentration_keys, ORDERS(concentration_orders),
            WITHOUT_HARD(CO_ACTION, CO_HARD_MAX, "hard_max")),
    SECTION("weight_kg", weight_keys, ORDERS(weight_orders), NO_ACTION),
    SECTION("programmed_dose_mg_per_kg", programmed_dose_keys, ORDERS(soft_below_hard), NO_ACTION),
    SECTION("sessions", sessions_keys, NO_ACTION),
};

enum {
    DR_ID,
    DR_NAME,
    DR_CARE_AREA,
    DR_RATE, /* first of drug_sections[] */
    DR_SESSION_DOSE,
    DR_ROLLING,
    DR_BOLUS,
    DR_CONCENTRATION,
    DR_WEIGHT,
    DR_PROGRAMMED_DOSE,
    DR_SESSIONS,
};
static const struct dg_yaml_key drug_keys[] = {
    [DR_ID] = STR("id", true, DRUG, id, check_id),
    [DR_NAME] = STR("name", true, DRUG, name, NULL),
    [DR_CARE_AREA] = {.name = "care_area",
                      .type = DG_YAML_STRING,
                      .allow_empty = true,
                      .offset = offsetof(DRUG, care_area),
                      .size = FIELD_SIZE(DRUG, care_area),
                      .check = check_id_or_empty},
    [DR_RATE] = NODE("rate_mg_per_kg_h", false, DG_YAML_MAP),
    [DR_SESSION_DOSE] = NODE("session_dose_mg_per_kg", false, DG_YAML_MAP),
    [DR_ROLLING] = NODE("rolling_24h_dose_mg_per_kg", false, DG_YAML_MAP),
    [DR_BOLUS] = NODE("bolus", false, DG_YAML_MAP),
    [DR_CONCENTRATION] = NODE("concentration_mg_per_ml", false, DG_YAML_MAP),
    [DR_WEIGHT] = NODE("weight_kg", false, DG_YAML_MAP),
    [DR_PROGRAMMED_DOSE] = NODE("programmed_dose_mg_per_kg", false, DG_YAML_MAP),
    [DR_SESSIONS] = NODE("sessions", false, DG_YAML_MAP),
};
static_assert(ARRAY_LEN(drug_keys) - DR_RATE == ARRAY_LEN(drug_sections),
              "one section per drug sub-mapping");
#undef DRUG

/* ---- vitals (one set per library) */

#define VIT struct dg_vitals_rules
enum { BL_AGE, BL_WARN_SYS, BL_WARN_DIA, BL_CRIT_SYS, BL_CRIT_DIA, BL_ACTION, BL_GRACE };
static const struct dg_yaml_key baseline_keys[] = {
    [BL_AGE] = POS("max_age_min", VIT, baseline_max_age_min, MAX_AGE_MIN),
    [BL_WARN_SYS] = POS("warn_sys_mmhg", VIT, baseline_warn_sys_mmhg, MAX_MMHG),
    [BL_WARN_DIA] = POS("warn_dia_mmhg", VIT, baseline_warn_dia_mmhg, MAX_MMHG),
    [BL_CRIT_SYS] = POS("crit_sys_mmhg", VIT, baseline_crit_sys_mmhg, MAX_MMHG),
    [BL_CRIT_DIA] = POS("crit_dia_mmhg", VIT, baseline_crit_dia_mmhg, MAX_MMHG),
    [BL_ACTION] = ACTION("crit_action", VIT, baseline_crit_action),
    /* 0 = judge at the start only; an hour is far past any NIBP cycle. */
    [BL_GRACE] = NUM("grace_min", VIT, baseline_grace_min, 0, 60),
};
static const struct order_rule baseline_orders[] = {
    {BL_WARN_SYS, BL_CRIT_SYS, false},
    {BL_WARN_DIA, BL_CRIT_DIA, false},
};

enum {
    BP_RISE_SYS,
    BP_RISE_DIA,
    BP_HIGH_SYS,
    BP_HIGH_DIA,
    BP_HIGH_WINDOW,
    BP_HIGH_ACTION,
    BP_SEVERE_SYS,
    BP_SEVERE_DIA,
    BP_SEVERE_ACTION,
};
static const struct dg_yaml_key blood_pressure_keys[] = {
    [BP_RISE_SYS] = POS("rise_sys_mmhg", VIT, bp_rise_sys_mmhg, MAX_MMHG),
    [BP_RISE_DIA] = POS("rise_dia_mmhg", VIT, bp_rise_dia_mmhg, MAX_MMHG),
    [BP_HIGH_SYS] = POS("high_sys_mmhg", VIT, bp_high_sys_mmhg, MAX_MMHG),
    [BP_HIGH_DIA] = POS("high_dia_mmhg", VIT, bp_high_dia_mmhg, MAX_MMHG),
    [BP_HIGH_WINDOW] = POS("high_window_min", VIT, bp_high_window_min, 60),
    [BP_HIGH_ACTION] = ACTION("high_action", VIT, bp_high_action),
    [BP_SEVERE_SYS] = POS("severe_sys_mmhg", VIT, bp_severe_sys_mmhg, MAX_MMHG),
    [BP_SEVERE_DIA] = POS("severe_dia_mmhg", VIT, bp_severe_dia_mmhg, MAX_MMHG),
    [BP_SEVERE_ACTION] = ACTION("severe_action", VIT, bp_severe_action),
};
static const struct order_rule blood_pressure_orders[] = {
    {BP_HIGH_SYS, BP_SEVERE_SYS, false},
    {BP_HIGH_DIA, BP_SEVERE_DIA, false},
};

enum { HR_WARN_LOW, HR_WARN_HIGH, HR_WARN_DELAY, HR_CRIT_LOW, HR_CRIT_HIGH, HR_ACTION };
static const struct dg_yaml_key heart_rate_keys[] = {
    [HR_WARN_LOW] = POS("warn_low_bpm", VIT, hr_warn_low_bpm, MAX_HR_BPM),
    [HR_WARN_HIGH] = POS("warn_high_bpm", VIT, hr_warn_high_bpm, MAX_HR_BPM),
    [HR_WARN_DELAY] = NUM("warn_delay_s", VIT, hr_warn_delay_s, 0, MAX_DELAY_S),
    [HR_CRIT_LOW] = POS("crit_low_bpm", VIT, hr_crit_low_bpm, MAX_HR_BPM),
    [HR_CRIT_HIGH] = POS("crit_high_bpm", VIT, hr_crit_high_bpm, MAX_HR_BPM),
    [HR_ACTION] = ACTION("crit_action", VIT, hr_crit_action),
};
static const struct order_rule heart_rate_orders[] = {
    {HR_CRIT_LOW, HR_WARN_LOW, false},
    {HR_WARN_LOW, HR_WARN_HIGH, false},
    {HR_WARN_HIGH, HR_CRIT_HIGH, false},
};

enum { SP_WARN, SP_WARN_DELAY, SP_CRIT, SP_ACTION };
static const struct dg_yaml_key spo2_keys[] = {
    [SP_WARN] = POS("warn_pct", VIT, spo2_warn_pct, MAX_PCT),
    [SP_WARN_DELAY] = NUM("warn_delay_s", VIT, spo2_warn_delay_s, 0, MAX_DELAY_S),
    [SP_CRIT] = POS("crit_pct", VIT, spo2_crit_pct, MAX_PCT),
    [SP_ACTION] = ACTION("crit_action", VIT, spo2_crit_action),
};
static const struct order_rule spo2_orders[] = {{SP_CRIT, SP_WARN, false}};

enum { RR_WARN_LOW, RR_WARN_HIGH, RR_WARN_DELAY, RR_CRIT_LOW, RR_ACTION };
static const struct dg_yaml_key resp_rate_keys[] = {
    [RR_WARN_LOW] = POS("warn_low_bpm", VIT, rr_warn_low_bpm, MAX_RR_BPM),
    [RR_WARN_HIGH] = POS("warn_high_bpm", VIT, rr_warn_high_bpm, MAX_RR_BPM),
    [RR_WARN_DELAY] = NUM("warn_delay_s", VIT, rr_warn_delay_s, 0, MAX_DELAY_S),
    [RR_CRIT_LOW] = POS("crit_low_bpm", VIT, rr_crit_low_bpm, MAX_RR_BPM),
    [RR_ACTION] = ACTION("crit_action", VIT, rr_crit_action),
};
static const struct order_rule resp_rate_orders[] = {
    {RR_CRIT_LOW, RR_WARN_LOW, false},
    {RR_WARN_LOW, RR_WARN_HIGH, false},
};

/* In vitals_keys order. */
static const struct section vitals_sections[] = {
    SECTION("baseline", baseline_keys, ORDERS(baseline_orders), NO_ACTION),
    SECTION("blood_pressure", blood_pressure_keys, ORDERS(blood_pressure_orders), NO_ACTION),
    SECTION("heart_rate", heart_rate_keys, ORDERS(heart_rate_orders), NO_ACTION),
    SECTION("spo2", spo2_keys, ORDERS(spo2_orders), NO_ACTION),
    SECTION("resp_rate", resp_rate_keys, ORDERS(resp_rate_orders), NO_ACTION),
};
enum { V_BASELINE, V_BP, V_HR, V_SPO2, V_RR, V_TWO_WARNINGS, V_OBSERVATION };
static const struct dg_yaml_key vitals_keys[] = {
    [V_BASELINE] = NODE("baseline", false, DG_YAML_MAP),
    [V_BP] = NODE("blood_pressure", false, DG_YAML_MAP),
    [V_HR] = NODE("heart_rate", false, DG_YAML_MAP),
    [V_SPO2] = NODE("spo2", false, DG_YAML_MAP),
    [V_RR] = NODE("resp_rate", false, DG_YAML_MAP),
    [V_TWO_WARNINGS] = ACTION("two_warnings_action", VIT, two_warnings_action),
    [V_OBSERVATION] = NUM("observation_min", VIT, observation_min, 0, 1440),
};
static_assert(V_TWO_WARNINGS == ARRAY_LEN(vitals_sections), "one section per vitals sub-mapping");
#undef VIT

/* ---- liveness (one set per library) */

#define LIV struct dg_liveness
enum {
    LV_VITALS_WARN,
    LV_VITALS_CRIT,
    LV_NIBP_STALE,
    LV_PUMP_WARN,
    LV_PUMP_CRIT,
    LV_COMMAND,
    LV_MISMATCH_REL,
    LV_MISMATCH_ABS,
    LV_SKEW,
    LV_PERMIT_VALID,
    LV_PERMIT_PERIOD,
    LV_JUMP_TOLERANCE,
    LV_SEQ_GAP,
    LV_DQ_CLEAR,
};
static const struct dg_yaml_key liveness_keys[] = {
    [LV_VITALS_WARN] = POS("vitals_silent_warn_s", LIV, vitals_silent_warn_s, MAX_SILENT_S),
    [LV_VITALS_CRIT] = POS("vitals_silent_crit_s", LIV, vitals_silent_crit_s, MAX_SILENT_S),
    [LV_NIBP_STALE] = POS("nibp_stale_min", LIV, nibp_stale_min, MAX_AGE_MIN),
    [LV_PUMP_WARN] = POS("pump_silent_warn_s", LIV, pump_silent_warn_s, MAX_SILENT_S),
    [LV_PUMP_CRIT] = POS("pump_silent_crit_s", LIV, pump_silent_crit_s, MAX_SILENT_S),
    [LV_COMMAND] = POS("command_timeout_s", LIV, command_timeout_s, MAX_DELAY_S),
    [LV_MISMATCH_REL] = POS("dose_mismatch_rel_pct", LIV, dose_mismatch_rel_pct, MAX_PCT),
    [LV_MISMATCH_ABS] = POS("dose_mismatch_abs_mg_per_kg", LIV, dose_mismatch_abs_mg_per_kg, 10),
    [LV_SKEW] = POS("clock_skew_s", LIV, clock_skew_s, 86400),
    [LV_PERMIT_VALID] = POS("permit_valid_s", LIV, permit_valid_s, 60),
    [LV_PERMIT_PERIOD] = POS("permit_period_s", LIV, permit_period_s, 60),
    [LV_JUMP_TOLERANCE] = POS("clock_jump_tolerance_s", LIV, clock_jump_tolerance_s, MAX_SILENT_S),
    /* A count of messages; 0 = no advisory (gaps are still counted and audited). */
    [LV_SEQ_GAP] = {.name = "seq_gap_advisory_missing",
                    .type = DG_YAML_DOUBLE,
                    .offset = offsetof(LIV, seq_gap_advisory_missing),
                    .min_d = 0,
                    .max_d = 1000000,
                    .whole = true},
    [LV_DQ_CLEAR] = POS("data_quality_clear_s", LIV, data_quality_clear_s, 86400),
};
static const struct order_rule liveness_orders[] = {
    {LV_VITALS_WARN, LV_VITALS_CRIT, false},
    {LV_PUMP_WARN, LV_PUMP_CRIT, false},
    {LV_PERMIT_PERIOD, LV_PERMIT_VALID, false},
};
static const struct section liveness_section =
    SECTION("liveness", liveness_keys, ORDERS(liveness_orders), NO_ACTION);
#undef LIV

/* ------------------------------------------------------------ file bytes */

/* SHA-256 of buf[len] as 64 lowercase hex digits into hex (65 bytes).
   Errors: "NAME: SHA-256 failed". */
static int sha256_hex(const char *name, const unsigned char *buf, size_t len, char hex[65],
                      char *err, size_t errlen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        snprintf(err, errlen, "%s: SHA-256 failed", name);
        return -DG_EIO;
    }
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/*
 * Read the whole regular file at path into *buf (dg_malloc'd, caller frees)
 * and its SHA-256 into hex (65 bytes). Errors: "FILE: cannot open: strerror".
 */
static int read_and_hash(const char *path, unsigned char **buf, size_t *len, char hex[65],
                         char *err, size_t errlen)
{
    unsigned char *data = NULL;
    struct stat st;
    int rc;

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -DG_ECONFIG;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        rc = -DG_ECONFIG;
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: cannot read: not a regular file", path);
        rc = -DG_ECONFIG;
        goto fail;
    }
    if (st.st_size > DG_CONFIG_FILE_MAX) {
        snprintf(err, errlen, "%s: cannot read: larger than %d bytes", path, DG_CONFIG_FILE_MAX);
        rc = -DG_ECONFIG;
        goto fail;
    }
    size_t size = (size_t)st.st_size;
    data = dg_malloc(size + 1);
    if (!data) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = -DG_ENOMEM;
        goto fail;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, data + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
            rc = -DG_ECONFIG;
            goto fail;
        }
        if (n == 0) break; /* shrank while we read: parse and hash what is there */
        got += (size_t)n;
    }
    data[got] = '\0';

    rc = sha256_hex(path, data, got, hex, err, errlen);
    if (rc != 0) goto fail;

    close(fd);
    *buf = data;
    *len = got;
    return 0;

fail:
    dg_free(data);
    close(fd);
    return rc;
}

/* The absolute directory of path (for resolving relative paths inside it),
   so a later chdir or a Paho reconnect reads the same files. */
static int dir_of(const char *path, char *out, size_t outlen)
{
    char dir[DG_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof dir) return -1;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    char *abs = realpath(dir, NULL); /* libc malloc: free(), not dg_free() */
    const char *use = abs ? abs : dir;
    int n = snprintf(out, outlen, "%s", use);
    free(abs);
    return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

/* -------------------------------------------------------- TLS file checks */

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1; /* never prompt on a terminal; an encrypted key is refused */
}

/* Number of PEM certificates in file; *first (optional) gets the first one
   (caller X509_free()s it). */
static int count_certs(const char *file, X509 **first)
{
    int n = 0;
    BIO *bio = BIO_new_file(file, "r");
    if (!bio) return 0;
    X509 *x;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (n == 0 && first)
            *first = x;
        else
            X509_free(x);
        n++;
    }
    BIO_free(bio);
    return n;
}

static EVP_PKEY *read_key(const char *file)
{
    BIO *bio = BIO_new_file(file, "r");
    if (!bio) return NULL;
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    return k;
}

/*
 * Check the PEM files of one link. hits are the link's key hits; only files
 * named in this mapping are checked (inherited ones were checked where they
 * were named), but the certificate/key pair is always checked together.
 */
static int check_tls_files(struct dg_yaml *y, const char *lpath, const struct dg_link_settings *l,
                           const struct dg_yaml_hit *hits, const yaml_node_t *link_key)
{
    char kpath[160];
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    int rc = 0;

    if (hits[L_CA].value && count_certs(l->ca_file, NULL) == 0) {
        rc = dg_yaml_fail(y, hits[L_CA].value, dg_yaml_join(kpath, sizeof kpath, lpath, "ca_file"),
                          "%s holds no PEM certificate", l->ca_file);
        goto out;
    }
    if (!hits[L_CERT].value && !hits[L_KEY].value) goto out;
    if (count_certs(l->cert_file, &cert) == 0) {
        const yaml_node_t *n = hits[L_CERT].value ? hits[L_CERT].value : link_key;
        rc = dg_yaml_fail(y, n, dg_yaml_join(kpath, sizeof kpath, lpath, "cert_file"),
                          "%s holds no PEM certificate", l->cert_file);
        goto out;
    }
    key = read_key(l->key_file);
    if (!key) {
        const yaml_node_t *n = hits[L_KEY].value ? hits[L_KEY].value : link_key;
        rc = dg_yaml_fail(y, n, dg_yaml_join(kpath, sizeof kpath, lpath, "key_file"),
                          "%s holds no PEM private key, or it is encrypted (not supported)",
                          l->key_file);
        goto out;
    }
    if (X509_check_private_key(cert, key) != 1) {
        const char *name = hits[L_KEY].value ? "key_file" : "cert_file";
        const yaml_node_t *n = hits[L_KEY].value ? hits[L_KEY].value : hits[L_CERT].value;
        rc =
            dg_yaml_fail(y, n, dg_yaml_join(kpath, sizeof kpath, lpath, name),
                         "private key %s does not match certificate %s", l->key_file, l->cert_file);
        goto out;
    }
out:
    EVP_PKEY_free(key);
    X509_free(cert);
    ERR_clear_error(); /* failed PEM reads leave entries that would confuse later TLS logs */
    return rc;
}

/*
 * The audit signing key (audit.key_file) must be an unencrypted Ed25519
 * private key: the gateway signs checkpoints with it (audit.c).
 */
static int check_audit_key(struct dg_yaml *y, const struct dg_audit_settings *a,
                           const yaml_node_t *node)
{
    int rc = 0;
    EVP_PKEY *key = read_key(a->key_file);
    if (!key)
        rc = dg_yaml_fail(y, node, "audit.key_file",
                          "%s holds no PEM private key, or it is encrypted (not supported)",
                          a->key_file);
    else if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519)
        rc = dg_yaml_fail(y, node, "audit.key_file",
                          "%s is an %s key, not Ed25519 (make one with: openssl genpkey "
                          "-algorithm ed25519)",
                          a->key_file,
                          EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "other");
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}

/* ----------------------------------------------------------- drug library */

/* The value of a numeric key (DOUBLE, INT, FLAG or ENUM) stored in base. */
static double key_value(const struct dg_yaml_key *k, const void *base)
{
    const char *p = (const char *)base + k->offset;
    if (k->type == DG_YAML_DOUBLE) {
        double d;
        memcpy(&d, p, sizeof d);
        return d;
    }
    int i;
    memcpy(&i, p, sizeof i);
    return i;
}

/*
 * One order rule of section s (mapping at path, walked into base with hits).
 * The error names the key written in the file: the upper one if it is,
 * else the lower one (the other value is then a default, and says so).
 */
static int check_order(struct dg_yaml *y, const struct section *s, const char *path,
                       const yaml_node_t *map, const struct dg_yaml_hit *hits,
                       const struct order_rule *o, const void *base)
{
    char kpath[160];
    const struct dg_yaml_key *lo = &s->keys[o->lo], *hi = &s->keys[o->hi];
    double a = key_value(lo, base), b = key_value(hi, base);
    if (!(a > 0 && b > 0) || (o->or_equal ? a <= b : a < b)) return 0;
    if (hits[o->hi].value)
        return dg_yaml_fail(y, hits[o->hi].value, dg_yaml_join(kpath, sizeof kpath, path, hi->name),
                            "must be %s %s (%g%s), got %g",
                            o->or_equal ? "at least" : "greater than", lo->name, a,
                            hits[o->lo].value ? "" : ", the default", b);
    return dg_yaml_fail(y, hits[o->lo].value ? hits[o->lo].value : map,
                        dg_yaml_join(kpath, sizeof kpath, path, lo->name),
                        "must be %s %s (%g, the default), got %g",
                        o->or_equal ? "at most" : "less than", hi->name, b, a);
}

/* Walk the mapping map, the section s under parent, into base, then check
   what its table cannot: order rules, and an action that has no effect. */
static int walk_section(struct dg_yaml *y, const struct section *s, const yaml_node_t *map,
                        const char *parent, void *base)
{
    char path[96], kpath[160];
    struct dg_yaml_hit hits[16];
    assert(s->nkeys <= ARRAY_LEN(hits));

    dg_yaml_join(path, sizeof path, parent, s->name);
    int rc = dg_yaml_map(y, map, path, s->keys, s->nkeys, base, hits);
    if (rc != 0) return rc;
    for (size_t i = 0; i < s->norders; i++) {
        rc = check_order(y, s, path, map, hits, &s->orders[i], base);
        if (rc != 0) return rc;
    }
    if (s->action >= 0 && hits[s->action].value) {
        double v = key_value(&s->keys[s->needs], base);
        if (s->needs_zero ? v != 0 : !(v > 0))
            return dg_yaml_fail(y, hits[s->action].value,
                                dg_yaml_join(kpath, sizeof kpath, path, s->keys[s->action].name),
                                "%s", s->why);
    }
    return 0;
}

/*
 * Parse the drug library text buf[len] (borrowed, only read during the call)
 * named `name` in errors into lib, whose sha256_hex the caller has already
 * set (everything else is overwritten or left from a partial parse on
 * failure). Vitals, liveness and each entry's actions start from the
 * contract's defaults (dg_druglib_defaults, dg_drug_defaults); an entry's
 * limits start at 0, "no such limit".
 */
static int parse_druglib(struct dg_druglib *lib, const char *name, const char *dir,
                         const unsigned char *buf, size_t len, char *err, size_t errlen)
{
    struct dg_yaml y;
    struct dg_yaml_hit root_hits[ARRAY_LEN(druglib_root_keys)];
    /* Line of each entry's id, for "first at line N". */
    size_t id_line[DG_DRUGS_MAX];
    char dpath[64], kpath[160];
    int rc;

    dg_druglib_defaults(lib);
    rc = dg_yaml_parse(&y, name, dir, buf, len, err, errlen);
    if (rc != 0) return rc;

    const yaml_node_t *root = dg_yaml_root(&y);
    rc = dg_yaml_map(&y, root, "", druglib_root_keys, ARRAY_LEN(druglib_root_keys), lib, root_hits);
    if (rc != 0) goto fail;
    rc = dg_yaml_map(&y, root_hits[D_LIBRARY].value, "library", library_keys,
                     ARRAY_LEN(library_keys), lib, NULL);
    if (rc != 0) goto fail;

    const yaml_node_t *drugs = root_hits[D_DRUGS].value;
    size_t n = dg_yaml_seq_len(drugs);
    if (n == 0) {
        rc = dg_yaml_fail(&y, drugs, "drugs", "must list at least one drug");
        goto fail;
    }
    if (n > DG_DRUGS_MAX) {
        rc = dg_yaml_fail(&y, dg_yaml_seq_item(&y, drugs, DG_DRUGS_MAX), "drugs",
                          "at most %d drugs are supported, got %zu", DG_DRUGS_MAX, n);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        struct dg_drug *d = &lib->drugs[i];
        struct dg_yaml_hit hits[ARRAY_LEN(drug_keys)];

        snprintf(dpath, sizeof dpath, "drugs[%zu]", i);
        memset(d, 0, sizeof *d);
        dg_drug_defaults(d, 0);
        rc = dg_yaml_map(&y, dg_yaml_seq_item(&y, drugs, i), dpath, drug_keys, ARRAY_LEN(drug_keys),
                         d, hits);
        if (rc != 0) goto fail;
        id_line[i] = dg_yaml_line(hits[DR_ID].value);
        for (size_t k = 0; k < ARRAY_LEN(drug_sections); k++) {
            if (!hits[DR_RATE + k].value) continue;
            rc = walk_section(&y, &drug_sections[k], hits[DR_RATE + k].value, dpath, d);
            if (rc != 0) goto fail;
        }

        /* dg_druglib_find() must never have two candidates. */
        for (size_t j = 0; j < i; j++) {
            const struct dg_drug *e = &lib->drugs[j];
            if (strcmp(e->id, d->id) == 0 && strcmp(e->care_area, d->care_area) == 0) {
                char area[80];
                if (d->care_area[0])
                    snprintf(area, sizeof area, "care area \"%s\"", d->care_area);
                else
                    snprintf(area, sizeof area, "no care area (any)");
                rc = dg_yaml_fail(&y, hits[DR_ID].value,
                                  dg_yaml_join(kpath, sizeof kpath, dpath, "id"),
                                  "duplicate entry for drug \"%s\" with %s (first at line %zu)",
                                  d->id, area, id_line[j]);
                goto fail;
            }
        }
        lib->n_drugs = i + 1;
    }

    if (root_hits[D_VITALS].value) {
        struct dg_yaml_hit vhits[ARRAY_LEN(vitals_keys)];
        rc = dg_yaml_map(&y, root_hits[D_VITALS].value, "vitals", vitals_keys,
                         ARRAY_LEN(vitals_keys), &lib->vitals, vhits);
        if (rc != 0) goto fail;
        for (size_t k = 0; k < ARRAY_LEN(vitals_sections); k++) {
            if (!vhits[k].value) continue;
            rc = walk_section(&y, &vitals_sections[k], vhits[k].value, "vitals", &lib->vitals);
            if (rc != 0) goto fail;
        }
    }
    if (root_hits[D_LIVENESS].value) {
        rc = walk_section(&y, &liveness_section, root_hits[D_LIVENESS].value, "", &lib->liveness);
        if (rc != 0) goto fail;
    }

    dg_yaml_close(&y);
    return 0;

fail:
    dg_yaml_close(&y);
    return rc;
}

/* The drug library in the file at path (dg_config_load). */
static int load_druglib(struct dg_druglib *lib, const char *path, char *err, size_t errlen)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    char dir[DG_PATH_MAX];
    int rc;

    memset(lib, 0, sizeof *lib);
    rc = read_and_hash(path, &buf, &len, lib->sha256_hex, err, errlen);
    if (rc != 0) return rc;
    if (dir_of(path, dir, sizeof dir) != 0) {
        snprintf(err, errlen, "%s: directory path too long", path);
        dg_free(buf);
        return -DG_ECONFIG;
    }
    rc = parse_druglib(lib, path, dir, buf, len, err, errlen);
    dg_free(buf);
    return rc;
}

/* Bytes given to dg_config_parse() instead of a file: text, length, name. */
struct mem_text {
    const unsigned char *buf;
    size_t len;
    const char *name;
};

/* libyaml wants a non-NULL input even for zero bytes. */
static const unsigned char empty_text[1];

static int check_mem_text(struct mem_text *t, char *err, size_t errlen)
{
    if (!t->buf && t->len == 0) t->buf = empty_text;
    if (!t->buf) {
        snprintf(err, errlen, "%s: cannot read: %s", t->name, strerror(EINVAL));
        return -DG_EINVAL;
    }
    if (t->len > DG_CONFIG_FILE_MAX) {
        snprintf(err, errlen, "%s: cannot read: larger than %d bytes", t->name, DG_CONFIG_FILE_MAX);
        return -DG_ECONFIG;
    }
    return 0;
}

/* The drug library in memory (dg_config_parse). */
static int parse_druglib_mem(struct dg_druglib *lib, struct mem_text t, char *err, size_t errlen)
{
    memset(lib, 0, sizeof *lib);
    int rc = check_mem_text(&t, err, errlen);
    if (rc != 0) return rc;
    rc = sha256_hex(t.name, t.buf, t.len, lib->sha256_hex, err, errlen);
    if (rc != 0) return rc;
    return parse_druglib(lib, t.name, "", t.buf, t.len, err, errlen);
}

/* ------------------------------------------------------------ site config */

/* Default client id "<gateway id><suffix>", refused if it does not fit. */
static int default_client_id(struct dg_yaml *y, struct dg_link_settings *l, const char *gw_id,
                             const char *suffix, const char *lpath, const yaml_node_t *node)
{
    char kpath[160];
    int n = snprintf(l->client_id, sizeof l->client_id, "%s%s", gw_id, suffix);
    if (n < 0 || (size_t)n >= sizeof l->client_id)
        return dg_yaml_fail(y, node, dg_yaml_join(kpath, sizeof kpath, lpath, "client_id"),
                            "the default \"<gateway.id>%s\" is longer than %zu characters; set "
                            "client_id",
                            suffix, sizeof l->client_id - 1);
    return 0;
}

/*
 * Memory mode walks copies of the schema in which every path key is a plain
 * string: stored as written, neither resolved nor opened.
 */
static void path_keys_as_strings(struct dg_yaml_key *dst, const struct dg_yaml_key *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dst[i] = src[i];
        if (dst[i].type == DG_YAML_PATH) dst[i].type = DG_YAML_STRING;
    }
}

/* Sort by id, then by position in the file (so the first of equal ids is
   the one written first). */
static int by_id_then_index(const void *a, const void *b)
{
    const struct inventory_item *x = a, *y = b;
    int c = strcmp(x->e.id, y->e.id);
    if (c != 0) return c;
    return (x->index > y->index) - (x->index < y->index);
}

/*
 * One prefix must not start with the other unless an inventory says which
 * kind each device is: else one id could pass as both kinds, and the kind
 * rule (identity.h) would tell a pump from a monitor by nothing. The error
 * names the prefix written in the file (the later one if both are).
 */
static int check_prefixes(struct dg_yaml *y, const struct dg_devices_settings *d,
                          const struct dg_yaml_hit *hits)
{
    const char *p = d->pump_id_prefix, *m = d->monitor_id_prefix;
    if (d->have_inventory) return 0;
    if (strncmp(p, m, strlen(p)) != 0 && strncmp(m, p, strlen(m)) != 0) return 0;
    bool name_monitor = hits[DV_MONITOR_PREFIX].value != NULL;
    return dg_yaml_fail(
        y, name_monitor ? hits[DV_MONITOR_PREFIX].value : hits[DV_PUMP_PREFIX].value,
        name_monitor ? "devices.monitor_id_prefix" : "devices.pump_id_prefix",
        "\"%s\" and %s \"%s\"%s overlap (one starts with the other), so an id alone cannot "
        "tell a pump from a monitor: use prefixes that do not, or list every device with its kind "
        "in devices.inventory",
        name_monitor ? m : p, name_monitor ? "pump_id_prefix" : "monitor_id_prefix",
        name_monitor ? p : m,
        (name_monitor ? hits[DV_PUMP_PREFIX].value : hits[DV_MONITOR_PREFIX].value)
            ? ""
            : " (the default)");
}

/* Does one of a and b start with the other (equal included)? */
static bool prefixes_overlap(const char *a, const char *b)
{
    return strncmp(a, b, strlen(a)) == 0 || strncmp(b, a, strlen(b)) == 0;
}

/*
 * The dashboard prefix must not overlap either device prefix, inventory or
 * not: the inventory lists pumps and monitors only, so nothing else could
 * tell a dashboard's id from a device's. Names the dashboard prefix if the
 * file sets it, else the device prefix the file sets.
 */
static int check_dashboard_prefix(struct dg_yaml *y, const struct dg_devices_settings *d,
                                  const struct dg_yaml_hit *hits)
{
    static const struct {
        int hit;
        const char *key;
    } dev[] = {{DV_PUMP_PREFIX, "pump_id_prefix"}, {DV_MONITOR_PREFIX, "monitor_id_prefix"}};
    const char *dash = d->dashboard_id_prefix;
    for (size_t i = 0; i < ARRAY_LEN(dev); i++) {
        const char *other = dev[i].hit == DV_PUMP_PREFIX ? d->pump_id_prefix : d->monitor_id_prefix;
        if (!prefixes_overlap(dash, other)) continue;
        bool name_dash = hits[DV_DASHBOARD_PREFIX].value != NULL;
        char key[48];
        snprintf(key, sizeof key, "devices.%s", name_dash ? "dashboard_id_prefix" : dev[i].key);
        return dg_yaml_fail(
            y, name_dash ? hits[DV_DASHBOARD_PREFIX].value : hits[dev[i].hit].value, key,
            "\"%s\" and %s \"%s\"%s overlap (one starts with the other), so an id alone cannot "
            "tell a dashboard from a %s: use prefixes that do not",
            name_dash ? dash : other, name_dash ? dev[i].key : "dashboard_id_prefix",
            name_dash ? other : dash,
            (name_dash ? hits[dev[i].hit].value : hits[DV_DASHBOARD_PREFIX].value)
                ? ""
                : " (the default)",
            dev[i].hit == DV_PUMP_PREFIX ? "pump" : "monitor");
    }
    return 0;
}

/*
 * The devices: mapping into d, whose prefixes hold their defaults. The
 * inventory, if any, is stored sorted by id in one dg_calloc'd array that d
 * owns only on success (dg_config_free); on failure d->inventory is left
 * NULL and nothing stays allocated.
 */
static int parse_devices(struct dg_yaml *y, const yaml_node_t *map, struct dg_devices_settings *d)
{
    struct dg_yaml_hit hits[ARRAY_LEN(devices_keys)];
    struct inventory_item *items = NULL;
    char path[64], kpath[160];

    int rc = dg_yaml_map(y, map, "devices", devices_keys, ARRAY_LEN(devices_keys), d, hits);
    if (rc != 0) return rc;
    const yaml_node_t *inv = hits[DV_INVENTORY].value;
    d->have_inventory = inv != NULL;
    rc = check_prefixes(y, d, hits);
    if (rc == 0) rc = check_dashboard_prefix(y, d, hits);
    if (rc != 0 || !inv) return rc;

    size_t n = dg_yaml_seq_len(inv);
    if (n > DG_INVENTORY_MAX)
        return dg_yaml_fail(y, hits[DV_INVENTORY].key, "devices.inventory",
                            "at most %d devices are supported, got %zu", DG_INVENTORY_MAX, n);
    if (n == 0) return 0; /* present and empty: every device is refused */
    items = dg_calloc(n, sizeof *items);
    if (!items) {
        snprintf(y->err, y->errlen, "%s: out of memory", y->file);
        return -DG_ENOMEM;
    }

    for (size_t i = 0; i < n; i++) {
        struct inventory_item *it = &items[i];
        struct dg_yaml_hit ih[ARRAY_LEN(inventory_keys)];
        snprintf(path, sizeof path, "devices.inventory[%zu]", i);
        rc = dg_yaml_map(y, dg_yaml_seq_item(y, inv, i), path, inventory_keys,
                         ARRAY_LEN(inventory_keys), it, ih);
        if (rc != 0) goto out;
        assert(it->kind >= 0 && (size_t)it->kind < ARRAY_LEN(device_kind_of));
        it->e.kind = device_kind_of[it->kind];
        it->index = i;
        it->id_node = ih[IN_ID].value;
        /* The kind rule (identity.h) must accept what the inventory lists. */
        bool pump = it->e.kind == DG_DEVICE_PUMP;
        const char *prefix = pump ? d->pump_id_prefix : d->monitor_id_prefix;
        size_t plen = strlen(prefix);
        if (strncmp(it->e.id, prefix, plen) != 0 || it->e.id[plen] == '\0') {
            rc = dg_yaml_fail(y, ih[IN_ID].value, dg_yaml_join(kpath, sizeof kpath, path, "id"),
                              "a %s's id must be %s \"%s\" followed by a name (got \"%s\")",
                              device_kinds[it->kind], pump ? "pump_id_prefix" : "monitor_id_prefix",
                              prefix, it->e.id);
            goto out;
        }
    }

    /* Sorted for dg_identity_check()'s binary search; equal ids are then
       neighbours, the one written first ahead. Of all duplicates, name the
       one that comes first in the file. */
    qsort(items, n, sizeof *items, by_id_then_index);
    size_t dup = n, first = n;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(items[i].e.id, items[i - 1].e.id) != 0) continue;
        bool second_of_run = i == 1 || strcmp(items[i - 1].e.id, items[i - 2].e.id) != 0;
        if (second_of_run && (dup == n || items[i].index < items[dup].index)) {
            dup = i;
            first = i - 1;
        }
    }
    if (dup < n) {
        snprintf(path, sizeof path, "devices.inventory[%zu]", items[dup].index);
        rc = dg_yaml_fail(y, items[dup].id_node, dg_yaml_join(kpath, sizeof kpath, path, "id"),
                          "duplicate device id \"%s\" (first at line %zu)", items[dup].e.id,
                          dg_yaml_line(items[first].id_node));
        goto out;
    }

    d->inventory = dg_calloc(n, sizeof *d->inventory);
    if (!d->inventory) {
        snprintf(y->err, y->errlen, "%s: out of memory", y->file);
        rc = -DG_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        d->inventory[i] = items[i].e;
    d->n_inventory = n;
out:
    dg_free(items);
    return rc;
}

/*
 * Parse the config text buf[len] (borrowed, only read during the call),
 * named path in errors, into c, whose path and sha256_hex the caller has
 * set. mem_lib NULL: files are checked and the drug library is read from the
 * file the config names (dg_config_load); otherwise nothing is opened and the
 * drug library is mem_lib (dg_config_parse).
 */
static int parse_config(struct dg_config *c, const char *path, const char *dir,
                        const unsigned char *buf, size_t len, const struct mem_text *mem_lib,
                        char *err, size_t errlen)
{
    struct dg_yaml y;
    struct dg_yaml_hit root_hits[ARRAY_LEN(root_keys)];
    struct dg_yaml_hit gw_hits[ARRAY_LEN(gateway_keys)];
    struct dg_yaml_hit dev_hits[ARRAY_LEN(device_link_keys)];
    struct dg_yaml_hit cli_hits[ARRAY_LEN(clinic_link_keys)];
    struct dg_yaml_hit audit_hits[ARRAY_LEN(audit_keys)];
    struct dg_yaml_key mem_root_keys[ARRAY_LEN(root_keys)];
    struct dg_yaml_key mem_audit_keys[ARRAY_LEN(audit_keys)];
    struct dg_yaml_key mem_device_link_keys[ARRAY_LEN(device_link_keys)];
    struct dg_yaml_key mem_clinic_link_keys[ARRAY_LEN(clinic_link_keys)];
    const struct dg_yaml_key *rkeys = root_keys;
    const struct dg_yaml_key *dkeys = device_link_keys;
    const struct dg_yaml_key *ckeys = clinic_link_keys;
    const struct dg_yaml_key *akeys = audit_keys;
    int rc;

    if (mem_lib) {
        path_keys_as_strings(mem_root_keys, root_keys, ARRAY_LEN(root_keys));
        path_keys_as_strings(mem_device_link_keys, device_link_keys, ARRAY_LEN(device_link_keys));
        path_keys_as_strings(mem_clinic_link_keys, clinic_link_keys, ARRAY_LEN(clinic_link_keys));
        path_keys_as_strings(mem_audit_keys, audit_keys, ARRAY_LEN(audit_keys));
        akeys = mem_audit_keys;
        rkeys = mem_root_keys;
        dkeys = mem_device_link_keys;
        ckeys = mem_clinic_link_keys;
    }

    rc = dg_yaml_parse(&y, path, dir, buf, len, err, errlen);
    if (rc != 0) return rc;

    /* Defaults (docs/config.md); the walks overwrite what the file sets. */
    c->log_level = DG_LOG_INFO;
    c->status_interval_s = 30;
    c->permit_to_infuse = false;
    c->device_time_scale = 1;
    c->disk_budget_mb = 256;
    c->max_msgs_per_s_per_device = 20;
    c->device_link.keepalive_s = 10;
    c->audit.checkpoint_every = 100;
    c->audit.checkpoint_interval_s = 60;
    snprintf(c->devices.pump_id_prefix, sizeof c->devices.pump_id_prefix, "pump-");
    snprintf(c->devices.monitor_id_prefix, sizeof c->devices.monitor_id_prefix, "monitor-");
    snprintf(c->devices.dashboard_id_prefix, sizeof c->devices.dashboard_id_prefix, "dashboard-");

    const yaml_node_t *root = dg_yaml_root(&y);
    rc = dg_yaml_map(&y, root, "", rkeys, ARRAY_LEN(root_keys), c, root_hits);
    if (rc != 0) goto fail;

    /* gateway */
    rc = dg_yaml_map(&y, root_hits[R_GATEWAY].value, "gateway", gateway_keys,
                     ARRAY_LEN(gateway_keys), c, gw_hits);
    if (rc != 0) goto fail;
    if (!gw_hits[G_TOPIC_ROOT].value)
        snprintf(c->topic_root, sizeof c->topic_root, "dosegate/v1/%s", c->site);
    /* The state directory, relative to the config file's directory. */
    if (!c->state_dir[0]) snprintf(c->state_dir, sizeof c->state_dir, "state");
    if (c->state_dir[0] != '/' && dir && dir[0]) {
        char joined[DG_PATH_MAX];
        int n = snprintf(joined, sizeof joined, "%s/%s", dir, c->state_dir);
        if (n < 0 || (size_t)n >= sizeof joined) {
            rc = dg_yaml_fail(&y, gw_hits[G_STATE_DIR].value ? gw_hits[G_STATE_DIR].value : root,
                              "gateway.state_dir", "path too long");
            goto fail;
        }
        memcpy(c->state_dir, joined, sizeof joined);
    }

    /* device_link */
    rc = dg_yaml_map(&y, root_hits[R_DEVICE].value, "device_link", dkeys,
                     ARRAY_LEN(device_link_keys), &c->device_link, dev_hits);
    if (rc != 0) goto fail;
    if (!dev_hits[L_CLIENT_ID].value) {
        rc = default_client_id(&y, &c->device_link, c->gateway_id, "-device", "device_link",
                               root_hits[R_DEVICE].key);
        if (rc != 0) goto fail;
    }
    if (!mem_lib) {
        rc = check_tls_files(&y, "device_link", &c->device_link, dev_hits, root_hits[R_DEVICE].key);
        if (rc != 0) goto fail;
    }

    /* clinic_link: device_link's settings unless overridden here. */
    c->clinic_link = c->device_link;
    c->clinic_link.client_id[0] = '\0';
    memset(cli_hits, 0, sizeof cli_hits);
    if (root_hits[R_CLINIC].value) {
        rc = dg_yaml_map(&y, root_hits[R_CLINIC].value, "clinic_link", ckeys,
                         ARRAY_LEN(clinic_link_keys), &c->clinic_link, cli_hits);
        if (rc != 0) goto fail;
        if (!mem_lib) {
            rc = check_tls_files(&y, "clinic_link", &c->clinic_link, cli_hits,
                                 root_hits[R_CLINIC].key);
            if (rc != 0) goto fail;
        }
    }
    if (!cli_hits[L_CLIENT_ID].value) {
        const yaml_node_t *n = root_hits[R_CLINIC].key ? root_hits[R_CLINIC].key : root;
        rc = default_client_id(&y, &c->clinic_link, c->gateway_id, "-clinic", "clinic_link", n);
        if (rc != 0) goto fail;
    }
    /* Two sessions with one client id on one broker evict each other forever. */
    if (strcmp(c->clinic_link.client_id, c->device_link.client_id) == 0) {
        const yaml_node_t *n = cli_hits[L_CLIENT_ID].value   ? cli_hits[L_CLIENT_ID].value
                               : dev_hits[L_CLIENT_ID].value ? dev_hits[L_CLIENT_ID].value
                                                             : root;
        rc = dg_yaml_fail(
            &y, n, cli_hits[L_CLIENT_ID].value ? "clinic_link.client_id" : "device_link.client_id",
            "device_link and clinic_link must use different client ids (both are "
            "\"%s\")",
            c->clinic_link.client_id);
        goto fail;
    }

    /* audit: the key, or the explicit opt-out (checked below, once the rest
       of the file and the drug library are known to be valid). */
    memset(audit_hits, 0, sizeof audit_hits);
    if (root_hits[R_AUDIT].value) {
        rc = dg_yaml_map(&y, root_hits[R_AUDIT].value, "audit", akeys, ARRAY_LEN(audit_keys),
                         &c->audit, audit_hits);
        if (rc != 0) goto fail;
        if (!mem_lib && audit_hits[A_KEY].value) {
            rc = check_audit_key(&y, &c->audit, audit_hits[A_KEY].value);
            if (rc != 0) goto fail;
        }
    }

    /* devices: which ids are accepted as pumps and monitors (identity.h). */
    if (root_hits[R_DEVICES].value) {
        rc = parse_devices(&y, root_hits[R_DEVICES].value, &c->devices);
        if (rc != 0) goto fail;
    }

    /* drug_library: its own file; its errors name that file. */
    if (mem_lib)
        rc = parse_druglib_mem(&c->druglib, *mem_lib, err, errlen);
    else
        rc = load_druglib(&c->druglib, c->drug_library_path, err, errlen);
    if (rc != 0) goto fail;

    /* The audit trail is signed unless the file says otherwise, in so many
       words: a missing key is an error, not a quiet downgrade. */
    if (!c->audit.key_file[0] && !c->audit.allow_unsigned) {
        rc = dg_yaml_fail(&y, root_hits[R_AUDIT].value ? root_hits[R_AUDIT].value : root,
                          "audit.key_file",
                          "required key is missing; set audit.unsigned: true to run without "
                          "signed checkpoints");
        goto fail;
    }
    if (c->audit.key_file[0] && c->audit.allow_unsigned) {
        rc = dg_yaml_fail(&y, audit_hits[A_UNSIGNED].value, "audit.unsigned",
                          "true contradicts audit.key_file (%s): remove one of them",
                          c->audit.key_file);
        goto fail;
    }

    dg_yaml_close(&y);
    return 0;

fail:
    dg_yaml_close(&y);
    return rc;
}

/* Config name in errors and in c->path: refused if it does not fit. */
static int set_config_name(struct dg_config *c, const char *path, const char *what, char *err,
                           size_t errlen)
{
    if (strlen(path) >= sizeof c->path) {
        snprintf(err, errlen, "%s: %s longer than %zu characters", path, what, sizeof c->path - 1);
        return -DG_ECONFIG;
    }
    snprintf(c->path, sizeof c->path, "%s", path);
    return 0;
}

static int load_config(struct dg_config *c, const char *path, char *err, size_t errlen)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    char dir[DG_PATH_MAX];
    int rc;

    rc = set_config_name(c, path, "cannot open: path", err, errlen);
    if (rc != 0) return rc;
    rc = read_and_hash(path, &buf, &len, c->sha256_hex, err, errlen);
    if (rc != 0) return rc;
    if (dir_of(path, dir, sizeof dir) != 0) {
        snprintf(err, errlen, "%s: directory path too long", path);
        dg_free(buf);
        return -DG_ECONFIG;
    }
    rc = parse_config(c, path, dir, buf, len, NULL, err, errlen);
    dg_free(buf);
    return rc;
}

static int parse_config_mem(struct dg_config *c, struct mem_text cfg, const struct mem_text *lib,
                            char *err, size_t errlen)
{
    int rc = set_config_name(c, cfg.name, "name", err, errlen);
    if (rc != 0) return rc;
    rc = check_mem_text(&cfg, err, errlen);
    if (rc != 0) return rc;
    rc = sha256_hex(cfg.name, cfg.buf, cfg.len, c->sha256_hex, err, errlen);
    if (rc != 0) return rc;
    return parse_config(c, cfg.name, "", cfg.buf, cfg.len, lib, err, errlen);
}

/*
 * What both entry points share: argument checks, the private copy that is
 * handed over only on success. mem_cfg NULL: load the file at path.
 */
static int config_run(struct dg_config *cfg, const char *path, const struct mem_text *mem_cfg,
                      const struct mem_text *mem_lib, char *err, size_t errlen)
{
    char scratch[8];
    if (!err || errlen == 0) {
        err = scratch;
        errlen = sizeof scratch;
    }
    err[0] = '\0';
    if (!cfg || !path || (mem_cfg && !mem_lib->name)) {
        /* dg_config_load() names no file here; dg_config_parse() its config's name if any. */
        snprintf(err, errlen, "%s: cannot open: %s", mem_cfg && path ? path : "(null)",
                 strerror(EINVAL));
        return -DG_EINVAL;
    }
    struct dg_config *c = dg_calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -DG_ENOMEM;
    }
    int rc = mem_cfg ? parse_config_mem(c, *mem_cfg, mem_lib, err, errlen)
                     : load_config(c, path, err, errlen);
    if (rc == 0)
        *cfg = *c; /* hands over what c owns (the inventory) */
    else
        dg_config_free(c); /* what a later check refused after devices parsed */
    dg_free(c);
    return rc;
}

int dg_config_load(struct dg_config *cfg, const char *path, char *err, size_t errlen)
{
    return config_run(cfg, path, NULL, NULL, err, errlen);
}

int dg_config_parse(struct dg_config *cfg, const char *name, const unsigned char *buf, size_t len,
                    const char *lib_name, const unsigned char *lib_buf, size_t lib_len, char *err,
                    size_t errlen)
{
    struct mem_text mem_cfg = {buf, len, name};
    struct mem_text mem_lib = {lib_buf, lib_len, lib_name};
    return config_run(cfg, name, &mem_cfg, &mem_lib, err, errlen);
}

void dg_config_free(struct dg_config *cfg)
{
    if (!cfg) return;
    dg_free(cfg->devices.inventory);
    cfg->devices.inventory = NULL;
    cfg->devices.n_inventory = 0;
}
