"""One simulator scenario through the real broker over TLS, the real gateway
and simulator: the exact alerts (condition, priority, phase sequence), the
command if any, and the retained alarm snapshot.

CTest runs this file once per scenario: `python3 test_scenarios.py NAME`
(tests/CMakeLists.txt lists them), so the scenarios run in parallel.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dg  # noqa: E402
import harness  # noqa: E402

# What a correct gateway does for each scenario.
#   alerts:   {condition: [phase, ...]} the exact phase sequence of the one
#             alert of that condition on bed-1 (its priority after each phase
#             in `priority`); None = any phases; a dict(first=, priority=,
#             action=) = only its first event is checked. No other condition
#             may appear, except those in `allow` (may appear, any phases).
#   bed_alerts: {bed: alerts} instead of `alerts` when several beds have
#             alerts (pump-moves-bed); no other bed may have any.
#   priority: {condition: final priority}
#   per_device / sources: one alert per source device / {condition: [device
#             ids]} the exact set of devices the alerts of it are about
#   commands: [(action, condition that caused it[, pump[, bed of that
#             alert]])] pause/stop commands, in order; pump defaults to
#             pump-1 and the bed to bed-1; the condition may be a tuple of
#             acceptable ones
#   no_commands_to: device ids that must get no command at all, permits
#             included
#   active:   conditions in bed-1's retained snapshot at the end (None: not
#             checked); bed_active: {bed: conditions} for other beds
#   state:    the simulated pump's final state (summary)
#   devices:  extra device certificates the scenario needs
#   summary:  {key: value} exact values in bed-1's summary line;
#             summary_min: {key: n} integer keys at least n
#   device_summary: {device: {key: value}} exact values in a `device` line
#   max_dose_mg: the pump delivered at most this (a late action lets more in)
#   no_events: no AlertEvent at all
#   wire:     also tap the devices' own messages and check that the simulator
#             did its part (check_wire), so a failure is the gateway's
SCENARIOS = {
    "normal": dict(alerts={}, commands=[], active=[], state="complete"),
    "overrate": dict(alerts={"rate": ["raise"]}, priority={"rate": "high"},
                     commands=[("pause", "rate")], active=["rate"], state="paused"),
    "overdose": dict(alerts={"session-dose": ["raise", "escalate"]},
                     priority={"session-dose": "high"},
                     commands=[("stop", "session-dose")], active=["session-dose"],
                     state="stopped"),
    "bolus": dict(alerts={"bolus": ["raise"]}, priority={"bolus": "high"},
                  commands=[("pause", "bolus")], active=["bolus"], state="paused"),
    "wrong-concentration": dict(alerts={"concentration": ["raise"]},
                                priority={"concentration": "high"},
                                commands=[("stop", "concentration")],
                                active=["concentration"], state="stopped"),
    "no-weight": dict(alerts={"weight": ["raise"]}, priority={"weight": "high"},
                      commands=[("stop", "weight")], active=["weight"], state="stopped"),
    "hypertension-baseline": dict(alerts={"baseline-bp": ["raise"]},
                                  priority={"baseline-bp": "high"},
                                  commands=[("stop", "baseline-bp")], active=["baseline-bp"],
                                  state="stopped"),
    "hypertension-during": dict(alerts={"blood-pressure": ["raise"]},
                                priority={"blood-pressure": "high"},
                                commands=[("pause", "blood-pressure")],
                                active=["blood-pressure"], state="paused",
                                allow=["bp-rise", "two-warnings"]),
    "tachycardia": dict(alerts={"heart-rate": ["raise", "escalate"]},
                        priority={"heart-rate": "high"},
                        commands=[("pause", "heart-rate")], active=["heart-rate"],
                        state="paused"),
    "desaturation": dict(alerts={"spo2": ["raise", "escalate"]}, priority={"spo2": "high"},
                         commands=[("pause", "spo2")], active=["spo2"], state="paused"),
    "bradypnea": dict(alerts={"resp-rate": ["raise", "escalate"]},
                      priority={"resp-rate": "high"},
                      commands=[("pause", "resp-rate")], active=["resp-rate"],
                      state="paused"),
    "two-warnings": dict(alerts={"heart-rate": None, "spo2": None, "two-warnings": ["raise"]},
                         priority={"two-warnings": "high"},
                         commands=[("pause", "two-warnings")], active=["two-warnings"],
                         state="paused"),
    # Liveness runs on the gateway's own clock: at 60x the monitor is silent
    # for 32 real seconds (medium after 10 s); the warning clears when the
    # pump completes.
    "monitor-silent": dict(alerts={"vitals-silent": ["raise", "clear"]},
                           priority={"vitals-silent": "medium"}, commands=[], active=[],
                           state="complete", speed=60),
    # The pump goes quiet for good while running: medium after 5 s, high after
    # 30 s of the gateway's clock (waited for after the simulator ends; by
    # then the monitor has gone too, and the gateway, which still believes the
    # pump runs, may also say so about the vitals).
    "pump-silent": dict(alerts={"pump-silent": ["raise", "escalate"]},
                        priority={"pump-silent": "high"}, commands=[],
                        active=["pump-silent"], state=None, wait_for=("pump-silent", "escalate"),
                        allow=["vitals-silent"]),
    # The pump ignores the pause: 5 s later the alert escalates and asks for a
    # stop; 5 s after that, the stop not honoured either, it escalates again.
    "command-ignored": dict(alerts={"rate": ["raise", "escalate", "escalate"]},
                            priority={"rate": "high"},
                            commands=[("pause", "rate"), ("stop", "rate")], active=["rate"],
                            state=None, speed=60),
    # Both devices' clocks are 120 s ahead: one advisory per device.
    "clock-skew": dict(alerts={"clock-skew": ["raise", "raise"]}, priority={"clock-skew": "low"},
                       per_device=True, commands=[], active=["clock-skew", "clock-skew"],
                       state="complete"),
    "dose-mismatch": dict(alerts={"dose-mismatch": ["raise"]},
                          priority={"dose-mismatch": "medium"}, commands=[],
                          active=["dose-mismatch"], state="complete"),
    # Second session: 0.5 mg/kg given, 0.7 mg/kg programmed 1 h later: the
    # rolling 24 h dose would pass 1.0, so the session is refused at the start.
    # (The sessions advisory clears when the refused session is over.)
    "second-session-same-day": dict(alerts={"sessions": ["raise", "clear"],
                                            "dose-24h": ["raise"]},
                                    priority={"sessions": "medium", "dose-24h": "high"},
                                    commands=[("stop", "dose-24h")],
                                    active=["dose-24h"], state="stopped"),
    # Special: the gateway is killed while the pump runs (run_gateway_gone).
    "gateway-gone": None,

    # ---- Issue 7: device identity and topology.
    # The pump reboots at +10:00 (5 s silent) and comes back with a new
    # incarnation, seq from 1, the session and amounts kept, running at 10x.
    # A gateway that takes the new boot's seq 1.. for duplicates of the old
    # boot never sees the 10x rate. 8.75 mg are in at the reboot; a pause
    # within a few simulated seconds keeps it under 12 mg (35 mg unpaused).
    "pump-reboot": dict(wire=True, alerts={"rate": ["raise"]}, priority={"rate": "high"},
                        commands=[("pause", "rate")], active=["rate"], state="paused",
                        summary={"pump_boots": "1"}, max_dose_mg=12.0),
    # The monitor reboots at +10:00; SpO2 84 from +11:00 on the new boot must
    # pause at once: 9.6 mg are in at +11:00 (a late pause lets more in).
    "monitor-reboot": dict(wire=True, alerts={"spo2": ["raise"]}, priority={"spo2": "high"},
                           commands=[("pause", "spo2")], active=["spo2"], state="paused",
                           summary={"monitor_boots": "1"}, max_dose_mg=11.0),
    # An idle pump-1-2 names bed-1 every second after pump-1: the vital-sign
    # pause goes to the pump running on the bed, pump-1, and never to pump-1-2.
    "two-pumps-one-bed": dict(wire=True, alerts={"spo2": ["raise"]}, priority={"spo2": "high"},
                              commands=[("pause", "spo2", "pump-1")], active=["spo2"],
                              state="paused", devices=["pump-1-2"],
                              no_commands_to=["pump-1-2"],
                              device_summary={"pump-1-2": {"state": "idle", "commands": "0"}},
                              max_dose_mg=10.0),
    # pump-1 moves to bed-1-b at +5:00. bed-1's SpO2 84 at +8:00 is a high
    # alert with no action (no pump runs there; it clears once the patient
    # recovers); bed-1-b's at +12:00 pauses pump-1: one pause, from bed-1-b.
    "pump-moves-bed": dict(wire=True, bed_alerts={"bed-1": {"spo2": dict(first="raise", priority="high",
                                                              action="none")},
                                       "bed-1-b": {"spo2": ["raise"]}},
                           priority={"spo2": "high"},
                           commands=[("pause", "spo2", "pump-1", "bed-1-b")], active=None,
                           bed_active={"bed-1-b": ["spo2"]}, state="paused",
                           devices=["monitor-1-b"], summary={"pump_bed": "bed-1-b"},
                           device_summary={"monitor-1-b": {"publish_failed": "0"}},
                           max_dose_mg=11.5),
    # Both clocks step 2 h ahead (pump +10:00, monitor +11:00): one low
    # clock-jump advisory per device; the jump adds no dose (no session-dose,
    # dose-24h, dose-mismatch) and satisfies no delay (HR 130 for 35 s only:
    # no heart-rate). A clock-skew advisory may come too (the clocks are now
    # 2 h off); advisories may clear, so phases and the snapshot are free.
    "clock-jump": dict(wire=True, alerts={"clock-jump": None}, priority={"clock-jump": "low"},
                       per_device=True, sources={"clock-jump": ["monitor-1", "pump-1"]},
                       commands=[], active=None, state="complete", allow=["clock-skew"]),
    # Weight 70 -> 250 kg and 140 mL/h at +10:00 in the same session: the
    # weight change (high) and the rate at the session's 70 kg (2.0 mg/kg/h,
    # high): one pause, by either.
    "program-edit": dict(wire=True, alerts={"weight-change": ["raise"], "rate": ["raise"]},
                         priority={"weight-change": "high", "rate": "high"},
                         commands=[("pause", ("weight-change", "rate"))],
                         active=["weight-change", "rate"], state="paused", max_dose_mg=10.0),
    # 10x from the start; the clinician resumes 30 s after each pause, twice,
    # without a reset: paused again (escalate), then stopped (escalate).
    "resume-without-reset": dict(wire=True, alerts={"rate": ["raise", "escalate", "escalate"]},
                                 priority={"rate": "high"},
                                 commands=[("pause", "rate"), ("pause", "rate"),
                                           ("stop", "rate")],
                                 active=["rate"], state="stopped", summary={"resumes": "2"}),
    # monitor-1's certificate also publishes PumpTelemetry as pump monitor-1
    # (10x) from +5:00: the broker's per-kind ACL drops it, or the gateway
    # refuses it by kind; either way nothing happens, nothing is sent to
    # monitor-1 (not even a permit), and the session completes.
    "foreign-identity": dict(alerts={}, commands=[], active=[], state="complete",
                             no_events=True, no_commands_to=["monitor-1"],
                             summary_min={"foreign_sent": 100}),
}


def run_gateway_gone(tc):
    """The fail-safe: permits stop with the gateway, the pump pauses itself."""
    with harness.Env(devices=["dashboard-1", "pump-1", "monitor-1"]) as env:
        gw = dg.start_gateway(env)
        cmds = dg.start_watch(env, identity="gateway", client_id="test-cmd-tap",
                              filters=[env.root + "/pump/+/command"], name="cmd-tap")
        sim = dg.run_sim(env, scenario="gateway-gone", beds=1)
        harness.wait_until(lambda: [c for c in dg.messages(cmds, "PumpCommand")
                                    if c["action"] == "permit"], 60,
                           what="a permit to the running pump")
        gw.kill()
        tc.assertEqual(sim.wait(300), 0, sim.log())
        s = dg.summary(sim)["bed-1"]
        tc.assertEqual(s["permit_lapsed"], "1", sim.stdout())
        tc.assertEqual(s["state"], "paused", sim.stdout())
        tc.assertLess(float(s["dose_mg"]), 35.0)


def _by_device(msgs, key):
    out = {}
    for m in msgs:
        out.setdefault(m[key], []).append(m)
    return out


def check_wire(tc, name, msgs):
    """What the devices sent, as the gateway's certificate sees it: the
    simulator's side of each issue-7 scenario (boots, clocks, beds)."""
    pumps = _by_device([m for m in msgs if m["type"] == "PumpTelemetry"], "pump_id")
    mons = _by_device([m for m in msgs if m["type"] == "VitalsSample"], "monitor_id")

    def boots(seq_msgs):
        """[(incarnation, [seq, ...])] in arrival order; each boot counts from 1."""
        out = []
        for m in seq_msgs:
            if not out or out[-1][0] != m["incarnation"]:
                out.append((m["incarnation"], []))
            out[-1][1].append(m["seq"])
        return out

    def one_reboot(dev, seq_msgs):
        b = boots(seq_msgs)
        tc.assertEqual(len(b), 2, "%s: incarnations %s" % (dev, [x[0] for x in b]))
        tc.assertTrue(all(x[0] != 0 for x in b), dev)
        for inc, seqs in b:
            tc.assertEqual(seqs[0], 1, "%s: boot %x starts at seq %d" % (dev, inc, seqs[0]))
            tc.assertEqual(sorted(seqs), list(range(1, len(seqs) + 1)), dev)
        t = [m["device_time_ms"] for m in seq_msgs]
        tc.assertEqual(t, sorted(t), "%s: device time goes on across the reboot" % dev)

    if name == "pump-reboot":
        p = pumps["pump-1"]
        one_reboot("pump-1", p)
        first = next(m for m in p if m["incarnation"] != p[0]["incarnation"])
        last = [m for m in p if m["incarnation"] == p[0]["incarnation"]][-1]
        tc.assertEqual(first["session_id"], last["session_id"])
        tc.assertEqual(first["state"], "running")
        tc.assertGreaterEqual(first["dose_infused_mg"], last["dose_infused_mg"])
        tc.assertAlmostEqual(first["rate_ml_per_h"], 10 * last["rate_ml_per_h"])
        tc.assertEqual(len(boots(mons["monitor-1"])), 1)
    elif name == "monitor-reboot":
        one_reboot("monitor-1", mons["monitor-1"])
        tc.assertEqual(len(boots(pumps["pump-1"])), 1)
    elif name == "two-pumps-one-bed":
        idle = pumps["pump-1-2"]
        tc.assertTrue(all(m["state"] == "idle" and m["program"] is None and m["bed_id"] == "bed-1"
                          for m in idle))
        tc.assertNotEqual(idle[0]["incarnation"], pumps["pump-1"][0]["incarnation"])
        # pump-1-2 names the bed after pump-1 in (nearly) every second
        order = [m["pump_id"] for m in msgs if m["type"] == "PumpTelemetry"]
        after = sum(1 for a, b in zip(order, order[1:]) if a == "pump-1" and b == "pump-1-2")
        tc.assertGreater(after, 0.9 * len(idle))
    elif name == "pump-moves-bed":
        beds = [m["bed_id"] for m in pumps["pump-1"]]
        switch = [i for i in range(1, len(beds)) if beds[i] != beds[i - 1]]
        tc.assertEqual(len(switch), 1, "pump-1 bed changes")
        tc.assertEqual((beds[0], beds[-1]), ("bed-1", "bed-1-b"))
        tc.assertTrue(all(m["bed_id"] == "bed-1-b" for m in mons["monitor-1-b"]))
    elif name == "clock-jump":
        for dev, seq_msgs in (("pump-1", pumps["pump-1"]), ("monitor-1", mons["monitor-1"])):
            t = [m["device_time_ms"] for m in sorted(seq_msgs, key=lambda m: m["seq"])]
            steps = [b - a for a, b in zip(t, t[1:]) if b - a > 60000]
            tc.assertEqual(len(steps), 1, "%s: clock steps %s" % (dev, steps))
            tc.assertTrue(7200000 <= steps[0] <= 7202000, "%s: step %d ms" % (dev, steps[0]))
    elif name == "program-edit":
        w = [(m["program"]["patient_weight_kg"], m["program"]["rate_ml_per_h"])
             for m in pumps["pump-1"] if m["program"]]
        tc.assertEqual((w[0], w[-1]), ((70, 52.5), (250, 140)))
        tc.assertEqual(len({m["session_id"] for m in pumps["pump-1"]}), 1)
    elif name == "resume-without-reset":
        states = [m["state"] for m in pumps["pump-1"]]
        resumed = sum(1 for a, b in zip(states, states[1:]) if a == "paused" and b == "running")
        tc.assertGreaterEqual(resumed, 1, "the clinician never resumed")


def _check_alert(tc, bed, cond, phases, evs, exp):
    """One condition's events on one bed against its expectation."""
    ids = {e["alert_id"] for e in evs}
    if exp.get("per_device"):
        tc.assertEqual(len(ids), len({e["source_id"] for e in evs}), cond)
    else:
        tc.assertEqual(len(ids), 1, "%s %s: one alert expected, got %s" % (bed, cond, ids))
    if cond in exp.get("sources", {}):
        tc.assertEqual(sorted({e["source_id"] for e in evs}), sorted(exp["sources"][cond]),
                       "%s %s: alerts about" % (bed, cond))
    if isinstance(phases, dict):
        first = evs[0]
        tc.assertEqual(first["phase"], phases["first"], "%s %s" % (bed, cond))
        if "priority" in phases:
            tc.assertEqual(first["priority"], phases["priority"], "%s %s" % (bed, cond))
        if "action" in phases:
            tc.assertEqual(first["action"], phases["action"], "%s %s" % (bed, cond))
        return
    if phases is not None:
        tc.assertEqual([e["phase"] for e in evs], phases, "%s %s" % (bed, cond))
    if cond in exp.get("priority", {}):
        tc.assertEqual(evs[-1]["priority"], exp["priority"][cond], "%s %s" % (bed, cond))


def run_scenario(tc, name):
    exp = SCENARIOS[name]
    devices = ["dashboard-1", "pump-1", "monitor-1"] + exp.get("devices", [])
    with harness.Env(devices=devices) as env:
        gw = dg.start_gateway(env)
        watch = dg.start_watch(env)
        cmds = dg.start_watch(env, identity="gateway", client_id="test-cmd-tap",
                              filters=[env.root + "/pump/+/command"], name="cmd-tap")
        tap = None
        if exp.get("wire"):
            tap = dg.start_watch(env, identity="gateway", client_id="test-wire-tap",
                                 filters=[env.root + "/pump/+/telemetry",
                                          env.root + "/monitor/+/vitals"], name="wire-tap")
        # Under a slow tool (DG_WRAP_GATEWAY, e.g. valgrind) the simulator runs
        # at DG_SIM_SPEED (scripts/valgrind sets 60) so the gateway keeps up.
        speed = int(os.environ.get("DG_SIM_SPEED", exp.get("speed", dg.SIM_SPEED)))
        sim = dg.run_sim(env, scenario=name, beds=1, speed=speed)
        tc.assertEqual(sim.wait(300), 0, sim.log())
        if tap:
            sent = sum(int(v) for line in (dg.summary(sim), dg.device_summary(sim))
                       for kv in line.values() for k, v in kv.items()
                       if k in ("telemetry_sent", "vitals_sent"))
            msgs = harness.wait_until(lambda: (lambda m: m if len(m) >= sent else None)(
                dg.messages(tap)), 30, what="%d device messages on the tap" % sent)
            check_wire(tc, name, msgs)
        if "wait_for" in exp:
            cond, phase = exp["wait_for"]
            harness.wait_until(lambda: [e for e in dg.messages(watch, "AlertEvent")
                                        if e["condition"] == cond and e["phase"] == phase],
                               90, what="%s %s" % (cond, phase))
        tc.assertEqual(gw.terminate(60 if os.environ.get("DG_WRAP_GATEWAY") else 10), 0,
                       gw.log())

        events = dg.messages(watch, "AlertEvent")
        by_bed = {}
        for e in events:
            by_bed.setdefault(e["bed_id"], {}).setdefault(e["condition"], []).append(e)
        expected = exp.get("bed_alerts") or {"bed-1": exp["alerts"]}
        tc.assertLessEqual(set(by_bed), set(expected),
                           "alerts on unexpected beds: %s" % sorted(set(by_bed) - set(expected)))
        for bed, alerts in expected.items():
            by_cond = by_bed.get(bed, {})
            allowed = set(alerts) | set(exp.get("allow", []))
            tc.assertLessEqual(set(by_cond), allowed, "%s: unexpected alerts: %s"
                               % (bed, sorted(set(by_cond) - allowed)))
            for cond, phases in alerts.items():
                tc.assertIn(cond, by_cond, "%s: no %s alert; got %s" % (bed, cond, sorted(by_cond)))
                _check_alert(tc, bed, cond, phases, by_cond[cond], exp)

        all_cmds = dg.messages(cmds, "PumpCommand")
        for dev in exp.get("no_commands_to", []):
            tc.assertEqual([c for c in all_cmds if c["pump_id"] == dev], [],
                           "commands sent to %s" % dev)
        pauses = [c for c in all_cmds if c["action"] in ("pause", "stop")]
        if exp["commands"] is not None:
            got = []
            for c in pauses:
                cause = [e for e in events if e["alert_id"] == c["reason_alert_id"]]
                got.append((c["action"], cause[0]["condition"] if cause else None, c["pump_id"],
                            cause[0]["bed_id"] if cause else None))
            want = [tuple(w) + ("pump-1", "bed-1")[len(w) - 2:] for w in exp["commands"]]
            ok = len(got) == len(want) and all(
                g[0] == w[0] and (g[1] in w[1] if isinstance(w[1], tuple) else g[1] == w[1])
                and g[2:] == w[2:] for g, w in zip(got, want))
            tc.assertTrue(ok, "commands (action, cause, pump, bed of the cause):\n got %s\n"
                          " want %s" % (got, want))
        if name == "normal" or exp.get("no_events"):
            tc.assertEqual(events, [])
        snaps = dg.messages(watch, "ActiveAlarms")
        actives = dict(exp.get("bed_active", {}))
        if exp["active"] is not None:
            actives["bed-1"] = exp["active"]
        for bed, active in actives.items():
            mine = [s for s in snaps if s["bed_id"] == bed]
            last = mine[-1]["alerts"] if mine else []
            tc.assertEqual(sorted(a["condition"] for a in last
                                  if a["condition"] not in exp.get("allow", [])),
                           sorted(active), "%s: active at the end" % bed)
        summary = dg.summary(sim)
        if exp["state"] is not None:
            tc.assertEqual(summary["bed-1"]["state"], exp["state"], sim.stdout())
        for key, value in exp.get("summary", {}).items():
            tc.assertEqual(summary["bed-1"][key], value, "summary %s\n%s" % (key, sim.stdout()))
        for key, least in exp.get("summary_min", {}).items():
            tc.assertGreaterEqual(int(summary["bed-1"][key]), least,
                                  "summary %s\n%s" % (key, sim.stdout()))
        if "max_dose_mg" in exp:
            tc.assertLessEqual(float(summary["bed-1"]["dose_mg"]), exp["max_dose_mg"],
                               "the pump was stopped late or not at all\n%s" % sim.stdout())
        devs = dg.device_summary(sim)
        for dev, keys in exp.get("device_summary", {}).items():
            tc.assertIn(dev, devs, sim.stdout())
            for key, value in keys.items():
                tc.assertEqual(devs[dev][key], value, "%s %s\n%s" % (dev, key, sim.stdout()))
        return env, events


class Scenario(unittest.TestCase):
    name = None

    def test_scenario(self):
        if self.name == "gateway-gone":
            run_gateway_gone(self)
        else:
            run_scenario(self, self.name)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in SCENARIOS:
        sys.exit("usage: test_scenarios.py SCENARIO  (one of: %s)" % ", ".join(SCENARIOS))
    Scenario.name = sys.argv.pop(1)
    unittest.main()
