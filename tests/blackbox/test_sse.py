#!/usr/bin/env python3
"""test_sse.py : GET /api/agents/ID/stream over raw HTTP: who may open a stream,
the message format, pops reaching only their agent, Last-Event-ID replay, and a
stream that never reads being dropped without slowing anyone else (docs/consoles.md)."""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SSE, Console, Producer, check, eq, login_cookie, run, running, test  # noqa: E402

CUSTOMERS = ("id,name,phones,email,account,tier,notes\n"
             "C-7,Ada Lovelace,+15551234567,ada@example.com,ACC-1,gold,prefers email\n")


def setup(d):
    """Agents a1 and a2 (callogctl agent add) and one customer (callogctl import); the agents' tokens."""
    tokens = {a: d.add_agent(a) for a in ("a1", "a2")}
    p = d.import_customers(CUSTOMERS)
    eq(p.returncode, 0, "callogctl import: %s %s" % (p.stdout, p.stderr))
    return tokens


def ring(p, call_id, *agents, frm="+1 (555) 123-4567", data=None):
    ev = {"type": "call.offered", "call_id": call_id, "from": frm, "to": "8005550100", "queue": "support"}
    if data is not None:
        ev["data"] = data
    check("ack" in p.event(ev), "offered acked")
    for a in agents:
        check("ack" in p.event({"type": "call.ringing", "call_id": call_id, "agent": a}), "ringing acked")


@test
def who_may_open_a_stream():
    with running() as d:
        t = setup(d)
        api = d.token()
        s = SSE(d, "a1", token=t["a1"])
        eq(s.status, 200, "own agent token")
        check(s.headers.get("content-type", "").startswith("text/event-stream"), "content type %r" % s.headers)
        s.close()
        s = SSE(d, "a1", token=t["a2"])
        eq(s.status, 401, "another agent's token")
        eq(s.body().get("error"), "unauthorized")
        s.close()
        eq(stream_status(d, "a1"), 401, "no token")
        eq(stream_status(d, "a1", token="not-a-token"), 401, "a wrong token")
        eq(stream_status(d, "a1", token=api), 200, "an API token")
        status, cookie = login_cookie(d, "a1", t["a1"])
        eq(status, 200, "login")
        check(cookie, "login sets the session cookie")
        eq(stream_status(d, "a1", cookie=cookie), 200, "session cookie")
        eq(stream_status(d, "a2", cookie=cookie), 401, "a1's session on a2's stream")
        eq(login_cookie(d, "a1", t["a2"])[0], 401, "login with another agent's token")
        status, other = login_cookie(d, "a1", t["a1"])
        eq(status, 200, "a second session (another browser)")
        eq(len({login_cookie(d, "a1", t["a1"])[1] for _ in range(30)} | {cookie, other}), 32,
           "every login its own session, even within one millisecond")
        d.http("POST", "/api/logout", auth=False, headers={"Cookie": "callogd_session=" + cookie, "Content-Type": "application/json"})
        eq(stream_status(d, "a1", cookie=cookie), 401, "session cookie after logout")
        # The logout is stored: a restart does not bring the session back, and
        # the agent's other session is not logged out by it.
        d.stop()
        d.start()
        eq(stream_status(d, "a1", cookie=cookie), 401, "session cookie after logout and a restart")
        eq(stream_status(d, "a1", cookie=other), 200, "the other session, after the restart")


def stream_status(d, agent, **kw):
    """The HTTP status of opening agent's stream (closed again)."""
    s = SSE(d, agent, **kw)
    s.close()
    return s.status


@test
def pops_reach_their_agent_only():
    with running() as d:
        t = setup(d)
        s1, s2 = SSE(d, "a1", token=t["a1"]), SSE(d, "a2", token=t["a2"])
        p = Producer(d)
        ring(p, "c-1", "a1", data={"ivr": "billing"})
        m = s1.next()
        eq(m["event"], "pop")
        check(m["id"] and m["id"].isdigit(), "numeric id %r" % m["id"])
        pop = m["data"]
        eq(pop["call_id"], "c-1")
        eq(pop["from"], "+15551234567")
        eq(pop["customer"]["name"], "Ada Lovelace")
        eq(pop["customer"]["tier"], "gold")
        eq(pop["matches"], 1)
        eq(pop["data"], {"ivr": "billing"})
        eq(pop["number_status"], "ok")
        if "seq" in pop:
            eq(str(pop["seq"]), m["id"], "the SSE id is the message's seq")
        check(m["raw"].startswith("id: %s\nevent: pop\ndata: {" % m["id"]), "wire format: %r" % m["raw"][:60])
        p.event({"type": "call.answered", "call_id": "c-1", "agent": "a1"})
        m2 = s1.next()
        eq((m2["event"], m2["data"]["call_id"], m2["data"]["state"]), ("call", "c-1", "answered"))
        check(int(m2["id"]) > int(m["id"]), "ids grow")
        eq(s2.try_next(0.5), None, "a2 got nothing of a1's call")
        ring(p, "c-2", "a2")
        eq(s2.next()["data"]["call_id"], "c-2")
        eq(s1.try_next(0.3), None, "a1 got nothing of a2's call")
        p.event({"type": "call.ended", "call_id": "c-1"})
        eq(s1.next()["data"]["state"], "ended")
        eq(s2.try_next(0.3), None, "a2 still nothing")


def popped_then_away(d):
    """a1 opens a stream, is popped for c-1, and goes away: (tokens, producer, that pop)."""
    t = setup(d)
    p = Producer(d)
    s = SSE(d, "a1", token=t["a1"])
    ring(p, "c-1", "a1")
    first = s.next()
    eq(first["data"]["call_id"], "c-1")
    s.close()
    return t, p, first


@test
def last_event_id_replays_what_was_missed():
    with running() as d:
        t, p, first = popped_then_away(d)
        # Missed while away: an answer and end of c-1, a new pop, and a2's call (not ours).
        p.event({"type": "call.answered", "call_id": "c-1", "agent": "a1"})
        p.event({"type": "call.ended", "call_id": "c-1"})
        ring(p, "c-2", "a1", frm="anonymous")
        ring(p, "c-3", "a2")
        s = SSE(d, "a1", token=t["a1"], last_event_id=first["id"])
        eq(s.status, 200)
        got = drain(s)
        # Exactly the missed messages, in order, under their original ids: no
        # fresh pops of the calls still ringing (that is for a stream without
        # Last-Event-ID), so an EventSource's lastEventId never goes back.
        eq([(m["event"], m["data"]["call_id"], m["data"].get("state")) for m in got],
           [("call", "c-1", "answered"), ("call", "c-1", "ended"), ("pop", "c-2", None)],
           "replayed after Last-Event-ID")
        ids = [int(m["id"]) for m in got]
        eq(ids, sorted(set(ids)), "in order, no repeats")
        check(ids[0] > int(first["id"]), "all after Last-Event-ID")
        s.close()
        # Caught up: reconnecting with the newest id replays nothing...
        s = SSE(d, "a1", token=t["a1"], last_event_id=ids[-1])
        eq(drain(s), [], "nothing after the newest id")
        # ...and live messages still flow.
        ring(p, "c-4", "a1")
        m = s.next()
        eq((m["event"], m["data"]["call_id"]), ("pop", "c-4"))
        check(int(m["id"]) > ids[-1], "a live id after the replayed ones")
        s.close()
        # Without Last-Event-ID a new stream starts with a pop for each call
        # still ringing or connected: c-2 and c-4.
        s = SSE(d, "a1", token=t["a1"])
        eq(sorted(m["data"]["call_id"] for m in drain(s) if m["event"] == "pop"), ["c-2", "c-4"], "the current calls")


@test
def replay_memory_budget_falls_back_to_fresh_pops():
    """pops.replay_memory bounds replay over all agents: a message not kept makes a
    reconnect get fresh pops of the current calls instead of an incomplete replay."""
    with running(pops__replay_memory=1) as d:
        t, p, first = popped_then_away(d)
        # Six other agents with a console each, rung with ~30 KB pops: each would keep up
        # to 256 KB for replay, 1.5 MB in all, over the 1 MiB budget.
        fill = ["f%d" % i for i in range(1, 7)]
        consoles = [Console(d, a, d.add_agent(a)) for a in fill]
        for i in range(10):
            for a in fill:
                ring(p, "big-%s-%d" % (a, i), a, frm="anonymous", data={"notes": "x" * 30000})
        # Missed while away, and not kept: what the budget has left is less than one
        # filler pop, and this one is twice that.
        ring(p, "c-2", "a1", frm="anonymous", data={"notes": "y" * 60000})
        s = SSE(d, "a1", token=t["a1"], last_event_id=first["id"])
        eq(s.status, 200)
        got = drain(s)
        # Not [pop c-2] (an exact replay would be that): fresh pops of both current calls.
        eq(sorted((m["event"], m["data"]["call_id"]) for m in got), [("pop", "c-1"), ("pop", "c-2")],
           "fresh pops after a replay the budget could not keep")
        check(all(int(m["id"]) > int(first["id"]) for m in got), "new ids")
        s.close()
        status, text, _ = d.get("/metrics", auth=False)
        eq(status, 200)
        vals = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
        check(int(vals["callogd_replay_skipped_total"]) > 0, "skipped messages counted")
        check(0 < int(vals["callogd_replay_bytes"]) <= 1024 * 1024, "within the budget: %s" % vals["callogd_replay_bytes"])
        check("replay memory full" in d.read_log(), "logged")
        for c in consoles:
            c.close()


def drain(s, quiet=0.7):
    """Every message until the stream is quiet for `quiet` seconds."""
    out = []
    while True:
        m = s.try_next(quiet)
        if m is None:
            return out
        out.append(m)


@test
def a_stream_that_never_reads_is_dropped_without_slowing_others():
    n_calls = 2000
    with running(agents__max_output=65536) as d:
        t = setup(d)
        # a1's stream never reads, with a tiny receive window.
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(("127.0.0.1", d.http_port))
        slow.sendall(("GET /api/agents/a1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                      % t["a1"]).encode())
        time.sleep(0.2)
        fast = SSE(d, "a2", token=t["a2"])
        got, errors = [], []

        def reader():
            try:
                while len(got) < n_calls:
                    m = fast.next(timeout=20)
                    if m["event"] == "pop":
                        got.append(m["data"]["call_id"])
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        th = threading.Thread(target=reader, daemon=True)
        th.start()
        blob = "x" * 4000  # each pop is ~4 KB: the slow stream's bound is passed early
        worst, failures = [0.0], []

        def producer(k, nprod):
            # Several producers, like a PBX cluster, each waiting for its acks.
            p = Producer(d)
            try:
                for i in range(k, n_calls, nprod):
                    cid = "s-%d" % i
                    for ev in ({"type": "call.offered", "call_id": cid, "from": "5551234567", "to": "8005550100",
                                "data": {"blob": blob}},
                               {"type": "call.ringing", "call_id": cid, "agent": "a1"},
                               {"type": "call.ringing", "call_id": cid, "agent": "a2"}):
                        te = time.time()
                        a = p.event(ev)
                        worst[0] = max(worst[0], time.time() - te)
                        if "ack" not in a:
                            failures.append(a)
            except Exception as e:  # noqa: BLE001 - reported below
                failures.append(repr(e))
            p.close()

        t0 = time.time()
        prods = [threading.Thread(target=producer, args=(k, 8), daemon=True) for k in range(8)]
        for th2 in prods:
            th2.start()
        for th2 in prods:
            th2.join(60)
        worst = worst[0]
        elapsed = time.time() - t0
        th.join(30)
        eq(errors, [], "the reading stream")
        eq(len(got), n_calls, "every pop reached the reading stream")
        eq(sorted(got), sorted("s-%d" % i for i in range(n_calls)), "each pop once")
        eq(failures, [], "every event acked")
        check(worst < 2.0, "an event waited %.2fs for its ack" % worst)
        print("  %d calls (%d events) in %.2fs, slowest ack %.3fs" % (n_calls, 3 * n_calls, elapsed, worst))
        # The slow stream was cut: after what the kernel buffered, the socket ends.
        slow.settimeout(5)
        total, ended = 0, False
        try:
            while True:
                chunk = slow.recv(1 << 20)
                if not chunk:
                    ended = True
                    break
                total += len(chunk)
        except ConnectionResetError:
            ended = True
        except (socket.timeout, TimeoutError):
            pass
        check(ended, "the never-reading stream was closed (read %d bytes, no end)" % total)
        check(total < n_calls * 4000, "it did not get everything (%d bytes)" % total)
        _, agents, _ = d.get("/api/agents", token=d.token())
        consoles = {a["id"]: a["consoles"] for a in agents["agents"]}
        eq(consoles.get("a1"), 0, "a1's stream is gone")
        eq(consoles.get("a2"), 1, "a2's stream is still there")
        fast.close()
        slow.close()


if __name__ == "__main__":
    run()
