/*
 * main.c — the dosegate command line: load and check the configuration,
 * then run the gateway (gateway/io/gateway.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <MQTTAsync.h>

#include "core/alloc.h"
#include "io/config.h"
#include "io/gateway.h"
#include "io/log.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dosegate --config FILE [--log-level LEVEL]\n"
            "       dosegate --check-config FILE\n"
            "\n"
            "MQTT telemetry gateway for networked infusion pumps: subscribes over mutual TLS\n"
            "to pump telemetry and vital signs, applies the drug library's interlocks and\n"
            "publishes alerts, per-bed alarm state, pause/stop commands and an audit trail.\n"
            "\n"
            "  -c, --config FILE        site configuration (YAML; docs/config.md) and run\n"
            "      --check-config FILE  validate FILE and the drug library it names, print a\n"
            "                           summary, exit 0; or print FILE:LINE: KEY: problem, exit 1\n"
            "  -l, --log-level LEVEL    debug|info|warn|error (overrides gateway.log_level)\n"
            "  -V, --version            print the version and exit\n"
            "  -h, --help               this text\n"
            "\n"
            "Logs: logfmt lines on stderr. Stops cleanly on SIGINT or SIGTERM.\n"
            "Exit status: 0 clean stop or valid config, 1 bad config or runtime failure,\n"
            "2 bad usage.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", required_argument, NULL, 'k'},
        {"log-level", required_argument, NULL, 'l'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *check = NULL, *level = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "c:l:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'k':
            check = optarg;
            break;
        case 'l':
            level = optarg;
            break;
        case 'V':
            printf("dosegate %s\n", DG_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dosegate: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!config && !check) {
        fprintf(stderr, "dosegate: --config FILE or --check-config FILE is required\n");
        usage(stderr);
        return 2;
    }
    int lvl = -1;
    if (level && (lvl = dg_log_level_parse(level)) < 0) {
        fprintf(stderr, "dosegate: unknown log level '%s' (debug|info|warn|error)\n", level);
        return 2;
    }

    struct dg_config *cfg = dg_calloc(1, sizeof *cfg);
    if (!cfg) {
        fprintf(stderr, "dosegate: out of memory\n");
        return 1;
    }
    char err[1024];
    const char *path = check ? check : config;
    if (dg_config_load(cfg, path, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        dg_free(cfg);
        return 1;
    }
    if (check) {
        char inventory[64] = "no inventory";
        if (cfg->devices.have_inventory)
            snprintf(inventory, sizeof inventory, "inventory of %zu", cfg->devices.n_inventory);
        printf("%s: ok: gateway %s, site %s, topic root %s, device broker %s, clinic broker %s, "
               "devices %s* and %s* (%s), drug library %s version %s (%zu entries, sha256 %s)\n",
               cfg->path, cfg->gateway_id, cfg->site, cfg->topic_root, cfg->device_link.url,
               cfg->clinic_link.url, cfg->devices.pump_id_prefix, cfg->devices.monitor_id_prefix,
               inventory, cfg->druglib.id, cfg->druglib.version, cfg->druglib.n_drugs,
               cfg->druglib.sha256_hex);
        dg_config_free(cfg);
        dg_free(cfg);
        return 0;
    }
    dg_log_set_level(lvl >= 0 ? (enum dg_log_level)lvl : cfg->log_level);

    MQTTAsync_init_options init = MQTTAsync_init_options_initializer;
    init.do_openssl_init = 1;
    MQTTAsync_global_init(&init);

    int code = dg_gateway_run(cfg);
    dg_config_free(cfg);
    dg_free(cfg);
    return code;
}
