"""test_pbx.py : PBX links (docs/pbx.md) against a fake Asterisk manager and a fake FreeSWITCH event
socket that speak the real protocols: calls made from what they report, login failures and the
backoff, resync after a restart (a call that vanished is `lost`, one that appeared is created), a
replay not applied twice, unknown, malformed and over-long frames, and `callogctl pbx status`."""
import os
import re
import signal
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from fakepbx import FakeAMI, FakeESL  # noqa: E402
from harness import CALLOGD, Daemon, check, eq, run, test  # noqa: E402


def ami_conf(port, secret="s3cret", name="ast1", extra=""):
    return ('pbx = ( { name = "%s"; type = "ami"; host = "127.0.0.1"; port = %d; username = "callogd"; '
            'secret = "%s"; %s } );\n' % (name, port, secret, extra))


def esl_conf(port, password="ClueCon", name="fs1"):
    return 'pbx = ( { name = "%s"; type = "esl"; host = "localhost"; port = %d; password = "%s"; } );\n' % (
        name, port, password)


def start(conf, **overrides):
    d = Daemon(**overrides)
    d.write_config(conf)
    d.start()
    return d


def metric(d, name, pbx):
    status, text, _ = d.get("/metrics", auth=False)
    eq(status, 200)
    m = re.search(r'^%s\{pbx="%s"\} (\d+)$' % (name, pbx), text, re.M)
    return int(m.group(1)) if m else None


def wait_call(d, call_id, pred, timeout=10.0):
    deadline = time.time() + timeout
    body = None
    while time.time() < deadline:
        status, body, _ = d.get("/api/calls/" + call_id)
        if status == 200 and pred(body):
            return body
        time.sleep(0.05)
    raise AssertionError("call %s never became as expected: %r" % (call_id, body))


def wait_metric(d, name, pbx, pred, timeout=10.0):
    deadline = time.time() + timeout
    v = None
    while time.time() < deadline:
        v = metric(d, name, pbx)
        if v is not None and pred(v):
            return v
        time.sleep(0.05)
    raise AssertionError("%s{pbx=%s} stayed %r" % (name, pbx, v))


def synced(ami, n=1):
    ami.wait(lambda: ami.count(lambda a: a.get("Action") == "QueueStatus") >= n, what="resync %d" % n)


CALLER = dict(Channel="PJSIP/trunk-00000010", ChannelState="6", ChannelStateDesc="Up", CallerIDNum="0612345678",
              CallerIDName="Jane Roe", ConnectedLineNum="<unknown>", ConnectedLineName="<unknown>", Language="en",
              AccountCode="", Context="queues", Exten="s", Priority="4")


def caller(uid, **more):
    f = dict(CALLER, Uniqueid=uid, Linkedid=uid)
    f.update(more)
    return f


def agent_leg(uid, link, chan="PJSIP/1001-00000011"):
    return dict(Channel=chan, ChannelState="6", ChannelStateDesc="Up", CallerIDNum="1001", CallerIDName="Alice",
                ConnectedLineNum="0612345678", ConnectedLineName="Jane Roe", Language="en", AccountCode="",
                Context="agents", Exten="", Priority="1", Uniqueid=uid, Linkedid=link)


def queue_call(ami, uid, leg, member="alice", iface="PJSIP/1001", answer=True, vars=()):
    ami.event("Newchannel", **dict(caller(uid), ChannelState="0", ChannelStateDesc="Down", Exten="5551000",
                                   Context="from-trunk"))
    join = caller(uid)
    for i, v in enumerate(vars):
        join["ChanVariable%s" % ("" if i == 0 else "(x%d)" % i)] = v
    ami.event("QueueCallerJoin", Privilege="agent,all", **join, Queue="sales", Position="1", Count="1")
    dest = dict(DestChannel=iface + "-00000011", DestChannelState="5", DestUniqueid=leg, DestLinkedid=uid)
    ami.event("AgentCalled", Privilege="agent,all", **caller(uid), **dest, Queue="sales", Interface=iface,
              MemberName=member)
    if answer:
        ami.event("AgentConnect", Privilege="agent,all", **caller(uid), **dest, Queue="sales", Interface=iface,
                  MemberName=member, HoldTime="3", RingTime="3")


@test
def ami_queue_call_and_status():
    ami = FakeAMI()
    d = start(ami_conf(ami.port))
    try:
        ami.wait_logins(1)
        synced(ami)
        queue_call(ami, "1795000000.1", "1795000000.2", vars=("ACCOUNT=A-17",))
        ami.event("Hold", Privilege="call,all", **agent_leg("1795000000.2", "1795000000.1"))
        ami.event("Unhold", Privilege="call,all", **agent_leg("1795000000.2", "1795000000.1"))
        ami.event("VarSet", Privilege="dialplan,all", Variable="X", Value="1")  # unknown: skipped
        ami.send_raw(b"Privilege: call,all\r\nthis line has no colon\r\n\r\n")  # malformed: skipped
        ami.event("HangupRequest", Privilege="call,all", **caller("1795000000.1"))
        ami.event("Hangup", Privilege="call,all", **agent_leg("1795000000.2", "1795000000.1"), Cause="16")
        ami.event("Hangup", Privilege="call,all", **caller("1795000000.1"), Cause="16")
        c = wait_call(d, "ast1:1795000000.1", lambda c: c["ended_at"] is not None)
        eq(c["outcome"], "answered")
        eq(c["agent"], "alice")
        eq(c["queue"], "sales")
        eq(c["from"], "+10612345678" if c["from"].startswith("+1") else c["from"])
        eq(c["to"], "+15551000" if c["to"].startswith("+") else "5551000")
        eq(c["end_reason"], "completed")
        eq(c["data"], {"ACCOUNT": "A-17"})
        types = [e["type"] for e in c["events"]]
        eq(types, ["call.offered", "call.queued", "call.ringing", "call.answered", "call.held", "call.resumed",
                   "call.ended"])
        eq(c["events"][0]["id"], "ast1:1795000000.1:offered")
        eq(metric(d, "callogd_pbx_up", "ast1"), 1)
        check(metric(d, "callogd_pbx_frames_unknown_total", "ast1") >= 1, "unknown counted")
        check(metric(d, "callogd_pbx_frames_malformed_total", "ast1") >= 1, "malformed counted")
        eq(metric(d, "callogd_pbx_events_rejected_total", "ast1"), 0)
        out = d.ctl("pbx", "status").stdout
        check(re.search(r"^ast1\s+ami\s+up\s", out, re.M), out)
        check("127.0.0.1:%d" % ami.port in out, out)
        log = d.read_log()
        check('msg="pbx link up" pbx=ast1' in log, log[-2000:])
    finally:
        d.cleanup()
        ami.close()


@test
def ami_wrong_secret_backs_off():
    ami = FakeAMI(secret="right")
    d = start(ami_conf(ami.port, secret="wrong"))
    try:
        ami.wait(lambda: len(ami.accepts) >= 4, timeout=15, what="4 attempts")
        gaps = [b - a for a, b in zip(ami.accepts, ami.accepts[1:4])]
        # 1 s, 2 s, 4 s, each plus up to a tenth (and the time to be refused).
        for gap, want in zip(gaps, (1.0, 2.0, 4.0)):
            check(want - 0.05 <= gap <= want * 1.1 + 0.5, "backoff gaps %r" % gaps)
        eq(ami.logins, 0)
        eq(metric(d, "callogd_pbx_up", "ast1"), 0)
        check(metric(d, "callogd_pbx_reconnects_total", "ast1") >= 3)
        check("login refused: Authentication failed" in d.read_log(), d.read_log()[-2000:])
        out = d.ctl("pbx", "status").stdout
        check(re.search(r"^ast1\s+ami\s+(down|connecting|login)\s", out, re.M), out)
    finally:
        d.cleanup()
        ami.close()


@test
def ami_restart_resync_lost_and_created_and_replay():
    ami = FakeAMI()
    d = start(ami_conf(ami.port))
    try:
        ami.wait_logins(1)
        synced(ami)
        # Two calls: one answered by alice, one waiting.
        queue_call(ami, "1795000001.1", "1795000001.2")
        queue_call(ami, "1795000002.1", "1795000002.2", answer=False)
        wait_call(d, "ast1:1795000002.1", lambda c: len(c["events"]) >= 3)
        acked = wait_metric(d, "callogd_pbx_events_acked_total", "ast1", lambda v: v >= 7)
        # callogd restarts (events committed survive); meanwhile call 2 ended and call 3 appeared.
        d.stop()
        ami.channels = [caller("1795000001.1"), agent_leg("1795000001.2", "1795000001.1"),
                        caller("1795000003.1", CallerIDNum="0698765432", Exten="5551000")]
        ami.members = [dict(Queue="sales", Name="alice", Location="PJSIP/1001", StateInterface="PJSIP/1001",
                            Membership="dynamic", Penalty="0", CallsTaken="1", Status="2", Paused="1",
                            PausedReason="lunch")]
        ami.entries = [dict(Queue="sales", Position="1", Channel="PJSIP/trunk-00000031", Uniqueid="1795000003.1",
                            CallerIDNum="0698765432", Wait="4")]
        ami.drop()
        d.start()
        ami.wait_logins(2)
        synced(ami, 2)
        c2 = wait_call(d, "ast1:1795000002.1", lambda c: c["ended_at"] is not None)
        eq(c2["end_reason"], "lost")
        eq(c2["events"][-1]["id"], "ast1:1795000002.1:ended")
        c3 = wait_call(d, "ast1:1795000003.1", lambda c: len(c["events"]) >= 2)
        eq(c3["queue"], "sales")
        eq([e["type"] for e in c3["events"]], ["call.offered", "call.queued"])
        c1 = wait_call(d, "ast1:1795000001.1", lambda c: True)
        check(c1["ended_at"] is None, "a call still up is not lost")
        # A replay of call 1's start (a PBX resending): duplicates, applied once.
        queue_call(ami, "1795000001.1", "1795000001.2")
        wait_metric(d, "callogd_pbx_events_duplicate_total", "ast1", lambda v: v >= 3)  # queued, ringing, answered
        # The call still ends on its caller's hang-up after the restart.
        ami.event("HangupRequest", Privilege="call,all", **agent_leg("1795000001.2", "1795000001.1"))
        ami.event("Hangup", Privilege="call,all", **caller("1795000001.1"), Cause="16")
        c1 = wait_call(d, "ast1:1795000001.1", lambda c: c["ended_at"] is not None)
        eq(c1["end_reason"], "completed")
        eq([e["type"] for e in c1["events"]].count("call.offered"), 1)
        check(acked > 0)
        # FullyBooted (Asterisk restarted under us) starts a resync on the same connection.
        n = ami.count(lambda a: a.get("Action") == "CoreShowChannels")
        ami.event("FullyBooted", Privilege="system,all", Uptime="1", LastReload="1", Status="Fully Booted")
        ami.wait(lambda: ami.count(lambda a: a.get("Action") == "CoreShowChannels") > n, what="FullyBooted resync")
        # The resync set alice's state from QueueStatus: paused for lunch.
        status, agents, _ = d.get("/api/agents")
        eq(status, 200, agents)
        alice = [a for a in agents["agents"] if a["id"] == "alice"]
        check(alice and alice[0]["state"] == "not_ready" and alice[0]["reason"] == "lunch", agents)
    finally:
        d.cleanup()
        ami.close()


@test
def ami_overlong_frame_drops_the_link():
    ami = FakeAMI()
    d = start(ami_conf(ami.port), events__max_line=4096)
    try:
        ami.wait_logins(1)
        synced(ami)
        ami.send_raw(b"Event: VarSet\r\nValue: " + b"x" * 8000 + b"\r\n\r\n")
        ami.wait_logins(2, timeout=10)  # reconnected after the backoff
        check(metric(d, "callogd_pbx_overlong_total", "ast1") >= 1)
        check("unframeable input: frame longer than 4096 bytes" in d.read_log(), d.read_log()[-2000:])
    finally:
        d.cleanup()
        ami.close()


@test
def ami_silent_link_is_probed():
    ami = FakeAMI()
    d = start(ami_conf(ami.port))
    try:
        ami.wait_logins(1)
        ami.wait(lambda: ami.count(lambda a: a.get("Action") == "Ping") >= 1, timeout=15, what="a Ping")
    finally:
        d.cleanup()
        ami.close()


@test
def esl_queue_call_and_resync():
    esl = FakeESL()
    d = start(esl_conf(esl.port))
    try:
        esl.wait_logins(1)
        esl.wait(lambda: esl.count(lambda c: c == "api callcenter_config agent list") >= 1, what="resync")
        check(any(c.startswith("event plain ") and "callcenter::info" in c for c in esl.received), esl.received)
        u = "b77c49c2-a732-11df-9438-e7d9456f8886"
        leg = "7acfecd3-ab50-470b-8875-d37aba0429ba"
        cc = dict(Event__Subclass="callcenter::info", CC__Queue="support@default",
                  CC__Member__Session__UUID=u, CC__Member__CID__Number="0612345678")
        esl.event("CUSTOM", **cc, CC__Action="member-queue-start", Caller__Destination__Number="5551000")
        esl.event("CUSTOM", **cc, CC__Action="agent-offering", CC__Agent="1000@default")
        esl.event("CUSTOM", **cc, CC__Action="bridge-agent-start", CC__Agent="1000@default", CC__Agent__UUID=leg)
        esl.event("CHANNEL_HOLD", Unique__ID=leg)
        esl.event("CHANNEL_UNHOLD", Unique__ID=leg)
        esl.event("HEARTBEAT", Event__Info="System Ready")
        esl.event("CHANNEL_HANGUP_COMPLETE", Unique__ID=u, variable_sip_hangup_disposition="recv_bye")
        c = wait_call(d, "fs1:" + u, lambda c: c["ended_at"] is not None)
        eq([e["type"] for e in c["events"]], ["call.offered", "call.queued", "call.ringing", "call.answered",
                                               "call.held", "call.resumed", "call.ended"])
        eq(c["agent"], "1000@default")
        eq(c["outcome"], "answered")
        eq(metric(d, "callogd_pbx_up", "fs1"), 1)
        # An open call, then FreeSWITCH restarts (a new Core-UUID) without it, with another one live.
        u2, u3 = "c0000000-0000-4000-8000-000000000002", "c0000000-0000-4000-8000-000000000003"
        esl.event("CUSTOM", **dict(cc, CC__Member__Session__UUID=u2), CC__Action="member-queue-start")
        wait_call(d, "fs1:" + u2, lambda c: len(c["events"]) >= 2)
        esl.channels = [{"uuid": u3, "direction": "inbound", "cid_num": "0698765432", "dest": "5552000"}]
        esl.members = [dict(queue="support@default", session_uuid=u3, cid_number="0698765432",
                            serving_agent="1001@default", state="Answered")]
        esl.agents = [("1000@default", "On Break"), ("1001@default", "Available")]
        esl.core_uuid = "9c4e1a77-0000-4000-8000-000000000001"
        esl.event("HEARTBEAT", Event__Info="System Ready")
        c2 = wait_call(d, "fs1:" + u2, lambda c: c["ended_at"] is not None)
        eq(c2["end_reason"], "lost")
        c3 = wait_call(d, "fs1:" + u3, lambda c: c["answered_at"] is not None)
        eq(c3["agent"], "1001@default")
        eq(c3["to"], "+15552000" if c3["to"].startswith("+") else "5552000")
    finally:
        d.cleanup()
        esl.close()


@test
def esl_wrong_password():
    esl = FakeESL(password="right")
    d = start(esl_conf(esl.port, password="wrong"))
    try:
        esl.wait(lambda: esl.failed_logins >= 2, timeout=10, what="two refused logins")
        eq(esl.logins, 0)
        check("login refused: -ERR invalid" in d.read_log(), d.read_log()[-2000:])
    finally:
        d.cleanup()
        esl.close()


@test
def sighup_adds_keeps_and_removes_links():
    ami, esl = FakeAMI(), FakeESL()
    d = start(ami_conf(ami.port))
    try:
        ami.wait_logins(1)
        synced(ami)
        both = ami_conf(ami.port).replace(" } );", " },\n  " + esl_conf(esl.port)[len("pbx = ( "):])
        d.write_config(both)
        d.proc.send_signal(signal.SIGHUP)
        esl.wait_logins(1)
        eq(len(ami.accepts), 1, "the unchanged link kept its connection")
        wait_metric(d, "callogd_pbx_up", "fs1", lambda v: v == 1)
        eq(metric(d, "callogd_pbx_up", "ast1"), 1)
        check('msg="pbx link added" pbx=fs1' in d.read_log(), d.read_log()[-2000:])
        # ast1 removed: it logs off; fs1's password changed: it logs in again.
        esl.password = "Other"
        d.write_config(esl_conf(esl.port, password="Other"))
        d.proc.send_signal(signal.SIGHUP)
        ami.wait(lambda: ami.count(lambda a: a.get("Action") == "Logoff") >= 1, what="Logoff")
        esl.wait_logins(2)
        deadline = time.time() + 5
        while metric(d, "callogd_pbx_up", "ast1") is not None and time.time() < deadline:
            time.sleep(0.05)
        eq(metric(d, "callogd_pbx_up", "ast1"), None)
        check('msg="pbx link removed" pbx=ast1' in d.read_log(), d.read_log()[-2000:])
        check("pbx=(changed)" in d.read_log(), d.read_log()[-2000:])
    finally:
        d.cleanup()
        ami.close()
        esl.close()


def make_cert(d, name, san):
    """A self-signed certificate (its own CA) for san, as d.dir/name.pem and name.key."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", name + ".key", "-out", name + ".pem", "-days", "2", "-subj", "/CN=" + name,
                    "-addext", "subjectAltName=" + san], cwd=d.dir, check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d.dir, name + ".pem"), os.path.join(d.dir, name + ".key"))
    return ctx


@test
def ami_over_tls_verifies_the_pbx():
    d = Daemon()
    good = make_cert(d, "pbx", "DNS:localhost,IP:127.0.0.1")
    wrong = make_cert(d, "elsewhere", "DNS:elsewhere.example")
    ami, impostor = FakeAMI(), FakeAMI()
    ami.tls, impostor.tls = good, wrong
    d.write_config(ami_conf(ami.port, extra='tls = true; ca = "pbx.pem";')[:-len(" } );\n")] +
                   ' },\n  { name = "ast2"; type = "ami"; host = "127.0.0.1"; port = %d; username = "callogd"; '
                   'secret = "s3cret"; tls = true; ca = "pbx.pem"; } );\n' % impostor.port)
    d.start()
    try:
        ami.wait_logins(1)
        synced(ami)
        queue_call(ami, "1795000009.1", "1795000009.2")
        wait_call(d, "ast1:1795000009.1", lambda c: c["answered_at"] is not None)
        eq(metric(d, "callogd_pbx_up", "ast1"), 1)
        # The impostor's certificate names another host (and another CA signed it): refused, never logged in to.
        impostor.wait(lambda: len(impostor.accepts) >= 2, what="two TLS attempts")
        eq(impostor.count(lambda a: True), 0)
        eq(metric(d, "callogd_pbx_up", "ast2"), 0)
        check(re.search(r'msg="pbx link down" pbx=ast2 why="tls: ', d.read_log()), d.read_log()[-2000:])
    finally:
        d.cleanup()
        ami.close()
        impostor.close()


@test
def config_checks():
    d = Daemon()
    try:
        for conf, msg in [
            ('pbx = ( { name = "a"; type = "sip"; host = "h"; } );', "pbx.type must be ami or esl"),
            ('pbx = ( { name = "a"; type = "ami"; host = "h"; username = "u"; } );', "exactly one of secret"),
            ('pbx = ( { name = "a"; type = "ami"; host = "h"; username = "u"; secret = "s"; ca = "ca.pem"; } );',
             "ca is set but tls is not"),
            ('pbx = ( { name = "a"; type = "ami"; host = "h"; username = "u"; secret = "s"; tls = true; '
             'ca = "nope.pem"; } );', 'cannot read ca'),
            ('pbx = ( { name = "a"; type = "esl"; host = "h"; password_file = "nope"; } );', "cannot read"),
            ('pbx = ( { name = "a"; type = "esl"; host = "h"; password = "p"; colour = 1; } );',
             'unknown setting "pbx.colour"'),
            ('pbx = ( { name = "a"; type = "esl"; host = "h"; password = "p"; },'
             ' { name = "a"; type = "esl"; host = "h"; password = "p"; } );', 'two links are named "a"'),
            ('pbx = ( { name = "a"; type = "ami"; host = "h"; username = "u"; secret = "s\\r\\nAction: x"; } );',
             "must not contain line breaks"),
        ]:
            d.write_config(conf)
            r = subprocess.run([CALLOGD, "-t", "-c", d.conf], capture_output=True, text=True)
            eq(r.returncode, 1, conf)
            check(msg in r.stderr and d.conf + ":" in r.stderr, "%s -> %s" % (conf, r.stderr))
        with open(os.path.join(d.dir, "esl.secret"), "w") as f:
            f.write("from-a-file\n")
        d.write_config('pbx = ( { name = "fs1"; type = "esl"; host = "h"; password_file = "esl.secret"; } );')
        r = subprocess.run([CALLOGD, "-t", "-c", d.conf], capture_output=True, text=True)
        eq(r.returncode, 0, r.stderr)
    finally:
        d.cleanup()


if __name__ == "__main__":
    run()
