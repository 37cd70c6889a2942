"""test_harness.py : the harness itself: skips are reported as skips (exit 77,
never a pass), and the daemon serves on the listeners the harness bound and
passed in (LISTEN_FDS), not on sockets of its own."""
import os
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import SKIP_EXIT, Producer, check, eq, run, running, test  # noqa: E402

SUITE = """
import os, sys
sys.path.insert(0, %r)
from harness import check, run, skip, test
for name, what in %r:
    def fn(what=what):
        if what == "skip":
            skip("not here")
        check(what == "pass", "it failed")
    fn.__name__ = name
    test(fn)
run()
"""


def run_suite(tests):
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(SUITE % (os.path.dirname(os.path.abspath(__file__)), tests))
    try:
        return subprocess.run([sys.executable, f.name], capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(f.name)


@test
def skips_are_not_passes():
    p = run_suite([("a", "pass"), ("b", "skip")])
    eq(p.returncode, SKIP_EXIT, p.stdout + p.stderr)
    check("SKIP b: not here" in p.stdout, p.stdout)
    check(p.stdout.rstrip().endswith("1 passed, 0 failed, 1 skipped"), p.stdout)
    p = run_suite([("a", "skip"), ("b", "fail")])
    eq(p.returncode, 1, p.stdout + p.stderr)  # a failure wins over a skip
    p = run_suite([("a", "pass"), ("b", "pass")])
    eq(p.returncode, 0, p.stdout + p.stderr)


@test
def daemon_serves_on_the_harness_listeners():
    with running() as d:
        # The daemon's fds 3, 4, 5 are the very sockets the harness bound (same inodes), in LISTEN_FDNAMES order.
        for i, (name, s) in enumerate(d.passed_listeners()):
            st = os.stat("/proc/%d/fd/%d" % (d.proc.pid, 3 + i))
            eq(st.st_ino, os.fstat(s.fileno()).st_ino, name)
        # It listens on no TCP socket of its own: every listening inode it holds is one of ours.
        ours = {os.fstat(s.fileno()).st_ino for s in d.listeners.values()}
        inodes = set()
        for fd in os.listdir("/proc/%d/fd" % d.proc.pid):
            try:
                link = os.readlink("/proc/%d/fd/%s" % (d.proc.pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(int(link[8:-1]))
        with open("/proc/net/tcp") as f:
            listening = {int(l.split()[9]) for l in f.readlines()[1:] if l.split()[3] == "0A"}
        eq(inodes & listening, ours)
        check("passed socket matches no listener" not in d.read_log(), d.read_log())
        # And serves on them, also across a restart.
        eq(Producer(d).event({"type": "call.offered", "id": "h1", "call_id": "h", "from": "1", "to": "2"})["ack"], "h1")
        d.stop()
        d.start()
        eq(Producer(d).event({"type": "call.ended", "id": "h2", "call_id": "h"})["ack"], "h2")
        socket.create_connection(("127.0.0.1", d.agents_port), timeout=2).close()


if __name__ == "__main__":
    run()
