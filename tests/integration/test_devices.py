"""Devices that behave like real hardware, through the real broker over TLS
and the real gateway (issue 7): permits are sent now or never, never
replayed after an outage; devices are refused by kind and by the device
inventory before any state exists for them.

The simulator scenarios (pump-reboot, monitor-reboot, two-pumps-one-bed,
pump-moves-bed, clock-jump, program-edit, resume-without-reset,
foreign-identity) are in test_scenarios.py.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dg  # noqa: E402
import harness  # noqa: E402


def permits(tap):
    return [c for c in dg.messages(tap, "PumpCommand") if c["action"] == "permit"]


class Permits(unittest.TestCase):
    def test_permits_are_never_replayed_after_an_outage(self):
        """A permit that could not be sent is not sent later: after the broker
        comes back, every permit the pump gets was made after it came back,
        and the ones made meanwhile were counted as dropped."""
        with harness.Env(devices=["dashboard-1", "pump-1"]) as env:
            gw = dg.start_gateway(env, device_time_scale=1)
            tap = dg.start_watch(env, identity="gateway", client_id="test-cmd-tap",
                                 filters=[env.root + "/pump/+/command"], name="cmd-tap")
            topic = env.root + "/pump/pump-1/telemetry"
            seq = [0]

            def running():
                seq[0] += 1
                env.mosquitto_pub("pump-1", topic,
                                  dg.telemetry("pump-1", seq=seq[0], rate_ml_per_h=52.5,
                                               permit_required=True), check=True)
            running()
            harness.wait_until(lambda: permits(tap), 20, what="a permit to the running pump")
            p = permits(tap)[0]
            self.assertEqual(p["permit_valid_for_ms"], 5000)
            self.assertNotIn("permit_valid_until_ms", p)

            down_ms = int(time.time() * 1000)
            env.stop_broker()
            time.sleep(4)  # the gateway keeps ticking: ~4 permits it cannot send
            env.start_broker()
            up_ms = int(time.time() * 1000)
            # The tap and the gateway reconnect by themselves.
            harness.wait_until(lambda: gw.stderr().count('link=device msg="connected"') >= 2, 30,
                               what="the gateway's device link to reconnect")
            before = len(permits(tap))
            for _ in range(6):
                running()
                time.sleep(0.5)
            harness.wait_until(lambda: len(permits(tap)) >= before + 2, 30,
                               what="permits again after the outage")
            self.assertEqual(gw.terminate(10), 0, gw.log())
            late = [c for c in permits(tap) if c["issue_time_ms"] < up_ms]
            # Permits made before the outage may arrive before it; none made
            # during it may arrive at all.
            during = [c for c in late if c["issue_time_ms"] > down_ms + 500]
            self.assertEqual(during, [], "permits made while the broker was down were replayed")
            self.assertGreaterEqual(dg.gateway_counter(gw, "permits_dropped"), 2)
            self.assertGreaterEqual(dg.gateway_counter(gw, "permits_sent"), 3)

    def test_permits_only_to_pumps_that_require_them(self):
        with harness.Env(devices=["dashboard-1", "pump-1", "pump-2"]) as env:
            gw = dg.start_gateway(env, device_time_scale=1)
            tap = dg.start_watch(env, identity="gateway", client_id="test-cmd-tap",
                                 filters=[env.root + "/pump/+/command"], name="cmd-tap")
            for i in range(1, 4):
                env.mosquitto_pub("pump-1", env.root + "/pump/pump-1/telemetry",
                                  dg.telemetry("pump-1", seq=i, permit_required=True),
                                  check=True)
                env.mosquitto_pub("pump-2", env.root + "/pump/pump-2/telemetry",
                                  dg.telemetry("pump-2", seq=i, bed_id="bed-2",
                                               permit_required=False), check=True)
            harness.wait_until(lambda: len(permits(tap)) >= 2, 20, what="permits to pump-1")
            self.assertEqual(gw.terminate(10), 0, gw.log())
            self.assertEqual({c["pump_id"] for c in permits(tap)}, {"pump-1"})


if __name__ == "__main__":
    unittest.main()
