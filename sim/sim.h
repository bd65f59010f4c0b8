/*
 * sim.h — what the simulator's shell files share: the run options and one
 * simulated bed (a pump and a monitor, each with its own MQTT link and
 * client certificate).
 *
 * sim_main.c owns the loop, the options, the simulated clock and the bed
 * array; sim_device.c owns the links and the protobuf encoding/decoding. The
 * pure models (sim_pump.h, sim_monitor.h) and the scenarios
 * (sim_scenario.h) know nothing of either.
 *
 * Threading: everything here runs on the libuv loop thread.
 */
#ifndef DG_SIM_H
#define DG_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "core/types.h"
#include "io/link.h"
#include "sim_monitor.h"
#include "sim_pump.h"
#include "sim_scenario.h"

#define DG_SIM_TOPIC_MAX     256
#define DG_SIM_PATH_MAX      512
#define DG_SIM_SCENARIOS_MAX 32

struct dg_sim_opts {
    const char *url;
    const char *certs_dir;
    const char *site;
    char root[DG_SIM_TOPIC_MAX / 2];
    unsigned beds;
    /* One scenario for every bed, or a list given as "a,b,...": bed i runs
       scenarios[(i - 1) % n_scenarios]. */
    const struct dg_sim_scenario *scenarios[DG_SIM_SCENARIOS_MAX];
    unsigned n_scenarios;
    double speed; /* simulated seconds per real second */
    double pre_min, session_min, post_min;
    double weight_kg;
    uint64_t seed;
    bool quiet;
    bool permit;           /* pumps require permits (default; --no-permit) */
    double permit_grace_s; /* real seconds a just-started pump runs without one */
};

struct dg_sim;

struct dg_sim_bed {
    struct dg_sim *sim; /* back pointer (not owned) */
    unsigned index;     /* 1-based */
    const struct dg_sim_scenario *scenario;
    char bed_id[DG_ID_MAX];
    char pump_id[DG_ID_MAX];
    char monitor_id[DG_ID_MAX];
    char patient_ref[DG_ID_MAX];
    char session_id[DG_ID_MAX];
    char telemetry_topic[DG_SIM_TOPIC_MAX];
    char vitals_topic[DG_SIM_TOPIC_MAX];
    char command_topic[DG_SIM_TOPIC_MAX];
    struct dg_sim_pump pump;
    struct dg_sim_monitor mon;
    struct dg_sim_plan plan;
    /* Set by sim_main.c each step from the plan: publish nothing now. */
    bool pump_silent, monitor_silent;
    dg_link *pump_link;    /* owned; NULL once closed */
    dg_link *monitor_link; /* owned; NULL once closed */
    /* Boot ids (non-zero), drawn at start; a device reboot draws a new one
       and restarts its seq at 1. */
    uint64_t pump_incarnation, monitor_incarnation;
    uint64_t telemetry_seq, vitals_seq;
    uint64_t telemetry_sent, vitals_sent;   /* handed to the link */
    uint64_t telemetry_acked, vitals_acked; /* PUBACK received */
    uint64_t publish_failed;
    uint64_t commands_rejected; /* undecodable or mis-addressed */
    uint32_t disconnects;
};

/* Implemented in sim_main.c: the simulated clock now, UTC ms. */
uint64_t dg_sim_clock_ms(const struct dg_sim *sim);
/* Implemented in sim_main.c: a link of bed finished closing. */
void dg_sim_link_closed(struct dg_sim *sim);

/*
 * sim_device.c: open the bed's two links (client id = device id, certificate
 * <certs_dir>/<device>.pem/.key) and subscribe the pump to its command
 * topic. Returns 0 or a negative DG_E* code (links opened so far stay open;
 * dg_sim_bed_close() closes them).
 */
int dg_sim_bed_open(struct dg_sim_bed *bed, uv_loop_t *loop, const struct dg_sim_opts *opts);
/* Both links connected right now? */
bool dg_sim_bed_connected(const struct dg_sim_bed *bed);
/*
 * Encode and publish the pump's telemetry / the vitals, stamped time_ms (the
 * simulated clock) plus the scenario's clock offset. A silent device
 * (pump_silent / monitor_silent) publishes nothing and 0 is returned.
 */
int dg_sim_bed_send_telemetry(struct dg_sim_bed *bed, uint64_t time_ms);
int dg_sim_bed_send_vitals(struct dg_sim_bed *bed, const struct dg_sim_vitals *v, uint64_t time_ms);
/*
 * Close both links (waiting up to timeout_ms for in-flight messages); each
 * closed link calls dg_sim_link_closed(). Returns how many closes were
 * started (0, 1 or 2).
 */
int dg_sim_bed_close(struct dg_sim_bed *bed, int timeout_ms);

#endif
