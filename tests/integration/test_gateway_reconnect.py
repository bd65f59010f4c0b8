"""The broker goes away and comes back empty: the gateway reconnects on its
own (with backoff), re-subscribes, and the interlock works again."""
import glob
import os
import signal
import subprocess
import sys
import time
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

    def test_stop_while_the_broker_freezes_then_dies(self):
        """SIGTERM while the broker is frozen (the disconnect waits on a
        status publish that is never acknowledged), then the broker dies at
        a few moments during the disconnect: the gateway still stops, every
        time (a close that waited on Paho's callbacks alone could hang)."""
        for delay in (0.05, 0.5, 0.9, 1.5):
            with harness.Env(devices=["pump-1"]) as env:
                gw = dg.start_gateway(env)
                env.broker.signal(signal.SIGSTOP)
                time.sleep(5.5)  # past status_interval_s: a QoS 1 publish in flight
                gw.signal(signal.SIGTERM)
                time.sleep(delay)
                env.broker.signal(signal.SIGKILL)
                env.broker.signal(signal.SIGCONT)
                try:
                    rc = gw.popen.wait(60)
                except subprocess.TimeoutExpired:
                    rc = None
                self.assertIsNotNone(rc, "the gateway hung on stop (broker died %.2f s into "
                                     "the disconnect)\n%s" % (delay, gw.log()))
                self.assertIn("stopped cleanly", gw.stderr())


if __name__ == "__main__":
    unittest.main()
