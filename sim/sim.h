/*
 * sim.h — what the simulator's shell files share: the run options, one
 * simulated device on the wire, and one simulated bed (a pump and a monitor,
 * and the extra devices some scenarios need: a second pump on the bed, a
 * second bed with its own monitor; each device with its own MQTT link and
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
#include "sim_rng.h"
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
struct dg_sim_bed;

enum dg_sim_dev_kind {
    DG_SIM_DEV_PUMP,
    DG_SIM_DEV_MONITOR,
};

/*
 * One simulated device on the wire: its own MQTT link and certificate
 * (client id = device id), the topic it publishes, its boot id and sequence
 * number, and its counters. The model it reports is one of the bed's (pump,
 * pump2, mon, mon_b); sim_main.c sets silent, clock_ms and bed_id each step
 * from the plan and the model.
 */
struct dg_sim_dev {
    struct dg_sim_bed *bed; /* back pointer (not owned) */
    enum dg_sim_dev_kind kind;
    bool used;                            /* the scenario has this device */
    char id[DG_ID_MAX];                   /* pump-1, monitor-1, pump-1-2, monitor-1-b */
    const char *bed_id;                   /* the bed it reports now (the bed's ids) */
    char topic[DG_SIM_TOPIC_MAX];         /* its telemetry or vitals topic */
    char command_topic[DG_SIM_TOPIC_MAX]; /* pumps: subscribed */
    struct dg_sim_pump *pump;             /* pumps: the model (the bed's) */
    dg_link *link;                        /* owned; NULL once closed */
    struct dg_sim_rng boot_rng;           /* draws the boot ids */
    uint64_t incarnation;                 /* this boot's id, non-zero */
    unsigned boots;                       /* reboots turned into a new incarnation */
    uint64_t seq;                         /* last sent in this incarnation (0 = none) */
    uint64_t sent, acked;                 /* handed to the link; PUBACK received */
    uint64_t publish_failed;
    uint64_t commands_rejected; /* pumps: undecodable or mis-addressed */
    uint32_t disconnects;
    bool silent;      /* publish nothing now (scenario silence, reboot) */
    int64_t clock_ms; /* added to its timestamps now (offset, clock step) */
    /* foreign-identity (monitors): PumpTelemetry claiming pump_id = id on
       <root>/pump/<id>/telemetry, through this device's own link. */
    char foreign_topic[DG_SIM_TOPIC_MAX];
    uint64_t foreign_seq, foreign_sent, foreign_acked, foreign_failed;
    double foreign_volume_ml;
};

struct dg_sim_bed {
    struct dg_sim *sim; /* back pointer (not owned) */
    unsigned index;     /* 1-based */
    const struct dg_sim_scenario *scenario;
    struct dg_sim_ids ids; /* bed, pump, monitor and the scenario's extra ids */
    char patient_ref[DG_ID_MAX];
    char session_id[DG_ID_MAX];
    char foreign_session_id[DG_ID_MAX];
    struct dg_sim_plan plan;
    struct dg_sim_pump pump;     /* pump-i */
    struct dg_sim_pump pump2;    /* pump-i-2 (plan.second_pump): idle */
    struct dg_sim_monitor mon;   /* monitor-i: the bed's patient */
    struct dg_sim_monitor mon_b; /* monitor-i-b (plan.second_bed): bed-i-b's patient */
    /* The devices; a device the scenario does not have is not used. */
    struct dg_sim_dev pump_dev, monitor_dev, pump2_dev, monitor_b_dev;
    bool foreign; /* monitor-i is sending foreign pump telemetry now */
};

/* A bed's devices in publish order: monitors, then pump-i, then pump-i-2. */
#define DG_SIM_BED_DEVS 4
unsigned dg_sim_bed_devs(struct dg_sim_bed *bed, struct dg_sim_dev *out[DG_SIM_BED_DEVS]);

/* Implemented in sim_main.c: the wall clock (UTC ms) when this process
   started, before any link was opened. */
uint64_t dg_sim_started_ms(const struct dg_sim *sim);
/* Implemented in sim_main.c: the simulated clock now, UTC ms. */
uint64_t dg_sim_clock_ms(const struct dg_sim *sim);
/* Implemented in sim_main.c: a link of bed finished closing. */
void dg_sim_link_closed(struct dg_sim *sim);

/*
 * sim_device.c: set up device dev of bed (not yet connected): its id, kind,
 * topics under root, and its first boot id drawn from (nonce, stream).
 * Returns 0 or -DG_EINVAL when a topic does not fit.
 */
int dg_sim_dev_init(struct dg_sim_dev *dev, struct dg_sim_bed *bed, enum dg_sim_dev_kind kind,
                    const char *id, const char *bed_id, const char *root, uint64_t nonce,
                    uint64_t stream);
/* The device booted again: a new boot id (never 0, never the last) and seq from 1. */
void dg_sim_dev_reboot(struct dg_sim_dev *dev);
/*
 * Open the links of every device the bed uses (client id = device id,
 * certificate <certs_dir>/<device>.pem/.key) and subscribe each pump to its
 * command topic. Returns 0 or a negative DG_E* code (links opened so far
 * stay open; dg_sim_bed_close() closes them).
 */
int dg_sim_bed_open(struct dg_sim_bed *bed, uv_loop_t *loop, const struct dg_sim_opts *opts);
/* Every link of the bed connected right now? */
bool dg_sim_bed_connected(struct dg_sim_bed *bed);
/* How many of the bed's links are open. */
int dg_sim_bed_links(struct dg_sim_bed *bed);
/*
 * Encode and publish a pump's telemetry / a monitor's vitals, stamped time_ms
 * (the simulated clock) plus the device's clock_ms. A silent device publishes
 * nothing and 0 is returned.
 */
int dg_sim_dev_send_telemetry(struct dg_sim_dev *dev, uint64_t time_ms);
int dg_sim_dev_send_vitals(struct dg_sim_dev *dev, const struct dg_sim_vitals *v, uint64_t time_ms);
/*
 * foreign-identity: a monitor device publishes PumpTelemetry as "pump" dev->id
 * (bed, patient, running at rate_ml_per_h) on its foreign_topic. What the
 * broker does with it is not an error of ours: under MQTT 3.1.1 a publish
 * the ACL denies is acknowledged and dropped, so these are counted apart
 * (foreign_*) and never fail the run.
 */
int dg_sim_dev_send_foreign(struct dg_sim_dev *dev, double rate_ml_per_h, uint64_t time_ms);
/*
 * Close every link of the bed (waiting up to timeout_ms for in-flight
 * messages); each closed link calls dg_sim_link_closed(). Returns how many
 * closes were started.
 */
int dg_sim_bed_close(struct dg_sim_bed *bed, int timeout_ms);

#endif
