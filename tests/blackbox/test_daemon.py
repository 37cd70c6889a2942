"""test_daemon.py : the daemon's life: flags, config check, start-up failures,
SIGHUP reload, SIGTERM drain, systemd notify and socket activation."""
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import CALLOGD, Daemon, LineClient, Producer, check, eq, free_port, run, running, test  # noqa: E402


def callogd(*args):
    return subprocess.run([CALLOGD] + list(args), capture_output=True, text=True, timeout=20)


@test
def flags():
    p = callogd("-V")
    eq(p.returncode, 0)
    check(re.match(r"callogd \d+\.\d+\.\d+", p.stdout), p.stdout)
    p = callogd("-h")
    eq(p.returncode, 0)
    check("usage" in p.stdout)
    for bad in (["-x"], ["-c"], ["extra"]):
        p = callogd(*bad)
        eq(p.returncode, 2, bad)
        check("usage" in p.stderr, p.stderr)


@test
def config_check():
    d = Daemon()
    try:
        p = callogd("-t", "-c", d.conf)
        eq(p.returncode, 0, p.stderr)
        with open(d.conf, "a") as f:
            f.write("\nevents = { colour = 1; };\n")
        p = callogd("-t", "-c", d.conf)
        eq(p.returncode, 1)
        lines = p.stderr.strip().splitlines()
        eq(len(lines), 1, p.stderr)
        check(re.match(re.escape(d.conf) + r":\d+: ", lines[0]), lines[0])
        p = callogd("-t", "-c", os.path.join(d.dir, "missing.conf"))
        eq(p.returncode, 1)
        check("missing.conf" in p.stderr)
        repo_conf = os.path.join(os.environ.get("CALLOGD_SRC", "."), "conf", "callogd.conf")
        eq(callogd("-t", "-c", repo_conf).returncode, 0)
    finally:
        d.cleanup()


def start_fails(d, want, pass_listeners=True):
    """The daemon exits 1 with one line naming want. The harness's listeners are
    passed in (the daemon binds first, so a held port would fail before want),
    unless pass_listeners is False."""
    if pass_listeners:
        d.start(wait=False)
        rc = d.proc.wait(20)
        d.proc = None
        d.log.close()
        with open(d.log_path, "rb") as f:
            f.seek(d.log_mark)
            stderr = f.read().decode("utf-8", "replace")
    else:
        p = subprocess.run([CALLOGD, "-c", d.conf], capture_output=True, text=True, timeout=20)
        rc, stderr = p.returncode, p.stderr
    eq(rc, 1, stderr)
    lines = [l for l in stderr.splitlines() if not l.startswith("<")]
    eq(len(lines), 1, stderr)
    check(want in lines[0], lines[0])


@test
def startup_failures():
    d = Daemon()
    try:
        # A port already taken: the harness holds its listeners, and passes none in.
        start_fails(d, "127.0.0.1:%d" % d.events_port, pass_listeners=False)
        # A database that cannot be written: its directory is a file.
        open(os.path.join(d.dir, "notadir"), "w").close()
        d.settings["database.path"] = "notadir/callog.db"
        d.write_config()
        start_fails(d, "notadir/callog.db")
        # A database file that is not a database.
        with open(os.path.join(d.dir, "junk.db"), "w") as f:
            f.write("this is not sqlite" * 100)
        d.settings["database.path"] = "junk.db"
        d.write_config()
        start_fails(d, "junk.db")
    finally:
        d.cleanup()


@test
def unix_socket_modes():
    with running() as d:
        for path in (d.events_sock, d.agents_sock):
            eq(stat.S_IMODE(os.stat(path).st_mode), 0o660, path)
        p = Producer(d, unix=True)
        a = p.event({"type": "call.offered", "call_id": "u1", "from": "5551234567", "to": "100"})
        eq(a["seq"], 1)


def sched_slice(tid_dir):
    """se.slice (ns) from a thread's /proc/.../sched, or None where the kernel does not show it."""
    try:
        with open(os.path.join(tid_dir, "sched")) as f:
            for line in f:
                if line.startswith("se.slice"):
                    return int(line.split(":")[1])
    except OSError:
        pass
    return None


def kernel_takes_custom_slice():
    """1 when sched_setattr() sets a SCHED_OTHER slice here (EEVDF, Linux 6.12+): tried on a child."""
    code = (
        "import ctypes, os, struct, sys\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "attr = struct.pack('=IIQiIQQQ', 48, 0, 0, os.getpriority(os.PRIO_PROCESS, 0), 0, 200000, 0, 0)\n"
        "if libc.syscall(314, 0, ctypes.c_char_p(attr), 0) != 0: sys.exit(1)\n"
        "for line in open('/proc/thread-self/sched'):\n"
        "    if line.startswith('se.slice'): sys.exit(0 if int(line.split(':')[1]) == 200000 else 1)\n"
        "sys.exit(1)\n"
    )
    if os.uname().machine != "x86_64":
        return False
    return subprocess.run([sys.executable, "-c", code]).returncode == 0


@test
def loop_thread_short_slice_writer_nice():
    """The loop thread asks for the shortest slice (pops preempt on wake-up); the writer and the webhook
    outbox run at nice 19, the database workers at nice 10."""
    with running() as d:
        pid = d.proc.pid
        tasks = sorted(int(t) for t in os.listdir("/proc/%d/task" % pid))
        names = {}
        for t in tasks:
            if t != pid:
                with open("/proc/%d/task/%d/comm" % (pid, t)) as f:
                    names.setdefault(f.read().strip(), []).append(t)
        eq(sorted(names), ["cl-outbox", "cl-worker-0", "cl-worker-1", "cl-writer"], "threads besides the loop")
        writer = "/proc/%d/task/%d" % (pid, names["cl-writer"][0])
        eq(os.getpriority(os.PRIO_PROCESS, names["cl-writer"][0]), 19, "writer nice")
        eq(os.getpriority(os.PRIO_PROCESS, names["cl-outbox"][0]), 19, "outbox nice")
        for w in ("cl-worker-0", "cl-worker-1"):
            eq(os.getpriority(os.PRIO_PROCESS, names[w][0]), 10, "%s nice" % w)
        if kernel_takes_custom_slice():
            eq(sched_slice("/proc/%d/task/%d" % (pid, pid)), 100000, "loop thread se.slice")
            check(sched_slice(writer) != 100000, "the writer keeps the default slice")
        else:
            print("note: this kernel takes no custom SCHED_OTHER slice; slice not checked")


@test
def sigterm_drains_everything_received():
    d = Daemon()
    try:
        d.start()
        p = Producer(d)
        n = 3000
        lines = "".join(json.dumps({"type": "call.offered", "id": "t%d" % i, "call_id": "c%d" % i,
                                    "from": "5551230000", "to": "100"}) + "\n" for i in range(n))
        p.send_raw(lines)
        time.sleep(0.05)
        t0 = time.time()
        d.proc.send_signal(signal.SIGTERM)
        acks = []
        try:
            while True:
                acks.append(p.read(timeout=6))
        except (EOFError, OSError):
            pass
        rc = d.proc.wait(10)
        elapsed = time.time() - t0
        eq(rc, 0, d.read_log())
        check(elapsed < 5, "exit took %.1fs" % elapsed)
        # Whatever was acknowledged is in the log, and every line read was answered.
        db = sqlite3.connect(d.db)
        stored = {r[0] for r in db.execute("SELECT eid FROM events")}
        acked = {a["ack"] for a in acks if "ack" in a}
        check(acked <= stored, "acked but not stored: %d" % len(acked - stored))
        eq(len(acks), len(stored), "answers vs stored")
        check(len(acks) > 0)
        d.proc = None
        d.log.close()
    finally:
        d.cleanup()


@test
def sighup_reload():
    with running() as d:
        d.settings["log.level"] = "debug"
        d.settings["pops.history"] = 2
        d.write_config()
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 5
        while "reloaded" not in d.read_log() and time.time() < deadline:
            time.sleep(0.05)
        log = d.read_log()
        check("log.level=info->debug" in log, log)
        check("pops.history=5->2" in log, log)
        # A broken config is refused, the old one kept, and the daemon serves on.
        with open(d.conf, "a") as f:
            f.write("\nbroken = ;\n")
        d.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 5
        while "reload refused" not in d.read_log() and time.time() < deadline:
            time.sleep(0.05)
        check("reload refused" in d.read_log(), d.read_log())
        p = Producer(d)
        a = p.event({"type": "call.offered", "call_id": "r1", "from": "5551234567", "to": "100"})
        check("seq" in a, a)
        eq(d.proc.poll(), None)


class NotifySocket:
    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(5)

    def wait_for(self, msg, timeout=5):
        deadline = time.time() + timeout
        seen = []
        while time.time() < deadline:
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            seen.append(data)
            if msg in data.split("\n"):
                return seen
        raise AssertionError("no %s in %r" % (msg, seen))


@test
def systemd_notify():
    d = Daemon()
    try:
        ns = NotifySocket(os.path.join(d.dir, "notify.sock"))
        d.start(wait=False, env={"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "200000"})
        ns.wait_for("READY=1")
        # Listening by the time READY=1 is sent.
        socket.create_connection(("127.0.0.1", d.events_port), timeout=1).close()
        ns.wait_for("WATCHDOG=1")
        d.proc.send_signal(signal.SIGHUP)
        ns.wait_for("RELOADING=1")
        ns.wait_for("READY=1")
        d.proc.send_signal(signal.SIGTERM)
        ns.wait_for("STOPPING=1")
        eq(d.proc.wait(5), 0)
        d.proc = None
        d.log.close()
    finally:
        d.cleanup()


@test
def socket_activation():
    sa = shutil.which("systemd-socket-activate")
    check(sa is not None, "systemd-socket-activate is missing (scripts/deps.sh --test installs systemd)")
    d = Daemon(bind=False)  # the daemon binds what systemd-socket-activate does not pass
    try:
        # The config names other ports: the passed sockets win.
        port = free_port()
        d.log = open(d.log_path, "ab")
        d.proc = subprocess.Popen([sa, "-l", "127.0.0.1:%d" % port, "--fdname=events-tcp", CALLOGD, "-c", d.conf],
                                  stdout=d.log, stderr=d.log)
        # systemd-socket-activate starts the daemon on the first connection.
        deadline = time.time() + 5
        while True:
            try:
                c = LineClient(("127.0.0.1", port))
                break
            except ConnectionRefusedError:
                check(time.time() < deadline, "systemd-socket-activate never listened")
                time.sleep(0.05)
        d.wait_ready()
        c.send({"type": "call.offered", "id": "sa1", "call_id": "sa", "from": "5551234567", "to": "100"})
        a = c.read()
        eq(a["ack"], "sa1", a)
        eq(d.stop(), 0)
    finally:
        d.cleanup()


SCHEMA_VERSION = 8


def downgrade_to_v7(db):
    """What version 7 left: no webhook outbox."""
    db.execute("DROP TABLE webhook_outbox")
    db.execute("PRAGMA user_version=7")


def downgrade_to_v6(db):
    """What version 6 left: no report slots (the queue report's roll-up)."""
    downgrade_to_v7(db)
    db.execute("DROP TABLE report_slots")
    db.execute("DELETE FROM meta WHERE key = 'report_slots'")
    db.execute("PRAGMA user_version=6")


def downgrade_to_v5(db):
    """What version 5 left: API tokens without roles."""
    downgrade_to_v6(db)
    db.execute("ALTER TABLE api_tokens DROP COLUMN role")
    db.execute("PRAGMA user_version=5")


def downgrade_to_v4(db):
    """What version 4 left: none of the report tables (marks, legs, state history)."""
    downgrade_to_v5(db)
    db.execute("DROP INDEX calls_report")
    db.execute("DROP TABLE call_marks")
    db.execute("DROP TABLE call_legs")
    db.execute("DROP TABLE agent_states")
    db.execute("ALTER TABLE calls DROP COLUMN wrap_ms")
    db.execute("ALTER TABLE calls DROP COLUMN transferred")
    db.execute("PRAGMA user_version=4")


def downgrade_to_v3(db):
    """What version 3 left: no outcome column, no durable last seq."""
    downgrade_to_v4(db)
    db.execute("ALTER TABLE calls DROP COLUMN outcome")
    db.execute("DELETE FROM meta WHERE key = 'last_seq'")
    db.execute("PRAGMA user_version=3")


@test
def schema_v6_gives_tokens_made_before_roles_the_admin_role():
    d = Daemon()
    try:
        d.start()
        token = d.token()
        eq(d.stop(), 0)
        db = sqlite3.connect(d.db)
        downgrade_to_v5(db)
        db.commit()
        db.close()
        d.start()
        db = sqlite3.connect(d.db)
        eq(db.execute("PRAGMA user_version").fetchone()[0], SCHEMA_VERSION)
        eq(db.execute("SELECT role FROM api_tokens").fetchall(), [("admin",)])
        db.close()
        status, body, _ = d.get("/api/calls", token=token)
        eq(status, 200, body)
        status, body, _ = d.http("POST", "/api/events", '{"type":"agent.state","agent":"a1","state":"ready"}\n',
                                 token=token)
        eq(status, 200, body)
    finally:
        d.cleanup()


@test
def schema_migrations():
    d = Daemon()
    try:
        d.start()
        p = Producer(d)
        p.event({"type": "call.offered", "call_id": "m1", "from": "5551234567", "to": "1"})
        p.event({"type": "call.answered", "call_id": "m1", "agent": "a1", "ts": "2026-11-22T10:00:05Z"})
        eq(d.stop(), 0)
        # Make it a version-2 database, as the release before last left it.
        db = sqlite3.connect(d.db)
        eq(db.execute("PRAGMA user_version").fetchone()[0], SCHEMA_VERSION)
        downgrade_to_v3(db)
        db.execute("ALTER TABLE calls DROP COLUMN last_answered_at")
        db.execute("PRAGMA user_version=2")
        db.commit()
        db.close()
        d.start()
        db = sqlite3.connect(d.db)
        eq(db.execute("PRAGMA user_version").fetchone()[0], SCHEMA_VERSION)
        eq(db.execute("SELECT answered_at = last_answered_at FROM calls WHERE call_id = 'm1'").fetchone()[0], 1)
        db.close()
        eq(d.stop(), 0)
        # A database from a newer release is refused, not touched.
        db = sqlite3.connect(d.db)
        db.execute("PRAGMA user_version=99")
        db.commit()
        db.close()
        start_fails(d, "newer")
    finally:
        d.cleanup()


@test
def schema_v4_stores_outcomes_and_backfills_them():
    """Version 4 keeps each call's outcome in a column, computed in C when the call is
    written; a version-3 database gets it filled in for every existing call."""
    calls = {
        "answered": [{"type": "call.offered", "call_id": "o1", "from": "5551234567", "to": "1"},
                     {"type": "call.answered", "call_id": "o1", "agent": "a1"},
                     {"type": "call.ended", "call_id": "o1", "reason": "completed"}],
        "abandoned": [{"type": "call.offered", "call_id": "o2", "from": "5551234567", "to": "1"},
                      {"type": "call.ended", "call_id": "o2", "reason": "completed", "by": "caller"}],
        "unanswered": [{"type": "call.offered", "call_id": "o3", "from": "5551234567", "to": "1"},
                       {"type": "call.ended", "call_id": "o3", "reason": "no_answer", "by": "system"}],
        "active": [{"type": "call.offered", "call_id": "o4", "from": "5551234567", "to": "1"}],
    }
    ids = {"answered": "o1", "abandoned": "o2", "unanswered": "o3", "active": "o4"}
    d = Daemon()
    try:
        d.start()
        p = Producer(d)
        last = 0
        for evs in calls.values():
            for e in evs:
                last = p.event(e)["seq"]
        eq(d.stop(), 0)

        def outcomes():
            db = sqlite3.connect(d.db)
            try:
                return dict(db.execute("SELECT call_id, outcome FROM calls").fetchall())
            finally:
                db.close()

        want = {ids[o]: o for o in ids}
        eq(outcomes(), want, "written by the daemon")
        db = sqlite3.connect(d.db)
        downgrade_to_v3(db)
        db.commit()
        db.close()
        d.start()
        db = sqlite3.connect(d.db)
        eq(db.execute("PRAGMA user_version").fetchone()[0], SCHEMA_VERSION)
        eq(db.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()[0], last)
        db.close()
        eq(outcomes(), want, "back-filled by the migration")
        # A call written after the migration gets its outcome as it is written.
        a = Producer(d).event({"type": "call.ended", "call_id": "o4", "reason": "abandoned"})
        eq(a["seq"], last + 1, a)
        eq(outcomes()["o4"], "abandoned")
        eq(d.stop(), 0)
    finally:
        d.cleanup()


@test
def schema_v5_keeps_report_facts_and_backfills_them():
    """Version 5 keeps what reports need as events are applied: each agent's part of a
    call (legs), the call's wrap and transfer, and the agents' state history; a
    version-4 database gets them derived from its event log."""
    t = "2026-11-22T10:%02d:%02dZ"
    evs = [
        {"type": "agent.state", "agent": "a1", "state": "logged_in", "ts": t % (0, 0)},
        {"type": "agent.state", "agent": "a1", "state": "not_ready", "reason": "lunch", "ts": t % (0, 30)},
        {"type": "call.offered", "call_id": "r1", "from": "5551234567", "to": "1", "queue": "q", "ts": t % (1, 0)},
        {"type": "call.ringing", "call_id": "r1", "agent": "a1", "ts": t % (1, 1)},
        {"type": "call.ringing", "call_id": "r1", "agent": "a3", "ts": t % (1, 1)},
        {"type": "call.answered", "call_id": "r1", "agent": "a1", "ts": t % (1, 5)},
        {"type": "call.held", "call_id": "r1", "ts": t % (1, 15)},
        {"type": "call.resumed", "call_id": "r1", "ts": t % (1, 20)},
        {"type": "call.transferred", "call_id": "r1", "agent": "a1", "to_agent": "a2", "ts": t % (1, 30)},
        {"type": "call.answered", "call_id": "r1", "agent": "a2", "ts": t % (1, 40)},
        {"type": "call.ended", "call_id": "r1", "reason": "completed", "ts": t % (2, 0)},
        {"type": "call.disposition", "call_id": "r1", "agent": "a2", "code": "sale", "ts": t % (2, 7)},
    ]
    want_legs = {("a1", 1, 1, 20000, 5000), ("a2", 1, 1, 20000, 0), ("a3", 1, 0, 0, 0)}
    d = Daemon()
    try:
        d.start()
        p = Producer(d)
        for e in evs:
            p.event(e)
        eq(d.stop(), 0)

        def facts():
            db = sqlite3.connect(d.db)
            try:
                legs = set(db.execute("SELECT agent, rang, answered, talk_ms, hold_ms FROM call_legs"
                                      " WHERE call_id = 'r1'").fetchall())
                call = db.execute("SELECT wrap_ms, transferred FROM calls WHERE call_id = 'r1'").fetchone()
                states = db.execute("SELECT agent, state, reason FROM agent_states ORDER BY ts").fetchall()
                return legs, call, states
            finally:
                db.close()

        want = (want_legs, (7000, 1), [("a1", "logged_in", ""), ("a1", "not_ready", "lunch")])
        eq(facts(), want, "written by the daemon")
        db = sqlite3.connect(d.db)
        downgrade_to_v4(db)
        db.commit()
        db.close()
        d.start()
        eq(d.stop(), 0)
        eq(facts(), want, "back-filled by the migration")
    finally:
        d.cleanup()


@test
def idle_timeouts_and_hello_deadline():
    with running(events__idle_timeout=1, agents__idle_timeout=1) as d:
        p = Producer(d)
        p.event({"type": "call.offered", "call_id": "i1", "from": "1", "to": "2"})
        t0 = time.time()
        check(p.closed(4), "idle producer not closed")
        check(0.8 < time.time() - t0 < 3.5, time.time() - t0)
        busy = Producer(d)
        for _ in range(6):  # activity keeps a connection open
            busy.event({"type": "call.held", "call_id": "i1"})
            time.sleep(0.3)
        eq(busy.event({"type": "call.resumed", "call_id": "i1"})["ack"], None)


if __name__ == "__main__":
    run()
