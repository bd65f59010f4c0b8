/*
 * sim_pump.c — the simulated pump's state machine and dose integration
 * (see sim_pump.h).
 *
 * Integration is explicit per simulated second at the current rate, clamped
 * to the remaining VTBI, which is what a volumetric pump does: it delivers
 * rate x time and ends the program when the VTBI is in. Summing 2400 steps
 * of rate/3600 carries rounding error of order 1e-12 mL; completion therefore
 * uses a tolerance of 1e-6 mL and then snaps the volume to the VTBI exactly.
 */
#include "sim_pump.h"

#include <math.h>
#include <string.h>

#include "core/error.h"

#define VTBI_EPS_ML 1e-6

static int positive(double x)
{
    return isfinite(x) && x > 0;
}

double dg_sim_pump_prescribed_rate(const struct dg_sim_pump_params *p)
{
    return p->dose_mg_per_kg * p->weight_kg / p->conc_mg_per_ml / (p->duration_min / 60.0);
}

static void enter(struct dg_sim_pump *pump, enum dg_pump_state s)
{
    pump->state = s;
    pump->rate_ml_per_h = s == DG_PUMP_RUNNING ? pump->program_rate_ml_per_h : 0.0;
}

/* The transitions due at the current t_s. */
static void advance_phase(struct dg_sim_pump *pump)
{
    if (pump->state == DG_PUMP_PROGRAMMED && pump->t_s >= pump->p.pre_s)
        enter(pump, DG_PUMP_RUNNING);
    if (pump->state == DG_PUMP_RUNNING) {
        int delivered = pump->volume_ml >= pump->vtbi_ml - VTBI_EPS_ML;
        if (delivered) {
            pump->volume_ml = pump->vtbi_ml;
            pump->dose_mg = pump->volume_ml * pump->p.conc_mg_per_ml;
        }
        if (delivered || pump->t_s >= pump->p.pre_s + pump->p.session_s)
            enter(pump, DG_PUMP_COMPLETE);
    }
}

int dg_sim_pump_init(struct dg_sim_pump *pump, const struct dg_sim_pump_params *p)
{
    if (!positive(p->weight_kg) || !positive(p->dose_mg_per_kg) || !positive(p->conc_mg_per_ml) ||
        !positive(p->duration_min) || !positive(p->rate_factor))
        return -DG_EINVAL;
    memset(pump, 0, sizeof *pump);
    pump->p = *p;
    pump->vtbi_ml = p->dose_mg_per_kg * p->weight_kg / p->conc_mg_per_ml;
    pump->program_rate_ml_per_h = dg_sim_pump_prescribed_rate(p) * p->rate_factor;
    enter(pump, DG_PUMP_PROGRAMMED);
    advance_phase(pump);
    return 0;
}

int dg_sim_pump_step(struct dg_sim_pump *pump)
{
    enum dg_pump_state before = pump->state;
    if (pump->state == DG_PUMP_RUNNING) {
        double ml = pump->rate_ml_per_h / 3600.0;
        double left = pump->vtbi_ml - pump->volume_ml;
        pump->volume_ml += ml < left ? ml : left;
        pump->dose_mg = pump->volume_ml * pump->p.conc_mg_per_ml;
    }
    pump->t_s++;
    advance_phase(pump);
    return pump->state != before;
}

/* Is id the command the pump already acted on? (QoS 1 may deliver twice.) */
static int already_done(const struct dg_sim_pump *pump, const char *id)
{
    return id && id[0] && strncmp(id, pump->last_command_id, sizeof pump->last_command_id - 1) == 0;
}

int dg_sim_pump_command(struct dg_sim_pump *pump, enum dg_command_action action,
                        const char *command_id, uint64_t valid_until_ms)
{
    enum dg_pump_state s = pump->state;
    if (action == DG_CMD_PERMIT) {
        pump->permits++;
        pump->permit_valid_until_ms = valid_until_ms;
        return 0;
    }
    if (action != DG_CMD_PAUSE && action != DG_CMD_STOP) return -DG_EINVAL;
    if (already_done(pump, command_id)) return 0;
    if (action == DG_CMD_PAUSE) {
        if (s == DG_PUMP_PROGRAMMED || s == DG_PUMP_RUNNING) enter(pump, DG_PUMP_PAUSED);
        pump->last_cmd = DG_SIM_CMD_PAUSE;
    } else {
        if (s == DG_PUMP_PROGRAMMED || s == DG_PUMP_RUNNING || s == DG_PUMP_PAUSED)
            enter(pump, DG_PUMP_STOPPED);
        pump->last_cmd = DG_SIM_CMD_STOP;
    }
    pump->commands++;
    size_t n = command_id ? strlen(command_id) : 0;
    if (n > sizeof pump->last_command_id - 1) n = sizeof pump->last_command_id - 1;
    if (n) memcpy(pump->last_command_id, command_id, n);
    pump->last_command_id[n] = '\0';
    return pump->state != s;
}

double dg_sim_pump_dose_rate(const struct dg_sim_pump *pump)
{
    return pump->rate_ml_per_h * pump->p.conc_mg_per_ml / pump->p.weight_kg;
}

const char *dg_sim_pump_state_name(enum dg_pump_state state)
{
    switch (state) {
    case DG_PUMP_IDLE:
        return "idle";
    case DG_PUMP_PROGRAMMED:
        return "programmed";
    case DG_PUMP_RUNNING:
        return "running";
    case DG_PUMP_PAUSED:
        return "paused";
    case DG_PUMP_STOPPED:
        return "stopped";
    case DG_PUMP_COMPLETE:
        return "complete";
    case DG_PUMP_ALARM:
        return "pump-alarm";
    default:
        return "unspecified";
    }
}
