"""harness.py — shared helpers for dosegate's integration tests (stdlib only).

Every integration test starts real things: a mosquitto broker from Debian on a
free loopback port, configured from broker/mosquitto.conf.in, with
certificates made by certs/make-certs in a fresh temporary directory and an
ACL made from them by broker/make-acl (as a site does it); then the real
gateway, simulator or the mosquitto_pub/sub clients.

    import harness
    with harness.Env(devices=["pump-1", "monitor-1"]) as env:
        sub = env.mosquitto_sub("gateway", env.root + "/pump/+/telemetry", count=1)
        env.mosquitto_pub("pump-1", env.root + "/pump/pump-1/telemetry", b"x", check=True)
        msgs = sub.wait_messages(1)

Rules the harness keeps so tests stay reliable and parallel-safe:
  * every process runs in its own process group, with its stdout/stderr in a
    file in the temp dir; on exit (also on failure or SIGTERM) each group gets
    SIGTERM, then SIGKILL after a grace period; a child is also killed if the
    test process dies (PR_SET_PDEATHSIG);
  * ports and directories are unique per Env, so tests can run in parallel;
  * there are no fixed sleeps: wait_until() polls, and timeouts only bound a
    failure;
  * on failure the tail of each process's log is printed to stderr, and the
    temp dir is kept if DG_KEEP_TMP=1.

Environment: DG_SOURCE_DIR (default: this file's repo), DG_BUILD_DIR (default
$DG_SOURCE_DIR/build), DG_KEEP_TMP=1 keeps temp dirs, DG_SHOW_LOGS=1 prints
process logs even when nothing failed.
"""

import ctypes
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

SOURCE_DIR = os.path.abspath(
    os.environ.get("DG_SOURCE_DIR")
    or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD_DIR = os.path.abspath(os.environ.get("DG_BUILD_DIR") or os.path.join(SOURCE_DIR, "build"))

MAKE_CERTS = os.path.join(SOURCE_DIR, "certs", "make-certs")
MAKE_ACL = os.path.join(SOURCE_DIR, "broker", "make-acl")
BROKER_TEMPLATE = os.path.join(SOURCE_DIR, "broker", "mosquitto.conf.in")
# The shipped example ACL: make-acl's output for make-certs' default certificates.
BROKER_ACL = os.path.join(SOURCE_DIR, "broker", "acl")

DEFAULT_DEVICES = ("pump-1", "pump-2", "monitor-1", "monitor-2", "dashboard-1")
LOG_TAIL_LINES = 40
SUB_PREFIX = "=MSG= "  # mosquitto_sub -F output marker (no '%', '@' or '\')


# --------------------------------------------------------------- utilities

def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout=10.0, interval=0.02, what=None):
    """Poll pred() until it returns something truthy and return that value.

    timeout (seconds) only bounds a failure: raises AssertionError (so
    unittest reports a failure, not an error) naming `what` when it expires.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s"
                                 % (timeout, what or getattr(pred, "__name__", "condition")))
        time.sleep(interval)


def _tail(path, n=LOG_TAIL_LINES):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def _child_setup():
    """Runs in the child before exec: die with the parent (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort; cleanup still kills us
        pass


# ------------------------------------------------------------------- Proc

class Proc:
    """One started process: its own process group, stdout/stderr in files."""

    def __init__(self, env, name, argv, stdin=None, env_vars=None, cwd=None, input=None):
        self.env = env
        self.name = name
        self.argv = [str(a) for a in argv]
        self.out_path = os.path.join(env.tmp, "log", name + ".out")
        self.err_path = os.path.join(env.tmp, "log", name + ".err")
        environ = dict(os.environ)
        if env_vars:
            environ.update({k: str(v) for k, v in env_vars.items()})
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.popen = subprocess.Popen(
                self.argv, stdout=out, stderr=err,
                stdin=subprocess.PIPE if input is not None else (stdin or subprocess.DEVNULL),
                env=environ, cwd=cwd, start_new_session=True, preexec_fn=_child_setup)
        if input is not None:
            try:
                self.popen.stdin.write(input)
                self.popen.stdin.close()
            except BrokenPipeError:
                pass
        self.pid = self.popen.pid

    def __repr__(self):
        return "<Proc %s pid %d rc %r>" % (self.name, self.pid, self.returncode)

    @property
    def returncode(self):
        """Exit status (negative = killed by that signal), None while running."""
        return self.popen.poll()

    def running(self):
        return self.popen.poll() is None

    def wait(self, timeout=10.0):
        """Wait for exit and return the status; AssertionError on timeout."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s (pid %d) still running after %.1f s\n%s"
                                 % (self.name, self.pid, timeout, self.log())) from None

    def signal(self, sig):
        """Send sig to the process group (no-op once it has been reaped)."""
        if self.popen.returncode is None:
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self):
        """SIGKILL the whole group and reap it (for crash tests)."""
        self.signal(signal.SIGKILL)
        self.popen.wait()
        self._reap_group()
        return self.popen.returncode

    def terminate(self, grace=5.0):
        """SIGTERM the group, SIGKILL it after grace seconds; return the status."""
        if self.popen.poll() is not None:
            self._reap_group()
            return self.popen.returncode
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait()
        self._reap_group()
        return self.popen.returncode

    def _reap_group(self):
        if self.popen.stdin and not self.popen.stdin.closed:
            try:
                self.popen.stdin.close()
            except OSError:
                pass
        # Grandchildren left in the group (the leader is gone, so the group id
        # cannot have been reused while they exist).
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def stdout(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def lines(self):
        """stdout split into lines (only complete lines)."""
        text = self.stdout()
        lines = text.split("\n")
        return lines[:-1]  # the part after the last newline is incomplete (or "")

    def log(self):
        """stdout and stderr, labelled, for a human."""
        return "---- %s stdout\n%s---- %s stderr\n%s" % (self.name, self.stdout(),
                                                        self.name, self.stderr())

    def wait_for_line(self, match, timeout=10.0, stream="stdout"):
        """Wait for a line containing `match` (str) or satisfying it (callable).

        Returns the line. Fails early if the process exits without it."""
        def find():
            text = self.stdout() if stream == "stdout" else self.stderr()
            for line in text.split("\n")[:-1] if text else []:
                if (match(line) if callable(match) else match in line):
                    return line
            if self.popen.poll() is not None:
                raise AssertionError("%s exited (%s) before printing %r\n%s"
                                     % (self.name, self.popen.returncode, match, self.log()))
            return None
        return wait_until(find, timeout, what="%s to print %r" % (self.name, match))

    def tail(self, n=LOG_TAIL_LINES):
        return "---- %s (pid %d, rc %r) %s\n-- stdout:\n%s\n-- stderr:\n%s" % (
            self.name, self.pid, self.popen.returncode, " ".join(self.argv),
            _tail(self.out_path, n), _tail(self.err_path, n))


class Sub(Proc):
    """A mosquitto_sub started by Env.mosquitto_sub(); parses what arrived."""

    def subscribed(self):
        return any(line.startswith("Subscribed (mid") for line in self.lines())

    def granted(self):
        """Reason codes of the SUBACK (0..2 granted QoS; 128/135 refused)."""
        for line in self.lines():
            if line.startswith("Subscribed (mid"):
                return [int(x) for x in line.split(":", 2)[2].split(",")]
        return None

    def messages(self):
        """[(topic, payload bytes)] received so far, in arrival order."""
        out = []
        for line in self.lines():
            if line.startswith(SUB_PREFIX):
                topic, _, hexpayload = line[len(SUB_PREFIX):].rpartition(" ")
                out.append((topic, bytes.fromhex(hexpayload)))
        return out

    def topics(self):
        return [t for t, _ in self.messages()]

    def wait_messages(self, n, timeout=10.0):
        """Wait until at least n messages have arrived; return all of them."""
        def enough():
            msgs = self.messages()
            if len(msgs) >= n:
                return msgs
            if self.popen.poll() is not None:
                # Exited (count reached, -W timeout, or refused): re-read once.
                msgs = self.messages()
                if len(msgs) >= n:
                    return msgs
                raise AssertionError("%s exited (%s) after %d of %d messages\n%s"
                                     % (self.name, self.popen.returncode, len(msgs), n,
                                        self.log()))
            return None
        return wait_until(enough, timeout, what="%d messages on %s" % (n, self.name))


# -------------------------------------------------------------------- Env

class Env:
    """A temp dir, certificates, a running mosquitto, and every process started.

    Env(devices=None, site="test-site", name=None, broker=True)
      devices: device ids for certs/make-certs (default DEFAULT_DEVICES)
      broker:  False = certificates and config only; call start_broker().
    Attributes: tmp, certdir, datadir, conf, acl, port, host, url, site, root.
    The ACL (acl) is made by broker/make-acl from every certificate in
    certdir; make_certs() adds devices to both, and reloads a running broker.
    """

    def __init__(self, devices=None, site="test-site", name=None, broker=True):
        self.devices = list(devices) if devices is not None else list(DEFAULT_DEVICES)
        self.site = site
        self.root = "dosegate/v1/" + site
        self.host = "127.0.0.1"
        self.name = name or os.path.splitext(os.path.basename(sys.argv[0] or "dg"))[0] or "dg"
        self.want_broker = broker
        self.procs = []
        self.broker = None
        self.port = None
        self.tmp = None
        self._names = {}
        self._closed = False
        self._failed = False
        self._old_sigterm = None

    # -- context manager
    def __enter__(self):
        try:
            self.open()
        except BaseException:
            self.close(failed=True)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self._exc = None
        if exc_type is not None:
            self._exc = "".join(traceback.format_exception(exc_type, exc, tb)[-3:])
        self.close(failed=exc_type is not None)
        return False

    def open(self):
        self.tmp = tempfile.mkdtemp(prefix="dg-%s-" % self.name)
        os.makedirs(os.path.join(self.tmp, "log"))
        # SIGTERM (e.g. from ctest) unwinds through __exit__, so cleanup runs.
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            self._old_sigterm = signal.signal(signal.SIGTERM, _sigterm_to_exit)
        self.certdir = os.path.join(self.tmp, "certs")
        self.datadir = os.path.join(self.tmp, "broker-data")
        os.makedirs(self.datadir)
        self.acl = os.path.join(self.tmp, "acl")
        self.make_certs(*self.devices)  # and the ACL
        self.conf = os.path.join(self.tmp, "mosquitto.conf")
        if self.want_broker:
            self.start_broker()

    def close(self, failed=False):
        """Stop every process (SIGTERM, then SIGKILL), report, remove tmp."""
        if self._closed:
            return
        self._closed = True
        failed = failed or self._failed
        live = [p for p in self.procs if p.popen.poll() is None]
        for p in live:
            p.signal(signal.SIGTERM)
        deadline = time.monotonic() + 5.0
        for p in live:
            try:
                p.popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in self.procs:
            p.terminate(grace=0.0) if p.popen.poll() is None else p._reap_group()
        if self.tmp and (failed or os.environ.get("DG_SHOW_LOGS") == "1"):
            self.dump_logs()
        if self._old_sigterm is not None:
            signal.signal(signal.SIGTERM, self._old_sigterm)
        if self.tmp:
            if os.environ.get("DG_KEEP_TMP") == "1":
                sys.stderr.write("harness: kept %s\n" % self.tmp)
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)

    def fail(self):
        """Mark this Env failed (logs are printed on close) without raising."""
        self._failed = True

    def dump_logs(self, n=LOG_TAIL_LINES):
        why = getattr(self, "_exc", None)
        if why:
            sys.stderr.write("==== harness: the test failed with:\n%s" % why)
        sys.stderr.write("==== harness: logs of %s (last %d lines each)\n" % (self.tmp, n))
        for p in self.procs:
            sys.stderr.write(p.tail(n) + "\n")
        sys.stderr.flush()

    # -- paths
    def path(self, *parts):
        """A path inside this Env's temp dir."""
        return os.path.join(self.tmp, *parts)

    def cert(self, identity):
        """(cert, key) paths of identity (e.g. "pump-1", "gateway", "expired")."""
        return (os.path.join(self.certdir, identity + ".pem"),
                os.path.join(self.certdir, identity + ".key"))

    @property
    def ca_file(self):
        return os.path.join(self.certdir, "ca.pem")

    @property
    def url(self):
        return "ssl://%s:%d" % (self.host, self.port)

    @staticmethod
    def bin(name):
        """Path of a built binary (dosegate, dosegate-sim, dosegate-cli, ...)."""
        for sub in ("", "gateway", "sim", "tests", "bin"):
            p = os.path.join(BUILD_DIR, sub, name)
            if os.path.isfile(p) and os.access(p, os.X_OK):
                return p
        for dirpath, _, files in os.walk(BUILD_DIR):
            if name in files and os.access(os.path.join(dirpath, name), os.X_OK):
                return os.path.join(dirpath, name)
        raise FileNotFoundError("binary %r not found under DG_BUILD_DIR=%s" % (name, BUILD_DIR))

    def make_certs(self, *ids, acl=True):
        """Run certs/make-certs into certdir (adds ids; keeps what exists).

        With acl (default) the ACL is then made again from every certificate
        (make_acl) and a running broker reloads it (reload_broker), as a site
        adds a device; acl=False leaves the ACL as it was."""
        r = subprocess.run([MAKE_CERTS, self.certdir] + list(ids), capture_output=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError("make-certs failed (%d): %s" % (r.returncode,
                                                              r.stderr.decode(errors="replace")))
        for i in ids:
            if i not in self.devices:
                self.devices.append(i)
        if acl:
            self.make_acl()
            if self.broker is not None and self.broker.running():
                self.reload_broker()

    def revoke(self, *ids):
        """Revoke the certificates of ids with certs/make-certs --revoke
        (which rewrites certdir/crl.pem); return its CompletedProcess. A
        running broker must then reload (reload_broker: refuses them at
        later handshakes) or restart (restart_broker: also drops clients
        connected with them)."""
        r = subprocess.run([MAKE_CERTS, "--revoke", self.certdir] + list(ids),
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("make-certs --revoke failed (%d): %s" % (r.returncode, r.stderr))
        return r

    def make_acl(self):
        """Write self.acl with broker/make-acl from certdir; return its
        CompletedProcess (stderr holds make-acl's warnings, as text)."""
        r = subprocess.run([MAKE_ACL, self.certdir, self.acl], capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError("make-acl failed (%d): %s" % (r.returncode, r.stderr))
        return r

    def make_cert(self, name, subject, ca="ca"):
        """A client certificate name.pem/name.key in certdir with this
        subject (e.g. "/O=x/OU=pump/CN=fridge-1"), signed by ca (a name in
        certdir), made with openssl directly: for subjects make-certs refuses
        to make. Does not touch the ACL. Returns (cert, key)."""
        cnf = self.path("client-cert.cnf")
        with open(cnf, "w") as f:
            f.write("[ req ]\ndistinguished_name = dn\n[ dn ]\n[ client ]\n"
                    "basicConstraints = critical, CA:false\n"
                    "keyUsage = critical, digitalSignature\n"
                    "extendedKeyUsage = clientAuth\n")
        cert, key = self.cert(name)
        r = subprocess.run(["openssl", "req", "-x509", "-new", "-config", cnf,
                            "-extensions", "client", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-noenc", "-sha256", "-days", "30",
                            "-subj", subject, "-CA", os.path.join(self.certdir, ca + ".pem"),
                            "-CAkey", os.path.join(self.certdir, ca + ".key"),
                            "-keyout", key, "-out", cert], capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            raise RuntimeError("openssl req failed (%d): %s" % (r.returncode, r.stderr))
        return cert, key

    # -- processes
    def start(self, name, argv, **kw):
        """Start argv as a tracked Proc (own process group, logs in tmp/log/).

        kw: env_vars (dict added to the environment), cwd, stdin, input (bytes
        written to stdin, then closed). A repeated name gets a .2, .3 suffix.
        """
        return self._track(Proc, name, argv, **kw)

    def _track(self, cls, name, argv, **kw):
        n = self._names.get(name, 0) + 1
        self._names[name] = n
        proc = cls(self, name if n == 1 else "%s.%d" % (name, n), argv, **kw)
        self.procs.append(proc)
        return proc

    # -- broker
    def write_broker_config(self):
        """Write conf from broker/mosquitto.conf.in for the current port."""
        with open(BROKER_TEMPLATE) as f:
            text = f.read()
        for key, value in (("@PORT@", str(self.port)), ("@CERTDIR@", self.certdir),
                           ("@ACLFILE@", self.acl), ("@DATADIR@", self.datadir)):
            text = text.replace(key, value)
        # As root, mosquitto would switch to user "mosquitto" and could then
        # not read our 0600 keys; as any other user this line has no effect.
        text += "\n# added by harness.py\nuser %s\n" % pwd.getpwuid(os.geteuid()).pw_name
        with open(self.conf, "w") as f:
            f.write(text)

    def start_broker(self, timeout=15.0):
        """Start mosquitto (same port, data dir and config on a restart) and
        wait until it accepts an MQTT connection over TLS with the gateway
        certificate. The first start retries on a new port if the chosen one
        was taken meanwhile."""
        assert self.broker is None or not self.broker.running(), "broker already running"
        attempts = 5 if self.port is None else 1
        for attempt in range(attempts):
            if self.port is None or attempt > 0:
                self.port = free_port()
            self.write_broker_config()
            self.broker = self._track(Proc, "mosquitto", ["mosquitto", "-c", self.conf])

            def ready():
                if not self.broker.running():
                    return "exited"
                return "ok" if self.mqtt_connect("gateway", timeout=2.0) else None
            state = wait_until(ready, timeout, interval=0.02, what="mosquitto to accept TLS")
            if state == "ok":
                return self.broker
            if attempt + 1 < attempts and "Address already in use" in self.broker.stderr():
                continue
            raise RuntimeError("mosquitto exited (%s)\n%s" % (self.broker.returncode,
                                                             self.broker.log()))
        raise RuntimeError("mosquitto could not get a port")

    def stop_broker(self, sig=signal.SIGTERM, timeout=10.0):
        """Stop mosquitto: SIGTERM (saves persistence) or e.g. SIGKILL."""
        if self.broker is None or not self.broker.running():
            return
        if sig == signal.SIGKILL:
            self.broker.kill()
        else:
            self.broker.signal(sig)
            self.broker.wait(timeout)

    def restart_broker(self, timeout=15.0):
        """Stop mosquitto (SIGTERM: it saves its persistence) and start it
        again on the same port, data dir and config; every client is
        disconnected and must reconnect (a new TLS handshake)."""
        self.stop_broker(timeout=timeout)
        return self.start_broker(timeout=timeout)

    def reload_broker(self, timeout=15.0):
        """SIGHUP mosquitto, which re-reads its config, the ACL file
        (self.acl) and the CRL (certdir/crl.pem), and return once the new
        ACL is in force.

        mosquitto's single loop thread logs "Reloading config." and then
        reloads before it serves any client again, so a CONNACK to a
        connection opened after that line is proof the reload is done."""
        mark = "Reloading config."
        before = self.broker.stderr().count(mark)
        self.broker.signal(signal.SIGHUP)

        def logged():
            if not self.broker.running():
                raise AssertionError("mosquitto exited on SIGHUP\n" + self.broker.log())
            return self.broker.stderr().count(mark) > before
        wait_until(logged, timeout, what="mosquitto to log %r" % mark)
        wait_until(lambda: self.mqtt_connect("gateway", timeout=2.0), timeout,
                   what="mosquitto to serve clients after the reload")

    # -- raw TLS / MQTT probes
    def tls_context(self, identity, ca=None, min_version=None, max_version=None,
                    ciphers=None):
        """An ssl.SSLContext that trusts ca (default ca.pem) and presents
        identity's certificate (None = no client certificate)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(ca or self.ca_file)
        if identity:
            ctx.load_cert_chain(*self.cert(identity))
        if ciphers:
            ctx.set_ciphers(ciphers)
        if min_version:
            ctx.minimum_version = min_version
        if max_version:
            ctx.maximum_version = max_version
        return ctx

    def mqtt_connect(self, identity, tls=True, timeout=5.0, client_id=None, **tls_kw):
        """Try one MQTT 3.1.1 CONNECT (TLS with identity's certificate, or
        plaintext if tls=False). True only if the broker answers CONNACK
        "accepted"; False if it refuses, closes or fails the handshake."""
        cid = (client_id or "harness-probe-%d-%d" % (os.getpid(), time.monotonic_ns())).encode()
        var = b"\x00\x04MQTT\x04\x02\x00\x0a"  # protocol 4, clean session, keepalive 10
        body = var + len(cid).to_bytes(2, "big") + cid
        packet = b"\x10" + _remaining_length(len(body)) + body
        try:
            raw = socket.create_connection((self.host, self.port), timeout=timeout)
        except OSError:
            return False
        sock = raw
        try:
            if tls:
                sock = self.tls_context(identity, **tls_kw).wrap_socket(
                    raw, server_hostname=self.host)
            sock.sendall(packet)
            reply = b""
            while len(reply) < 4:
                chunk = sock.recv(4 - len(reply))
                if not chunk:
                    return False
                reply += chunk
            ok = reply == b"\x20\x02\x00\x00"
            if ok:
                sock.sendall(b"\xe0\x00")  # DISCONNECT
            return ok
        except (OSError, ssl.SSLError, ValueError):
            return False
        finally:
            for s in (sock, raw):
                try:
                    s.close()
                except OSError:
                    pass

    # -- mosquitto_pub / mosquitto_sub
    def client_args(self, identity, tls=True):
        """-h/-p and TLS arguments for mosquitto_pub/sub as identity (None =
        no client certificate; tls=False = plaintext)."""
        args = ["-h", self.host, "-p", str(self.port)]
        if tls:
            args += ["--cafile", self.ca_file]
            if identity:
                cert, key = self.cert(identity)
                args += ["--cert", cert, "--key", key]
        return args

    def mosquitto_pub(self, identity, topic, payload=b"", qos=1, extra=(), retain=False,
                      tls=True, version=5, timeout=15.0, check=False):
        """Publish one message with mosquitto_pub and wait for it to exit.

        payload: bytes or str (empty = zero-length message). Returns
        subprocess.CompletedProcess (returncode, stdout, stderr as text);
        check=True raises AssertionError unless it exited 0. mosquitto_pub
        exits 0 after the QoS 1 PUBACK, even if the ACL denied the publish
        (MQTT 5 prints "Publish 1 failed: Not authorized.")."""
        if isinstance(payload, str):
            payload = payload.encode()
        argv = (["mosquitto_pub"] + self.client_args(identity, tls)
                + ["-V", str(version), "-q", str(qos), "-t", topic, "-i", _client_id("pub")])
        if retain:
            argv.append("-r")
        argv += ["-s"] if payload else ["-n"]
        argv += list(extra)
        r = subprocess.run(argv, input=payload, capture_output=True, timeout=timeout,
                           preexec_fn=_child_setup)
        r = subprocess.CompletedProcess(argv, r.returncode, r.stdout.decode(errors="replace"),
                                        r.stderr.decode(errors="replace"))
        if check and r.returncode != 0:
            raise AssertionError("mosquitto_pub as %s to %s exited %d: %s%s"
                                 % (identity, topic, r.returncode, r.stdout, r.stderr))
        return r

    def mosquitto_sub(self, identity, topic, count=None, timeout=10.0, qos=1, extra=(),
                      tls=True, version=5, name=None, wait_subscribed=True):
        """Start mosquitto_sub on topic (str or list of str) and return a Sub.

        It exits by itself after `count` messages (None = no limit) or after
        `timeout` seconds (-W; exit 27). With wait_subscribed (default) this
        returns only once the broker has acknowledged the subscription, so a
        publish made afterwards is seen. Read with sub.wait_messages(n),
        sub.messages(), sub.wait()."""
        topics = [topic] if isinstance(topic, str) else list(topic)
        argv = (["stdbuf", "-oL", "mosquitto_sub"] + self.client_args(identity, tls)
                + ["-V", str(version), "-q", str(qos), "-d", "-i", _client_id("sub"),
                   "-F", SUB_PREFIX + "%t %x"])
        for t in topics:
            argv += ["-t", t]
        if count is not None:
            argv += ["-C", str(count)]
        if timeout:
            argv += ["-W", str(max(1, int(round(timeout))))]
        argv += list(extra)
        sub = self._track(Sub, name or "sub-%s" % (identity or "anonymous"), argv)
        if wait_subscribed:
            def subscribed():
                if sub.subscribed():
                    return True
                if not sub.running():
                    raise AssertionError("%s exited (%s) before subscribing\n%s"
                                         % (sub.name, sub.returncode, sub.log()))
                return False
            wait_until(subscribed, min(timeout or 10.0, 10.0),
                       what="%s to be subscribed" % sub.name)
        return sub


def _client_id(kind):
    return "h%s-%d-%d" % (kind, os.getpid(), time.monotonic_ns() % 10**12)


def _remaining_length(n):
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _sigterm_to_exit(signum, frame):
    raise SystemExit(128 + signum)
