"""test_offloop.py : nothing on the event loop waits for the database (issue 11):
a long API query does not hold back a screen-pop, clients that leave while
their request is on a worker, console hellos checked off the loop."""
import json
import os
import socket
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Console, Daemon, LineClient, Producer, check, eq, run, running, test  # noqa: E402

BULK_CALLS = 150000  # GET /api/calls?agent=nobody scans them all: about 0.5 s on the test machine


def bulk_calls(db, n, first=0):
    """Writes n ended calls (ids after first) straight into the database (the daemon is stopped)."""
    con = sqlite3.connect(db)
    con.execute(
        "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?) "
        "INSERT INTO calls(call_id, from_num, to_num, number, queue, agent, agents, has_offer, offered_at, "
        "answered_at, ended_at, end_reason) "
        "SELECT 'bulk-' || (i + ?), '+15550000000', '+18005550100', '+15550000000', 'support', 'a9', '[\"a9\"]', 1, "
        "1700000000000 + i * 1000, 1700000000500 + i * 1000, 1700000060000 + i * 1000, 'completed' FROM k",
        (n, first))
    con.commit()
    con.close()


def slow_query(d, out):
    """GET /api/calls?agent=nobody on its own connection; out gets (start, end, status)."""
    t0 = time.monotonic()
    status, body, _ = d.get("/api/calls?agent=nobody")
    out.append((t0, time.monotonic(), status, body))


def big_daemon():
    d = Daemon()
    d.start()
    tok = d.add_agent("a1")
    d.token()
    d.stop()
    bulk_calls(d.db, BULK_CALLS)
    d.start()
    return d, tok


@test
def long_query_does_not_hold_back_a_pop():
    d, tok = big_daemon()
    try:
        # Warm the page cache, and see the query is long enough to show anything: on a fast,
        # idle machine add calls (the daemon stopped) until it is.
        for rnd in range(4):
            t0 = time.monotonic()
            status, body, _ = d.get("/api/calls?agent=nobody")
            took = time.monotonic() - t0
            eq(status, 200)
            eq(body, {"calls": [], "next": None})
            if took > 0.15:
                break
            d.stop()
            bulk_calls(d.db, BULK_CALLS, first=(rnd + 1) * BULK_CALLS)
            d.start()
        check(took > 0.15, "the query took only %.3fs: the test needs a longer one" % took)
        c = Console(d, "a1", tok)
        p = Producer(d)
        lat = []
        for i in range(3):
            call = "c-%d" % i
            check("seq" in p.event({"type": "call.offered", "call_id": call, "from": "5551234567", "to": "100"}))
            q = []
            th = threading.Thread(target=slow_query, args=(d, q))
            th.start()
            time.sleep(0.05)  # the query is running on the daemon
            t_ring = time.monotonic()
            p.send({"type": "call.ringing", "call_id": call, "agent": "a1"})
            m = c.next(timeout=5.0)
            t_pop = time.monotonic()
            eq((m["type"], m["call_id"]), ("pop", call))
            check("seq" in p.read())
            th.join()
            q_start, q_end, q_status, _ = q[0]
            eq(q_status, 200)
            lat.append(t_pop - t_ring)
            print("pop %.1f ms after its ring; the query ran %.1f ms and ended %.1f ms after the pop" %
                  ((t_pop - t_ring) * 1e3, (q_end - q_start) * 1e3, (q_end - t_pop) * 1e3))
            check(q_end > t_pop, "the query ended before the pop: it did not overlap it")
        # The median, so one scheduling hiccup on a loaded machine is not a failure; before the
        # queries left the loop every pop waited for the query (0.4-0.5 s each).
        check(sorted(lat)[1] < 0.1, "pop latencies during the query: %s" % ["%.3f" % x for x in lat])
    finally:
        d.cleanup()


@test
def clients_that_leave_while_their_query_runs():
    d, tok = big_daemon()
    try:
        token = d.token()
        for i in range(4):
            s = socket.create_connection(("127.0.0.1", d.http_port))
            s.sendall(("GET /api/calls?agent=nobody HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                       % token).encode())
            time.sleep(0.02 * i)
            s.close()
        # Half-sent and pipelined: a request whose peer shuts its side.
        s = socket.create_connection(("127.0.0.1", d.http_port))
        s.sendall(("GET /api/agents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % token).encode())
        s.shutdown(socket.SHUT_WR)
        s.close()
        # The daemon still answers, and a stop while a query runs is clean (ASan checks at stop).
        status, body, _ = d.get("/api/agents")
        eq(status, 200)
        eq([a["id"] for a in body["agents"]], ["a1"])
        s = socket.create_connection(("127.0.0.1", d.http_port))
        s.sendall(("GET /api/calls?agent=nobody HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                   % token).encode())
        time.sleep(0.05)
        t0 = time.monotonic()
        eq(d.stop(), 0)
        check(time.monotonic() - t0 < 5, "stop took too long")
        s.close()
    finally:
        d.cleanup()


@test
def console_lines_after_the_hello_wait_for_its_check():
    with running() as d:
        tok = d.add_agent("a1")
        c = LineClient(("127.0.0.1", d.agents_port))
        # hello, ping and a state in one write: answered in order once the token is checked
        c.send_raw(json.dumps({"type": "hello", "agent": "a1", "token": tok}) + "\n" +
                   json.dumps({"type": "ping"}) + "\n" + json.dumps({"type": "state", "state": "ready"}) + "\n")
        eq(c.read(), {"type": "welcome", "agent": "a1"})
        eq(c.read(), {"type": "pong"})
        eq(c.read(), {"type": "ok"})
        # A wrong token with lines behind it: one auth error, then closed.
        c = LineClient(("127.0.0.1", d.agents_port))
        c.send_raw(json.dumps({"type": "hello", "agent": "a1", "token": "0" * 64}) + "\n" +
                   json.dumps({"type": "ping"}) + "\n")
        eq(c.read(), {"type": "error", "code": "auth"})
        check(c.closed(), "closed after the auth error")
        # Consoles that leave before their check comes back.
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", d.agents_port))
            s.sendall((json.dumps({"type": "hello", "agent": "a1", "token": tok}) + "\n").encode())
            s.close()
        status, body, _ = d.get("/api/agents")
        eq(status, 200)
        c = Console(d, "a1", tok)
        eq(c.welcome["agent"], "a1")


@test
def console_messages_read_the_database_on_a_worker_in_order():
    with running() as d:
        tok = d.add_agent("a1")
        eq(d.import_customers("id,name,phones\nC-1,Ada,+15551234567\n").returncode, 0, "import")
        p = Producer(d)
        for e in ({"type": "call.offered", "call_id": "old-1", "from": "5551234567", "to": "100"},
                  {"type": "call.answered", "call_id": "old-1", "agent": "a1"},
                  {"type": "call.ended", "call_id": "old-1"}):
            check("seq" in p.event(e))
        p.close()
        # After a restart only the call's record says a1 answered it: the checks read it on a worker.
        d.stop()
        d.start()
        c = Console(d, "a1", tok)
        msgs = [{"type": "disposition", "call_id": "old-1", "code": "resolved"}, {"type": "ping"},
                {"type": "select", "call_id": "old-1", "customer_id": "C-nope"},
                {"type": "select", "call_id": "old-1", "customer_id": "C-1"},
                {"type": "disposition", "call_id": "nobodys", "code": "resolved"},
                {"type": "state", "state": "ready"}]
        c.send_raw("".join(json.dumps(m) + "\n" for m in msgs))
        got = [c.next(skip_types=("pop", "call", "state")) for _ in msgs]
        eq([(m["type"], m.get("code")) for m in got],
           [("ok", None), ("pong", None), ("error", "bad_event"), ("ok", None), ("error", "forbidden"),
            ("ok", None)], "answered in order")
        status, call, _ = d.get("/api/calls/old-1")
        eq((status, call["disposition"]["code"], call["customer_id"]), (200, "resolved", "C-1"))


if __name__ == "__main__":
    run()
