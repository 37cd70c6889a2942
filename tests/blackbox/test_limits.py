"""test_limits.py : running out of file descriptors (SPEC §11): the daemon
refuses connections quietly instead of spinning on accept(), and serves again
once descriptors are free."""
import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Daemon, Producer, check, eq, run, test  # noqa: E402


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@test
def out_of_descriptors_refuses_quietly_and_recovers():
    d = Daemon(bind=False)  # its own sockets: the harness's would sit above the low limit
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (96, hard))  # the daemon inherits it
    try:
        d.start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        p = Producer(d)
        eq(p.event({"type": "call.offered", "id": "e0", "call_id": "c0", "from": "+15551230000",
                    "to": "+18005550100"}).get("ack"), "e0")
        held = []
        for _ in range(150):  # more than the daemon can hold
            s = socket.create_connection(("127.0.0.1", d.events_port))
            held.append(s)
        time.sleep(0.5)
        log_before = len(d.read_log())
        cpu_before = cpu_seconds(d.proc.pid)
        time.sleep(2.0)
        cpu = cpu_seconds(d.proc.pid) - cpu_before
        check(cpu < 0.5, "the daemon burned %.2fs of CPU in 2s with no descriptors left" % cpu)
        grown = len(d.read_log()) - log_before
        check(grown < 20000, "the log grew by %d bytes in 2s" % grown)
        check("cannot accept, pausing the listener" in d.read_log(), d.read_log()[-2000:])
        # The connection admitted before still works.
        eq(p.event({"type": "call.ended", "id": "e1", "call_id": "c0"}).get("ack"), "e1")
        for s in held:
            s.close()
        # Descriptors are free again: a new producer is served.
        deadline = time.time() + 10
        ok = False
        while time.time() < deadline and not ok:
            try:
                q = Producer(d)
                q.sock.settimeout(2)
                ok = q.event({"type": "agent.state", "agent": "a1", "state": "ready"}).get("ack", 0) is None
                q.close()
            except (OSError, EOFError):
                time.sleep(0.2)
        check(ok, "no producer was served after the descriptors were freed")
        status, _, _ = d.get("/healthz", auth=False)
        eq(status, 200)
    finally:
        d.cleanup()


if __name__ == "__main__":
    run()
