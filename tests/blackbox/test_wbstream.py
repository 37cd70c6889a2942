"""test_wbstream.py : GET /api/wallboard/stream (docs/reports.md) against a real daemon:
roles as GET /api/wallboard; a snapshot first, equal to the polled one; an event's
change as a `queue`, `agent` or `hours` update within 2 s, and nothing while nothing
changes; a cap on streams (503 past it, a closed stream frees its place); a stream
that does not read dropped at agents.max_output while the others go on."""
import os
import socket
import sys
import threading
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(__file__))
from harness import SSE, Producer, check, eq, metrics, run, running, test  # noqa: E402

PATH = "/api/wallboard/stream"


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def now_ms():
    return int(time.time() * 1000)


def wall(d, token):
    return SSE(d, None, token=token, path=PATH)


def until(s, pred, timeout=2.0):
    """The first message pred accepts within timeout; the others are skipped."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = s.try_next(max(0.01, deadline - time.time()))
        if m is not None and pred(m):
            return m
    raise AssertionError("no such message within %.1f s" % timeout)


@test
def roles_as_the_snapshot():
    with running(stats__timezone="UTC") as d:
        d.add_agent("a1")
        agent_token = d.ctl("agent", "add", "a2").stdout.strip().splitlines()[-1]
        sup = d.ctl("token", "add", "wall", "--role", "supervisor").stdout.strip().splitlines()[-1]
        prod = d.ctl("token", "add", "pbx", "--role", "producer").stdout.strip().splitlines()[-1]
        eq(SSE(d, None, path=PATH).status, 401)
        eq(SSE(d, None, token="nope", path=PATH).status, 401)
        eq(SSE(d, None, token=prod, path=PATH).status, 403)
        check(SSE(d, None, token=agent_token, path=PATH).status in (401, 403), "an agent token is no supervisor")
        for token in (sup, d.token()):
            s = wall(d, token)
            eq(s.status, 200)
            eq(s.headers.get("content-type"), "text/event-stream")
            m = s.next(3)
            eq(m["event"], "snapshot")
            _, polled, _ = d.get("/api/wallboard", token=token)
            for k in ("date", "tz", "sla_seconds", "queues", "hours"):
                eq(m["data"][k], polled[k], k)
            eq([a["id"] for a in m["data"]["agents"]], [a["id"] for a in polled["agents"]])
            s.close()


@test
def changes_come_as_updates():
    with running(stats__timezone="UTC") as d:
        d.add_agent("a1")
        p = Producer(d)
        t = now_ms()
        check("ack" in p.event({"type": "call.offered", "call_id": "u0", "queue": "sales", "from": "1", "to": "2",
                                "ts": iso(t - 5000)}))
        s = wall(d, d.token())
        first = s.next(3)
        eq(first["event"], "snapshot")
        eq([q["queue"] for q in first["data"]["queues"]], ["sales"])
        # Nothing happens: no update (heartbeats are comments).
        eq(s.try_next(1.5), None)
        t0 = time.monotonic()
        check("ack" in p.event({"type": "call.offered", "call_id": "u1", "queue": "support", "from": "1", "to": "2",
                                "ts": iso(now_ms())}))
        m = until(s, lambda m: m["event"] == "queue" and m["data"]["queue"] == "support")
        check(time.monotonic() - t0 < 2.0, "the update took %.2f s" % (time.monotonic() - t0))
        eq((m["data"]["offered"], m["data"]["waiting"]), (1, 1))
        h = until(s, lambda m: m["event"] == "hours")
        eq(sum(x["offered"] for x in h["data"]["hours"]), 2)
        check("ack" in p.event({"type": "agent.state", "agent": "a1", "state": "not_ready", "reason": "lunch",
                                "ts": iso(now_ms())}))
        a = until(s, lambda m: m["event"] == "agent")
        eq((a["data"]["id"], a["data"]["state"], a["data"]["reason"]), ("a1", "not_ready", "lunch"))
        # The sales queue did not change: no update for it.
        check("ack" in p.event({"type": "call.answered", "call_id": "u1", "agent": "a1", "ts": iso(now_ms())}))
        m = until(s, lambda m: m["event"] == "queue")
        eq((m["data"]["queue"], m["data"]["answered"], m["data"]["waiting"]), ("support", 0, 0))
        rest = []
        while True:
            x = s.try_next(1.0)
            if x is None:
                break
            rest.append(x)
        check(all(not (x["event"] == "queue" and x["data"]["queue"] == "sales") for x in rest), rest)
        ids = [int(x["id"]) for x in [first, m] + rest]
        eq(ids, sorted(ids))
        p.close()


@test
def streams_are_capped_and_freed_on_close():
    with running(stats__wallboard_streams=2) as d:
        token = d.token()
        a, b = wall(d, token), wall(d, token)
        eq((a.status, b.status), (200, 200))
        c = wall(d, token)
        eq(c.status, 503)
        eq(c.body()["error"], "busy")
        a.close()
        deadline = time.time() + 3
        while time.time() < deadline:
            c = wall(d, token)
            if c.status == 200:
                break
            time.sleep(0.1)
        eq(c.status, 200)
        eq(c.next(3)["event"], "snapshot")
        eq(b.next(3)["event"], "snapshot")


@test
def a_stream_that_does_not_read_is_dropped():
    with running(agents__max_output=131072, stats__timezone="UTC") as d:
        token = d.token()
        p = Producer(d)
        ids = ["agent-%04d-" % i + "x" * 100 for i in range(1000)]

        def states(state):
            """Every agent changes state: each is an `agent` update of about 250 bytes."""
            t = iso(now_ms())
            p.send_raw("".join('{"type":"agent.state","agent":"%s","state":"%s","ts":"%s"}\n' % (a, state, t)
                               for a in ids))
            for _ in ids:
                check("ack" in p.read(10))
        states("logged_in")
        # Reads nothing, with a small window, so what it is sent piles up in the daemon.
        slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        slow.connect(("127.0.0.1", d.http_port))
        slow.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % (PATH, token)).encode())
        # Reads everything, on its own thread, as fast as it comes.
        good = wall(d, token)
        eq(good.next(3)["event"], "snapshot")
        seen, stop = [], threading.Event()

        def drain():
            while not stop.is_set():
                try:
                    m = good.try_next(0.2)
                except EOFError:
                    seen.append("closed")
                    return
                if m is not None:
                    seen.append(m)
        reader = threading.Thread(target=drain)
        reader.start()
        try:
            before = metrics(d).get("callogd_slow_consoles_dropped_total", 0)
            for rnd in range(60):
                states(["ready", "not_ready"][rnd % 2])
                time.sleep(0.6)
                if metrics(d).get("callogd_slow_consoles_dropped_total", 0) > before:
                    break
            eq(metrics(d).get("callogd_slow_consoles_dropped_total", 0), before + 1, "dropped: the one not reading")
            # The one that reads goes on.
            states("logged_out")
            deadline = time.time() + 10
            while time.time() < deadline and not any(
                    isinstance(m, dict) and m["event"] == "agent" and m["data"]["state"] == "logged_out" for m in seen):
                time.sleep(0.1)
            check("closed" not in seen, "the stream that reads was closed")
            check(any(isinstance(m, dict) and m["event"] == "agent" and m["data"]["state"] == "logged_out"
                      for m in seen), "the stream that reads goes on")
        finally:
            stop.set()
            reader.join()
            slow.close()
            p.close()


if __name__ == "__main__":
    run()
