"""The state directory fills up, then has room again: the gateway raises the
high technical `state-store` alert and audits it, keeps evaluating
interlocks (an overrate still pauses the pump, its messages going out
without the store), and recovers when space returns (alert cleared, audited).
Needs root (a private mount namespace with a small tmpfs); skipped otherwise.
CI and the README's test command run as root.

The disk budget is reached while the clinic broker cannot be reached: the
alert is raised once and does not clear until the store takes again what it
refused (before, every turn whose commit succeeded declared the store well
again, and the alert raised and cleared over and over).
"""
import ctypes
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dg  # noqa: E402
import harness  # noqa: E402

CLONE_NEWNS = 0x00020000


def private_tmpfs(path, size):
    """Mount a tmpfs of `size` at path in a mount namespace of this process
    (and its children) only; it vanishes with them."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
    os.makedirs(path, exist_ok=True)
    # Bind the directory onto itself and make that mount private, so the
    # tmpfs below never propagates out of this namespace (works whether or
    # not / is a mount point of its own, e.g. in a chroot).
    subprocess.run(["mount", "--bind", path, path], check=True)
    subprocess.run(["mount", "--make-private", path], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs", path],
                   check=True)


def fill(path):
    """Write a file until the file system is full. Unbuffered: a buffered
    file keeps the part of a write that did not fit and raises ENOSPC again
    when closed, outside any handler (seen once in CI)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        chunk = b"\0" * 65536
        while True:
            try:
                if os.write(fd, chunk) == 0:
                    break
            except OSError:
                break
    finally:
        os.close(fd)


class StoreFull(unittest.TestCase):
    @unittest.skipUnless(os.geteuid() == 0, "needs root for a private tmpfs")
    def test_full_state_dir_alerts_keeps_evaluating_and_recovers(self):
        with harness.Env(devices=["dashboard-1", "pump-1"]) as env:
            mnt = env.path("statefs")
            private_tmpfs(mnt, "4m")
            cfg = dg.write_gateway_config(env, state_dir=os.path.join(mnt, "state"),
                                          device_time_scale=1)
            gw = dg.start_gateway(env, config=cfg)
            watch = dg.start_watch(env, filters=[env.root + "/alert/+"])
            topic = env.root + "/pump/pump-1/telemetry"

            filler = os.path.join(mnt, "filler")
            fill(filler)
            # An overrate while the disk is full: the interlock still acts.
            env.mosquitto_pub("pump-1", topic, dg.telemetry("pump-1", seq=1, rate_ml_per_h=525.0),
                              check=True)

            def alert(cond, phase):
                return [e for e in dg.messages(watch, "AlertEvent")
                        if e["condition"] == cond and e["phase"] == phase]
            harness.wait_until(lambda: alert("rate", "raise"), 20, what="the rate alert")
            harness.wait_until(lambda: alert("state-store", "raise"), 20,
                               what="the state-store alert")
            a = alert("state-store", "raise")[0]
            self.assertEqual(a["priority"], "high")
            self.assertEqual(a["kind"], "technical")
            self.assertEqual(a["bed_id"], "gw-test")
            self.assertIn("event=store.failing", gw.stderr())

            # Room again: the next turns store, the alert clears.
            os.remove(filler)
            for seq in range(2, 6):
                env.mosquitto_pub("pump-1", topic, dg.telemetry("pump-1", seq=seq,
                                                                 rate_ml_per_h=0.0, state=4),
                                  check=True)
                time.sleep(0.2)
            harness.wait_until(lambda: alert("state-store", "clear"), 20,
                               what="the state-store alert to clear")
            self.assertIn("event=store.recovered", gw.stderr())
            self.assertTrue(gw.running(), gw.log())
            self.assertEqual(gw.terminate(20), 0, gw.log())
            # The latched rate alert made while the disk was full is in the
            # saved state: a restart still shows it.
            gw2 = dg.start_gateway(env, config=cfg, name="gateway-again")
            line = gw2.wait_for_line('msg="state store open"', timeout=20, stream="stderr")
            # rate (latched); the start without a baseline blood pressure is
            # not an alert yet: it waits vitals.baseline.grace_min for one.
            self.assertIn("active_alerts=1", line)
            self.assertEqual(gw2.terminate(20), 0, gw2.log())


class Budget(unittest.TestCase):
    def test_budget_alert_does_not_flap(self):
        with harness.Env(devices=["dashboard-1", "pump-1"]) as env:
            dead = harness.free_port()  # nothing listens: the clinic link never connects
            cert, key = env.cert("gateway")
            clinic = ("clinic_link:\n  url: ssl://127.0.0.1:%d\n  ca_file: %s\n"
                      "  cert_file: %s\n  key_file: %s\n") % (dead, env.ca_file, cert, key)
            # 1 MiB of outbox; device time x1000: the flood limit does not interfere.
            cfg = dg.write_gateway_config(env, sections=clinic, disk_budget_mb=1,
                                          device_time_scale=1000)
            gw = dg.start_gateway(env, config=cfg, wait_connected=False)
            gw.wait_for_line(lambda l: "link=device" in l and "subscribed" in l and
                             "telemetry" in l, timeout=20, stream="stderr")
            # Each undecodable message is an audit record (~300 bytes) that cannot
            # be delivered: 6000 of them are well past the budget.
            junk = "\n".join("junk-%d" % i for i in range(6000)) + "\n"
            argv = (["mosquitto_pub"] + env.client_args("pump-1")
                    + ["-V", "5", "-q", "1", "-t", env.root + "/pump/pump-1/telemetry", "-l"])
            p = subprocess.run(argv, input=junk.encode(), capture_output=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            gw.wait_for_line("event=store.failing", timeout=60, stream="stderr")
            harness.wait_until(lambda: gw.stderr().count('reason=decode') >= 6000, 120,
                               what="every message judged")
            time.sleep(2)  # quiet turns: nothing stored, so nothing recovered either
            self.assertEqual(gw.terminate(20), 0, gw.log())
            err = gw.stderr()
            self.assertEqual(err.count("event=store.failing"), 1, "the alert flapped")
            self.assertEqual(err.count("event=store.recovered"), 0, "recovered while still full")


if __name__ == "__main__":
    unittest.main()
