"""test_limits.py : running out of file descriptors (docs/security.md): the daemon
refuses connections quietly instead of spinning on accept(), and serves again
once descriptors are free."""
import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Daemon, LineClient, Producer, check, eq, run, running, test  # noqa: E402


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


@test
def a_hello_trickled_byte_by_byte_is_cut_off_at_its_deadline():
    """The hello deadline is absolute: a byte every second does not renew it."""
    with running(**{"events.token": "s3cret"}) as d:
        conns = [LineClient(("127.0.0.1", d.events_port)), LineClient(("127.0.0.1", d.agents_port))]
        hello = '{"type":"hello","token":"s3cret"'
        start = time.time()
        closed_at = [None, None]
        i = 0
        while time.time() - start < 20 and None in closed_at:
            for k, c in enumerate(conns):
                if closed_at[k] is not None:
                    continue
                try:
                    c.send_raw(hello[i % len(hello)])
                    if c.closed(timeout=0.5):
                        closed_at[k] = time.time() - start
                except OSError:
                    closed_at[k] = time.time() - start
            i += 1
        for k, name in enumerate(("producer", "console")):
            check(closed_at[k] is not None, "the trickling %s was never closed" % name)
            check(closed_at[k] < 13, "the trickling %s was closed after %.1fs" % (name, closed_at[k]))
        # A real producer is served meanwhile and after.
        p = Producer(d, token="s3cret")
        eq(p.event({"type": "agent.state", "agent": "a1", "state": "ready"}).get("ack", 0), None)


if __name__ == "__main__":
    run()
