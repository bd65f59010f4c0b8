/*
 * sim_pump.c — the simulated pump's state machine and dose integration
 * (see sim_pump.h).
 *
 * Integration is explicit per simulated second at the current rate, clamped
 * to the remaining VTBI, which is what a volumetric pump does: it delivers
 * rate x time and ends the program when the VTBI is in. Summing 2400 steps
 * of rate/3600 carries rounding error of order 1e-12 mL; completion therefore
 * uses a tolerance of 1e-6 mL and then snaps the volume to the VTBI exactly.
 *
 * A bolus is given within one simulated second (a real pump takes a few):
 * it adds to the volume, the dose and the bolus counters, not to the basal
 * volume that the VTBI limits, and the reported rate stays the programmed
 * one. That keeps the bolus the only thing a gateway can see changing.
 *
 * A reboot keeps what a pump keeps in non-volatile memory (session, program,
 * amounts, state) and loses what it keeps in RAM (the permit, when it was
 * first seen running). While off it delivers nothing, whatever its state
 * says: enter() never sets a rate on an off pump.
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
    pump->rate_ml_per_h = s == DG_PUMP_RUNNING && !pump->off ? pump->program_rate_ml_per_h : 0.0;
    if (s != DG_PUMP_PAUSED) pump->gateway_paused = false;
}

static void update_amounts(struct dg_sim_pump *pump)
{
    pump->volume_ml = pump->basal_ml + pump->bolus_mg / pump->p.conc_mg_per_ml;
    pump->dose_mg = pump->basal_ml * pump->p.conc_mg_per_ml + pump->bolus_mg;
}

/* A new program for a session of dose_mg_per_kg: amounts back to 0. */
static void program(struct dg_sim_pump *pump, double dose_mg_per_kg)
{
    pump->p.dose_mg_per_kg = dose_mg_per_kg;
    pump->vtbi_ml = dose_mg_per_kg * pump->p.weight_kg / pump->p.conc_mg_per_ml;
    pump->program_rate_ml_per_h = dg_sim_pump_prescribed_rate(&pump->p) * pump->p.rate_factor;
    pump->basal_ml = pump->bolus_mg = 0.0;
    pump->bolus_count = 0;
    pump->running_since_ms = 0;
    update_amounts(pump);
    enter(pump, DG_PUMP_PROGRAMMED);
}

/* A reboot going off or booting at the current t_s. */
static void reboot(struct dg_sim_pump *pump)
{
    const struct dg_sim_pump_params *p = &pump->p;
    if (!p->reboot_s) return;
    if (pump->t_s == p->reboot_s) {
        pump->off = true;
        enter(pump, pump->state);
    }
    if (pump->off && pump->t_s == p->reboot_s + p->reboot_off_s) {
        pump->off = false;
        pump->boots++;
        pump->permit_valid_until_ms = 0;
        pump->running_since_ms = 0;
        if (p->reboot_rate_factor > 0) pump->program_rate_ml_per_h *= p->reboot_rate_factor;
        enter(pump, pump->state);
    }
}

/* The transitions due at the current t_s. */
static void advance_phase(struct dg_sim_pump *pump)
{
    const struct dg_sim_pump_params *p = &pump->p;
    if (p->second_start_s && pump->session == 1 && pump->t_s >= p->second_start_s - p->pre_s) {
        pump->session = 2;
        pump->start_s = p->second_start_s;
        program(pump, p->second_dose_mg_per_kg);
    }
    if (pump->state == DG_PUMP_PROGRAMMED && pump->t_s >= pump->start_s)
        enter(pump, DG_PUMP_RUNNING);
    reboot(pump);
    if (p->edit_s && pump->t_s == p->edit_s) {
        if (p->edit_weight_kg > 0) pump->program_weight_kg = p->edit_weight_kg;
        if (p->edit_rate_ml_per_h > 0) pump->program_rate_ml_per_h = p->edit_rate_ml_per_h;
        pump->edited = true;
        enter(pump, pump->state); /* a running pump runs at the new rate */
    }
    if (pump->state == DG_PUMP_PAUSED && pump->gateway_paused && p->resume_after_s &&
        pump->resumes < p->resumes_max && pump->t_s >= pump->paused_at_s + p->resume_after_s) {
        /* The clinician presses start: no acknowledgement, the same program. */
        pump->resumes++;
        pump->running_since_ms = 0; /* a new permit grace */
        enter(pump, DG_PUMP_RUNNING);
    }
    if (pump->state == DG_PUMP_RUNNING && p->bolus_at_s && pump->bolus_count == 0 &&
        pump->t_s == pump->start_s + p->bolus_at_s) {
        double mg = p->bolus_mg_per_kg * p->weight_kg;
        pump->bolus_count = 1;
        pump->bolus_mg = mg;
        pump->step_mg += mg;
        update_amounts(pump);
    }
    if (pump->state == DG_PUMP_RUNNING) {
        int delivered = !p->overrun && pump->basal_ml >= pump->vtbi_ml - VTBI_EPS_ML;
        if (delivered) {
            pump->basal_ml = pump->vtbi_ml;
            update_amounts(pump);
        }
        if (delivered || pump->t_s >= pump->start_s + p->session_s) enter(pump, DG_PUMP_COMPLETE);
    }
}

int dg_sim_pump_init(struct dg_sim_pump *pump, const struct dg_sim_pump_params *p)
{
    if (!positive(p->weight_kg) || !positive(p->dose_mg_per_kg) || !positive(p->conc_mg_per_ml) ||
        !positive(p->duration_min) || !positive(p->rate_factor))
        return -DG_EINVAL;
    if (p->bolus_at_s && !positive(p->bolus_mg_per_kg)) return -DG_EINVAL;
    if (p->dose_report_factor != 0 && !positive(p->dose_report_factor)) return -DG_EINVAL;
    if (p->second_start_s && (!positive(p->second_dose_mg_per_kg) ||
                              (uint64_t)p->second_start_s < 2 * (uint64_t)p->pre_s + p->session_s))
        return -DG_EINVAL;
    if (p->reboot_rate_factor != 0 && !positive(p->reboot_rate_factor)) return -DG_EINVAL;
    if ((uint64_t)p->reboot_s + p->reboot_off_s > UINT32_MAX - 1) return -DG_EINVAL;
    if ((p->edit_weight_kg != 0 && !positive(p->edit_weight_kg)) ||
        (p->edit_rate_ml_per_h != 0 && !positive(p->edit_rate_ml_per_h)))
        return -DG_EINVAL;
    memset(pump, 0, sizeof *pump);
    pump->p = *p;
    pump->session = 1;
    pump->start_s = p->pre_s;
    pump->program_weight_kg = p->weight_kg;
    program(pump, p->dose_mg_per_kg);
    advance_phase(pump);
    return 0;
}

int dg_sim_pump_init_idle(struct dg_sim_pump *pump, const struct dg_sim_pump_params *p)
{
    if (!positive(p->weight_kg) || !positive(p->conc_mg_per_ml)) return -DG_EINVAL;
    memset(pump, 0, sizeof *pump);
    pump->p = *p;
    /* No program: nothing of the session events applies. */
    pump->p.second_start_s = pump->p.bolus_at_s = pump->p.reboot_s = pump->p.edit_s = 0;
    pump->p.resume_after_s = 0;
    pump->p.overrun = false;
    pump->program_weight_kg = p->weight_kg;
    pump->state = DG_PUMP_IDLE;
    return 0;
}

int dg_sim_pump_step(struct dg_sim_pump *pump)
{
    enum dg_pump_state before = pump->state;
    unsigned session = pump->session, boots = pump->boots;
    bool off = pump->off, edited = pump->edited;
    pump->step_mg = 0.0;
    if (pump->state == DG_PUMP_RUNNING) {
        double ml = pump->rate_ml_per_h / 3600.0;
        double left = pump->vtbi_ml - pump->basal_ml;
        pump->basal_ml += pump->p.overrun || ml < left ? ml : left;
        double dose_before = pump->dose_mg;
        update_amounts(pump);
        pump->step_mg = pump->dose_mg - dose_before;
    }
    pump->t_s++;
    advance_phase(pump);
    return pump->state != before || pump->session != session || pump->boots != boots ||
           pump->off != off || pump->edited != edited;
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
    if (pump->p.ignore_commands) {
        pump->commands_ignored++;
        return 0;
    }
    if (already_done(pump, command_id)) return 0;
    if (action == DG_CMD_PAUSE) {
        if (s == DG_PUMP_PROGRAMMED || s == DG_PUMP_RUNNING) {
            enter(pump, DG_PUMP_PAUSED);
            pump->gateway_paused = true;
            pump->paused_at_s = pump->t_s;
        }
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

bool dg_sim_permit_lapsed(uint64_t now_ms, uint64_t running_since_ms, uint64_t valid_until_ms,
                          uint32_t grace_ms)
{
    uint64_t deadline = running_since_ms + grace_ms;
    if (valid_until_ms > deadline) deadline = valid_until_ms;
    return now_ms > deadline;
}

int dg_sim_pump_check_permit(struct dg_sim_pump *pump, uint64_t now_ms)
{
    if (pump->state != DG_PUMP_RUNNING || pump->off) {
        pump->running_since_ms = 0;
        return 0;
    }
    if (pump->running_since_ms == 0) pump->running_since_ms = now_ms;
    if (!pump->p.permit_required || pump->p.ignore_commands) return 0;
    if (!dg_sim_permit_lapsed(now_ms, pump->running_since_ms, pump->permit_valid_until_ms,
                              pump->p.permit_grace_ms))
        return 0;
    enter(pump, DG_PUMP_PAUSED);
    pump->permit_lapsed = true;
    return 1;
}

double dg_sim_pump_dose_rate(const struct dg_sim_pump *pump)
{
    return pump->rate_ml_per_h * pump->p.conc_mg_per_ml / pump->p.weight_kg;
}

double dg_sim_pump_delivered_rate(const struct dg_sim_pump *pump)
{
    return pump->step_mg / pump->p.weight_kg * 3600.0;
}

double dg_sim_pump_reported_dose(const struct dg_sim_pump *pump)
{
    double f = pump->p.dose_report_factor;
    return f > 0 ? pump->dose_mg * f : pump->dose_mg;
}

double dg_sim_pump_program_weight(const struct dg_sim_pump *pump)
{
    return pump->p.weight_missing ? 0.0 : pump->program_weight_kg;
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
