"""The broker flaps under load: killed (SIGTERM, so it keeps its queues) and
restarted at random moments while simulated pumps and monitors keep the
device link busy and the gateway publishes alerts, alarm snapshots, commands
and audit records on both links. The gateway must not crash (in the ASan or
TSan build: no sanitizer report), and nothing may be lost: every audit
record arrives (the trail verifies intact, seq 1..N), every alert event
arrives (AlertEvent.seq 1..N), every pause and stop arrives at the pump's
command topic (by command id).

DG_FLAPS (default 8) sets how many times the broker goes down; scripts/flap
runs the long form (50 flaps, three times, under ASan and under TSan).
DG_FLAP_SEED seeds the random moments (default: time), printed on failure.
"""
import os
import random
import re
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dg  # noqa: E402
import harness  # noqa: E402

BEDS = 6
SCENARIOS = "overrate,desaturation,tachycardia,command-ignored,two-warnings,hypertension-during"
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "WARNING: ThreadSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:")


def sanitizer_reports(proc):
    text = proc.stderr() + proc.stdout()
    return [m for m in SANITIZER_MARKS if m in text]


class Flap(unittest.TestCase):
    def test_broker_flaps_under_load_nothing_lost_no_crash(self):
        flaps = int(os.environ.get("DG_FLAPS", "8"))
        seed = int(os.environ.get("DG_FLAP_SEED", str(int(time.time()))))
        rnd = random.Random(seed)
        devices = ["dashboard-1"] + ["pump-%d" % i for i in range(1, BEDS + 1)] + \
                  ["monitor-%d" % i for i in range(1, BEDS + 1)]
        with harness.Env(devices=devices) as env:
            cert, key = env.cert("dashboard-1")
            trail = env.path("trail.b64")
            rec = env.start("record", [env.bin("dosegate-audit"), "record", "--out", trail,
                                       "--client-id", "test-record", "--url", env.url,
                                       "--ca", env.ca_file, "--cert", cert, "--key", key,
                                       "--root", env.root])
            rec.wait_for_line("subscribed", timeout=20, stream="stderr")
            alerts = dg.start_watch(env, client_id="test-alerts",
                                    filters=[env.root + "/alert/+"], name="alerts")
            tap = dg.start_watch(env, identity="gateway", client_id="test-cmd-tap",
                                 filters=[env.root + "/pump/+/command"], name="cmd-tap")
            audit = {"key_file": os.path.join(env.certdir, "audit.key"),
                     "checkpoint_every": 50}
            gw = dg.start_gateway(env, audit=audit)

            # Load: the simulator, over and over, until the flapping is done.
            done = threading.Event()
            runs = []

            def load():
                n = 0
                while not done.is_set():
                    n += 1
                    sim = dg.run_sim(env, scenario=SCENARIOS, beds=BEDS, pre_min=1,
                                     session_min=20, post_min=1, name="sim-%d" % n)
                    runs.append(sim)
                    while sim.running() and not done.is_set():
                        time.sleep(0.2)
                    if sim.running():
                        sim.wait(120)
            loader = threading.Thread(target=load, daemon=True)
            loader.start()
            try:
                # Load first: the first simulator run has all its devices up.
                harness.wait_until(lambda: runs and any(
                    "session starts" in r.stderr() for r in runs), 60,
                    what="the simulator to start its session")
                for i in range(flaps):
                    time.sleep(rnd.uniform(0.3, 2.5))
                    env.stop_broker()
                    time.sleep(rnd.uniform(0.1, 1.5))
                    env.start_broker()
                    self.assertTrue(gw.running(), "gateway died at flap %d (seed %d)\n%s"
                                    % (i + 1, seed, gw.log()))
            finally:
                done.set()
                loader.join(180)
            # Both links back (each "connection lost" answered by a connect).
            def reconnected():
                err = gw.stderr()
                return all(err.count('link=%s msg="connected"' % k) >
                           err.count('link=%s msg="connection lost' % k)
                           for k in ("device", "clinic"))
            harness.wait_until(reconnected, 60, what="both links to reconnect")
            # The outbox drains: the broker still redelivers what it queued
            # for the gateway (each an audited duplicate), so wait until the
            # recorder has the gateway's newest audit record and no newer
            # one came for a second (slow sanitizer builds take a while).
            seen = {"last": None}

            def drained():
                seqs = re.findall(r"mod=audit seq=(\d+) ", gw.stderr())
                last = int(seqs[-1]) if seqs else 0
                ok = ("recorded seq=%d " % last) in rec.stdout()
                if ok and seen["last"] == last:
                    return True
                seen["last"] = last if ok else None
                return False
            harness.wait_until(drained, 300, interval=1.0,
                               what="the gateway's outbox to drain (seed %d)" % seed)
            self.assertFalse(sanitizer_reports(gw), "seed %d\n%s" % (seed, gw.log()))
            # Everything made so far reaches the broker: the outbox drains.
            self.assertEqual(gw.terminate(30), 0, "seed %d\n%s" % (seed, gw.log()))
            err = gw.stderr()
            self.assertFalse(sanitizer_reports(gw), "seed %d\n%s" % (seed, gw.log()))
            self.assertRegex(err, r'msg="outbox" .* backlog=0 ', "seed %d" % seed)
            self.assertGreaterEqual(err.count("event=link.down"), 2, "the links never went down")

            # Audit: every record, in order, one unbroken signed chain.
            seqs = [int(s) for s in re.findall(r"mod=audit seq=(\d+) ", err)]
            last = max(seqs)
            rec.wait_for_line("recorded seq=%d " % last, timeout=60)
            self.assertEqual(rec.terminate(), 0, rec.log())
            r = subprocess.run([env.bin("dosegate-audit"), "verify", "--pubkey",
                                os.path.join(env.certdir, "audit.pub"), trail],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, "seed %d\n%s%s" % (seed, r.stdout, r.stderr))
            self.assertIn("OK: intact: %d records (seq 1..%d)" % (last, last), r.stdout)

            # Alert events: every one the gateway made, by its seq.
            made = len(re.findall(r"level=warn mod=alert phase=", err))
            self.assertGreater(made, 0)
            harness.wait_until(lambda: len({a["seq"] for a in dg.messages(alerts, "AlertEvent")})
                               >= made, 60, what="all %d alert events" % made)
            got = sorted({a["seq"] for a in dg.messages(alerts, "AlertEvent")})
            self.assertEqual(got, list(range(1, made + 1)), "seed %d" % seed)

            # Pauses and stops: every one, by command id (permits are
            # ephemeral and may be lost with a broker).
            sent = set(re.findall(r"mod=command action=(?:pause|stop) id=(\S+)", err))
            self.assertTrue(sent, "no pause or stop was sent")
            harness.wait_until(lambda: sent <= {c["command_id"] for c in
                                                dg.messages(tap, "PumpCommand")}, 60,
                               what="all %d pause/stop commands" % len(sent))
            for sim in runs:
                self.assertFalse(sanitizer_reports(sim), sim.log())
            # What the run did, for scripts/flap's summary line.
            sys.stderr.write("flap: flaps=%d seed=%d audit=%d alert_events=%d pause_stop=%d "
                             "MQTT client retired=%d\n"
                             % (flaps, seed, last, made, len(sent),
                                err.count("MQTT client retired")))


if __name__ == "__main__":
    unittest.main()
