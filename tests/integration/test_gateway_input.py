"""Bad input through the real broker: rejected with a reason, counted and
audited; a payload naming another device is a security event; a QoS 1
redelivery is processed once; the gateway keeps running throughout."""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dg  # noqa: E402
import harness  # noqa: E402


class BadInput(unittest.TestCase):
    def test_bad_messages_are_rejected_counted_and_audited(self):
        with harness.Env(devices=["dashboard-1", "pump-1", "pump-2"]) as env:
            gw = dg.start_gateway(env)
            audit = dg.start_watch(env, filters=[env.root + "/audit"], name="audit")
            alerts = dg.start_watch(env, name="alerts")
            topic = env.root + "/pump/pump-1/telemetry"

            def rejected(reason):
                return gw.wait_for_line(lambda l: "message rejected" in l and
                                        "reason=" + reason in l, timeout=15, stream="stderr")

            env.mosquitto_pub("pump-1", topic, b"\xff\x00garbage", check=True)
            rejected("decode")
            env.mosquitto_pub("pump-1", topic, b"x" * 5000, check=True)
            rejected("oversize")
            # pump-1 sends a payload that claims to be pump-2: a security event.
            env.mosquitto_pub("pump-1", topic, dg.telemetry("pump-2"), check=True)
            line = rejected("id_mismatch")
            self.assertIn("field=pump_id", line)
            # NaN rate is never used for dosing maths.
            env.mosquitto_pub("pump-1", topic, dg.telemetry("pump-1", seq=1,
                                                            rate_ml_per_h=float("nan")),
                              check=True)
            self.assertIn("rate_ml_per_h", rejected("bad_value"))
            # A valid overrate message, then the same seq again (redelivery): one alert.
            over = dg.telemetry("pump-1", seq=2, rate_ml_per_h=525.0)
            env.mosquitto_pub("pump-1", topic, over, check=True)
            env.mosquitto_pub("pump-1", topic, over, check=True)
            gw.wait_for_line("duplicate ignored", timeout=15, stream="stderr")

            def rate_alerts():
                return [a for a in dg.messages(alerts, "AlertEvent") if a["condition"] == "rate"]
            harness.wait_until(rate_alerts, 15, what="a rate alert")
            self.assertTrue(gw.running(), gw.log())
            self.assertEqual(gw.terminate(10), 0, gw.log())
            self.assertEqual(len(rate_alerts()), 1)  # the redelivery raised nothing more
            self.assertEqual(dg.gateway_counter(gw, "rejected"), 4)
            self.assertEqual(dg.gateway_counter(gw, "duplicates"), 1)

            def audit_types():
                return [r["event_type"] for r in dg.messages(audit, "AuditRecord")]
            harness.wait_until(lambda: "gateway.stop" in audit_types(), 15,
                               what="the audit trail up to gateway.stop")
            recs = dg.messages(audit, "AuditRecord")
            types = [r["event_type"] for r in recs]
            self.assertEqual(types.count("message.rejected"), 3, types)
            self.assertEqual(types.count("security.identity_mismatch"), 1, types)
            sec = [r for r in recs if r["event_type"] == "security.identity_mismatch"][0]
            self.assertEqual(sec["participant_id"], "pump-1")
            self.assertEqual(sec["outcome"], "serious_failure")
            self.assertIn("alert.raise", types)
            self.assertIn("command.pause", types)
            # The chain: consecutive sequence numbers, each prev_hash = previous this_hash.
            seqs = [r["seq"] for r in recs]
            self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))))
            for prev, cur in zip(recs, recs[1:]):
                self.assertEqual(cur["prev_hash"], prev["this_hash"])


class Lifecycle(unittest.TestCase):
    def test_sigterm_stops_cleanly_and_status_goes_offline(self):
        with harness.Env(devices=["dashboard-1"]) as env:
            gw = dg.start_gateway(env)
            status = dg.start_watch(env, filters=[env.root + "/gateway/+/status"],
                                    name="status")
            harness.wait_until(lambda: [s for s in dg.messages(status, "GatewayStatus")
                                        if s["online"]], 10, what="online status")
            st = [s for s in dg.messages(status, "GatewayStatus") if s["online"]][0]
            self.assertEqual(st["gateway_id"], "gw-test")
            self.assertEqual(st["drug_library_id"], "clinic-default")
            self.assertEqual(len(st["drug_library_sha256"]), 64)
            self.assertEqual(len(st["config_sha256"]), 64)
            self.assertEqual(gw.terminate(10), 0, gw.log())
            self.assertIn("stopped cleanly", gw.stderr())
            harness.wait_until(lambda: [s for s in dg.messages(status, "GatewayStatus")
                                        if not s["online"]], 10, what="offline status")

    def test_killed_gateway_is_reported_offline_by_its_will(self):
        with harness.Env(devices=["dashboard-1"]) as env:
            gw = dg.start_gateway(env)
            status = dg.start_watch(env, filters=[env.root + "/gateway/+/status"],
                                    name="status")
            harness.wait_until(lambda: [s for s in dg.messages(status, "GatewayStatus")
                                        if s["online"]], 10, what="online status")
            gw.kill()
            # The broker publishes the Will when it sees the connection drop (or, if
            # the network silently dies, when the keepalive runs out).
            harness.wait_until(lambda: [s for s in dg.messages(status, "GatewayStatus")
                                        if not s["online"]], 30, what="the Will (offline)")

    def test_check_config_names_file_line_and_key(self):
        with harness.Env(devices=[], broker=False) as env:
            env.port = harness.free_port()
            good = dg.write_gateway_config(env)
            ok = env.start("check-good", [env.bin("dosegate"), "--check-config", good])
            self.assertEqual(ok.wait(10), 0, ok.log())
            self.assertIn("ok", ok.stdout())
            bad = env.path("bad.yaml")
            with open(good) as f:
                text = f.read().replace("keepalive_s: 5", "keepalive_s: 9000")
            with open(bad, "w") as f:
                f.write(text)
            line_no = text.splitlines().index("  keepalive_s: 9000") + 1
            chk = env.start("check-bad", [env.bin("dosegate"), "--check-config", bad])
            self.assertEqual(chk.wait(10), 1, chk.log())
            self.assertIn("%s:%d: device_link.keepalive_s:" % (bad, line_no), chk.stderr())
            run = env.start("run-bad", [env.bin("dosegate"), "--config", bad])
            self.assertEqual(run.wait(10), 1, run.log())
            self.assertIn("%s:%d: device_link.keepalive_s:" % (bad, line_no), run.stderr())




class Flood(unittest.TestCase):
    def test_flooding_device_is_throttled_alerted_and_others_unaffected(self):
        with harness.Env(devices=["dashboard-1", "pump-1", "pump-2"]) as env:
            gw = dg.start_gateway(env, device_time_scale=1)  # 20 msg/s per device, bursts of 40
            alerts = dg.start_watch(env, filters=[env.root + "/alert/+"])
            # pump-2 floods: 400 messages as fast as mosquitto_pub can send them.
            flood = "\n".join("x%d" % i for i in range(400)) + "\n"
            argv = (["mosquitto_pub"] + env.client_args("pump-2")
                    + ["-V", "5", "-q", "1", "-t", env.root + "/pump/pump-2/telemetry", "-l"])
            p = subprocess.run(argv, input=flood.encode(), capture_output=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)

            def flood_alert():
                return [e for e in dg.messages(alerts, "AlertEvent")
                        if e["condition"] == "flood" and e["phase"] == "raise"]
            harness.wait_until(flood_alert, 20, what="the flood alert")
            a = flood_alert()[0]
            self.assertEqual(a["source_id"], "pump-2")
            self.assertEqual(a["priority"], "high")
            self.assertEqual(a["bed_id"], "gw-test")
            # pump-1, well behaved, still gets through: its overrate is acted on.
            env.mosquitto_pub("pump-1", env.root + "/pump/pump-1/telemetry",
                              dg.telemetry("pump-1", seq=1, rate_ml_per_h=525.0), check=True)
            harness.wait_until(lambda: [e for e in dg.messages(alerts, "AlertEvent")
                                        if e["condition"] == "rate"], 20,
                               what="pump-1's rate alert")
            self.assertEqual(gw.terminate(10), 0, gw.log())
            self.assertIn("event=security.flood ", gw.stderr())
            self.assertRegex(gw.stderr(), r'msg="rejected by reason" reason=flood count=\d+')

    def test_reconnect_backlog_is_not_a_flood(self):
        """Messages a device sent within its rate while the gateway was away
        arrive in one burst when it is back: none is throttled, no flood
        alert. (Before: everything past the 40-message burst was dropped as
        a flood and the device alerted.)"""
        with harness.Env(devices=["dashboard-1", "pump-1"]) as env:
            cfg = dg.write_gateway_config(env, device_time_scale=1)
            gw = dg.start_gateway(env, config=cfg)
            time.sleep(1)  # a few ticks: the saved state says when it was saved
            self.assertEqual(gw.terminate(10), 0, gw.log())
            # 120 valid messages while it is away (one mosquitto_pub each, so
            # this takes several seconds: well within 20 messages a second).
            t0 = int(time.time() * 1000)
            for seq in range(1, 121):
                env.mosquitto_pub("pump-1", env.root + "/pump/pump-1/telemetry",
                                  dg.telemetry("pump-1", seq=seq, state=2, rate_ml_per_h=0.0,
                                               device_time_ms=t0 + seq * 50), check=True)
            # and one after them that shows: an overrate (messages of one client
            # arrive in order, so when it is acted on the backlog is through)
            env.mosquitto_pub("pump-1", env.root + "/pump/pump-1/telemetry",
                              dg.telemetry("pump-1", seq=121, rate_ml_per_h=525.0,
                                           device_time_ms=t0 + 121 * 50), check=True)
            gw = dg.start_gateway(env, config=cfg, name="gateway-back")
            gw.wait_for_line("backlog credit", timeout=20, stream="stderr")
            gw.wait_for_line(lambda l: "mod=command" in l and "action=pause" in l, timeout=30,
                             stream="stderr")
            self.assertEqual(gw.terminate(10), 0, gw.log())
            self.assertNotIn("device flooding", gw.stderr())
            self.assertEqual(dg.gateway_counter(gw, "accepted"), 121)
            self.assertEqual(dg.gateway_counter(gw, "rejected"), 0)


if __name__ == "__main__":
    unittest.main()
