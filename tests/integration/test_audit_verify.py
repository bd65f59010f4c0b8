"""The audit trail end to end: a real gateway signing checkpoints with the
audit key from certs/make-certs, an overrate session from the simulator, the
trail recorded from the broker by `dosegate-audit record` (as a dashboard)
and checked live by `dosegate-audit verify --follow`; after a clean stop the
export verifies intact and ends closed (signed, after gateway.stop), and
copies of it that were edited, had a record deleted, lost their last
checkpoint, were cut after an earlier checkpoint, lost their start, or are
checked against another key are each refused, naming the seq (the two cut
at the end pass with --allow-open-end, which says what it could not check).
A config without the audit key is refused unless it says audit.unsigned."""
import base64
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dg  # noqa: E402
import harness  # noqa: E402

EVERY = 3  # checkpoint_every: several checkpoints in a short session


def varint(buf, i):
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def fields(rec):
    """{field number: (value, offset of a length-delimited value)} of a record
    (protobuf wire format read by hand: the test trusts neither side's code)."""
    out, i = {}, 0
    while i < len(rec):
        tag, i = varint(rec, i)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            v, i = varint(rec, i)
            out[num] = (v, None)
        elif wt == 2:
            n, i = varint(rec, i)
            out[num] = (rec[i:i + n], i)
            i += n
        else:
            raise AssertionError("unexpected wire type %d" % wt)
    return out


def read_trail(path):
    with open(path) as f:
        return [base64.b64decode(line.strip(), validate=True) for line in f]


def write_trail(path, records):
    with open(path, "w") as f:
        for r in records:
            f.write(base64.b64encode(r).decode() + "\n")


class AuditVerify(unittest.TestCase):
    def verify(self, env, trail, *extra, pub=None):
        argv = [env.bin("dosegate-audit"), "verify", "--pubkey",
                pub or os.path.join(env.certdir, "audit.pub")] + list(extra) + [trail]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr

    def test_trail_verifies_and_tampering_is_caught(self):
        with harness.Env(devices=["dashboard-1", "pump-1", "monitor-1"]) as env:
            audit_bin = env.bin("dosegate-audit")
            key = os.path.join(env.certdir, "audit.key")
            self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
            for cmd in ("record", "verify"):
                r = subprocess.run([audit_bin, cmd, "--help"], capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("usage: dosegate-audit " + cmd, r.stdout)
            self.assertIn("--allow-open-end", r.stdout)

            cert, ckey = env.cert("dashboard-1")
            link = ["--url", env.url, "--ca", env.ca_file, "--cert", cert, "--key", ckey,
                    "--root", env.root]
            trail = env.path("trail.b64")
            rec = env.start("record", [audit_bin, "record", "--out", trail] + link)
            rec.wait_for_line("subscribed", timeout=20, stream="stderr")
            follow = env.start("follow", [audit_bin, "verify", "--follow", "--pubkey",
                                          os.path.join(env.certdir, "audit.pub")] + link)
            follow.wait_for_line("subscribed", timeout=20, stream="stderr")

            gw = dg.start_gateway(env, audit={"key_file": key, "checkpoint_every": EVERY})
            sim = dg.run_sim(env, scenario="overrate", beds=1)
            self.assertEqual(sim.wait(60), 0, sim.log())
            self.assertEqual(gw.terminate(10), 0, gw.log())

            logged = [(int(s), e) for s, e in
                      re.findall(r"mod=audit seq=(\d+) event=(\S+)", gw.stderr())]
            self.assertTrue(logged, gw.log())
            last = logged[-1][0]
            self.assertEqual([s for s, _ in logged], list(range(1, last + 1)))
            # The trail ends signed: gateway.stop, then a checkpoint.
            self.assertEqual(logged[-1][1], "audit.checkpoint", logged[-3:])
            self.assertEqual(logged[-2][1], "gateway.stop", logged[-3:])
            self.assertIn((3, "audit.signing"), logged)
            n_cp = dg.gateway_counter(gw, "checkpoints")
            self.assertGreaterEqual(n_cp, 3)
            self.assertEqual(n_cp, sum(1 for _, e in logged if e == "audit.checkpoint"))

            rec.wait_for_line("recorded seq=%d event=audit.checkpoint" % last, timeout=15)
            follow.wait_for_line("checkpoint seq=%d " % last, timeout=15)
            self.assertEqual(rec.terminate(), 0, rec.log())
            self.assertEqual(follow.terminate(), 0, follow.log())
            self.assertNotIn("BROKEN", follow.stdout())
            self.assertEqual(len(re.findall(r"^checkpoint seq=\d+ .*: ok$", follow.stdout(),
                                            re.M)), n_cp, follow.stdout())
            self.assertIn("OK: intact: %d records (seq 1..%d), %d checkpoints, 0 unsigned"
                          % (last, last, n_cp), follow.stdout())

            # The export: every record once, in order, as published.
            records = read_trail(trail)
            self.assertEqual([fields(r)[2][0] for r in records], list(range(1, last + 1)))
            # Closed: signed to the end, and the end is gateway.stop.
            rc, out = self.verify(env, trail, "--verbose")
            self.assertEqual(rc, 0, out)
            self.assertIn("OK: intact: %d records (seq 1..%d), %d checkpoints, 0 unsigned"
                          % (last, last, n_cp), out)
            self.assertIn("closed by gateway.stop at seq %d" % (last - 1), out)
            self.assertNotIn("UNSIGNED", out)
            self.assertNotIn("OPEN", out)
            rc, out = self.verify(env, trail, "--require-signed-tail")
            self.assertEqual(rc, 0, out)

            # Edited: one byte of seq 4's detail.
            f = fields(records[3])
            detail, off = f[12]
            self.assertTrue(detail, f)
            edited = list(records)
            b = bytearray(edited[3])
            b[off] = ord("X") if b[off] != ord("X") else ord("Y")
            edited[3] = bytes(b)
            path = env.path("edited.b64")
            write_trail(path, edited)
            rc, out = self.verify(env, path)
            self.assertEqual(rc, 1, out)
            self.assertIn("BROKEN: seq=4 record=4 fault=edited", out)

            # Deleted: seq 6 gone; the chain breaks at seq 7 (line 6).
            path = env.path("deleted.b64")
            write_trail(path, records[:5] + records[6:])
            rc, out = self.verify(env, path)
            self.assertEqual(rc, 1, out)
            self.assertIn("BROKEN: seq=7 record=6 fault=gap: seq 6 missing", out)

            # Truncated: the last checkpoint removed. The records after the
            # checkpoint before it are unsigned: a failure, unless the verifier
            # is told the trail may end open (then reported).
            cps = [fields(r)[2][0] for r in records
                   if fields(r)[5][0] == b"audit.checkpoint"]
            self.assertEqual(len(cps), n_cp)
            path = env.path("truncated.b64")
            write_trail(path, records[:-1])
            first_unsigned, n_unsigned = cps[-2] + 1, last - 1 - cps[-2]
            rc, out = self.verify(env, path)
            self.assertEqual(rc, 1, out)
            self.assertIn("BROKEN: seq=%d record=%d fault=unsigned-tail"
                          % (first_unsigned, first_unsigned), out)
            rc, out = self.verify(env, path, "--allow-open-end")
            self.assertEqual(rc, 0, out)
            self.assertIn("UNSIGNED: %d record%s after the last checkpoint (seq %d..%d)"
                          % (n_unsigned, "" if n_unsigned == 1 else "s", first_unsigned,
                             last - 1), out)
            self.assertNotIn("OPEN", out)  # gateway.stop is still there, unsigned
            rc, out = self.verify(env, path, "--allow-open-end", "--require-signed-tail")
            self.assertEqual(rc, 1, out)
            self.assertIn("fault=unsigned-tail", out)

            # Cut right after an earlier checkpoint: every record signed, but
            # no gateway.stop: whatever came after that checkpoint could be
            # gone. A failure (open-end, at the last record), unless allowed.
            cut = cps[-2]
            path = env.path("cut.b64")
            write_trail(path, records[:cut])
            rc, out = self.verify(env, path)
            self.assertEqual(rc, 1, out)
            self.assertIn("BROKEN: seq=%d record=%d fault=open-end" % (cut, cut), out)
            rc, out = self.verify(env, path, "--allow-open-end")
            self.assertEqual(rc, 0, out)
            self.assertIn("OK: intact: %d records (seq 1..%d), %d checkpoints, 0 unsigned"
                          % (cut, cut, n_cp - 1), out)
            self.assertIn("OPEN: no gateway.stop after the last gateway.start", out)

            # Cut at the start: refused, unless the verifier is told where it starts.
            path = env.path("late.b64")
            write_trail(path, records[2:])
            rc, out = self.verify(env, path)
            self.assertEqual(rc, 1, out)
            self.assertIn("BROKEN: seq=3 record=1 fault=truncated-start", out)
            rc, out = self.verify(env, path, "--from-seq", "3")
            self.assertEqual(rc, 0, out)

            # Another key: the first checkpoint does not verify.
            other = env.path("other.pub")
            subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out",
                            env.path("other.key")], check=True, capture_output=True)
            subprocess.run(["openssl", "pkey", "-in", env.path("other.key"), "-pubout",
                            "-out", other], check=True, capture_output=True)
            rc, out = self.verify(env, trail, pub=other)
            self.assertEqual(rc, 1, out)
            self.assertIn("BROKEN: seq=%d record=%d fault=bad-signature" % (cps[0], cps[0]), out)

    def test_interval_checkpoint_and_no_key(self):
        with harness.Env(devices=["dashboard-1"]) as env:
            # Far from checkpoint_every: the interval (1 s) signs the start records.
            key = os.path.join(env.certdir, "audit.key")
            gw = dg.start_gateway(env, name="gw-interval", audit={
                "key_file": key, "checkpoint_every": 100000, "checkpoint_interval_s": 1})
            gw.wait_for_line(lambda l: "event=audit.checkpoint" in l and "reason=interval" in l,
                             timeout=10, stream="stderr")
            self.assertEqual(gw.terminate(10), 0, gw.log())
            self.assertNotIn("reason=count", gw.stderr())

            # No key and no opt-out: refused, naming the file, the line of the
            # audit: mapping and the key; the gateway does not start.
            nokey = dg.write_gateway_config(env, name="nokey.yaml",
                                            audit={"checkpoint_every": 5})
            with open(nokey) as f:
                line_no = f.read().splitlines().index("audit:") + 2
            want = ("%s:%d: audit.key_file: required key is missing; set audit.unsigned: true "
                    "to run without signed checkpoints" % (nokey, line_no))
            chk = env.start("check-nokey", [env.bin("dosegate"), "--check-config", nokey])
            self.assertEqual(chk.wait(10), 1, chk.log())
            self.assertIn(want, chk.stderr())
            run = env.start("run-nokey", [env.bin("dosegate"), "--config", nokey])
            self.assertEqual(run.wait(10), 1, run.log())
            self.assertIn(want, run.stderr())

            # The explicit opt-out: the gateway runs, warns, audits
            # audit.unsigned, signs nothing.
            gw = dg.start_gateway(env, name="gw-unsigned", config=dg.write_gateway_config(
                env, name="unsigned.yaml", audit={"unsigned": "true"}))
            self.assertEqual(gw.terminate(10), 0, gw.log())
            err = gw.stderr()
            self.assertIn("level=warn mod=audit", err)
            self.assertRegex(err, r"mod=audit seq=\d+ event=audit.unsigned outcome=4")
            self.assertIn("audit.unsigned: true", err)
            self.assertNotIn("event=audit.checkpoint", err)
            self.assertEqual(dg.gateway_counter(gw, "checkpoints"), 0)


if __name__ == "__main__":
    unittest.main()
