"""A normal ketamine session through the real broker raises nothing at all."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dg  # noqa: E402
import harness  # noqa: E402


class NormalSession(unittest.TestCase):
    def test_normal_session_raises_no_alert_and_no_command(self):
        with harness.Env(devices=["dashboard-1", "pump-1", "monitor-1",
                                  "pump-2", "monitor-2"]) as env:
            gw = dg.start_gateway(env)
            watch = dg.start_watch(env, filters=[env.root + "/alert/+", env.root + "/alarms/+",
                                                 env.root + "/gateway/+/status"])
            # Commands are read with the gateway's identity (the ACL lets it).
            cmds = dg.start_watch(env, identity="gateway", client_id="test-cmd-tap",
                                  filters=[env.root + "/pump/+/command"], name="cmd-tap")
            sim = dg.run_sim(env, scenario="normal", beds=2)
            self.assertEqual(sim.wait(120), 0, sim.log())
            s = dg.summary(sim)
            self.assertEqual(set(s), {"bed-1", "bed-2"}, sim.stdout())
            for bed in s.values():
                self.assertEqual(bed["state"], "complete", sim.stdout())
                self.assertEqual(bed["commands"], "0")
                # 0.5 mg/kg at 70 kg = 35 mg
                self.assertAlmostEqual(float(bed["dose_mg"]), 35.0, delta=0.5)
            # The gateway is still running and has seen it all: stop it and read its counters.
            self.assertTrue(gw.running(), gw.log())
            self.assertEqual(gw.terminate(10), 0, gw.log())
            self.assertEqual(dg.messages(watch, "AlertEvent"), [])
            cmds_sent = dg.messages(cmds, "PumpCommand")
            self.assertEqual([x for x in cmds_sent if x["action"] != "permit"], [])
            # Permits went to the running pumps all along (they require them).
            self.assertTrue([x for x in cmds_sent if x["action"] == "permit"])
            self.assertGreater(dg.gateway_counter(gw, "accepted"), 100)
            self.assertEqual(dg.gateway_counter(gw, "rejected"), 0)
            self.assertEqual(dg.gateway_counter(gw, "alerts"), 0)
            statuses = dg.messages(watch, "GatewayStatus")
            self.assertTrue(any(st.get("online") for st in statuses), statuses)


if __name__ == "__main__":
    unittest.main()
