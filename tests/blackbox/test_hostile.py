"""test_hostile.py : producers and consoles that misbehave: over-long lines,
floods of bad lines, connection churn, slow and half-open clients, consoles and
producers that never read, hostile bytes, and the events.max_clients cap.

The daemon must answer every line exactly once and in order, stay up, keep
serving everybody else, and bound what it buffers for any one client."""
import hashlib
import json
import os
import socket
import sqlite3
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Console, LineClient, Producer, check, eq, metrics, run, running, test  # noqa: E402


def agent(d, aid):
    """An agent and its console token: `callogctl agent add`, or straight into the
    agents table (sha256 of the token, as the store keeps it) until callogctl has it."""
    p = d.ctl("agent", "add", aid, check=False)
    if p.returncode == 0:
        return p.stdout.strip().splitlines()[-1]
    token = hashlib.sha256(os.urandom(16)).hexdigest()
    db = sqlite3.connect(d.db, timeout=10)
    with db:
        db.execute("INSERT INTO agents(id, name, token_hash, created_at) VALUES(?,?,?,0)",
                   (aid, aid, hashlib.sha256(token.encode()).hexdigest()))
    db.close()
    return token


def served(d, n=5, unix=False, tag="probe", limit=2.0):
    """Another producer gets n events acknowledged, each within limit seconds."""
    p = Producer(d, unix=unix)
    worst = 0.0
    for i in range(n):
        t0 = time.time()
        eid = "%s-%d-%d" % (tag, time.time_ns(), i)
        a = p.event({"type": "call.queued", "call_id": "probe", "queue": "q", "id": eid})
        worst = max(worst, time.time() - t0)
        eq(a.get("ack"), eid, "probe answer %r" % a)
    p.close()
    check(worst < limit, "a probe event took %.2fs" % worst)
    return worst


def ev(i, **kw):
    e = {"type": "call.queued", "call_id": "c-%d" % i, "queue": "q", "id": "e-%d" % i}
    e.update(kw)
    return e


@test
def overlong_lines_answered_once():
    with running(events__max_line=1024) as d:
        p = Producer(d)
        # Whole over-long line at once, then a good one.
        p.send_raw("x" * 5000 + "\n")
        eq(p.read()["error"], "too_long")
        eq(p.event(ev(1))["ack"], "e-1")
        # Over-long line in pieces: one too_long while it is still arriving, the rest dropped.
        p.send_raw('{"type":"call.queued","call_id":"big","queue":"' + "y" * 3000)
        eq(p.read()["error"], "too_long")
        for _ in range(5):
            p.send_raw("z" * 3000)
            time.sleep(0.02)
        p.send_raw('","id":"never"}\n')
        eq(p.event(ev(2))["ack"], "e-2", "the rest of the over-long line is discarded")
        # The bound: max_line bytes pass, one more does not (the newline is not counted).
        base = {"type": "call.disposition", "call_id": "c-3", "agent": "a1", "code": "x", "id": "e-3", "notes": ""}
        pad = 1024 - len(json.dumps(base))
        base["notes"] = "n" * pad
        eq(len(json.dumps(base)), 1024)
        eq(p.event(base)["ack"], "e-3", "a line of exactly max_line bytes")
        base["notes"] += "n"
        base["id"] = "e-4"
        eq(p.event(base)["error"], "too_long", "max_line + 1 bytes")
        eq(p.event(ev(5))["ack"], "e-5")
        check(p.try_read(0.3) is None, "one answer per line")
        m = metrics(d)
        eq(m['callogd_errors_total{code="too_long"}'], 3.0, "too_long counted once per line")


@test
def flood_of_bad_lines_answered_in_order():
    with running() as d:
        n = 10000
        kinds = [
            ("bad_json", lambda i: '{"type":"call.queued","id":"f-%d",' % i, None),
            ("bad_event", lambda i: json.dumps({"type": "call.ringing", "id": "f-%d" % i}), "f-%d"),
            ("unknown_type", lambda i: json.dumps({"type": "call.nope", "call_id": "c", "id": "f-%d" % i}), "f-%d"),
            ("bad_json", lambda i: "\xff\xfe garbage %d" % i, None),
        ]
        lines, want = [], []
        for i in range(n):
            code, mk, idf = kinds[i % len(kinds)]
            lines.append(mk(i))
            want.append((code, idf % i if idf else None))
        p = Producer(d, unix=True)
        p.sock.settimeout(30)
        data = ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")
        sender = threading.Thread(target=p.send_raw, args=(data,), daemon=True)
        sender.start()
        worst = []
        prober = threading.Thread(target=lambda: worst.append(served(d, 20, tag="flood", limit=3.0)), daemon=True)
        prober.start()
        for i in range(n):
            a = p.read(30)
            eq((a.get("error"), a.get("id")), want[i], "answer %d" % i)
        sender.join(10)
        prober.join(30)
        check(worst, "the other client was served during the flood")
        check(p.try_read(0.3) is None, "no extra answers")
        eq(p.event(ev(1))["ack"], "e-1", "the flooding connection still works")


@test
def thousand_connections_opened_and_dropped():
    with running() as d:
        base = metrics(d)['callogd_connections_accepted_total{kind="events"}']
        socks = []
        for i in range(1000):
            s = LineClient(d.events_sock if i % 2 else ("127.0.0.1", d.events_port)).sock
            kind = i % 5
            if kind == 1:
                s.sendall(b'{"type":"call.queued","call_id":"c-')  # mid-line
            elif kind == 2:
                s.sendall((json.dumps(ev(i)) + "\n").encode())  # never reads the ack
            elif kind == 3 and i % 2 == 0:
                s.sendall(b'{"type":"call.queued"')
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
            socks.append(s)
            if len(socks) == 50:
                for s in socks:
                    s.close()
                socks = []
        for s in socks:
            s.close()
        served(d, 5)
        deadline = time.time() + 10
        while time.time() < deadline:
            m = metrics(d)
            if m['callogd_connections{kind="events"}'] == 0:
                break
            time.sleep(0.1)
        eq(m['callogd_connections{kind="events"}'], 0.0, "every dropped connection was freed")
        check(m['callogd_connections_accepted_total{kind="events"}'] - base >= 1000, "all accepted")
        check(d.proc.poll() is None, "daemon up")


@test
def one_byte_per_second_client_does_not_block_others():
    with running() as d:
        slow = Producer(d)
        line = (json.dumps(ev(1)) + "\n").encode()
        for b in line[:4]:
            slow.send_raw(bytes([b]))
            served(d, 3, tag="slow", limit=0.5)
            time.sleep(1.0)
        slow.send_raw(line[4:])
        eq(slow.read()["ack"], "e-1", "the slow line, assembled")


@test
def console_that_never_reads_is_dropped_others_get_pops():
    with running(agents__max_output=65536) as d:
        t1, t2 = agent(d, "a1"), agent(d, "a2")
        # The stuck console, on the Unix socket: no TCP autotuning, so the kernel holds
        # a few hundred kB for it at most and the rest queues in the daemon.
        stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(d.agents_sock)
        stuck.sendall((json.dumps({"type": "hello", "agent": "a1", "token": t1}) + "\n").encode())
        good = Console(d, "a2", t2)
        eq(good.welcome.get("type"), "welcome", "a2 welcome")
        p = Producer(d)
        n = 1000
        got = []

        def reader():
            while len(got) < n:
                m = good.read(10)
                if m.get("type") == "pop":
                    got.append(m["call_id"])
        rt = threading.Thread(target=reader, daemon=True)
        rt.start()
        t0 = time.time()
        lines = []
        for i in range(n):
            cid = "p-%d" % i
            lines.append(json.dumps({"type": "call.offered", "call_id": cid, "from": "5551234567", "to": "8005550100",
                                     "data": {"blob": "d" * 1500}}))
            lines.append(json.dumps({"type": "call.ringing", "call_id": cid, "agent": "a1"}))
            lines.append(json.dumps({"type": "call.ringing", "call_id": cid, "agent": "a2"}))
        p.send_raw("\n".join(lines) + "\n")
        for i in range(len(lines)):
            check("ack" in p.read(10), "event %d acked" % i)
        rt.join(20)
        eq(len(got), n, "pops to the reading console")
        check(time.time() - t0 < 20, "the stuck console did not slow the others")
        m = metrics(d)
        check(m["callogd_slow_consoles_dropped_total"] >= 1, "stuck console dropped")
        # The daemon closed it: after whatever was buffered, EOF.
        stuck.settimeout(5)
        closed = False
        try:
            while True:
                chunk = stuck.recv(1 << 20)
                if not chunk:
                    closed = True
                    break
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            pass
        check(closed, "the stuck console was disconnected")


@test
def hostile_bytes_each_answered_connection_continues():
    with running() as d:
        p = Producer(d)
        cases = [
            (b'{"type":"call.queued","call_id":"c\xff\xfe","queue":"q","id":"u1"}', {"bad_json"}),
            (b'{"type":"call.queued","call_id":"\xc0\xaf","queue":"q"}', {"bad_json"}),
            (b'{"type":"call.queued","call_id":"\xed\xa0\x80","queue":"q"}', {"bad_json"}),  # surrogate
            (b'{"type":"call.queued","call_id":"a\x00b","queue":"q"}', {"bad_json"}),
            (b'\x00\x00\x00\x00', {"bad_json"}),
            (b'{"type":"call.queued","call_id":"a\\u0000b","queue":"q","id":"n1"}', {"bad_json", "bad_event"}),
            (b'[' * 60000, {"bad_json"}),
            (b'{"type":"call.offered","call_id":"deep","from":"1","to":"2","data":' + b'{"a":' * 5000 + b'1'
             + b'}' * 5001, {"bad_json", "bad_event"}),
            (b'{"type":"call.queued","call_id":"c","queue":"q","n":1e999999}', {"bad_json", "ack"}),
            (b'{"type":"call.queued","call_id":"c","queue":"q","n":123456789012345678901234567890}',
             {"bad_json", "ack"}),
            (b'{"type":"call.queued","call_id":"c","queue":"q","ts":1e308}', {"bad_event"}),
            (b'{"type":"call.queued","call_id":"c","queue":"q","ts":"99999-01-01T00:00:00Z"}', {"bad_event"}),
            (b'{"type":"call.queued","call_id":99999999999999999999999,"queue":"q"}', {"bad_json", "bad_event"}),
            (b'{"type":"call.queued","call_id":"c","queue":"q","id":"\xe2\x82"}', {"bad_json"}),
            (b'\xef\xbb\xbf{"type":"call.queued","call_id":"bom","queue":"q"}', {"bad_json", "ack"}),
            (b'{"type":"call.queued","call_id":"c","queue":"q"}{"x":1}', {"bad_json"}),
            (b'"just a string"', {"bad_json"}),
            (b'null', {"bad_json"}),
            (b'\t  \r', {"bad_json", None}),  # whitespace only: an error, or a keep-alive without answer
        ]
        for raw, allowed in cases:
            p.send_raw(raw + b"\n")
            if None in allowed:
                a = p.try_read(0.5)
                got = None if a is None else a.get("error", "ack" if "ack" in a else a)
            else:
                a = p.read(5)
                got = a.get("error", "ack" if "ack" in a else a)
            if os.environ.get("VERBOSE"):
                print("  %r -> %r" % (raw[:50], a))
            check(got in allowed, "%r... answered %r" % (raw[:60], a))
            if a is not None and "error" in a:
                check(isinstance(a.get("message"), str), "error has a message: %r" % a)
        eq(p.event(ev(1))["ack"], "e-1", "connection continues")
        check(d.proc.poll() is None, "daemon up")


@test
def producer_that_never_reads_acks_is_throttled():
    with running() as d:
        pid = d.proc.pid

        def rss_kb():
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
            return 0

        rss0 = rss_kb()
        s = LineClient(("127.0.0.1", d.events_port)).sock
        s.setblocking(False)
        chunk = "".join(json.dumps({"type": "call.ringing", "id": "n-%06d" % i}) + "\n" for i in range(1000)).encode()
        per = chunk.count(b"\n")
        budget = 256 << 20  # what an unbounded daemon would swallow
        sent, stalled_since = 0, None
        while sent < budget:
            try:
                sent += s.send(chunk[sent % len(chunk):])
                stalled_since = None
            except BlockingIOError:
                stalled_since = stalled_since or time.time()
                if time.time() - stalled_since > 1.0:
                    break
                time.sleep(0.01)
        check(sent < budget, "the daemon kept reading a client that never reads (%d MB)" % (sent >> 20))
        grew = rss_kb() - rss0
        print("  never-reader: %.1f MB accepted by the kernel and daemon, daemon RSS +%d MB"
              % (sent / 1e6, grew >> 10), flush=True)
        with open("/proc/%d/maps" % pid) as f:
            asan = "libasan" in f.read()  # ASan's quarantine holds freed memory: RSS says little
        check(asan or grew < 128 << 10, "daemon RSS grew %d MB" % (grew >> 10))
        served(d, 5, tag="meanwhile")
        # Now it reads: every line it sent (the last chunk completed meanwhile) is answered, in order.
        s.setblocking(True)
        s.settimeout(10)
        rest = chunk[sent % len(chunk):] if sent % len(chunk) else b""
        finisher = threading.Thread(target=s.sendall, args=(rest,), daemon=True)
        finisher.start()
        lc = LineClient.__new__(LineClient)
        lc.sock, lc.buf = s, b""
        total = (sent + len(rest)) // len(chunk) * per
        for i in range(total):
            a = lc.read(10)
            eq(a.get("id"), "n-%06d" % (i % per), "answer %d in order" % i)
        finisher.join(10)
        check(lc.try_read(0.3) is None, "no extra answers")
        s.close()


@test
def max_clients_enforced_and_counted():
    with running(events__max_clients=4) as d:
        ps = [Producer(d, unix=bool(i % 2)) for i in range(4)]
        for i, p in enumerate(ps):
            eq(p.event(ev(i))["ack"], "e-%d" % i)
        refused = []
        for i in range(3):
            c = LineClient(d.events_sock if i % 2 else ("127.0.0.1", d.events_port))
            try:
                c.send(ev(100 + i))
            except OSError:
                pass
            refused.append(c.closed(2.0))
            c.close()
        eq(refused, [True, True, True], "connections past the cap are closed")
        m = metrics(d)
        eq(m['callogd_connections_refused_total{kind="events"}'], 3.0, "refusals counted")
        eq(m['callogd_connections{kind="events"}'], 4.0)
        for i, p in enumerate(ps):
            eq(p.event(ev(10 + i))["ack"], "e-%d" % (10 + i), "the admitted ones still work")
        ps[0].close()
        deadline = time.time() + 5
        while metrics(d)['callogd_connections{kind="events"}'] > 3 and time.time() < deadline:
            time.sleep(0.05)
        served(d, 2)  # a slot freed up


if __name__ == "__main__":
    run()
