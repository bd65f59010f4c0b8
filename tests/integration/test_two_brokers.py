"""The gateway's two links on two separate brokers (issue 8 item 3).

Two harness.Envs, each a mosquitto of its own with its own CA, certificates,
port and data directory: the *device* broker (the simulator's pumps and
monitors) and the *clinic* broker (the dashboard's watcher and the audit
recorder). The gateway's device_link and clinic_link each name their own
broker, CA and client certificate (docs/config.md).

- test_clinic_broker_down: the clinic broker is stopped while an overrate
  (bed-1) and an SpO2 crisis (bed-2) happen and a normal session (bed-3)
  runs. The pumps are paused at once over the device broker, permits keep
  bed-3's pump running, and once the clinic broker is back every alert
  event and audit record reaches it, in order and without gaps, and each
  bed's alarm snapshots, every one, in order (docs/store.md: alarm
  snapshots are never replaced in the outbox).
- test_device_broker_down: the device broker is stopped while pumps run.
  The gateway's own liveness alerts (pump-silent, vitals-silent) and its
  link.down audit record reach the clinic broker during the outage.

The clinic outage lasts a minute, as the issue asks: the simulated sessions
take about 22 s at 120x, then the test waits until the broker has been
down 60 s (12x the links' 5 s keepalive; the gateway retries every 0.5-5 s
meanwhile). The device outage ends as soon as the clinic has the liveness
alerts (~10 s).
"""
import datetime
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dg  # noqa: E402
import harness  # noqa: E402

# The simulator's speed (and the gateway's device_time_scale): at 120x the
# three 42-minute sessions take 21 s of real time. The interlocks run on the
# device timeline and liveness on the gateway's clock, so the speed changes
# nothing the tests check.
SPEED = 120
# How long the clinic broker stays down (issue 8: "for a minute").
OUTAGE_S = 60.0


def clinic_link(clinic):
    """The clinic_link section for the clinic Env: its broker, its CA, the
    gateway certificate its CA signed."""
    cert, key = clinic.cert("gateway")
    return ("clinic_link:\n"
            "  url: %s\n"
            "  ca_file: %s\n"
            "  cert_file: %s\n"
            "  key_file: %s\n"
            "  keepalive_s: 5\n") % (clinic.url, clinic.ca_file, cert, key)


def start_gateway(dev, clinic):
    """dosegate with device_link on dev's broker and clinic_link on
    clinic's, audit checkpoints signed with dev's audit key."""
    audit = {"key_file": os.path.join(dev.certdir, "audit.key"), "checkpoint_every": 20}
    cfg = dg.write_gateway_config(dev, audit=audit, sections=clinic_link(clinic),
                                  device_time_scale=SPEED)
    return dg.start_gateway(dev, config=cfg)


def recorder(env, name="record"):
    """dosegate-audit record on env's broker as dashboard-1, with a persistent
    session (the broker keeps what arrives while the recorder is away)."""
    cert, key = env.cert("dashboard-1")
    trail = env.path(name + ".b64")
    rec = env.start(name, [env.bin("dosegate-audit"), "record", "--out", trail,
                           "--client-id", "test-" + name, "--url", env.url, "--ca", env.ca_file,
                           "--cert", cert, "--key", key, "--root", env.root])
    rec.wait_for_line("subscribed", timeout=20, stream="stderr")
    return rec, trail


def verify(env, trail, pubkey):
    r = subprocess.run([env.bin("dosegate-audit"), "verify", "--pubkey", pubkey, trail],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def log_lines(gw, pattern):
    """The gateway's log lines matching pattern (a regex), in order."""
    return [ln for ln in gw.stderr().splitlines() if re.search(pattern, ln)]


def ts(line):
    """The ts= of a logfmt line (ISO 8601, comparable as a string)."""
    return re.search(r"^ts=(\S+)", line).group(1)


def seconds(t0, t1):
    """t1 - t0 in seconds, for two ts= values."""
    def parse(t):
        return datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))
    return (parse(t1) - parse(t0)).total_seconds()


def last_seq(gw):
    seqs = [int(s) for s in re.findall(r"mod=audit seq=(\d+) ", gw.stderr())]
    return max(seqs) if seqs else 0


def dedup(msgs, key):
    """msgs without QoS 1 redeliveries (a repeated key), first copy kept."""
    seen, out = set(), []
    for m in msgs:
        k = key(m)
        if k not in seen:
            seen.add(k)
            out.append(m)
    return out


class TwoBrokers(unittest.TestCase):

    def test_clinic_broker_down(self):
        beds = ["pump-1", "monitor-1", "pump-2", "monitor-2", "pump-3", "monitor-3"]
        with harness.Env(devices=beds, name="device-broker") as dev, \
                harness.Env(devices=["dashboard-1"], name="clinic-broker") as clinic:
            self.assertNotEqual(dev.port, clinic.port)
            rec, trail = recorder(clinic)
            watch = dg.start_watch(clinic, client_id="test-alerts")  # alerts + alarms
            gw = start_gateway(dev, clinic)
            # A tap on the device broker sees the commands as the pumps do.
            cmds = dg.start_watch(dev, identity="gateway", client_id="test-cmd-tap",
                                  filters=[dev.root + "/pump/+/command"], name="cmd-tap")

            # The outage starts before anything happens.
            clinic.stop_broker()
            t_down = time.monotonic()
            down = gw.wait_for_line(lambda l: "link=clinic" in l and "connection lost" in l,
                                    timeout=30, stream="stderr")
            sim = dg.run_sim(dev, scenario="overrate,desaturation,normal", beds=3, speed=SPEED,
                             pre_min=1, session_min=40, post_min=1)
            self.assertEqual(sim.wait(180), 0, sim.log())

            # Still during the outage: both pumps were paused over the device
            # broker, bed-3's pump ran to completion on its permits.
            self.assertFalse(clinic.broker.running())
            s = dg.summary(sim)
            self.assertEqual(s["bed-1"]["state"], "paused", sim.stdout())
            self.assertEqual(s["bed-2"]["state"], "paused", sim.stdout())
            self.assertEqual(s["bed-1"]["last_command"], "pause", sim.stdout())
            self.assertEqual(s["bed-2"]["last_command"], "pause", sim.stdout())
            self.assertEqual(s["bed-3"]["state"], "complete", sim.stdout())
            self.assertEqual(s["bed-3"]["permit_lapsed"], "0", sim.stdout())
            self.assertEqual(s["bed-3"]["commands"], "0", sim.stdout())
            self.assertGreater(int(s["bed-3"]["permits"]), 0, sim.stdout())
            # Paused at once: bed-1 within seconds of its start (a full
            # session at the 10x rate would give 350 mg).
            self.assertLess(float(s["bed-1"]["dose_mg"]), 10.0, sim.stdout())
            pauses = log_lines(gw, r"mod=command .*action=pause ")
            self.assertEqual(sorted(re.search(r"pump=(\S+)", p).group(1) for p in pauses),
                             ["pump-1", "pump-2"], pauses)
            # bed-1's pause went out within a second of its pump starting.
            started = [ln for ln in sim.stderr().splitlines() if "bed-1 pump-1: running" in ln]
            pause1 = [p for p in pauses if "pump=pump-1" in p]
            self.assertLess(seconds(ts(started[0]), ts(pause1[0])), 1.0, (started, pause1))
            for p in pauses:  # issued after the clinic link went down
                self.assertGreater(ts(p), ts(down), (down, p))
            self.assertFalse(log_lines(gw, r"link=clinic .*msg=\"connected\"")[1:],
                             "the clinic link came back during the outage?")
            tapped = [c for c in dg.messages(cmds, "PumpCommand") if c["action"] == "pause"]
            self.assertEqual(sorted(c["pump_id"] for c in tapped), ["pump-1", "pump-2"], tapped)

            # The clinic broker returns after a minute; the gateway, still
            # running, delivers its backlog.
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - t_down)))
            outage_s = time.monotonic() - t_down
            clinic.start_broker()
            harness.wait_until(
                lambda: len(log_lines(gw, r"link=clinic .*msg=\"connected\"")) >= 2, 90,
                what="the clinic link to reconnect")
            sent = log_lines(gw, r"mod=alert .*phase=")
            harness.wait_until(lambda: len(dedup(dg.messages(watch, "AlertEvent"),
                                                 lambda m: m["seq"])) >= len(sent), 60,
                               what="%d alert events at the watcher" % len(sent))
            rec.wait_for_line("recorded seq=%d " % last_seq(gw), timeout=60)
            sys.stderr.write("clinic broker down %.0f s\n" % outage_s)

            # Then a clean stop (its own records: stop, checkpoint).
            self.assertEqual(gw.terminate(30), 0, gw.log())
            self.assertRegex(gw.stderr(), r'msg="outbox" .* backlog=0 ')
            self.assertEqual(log_lines(gw, r"mod=alert .*phase="), sent)

            # Audit: every record, in order, no gap, signed chain intact.
            last = last_seq(gw)
            rec.wait_for_line("recorded seq=%d " % last, timeout=60)
            self.assertEqual(rec.terminate(), 0, rec.log())
            rc, out = verify(clinic, trail, os.path.join(dev.certdir, "audit.pub"))
            self.assertEqual(rc, 0, out)
            self.assertIn("OK: intact: %d records (seq 1..%d)" % (last, last), out)

            # Alerts: every event the gateway raised, in the order it raised
            # them (seq 1..N, one gateway run), each alert's phases in order.
            events = dedup(dg.messages(watch, "AlertEvent"), lambda m: m["seq"])
            self.assertEqual([e["seq"] for e in events], list(range(1, len(sent) + 1)))
            self.assertEqual([(e["phase"], e["alert_id"]) for e in events],
                             [(re.search(r"phase=(\S+)", ln).group(1),
                               re.search(r" id=(\S+)", ln).group(1)) for ln in sent])
            # Among them the two interlocks: bed-1's rate alert raised with a
            # pause, bed-2's SpO2 warning escalated to critical with a pause.
            acts = {(e["bed_id"], e["condition"], e["phase"], e["action"]) for e in events}
            self.assertIn(("bed-1", "rate", "raise", "pause_requested"), acts)
            self.assertIn(("bed-2", "spo2", "escalate", "pause_requested"), acts)

            # Alarm snapshots: every one the gateway made, each bed's in
            # order (seq 1..n), each with the state the gateway logged, the
            # newest last; and the newest is what the broker retains for a
            # dashboard that comes later.
            snaps = log_lines(gw, r"mod=alarms ")
            made = {}
            for ln in snaps:
                b = re.search(r"bed=(\S+)", ln).group(1)
                made.setdefault(b, []).append((int(re.search(r"active=(\d+)", ln).group(1)),
                                               re.search(r"highest=(\S+)", ln).group(1)))
            self.assertEqual(sorted(made), ["bed-1", "bed-2"], snaps)
            alarms = dedup(dg.messages(watch, "ActiveAlarms"),
                           lambda m: (m["bed_id"], m["seq"]))
            late = dg.start_watch(clinic, name="late-watch", filters=[clinic.root + "/alarms/+"])
            harness.wait_until(lambda: len(dg.messages(late, "ActiveAlarms")) >= 2, 20,
                               what="the retained alarm state of both beds")
            retained = {m["bed_id"]: m for m in dg.messages(late, "ActiveAlarms")}
            for b, states in made.items():
                got = [m for m in alarms if m["bed_id"] == b]
                self.assertEqual([m["seq"] for m in got], list(range(1, len(states) + 1)),
                                 (b, got))
                self.assertEqual([(len(m["alerts"]), m["highest_priority"]) for m in got],
                                 states, b)
                self.assertTrue(retained[b]["retained"])
                self.assertEqual(retained[b]["seq"], len(states), retained[b])
            self.assertEqual(retained["bed-1"]["highest_priority"], "high")
            self.assertEqual(retained["bed-2"]["highest_priority"], "high")

    def test_device_broker_down(self):
        with harness.Env(devices=["pump-1", "monitor-1"], name="device-broker") as dev, \
                harness.Env(devices=["dashboard-1"], name="clinic-broker") as clinic:
            watch = dg.start_watch(clinic, client_id="test-clinic",
                                   filters=[clinic.root + "/alert/+", clinic.root + "/audit"])
            rec, trail = recorder(clinic)
            gw = start_gateway(dev, clinic)
            cmds = dg.start_watch(dev, identity="gateway", client_id="test-cmd-tap",
                                  filters=[dev.root + "/pump/+/command"], name="cmd-tap")
            sim = dg.run_sim(dev, scenario="normal", beds=1, speed=SPEED, pre_min=1,
                             session_min=40, post_min=1)
            # The gateway knows pump-1 runs: it sends it permits.
            harness.wait_until(lambda: [c for c in dg.messages(cmds, "PumpCommand")
                                        if c["action"] == "permit"], 30,
                               what="a permit to pump-1")

            dev.stop_broker()
            t_down = time.monotonic()

            def alert(cond):
                return [e for e in dg.messages(watch, "AlertEvent")
                        if e["condition"] == cond and e["phase"] == "raise"]

            # During the outage the clinic side learns of it: the device link's
            # link.down audit record, then the liveness alerts (> 5 s without
            # telemetry from a running pump, > 10 s without vitals).
            def link_down():
                return [a for a in dg.messages(watch, "AuditRecord")
                        if a["event_type"] == "link.down" and a["object_id"] == "device"]
            harness.wait_until(link_down, 30, what="link.down of the device link at the clinic")
            harness.wait_until(lambda: alert("pump-silent") and alert("vitals-silent"), 40,
                               what="pump-silent and vitals-silent at the clinic")
            self.assertFalse(dev.broker.running())
            self.assertEqual(len(log_lines(gw, r"link=device .*msg=\"connected\"")), 1,
                             "the device link came back during the outage?")
            outage_s = time.monotonic() - t_down
            for cond, prio in (("pump-silent", "medium"), ("vitals-silent", "medium")):
                a = alert(cond)
                self.assertEqual(len(a), 1, a)
                self.assertEqual((a[0]["bed_id"], a[0]["kind"], a[0]["priority"]),
                                 ("bed-1", "technical", prio), a)
            self.assertEqual(alert("pump-silent")[0]["pump_id"], "pump-1")

            # The device broker returns: the pumps report again.
            dev.start_broker()
            harness.wait_until(
                lambda: len(log_lines(gw, r"link=device .*msg=\"connected\"")) >= 2, 90,
                what="the device link to reconnect")
            sys.stderr.write("device broker down %.0f s\n" % outage_s)
            # ... and both liveness alerts clear, at the clinic too.
            ids = {alert(c)[0]["alert_id"] for c in ("pump-silent", "vitals-silent")}
            harness.wait_until(lambda: ids <= {e["alert_id"] for e in
                                               dg.messages(watch, "AlertEvent")
                                               if e["phase"] == "clear"}, 30,
                               what="the liveness alerts to clear")
            self.assertIn(sim.wait(120), (0, 1), sim.log())  # 1: a message lost in the outage
            s = dg.summary(sim)["bed-1"]
            # The fail-safe: no permits reached the pump, it paused itself.
            self.assertEqual(s["permit_lapsed"], "1", sim.stdout())
            self.assertEqual(gw.terminate(30), 0, gw.log())
            last = last_seq(gw)
            rec.wait_for_line("recorded seq=%d " % last, timeout=60)
            self.assertEqual(rec.terminate(), 0, rec.log())
            rc, out = verify(clinic, trail, os.path.join(dev.certdir, "audit.pub"))
            self.assertEqual(rc, 0, out)
            self.assertIn("OK: intact: %d records (seq 1..%d)" % (last, last), out)


if __name__ == "__main__":
    unittest.main()
