/*
 * config.h — the site configuration (YAML) and the drug library it names.
 *
 * dg_config_load() reads and validates everything before the gateway starts;
 * a bad file is refused with an error naming the file, line and key
 * (`dosegate --check-config` prints the same). The reference for every key is
 * docs/config.md.
 */
#ifndef DG_CONFIG_H
#define DG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/druglib.h"

#define DG_PATH_MAX 512

struct dg_link_settings {
    char url[256];      /* ssl://host:port (TLS is mandatory) */
    char client_id[64]; /* default "<gateway id>-device" / "<gateway id>-clinic" */
    char ca_file[DG_PATH_MAX];
    char cert_file[DG_PATH_MAX];
    char key_file[DG_PATH_MAX];
    int keepalive_s; /* default 10, 2..600 */
};

/* The `audit:` section (docs/audit.md): signed checkpoints of the audit trail. */
struct dg_audit_settings {
    /* Ed25519 private key (PEM, unencrypted), resolved relative to the
       config file. Required unless allow_unsigned: the trail is signed by
       default. */
    char key_file[DG_PATH_MAX];
    /* `audit.unsigned: true`: the explicit opt-out. No key (the two are
       exclusive); the gateway runs without checkpoints, warns at start and
       audits "audit.unsigned". */
    bool allow_unsigned;
    int checkpoint_every;      /* a checkpoint after this many records; default 100, 1..100000 */
    int checkpoint_interval_s; /* ... or this long after an unsigned record; default 60, 1..86400 */
};

/* What a device certificate is: the kind decides which topics it may write.
   A dashboard writes only acknowledgements (<root>/ack/<its id>); the
   inventory lists pumps and monitors only. */
enum dg_device_kind { DG_DEVICE_PUMP = 1, DG_DEVICE_MONITOR = 2, DG_DEVICE_DASHBOARD = 3 };

/* Most entries devices.inventory may list (far more than a 1 MiB file can
   hold without YAML aliases; a bound on what a file can make us allocate). */
#define DG_INVENTORY_MAX 100000

/* One entry of the optional device inventory. */
struct dg_inventory_entry {
    char id[DG_ID_MAX]; /* the certificate's CN = the topic's device id */
    enum dg_device_kind kind;
    char bed_id[DG_ID_MAX]; /* "" = may report any bed; else only this one */
};

/*
 * The `devices:` section: which device ids the gateway accepts as what
 * (docs/config.md; the trust model is in docs/topics.md). The broker ACL
 * already binds a topic's device id to the certificate's CN; this is the
 * gateway's own, second check of the certificate's kind.
 */
struct dg_devices_settings {
    char pump_id_prefix[DG_ID_MAX];    /* a pump's id starts with this; default "pump-" */
    char monitor_id_prefix[DG_ID_MAX]; /* a monitor's id; default "monitor-" */
    /* A dashboard's id (the <dashboard_id> of an ack topic); default
       "dashboard-". Never overlaps the two device prefixes. */
    char dashboard_id_prefix[DG_ID_MAX];
    /* The inventory: when present (even empty) only devices listed here are
       accepted, as the kind listed (which must also agree with the prefix). */
    bool have_inventory;
    size_t n_inventory;
    struct dg_inventory_entry *inventory; /* sorted by id, ids unique; owned (dg_config_free) */
};

enum dg_log_level { DG_LOG_DEBUG = 0, DG_LOG_INFO = 1, DG_LOG_WARN = 2, DG_LOG_ERROR = 3 };

struct dg_config {
    char path[DG_PATH_MAX];      /* the file it was loaded from */
    char sha256_hex[65];         /* of the config file's bytes */
    char gateway_id[64];         /* required; [A-Za-z0-9_.-]+ */
    char site[64];               /* required; [A-Za-z0-9_.-]+ */
    char topic_root[192];        /* default "dosegate/v1/<site>" */
    enum dg_log_level log_level; /* default info */
    struct dg_link_settings device_link;
    struct dg_link_settings clinic_link; /* default: a copy of device_link, client id "-clinic" */
    int status_interval_s;               /* republish GatewayStatus; default 30, 1..3600 */
    bool permit_to_infuse;               /* default false (issue 3) */
    /* How much faster than real time device clocks advance: 1 for real
       devices; a simulator running at 60x sets 60. Above 1 the clock-skew
       check judges only a device's first message. Default 1, 1..1000. */
    double device_time_scale;
    char state_dir[DG_PATH_MAX]; /* state store directory; default "state" beside the config file */
    int disk_budget_mb;          /* outbox budget; default 256, 1..1048576 */
    int max_msgs_per_s_per_device; /* flood limit (x device_time_scale); default 20 */
    struct dg_audit_settings audit;
    struct dg_devices_settings devices;
    char drug_library_path[DG_PATH_MAX]; /* resolved relative to the config file */
    struct dg_druglib druglib;
};

/*
 * Load and validate the config at path and the drug library it names.
 * Relative paths inside the file are resolved against the file's directory.
 * On success returns 0 and *cfg owns the device inventory, if any: release it
 * with dg_config_free() (first, when loading into a config that holds one).
 * On failure returns -DG_ECONFIG (-DG_ENOMEM when memory ran out) and writes
 * one line "FILE:LINE: KEY: problem" into err (errlen bytes); *cfg is then
 * left untouched.
 */
int dg_config_load(struct dg_config *cfg, const char *path, char *err, size_t errlen);

/*
 * dg_config_load() on bytes instead of files, for fuzzers and tests: buf
 * (len bytes) is the config's text and lib_buf (lib_len bytes) the drug
 * library's; both are borrowed and only read during the call, need no
 * terminating NUL, and may be NULL when their length is 0. name is used for
 * the config in errors and copied into cfg->path; lib_name likewise names
 * the drug library's errors. cfg->sha256_hex and cfg->druglib.sha256_hex are
 * of the given bytes.
 *
 * Differences from dg_config_load(), because nothing is opened: the
 * config's file paths (drug_library, ca_file, cert_file, key_file,
 * audit.key_file) are
 * stored exactly as written, neither resolved against a directory nor
 * checked to be readable regular files; the certificate and key checks (PEM
 * contents, key matches certificate, key not encrypted, audit key is
 * Ed25519) are skipped; and the
 * drug library is lib_buf whatever drug_library names. Every other check and
 * default is the same code. Returns, errors and ownership as
 * dg_config_load(), and *cfg is written only on success.
 */
int dg_config_parse(struct dg_config *cfg, const char *name, const unsigned char *buf, size_t len,
                    const char *lib_name, const unsigned char *lib_buf, size_t lib_len, char *err,
                    size_t errlen);

/* Free what a loaded config owns (the inventory) and leave it empty. Safe on
   a zeroed or already freed config. */
void dg_config_free(struct dg_config *cfg);

#endif
