"""test_make_acl.py — broker/make-acl's output, and certs/make-certs' kinds.

No broker here: these run the two scripts on certificates made in a temp dir
and read what they write. What the broker then enforces with that output is
test_broker_security.py's job.
"""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

DEFAULT_IDS = ["pump-1", "pump-2", "monitor-1", "monitor-2", "dashboard-1", "dashboard-2"]
O = "/O=dosegate development"

GATEWAY = ["topic read dosegate/v1/+/pump/+/telemetry",
           "topic read dosegate/v1/+/monitor/+/vitals",
           "topic read dosegate/v1/+/ack/+",
           "topic readwrite dosegate/v1/+/pump/+/command",
           "topic readwrite dosegate/v1/+/alert/+",
           "topic readwrite dosegate/v1/+/alarms/+",
           "topic readwrite dosegate/v1/+/audit",
           "topic readwrite dosegate/v1/+/gateway/+/status"]
DASHBOARD = ["topic read dosegate/v1/+/alert/+",
             "topic read dosegate/v1/+/alarms/+",
             "topic read dosegate/v1/+/audit",
             "topic read dosegate/v1/+/gateway/+/status"]


def grants(cn, kind):
    if kind == "pump":
        return ["topic write dosegate/v1/+/pump/%s/telemetry" % cn,
                "topic read dosegate/v1/+/pump/%s/command" % cn]
    if kind == "monitor":
        return ["topic write dosegate/v1/+/monitor/%s/vitals" % cn]
    # A dashboard acknowledges only on its own ack topic: the topic names it.
    return DASHBOARD + ["topic write dosegate/v1/+/ack/%s" % cn]


def run(argv, **kw):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=60,
                          **kw)


def make_acl(*args):
    return run([harness.MAKE_ACL] + list(args))


def blocks(text):
    """ACL text -> (lines outside any user block, {user: [its lines]}),
    comments and blank lines left out; a repeated user fails."""
    top, users, cur = [], {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("user "):
            cur = line[5:]
            assert cur not in users, "user %s twice" % cur
            users[cur] = []
        elif cur is None:
            top.append(line)
        else:
            users[cur].append(line)
    return top, users


class MakeAcl(unittest.TestCase):

    def certs(self, ids=DEFAULT_IDS):
        """An Env without a broker: certificates for ids in env.certdir."""
        return harness.Env(devices=ids, broker=False)

    def test_default_certificates_give_the_shipped_acl(self):
        with open(harness.BROKER_ACL) as f:
            shipped = f.read()
        with self.certs() as env:
            r = make_acl(env.certdir)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, "")  # ca, server, gateway, expired, foreign: silent
            self.assertEqual(r.stdout, shipped,
                             "broker/acl is not make-acl's output for the default "
                             "certificates: regenerate it (see its header)")
            out = env.path("acl.out")
            r2 = make_acl(env.certdir, out)
            self.assertEqual((r2.returncode, r2.stdout, r2.stderr), (0, "", ""))
            with open(out) as f:
                self.assertEqual(f.read(), shipped)
            self.assertEqual(os.stat(out).st_mode & 0o777, 0o644)
            self.assertFalse([n for n in os.listdir(env.tmp) if ".new." in n])  # no leftovers
        # Other keys, another CA, another creation order: the same bytes.
        with self.certs(list(reversed(DEFAULT_IDS))) as env:
            self.assertEqual(make_acl(env.certdir).stdout, shipped)

    def test_one_block_per_device_with_its_kinds_grants(self):
        ids = ["pump-10", "monitor-b", "dashboard-x", "pump-2", "monitor-a"]
        with self.certs(ids) as env:
            r = make_acl(env.certdir)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual([ln for ln in r.stdout.splitlines() if ln.startswith("pattern")], [])
            top, users = blocks(r.stdout)
            self.assertEqual(top, [])
            self.assertEqual(list(users), ["gateway", "dashboard-x", "monitor-a", "monitor-b",
                                           "pump-10", "pump-2"])  # sorted by CN (bytes)
            self.assertEqual(users["gateway"], GATEWAY)
            for cn in ids:
                self.assertEqual(users[cn], grants(cn, cn.split("-")[0]), cn)

    def test_certificates_that_get_no_block(self):
        with self.certs(["pump-1", "monitor-1"]) as env:
            mk = env.make_cert
            mk("pump-9", O + "/OU=monitor/CN=pump-9")          # OU disagrees with CN
            mk("monitor-9", O + "/OU=pump/CN=monitor-9")
            mk("dashboard-9", O + "/OU=pump/CN=dashboard-9")
            mk("pump-8", O + "/CN=pump-8")                       # no OU
            mk("pump-7", O + "/OU=pump/OU=monitor/CN=pump-7")    # two OUs
            mk("fridge-1", O + "/OU=pump/CN=fridge-1")           # CN without a kind
            mk("gateway-2", O + "/CN=gateway")                   # the gateway's CN
            mk("pump-6", O + "/OU=pump/CN=pump-6", ca="foreign-ca")  # another CA
            mk("ok", O + "/OU=monitor/CN=monitor-5")   # the file name does not matter
            with open(os.path.join(env.certdir, "junk.pem"), "w") as f:
                f.write("not a certificate\n")
            r = make_acl(env.certdir)
            self.assertEqual(r.returncode, 0, r.stderr)
            _, users = blocks(r.stdout)
            self.assertEqual(sorted(users), ["gateway", "monitor-1", "monitor-5", "pump-1"])
            self.assertEqual(users["monitor-5"], grants("monitor-5", "monitor"))
            warnings = r.stderr.splitlines()
            for want in ("pump-9.pem: CN 'pump-9' is a pump but OU is 'monitor'",
                         "monitor-9.pem: CN 'monitor-9' is a monitor but OU is 'pump'",
                         "dashboard-9.pem: CN 'dashboard-9' is a dashboard but OU is 'pump'",
                         "pump-8.pem: CN 'pump-8' is a pump but the subject has no OU",
                         "pump-7.pem: its subject has several OUs",
                         "fridge-1.pem: CN 'fridge-1' has no kind prefix",
                         "gateway-2.pem: CN 'gateway' has no kind prefix",
                         "pump-6.pem: not a client certificate signed by",
                         "junk.pem: not a PEM certificate"):
                self.assertEqual(len([w for w in warnings if want in w]), 1,
                                 "want one warning %r in:\n%s" % (want, r.stderr))
            self.assertEqual(len(warnings), 9, r.stderr)
            self.assertTrue(all(w.startswith("make-acl: warning: skipped ") for w in warnings))

    def test_bad_certdir_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "acl")
            for certdir, why in ((os.path.join(d, "missing"), "no such directory"),
                                 (__file__, "not a directory"),
                                 (d, "no certificates (*.pem)")):
                r = make_acl(certdir, out)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("make-acl: %s: %s" % (certdir, why), r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertFalse(os.path.exists(out))
            for argv in ([], [d, out, "extra"], ["--bogus", d]):
                r = make_acl(*argv)
                self.assertEqual(r.returncode, 2, argv)
                self.assertFalse(os.path.exists(out))
            r = make_acl("--help")
            self.assertEqual(r.returncode, 0)
            self.assertIn("usage: make-acl CERTDIR [OUTFILE]", r.stdout)

    def test_unwritable_outfile_fails(self):
        with self.certs(["pump-1"]) as env:
            r = make_acl(env.certdir, env.path("no-such-dir", "acl"))
            self.assertEqual(r.returncode, 1)
            self.assertIn("cannot write", r.stderr)


class MakeCertsKinds(unittest.TestCase):

    def test_refuses_an_id_without_a_kind_prefix(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "certs")
            for bad, why in (("fridge-1", "has no kind prefix"), ("pump-", "has no kind prefix"),
                             ("pump1", "has no kind prefix"), ("Pump-1", "has no kind prefix"),
                             ("gateway", "is reserved"), ("expired", "is reserved")):
                r = run([harness.MAKE_CERTS, out, "pump-1", bad])
                self.assertEqual(r.returncode, 2, bad)
                self.assertIn("make-certs: device id '%s' %s" % (bad, why), r.stderr)
                self.assertFalse(os.path.exists(out), "nothing is made when an id is refused")
            r = run([harness.MAKE_CERTS, "--help"])
            self.assertEqual(r.returncode, 0)
            self.assertIn("OU=KIND", r.stdout)
            self.assertIn("broker/make-acl", r.stdout)

    def test_kind_is_in_the_subject(self):
        with harness.Env(devices=["pump-1", "monitor-1", "dashboard-1"], broker=False) as env:
            def subject(name):
                return run(["openssl", "x509", "-noout", "-subject", "-nameopt",
                            "sep_multiline,sname", "-in", env.cert(name)[0]]).stdout.split()
            for name, ou, cn in (("pump-1", "pump", "pump-1"), ("monitor-1", "monitor", "monitor-1"),
                                 ("dashboard-1", "dashboard", "dashboard-1"),
                                 ("expired", "pump", "pump-1"), ("foreign", "pump", "pump-1")):
                self.assertEqual(subject(name), ["subject=", "O=dosegate", "development",
                                                 "OU=" + ou, "CN=" + cn], name)
            # A kept certificate without its kind is reported.
            env.make_cert("pump-5", O + "/CN=pump-5")
            r = run([harness.MAKE_CERTS, env.certdir, "pump-5"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("pump-5.pem has no OU=pump in its subject", r.stderr)


if __name__ == "__main__":
    unittest.main()
