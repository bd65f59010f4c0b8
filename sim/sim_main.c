/*
 * sim_main.c — dosegate-sim: simulated infusion pumps and patient monitors
 * for N beds on one libuv loop.
 *
 * Run: parse the options, load each bed's program and patient (pure models),
 * open two links per bed (pump-i, monitor-i; each its own certificate and
 * client id), and one more per extra device a bed's scenario has (pump-i-2,
 * monitor-i-b), and wait until every link is connected (15 s real at most).
 * Then the simulated clock starts at the real wall clock and advances in
 * 1-second steps, each step due at start + t * 1000 / speed real ms. The
 * schedule is absolute (the timer is re-armed for the next due time), so
 * rounding to whole milliseconds never accumulates: 60x runs a 40-minute
 * session in 40 s. Every step publishes one VitalsSample and one
 * PumpTelemetry per device of each bed; commands from the gateway are obeyed
 * as they arrive (sim_device.c). What each bed does is its scenario's plan
 * (sim_scenario.c); sync_devices() turns the plan and the models' state into
 * what each device does on the wire at each second (silences, reboots and
 * their new incarnations, clock steps, the pump's bed, foreign publishes).
 *
 * Permit-to-infuse runs on the real wall clock, not the simulated one: the
 * gateway stamps its permits with its wall clock, and the fail-safe must act
 * within seconds of the gateway going away whatever the speed. The permits
 * are checked at every step and every PERMIT_POLL_MS of real time.
 *
 * End: after pre + session + post simulated minutes (a longer infusion
 * window if a bed's scenario needs one), or on SIGINT/SIGTERM,
 * the links close (waiting briefly for in-flight messages), one summary line
 * per bed (and one `device` line per extra device) goes to stdout, every
 * remaining handle is closed and the loop must close cleanly. Exit 0, or 1
 * if a link failed (never connected, could not open, or a publish of the
 * device's own was not delivered: foreign-identity's refused publishes do
 * not count), 2 on a usage error.
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/log.h"
#include "io/util.h"
#include "sim.h"

#define MOD              "sim"
#define CONNECT_WAIT_MS  15000
#define CONNECT_POLL_MS  100
#define CLOSE_TIMEOUT_MS 2000
#define DRAIN_MS         3000
#define DRAIN_POLL_MS    20
#define STEPS_PER_WAKE   200 /* bound the work per timer callback when behind */
#define MAX_BEDS         1000
#define PERMIT_POLL_MS   100 /* permits lapse in real time, whatever the speed */

struct dg_sim {
    uv_loop_t loop;
    struct dg_sim_opts opts;
    struct dg_sim_bed *beds; /* owned, opts.beds entries */
    uv_timer_t wait_timer;   /* polls: all links connected? backlogs drained? */
    uv_timer_t tick_timer;   /* one-shot, re-armed for each due step */
    uv_timer_t permit_timer; /* checks the pumps' permits against the wall clock */
    uv_signal_t sigint, sigterm;
    double wait_start_ms; /* real, uv_hrtime based */
    double drain_start_ms;
    double start_real_ms;     /* real time of simulated t = 0 */
    uint64_t start_wall_ms;   /* UTC ms of simulated t = 0 */
    uint64_t process_wall_ms; /* UTC ms when the process started */
    uint32_t t_s, total_s;    /* simulated seconds done / to do */
    uint64_t boot_nonce;      /* per run: the devices' boot ids differ from run to run */
    int links_open;
    bool running, stopping, finished, failed, interrupted;
};

/* ---------------------------------------------------------------- clocks */

static double real_ms(void)
{
    return (double)uv_hrtime() / 1e6;
}

static double due_ms(const struct dg_sim *sim, uint32_t t_s)
{
    return sim->start_real_ms + (double)t_s * 1000.0 / sim->opts.speed;
}

uint64_t dg_sim_started_ms(const struct dg_sim *sim)
{
    return sim->process_wall_ms;
}

uint64_t dg_sim_clock_ms(const struct dg_sim *sim)
{
    if (!sim->running) return dg_wall_ms();
    /* Between steps, interpolate so a reply to a command is stamped after the
       last step and before the next one. */
    double frac = (real_ms() - due_ms(sim, sim->t_s)) * sim->opts.speed;
    if (frac < 0) frac = 0;
    if (frac > 999) frac = 999;
    return sim->start_wall_ms + (uint64_t)sim->t_s * 1000u + (uint64_t)frac;
}

/* ---------------------------------------------------------------- end of run */

static const char *last_cmd_name(enum dg_sim_last_cmd c)
{
    switch (c) {
    case DG_SIM_CMD_PAUSE:
        return "pause";
    case DG_SIM_CMD_STOP:
        return "stop";
    default:
        return "none";
    }
}

static void print_summary(const struct dg_sim *sim)
{
    for (unsigned i = 0; i < sim->opts.beds; i++) {
        const struct dg_sim_bed *b = &sim->beds[i];
        const struct dg_sim_pump *p = &b->pump;
        const struct dg_sim_dev *pd = &b->pump_dev, *md = &b->monitor_dev;
        printf("summary %s %s scenario=%s state=%s dose_mg=%.1f dose_mg_per_kg=%.3f "
               "commands=%u last_command=%s telemetry_sent=%llu vitals_sent=%llu "
               "telemetry_acked=%llu vitals_acked=%llu publish_failed=%llu monitor=%s "
               "volume_ml=%.2f permits=%u commands_rejected=%llu sim_s=%u "
               "patient_ref=%s session_id=%s permit_required=%d permit_lapsed=%d "
               "bolus_count=%u bolus_dose_mg=%.1f reported_dose_mg=%.1f commands_ignored=%u "
               "sessions=%u pump_bed=%s pump_boots=%u monitor_boots=%u resumes=%u "
               "foreign_sent=%llu foreign_acked=%llu\n",
               b->ids.bed, b->ids.pump, b->scenario->name, dg_sim_pump_state_name(p->state),
               p->dose_mg, p->dose_mg / p->p.weight_kg, p->commands, last_cmd_name(p->last_cmd),
               (unsigned long long)pd->sent, (unsigned long long)md->sent,
               (unsigned long long)pd->acked, (unsigned long long)md->acked,
               (unsigned long long)(pd->publish_failed + md->publish_failed), b->ids.monitor,
               p->volume_ml, p->permits, (unsigned long long)pd->commands_rejected, sim->t_s,
               b->patient_ref, b->session_id, p->p.permit_required, p->permit_lapsed,
               p->bolus_count, p->bolus_mg, dg_sim_pump_reported_dose(p), p->commands_ignored,
               p->session, pd->bed_id, pd->boots, md->boots, p->resumes,
               (unsigned long long)md->foreign_sent, (unsigned long long)md->foreign_acked);
        /* One line per extra device (two-pumps-one-bed, pump-moves-bed). */
        const struct dg_sim_dev *extra[2] = {&b->pump2_dev, &b->monitor_b_dev};
        for (int k = 0; k < 2; k++) {
            const struct dg_sim_dev *d = extra[k];
            if (!d->used) continue;
            if (d->kind == DG_SIM_DEV_PUMP)
                printf("device %s %s kind=pump scenario=%s state=%s commands=%u "
                       "last_command=%s telemetry_sent=%llu telemetry_acked=%llu "
                       "publish_failed=%llu commands_rejected=%llu permits=%u boots=%u "
                       "dose_mg=%.1f\n",
                       d->bed_id, d->id, b->scenario->name, dg_sim_pump_state_name(d->pump->state),
                       d->pump->commands, last_cmd_name(d->pump->last_cmd),
                       (unsigned long long)d->sent, (unsigned long long)d->acked,
                       (unsigned long long)d->publish_failed,
                       (unsigned long long)d->commands_rejected, d->pump->permits, d->boots,
                       d->pump->dose_mg);
            else
                printf("device %s %s kind=monitor scenario=%s vitals_sent=%llu vitals_acked=%llu "
                       "publish_failed=%llu boots=%u\n",
                       d->bed_id, d->id, b->scenario->name, (unsigned long long)d->sent,
                       (unsigned long long)d->acked, (unsigned long long)d->publish_failed,
                       d->boots);
        }
    }
    fflush(stdout);
}

/* All links are closed: report and let the loop end. A foreign publish the
   broker refused is not a failure (foreign-identity). */
static void finish(struct dg_sim *sim)
{
    if (sim->finished) return;
    sim->finished = true;
    for (unsigned i = 0; i < sim->opts.beds; i++) {
        struct dg_sim_dev *devs[DG_SIM_BED_DEVS];
        unsigned n = dg_sim_bed_devs(&sim->beds[i], devs);
        for (unsigned k = 0; k < n; k++)
            if (devs[k]->publish_failed) sim->failed = true;
    }
    print_summary(sim);
    dg_uv_close_all(&sim->loop);
}

void dg_sim_link_closed(struct dg_sim *sim)
{
    if (--sim->links_open == 0 && sim->stopping) finish(sim);
}

static void close_links(struct dg_sim *sim)
{
    uv_timer_stop(&sim->wait_timer);
    for (unsigned i = 0; i < sim->opts.beds; i++)
        dg_sim_bed_close(&sim->beds[i], CLOSE_TIMEOUT_MS);
    if (sim->links_open == 0) finish(sim);
}

/*
 * dg_link_close() fails messages still in a link's FIFO at once and only
 * waits for those already in flight, so first let the FIFOs drain (up to
 * DRAIN_MS) while the links are still open.
 */
static void on_drain(uv_timer_t *h)
{
    struct dg_sim *sim = h->data;
    size_t backlog = 0;
    for (unsigned i = 0; i < sim->opts.beds; i++) {
        struct dg_sim_dev *devs[DG_SIM_BED_DEVS];
        unsigned n = dg_sim_bed_devs(&sim->beds[i], devs);
        for (unsigned k = 0; k < n; k++)
            if (devs[k]->link && dg_link_is_connected(devs[k]->link))
                backlog += dg_link_backlog(devs[k]->link);
    }
    if (backlog == 0 || real_ms() - sim->drain_start_ms >= DRAIN_MS) close_links(sim);
}

static void stop_sim(struct dg_sim *sim)
{
    if (sim->stopping) return;
    sim->stopping = true;
    uv_timer_stop(&sim->wait_timer);
    uv_timer_stop(&sim->tick_timer);
    uv_timer_stop(&sim->permit_timer);
    if (!sim->running) {
        close_links(sim);
        return;
    }
    sim->drain_start_ms = real_ms();
    uv_timer_start(&sim->wait_timer, on_drain, 0, DRAIN_POLL_MS);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct dg_sim *sim = h->data;
    DG_WARN(MOD, "msg=\"signal received, stopping early\" signal=%d sim_s=%u", signum, sim->t_s);
    sim->interrupted = true;
    stop_sim(sim);
}

/* ---------------------------------------------------------------- simulation */

static void log_progress(const struct dg_sim *sim, const struct dg_sim_bed *b,
                         const struct dg_sim_vitals *v)
{
    if (!v->has_nibp) return;
    DG_INFO(MOD,
            "bed=%s t=%02u:%02u pump=%s dose_mg=%.2f hr=%.0f spo2=%.0f rr=%.0f "
            "nibp=%.0f/%.0f(%.0f)",
            b->ids.bed, sim->t_s / 60, sim->t_s % 60, dg_sim_pump_state_name(b->pump.state),
            b->pump.dose_mg, v->heart_rate_bpm, v->spo2_pct, v->resp_rate_bpm, v->systolic_mmhg,
            v->diastolic_mmhg, v->mean_mmhg);
}

/* Publish every bed's messages for the current second: the vitals first (the
   baseline NIBP must be at the gateway before the telemetry that says the
   infusion started), then pump-i, then a second pump (it names the bed last),
   then foreign-identity's forged telemetry. */
static void emit(struct dg_sim *sim)
{
    uint64_t time_ms = sim->start_wall_ms + (uint64_t)sim->t_s * 1000u;
    for (unsigned i = 0; i < sim->opts.beds; i++) {
        struct dg_sim_bed *b = &sim->beds[i];
        struct dg_sim_vitals v, vb;
        dg_sim_monitor_sample(&b->mon, &v);
        dg_sim_dev_send_vitals(&b->monitor_dev, &v, time_ms);
        if (b->monitor_b_dev.used) {
            dg_sim_monitor_sample(&b->mon_b, &vb);
            dg_sim_dev_send_vitals(&b->monitor_b_dev, &vb, time_ms);
        }
        dg_sim_dev_send_telemetry(&b->pump_dev, time_ms);
        if (b->pump2_dev.used) dg_sim_dev_send_telemetry(&b->pump2_dev, time_ms);
        if (b->foreign)
            dg_sim_dev_send_foreign(&b->monitor_dev, b->plan.foreign_rate_ml_per_h, time_ms);
        log_progress(sim, b, &v);
    }
}

/* The pump paused itself: say so (at warn, it shows with --quiet) and report it at once. */
static void permit_lapsed(struct dg_sim_dev *d, uint64_t time_ms)
{
    char text[DG_TEXT_MAX], q[DG_TEXT_MAX + 8];
    snprintf(text, sizeof text, "%s %s: permit lapsed, pausing", d->bed_id, d->id);
    DG_WARN(MOD, "msg=%s permits=%u valid_until_ms=%llu sim_s=%u", dg_log_q(q, sizeof q, text),
            d->pump->permits, (unsigned long long)d->pump->permit_valid_until_ms, d->pump->t_s);
    if (time_ms) dg_sim_dev_send_telemetry(d, time_ms);
}

/* Real time, between steps: a pump whose permit lapsed pauses now, not at its next step. */
static void on_permit_poll(uv_timer_t *h)
{
    struct dg_sim *sim = h->data;
    uint64_t now = dg_wall_ms();
    for (unsigned i = 0; i < sim->opts.beds; i++) {
        struct dg_sim_bed *b = &sim->beds[i];
        if (dg_sim_pump_check_permit(&b->pump, now))
            permit_lapsed(&b->pump_dev, dg_sim_clock_ms(sim));
        if (b->pump2_dev.used && dg_sim_pump_check_permit(&b->pump2, now))
            permit_lapsed(&b->pump2_dev, dg_sim_clock_ms(sim));
    }
}

/* A second session was programmed: a new session id, as a real pump would give it. */
static void new_session(struct dg_sim_bed *b)
{
    snprintf(b->session_id, sizeof b->session_id, "sess-%llx-%x-%u-s%u",
             (unsigned long long)dg_wall_ms(), (unsigned)getpid(), b->index, b->pump.session);
    DG_INFO(MOD,
            "msg=\"%s %s: session %u programmed\" session_id=%s patient_ref=%s "
            "dose_mg_per_kg=%.2f rate_ml_per_h=%.2f sim_s=%u",
            b->ids.bed, b->ids.pump, b->pump.session, b->session_id, b->patient_ref,
            b->pump.p.dose_mg_per_kg, b->pump.program_rate_ml_per_h, b->pump.t_s);
}

/* A scenario event of bed b at run second t, at warn (shows with --quiet). */
static void event(const struct dg_sim_bed *b, const char *device, const char *what, uint32_t t)
{
    char text[DG_TEXT_MAX * 2], q[DG_TEXT_MAX * 2 + 8];
    snprintf(text, sizeof text, "%s %s: %s (scenario %s)", b->ids.bed, device, what,
             b->scenario->name);
    DG_WARN(MOD, "msg=%s sim_s=%u", dg_log_q(q, sizeof q, text), t);
}

/*
 * What the plan and the models say about each device at run second t: who
 * is silent, each clock, the pump's bed, a boot that needs a new incarnation,
 * the foreign publishes. Called before the first emit and after every step.
 */
static void sync_devices(struct dg_sim_bed *b, uint32_t t)
{
    const struct dg_sim_plan *pl = &b->plan;
    struct dg_sim_dev *pd = &b->pump_dev, *md = &b->monitor_dev;
    char what[DG_TEXT_MAX];

    bool pump_silent = t >= pl->pump_silent_from_s;
    if (pump_silent && t == pl->pump_silent_from_s)
        event(b, pd->id, "stops publishing telemetry", t);
    bool mon_silent = t >= pl->monitor_silent_from_s;
    if (mon_silent && t == pl->monitor_silent_from_s)
        event(b, md->id, "stops publishing vitals", t);

    /* Reboots: silent while off; each boot is a new incarnation, seq from 1. */
    if (b->pump.off && !pd->silent) event(b, pd->id, "reboots: silent until it boots", t);
    if (b->pump.boots != pd->boots) {
        dg_sim_dev_reboot(pd);
        snprintf(what, sizeof what,
                 "booted: incarnation %llx, seq from 1, %s at %.2f mL/h (program restored at "
                 "%.2f mL/h)",
                 (unsigned long long)pd->incarnation, dg_sim_pump_state_name(b->pump.state),
                 b->pump.rate_ml_per_h, b->pump.program_rate_ml_per_h);
        event(b, pd->id, what, t);
    }
    if (b->mon.off && !md->silent) event(b, md->id, "reboots: silent until it boots", t);
    if (b->mon.boots != md->boots) {
        dg_sim_dev_reboot(md);
        snprintf(what, sizeof what, "booted: incarnation %llx, seq from 1",
                 (unsigned long long)md->incarnation);
        event(b, md->id, what, t);
    }
    pd->silent = pump_silent || b->pump.off;
    md->silent = mon_silent || b->mon.off;

    /* Clocks: a constant offset, plus a step from its second on. */
    int64_t pc = dg_sim_plan_pump_clock_ms(pl, t), mc = dg_sim_plan_monitor_clock_ms(pl, t);
    if (t > 0 && pc != pd->clock_ms) {
        snprintf(what, sizeof what, "clock steps %+lld s", (long long)(pc - pd->clock_ms) / 1000);
        event(b, pd->id, what, t);
    }
    if (t > 0 && mc != md->clock_ms) {
        snprintf(what, sizeof what, "clock steps %+lld s", (long long)(mc - md->clock_ms) / 1000);
        event(b, md->id, what, t);
    }
    pd->clock_ms = pc;
    md->clock_ms = mc;
    b->pump2_dev.clock_ms = b->monitor_b_dev.clock_ms = pl->clock_offset_ms;

    /* The pump's bed: the bed it reports (pump-moves-bed). */
    const char *bed = t >= pl->pump_moves_from_s ? b->ids.bed_b : b->ids.bed;
    if (t > 0 && strcmp(bed, pd->bed_id) != 0) {
        snprintf(what, sizeof what, "now reports bed %s", bed);
        event(b, pd->id, what, t);
    }
    pd->bed_id = bed;

    bool foreign = t >= pl->foreign_from_s;
    if (foreign && !b->foreign) {
        snprintf(what, sizeof what,
                 "also publishes PumpTelemetry as pump %s on %s (%.1f mL/h) through its own "
                 "link",
                 md->id, md->foreign_topic, pl->foreign_rate_ml_per_h);
        event(b, md->id, what, t);
    }
    b->foreign = foreign;
}

/* What changed in pump-i during the step, for the log. */
static void log_pump_step(const struct dg_sim_bed *b, uint32_t boluses, bool edited,
                          uint32_t resumes, int changed)
{
    const struct dg_sim_pump *p = &b->pump;
    char what[DG_TEXT_MAX];
    if (p->bolus_count != boluses)
        DG_INFO(MOD, "msg=\"%s %s: bolus given\" bolus_dose_mg=%.2f dose_mg=%.2f sim_s=%u",
                b->ids.bed, b->ids.pump, p->bolus_mg, p->dose_mg, p->t_s);
    if (p->edited != edited) {
        snprintf(what, sizeof what,
                 "program edited in session: weight %.0f kg, rate %.2f mL/h (%.2f mg/kg/h for "
                 "the patient's %.0f kg)",
                 dg_sim_pump_program_weight(p), p->program_rate_ml_per_h, dg_sim_pump_dose_rate(p),
                 p->p.weight_kg);
        event(b, b->ids.pump, what, p->t_s);
    }
    if (p->resumes != resumes) {
        snprintf(what, sizeof what, "resumed at the pump by the clinician, no reset (%u of %u)",
                 p->resumes, p->p.resumes_max);
        event(b, b->ids.pump, what, p->t_s);
    }
    if (changed)
        DG_INFO(MOD, "msg=\"%s %s: %s\" rate_ml_per_h=%.2f dose_mg=%.2f sim_s=%u", b->ids.bed,
                b->ids.pump, dg_sim_pump_state_name(p->state), p->rate_ml_per_h, p->dose_mg,
                p->t_s);
}

static void step(struct dg_sim *sim)
{
    uint64_t now = dg_wall_ms();
    for (unsigned i = 0; i < sim->opts.beds; i++) {
        struct dg_sim_bed *b = &sim->beds[i];
        unsigned session = b->pump.session;
        uint32_t boluses = b->pump.bolus_count, resumes = b->pump.resumes;
        bool edited = b->pump.edited;
        int changed = dg_sim_pump_step(&b->pump);
        if (b->pump2_dev.used) dg_sim_pump_step(&b->pump2);
        /* What flowed during this second drives the patients' drug levels. */
        double rate = dg_sim_pump_delivered_rate(&b->pump);
        dg_sim_monitor_step(&b->mon, rate);
        if (b->monitor_b_dev.used)
            dg_sim_monitor_step(&b->mon_b, dg_sim_plan_rate_b(&b->plan, b->pump.t_s, rate));
        if (b->pump.session != session) new_session(b);
        log_pump_step(b, boluses, edited, resumes, changed);
        /* The telemetry of this step reports the pause. */
        if (dg_sim_pump_check_permit(&b->pump, now)) permit_lapsed(&b->pump_dev, 0);
        if (b->pump2_dev.used && dg_sim_pump_check_permit(&b->pump2, now))
            permit_lapsed(&b->pump2_dev, 0);
        sync_devices(b, b->pump.t_s);
    }
    sim->t_s++;
    emit(sim);
}

static void on_tick(uv_timer_t *h)
{
    struct dg_sim *sim = h->data;
    double now = real_ms();
    int n = 0;
    while (sim->t_s < sim->total_s && due_ms(sim, sim->t_s + 1) <= now && n < STEPS_PER_WAKE) {
        step(sim);
        n++;
    }
    if (sim->t_s >= sim->total_s) {
        DG_INFO(MOD, "msg=\"session over\" sim_s=%u real_s=%.1f", sim->t_s,
                (real_ms() - sim->start_real_ms) / 1000.0);
        stop_sim(sim);
        return;
    }
    double wait = due_ms(sim, sim->t_s + 1) - real_ms();
    uv_timer_start(&sim->tick_timer, on_tick, wait > 0 ? (uint64_t)ceil(wait) : 0, 0);
}

static void start_sim(struct dg_sim *sim)
{
    sim->running = true;
    sim->start_wall_ms = dg_wall_ms();
    sim->start_real_ms = real_ms();
    sim->t_s = 0;
    DG_INFO(MOD, "msg=\"all devices connected, session starts\" beds=%u speed=%g sim_s=%u",
            sim->opts.beds, sim->opts.speed, sim->total_s);
    uint64_t now = dg_wall_ms();
    for (unsigned i = 0; i < sim->opts.beds; i++) {
        dg_sim_pump_check_permit(&sim->beds[i].pump, now); /* running from t = 0 */
        sync_devices(&sim->beds[i], 0);
    }
    emit(sim);
    uv_timer_start(&sim->tick_timer, on_tick, (uint64_t)ceil(1000.0 / sim->opts.speed), 0);
    uv_timer_start(&sim->permit_timer, on_permit_poll, PERMIT_POLL_MS, PERMIT_POLL_MS);
}

static void on_wait(uv_timer_t *h)
{
    struct dg_sim *sim = h->data;
    bool all = true;
    for (unsigned i = 0; i < sim->opts.beds && all; i++)
        all = dg_sim_bed_connected(&sim->beds[i]);
    if (all) {
        uv_timer_stop(&sim->wait_timer);
        start_sim(sim);
        return;
    }
    if (real_ms() - sim->wait_start_ms < CONNECT_WAIT_MS) return;
    for (unsigned i = 0; i < sim->opts.beds; i++) {
        struct dg_sim_dev *devs[DG_SIM_BED_DEVS];
        unsigned n = dg_sim_bed_devs(&sim->beds[i], devs);
        for (unsigned k = 0; k < n; k++)
            if (!devs[k]->link || !dg_link_is_connected(devs[k]->link))
                DG_ERROR(MOD,
                         "msg=\"%s could not connect to %s within %d s\" device=%s "
                         "hint=\"is the broker up? are --certs and the ACL right? "
                         "is its certificate expired or revoked?\"",
                         devs[k]->id, sim->opts.url, CONNECT_WAIT_MS / 1000, devs[k]->id);
    }
    sim->failed = true;
    stop_sim(sim);
}

/* ---------------------------------------------------------------- setup */

static int init_bed(struct dg_sim *sim, struct dg_sim_bed *b, unsigned index)
{
    const struct dg_sim_opts *o = &sim->opts;
    memset(b, 0, sizeof *b);
    b->sim = sim;
    b->index = index;
    b->scenario = o->scenarios[(index - 1) % o->n_scenarios];
    dg_sim_scenario_ids(b->scenario, index, &b->ids);
    /* The patient reference is pseudonymous and reproducible per seed; the
       session id is unique per run. */
    struct dg_sim_rng r;
    dg_sim_rng_init(&r, o->seed, 1000000u + index);
    snprintf(b->patient_ref, sizeof b->patient_ref, "pt-%08llx",
             (unsigned long long)(dg_sim_rng_next(&r) & 0xffffffffu));
    snprintf(b->session_id, sizeof b->session_id, "sess-%llx-%x-%u",
             (unsigned long long)dg_wall_ms(), (unsigned)getpid(), index);
    snprintf(b->foreign_session_id, sizeof b->foreign_session_id, "%s-forged", b->session_id);

    struct dg_sim_setup setup = {
        .seed = o->seed,
        .bed = index,
        .weight_kg = o->weight_kg,
        .pre_min = o->pre_min,
        .session_min = o->session_min,
        .permit = o->permit,
        .permit_grace_ms = (uint32_t)lround(o->permit_grace_s * 1000.0),
    };
    int rc = dg_sim_scenario_plan(b->scenario, &setup, &b->plan);
    if (rc < 0) return rc;
    rc = dg_sim_pump_init(&b->pump, &b->plan.pump);
    if (rc < 0) return rc;
    dg_sim_monitor_init(&b->mon, &b->plan.monitor);

    /* The devices. Boot ids are unique per run and device (stream = bed x 8
       + device), never 0. */
    uint64_t stream = (uint64_t)index * 8u;
    if ((rc = dg_sim_dev_init(&b->pump_dev, b, DG_SIM_DEV_PUMP, b->ids.pump, b->ids.bed, o->root,
                              sim->boot_nonce, stream)) < 0 ||
        (rc = dg_sim_dev_init(&b->monitor_dev, b, DG_SIM_DEV_MONITOR, b->ids.monitor, b->ids.bed,
                              o->root, sim->boot_nonce, stream + 1)) < 0)
        return rc;
    b->pump_dev.pump = &b->pump;
    if (b->plan.second_pump) {
        if ((rc = dg_sim_pump_init_idle(&b->pump2, &b->plan.pump2)) < 0 ||
            (rc = dg_sim_dev_init(&b->pump2_dev, b, DG_SIM_DEV_PUMP, b->ids.pump2, b->ids.bed,
                                  o->root, sim->boot_nonce, stream + 2)) < 0)
            return rc;
        b->pump2_dev.pump = &b->pump2;
    }
    if (b->plan.second_bed) {
        dg_sim_monitor_init(&b->mon_b, &b->plan.monitor_b);
        if ((rc = dg_sim_dev_init(&b->monitor_b_dev, b, DG_SIM_DEV_MONITOR, b->ids.monitor_b,
                                  b->ids.bed_b, o->root, sim->boot_nonce, stream + 3)) < 0)
            return rc;
    }
    return 0;
}

/* "  name   line 1\n" and the help's further lines under the first. */
static void print_scenarios(FILE *f)
{
    for (const struct dg_sim_scenario *s = dg_sim_scenarios; s->name; s++) {
        fprintf(f, "  %-23s ", s->name);
        for (const char *p = s->help; *p; p++) {
            fputc(*p, f);
            if (*p == '\n') fprintf(f, "  %-23s ", "");
        }
        fputc('\n', f);
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: dosegate-sim --url ssl://HOST:PORT --certs DIR [options]\n"
               "\n"
               "Simulated infusion pumps and patient monitors, one pair per bed, each with\n"
               "its own MQTT link and client certificate (client id = device id).\n"
               "\n"
               "  --url URL          broker, ssl://host:port (required)\n"
               "  --certs DIR        ca.pem and <device>.pem/<device>.key per device, as made\n"
               "                     by certs/make-certs (required)\n"
               "  --site SITE        site name (default demo-clinic)\n"
               "  --root ROOT        topic root (default dosegate/v1/<site>)\n"
               "  --beds N           beds 1..N: bed-i with pump-i and monitor-i (default 1);\n"
               "                     two-pumps-one-bed adds pump-i-2, pump-moves-bed adds\n"
               "                     bed-i-b with monitor-i-b (each needs its certificate)\n"
               "  --scenario NAME    scenario for every bed (default normal); a list A,B,...\n"
               "                     gives bed-1 A, bed-2 B, ... and repeats\n"
               "  --speed X          simulated seconds per real second (default 1; 60 runs a\n"
               "                     40 min session in 40 s)\n"
               "  --pre-min M        programmed, baseline NIBP taken (default 2)\n"
               "  --session-min M    programmed infusion duration (default 40)\n"
               "  --post-min M       observation after the infusion (default 5)\n"
               "  --weight-kg W      patient weight (default 70)\n"
               "  --seed N           seed of the patients' physiology and noise (default 1)\n"
               "  --permit           pumps require permit-to-infuse (the default): a running\n"
               "                     pump pauses itself once the gateway's last PERMIT has\n"
               "                     expired (gateway wall clock) or none came within the grace\n"
               "  --no-permit        pumps do not require permits (gateway-gone still does)\n"
               "  --permit-grace-s S real seconds a just-started pump may run before its first\n"
               "                     permit (default 5)\n"
               "  --quiet            only warnings, errors, commands received and the summary\n"
               "  -h, --help         this text\n"
               "\n"
               "Scenarios (times are simulated, after the infusion start; what a correct\n"
               "gateway raises follows the arrow; docs/simulator.md has the timelines):\n");
    print_scenarios(f);
    fprintf(f, "\n"
               "The run lasts pre + session + post minutes, longer for overdose (75 min of\n"
               "infusion) and second-session-same-day (60 min + a second session).\n"
               "The times of pump-reboot .. foreign-identity are simulated and chosen to hold\n"
               "at --speed 240 and 60 (a 5 s reboot is 21 ms / 83 ms real: no silence alert).\n"
               "\n"
               "Output: logs on stderr; at the end one line per bed on stdout:\n"
               "  summary bed-1 pump-1 scenario=... state=... dose_mg=... dose_mg_per_kg=...\n"
               "  commands=N last_command=none|pause|stop telemetry_sent=N vitals_sent=N ...\n"
               "  ... permit_required=0|1 permit_lapsed=0|1 bolus_count=N ... sessions=N\n"
               "  pump_bed=BED pump_boots=N monitor_boots=N resumes=N foreign_sent=N ...\n"
               "and one per extra device:\n"
               "  device bed-1 pump-1-2 kind=pump scenario=... state=idle commands=N ...\n"
               "  device bed-1-b monitor-1-b kind=monitor scenario=... vitals_sent=N ...\n"
               "Exit: 0 done (also after SIGINT/SIGTERM), 1 a link failed, 2 usage error.\n"
               "See docs/simulator.md.\n");
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < lo || v > hi) return -DG_EINVAL;
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (*s == '-') return -DG_EINVAL;
    unsigned long long v = strtoull(s, &end, 0);
    if (end == s || *end) return -DG_EINVAL;
    *out = v;
    return 0;
}

/* "normal" or "normal,overrate,...": fills o->scenarios. */
static int parse_scenarios(const char *arg, struct dg_sim_opts *o)
{
    char name[64];
    unsigned n = 0;
    const char *p = arg;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= sizeof name || n == DG_SIM_SCENARIOS_MAX) return -DG_EINVAL;
        memcpy(name, p, len);
        name[len] = '\0';
        o->scenarios[n] = dg_sim_scenario_find(name);
        if (!o->scenarios[n]) return -DG_EINVAL;
        n++;
        if (!comma) break;
        p = comma + 1;
    }
    o->n_scenarios = n;
    return 0;
}

enum {
    OPT_URL = 256,
    OPT_CERTS,
    OPT_SITE,
    OPT_ROOT,
    OPT_BEDS,
    OPT_SCENARIO,
    OPT_SPEED,
    OPT_PRE,
    OPT_SESSION,
    OPT_POST,
    OPT_WEIGHT,
    OPT_SEED,
    OPT_QUIET,
    OPT_PERMIT,
    OPT_NO_PERMIT,
    OPT_PERMIT_GRACE,
};

/* Returns 0, 1 for --help, or -DG_EINVAL with a message printed. */
static int parse_args(int argc, char **argv, struct dg_sim_opts *o)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, OPT_URL},
        {"certs", required_argument, NULL, OPT_CERTS},
        {"site", required_argument, NULL, OPT_SITE},
        {"root", required_argument, NULL, OPT_ROOT},
        {"beds", required_argument, NULL, OPT_BEDS},
        {"scenario", required_argument, NULL, OPT_SCENARIO},
        {"speed", required_argument, NULL, OPT_SPEED},
        {"pre-min", required_argument, NULL, OPT_PRE},
        {"session-min", required_argument, NULL, OPT_SESSION},
        {"post-min", required_argument, NULL, OPT_POST},
        {"weight-kg", required_argument, NULL, OPT_WEIGHT},
        {"seed", required_argument, NULL, OPT_SEED},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"permit", no_argument, NULL, OPT_PERMIT},
        {"no-permit", no_argument, NULL, OPT_NO_PERMIT},
        {"permit-grace-s", required_argument, NULL, OPT_PERMIT_GRACE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *root = NULL;
    double beds = 1;
    memset(o, 0, sizeof *o);
    o->site = "demo-clinic";
    o->scenarios[0] = dg_sim_scenario_find("normal");
    o->n_scenarios = 1;
    o->speed = 1;
    o->pre_min = 2;
    o->session_min = 40;
    o->post_min = 5;
    o->weight_kg = 70;
    o->seed = 1;
    o->permit = true;
    o->permit_grace_s = 5;
    int c;
    const char *bad = NULL;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_URL:
            o->url = optarg;
            break;
        case OPT_CERTS:
            o->certs_dir = optarg;
            break;
        case OPT_SITE:
            o->site = optarg;
            break;
        case OPT_ROOT:
            root = optarg;
            break;
        case OPT_BEDS:
            if (parse_double(optarg, 1, MAX_BEDS, &beds) < 0 || beds != floor(beds))
                bad = "--beds must be a whole number 1..1000";
            break;
        case OPT_SCENARIO:
            if (parse_scenarios(optarg, o) < 0) bad = "unknown --scenario (see --help)";
            break;
        case OPT_SPEED:
            if (parse_double(optarg, 1e-3, 1e5, &o->speed) < 0)
                bad = "--speed must be a number in 0.001..100000";
            break;
        case OPT_PRE:
            if (parse_double(optarg, 0, 1440, &o->pre_min) < 0) bad = "--pre-min must be 0..1440";
            break;
        case OPT_SESSION:
            if (parse_double(optarg, 1.0 / 60, 1440, &o->session_min) < 0)
                bad = "--session-min must be 1/60..1440";
            break;
        case OPT_POST:
            if (parse_double(optarg, 0, 1440, &o->post_min) < 0) bad = "--post-min must be 0..1440";
            break;
        case OPT_WEIGHT:
            if (parse_double(optarg, 1, 500, &o->weight_kg) < 0) bad = "--weight-kg must be 1..500";
            break;
        case OPT_SEED:
            if (parse_u64(optarg, &o->seed) < 0) bad = "--seed must be a non-negative integer";
            break;
        case OPT_QUIET:
            o->quiet = true;
            break;
        case OPT_PERMIT:
            o->permit = true;
            break;
        case OPT_NO_PERMIT:
            o->permit = false;
            break;
        case OPT_PERMIT_GRACE:
            if (parse_double(optarg, 0, 3600, &o->permit_grace_s) < 0)
                bad = "--permit-grace-s must be 0..3600";
            break;
        case 'h':
            return 1;
        default:
            bad = "unknown option (see --help)";
            break;
        }
        if (bad) break;
    }
    if (!bad && optind < argc) bad = "unexpected argument (see --help)";
    if (!bad && !o->url) bad = "--url is required";
    if (!bad && !o->certs_dir) bad = "--certs is required";
    if (!bad && o->session_min * 60.0 < 1) bad = "--session-min too short";
    if (bad) {
        fprintf(stderr, "dosegate-sim: %s\n", bad);
        return -DG_EINVAL;
    }
    o->beds = (unsigned)beds;
    int n = root ? snprintf(o->root, sizeof o->root, "%s", root)
                 : snprintf(o->root, sizeof o->root, "dosegate/v1/%s", o->site);
    /* As the gateway does: a trailing '/' is ignored; empty, '+' or '#' is refused. */
    size_t len = n < 0 ? 0 : strlen(o->root);
    while (len > 0 && o->root[len - 1] == '/')
        o->root[--len] = '\0';
    if (n < 0 || (size_t)n >= sizeof o->root || len == 0 || strpbrk(o->root, "+#")) {
        fprintf(stderr, "dosegate-sim: bad topic root \"%s\"\n", o->root);
        return -DG_EINVAL;
    }
    return 0;
}

/* Fail early, naming the file, rather than with a TLS error later. */
static int check_certs(const struct dg_sim_opts *o)
{
    char path[DG_SIM_PATH_MAX];
    snprintf(path, sizeof path, "%s/ca.pem", o->certs_dir);
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "dosegate-sim: cannot read %s\n", path);
        return -DG_EIO;
    }
    for (unsigned i = 1; i <= o->beds; i++) {
        const struct dg_sim_scenario *sc = o->scenarios[(i - 1) % o->n_scenarios];
        struct dg_sim_ids ids;
        dg_sim_scenario_ids(sc, i, &ids);
        /* bed-i's own devices, then the extra ones its scenario needs */
        const char *devices[4] = {ids.pump, ids.monitor, ids.pump2, ids.monitor_b};
        const char *exts[2] = {"pem", "key"};
        for (int k = 0; k < 4; k++)
            for (int e = 0; e < 2 && devices[k][0]; e++) {
                snprintf(path, sizeof path, "%s/%s.%s", o->certs_dir, devices[k], exts[e]);
                if (access(path, R_OK) == 0) continue;
                if (k < 2)
                    fprintf(stderr,
                            "dosegate-sim: cannot read %s (make it with certs/make-certs "
                            "%s %s ...)\n",
                            path, o->certs_dir, devices[k]);
                else
                    fprintf(stderr,
                            "dosegate-sim: cannot read %s: scenario %s on bed %u needs device "
                            "%s (make it with certs/make-certs %s %s ...)\n",
                            path, sc->name, i, devices[k], o->certs_dir, devices[k]);
                return -DG_EIO;
            }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct dg_sim sim; /* static: large, and its handles must outlive main's frame use */
    int exit_code = 1;
    sim.process_wall_ms = dg_wall_ms();
    int rc = parse_args(argc, argv, &sim.opts);
    if (rc == 1) {
        usage(stdout);
        return 0;
    }
    if (rc < 0) return 2;
    if (check_certs(&sim.opts) < 0) return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    if (sim.opts.quiet) dg_log_set_level(DG_LOG_WARN);

    const struct dg_sim_opts *o = &sim.opts;
    sim.boot_nonce = dg_wall_ms() ^ (uint64_t)getpid() << 40;
    sim.beds = dg_calloc(o->beds, sizeof *sim.beds);
    if (!sim.beds) {
        fprintf(stderr, "dosegate-sim: out of memory\n");
        return 1;
    }
    for (unsigned i = 0; i < o->beds; i++) {
        rc = init_bed(&sim, &sim.beds[i], i + 1);
        if (rc < 0) {
            fprintf(stderr,
                    "dosegate-sim: bed %u: %s (topic root too long, or options the "
                    "scenario cannot use?)\n",
                    i + 1, dg_strerror(rc));
            dg_free(sim.beds);
            return 2;
        }
    }
    /* Every bed runs until the longest infusion window of any bed is over, then
       the observation period. */
    uint32_t phase_s = 0;
    for (unsigned i = 0; i < o->beds; i++)
        if (sim.beds[i].plan.phase_s > phase_s) phase_s = sim.beds[i].plan.phase_s;
    sim.total_s = sim.beds[0].plan.pump.pre_s + phase_s + (uint32_t)lround(o->post_min * 60.0);
    if (uv_loop_init(&sim.loop) != 0) {
        fprintf(stderr, "dosegate-sim: uv_loop_init failed\n");
        dg_free(sim.beds);
        return 1;
    }
    uv_timer_init(&sim.loop, &sim.wait_timer);
    uv_timer_init(&sim.loop, &sim.tick_timer);
    uv_timer_init(&sim.loop, &sim.permit_timer);
    uv_signal_init(&sim.loop, &sim.sigint);
    uv_signal_init(&sim.loop, &sim.sigterm);
    sim.wait_timer.data = sim.tick_timer.data = sim.permit_timer.data = &sim;
    sim.sigint.data = sim.sigterm.data = &sim;
    uv_signal_start(&sim.sigint, on_signal, SIGINT);
    uv_signal_start(&sim.sigterm, on_signal, SIGTERM);

    DG_INFO(MOD, "msg=\"starting\" url=%s beds=%u speed=%g seed=%llu root=%s permit=%d sim_s=%u",
            o->url, o->beds, o->speed, (unsigned long long)o->seed, o->root, o->permit,
            sim.total_s);
    for (unsigned i = 0; i < o->beds; i++) {
        const struct dg_sim_bed *b = &sim.beds[i];
        DG_INFO(MOD,
                "bed=%s pump=%s monitor=%s scenario=%s patient_ref=%s session_id=%s "
                "rate_ml_per_h=%.2f permit_required=%d",
                b->ids.bed, b->ids.pump, b->ids.monitor, b->scenario->name, b->patient_ref,
                b->session_id, b->pump.program_rate_ml_per_h, b->pump.p.permit_required);
        if (b->pump2_dev.used)
            DG_INFO(MOD, "bed=%s pump=%s msg=\"second pump, idle\" scenario=%s", b->ids.bed,
                    b->ids.pump2, b->scenario->name);
        if (b->monitor_b_dev.used)
            DG_INFO(MOD, "bed=%s monitor=%s msg=\"second bed, its own patient\" scenario=%s",
                    b->ids.bed_b, b->ids.monitor_b, b->scenario->name);
    }
    for (unsigned i = 0; i < o->beds; i++) {
        struct dg_sim_bed *b = &sim.beds[i];
        rc = dg_sim_bed_open(b, &sim.loop, o);
        sim.links_open += dg_sim_bed_links(b);
        if (rc < 0) {
            sim.failed = true;
            break;
        }
    }
    if (sim.failed) {
        stop_sim(&sim);
    } else {
        sim.wait_start_ms = real_ms();
        uv_timer_start(&sim.wait_timer, on_wait, CONNECT_POLL_MS, CONNECT_POLL_MS);
    }

    uv_run(&sim.loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&sim.loop);
    if (rc != 0) {
        DG_ERROR(MOD, "msg=\"loop did not close cleanly\" err=\"%s\"", uv_strerror(rc));
        sim.failed = true;
    }
    exit_code = sim.failed ? 1 : 0;
    dg_free(sim.beds);
    return exit_code;
}
