#!/usr/bin/env python3
"""pbx_bench.py : one AMI link fed by the fake Asterisk at RATE calls/s (about 20 AMI frames per
call) for SECS seconds. Reports the lag from a call's last frame written to its call.ended being
read by callogd (received_at) and committed (seen in the log by a reader polling every 10 ms),
p50/p99; the daemon's CPU per 1,000 frames; and whether anything was dropped.

  CALLOGD=build/callogd CALLOGCTL=build/callogctl python3 bench/pbx_bench.py [RATE] [SECS]
"""
import os
import sqlite3
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "blackbox"))
from fakepbx import FakeAMI  # noqa: E402
from harness import Daemon  # noqa: E402

RATE = int(sys.argv[1]) if len(sys.argv) > 1 else 200
SECS = int(sys.argv[2]) if len(sys.argv) > 2 else 60


def call_frames(n):
    """The ~20 frames of one answered queue call, as Asterisk sends them (CRLF blocks)."""
    u, leg = "1795%06d.1" % n, "1795%06d.2" % n
    chan = ("Channel: PJSIP/trunk-%08x\r\nChannelState: 6\r\nChannelStateDesc: Up\r\nCallerIDNum: 06%08d\r\n"
            "CallerIDName: Caller\r\nConnectedLineNum: <unknown>\r\nConnectedLineName: <unknown>\r\n"
            "Language: en\r\nAccountCode: \r\nContext: queues\r\nExten: s\r\nPriority: 4\r\n"
            "Uniqueid: %s\r\nLinkedid: %s\r\n" % (n, n, u, u))
    agent = "a%d" % (n % 50)
    dest = ("DestChannel: PJSIP/%s-%08x\r\nDestChannelState: 5\r\nDestUniqueid: %s\r\nDestLinkedid: %s\r\n"
            % (agent, n, leg, u))
    legc = ("Channel: PJSIP/%s-%08x\r\nChannelState: 6\r\nCallerIDNum: 1001\r\nUniqueid: %s\r\nLinkedid: %s\r\n"
            % (agent, n, leg, u))
    q = "Queue: sales\r\nInterface: PJSIP/%s\r\nMemberName: %s\r\n" % (agent, agent)
    ev = []
    ev.append("Event: Newchannel\r\nPrivilege: call,all\r\n" + chan.replace("Exten: s", "Exten: 5551000"))
    ev.append("Event: Newstate\r\nPrivilege: call,all\r\n" + chan)
    for v in range(4):
        ev.append("Event: VarSet\r\nPrivilege: dialplan,all\r\n" + chan + "Variable: V%d\r\nValue: x\r\n" % v)
    ev.append("Event: QueueCallerJoin\r\nPrivilege: agent,all\r\n" + chan + "Queue: sales\r\nPosition: 1\r\n"
              "Count: 1\r\n")
    ev.append("Event: Newchannel\r\nPrivilege: call,all\r\n" + legc)
    ev.append("Event: AgentCalled\r\nPrivilege: agent,all\r\n" + chan + dest + q)
    ev.append("Event: DialBegin\r\nPrivilege: call,all\r\n" + chan + dest + "DialString: %s\r\n" % agent)
    ev.append("Event: Newstate\r\nPrivilege: call,all\r\n" + legc)
    ev.append("Event: DialEnd\r\nPrivilege: call,all\r\n" + chan + dest + "DialStatus: ANSWER\r\n")
    ev.append("Event: AgentConnect\r\nPrivilege: agent,all\r\n" + chan + dest + q + "HoldTime: 1\r\n")
    ev.append("Event: BridgeEnter\r\nPrivilege: call,all\r\nBridgeUniqueid: b%d\r\n" % n + chan)
    ev.append("Event: BridgeEnter\r\nPrivilege: call,all\r\nBridgeUniqueid: b%d\r\n" % n + legc)
    ev.append("Event: Hold\r\nPrivilege: call,all\r\n" + legc)
    ev.append("Event: Unhold\r\nPrivilege: call,all\r\n" + legc)
    ev.append("Event: HangupRequest\r\nPrivilege: call,all\r\n" + legc)
    ev.append("Event: Hangup\r\nPrivilege: call,all\r\n" + legc + "Cause: 16\r\n")
    ev.append("Event: Hangup\r\nPrivilege: call,all\r\n" + chan + "Cause: 16\r\n")
    return [(e + "\r\n").encode() for e in ev]


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")


def main():
    ami = FakeAMI()
    d = Daemon()
    d.write_config('pbx = ( { name = "ast1"; type = "ami"; host = "127.0.0.1"; port = %d; username = "callogd"; '
                   'secret = "s3cret"; } );\n' % ami.port)
    d.start()
    ami.wait_logins(1)
    ami.wait(lambda: ami.count(lambda a: a.get("Action") == "QueueStatus") >= 1)
    time.sleep(0.5)
    written = {}   # call n -> wall time its last frame was written
    committed = {}  # call n -> wall time its call.ended was first seen committed
    received = {}  # call n -> received_at of its call.ended (ms)
    stop = threading.Event()

    def poll():
        db = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
        last = 0
        while not stop.is_set():
            rows = db.execute("SELECT seq, eid, received_at FROM events WHERE seq > ? ORDER BY seq", (last,)).fetchall()
            now = time.time()
            for seq, eid, rat in rows:
                last = seq
                if eid and eid.endswith(":ended"):
                    n = int(eid.split(":")[1].split(".")[0][4:])
                    committed[n] = now
                    received[n] = rat
            time.sleep(0.01)
        db.close()

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    frames = 0
    cpu0 = cpu_seconds(d.proc.pid)
    t0 = time.time()
    n = 0
    while time.time() - t0 < SECS:
        due = int((time.time() - t0) * RATE)
        while n < due:
            fs = call_frames(n)
            written[n] = time.time()
            ami.send_raw(b"".join(fs))
            frames += len(fs)
            n += 1
        time.sleep(0.002)
    sent_secs = time.time() - t0
    deadline = time.time() + 30
    while len(committed) < n and time.time() < deadline:
        time.sleep(0.1)
    cpu = cpu_seconds(d.proc.pid) - cpu0
    stop.set()
    t.join()
    status, text, _ = d.get("/metrics", auth=False)
    metrics = {line.split("{")[0]: line.rsplit(" ", 1)[1] for line in text.splitlines()
               if line.startswith("callogd_pbx_") and 'pbx="ast1"' in line}
    d.cleanup()
    ami.close()
    read_lag = [(received[k] / 1000.0 - written[k]) * 1000 for k in received if k in written]
    commit_lag = [(committed[k] - written[k]) * 1000 for k in committed if k in written]
    print("calls sent %d in %.1f s (%.0f calls/s, %d frames, %.0f frames/s)" % (n, sent_secs, n / sent_secs, frames,
                                                                              frames / sent_secs))
    print("calls ended in the log %d (missing %d)" % (len(committed), n - len(committed)))
    print("lag frame written -> read by callogd: p50 %.1f ms, p99 %.1f ms" % (pct(read_lag, .5), pct(read_lag, .99)))
    print("lag frame written -> committed (10 ms polling): p50 %.1f ms, p99 %.1f ms" %
          (pct(commit_lag, .5), pct(commit_lag, .99)))
    print("daemon CPU %.2f s: %.1f ms per 1,000 frames" % (cpu, cpu * 1e6 / frames))
    print("metrics: " + " ".join("%s=%s" % (k[len("callogd_pbx_"):], v) for k, v in sorted(metrics.items())
                                 if k.endswith("_total")))


if __name__ == "__main__":
    main()
