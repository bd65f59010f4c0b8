"""An overrate session: a high-priority alert, a pause the simulated pump
obeys, the bed's retained alarm state, and the latch reset by a nurse's ack."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dg  # noqa: E402
import harness  # noqa: E402


class OverrateSession(unittest.TestCase):
    def test_overrate_pauses_pump_and_latches_until_reset(self):
        with harness.Env(devices=["dashboard-1", "pump-1", "monitor-1"]) as env:
            gw = dg.start_gateway(env)
            watch = dg.start_watch(env)
            cmds = dg.start_watch(env, identity="gateway", client_id="test-cmd-tap",
                                  filters=[env.root + "/pump/+/command"], name="cmd-tap")
            sim = dg.run_sim(env, scenario="overrate", beds=1)
            self.assertEqual(sim.wait(120), 0, sim.log())

            # The alert: raised once, high, physiological, rate, pause requested.
            alerts = dg.messages(watch, "AlertEvent")
            raises = [a for a in alerts if a["phase"] == "raise" and a["condition"] == "rate"]
            self.assertEqual(len(raises), 1, alerts)
            a = raises[0]
            self.assertEqual(a["priority"], "high")
            self.assertEqual(a["kind"], "physiological")
            self.assertEqual(a["action"], "pause_requested")
            self.assertEqual(a["bed_id"], "bed-1")
            self.assertEqual(a["pump_id"], "pump-1")
            self.assertAlmostEqual(a["value"], 7.5, delta=0.01)   # 525 mL/h * 1 mg/mL / 70 kg
            self.assertAlmostEqual(a["limit"], 1.5)
            self.assertTrue(a["latched"])
            self.assertFalse([x for x in alerts if x["phase"] == "clear" and
                              x["alert_id"] == a["alert_id"]], "latched alert cleared by itself")

            # Exactly one pause command, naming the alert; the pump obeyed it.
            c = [x for x in dg.messages(cmds, "PumpCommand") if x["action"] != "permit"]
            self.assertEqual(len(c), 1, c)
            self.assertEqual(c[0]["action"], "pause")
            self.assertEqual(c[0]["pump_id"], "pump-1")
            self.assertEqual(c[0]["reason_alert_id"], a["alert_id"])
            s = dg.summary(sim)["bed-1"]
            self.assertEqual(s["state"], "paused", sim.stdout())
            self.assertEqual(s["commands"], "1")
            # Paused within seconds: far less than the 35 mg a full session gives.
            self.assertLess(float(s["dose_mg"]), 10.0)

            # A dashboard connecting now gets the bed's alarm state at once (retained).
            late = dg.start_watch(env, name="late-watch",
                                  filters=[env.root + "/alarms/bed-1"])
            harness.wait_until(lambda: dg.messages(late, "ActiveAlarms"), 10,
                               what="retained alarm state")
            snap = dg.messages(late, "ActiveAlarms")[0]
            self.assertTrue(snap["retained"])
            self.assertEqual(snap["highest_priority"], "high")
            self.assertEqual([x["alert_id"] for x in snap["alerts"]], [a["alert_id"]])
            self.assertTrue(snap["alerts"][0]["latched"])

            # A nurse acknowledges with reset: acknowledge, then clear; the bed is empty.
            cert, key = env.cert("dashboard-1")
            ack = env.start("ack", [env.bin("dosegate-cli"), "ack", "--url", env.url,
                                    "--ca", env.ca_file, "--cert", cert, "--key", key,
                                    "--root", env.root, "--alert-id", a["alert_id"],
                                    "--user", "nurse-7", "--reset"])
            self.assertEqual(ack.wait(20), 0, ack.log())

            def cleared():
                ph = [x["phase"] for x in dg.messages(watch, "AlertEvent")
                      if x["alert_id"] == a["alert_id"]]
                return ph if "clear" in ph else None
            phases = harness.wait_until(cleared, 15, what="the alert to clear")
            self.assertEqual(phases, ["raise", "acknowledge", "clear"])
            harness.wait_until(lambda: [m for m in dg.messages(late, "ActiveAlarms")
                                        if not m.get("alerts")], 10,
                               what="an empty alarm snapshot")
            self.assertEqual(gw.terminate(10), 0, gw.log())


if __name__ == "__main__":
    unittest.main()
