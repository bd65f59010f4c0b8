/*
 * state_world.h — the interlock core as the gateway makes it, for
 * fuzz_state_load and its seed generator (make_state_seeds.c): the shipped
 * site config and drug library (gateway/etc/dosegate.yaml and
 * drug-library.yaml, read from the source tree and parsed by the gateway's
 * own dg_config_parse), and dg_core_new with the settings gateway.c gives
 * it. Seeds saved from this world load into the harness's core.
 *
 * Header-only, for one program at a time; needs DG_SOURCE_DIR.
 */
#ifndef DG_FUZZ_STATE_WORLD_H
#define DG_FUZZ_STATE_WORLD_H

#include <stdio.h>
#include <stdlib.h>

#include "core/core.h"
#include "core/error.h"
#include "io/config.h"

/* Alert and command id prefixes (gateway.c: the start time in base 36): the
   seeds' run, and the harness's, a later start. */
#define WORLD_SEED_PREFIX    "mf3k2qz0"
#define WORLD_RESTART_PREFIX "mf3n7c1k"
#define WORLD_FILE_MAX       (256 * 1024)

static unsigned char *world_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    unsigned char *buf = malloc(WORLD_FILE_MAX);
    if (!buf) exit(1);
    *len = fread(buf, 1, WORLD_FILE_MAX, f);
    if (ferror(f) || *len == WORLD_FILE_MAX) {
        fprintf(stderr, "%s: unreadable or too large\n", path);
        exit(1);
    }
    fclose(f);
    return buf;
}

/* The shipped config and drug library, parsed; exits on failure. */
static void world_config(struct dg_config *cfg)
{
    size_t clen = 0, llen = 0;
    unsigned char *ctext = world_read(DG_SOURCE_DIR "/gateway/etc/dosegate.yaml", &clen);
    unsigned char *ltext = world_read(DG_SOURCE_DIR "/gateway/etc/drug-library.yaml", &llen);
    char err[512];
    int rc = dg_config_parse(cfg, "dosegate.yaml", ctext, clen, "drug-library.yaml", ltext, llen,
                             err, sizeof err);
    free(ctext);
    free(ltext);
    if (rc != 0) {
        fprintf(stderr, "shipped config: %s\n", err);
        exit(1);
    }
}

/* A core as dg_gateway_run() makes one, with sink and id_prefix. 0 or
   -DG_ENOMEM. */
static int world_core(dg_core **out, const struct dg_config *cfg, const struct dg_sink *sink,
                      const char *id_prefix)
{
    struct dg_core_config cc = {.gateway_id = cfg->gateway_id,
                                .id_prefix = id_prefix,
                                .druglib = &cfg->druglib,
                                .permit_to_infuse = cfg->permit_to_infuse,
                                .device_time_scale = cfg->device_time_scale};
    return dg_core_new(out, &cc, sink);
}

#endif
