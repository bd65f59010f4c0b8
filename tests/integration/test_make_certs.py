"""test_make_certs.py — certs/make-certs' revocation: --revoke, --crl, crl.pem.

No broker here: these run make-certs in a temp dir and check what it writes
with openssl. That the broker then refuses a revoked certificate is
test_broker_security.py's job (tests q, r, s).
"""

import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def run(argv, **kw):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=60,
                          **kw)


def make_certs(*args):
    return run([harness.MAKE_CERTS] + list(args))


def serial(cert):
    return run(["openssl", "x509", "-noout", "-serial", "-in", cert]).stdout.strip().split("=")[1]


class MakeCerts(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="dg-make-certs-")
        self.out = os.path.join(self.tmp, "certs")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def p(self, name):
        return os.path.join(self.out, name)

    def ok(self, *args):
        r = make_certs(*args)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def crl_serials(self):
        """Serial numbers crl.pem lists (it must verify against ca.pem)."""
        r = run(["openssl", "crl", "-noout", "-text", "-CAfile", self.p("ca.pem"),
                 "-in", self.p("crl.pem")])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("verify OK", r.stdout + r.stderr)
        return [ln.split(":", 1)[1].strip() for ln in r.stdout.splitlines()
                if ln.strip().startswith("Serial Number:")]

    def crl_check(self, name):
        """openssl verify with the CRL: "" if name.pem passes, else the error."""
        r = run(["openssl", "verify", "-crl_check", "-CRLfile", self.p("crl.pem"),
                 "-CAfile", self.p("ca.pem"), self.p(name + ".pem")])
        return "" if r.returncode == 0 else r.stdout + r.stderr

    def read(self, name):
        with open(self.p(name)) as f:
            return f.read()

    def crl_dates(self):
        r = run(["openssl", "crl", "-noout", "-lastupdate", "-nextupdate",
                 "-dateopt", "iso_8601", "-in", self.p("crl.pem")])
        self.assertEqual(r.returncode, 0, r.stderr)
        return dict(ln.split("=", 1) for ln in r.stdout.splitlines())

    def test_every_run_writes_a_current_crl(self):
        r = self.ok(self.out, "pump-1", "pump-2")
        self.assertIn("crl.pem lists 0 revoked", r.stdout)
        self.assertEqual(self.crl_serials(), [])
        self.assertEqual(os.stat(self.p("crl.pem")).st_mode & 0o777, 0o644)
        # Valid 30 days from now: the broker refuses everyone once it expires.
        ok = run(["openssl", "crl", "-noout", "-in", self.p("crl.pem")])
        self.assertEqual(ok.returncode, 0, ok.stderr)
        d = self.crl_dates()
        last = datetime.datetime.fromisoformat(d["lastUpdate"].replace("Z", "+00:00"))
        nxt = datetime.datetime.fromisoformat(d["nextUpdate"].replace("Z", "+00:00"))
        self.assertEqual((nxt - last).days, 30)
        self.assertEqual(self.crl_check("pump-1"), "")

    def test_revoke_lists_the_certificate_and_nothing_else(self):
        self.ok(self.out, "pump-1", "pump-2", "monitor-1")
        r = self.ok("--revoke", self.out, "pump-2")
        self.assertIn("revoked: pump-2;", r.stdout)
        self.assertEqual(self.crl_serials(), [serial(self.p("pump-2.pem"))])
        self.assertIn("certificate revoked", self.crl_check("pump-2"))
        for other in ("pump-1", "monitor-1", "gateway", "server"):
            self.assertEqual(self.crl_check(other), "", other)
        # Again: not an error, nothing added.
        r = self.ok("--revoke", self.out, "pump-2")
        self.assertIn("revoked: nothing; already revoked: pump-2;", r.stdout)
        self.assertEqual(len(self.crl_serials()), 1)
        # Several at once, the gateway's certificate included.
        self.ok("--revoke", self.out, "monitor-1", "gateway")
        self.assertEqual(len(self.crl_serials()), 3)
        self.assertEqual(self.crl_check("pump-1"), "")

    def test_later_runs_keep_revocations_and_warn(self):
        self.ok(self.out, "pump-1", "pump-2")
        self.ok("--revoke", self.out, "pump-2")
        old = serial(self.p("pump-2.pem"))
        r = self.ok(self.out, "pump-1", "pump-2")
        self.assertIn("kept %s is revoked (delete pump-2.pem and pump-2.key to make a new one)"
                      % self.p("pump-2.pem"), r.stderr)
        self.assertEqual(self.crl_serials(), [old])
        # A new certificate for the device: a new serial, not revoked.
        os.remove(self.p("pump-2.pem"))
        os.remove(self.p("pump-2.key"))
        r = self.ok(self.out, "pump-1", "pump-2")
        self.assertNotIn("revoked", r.stderr)
        self.assertNotEqual(serial(self.p("pump-2.pem")), old)
        self.assertEqual(self.crl_check("pump-2"), "")
        self.assertEqual(self.crl_serials(), [old])

    def test_crl_renews_with_a_later_last_update(self):
        self.ok(self.out, "pump-1", "pump-2")
        self.ok("--revoke", self.out, "pump-2")
        before = self.crl_dates()
        r = self.ok("--crl", self.out)
        self.assertIn("crl.pem lists 1 revoked", r.stdout)
        after = self.crl_dates()
        # Strictly later: a reloading mosquitto keeps the CRLs it has read
        # and uses the one with the latest lastUpdate.
        self.assertGreater(after["lastUpdate"], before["lastUpdate"])
        self.assertGreater(after["nextUpdate"], before["nextUpdate"])
        self.assertEqual(self.crl_serials(), [serial(self.p("pump-2.pem"))])

    def test_a_pki_from_before_revocation_gets_a_database_on_demand(self):
        self.ok(self.out, "pump-1", "pump-2")
        # As an older make-certs left it: no CA database, no CRL.
        shutil.rmtree(self.p("ca-db"))
        os.remove(self.p("crl.pem"))
        self.ok("--revoke", self.out, "pump-1")
        self.assertIn("certificate revoked", self.crl_check("pump-1"))
        shutil.rmtree(self.p("ca-db"))
        os.remove(self.p("crl.pem"))
        r = self.ok(self.out, "pump-1")
        self.assertIn("kept: ca ", r.stdout)
        self.assertEqual(self.crl_serials(), [])

    def test_a_new_ca_starts_a_new_revocation_list(self):
        self.ok(self.out, "pump-1")
        self.ok("--revoke", self.out, "pump-1")
        os.remove(self.p("ca.pem"))
        r = self.ok(self.out, "pump-1")
        self.assertIn("made: ca ", r.stdout)
        self.assertEqual(self.crl_serials(), [])  # and signed by the new CA
        self.assertEqual(self.crl_check("pump-1"), "")

    def test_refusals(self):
        self.ok(self.out, "pump-1")
        shutil.copy(self.p("foreign.pem"), self.p("pump-9.pem"))  # another CA's
        cases = [
            (["--revoke", self.out], "--revoke needs at least one ID"),
            (["--revoke", self.out, "pump-3"], "pump-3.pem: no such certificate"),
            (["--revoke", self.out, "pump-9"], "is not signed by %s" % self.p("ca.pem")),
            (["--revoke", self.out, "expired"], "device id 'expired' is reserved"),
            (["--revoke", self.out, "fridge-1"], "device id 'fridge-1' has no kind prefix"),
            (["--revoke", os.path.join(self.tmp, "none"), "pump-1"],
             "no CA (ca.pem and ca.key)"),
            (["--crl", self.out, "pump-1"], "--crl takes no IDs"),
            (["--crl", "--revoke", self.out, "pump-1"], "give one of them"),
        ]
        crl = self.read("crl.pem")
        for args, why in cases:
            r = make_certs(*args)
            self.assertEqual(r.returncode, 2, "%s: %s" % (args, r.stdout + r.stderr))
            self.assertIn(why, r.stderr, args)
        self.assertEqual(self.read("crl.pem"), crl)  # untouched
        self.assertEqual(self.crl_serials(), [])

    def test_help_documents_revocation_and_renewal(self):
        r = self.ok("--help")
        for want in ("--revoke OUTDIR ID", "--crl OUTDIR", "crl.pem", "kill -HUP",
                     "restart the broker", "valid for 30 days"):
            self.assertIn(want, r.stdout)


if __name__ == "__main__":
    unittest.main()
