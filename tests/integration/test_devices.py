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


# The ACL before issue 7: every certificate may write telemetry and vitals
# under its own CN, whatever its kind. The gateway must refuse by itself.
WIDE_ACL = """pattern write dosegate/v1/+/pump/%u/telemetry
pattern write dosegate/v1/+/monitor/%u/vitals
pattern read dosegate/v1/+/pump/%u/command
user gateway
topic read dosegate/v1/+/pump/+/telemetry
topic read dosegate/v1/+/monitor/+/vitals
topic read dosegate/v1/+/ack/+
topic readwrite dosegate/v1/+/pump/+/command
topic readwrite dosegate/v1/+/alert/+
topic readwrite dosegate/v1/+/alarms/+
topic readwrite dosegate/v1/+/audit
topic readwrite dosegate/v1/+/gateway/+/status
user dashboard-1
topic read dosegate/v1/+/alert/+
topic read dosegate/v1/+/alarms/+
topic read dosegate/v1/+/audit
"""


def refused(gw):
    return [l for l in gw.stderr().splitlines() if 'msg="device refused"' in l]


class Identity(unittest.TestCase):
    def test_kind_is_checked_even_when_the_acl_is_too_wide(self):
        """A dashboard or monitor certificate writing pump telemetry under its
        own CN, or a pump writing vitals: refused by the gateway, audited as a
        security event, no state, no alert, no command to that id."""
        with harness.Env(devices=["dashboard-1", "dashboard-2", "pump-1", "monitor-1"]) as env:
            with open(env.acl, "w") as f:
                f.write(WIDE_ACL)
            env.reload_broker()
            gw = dg.start_gateway(env, device_time_scale=1)
            audit = dg.start_watch(env, filters=[env.root + "/audit"], name="audit")
            alerts = dg.start_watch(env, name="alerts")
            tap = dg.start_watch(env, identity="gateway", client_id="test-cmd-tap",
                                 filters=[env.root + "/pump/+/command"], name="cmd-tap")
            forged = [("dashboard-2", "/pump/dashboard-2/telemetry",
                       dg.telemetry("dashboard-2", rate_ml_per_h=525.0)),
                      ("monitor-1", "/pump/monitor-1/telemetry",
                       dg.telemetry("monitor-1", rate_ml_per_h=525.0)),
                      ("pump-1", "/monitor/pump-1/vitals", b"\x08\x01")]
            for who, sub, payload in forged:
                env.mosquitto_pub(who, env.root + sub, payload, check=True)
            harness.wait_until(lambda: len(refused(gw)) >= 3, 20, what="three refusals")
            # a real pump still works alongside
            env.mosquitto_pub("pump-1", env.root + "/pump/pump-1/telemetry",
                              dg.telemetry("pump-1", rate_ml_per_h=525.0), check=True)
            harness.wait_until(lambda: [c for c in dg.messages(tap, "PumpCommand")
                                        if c["action"] == "pause"], 20, what="pump-1 paused")
            self.assertEqual(gw.terminate(10), 0, gw.log())
            self.assertEqual(len(refused(gw)), 3, gw.stderr())
            for line in refused(gw):
                self.assertIn("rule=kind", line)
            self.assertEqual(dg.gateway_counter(gw, "identity_refused"), 3)
            self.assertEqual(dg.gateway_counter(gw, "pumps"), 1)
            self.assertEqual(dg.gateway_counter(gw, "monitors"), 0)
            self.assertEqual({c["pump_id"] for c in dg.messages(tap, "PumpCommand")}, {"pump-1"})
            self.assertEqual({a["pump_id"] for a in dg.messages(alerts, "AlertEvent")},
                             {"pump-1"})
            harness.wait_until(lambda: "gateway.stop" in
                               [r["event_type"] for r in dg.messages(audit, "AuditRecord")], 15,
                               what="the audit trail up to gateway.stop")
            sec = [r for r in dg.messages(audit, "AuditRecord")
                   if r["event_type"] == "security.identity"]
            self.assertEqual(sorted(r["participant_id"] for r in sec),
                             ["dashboard-2", "monitor-1", "pump-1"])
            self.assertTrue(all(r["outcome"] == "serious_failure" for r in sec))

    def test_inventory_refuses_unlisted_devices_and_other_beds(self):
        with harness.Env(devices=["dashboard-1", "pump-1", "pump-2"]) as env:
            inv = ("devices:\n"
                   "  inventory:\n"
                   "    - id: pump-1\n"
                   "      kind: pump\n"
                   "      bed: bed-1\n")
            gw = dg.start_gateway(env, device_time_scale=1, sections=inv)
            tap = dg.start_watch(env, identity="gateway", client_id="test-cmd-tap",
                                 filters=[env.root + "/pump/+/command"], name="cmd-tap")
            t = env.root + "/pump/%s/telemetry"
            env.mosquitto_pub("pump-2", t % "pump-2", dg.telemetry("pump-2", rate_ml_per_h=525.0),
                              check=True)
            env.mosquitto_pub("pump-1", t % "pump-1",
                              dg.telemetry("pump-1", seq=1, bed_id="bed-9", rate_ml_per_h=525.0),
                              check=True)
            harness.wait_until(lambda: len(refused(gw)) >= 2, 20, what="two refusals")
            env.mosquitto_pub("pump-1", t % "pump-1",
                              dg.telemetry("pump-1", seq=2, bed_id="bed-1", rate_ml_per_h=525.0),
                              check=True)
            harness.wait_until(lambda: dg.messages(tap, "PumpCommand"), 20, what="pump-1 paused")
            self.assertEqual(gw.terminate(10), 0, gw.log())
            rules = sorted(l.split("rule=")[1].split()[0] for l in refused(gw))
            self.assertEqual(rules, ["bed", "unknown"])
            self.assertEqual(dg.gateway_counter(gw, "identity_refused"), 2)
            self.assertEqual(dg.gateway_counter(gw, "beds"), 1)
            self.assertEqual({c["pump_id"] for c in dg.messages(tap, "PumpCommand")}, {"pump-1"})


if __name__ == "__main__":
    unittest.main()
