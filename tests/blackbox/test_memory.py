"""test_memory.py : what an authenticated client can make the daemon keep
(docs/security.md): each live call's attached data and all of it together, and
a console's answers it does not read."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Console, LineClient, Producer, check, eq, metrics, run, running, test  # noqa: E402


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sanitized(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()  # ASan's quarantine holds freed memory: RSS says little


def offered(call_id, data):
    return {"type": "call.offered", "id": "o-" + call_id, "call_id": call_id, "from": "5551234567",
            "to": "8005550100", "queue": "support", "data": data}


@test
def a_calls_data_over_its_bound_is_refused():
    with running(**{"events.max_data": 1024, "events.max_line": 1 << 20}) as d:
        p = Producer(d)
        a = p.event(offered("big", {"ivr": "x" * 2000}))
        eq(a.get("error"), "bad_event", a)
        check("events.max_data" in a.get("message", ""), a)
        eq(a.get("id"), "o-big")
        eq(d.get("/api/calls/big")[0], 404, "not stored")
        a = p.event(offered("small", {"ivr": "x" * 900}))
        check("seq" in a, a)


@test
def all_live_calls_data_is_bounded():
    with running(**{"pops.data_memory": 1, "events.max_data": 65536, "events.max_line": 1 << 20}) as d:
        tok = d.add_agent("a1")
        c = Console(d, "a1", tok)
        p = Producer(d)
        pid = d.proc.pid
        rss0 = rss_kb(pid)
        n = 200  # 200 calls with 60 KB each: 12 MB of data against a 1 MiB bound
        for i in range(n):
            a = p.event(offered("d-%d" % i, {"ivr": "%03d" % i + "y" * 60000}))
            check("seq" in a, a)  # every call is still logged
        m = metrics(d)
        held = m["callogd_live_data_bytes"]
        print("  %d calls with 60 KB of data, pops.data_memory = 1: %d bytes kept, %d calls without, RSS +%d MB"
              % (n, held, m["callogd_live_data_dropped_total"], (rss_kb(pid) - rss0) >> 10), flush=True)
        check(0 < held <= 1 << 20, held)
        check(m["callogd_live_data_dropped_total"] >= n - 20, m["callogd_live_data_dropped_total"])
        # The first calls' pops carry their data; the last one's goes without.
        p.event({"type": "call.ringing", "call_id": "d-0", "agent": "a1"})
        p.event({"type": "call.ringing", "call_id": "d-%d" % (n - 1), "agent": "a1"})
        first, last = c.next(skip_types=("state",)), c.next(skip_types=("state",))
        eq((first["call_id"], last["call_id"]), ("d-0", "d-%d" % (n - 1)))
        check(first["data"]["ivr"].startswith("000"), "kept")
        eq(last["data"], None, "not kept")
        # Ended calls give their room back.
        for i in range(n):
            p.event({"type": "call.ended", "call_id": "d-%d" % i})
        eq(metrics(d)["callogd_live_data_bytes"], 0)


@test
def a_console_that_does_not_read_its_answers_is_dropped():
    with running(**{"agents.max_output": 65536}) as d:
        tok = d.add_agent("a1")
        pid = d.proc.pid
        for what in (b'{"type":"ping"}\n', b"not json\n"):
            # A small receive buffer: what the kernel would hold for it must not hide what the daemon holds.
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", d.agents_port))
            c = LineClient.__new__(LineClient)
            c.sock, c.buf = s, b""
            c.send({"type": "hello", "agent": "a1", "token": tok})
            eq(c.read(5)["type"], "welcome")
            rss0 = rss_kb(pid)
            s.setblocking(False)
            req = what * 2000
            sent, t0, dropped = 0, time.time(), False
            while time.time() - t0 < 20 and not dropped:
                try:
                    sent += s.send(req)
                except BlockingIOError:
                    time.sleep(0.01)
                except (ConnectionResetError, BrokenPipeError):
                    dropped = True
            grew = rss_kb(pid) - rss0
            print("  %r without reading: %d MB sent, dropped=%s, RSS +%d MB" % (what[:15], sent >> 20, dropped,
                                                                                grew >> 10), flush=True)
            check(dropped, "the console was not dropped")
            check(sanitized(pid) or grew < 64 << 10, "daemon RSS grew %d MB" % (grew >> 10))
            c.close()
        check(metrics(d)["callogd_slow_consoles_dropped_total"] >= 2)
        fresh = Console(d, "a1", tok)
        fresh.send({"type": "ping"})
        eq(fresh.next()["type"], "pong")


if __name__ == "__main__":
    run()
