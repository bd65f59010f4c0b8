"""Acknowledgements bound to an identity (issue 8, item 4), through the real broker.

A dashboard acknowledges on <root>/ack/<its certificate CN>; the broker ACL
(broker/make-acl) lets it write nowhere else, and the gateway takes the
dashboard id from the topic and audits it next to the user the payload names:

- a nurse's reset through dashboard-1 (dosegate-cli ack, which finds its topic
  from its certificate): the audit trail says "nurse-7 via dashboard-1" on the
  acknowledge, the reset and the clear;
- dashboard-1 publishing on dashboard-2's ack topic (or the bare <root>/ack) is
  refused by the broker, while its own topic goes through;
- with a too-wide ACL written by the test, the gateway itself refuses an ack
  whose topic id is not a dashboard's (security.identity) and one on the old
  <root>/ack or one level too deep (message.rejected, reason topic).
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dg  # noqa: E402
import harness  # noqa: E402

DENIED = "Not authorized"  # mosquitto_pub -V 5 on a PUBACK with reason 0x87

# Too wide: dashboard-1 may write anything under ack (the bare topic too), and
# the gateway may read all of it. The gateway must refuse by itself.
WIDE_ACL = """user gateway
topic read dosegate/v1/+/pump/+/telemetry
topic read dosegate/v1/+/monitor/+/vitals
topic read dosegate/v1/+/ack
topic read dosegate/v1/+/ack/#
topic readwrite dosegate/v1/+/pump/+/command
topic readwrite dosegate/v1/+/alert/+
topic readwrite dosegate/v1/+/alarms/+
topic readwrite dosegate/v1/+/audit
topic readwrite dosegate/v1/+/gateway/+/status
user dashboard-1
topic read dosegate/v1/+/alert/+
topic read dosegate/v1/+/alarms/+
topic read dosegate/v1/+/audit
topic write dosegate/v1/+/ack
topic write dosegate/v1/+/ack/#
"""


def audit_records(watch, event_type=None):
    return [r for r in dg.messages(watch, "AuditRecord")
            if event_type is None or r["event_type"] == event_type]


class AckIdentity(unittest.TestCase):

    def test_reset_is_audited_with_user_and_dashboard(self):
        with harness.Env(devices=["dashboard-1", "pump-1", "monitor-1"]) as env:
            gw = dg.start_gateway(env)
            audit = dg.start_watch(env, filters=[env.root + "/audit"], name="audit")
            alerts = dg.start_watch(env, name="alerts")
            sim = dg.run_sim(env, scenario="overrate", beds=1)
            self.assertEqual(sim.wait(120), 0, sim.log())
            raised = [a for a in dg.messages(alerts, "AlertEvent")
                      if a["phase"] == "raise" and a["condition"] == "rate"]
            self.assertEqual(len(raised), 1, dg.messages(alerts, "AlertEvent"))
            alert_id = raised[0]["alert_id"]

            # dosegate-cli finds its ack topic from its certificate's CN.
            cert, key = env.cert("dashboard-1")
            ack = env.start("ack", [env.bin("dosegate-cli"), "ack", "--url", env.url,
                                    "--ca", env.ca_file, "--cert", cert, "--key", key,
                                    "--root", env.root, "--alert-id", alert_id,
                                    "--user", "nurse-7", "--reset"])
            self.assertEqual(ack.wait(20), 0, ack.log())
            self.assertIn("dashboard=dashboard-1", ack.stdout())

            def reset():
                return [r for r in audit_records(audit, "alert.clear")
                        if r["object_id"] == alert_id]
            harness.wait_until(reset, 15, what="the alert to be cleared by the reset")
            mine = [r for r in audit_records(audit) if r["object_id"] == alert_id and
                    r["event_type"] in ("alert.acknowledge", "alert.reset", "alert.clear")]
            self.assertEqual([r["event_type"] for r in mine],
                             ["alert.acknowledge", "alert.reset", "alert.clear"], mine)
            for r in mine:
                self.assertEqual(r["participant_id"], "nurse-7 via dashboard-1", r)
                self.assertEqual(r["participant_kind"], "user", r)
            self.assertIn("reset by nurse-7 via dashboard-1", mine[1]["detail"])
            # The alert's own steps are as before: acknowledge, then clear.
            phases = [a["phase"] for a in dg.messages(alerts, "AlertEvent")
                      if a["alert_id"] == alert_id]
            self.assertEqual(phases, ["raise", "acknowledge", "clear"])
            self.assertEqual(gw.terminate(10), 0, gw.log())
            # The log says the same, one key=value per field.
            self.assertRegex(gw.stderr(), r'event=alert.reset outcome=0 '
                                          r'participant="nurse-7 via dashboard-1" ')

    def test_dashboard_cannot_ack_as_another_dashboard(self):
        with harness.Env(devices=["dashboard-1", "dashboard-2", "pump-1"]) as env:
            root = env.root
            gw = env.mosquitto_sub("gateway", root + "/ack/#", count=1, timeout=20)

            def pub(identity, topic, payload):
                return env.mosquitto_pub(identity, root + topic, payload)
            for topic in ("/ack/dashboard-2", "/ack", "/ack/dashboard-1/x", "/ack/pump-1"):
                r = pub("dashboard-1", topic, b"forged")
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn(DENIED, r.stdout + r.stderr, topic)
            # A pump cannot acknowledge at all, not even under its own CN.
            r = pub("pump-1", "/ack/pump-1", b"forged")
            self.assertIn(DENIED, r.stdout + r.stderr)
            # Control: dashboard-1's own ack topic goes through, and is the
            # first message the gateway sees (nothing forbidden came before).
            r = pub("dashboard-1", "/ack/dashboard-1", b"mine")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertNotIn(DENIED, r.stdout + r.stderr)
            msgs = gw.wait_messages(1, timeout=15)
            self.assertEqual(msgs[0], (root + "/ack/dashboard-1", b"mine"), msgs)

    def test_gateway_refuses_acks_the_acl_should_not_have_let_through(self):
        with harness.Env(devices=["dashboard-1", "pump-1", "monitor-1"]) as env:
            with open(env.acl, "w") as f:
                f.write(WIDE_ACL)
            env.reload_broker()
            gw = dg.start_gateway(env)
            audit = dg.start_watch(env, filters=[env.root + "/audit"], name="audit")

            payload = dg.alert_ack("no-such-alert", "nurse-7", reset=True)
            for topic in ("/ack/pump-1", "/ack", "/ack/dashboard-1/x", "/ack/dashboard-"):
                r = env.mosquitto_pub("dashboard-1", env.root + topic, payload)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertNotIn(DENIED, r.stdout + r.stderr, topic)  # the ACL let it through
            # Control, last: an ack on dashboard-1's own topic reaches the core
            # (no such alert: ack.rejected, naming the user and the dashboard).
            env.mosquitto_pub("dashboard-1", env.root + "/ack/dashboard-1", payload, check=True)
            harness.wait_until(lambda: audit_records(audit, "ack.rejected"), 15,
                               what="the control ack to be audited")

            ident = audit_records(audit, "security.identity")
            self.assertEqual(sorted(r["object_id"] for r in ident), ["dashboard-", "pump-1"],
                             ident)
            for r in ident:
                self.assertEqual(r["outcome"], "serious_failure", r)
                self.assertIn("is not a dashboard", r["detail"])
            topics = sorted(r["object_id"] for r in audit_records(audit, "message.rejected"))
            self.assertEqual(topics, [env.root + "/ack", env.root + "/ack/dashboard-1/x"],
                             audit_records(audit, "message.rejected"))
            for r in audit_records(audit, "message.rejected"):
                self.assertTrue(r["detail"].startswith("topic "), r)
            ctl = audit_records(audit, "ack.rejected")
            self.assertEqual(len(ctl), 1, ctl)
            self.assertEqual(ctl[0]["participant_id"], "nurse-7 via dashboard-1")
            self.assertEqual(gw.terminate(10), 0, gw.log())
            self.assertEqual(dg.gateway_counter(gw, "identity_refused"), 2)


if __name__ == "__main__":
    unittest.main()
