"""test_broker_security.py — the shipped broker config and ACL, on the real mosquitto.

Each test starts its own mosquitto over TLS (harness.Env) with certificates from
certs/make-certs, broker/mosquitto.conf.in and the ACL broker/make-acl makes
from those certificates, and checks one security property with the
mosquitto_pub/sub clients, openssl s_client or a raw MQTT CONNECT.

How a "refused" or "dropped" check can fail: each negative step is paired
with a positive control that uses the same command and differs only in the
property under test, and drops are shown by ordering — a subscriber that
stops after its first message must get the control published *after* the
forbidden one, so a forbidden message that got through would arrive first.
"""

import os
import socket
import ssl
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dg  # noqa: E402
import harness  # noqa: E402

DENIED = "Not authorized"  # mosquitto_pub -V 5 on a PUBACK with reason 0x87


class BrokerSecurity(unittest.TestCase):

    # ---------------------------------------------------------------- helpers

    def env(self):
        return harness.Env(devices=["pump-1", "pump-2", "monitor-1", "monitor-2",
                                    "dashboard-1"])

    def assert_published(self, r):
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn(DENIED, r.stdout + r.stderr)

    def assert_denied(self, r):
        """The broker accepted the connection but refused the publish."""
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(DENIED, r.stdout + r.stderr)

    def assert_first(self, sub, topic, payload):
        """sub's first message is (topic, payload): nothing forbidden came before."""
        msgs = sub.wait_messages(1, timeout=15)
        self.assertEqual(msgs[0], (topic, payload), "got %r" % msgs)

    def assert_refused_client(self, env, identity, tls=True):
        """identity (None = no certificate) cannot connect, and a publish it
        attempts never reaches the gateway; pump-1 then can."""
        topic = env.root + "/pump/pump-1/telemetry"
        gw = env.mosquitto_sub("gateway", env.root + "/#", count=1, timeout=20)

        self.assertTrue(env.mqtt_connect("pump-1"), "control: pump-1 must connect")
        self.assertFalse(env.mqtt_connect(identity, tls=tls),
                         "%s must not get a CONNACK" % identity)
        r = env.mosquitto_pub(identity, topic, b"forged", tls=tls)
        self.assertNotEqual(r.returncode, 0, "mosquitto_pub as %s must fail" % identity)

        self.assert_published(env.mosquitto_pub("pump-1", topic, b"control"))
        self.assert_first(gw, topic, b"control")

    # ------------------------------------------------------------------ tests

    def test_a_device_publishes_own_topics_gateway_receives(self):
        with self.env() as env:
            gw = env.mosquitto_sub("gateway", [env.root + "/pump/+/telemetry",
                                               env.root + "/monitor/+/vitals"],
                                   count=2, timeout=20)
            tele = env.root + "/pump/pump-1/telemetry"
            vitals = env.root + "/monitor/monitor-1/vitals"
            payload = bytes(range(256))  # binary-safe, like protobuf
            self.assert_published(env.mosquitto_pub("pump-1", tele, payload))
            self.assert_published(env.mosquitto_pub("monitor-1", vitals, b"\x08\x01"))
            self.assertEqual(gw.wait_messages(2, timeout=15),
                             [(tele, payload), (vitals, b"\x08\x01")])
            self.assertEqual(gw.wait(10), 0)

    def test_b_client_without_certificate_refused(self):
        with self.env() as env:
            self.assert_refused_client(env, None)
            self.assertIn("peer did not return a certificate", env.broker.stderr())

    def test_c_expired_certificate_refused(self):
        with self.env() as env:
            # Precondition: apart from its dates the certificate is valid
            # (our CA, CN=pump-1), so the refusal is about expiry.
            cert, _ = env.cert("expired")
            ok = subprocess.run(["openssl", "verify", "-no_check_time", "-CAfile",
                                 env.ca_file, cert], capture_output=True, text=True)
            self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
            bad = subprocess.run(["openssl", "verify", "-CAfile", env.ca_file, cert],
                                 capture_output=True, text=True)
            self.assertIn("certificate has expired", bad.stdout + bad.stderr)
            self.assert_refused_client(env, "expired")

    def test_d_foreign_ca_certificate_refused(self):
        with self.env() as env:
            # Precondition: a well-formed CN=pump-1 client certificate from a CA
            # that has our CA's name but not its key.
            cert, _ = env.cert("foreign")
            ok = subprocess.run(["openssl", "verify", "-CAfile",
                                 os.path.join(env.certdir, "foreign-ca.pem"), cert],
                                capture_output=True, text=True)
            self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
            subj = subprocess.run(["openssl", "x509", "-noout", "-subject", "-in", cert],
                                  capture_output=True, text=True).stdout
            self.assertIn("CN = pump-1", subj)
            self.assert_refused_client(env, "foreign")

    def test_e_plaintext_refused(self):
        with self.env() as env:
            self.assert_refused_client(env, "pump-1", tls=False)

    def test_f_tls_1_1_refused(self):
        with self.env() as env:
            cert, key = env.cert("pump-1")
            # OpenSSL 3 allows TLS < 1.2 only at security level 0; set it on
            # the client so the client is able to speak TLS 1.1 at all.
            def s_client(port, version):
                return subprocess.run(
                    ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                     "-" + version, "-cipher", "DEFAULT:@SECLEVEL=0", "-CAfile", env.ca_file,
                     "-cert", cert, "-key", key, "-verify_return_error", "-brief"],
                    stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=15)

            # Control 1: this client does negotiate TLS 1.1 with a server that allows it.
            port = harness.free_port()
            srv_cert, srv_key = env.cert("server")
            server = env.start("s_server-tls1_1",
                               ["openssl", "s_server", "-accept", str(port), "-cert", srv_cert,
                                "-key", srv_key, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"],
                               stdin=subprocess.PIPE)  # s_server quits on stdin EOF
            harness.wait_until(lambda: _tcp_open(port) or not server.running(), 10,
                               what="openssl s_server")
            ctl = s_client(port, "tls1_1")
            self.assertEqual(ctl.returncode, 0, ctl.stdout + ctl.stderr)
            self.assertIn("Protocol version: TLSv1.1", ctl.stdout + ctl.stderr)
            server.terminate()

            # Control 2: the same command with TLS 1.2 reaches the broker.
            ok = s_client(env.port, "tls1_2")
            self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
            self.assertIn("Protocol version: TLSv1.2", ok.stdout + ok.stderr)

            # The broker refuses TLS 1.1 with a protocol_version alert.
            bad = s_client(env.port, "tls1_1")
            self.assertNotEqual(bad.returncode, 0, bad.stdout + bad.stderr)
            self.assertIn("alert protocol version", bad.stdout + bad.stderr)

            # And at the MQTT level: no CONNACK over TLS 1.1, one over TLS 1.2.
            import ssl
            old = dict(ciphers="DEFAULT:@SECLEVEL=0", min_version=ssl.TLSVersion.TLSv1,
                       max_version=ssl.TLSVersion.TLSv1_1)
            self.assertFalse(env.mqtt_connect("pump-1", **old))
            self.assertTrue(env.mqtt_connect("pump-1", ciphers="DEFAULT:@SECLEVEL=0",
                                             max_version=ssl.TLSVersion.TLSv1_2))

    def test_g_device_cannot_write_outside_its_own_topics(self):
        with self.env() as env:
            root = env.root
            gw = env.mosquitto_sub("gateway", root + "/#", count=1, timeout=20)
            p1 = env.mosquitto_sub("pump-1", root + "/pump/pump-1/command", count=1,
                                   timeout=20)
            p2 = env.mosquitto_sub("pump-2", root + "/pump/pump-2/command", count=1,
                                   timeout=20)
            forbidden = ["/pump/pump-1/telemetry",      # another pump's telemetry
                         "/monitor/monitor-1/vitals",   # a monitor's vitals
                         "/pump/pump-1/command",        # commands: gateway only
                         "/pump/pump-2/command",
                         "/alert/bed-1", "/alarms/bed-1", "/ack", "/ack/pump-2",
                         "/ack/dashboard-1", "/audit", "/gateway/gw-1/status", "/other"]
            for t in forbidden:
                self.assert_denied(env.mosquitto_pub("pump-2", root + t, b"forged"))
            own = root + "/pump/pump-2/telemetry"
            self.assert_published(env.mosquitto_pub("pump-2", own, b"control"))
            self.assert_first(gw, own, b"control")
            for pump, sub in (("pump-1", p1), ("pump-2", p2)):
                topic = root + "/pump/%s/command" % pump
                self.assert_published(env.mosquitto_pub("gateway", topic, b"gw-command"))
                self.assert_first(sub, topic, b"gw-command")

    def test_h_device_cannot_read_another_pumps_commands(self):
        with self.env() as env:
            root = env.root
            other, mine = root + "/pump/pump-2/command", root + "/pump/pump-1/command"
            # pump-1 tries an exact, a wildcard and a catch-all subscription.
            p1 = env.mosquitto_sub("pump-1", [other, root + "/pump/+/command", root + "/#",
                                              "#"], count=1, timeout=20)
            p2 = env.mosquitto_sub("pump-2", other, count=1, timeout=20)
            self.assert_published(env.mosquitto_pub("gateway", other, b"for-pump-2"))
            self.assert_first(p2, other, b"for-pump-2")  # control: it was delivered
            self.assert_published(env.mosquitto_pub("gateway", mine, b"for-pump-1"))
            self.assert_first(p1, mine, b"for-pump-1")

    def test_i_dashboard_reads_alerts_writes_ack_only(self):
        with self.env() as env:
            root = env.root
            alert, ack = root + "/alert/bed-1", root + "/ack/dashboard-1"
            command = root + "/pump/pump-1/command"
            tele = root + "/pump/pump-1/telemetry"
            # The dashboard may read alerts but not raw telemetry.
            dash = env.mosquitto_sub("dashboard-1", [tele, alert], count=1, timeout=20)
            gw = env.mosquitto_sub("gateway", ack, count=1, timeout=20)
            pump = env.mosquitto_sub("pump-1", command, count=1, timeout=20)

            self.assert_published(env.mosquitto_pub("pump-1", tele, b"telemetry"))
            self.assert_published(env.mosquitto_pub("gateway", alert, b"alert"))
            self.assert_first(dash, alert, b"alert")

            self.assert_denied(env.mosquitto_pub("dashboard-1", command, b"forged-stop"))
            self.assert_denied(env.mosquitto_pub("dashboard-1", alert, b"forged-alert"))
            self.assert_published(env.mosquitto_pub("dashboard-1", ack, b"ack"))
            self.assert_first(gw, ack, b"ack")
            self.assert_published(env.mosquitto_pub("gateway", command, b"gw-command"))
            self.assert_first(pump, command, b"gw-command")

    def test_j_gateway_and_dashboard_have_the_rights_they_need(self):
        with self.env() as env:
            root = env.root
            out = [root + "/alert/bed-1", root + "/alarms/bed-1", root + "/audit",
                   root + "/gateway/gw-1/status"]
            dash = env.mosquitto_sub("dashboard-1", out, count=len(out), timeout=20)
            gw = env.mosquitto_sub("gateway", out, count=len(out), timeout=20,
                                   name="sub-gateway-own")
            for i, t in enumerate(out):
                self.assert_published(env.mosquitto_pub("gateway", t, b"m%d" % i,
                                                        retain=t.endswith(("bed-1",
                                                                           "status"))))
            want = [(t, b"m%d" % i) for i, t in enumerate(out)]
            self.assertEqual(dash.wait_messages(len(out), timeout=15), want)
            self.assertEqual(gw.wait_messages(len(out), timeout=15), want)
            # Retained alarms/status are there for a dashboard that connects later.
            late = env.mosquitto_sub("dashboard-1", [root + "/alarms/+",
                                                     root + "/gateway/+/status"],
                                     count=2, timeout=20, name="sub-dashboard-late")
            self.assertEqual(sorted(late.wait_messages(2, timeout=15)),
                             sorted([(out[1], b"m1"), (out[3], b"m3")]))

    def test_k_certificate_newer_than_the_acl_has_no_rights_until_reload(self):
        # A dashboard certificate made after the ACL was generated has no
        # block in it, and there are no "pattern" lines: no rights at all.
        # make-acl + SIGHUP (what broker/README.md says to do) grants them,
        # and takes them away again once the certificate is gone.
        with self.env() as env:
            env.make_certs("dashboard-9", acl=False)
            root = env.root
            alert, acks = root + "/alert/bed-1", root + "/ack/+"
            ack1, ack9 = root + "/ack/dashboard-1", root + "/ack/dashboard-9"
            d9 = env.mosquitto_sub("dashboard-9", alert, count=1, timeout=30)
            gw = env.mosquitto_sub("gateway", acks, count=1, timeout=20)
            self.assert_published(env.mosquitto_pub("gateway", alert, b"alert"))
            self.assert_denied(env.mosquitto_pub("dashboard-9", ack9, b"forged-ack"))
            self.assert_published(env.mosquitto_pub("dashboard-1", ack1, b"ack"))
            self.assert_first(gw, ack1, b"ack")

            env.make_acl()
            env.reload_broker()
            gw2 = env.mosquitto_sub("gateway", acks, count=1, timeout=20, name="sub-gateway-2")
            self.assert_published(env.mosquitto_pub("dashboard-9", ack9, b"ack-9"))
            self.assert_first(gw2, ack9, b"ack-9")
            # d9's first message is the alert published after the reload: the
            # one before it was not delivered.
            self.assert_published(env.mosquitto_pub("gateway", alert, b"alert-2"))
            self.assert_first(d9, alert, b"alert-2")

            # And back: without its certificate in the directory, make-acl
            # leaves it out, and after a reload it has no rights again.
            cert, _ = env.cert("dashboard-9")
            os.rename(cert, cert + ".removed")
            env.make_acl()
            os.rename(cert + ".removed", cert)
            env.reload_broker()
            gw3 = env.mosquitto_sub("gateway", acks, count=1, timeout=20, name="sub-gateway-3")
            self.assert_denied(env.mosquitto_pub("dashboard-9", ack9, b"forged-ack-2"))
            self.assert_published(env.mosquitto_pub("dashboard-1", ack1, b"ack-1"))
            self.assert_first(gw3, ack1, b"ack-1")

    # Kinds (issue 7). With the old ACL's "pattern" lines (any CN may write
    # .../pump/<CN>/telemetry and .../monitor/<CN>/vitals) each forbidden
    # publish below went through: the gateway subscriber got it first.

    def assert_writes_denied(self, env, identity, topics, control_identity, control_topic):
        """identity's publish to each of topics is refused, and a gateway
        subscriber on everything gets control_identity's later control
        message on control_topic first (so none of them slipped through)."""
        gw = env.mosquitto_sub("gateway", env.root + "/#", count=1, timeout=20)
        for t in topics:
            self.assert_denied(env.mosquitto_pub(identity, env.root + t, b"forged"))
        control = env.root + control_topic
        self.assert_published(env.mosquitto_pub(control_identity, control, b"control"))
        self.assert_first(gw, control, b"control")

    def test_l_monitor_cannot_write_pump_telemetry(self):
        with self.env() as env:
            self.assert_writes_denied(env, "monitor-1",
                                      ["/pump/monitor-1/telemetry", "/pump/pump-1/telemetry"],
                                      "monitor-1", "/monitor/monitor-1/vitals")

    def test_m_dashboard_cannot_write_device_topics(self):
        with self.env() as env:
            self.assert_writes_denied(env, "dashboard-1",
                                      ["/pump/dashboard-1/telemetry",
                                       "/monitor/dashboard-1/vitals", "/ack",
                                       "/ack/dashboard-2"],
                                      "dashboard-1", "/ack/dashboard-1")

    def test_n_pump_cannot_write_vitals(self):
        with self.env() as env:
            self.assert_writes_denied(env, "pump-1",
                                      ["/monitor/pump-1/vitals", "/monitor/monitor-1/vitals"],
                                      "pump-1", "/pump/pump-1/telemetry")

    def test_o_pump_writes_own_telemetry_and_reads_own_commands(self):
        # The positive side of l-n: the per-kind blocks still give a pump
        # what it needs (and a monitor its vitals, test a).
        with self.env() as env:
            root = env.root
            tele, command = root + "/pump/pump-1/telemetry", root + "/pump/pump-1/command"
            gw = env.mosquitto_sub("gateway", tele, count=1, timeout=20)
            pump = env.mosquitto_sub("pump-1", command, count=1, timeout=20)
            self.assert_published(env.mosquitto_pub("pump-1", tele, b"telemetry"))
            self.assert_first(gw, tele, b"telemetry")
            self.assert_published(env.mosquitto_pub("gateway", command, b"gw-command"))
            self.assert_first(pump, command, b"gw-command")

    def test_p_certificate_without_a_kind_writes_no_device_topic(self):
        # Certificates from our own CA whose CN has no kind prefix: one
        # without OU, one whose OU claims "pump" (the OU alone grants nothing).
        with self.env() as env:
            env.make_cert("fridge-1", "/O=dosegate development/CN=fridge-1")
            env.make_cert("fridge-2", "/O=dosegate development/OU=pump/CN=fridge-2")
            made = env.make_acl()
            env.reload_broker()
            for cn in ("fridge-1", "fridge-2"):
                # Precondition: the broker accepts the certificate itself.
                self.assertTrue(env.mqtt_connect(cn), "%s must connect" % cn)
                self.assert_writes_denied(
                    env, cn, ["/pump/%s/telemetry" % cn, "/monitor/%s/vitals" % cn,
                              "/pump/pump-1/telemetry", "/monitor/monitor-1/vitals"],
                    "pump-1", "/pump/pump-1/telemetry")
            # make-acl saw both and said why it gave them nothing.
            self.assertIn("fridge-1.pem: CN 'fridge-1' has no kind prefix", made.stderr)
            self.assertIn("fridge-2.pem: CN 'fridge-2' has no kind prefix", made.stderr)

    # Revocation (issue 8 item 5): certs/make-certs --revoke writes crl.pem,
    # the broker's crlfile. Without the crlfile line in mosquitto.conf.in
    # the revoked pump-2 kept connecting and both tests failed.

    def test_q_revoked_certificate_refused_at_the_handshake(self):
        with self.env() as env:
            root = env.root
            cert2, _ = env.cert("pump-2")
            # Before: pump-2's certificate works, and one pump-2 session stays
            # connected through the revocation.
            self.assertIsNone(tls_refusal(env, "pump-2"))
            connected = env.mosquitto_sub("pump-2", root + "/pump/pump-2/command", timeout=120,
                                          name="sub-pump-2-connected")

            env.revoke("pump-2")
            crl = os.path.join(env.certdir, "crl.pem")
            listed = subprocess.run(["openssl", "crl", "-noout", "-text", "-in", crl],
                                    capture_output=True, text=True).stdout
            self.assertIn("Serial Number: " + serial(cert2), listed)
            self.assertNotIn("Serial Number: " + serial(env.cert("pump-1")[0]), listed)
            self.assertEqual(listed.count("Serial Number:"), 1, listed)
            env.reload_broker()  # mosquitto re-reads crlfile on SIGHUP

            # Refused at the TLS handshake, and the alert says why.
            self.assertIn("CERTIFICATE_REVOKED", tls_refusal(env, "pump-2") or "")
            self.assertFalse(env.mqtt_connect("pump-2"), "revoked pump-2 must get no CONNACK")
            self.assertFalse(env.mqtt_connect("pump-2", max_version=ssl.TLSVersion.TLSv1_2))
            r = env.mosquitto_pub("pump-2", root + "/pump/pump-2/telemetry", b"forged")
            self.assertNotEqual(r.returncode, 0, "mosquitto_pub as revoked pump-2 must fail")
            self.assertIn("certificate verify failed", env.broker.stderr())
            # pump-1 (not revoked) still connects and publishes to the gateway.
            tele1 = root + "/pump/pump-1/telemetry"
            gw = env.mosquitto_sub("gateway", root + "/pump/+/telemetry", count=1, timeout=20)
            self.assertIsNone(tls_refusal(env, "pump-1"))
            self.assert_published(env.mosquitto_pub("pump-1", tele1, b"control"))
            self.assert_first(gw, tele1, b"control")

            # mosquitto checks a certificate only at the handshake: the session
            # pump-2 opened before the revocation still gets its commands...
            command = root + "/pump/pump-2/command"
            self.assert_published(env.mosquitto_pub("gateway", command, b"before-restart"))
            self.assert_first(connected, command, b"before-restart")
            # ... until the broker restarts: then it cannot come back.
            env.restart_broker()
            self.assertNotEqual(connected.wait(30), 0, connected.log())
            self.assertIn("certificate revoked", connected.log())
            self.assertFalse(env.mqtt_connect("pump-2"))
            self.assertTrue(env.mqtt_connect("pump-1"))
            self.assertIsNone(tls_refusal(env, "pump-1"))

    def test_r_simulator_pump_with_revoked_certificate_cannot_connect(self):
        with self.env() as env:
            # Control: the same simulator command connects every device.
            sim = dg.run_sim(env, beds=2, extra=["--no-permit"], name="sim-before")
            sim.wait_for_line("all devices connected", timeout=30, stream="stderr")
            self.assertEqual(sim.terminate(), 0, sim.log())

            env.revoke("pump-2")
            env.reload_broker()
            sim = dg.run_sim(env, beds=2, extra=["--no-permit"], name="sim-revoked")
            self.assertEqual(sim.wait(60), 1, sim.log())
            err = sim.stderr()
            self.assertIn("pump-2 could not connect to %s" % env.url, err)
            for ok in ("pump-1", "monitor-1", "monitor-2"):
                self.assertNotIn("%s could not connect" % ok, err)
            self.assertIn("certificate expired or revoked", err)  # the hint
            self.assertNotIn("all devices connected", err)  # no session started
            self.assertEqual(dg.summary(sim)["bed-2"]["telemetry_sent"], "0", sim.stdout())

    def test_s_expired_crl_refuses_everyone_until_renewed(self):
        # Why crl.pem must be renewed (broker/README.md): a broker that starts
        # with an out-of-date CRL refuses every client, the gateway too;
        # make-certs --crl and a reload let them in again.
        with self.env() as env:
            db = os.path.join(env.certdir, "ca-db", "index.txt")
            cnf = env.path("expired-crl.cnf")
            with open(cnf, "w") as f:
                f.write("[ ca ]\ndefault_ca = x\n[ x ]\ndatabase = %s\ndefault_md = sha256\n"
                        % db)
            crl = os.path.join(env.certdir, "crl.pem")
            r = subprocess.run(["openssl", "ca", "-batch", "-config", cnf, "-gencrl",
                                "-cert", env.ca_file, "-keyfile",
                                os.path.join(env.certdir, "ca.key"),
                                "-crl_lastupdate", "20200101000000Z",
                                "-crl_nextupdate", "20200201000000Z", "-out", crl],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            env.stop_broker()
            with self.assertRaisesRegex(AssertionError, "mosquitto to accept TLS"):
                env.start_broker(timeout=3)
            self.assertTrue(env.broker.running(), env.broker.log())
            for who in ("gateway", "pump-1", "dashboard-1"):
                self.assertIsNotNone(tls_refusal(env, who), who)
            self.assertIn("certificate verify failed", env.broker.stderr())

            r = subprocess.run([harness.MAKE_CERTS, "--crl", env.certdir], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            env.reload_broker()  # waits for the gateway's CONNACK
            for who in ("gateway", "pump-1", "dashboard-1"):
                self.assertIsNone(tls_refusal(env, who), who)


def serial(cert):
    """A certificate's serial number in hex, as openssl prints it."""
    out = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", cert],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().split("=", 1)[1]


def tls_refusal(env, identity):
    """One TLS 1.2 handshake and MQTT CONNECT as identity: None if the
    broker answers CONNACK "accepted", else what went wrong (for a refused
    client certificate, the TLS alert the broker sent, e.g.
    "[SSL: SSLV3_ALERT_CERTIFICATE_REVOKED] ..."). TLS 1.2 because there the
    server's alert arrives during the handshake; in TLS 1.3 the client
    finishes first and usually sees only the closed connection."""
    ctx = env.tls_context(identity, max_version=ssl.TLSVersion.TLSv1_2)
    cid = b"tls-probe"
    body = b"\x00\x04MQTT\x04\x02\x00\x0a" + len(cid).to_bytes(2, "big") + cid
    try:
        with socket.create_connection((env.host, env.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=env.host) as s:
                s.sendall(b"\x10" + bytes([len(body)]) + body)
                reply = s.recv(4)
                if reply == b"\x20\x02\x00\x00":
                    s.sendall(b"\xe0\x00")
                    return None
                return "CONNACK %r" % reply
    except (OSError, ssl.SSLError) as e:
        return "%s: %s" % (type(e).__name__, e)


def _tcp_open(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main()
