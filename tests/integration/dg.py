"""dg.py — dosegate-specific helpers for integration tests (stdlib only).

On top of harness.Env: write a gateway config for the Env's broker and
certificates, start the real gateway, the real simulator and the decoding
subscriber (dosegate-cli watch --json), and hand-encode protobuf payloads for
bad-input tests (so the tests do not trust the project's own encoder).
"""

import json
import os
import struct
import time

import harness

DRUG_LIBRARY = os.path.join(harness.SOURCE_DIR, "gateway", "etc", "drug-library.yaml")


SIM_SPEED = 240  # run_sim's default --speed; the gateway is told device clocks run this fast


def write_gateway_config(env, name="dosegate.yaml", gateway_id="gw-test", audit=None,
                         sections="", **extra):
    """Write a gateway config for env's broker; return its path. extra: more
    keys under `gateway:` as key=value (e.g. log_level="debug"). By default
    device_time_scale is SIM_SPEED (the simulator's clock runs that fast) and
    permits are on (the simulated pumps pause themselves without them).
    audit: keys of the `audit:` section as a dict, used as given (e.g.
    {"key_file": env.certdir + "/audit.key", "checkpoint_every": 5}, or
    {"unsigned": "true"} for a test that means to run unsigned); None (the
    default) signs with the key certs/make-certs made: {"key_file":
    env.certdir + "/audit.key"}, since a config without a key is refused.
    sections: YAML text of further top-level sections, appended as is."""
    extra.setdefault("device_time_scale", SIM_SPEED)
    extra.setdefault("permit_to_infuse", "true")  # the simulated pumps require permits
    gw_lines = "".join("  %s: %s\n" % (k, v) for k, v in extra.items())
    text = (
        "gateway:\n"
        "  id: %s\n"
        "  site: %s\n"
        "  status_interval_s: 5\n"
        "%s"
        "device_link:\n"
        "  url: %s\n"
        "  ca_file: %s\n"
        "  cert_file: %s\n"
        "  key_file: %s\n"
        "  keepalive_s: 5\n"
        "drug_library: %s\n"
    ) % (gateway_id, env.site, gw_lines, env.url, env.ca_file, env.cert("gateway")[0],
         env.cert("gateway")[1], DRUG_LIBRARY)
    if audit is None:
        audit = {"key_file": os.path.join(env.certdir, "audit.key")}
    if audit:
        text += "audit:\n" + "".join("  %s: %s\n" % (k, v) for k, v in audit.items())
    text += sections  # further top-level sections as YAML text (e.g. "devices:\n ...")
    path = env.path(name)
    with open(path, "w") as f:
        f.write(text)
    return path


def start_gateway(env, config=None, name="gateway", wait_connected=True, **kw):
    """Start dosegate with config (default: write_gateway_config(env)); wait
    until both links are connected and subscribed."""
    config = config or write_gateway_config(env, **kw)
    # DG_WRAP_GATEWAY runs the gateway under a tool, e.g. valgrind
    # (scripts/valgrind); it is slower then, so waits get longer.
    wrap = os.environ.get("DG_WRAP_GATEWAY", "").split()
    slow = 10 if wrap else 1
    gw = env.start(name, wrap + [env.bin("dosegate"), "--config", config, "--log-level", "debug"])
    if wait_connected:
        gw.wait_for_line(lambda l: "link=device" in l and "subscribed" in l and "vitals" in l,
                         timeout=20 * slow, stream="stderr")
        gw.wait_for_line(lambda l: "link=clinic" in l and "subscribed" in l, timeout=20 * slow,
                         stream="stderr")
    return gw


def start_watch(env, identity="dashboard-1", filters=None, name=None, client_id=None):
    """dosegate-cli watch --json as identity; returns the Proc once it has
    printed its subscription line. Parse with messages(proc)."""
    cert, key = env.cert(identity)
    argv = [env.bin("dosegate-cli"), "watch", "--json", "--url", env.url, "--ca", env.ca_file,
            "--cert", cert, "--key", key, "--root", env.root]
    if client_id:
        argv += ["--client-id", client_id]
    for f in filters or [env.root + "/alert/+", env.root + "/alarms/+"]:
        argv += ["--filter", f]
    w = env.start(name or "watch-" + identity, argv)
    w.wait_for_line("subscribed", timeout=20, stream="stderr")
    return w


def messages(proc, type_=None):
    """JSON objects printed by a dosegate-cli watch --json, optionally of one type."""
    out = []
    for line in proc.lines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        obj = json.loads(line)
        if type_ is None or obj.get("type") == type_:
            out.append(obj)
    return out


def run_sim(env, scenario="normal", beds=1, speed=SIM_SPEED, pre_min=1, session_min=40, post_min=2,
            extra=(), name="sim"):
    """Start dosegate-sim for `beds` beds; returns the Proc (wait() for it)."""
    argv = [env.bin("dosegate-sim"), "--url", env.url, "--certs", env.certdir,
            "--site", env.site, "--beds", beds, "--scenario", scenario, "--speed", speed,
            "--pre-min", pre_min, "--session-min", session_min, "--post-min", post_min]
    argv += list(extra)
    return env.start(name, argv)


def summary(sim_proc):
    """{bed_id: {key: value}} from the simulator's `summary` lines."""
    out = {}
    for line in sim_proc.lines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "summary":
            kv = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
            out[parts[1]] = kv
    return out


def device_summary(sim_proc):
    """{device_id: {key: value}} from the simulator's `device` lines (one per
    extra device: `device <bed> <device> kind=... ...`)."""
    out = {}
    for line in sim_proc.lines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "device":
            kv = dict(p.split("=", 1) for p in parts[3:] if "=" in p)
            kv["bed"] = parts[1]
            out[parts[2]] = kv
    return out


def gateway_counter(gw_proc, key):
    """A counter from the gateway's stop summary log lines (msg="summary" and
    msg="devices", after it exited)."""
    for line in gw_proc.stderr().splitlines():
        if 'msg="summary"' in line or 'msg="devices"' in line:
            for p in line.split():
                if p.startswith(key + "="):
                    return int(p.split("=", 1)[1])
    raise AssertionError("no %s in the gateway summary\n%s" % (key, gw_proc.log()))


# ------------------------------------------------------------ protobuf by hand

def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_varint(field, value):
    return _varint(field << 3) + _varint(value)


def pb_bytes(field, value):
    if isinstance(value, str):
        value = value.encode()
    return _varint((field << 3) | 2) + _varint(len(value)) + value


def pb_double(field, value):
    return _varint((field << 3) | 1) + struct.pack("<d", value)


def telemetry(pump_id, seq=1, bed_id="bed-1", rate_ml_per_h=52.5, weight_kg=70.0, state=3,
              device_time_ms=None, session="s-test", conc=1.0, incarnation=7,
              permit_required=False):
    """A PumpTelemetry (schema 1) encoded field by field (proto/dosegate.proto).
    device_time_ms defaults to now (a right clock); incarnation is the boot id
    (0 leaves the field out)."""
    if device_time_ms is None:
        device_time_ms = int(time.time() * 1000)
    program = (pb_bytes(1, "ketamine-trd") + pb_bytes(2, "infusion-clinic") +
               pb_double(3, conc) + pb_double(4, weight_kg) + pb_double(5, 0.5) +
               pb_double(6, 40.0) + pb_double(7, rate_ml_per_h))
    return (pb_varint(1, 1) + pb_bytes(2, pump_id) + pb_varint(3, seq) +
            pb_varint(4, device_time_ms) + pb_bytes(5, bed_id) + pb_bytes(6, "pt-test") +
            pb_bytes(7, session) + pb_varint(8, state) + pb_bytes(9, program) +
            pb_double(10, rate_ml_per_h) +
            (pb_varint(17, 1) if permit_required else b"") +
            (pb_varint(18, incarnation) if incarnation else b""))


def alert_ack(alert_id, user_id, reset=False, ack_id="", time_ms=None):
    """An AlertAck (schema 1) encoded field by field (proto/dosegate.proto).
    time_ms defaults to now; ack_id "" leaves it out."""
    if time_ms is None:
        time_ms = int(time.time() * 1000)
    return (pb_varint(1, 1) + pb_bytes(2, alert_id) + pb_bytes(3, user_id) +
            (pb_varint(4, 1) if reset else b"") + pb_varint(5, time_ms) +
            (pb_bytes(6, ack_id) if ack_id else b""))
