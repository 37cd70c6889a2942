"""test_listeners.py : the daemon's listeners: a second callogd on the same
configuration leaves the first one's Unix sockets alone, a socket left by a
killed daemon is replaced, and the console cap refuses and counts."""
import os
import signal
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import CALLOGD, Console, Daemon, LineClient, Producer, check, eq, run, running, test  # noqa: E402


def offered(call_id):
    return {"type": "call.offered", "call_id": call_id, "from": "5551234567", "to": "100"}


def metrics(d):
    status, text, _ = d.get("/metrics", auth=False)
    eq(status, 200, "/metrics")
    return {k: float(v) for k, v in (l.rsplit(" ", 1) for l in text.splitlines() if l and not l.startswith("#"))}


@test
def second_daemon_refuses_and_leaves_the_first_alone():
    with running() as d:
        token = d.add_agent("a1")
        inode = {p: os.stat(p).st_ino for p in (d.events_sock, d.agents_sock)}
        # The same config, its own database path unchanged: the TCP ports are the
        # harness's, so only the Unix sockets can stop it. Give it free TCP ports.
        second = Daemon(bind=False)
        try:
            for key in ("database.path", "events.unix", "agents.unix"):
                second.settings[key] = os.path.join(d.dir, d.settings[key])
            second.write_config()
            p = subprocess.run([CALLOGD, "-c", second.conf], capture_output=True, text=True, timeout=20)
            eq(p.returncode, 1, p.stderr)
            lines = [l for l in p.stderr.splitlines() if not l.startswith("<")]
            eq(len(lines), 1, p.stderr)
            check("in use" in lines[0] and d.events_sock in lines[0], lines[0])
        finally:
            second.cleanup()
        # The first daemon's socket files are the same ones, and still answer.
        for path, ino in inode.items():
            check(stat.S_ISSOCK(os.stat(path).st_mode), path)
            eq(os.stat(path).st_ino, ino, "socket file replaced: " + path)
        c = Console(d, "a1", token, unix=True)
        eq(c.welcome.get("type"), "welcome", c.welcome)
        a = Producer(d, unix=True).event(offered("s1"))
        check("seq" in a, a)
        eq(d.proc.poll(), None)


@test
def stale_socket_is_replaced():
    d = Daemon()
    try:
        d.start()
        eq(d.kill9(), -signal.SIGKILL)
        check(os.path.exists(d.events_sock), "kill -9 leaves the socket file behind")
        d.start()
        a = Producer(d, unix=True).event(offered("s2"))
        check("seq" in a, a)
        eq(d.stop(), 0)
        check(not os.path.exists(d.events_sock), "a clean stop removes its socket files")
        check(not os.path.exists(d.agents_sock), "a clean stop removes its socket files")
    finally:
        d.cleanup()


@test
def not_a_socket_is_never_removed():
    d = Daemon()
    try:
        with open(d.events_sock, "w") as f:
            f.write("precious")
        p = subprocess.run([CALLOGD, "-c", d.conf], capture_output=True, text=True, timeout=20)
        eq(p.returncode, 1, p.stderr)
        check(d.events_sock in p.stderr, p.stderr)
        with open(d.events_sock) as f:
            eq(f.read(), "precious")
    finally:
        d.cleanup()


@test
def console_cap_refuses_and_counts():
    with running(agents__max_clients=2) as d:
        token = d.add_agent("a1")
        # The cap spans both console listeners.
        admitted = [Console(d, "a1", token, unix=True), Console(d, "a1", token)]
        for c in admitted:
            eq(c.welcome.get("type"), "welcome", c.welcome)
        refused = []
        for unix in (True, False):
            c = LineClient(d.agents_sock if unix else ("127.0.0.1", d.agents_port))
            try:
                c.send({"type": "hello", "agent": "a1", "token": token})
            except OSError:
                pass
            refused.append(c.closed(2.0))
            c.close()
        eq(refused, [True, True], "consoles past the cap are closed")
        m = metrics(d)
        eq(m['callogd_connections_refused_total{kind="console"}'], 2.0)
        eq(m['callogd_connections{kind="console"}'], 2.0)
        # A reload raises the cap for the next connection.
        d.settings["agents.max_clients"] = 3
        d.write_config()
        mark = len(d.read_log())
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 5
        while "reloaded" not in d.read_log()[mark:] and time.time() < deadline:
            time.sleep(0.05)
        c = Console(d, "a1", token)
        eq(c.welcome.get("type"), "welcome", c.welcome)


if __name__ == "__main__":
    run()
