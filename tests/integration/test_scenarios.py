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
#             alert of that condition (its priority after each phase in
#             `priority`); no other condition may appear, except those in
#             `allow` (may appear, any phases).
#   priority: {condition: final priority}
#   commands: [(action, condition that caused it)] pause/stop commands, in order
#   active:   conditions in the bed's retained snapshot at the end
#   state:    the simulated pump's final state (summary)
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


def run_scenario(tc, name):
    exp = SCENARIOS[name]
    with harness.Env(devices=["dashboard-1", "pump-1", "monitor-1"]) as env:
        gw = dg.start_gateway(env)
        watch = dg.start_watch(env)
        cmds = dg.start_watch(env, identity="gateway", client_id="test-cmd-tap",
                              filters=[env.root + "/pump/+/command"], name="cmd-tap")
        sim = dg.run_sim(env, scenario=name, beds=1, speed=exp.get("speed", dg.SIM_SPEED))
        tc.assertEqual(sim.wait(300), 0, sim.log())
        if "wait_for" in exp:
            cond, phase = exp["wait_for"]
            harness.wait_until(lambda: [e for e in dg.messages(watch, "AlertEvent")
                                        if e["condition"] == cond and e["phase"] == phase],
                               90, what="%s %s" % (cond, phase))
        tc.assertEqual(gw.terminate(10), 0, gw.log())

        events = dg.messages(watch, "AlertEvent")
        by_cond = {}
        for e in events:
            tc.assertEqual(e["bed_id"], "bed-1")
            by_cond.setdefault(e["condition"], []).append(e)
        allowed = set(exp["alerts"]) | set(exp.get("allow", []))
        tc.assertLessEqual(set(by_cond), allowed,
                           "unexpected alerts: %s" % sorted(set(by_cond) - allowed))
        for cond, phases in exp["alerts"].items():
            tc.assertIn(cond, by_cond, "no %s alert; got %s" % (cond, sorted(by_cond)))
            evs = by_cond[cond]
            ids = {e["alert_id"] for e in evs}
            if exp.get("per_device"):
                tc.assertEqual(len(ids), len({e["source_id"] for e in evs}), cond)
            else:
                tc.assertEqual(len(ids), 1, "%s: one alert expected, got %s" % (cond, ids))
            if phases is not None:
                tc.assertEqual([e["phase"] for e in evs], phases, cond)
            if cond in exp.get("priority", {}):
                tc.assertEqual(evs[-1]["priority"], exp["priority"][cond], cond)

        pauses = [c for c in dg.messages(cmds, "PumpCommand") if c["action"] in ("pause", "stop")]
        if exp["commands"] is not None:
            got = []
            for c in pauses:
                cause = [e["condition"] for e in events if e["alert_id"] == c["reason_alert_id"]]
                got.append((c["action"], cause[0] if cause else None))
            tc.assertEqual(got, exp["commands"])
        if name == "normal":
            tc.assertEqual(events, [])
        if exp["active"] is not None:
            snaps = dg.messages(watch, "ActiveAlarms")
            last = snaps[-1]["alerts"] if snaps else []
            tc.assertEqual(sorted(a["condition"] for a in last
                                  if a["condition"] not in exp.get("allow", [])),
                           sorted(exp["active"]))
        if exp["state"] is not None:
            tc.assertEqual(dg.summary(sim)["bed-1"]["state"], exp["state"], sim.stdout())
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
