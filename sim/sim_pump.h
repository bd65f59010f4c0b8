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
 * has one only in resume-without-reset, see resume_after_s). Volume and dose are integrated every
 * simulated second and are cumulative for the session, as the contract requires.
 *
 * The volume to be infused is dose_mg_per_kg * weight_kg / conc_mg_per_ml;
 * the programmed rate is that volume over duration_min, multiplied by
 * rate_factor (1 = as prescribed; 10 = the "overrate" decimal slip).
 *
 * Scenario events and faults (all off when zero): a bolus some seconds into
 * the infusion; a second session (new program, amounts back to 0) started
 * at second_start_s; a pump that overruns its VTBI, under-reports its dose,
 * or ignores gateway commands; a weight not entered at the pump.
 *
 * More events (issue 7), all at run seconds (t_s), zero = none:
 *  - a reboot at reboot_s: the pump is off (delivers nothing; the shell
 *    publishes nothing) for reboot_off_s, then boots: boots + 1 (the shell
 *    draws a new incarnation and restarts seq at 1), amounts, session and
 *    state kept (non-volatile memory), the permit forgotten (volatile), and
 *    the program's rate restored x reboot_rate_factor (a corrupted restore);
 *  - a program edit at edit_s: the program's weight and/or rate change in
 *    the same session (the patient, and so the physiology, stay the same;
 *    the VTBI stays what was programmed);
 *  - a clinician at the pump who resumes it resume_after_s after a gateway
 *    PAUSE paused it, at most resumes_max times, at the same rate and without
 *    any acknowledgement. A STOP is final; a pump that paused itself for a
 *    lapsed permit is not resumed.
 * An idle pump (dg_sim_pump_init_idle) has no program and never runs.
 *
 * Permit-to-infuse: the one place where the pump looks at a clock, and it is
 * the caller's: dg_sim_pump_check_permit() is handed the real (gateway) wall
 * clock, never the simulated one, because the gateway's permits are stamped
 * with its wall clock.
 */
#ifndef DG_SIM_PUMP_H
#define DG_SIM_PUMP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/types.h"

struct dg_sim_pump_params {
    double weight_kg;      /* the patient's weight (the rate is computed from it) */
    double dose_mg_per_kg; /* programmed session dose */
    double conc_mg_per_ml; /* syringe/bag concentration */
    double duration_min;   /* programmed duration */
    double rate_factor;    /* 1 = correct rate; 10 = decimal slip */
    uint32_t pre_s;        /* simulated seconds in PROGRAMMED before the start */
    uint32_t session_s;    /* simulated seconds allowed for the infusion */
    /* Scenario events and faults; zero = none. */
    bool weight_missing;          /* weight not entered: the program reports 0 kg */
    bool overrun;                 /* fault: keeps infusing past the VTBI (until session_s) */
    uint32_t bolus_at_s;          /* a bolus this many seconds after the start */
    double bolus_mg_per_kg;       /* its size */
    double dose_report_factor;    /* reported dose = delivered x this (0 = 1) */
    bool ignore_commands;         /* fault: ignores PAUSE, STOP and lapsed permits */
    uint32_t second_start_s;      /* a second session starts here (sim s; 0 = none) */
    double second_dose_mg_per_kg; /* its programmed dose */
    uint32_t reboot_s;            /* the pump goes off at this run second (0 = none) */
    uint32_t reboot_off_s;        /* and boots this long after (0 = at once) */
    double reboot_rate_factor;    /* the program's rate after the boot x this (0 = 1) */
    uint32_t edit_s;              /* the program is edited at this run second (0 = none) */
    double edit_weight_kg;        /* the program's weight after the edit (0 = unchanged) */
    double edit_rate_ml_per_h;    /* the program's rate after the edit (0 = unchanged) */
    uint32_t resume_after_s;      /* resumed this long after a gateway PAUSE (0 = never) */
    uint32_t resumes_max;         /* at most this many times */
    /* Permit-to-infuse. */
    bool permit_required;
    uint32_t permit_grace_ms; /* wall ms a just-started pump runs without a permit */
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
    unsigned session;             /* 1, then 2 after a second session is programmed */
    uint32_t start_s;             /* when the current session's infusion starts */
    double program_rate_ml_per_h; /* what the nurse entered */
    double vtbi_ml;               /* volume to be infused */
    double rate_ml_per_h;         /* current rate (0 unless RUNNING) */
    double basal_ml;              /* delivered at the programmed rate this session */
    double volume_ml;             /* cumulative this session, bolus included */
    double dose_mg;               /* cumulative this session, bolus included (delivered) */
    uint32_t bolus_count;         /* this session */
    double bolus_mg;              /* this session */
    double step_mg;               /* delivered during the last step */
    char last_command_id[DG_ID_MAX];
    enum dg_sim_last_cmd last_cmd;
    uint32_t commands;              /* pause/stop commands acted on */
    uint32_t commands_ignored;      /* pause/stop commands ignored (ignore_commands) */
    uint32_t permits;               /* permits received */
    uint64_t permit_valid_until_ms; /* validity of the last permit (gateway clock) */
    uint64_t running_since_ms;      /* wall clock when seen running (0 = not running) */
    bool permit_lapsed;             /* paused itself because a permit lapsed */
    double program_weight_kg;       /* the weight in the program (edit_s may change it) */
    bool off;                       /* rebooting: delivers nothing, publishes nothing */
    unsigned boots;                 /* reboots completed */
    bool edited;                    /* the program was edited (edit_s) */
    bool gateway_paused;            /* PAUSED by a gateway PAUSE (the clinician may resume) */
    uint32_t paused_at_s;           /* t_s of that pause */
    uint32_t resumes;               /* resumed by the clinician */
};

/* Programmed rate for the params, mL/h (before rate_factor). */
double dg_sim_pump_prescribed_rate(const struct dg_sim_pump_params *p);
/*
 * Load the program: state PROGRAMMED at t = 0 (RUNNING at once if pre_s is 0).
 * Returns 0, or -DG_EINVAL if a parameter is not finite and positive (the
 * weight too: weight_missing only hides it from the program the pump
 * reports), or a second session does not start after the first one's time.
 */
int dg_sim_pump_init(struct dg_sim_pump *pump, const struct dg_sim_pump_params *p);
/*
 * An idle pump: state IDLE, no program, rate 0, for ever (commands are
 * counted, the state does not change). p gives the weight and concentration
 * only so the rate functions stay defined; the same checks as
 * dg_sim_pump_init. Returns 0 or -DG_EINVAL.
 */
int dg_sim_pump_init_idle(struct dg_sim_pump *pump, const struct dg_sim_pump_params *p);
/*
 * Advance one simulated second: integrate what flowed during [t, t+1), then
 * apply what is due at t+1 (a second program, phase changes, a reboot going
 * off or booting, a program edit, a clinician's resume, the bolus).
 * Returns 1 if the state, the session, the boot or the program changed,
 * else 0.
 */
int dg_sim_pump_step(struct dg_sim_pump *pump);
/*
 * Obey a gateway command. PAUSE: PROGRAMMED/RUNNING -> PAUSED. STOP:
 * PROGRAMMED/RUNNING/PAUSED -> STOPPED. Both set rate 0, count the command
 * and record command_id (copied, truncated to DG_ID_MAX - 1) even when the
 * state is already final (COMPLETE, STOPPED). A command whose id equals the
 * last one acted on is a QoS 1 redelivery: ignored, returns 0. A PAUSE that
 * pauses the pump starts the clinician's resume clock (resume_after_s). A
 * pump with
 * ignore_commands only counts PAUSE/STOP in commands_ignored. PERMIT only
 * records valid_until_ms (gateway clock, UTC ms). Returns 1 if the state
 * changed, 0 if not, -DG_EINVAL for an unknown action. command_id is
 * borrowed for the call.
 */
int dg_sim_pump_command(struct dg_sim_pump *pump, enum dg_command_action action,
                        const char *command_id, uint64_t valid_until_ms);
/*
 * The permit rule, a pure function of the wall clock: a pump running since
 * running_since_ms needs a permit once grace_ms have passed; it has lapsed
 * when now_ms is past both the last permit's valid_until_ms (0 = none) and
 * running_since_ms + grace_ms.
 */
bool dg_sim_permit_lapsed(uint64_t now_ms, uint64_t running_since_ms, uint64_t valid_until_ms,
                          uint32_t grace_ms);
/*
 * Apply the permit rule at wall clock now_ms (UTC ms, the gateway's clock,
 * not the simulated one). A RUNNING pump remembers when it was first seen
 * running (a pump that is off for a reboot, or paused, is not: it starts a
 * new grace when it runs again); if it requires permits, does not ignore
 * them, and the permit has lapsed, it pauses itself (permit_lapsed = true)
 * and 1 is returned. Otherwise 0. Call it every step and often in real time.
 */
int dg_sim_pump_check_permit(struct dg_sim_pump *pump, uint64_t now_ms);
/* Current rate as a weight-based dose rate, mg/kg/h. */
double dg_sim_pump_dose_rate(const struct dg_sim_pump *pump);
/* What actually flowed during the last step (bolus included), mg/kg/h. */
double dg_sim_pump_delivered_rate(const struct dg_sim_pump *pump);
/* The dose the pump reports (dose_mg x dose_report_factor). */
double dg_sim_pump_reported_dose(const struct dg_sim_pump *pump);
/* The weight the program reports: 0 when it was not entered; the edited one
   after a program edit. */
double dg_sim_pump_program_weight(const struct dg_sim_pump *pump);
/* Lower-case state name ("programmed", "running", ...). Static string. */
const char *dg_sim_pump_state_name(enum dg_pump_state state);

#endif
