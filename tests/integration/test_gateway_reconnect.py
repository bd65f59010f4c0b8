"""The broker goes away and comes back empty: the gateway reconnects on its
own (with backoff), re-subscribes, and the interlock works again."""
import glob
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dg  # noqa: E402
import harness  # noqa: E402


class Reconnect(unittest.TestCase):
    def test_gateway_reconnects_and_resubscribes_after_broker_restart(self):
        with harness.Env(devices=["dashboard-1", "pump-1"]) as env:
            gw = dg.start_gateway(env)
            # The broker dies and loses every session (no persistence file):
            # only a gateway that subscribes again on reconnect gets telemetry.
            env.stop_broker(sig=signal.SIGKILL)
            for f in glob.glob(os.path.join(env.datadir, "*")):
                os.remove(f)
            gw.wait_for_line("connection lost", timeout=20, stream="stderr")
            env.start_broker()

            def resubscribed():
                n = [l for l in gw.stderr().splitlines()
                     if "link=device" in l and 'msg="subscribed"' in l and "telemetry" in l]
                return len(n) >= 2
            harness.wait_until(resubscribed, 90, what="the gateway to re-subscribe")
            self.assertTrue(gw.running(), gw.log())

            alerts = dg.start_watch(env, name="alerts")
            topic = env.root + "/pump/pump-1/telemetry"
            env.mosquitto_pub("pump-1", topic, dg.telemetry("pump-1", seq=1,
                                                            rate_ml_per_h=525.0), check=True)
            # (No monitor here: the start without a baseline BP is an alert too.)
            harness.wait_until(lambda: [a for a in dg.messages(alerts, "AlertEvent")
                                        if a["condition"] == "rate"], 15,
                               what="a rate alert after the reconnect")
            types = [l for l in gw.stderr().splitlines() if "event=link.down" in l]
            self.assertTrue(types, "link.down not audited")
            self.assertEqual(gw.terminate(10), 0, gw.log())


if __name__ == "__main__":
    unittest.main()
