/*
 * sim_pump.h — the simulated infusion pump: a pure model, no I/O, no clock.
 *
 * Time is the simulation's: the caller advances it one simulated second at a
 * time with dg_sim_pump_step(). A session is three phases:
 *
 *   [0, pre_s)                 PROGRAMMED  program entered, not started
 *   [pre_s, pre_s + session_s) RUNNING     infusing at the programmed rate
 *   then                       COMPLETE    once the programmed volume (VTBI)
 *                                          is in, or the session time ends
 *
 * followed by the observation period, during which the pump stays COMPLETE.
 * A gateway PAUSE or STOP moves it to PAUSED / STOPPED with rate 0 and it
 * never resumes by itself (only a clinician at the pump could; the simulator
 * has no clinician). Volume and dose are integrated every simulated second
 * and are cumulative for the session, as the contract requires.
 *
 * The volume to be infused is dose_mg_per_kg * weight_kg / conc_mg_per_ml;
 * the programmed rate is that volume over duration_min, multiplied by
 * rate_factor (1 = as prescribed; 10 = the "overrate" decimal slip).
 */
#ifndef DG_SIM_PUMP_H
#define DG_SIM_PUMP_H

#include <stdint.h>

#include "core/types.h"

struct dg_sim_pump_params {
    double weight_kg;      /* patient weight entered at the pump */
    double dose_mg_per_kg; /* programmed session dose */
    double conc_mg_per_ml; /* syringe/bag concentration */
    double duration_min;   /* programmed duration */
    double rate_factor;    /* 1 = correct rate; 10 = decimal slip */
    uint32_t pre_s;        /* simulated seconds in PROGRAMMED before the start */
    uint32_t session_s;    /* simulated seconds allowed for the infusion */
};

/* What the pump last did because of a gateway command. */
enum dg_sim_last_cmd {
    DG_SIM_CMD_NONE = 0,
    DG_SIM_CMD_PAUSE,
    DG_SIM_CMD_STOP,
};

struct dg_sim_pump {
    struct dg_sim_pump_params p;
    uint32_t t_s; /* simulated seconds since the start of the run */
    enum dg_pump_state state;
    double program_rate_ml_per_h; /* what the nurse entered */
    double vtbi_ml;               /* volume to be infused */
    double rate_ml_per_h;         /* current rate (0 unless RUNNING) */
    double volume_ml;             /* cumulative this session */
    double dose_mg;               /* cumulative this session */
    char last_command_id[DG_ID_MAX];
    enum dg_sim_last_cmd last_cmd;
    uint32_t commands;              /* pause/stop commands received */
    uint32_t permits;               /* permits received */
    uint64_t permit_valid_until_ms; /* validity of the last permit (gateway clock) */
};

/* Programmed rate for the params, mL/h (before rate_factor). */
double dg_sim_pump_prescribed_rate(const struct dg_sim_pump_params *p);
/*
 * Load the program: state PROGRAMMED at t = 0 (RUNNING at once if pre_s is 0).
 * Returns 0, or -DG_EINVAL if a parameter is not finite and positive.
 */
int dg_sim_pump_init(struct dg_sim_pump *pump, const struct dg_sim_pump_params *p);
/*
 * Advance one simulated second: integrate what flowed during [t, t+1), then
 * apply the phase transitions due at t+1. Returns 1 if the state changed,
 * else 0.
 */
int dg_sim_pump_step(struct dg_sim_pump *pump);
/*
 * Obey a gateway command. PAUSE: PROGRAMMED/RUNNING -> PAUSED. STOP:
 * PROGRAMMED/RUNNING/PAUSED -> STOPPED. Both set rate 0, count the command
 * and record command_id (copied, truncated to DG_ID_MAX - 1) even when the
 * state is already final (COMPLETE, STOPPED). A command whose id equals the
 * last one acted on is a QoS 1 redelivery: ignored, returns 0. PERMIT only
 * records valid_until_ms (gateway clock, UTC ms). Returns 1 if the state
 * changed, 0 if not, -DG_EINVAL for an unknown action. command_id is
 * borrowed for the call.
 */
int dg_sim_pump_command(struct dg_sim_pump *pump, enum dg_command_action action,
                        const char *command_id, uint64_t valid_until_ms);
/* Current rate as a weight-based dose rate, mg/kg/h. */
double dg_sim_pump_dose_rate(const struct dg_sim_pump *pump);
/* Lower-case state name ("programmed", "running", ...). Static string. */
const char *dg_sim_pump_state_name(enum dg_pump_state state);

#endif
