"""test_events.py : call events in (docs/events.md) and the call records they make
(docs/http-api.md), over TCP, the Unix socket and POST /api/events, as a PBX would."""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import LineClient, Producer, check, eq, run, running, test  # noqa: E402

T0 = "2026-11-22T10:00:00.000Z"


def ts(seconds):
    """T0 + seconds as RFC 3339 with ms."""
    base = 1795341600  # 2026-11-22T10:00:00Z
    t = base + seconds
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(t))) + ".%03dZ" % round((t - int(t)) * 1000)


def send_all(p, events):
    """Pipelines events and returns their answers in order."""
    p.send_raw("".join(json.dumps(e) + "\n" for e in events))
    return [p.read() for _ in events]


def call(d, call_id):
    status, body, _ = d.get("/api/calls/" + call_id)
    eq(status, 200, body)
    return body


@test
def answered_call_with_holds_and_disposition():
    with running() as d:
        p = Producer(d)
        evs = [
            {"type": "call.offered", "id": "e1", "call_id": "c1", "from": "+1 (555) 123-4567", "to": "800-555-0100",
             "queue": "support", "data": {"ivr": "billing", "lang": "en"}, "ts": ts(0)},
            {"type": "call.queued", "id": "e2", "call_id": "c1", "queue": "billing", "ts": ts(1)},
            {"type": "call.ringing", "id": "e3", "call_id": "c1", "agent": "a1", "ts": ts(2)},
            {"type": "call.answered", "id": "e4", "call_id": "c1", "agent": "a1", "ts": ts(5.5)},
            {"type": "call.held", "id": "e5", "call_id": "c1", "agent": "a1", "ts": ts(10)},
            {"type": "call.resumed", "id": "e6", "call_id": "c1", "agent": "a1", "ts": ts(13)},
            {"type": "call.held", "id": "e7", "call_id": "c1", "ts": ts(20)},
            {"type": "call.resumed", "id": "e8", "call_id": "c1", "ts": ts(22)},
            {"type": "call.ended", "id": "e9", "call_id": "c1", "reason": "completed", "by": "agent", "ts": ts(65.5)},
            {"type": "call.disposition", "id": "e10", "call_id": "c1", "agent": "a1", "code": "billing",
             "notes": "refund issued", "ts": ts(80)},
        ]
        answers = send_all(p, evs)
        for i, a in enumerate(answers):
            eq(a, {"ack": "e%d" % (i + 1), "seq": i + 1})
        c = call(d, "c1")
        eq(c["call_id"], "c1")
        eq(c["direction"], "inbound")
        eq(c["from"], "+15551234567")
        eq(c["to"], "+18005550100")
        eq(c["queue"], "billing")
        eq(c["agent"], "a1")
        eq(c["agents"], ["a1"])
        eq(c["offered_at"], ts(0))
        eq(c["answered_at"], ts(5.5))
        eq(c["ended_at"], ts(65.5))
        eq(c["wait_ms"], 5500)
        eq(c["hold_ms"], 5000)
        eq(c["talk_ms"], 60000 - 5000)
        eq(c["outcome"], "answered")
        eq(c["end_reason"], "completed")
        eq(c["disposition"]["code"], "billing")
        eq(c["disposition"]["notes"], "refund issued")
        eq(c["disposition"]["agent"], "a1")
        eq(c["data"], {"ivr": "billing", "lang": "en"})
        eq([e["type"] for e in c["events"]], [e["type"] for e in evs])
        eq([e["seq"] for e in c["events"]], list(range(1, 11)))
        eq(c["events"][0]["id"], "e1")


@test
def transfers_abandons_and_unanswered():
    with running() as d:
        p = Producer(d)
        answers = send_all(p, [
            {"type": "call.offered", "call_id": "t1", "from": "5551230001", "to": "100", "ts": ts(0)},
            {"type": "call.answered", "call_id": "t1", "agent": "a1", "ts": ts(3)},
            {"type": "call.transferred", "call_id": "t1", "agent": "a1", "to_agent": "a2", "ts": ts(30)},
            {"type": "call.answered", "call_id": "t1", "agent": "a2", "ts": ts(35)},
            {"type": "call.ended", "call_id": "t1", "reason": "completed", "ts": ts(100)},
            # Abandoned by reason, and by the caller hanging up.
            {"type": "call.offered", "call_id": "ab1", "from": "5551230002", "to": "100", "ts": ts(0)},
            {"type": "call.ended", "call_id": "ab1", "reason": "abandoned", "ts": ts(40)},
            {"type": "call.offered", "call_id": "ab2", "from": "5551230003", "to": "100", "ts": ts(0)},
            {"type": "call.ended", "call_id": "ab2", "by": "caller", "ts": ts(12)},
            {"type": "call.offered", "call_id": "na1", "from": "5551230004", "to": "100", "ts": ts(0)},
            {"type": "call.ringing", "call_id": "na1", "agent": "a3", "ts": ts(1)},
            {"type": "call.ended", "call_id": "na1", "reason": "no_answer", "by": "system", "ts": ts(31)},
            # Outbound: the customer side is "to".
            {"type": "call.offered", "call_id": "out1", "direction": "outbound", "from": "100", "to": "5559876543",
             "ts": ts(0)},
        ])
        for a in answers:
            check("ack" in a and a["ack"] is None, a)
        eq([a["seq"] for a in answers], list(range(1, 14)))
        t = call(d, "t1")
        eq(t["agents"], ["a1", "a2"])
        eq(t["agent"], "a2")
        eq(t["outcome"], "answered")
        eq(t["wait_ms"], 3000)
        eq(t["talk_ms"], 97000)
        ab1, ab2, na1 = call(d, "ab1"), call(d, "ab2"), call(d, "na1")
        eq(ab1["outcome"], "abandoned")
        eq(ab1["wait_ms"], 40000)
        eq(ab1["answered_at"], None)
        eq(ab2["outcome"], "abandoned")
        eq(na1["outcome"], "unanswered")
        eq(na1["end_reason"], "no_answer")
        eq(na1["agent"], None)
        eq(na1["talk_ms"], 0)
        o = call(d, "out1")
        eq(o["direction"], "outbound")
        eq(o["to"], "+15559876543")
        eq(o["outcome"], "active")
        eq(o["ended_at"], None)


@test
def out_of_order_and_unknown_calls_are_kept():
    with running() as d:
        p = Producer(d)
        send_all(p, [
            {"type": "call.ended", "call_id": "o1", "reason": "completed", "ts": ts(60)},
            {"type": "call.answered", "call_id": "o1", "agent": "a1", "ts": ts(10)},
            {"type": "call.offered", "call_id": "o1", "from": "5551230009", "to": "100", "queue": "q", "ts": ts(0)},
            # Never offered at all.
            {"type": "call.disposition", "call_id": "ghost", "agent": "a9", "code": "misc", "ts": ts(5)},
        ])
        o = call(d, "o1")
        eq(o["offered_at"], ts(0))
        eq(o["answered_at"], ts(10))
        eq(o["ended_at"], ts(60))
        eq(o["wait_ms"], 10000)
        eq(o["talk_ms"], 50000)
        eq(o["outcome"], "answered")
        eq(o["from"], "+15551230009")
        g = call(d, "ghost")
        eq(g["disposition"]["code"], "misc")
        eq(len(g["events"]), 1)


@test
def duplicates_are_acknowledged_not_applied():
    with running() as d:
        p = Producer(d)
        a1 = p.event({"type": "call.offered", "id": "x-1", "call_id": "d1", "from": "5551230010", "to": "1"})
        a2 = p.event({"type": "call.held", "id": "x-2", "call_id": "d1", "ts": ts(0)})
        again = p.event({"type": "call.held", "id": "x-2", "call_id": "d1", "ts": ts(0)})
        eq(again, {"ack": "x-2", "seq": a2["seq"], "duplicate": True})
        # Also across connections and a restart.
        q = Producer(d, unix=True)
        eq(q.event({"type": "call.offered", "id": "x-1", "call_id": "d1", "from": "1", "to": "1"}),
           {"ack": "x-1", "seq": a1["seq"], "duplicate": True})
        d.stop()
        d.start()
        p = Producer(d)
        eq(p.event({"type": "call.held", "id": "x-2", "call_id": "d1"})["duplicate"], True)
        nxt = p.event({"type": "call.resumed", "id": "x-3", "call_id": "d1"})
        eq(nxt["seq"], a2["seq"] + 1)
        eq(len(call(d, "d1")["events"]), 3)


@test
def every_error_is_answered_and_the_connection_carries_on():
    with running(events__max_line=1024) as d:
        p = Producer(d)
        cases = [
            (b"not json", "bad_json", None),
            (b"[1,2,3]", "bad_json", None),
            (b"\"str\"", "bad_json", None),
            (b"{\"type\":\"call.offered\",\"call_id\":\"\xff\xfe\"}", "bad_json", None),
            (b"{\"call_id\":\"c\"}", "bad_event", None),
            (b"{\"type\":7}", "bad_event", None),
            (b"{\"type\":\"call.exploded\",\"id\":\"u1\",\"call_id\":\"c\"}", "unknown_type", "u1"),
            (b"{\"type\":\"call.offered\",\"id\":\"m1\",\"call_id\":\"c\",\"to\":\"1\"}", "bad_event", "m1"),
            (b"{\"type\":\"call.ringing\",\"id\":\"m2\",\"call_id\":\"c\",\"agent\":5}", "bad_event", "m2"),
            (b"{\"type\":\"call.ringing\",\"call_id\":\"" + b"x" * 129 + b"\",\"agent\":\"a\"}", "bad_event", None),
            (b"{\"type\":\"call.ended\",\"call_id\":\"c\",\"reason\":\"bored\"}", "bad_event", None),
            (b"{\"type\":\"call.held\",\"call_id\":\"c\",\"ts\":\"yesterday\"}", "bad_event", None),
            (b"{\"type\":\"agent.state\",\"agent\":\"a1\",\"state\":\"asleep\"}", "bad_event", None),
            (b"{\"type\":\"call.offered\",\"call_id\":\"c\",\"from\":\"1\",\"to\":\"1\",\"data\":[1]}", "bad_event", None),
        ]
        p.send_raw(b"".join(c[0] + b"\n" for c in cases))
        for raw, code, ident in cases:
            a = p.read()
            eq(a.get("error"), code, raw)
            eq(a.get("id"), ident, raw)
            check(isinstance(a.get("message"), str) and a["message"], a)
        # Messages name the field.
        p.send({"type": "call.ringing", "call_id": "c", "agent": 5})
        check("agent" in p.read()["message"])
        # An over-long line: one too_long, the rest of it discarded, then service as usual.
        p.send_raw(b"{\"type\":\"call.offered\",\"pad\":\"" + b"y" * 5000 + b"\"}\n")
        eq(p.read()["error"], "too_long")
        eq(p.event({"type": "call.held", "id": "after", "call_id": "c"})["ack"], "after")
        # A flood of errors, in order.
        p.send_raw(b"nope\n" * 2000 + b"{\"type\":\"call.held\",\"id\":\"last\",\"call_id\":\"c\"}\n")
        for _ in range(2000):
            eq(p.read()["error"], "bad_json")
        eq(p.read()["ack"], "last")
        # Blank lines are keep-alives, not events; CRLF is accepted.
        p.send_raw(b"\n\r\n{\"type\":\"call.held\",\"id\":\"crlf\",\"call_id\":\"c\"}\r\n")
        eq(p.read()["ack"], "crlf")
        status, body, _ = d.get("/metrics", auth=False)
        check('callogd_errors_total{code="bad_json"} 2004' in body, body[:2000])
        check('callogd_errors_total{code="too_long"} 1' in body)


@test
def token_required_when_set():
    with running(events__token="s3cret") as d:
        c = LineClient(("127.0.0.1", d.events_port))
        c.send({"type": "hello", "token": "wrong"})
        eq(c.read(), {"error": "auth"})
        check(c.closed(), "connection stays open after auth error")
        c = LineClient(("127.0.0.1", d.events_port))
        c.send({"type": "call.offered", "call_id": "x", "from": "1", "to": "2"})
        eq(c.read(), {"error": "auth"})
        p = Producer(d, token="s3cret")
        eq(p.event({"type": "call.offered", "id": "ok", "call_id": "x", "from": "1", "to": "2"})["ack"], "ok")
        # Unix socket too.
        p = Producer(d, unix=True, token="s3cret")
        eq(p.event({"type": "call.held", "id": "ok2", "call_id": "x"})["ack"], "ok2")


@test
def post_api_events():
    with running() as d:
        body = "\n".join(json.dumps(e) for e in [
            {"type": "call.offered", "id": "h1", "call_id": "hc", "from": "5551230011", "to": "100"},
            {"type": "call.answered", "id": "h2", "call_id": "hc", "agent": "a1"},
        ]) + "\nnot json\n"
        status, text, r = d.http("POST", "/api/events", body=body)
        eq(status, 200)
        lines = [json.loads(l) for l in text.strip().splitlines()]
        eq([l.get("ack") for l in lines[:2]], ["h1", "h2"])
        eq(lines[2]["error"], "bad_json")
        # One (pretty-printed) object.
        status, text, _ = d.http("POST", "/api/events", body=json.dumps(
            {"type": "call.ended", "id": "h3", "call_id": "hc"}, indent=2))
        eq(json.loads(text)["ack"], "h3")
        status, text, _ = d.http("POST", "/api/events", body=body, auth=False)
        eq(status, 401)
        status, text, _ = d.http("POST", "/api/events", body=body, token="not-a-token")
        eq(status, 401)
        eq(call(d, "hc")["outcome"], "answered")
        # Every line is answered, so the lines of one request are bounded.
        status, body, _ = d.http("POST", "/api/events", body="x\n" * 100001)
        eq(status, 413)
        eq(body["error"], "too_large")


@test
def queries_and_tokens():
    with running() as d:
        p = Producer(d)
        evs = []
        for i in range(30):
            cid = "q%02d" % i
            evs.append({"type": "call.offered", "call_id": cid, "from": "55512300%02d" % (i % 3), "to": "100",
                        "queue": "sales" if i % 2 else "support", "ts": ts(i * 60)})
            evs.append({"type": "call.answered", "call_id": cid, "agent": "a%d" % (i % 4), "ts": ts(i * 60 + 5)})
        send_all(p, evs)
        status, body, _ = d.get("/api/calls?limit=5")
        eq(status, 200)
        eq([c["call_id"] for c in body["calls"]], ["q29", "q28", "q27", "q26", "q25"])
        status, body, _ = d.get("/api/calls?queue=sales&limit=100")
        eq(len(body["calls"]), 15)
        status, body, _ = d.get("/api/calls?agent=a1&limit=100")
        eq(sorted(c["call_id"] for c in body["calls"]), ["q01", "q05", "q09", "q13", "q17", "q21", "q25", "q29"])
        status, body, _ = d.get("/api/calls?number=(555)%20123-0001&limit=100")
        eq(len(body["calls"]), 10)
        status, body, _ = d.get("/api/calls?since=" + ts(600).replace(":", "%3A") + "&until=" +
                                ts(900).replace(":", "%3A"))
        eq([c["call_id"] for c in body["calls"]], ["q14", "q13", "q12", "q11", "q10"])
        for bad in ("limit=0", "limit=abc", "since=yesterday"):
            status, body, _ = d.get("/api/calls?" + bad)
            eq(status, 400, bad)
            eq(body["error"], "bad_request")
        status, body, _ = d.get("/api/calls/nope")
        eq(status, 404)
        eq(body["error"], "not_found")
        # Tokens: none, a wrong one, an agent's token: 401.
        agent_token = d.add_agent("a1")
        for tok in (None, "x" * 64, agent_token):
            status, body, _ = d.http("GET", "/api/calls", token=tok, auth=tok is not None)
            eq(status, 401, tok)
            eq(body["error"], "unauthorized")
        # Tokens are stored hashed.
        import sqlite3
        db = sqlite3.connect(d.db)
        stored = [r[0] for r in db.execute("SELECT token_hash FROM api_tokens")]
        check(d.token() not in stored and len(stored) == 1 and len(stored[0]) == 64, stored)
        # callogctl calls agrees.
        out = json.loads(d.ctl("calls", "--queue", "sales", "--limit", "3", "--json").stdout)
        eq([c["call_id"] for c in out["calls"]], ["q29", "q27", "q25"])


@test
def health_and_metrics():
    with running() as d:
        status, body, _ = d.get("/healthz", auth=False)
        eq((status, body), (200, {"status": "ok"}))
        p = Producer(d)
        p.event({"type": "call.offered", "call_id": "m", "from": "1", "to": "2"})
        status, text, r = d.get("/metrics", auth=False)
        eq(status, 200)
        check(r.getheader("Content-Type").startswith("text/plain"))
        for needle in ('callogd_events_total{type="call.offered",result="accepted"} 1',
                       "callogd_commits_total", "callogd_pop_latency_seconds_bucket",
                       'callogd_connections{kind="events"} 1', "callogd_commit_seconds_count",
                       "callogd_connections_refused_total", "callogd_slow_consoles_dropped_total",
                       "callogd_active_calls 1"):
            check(needle in text, needle)


@test
def many_connections_pipelined_all_acked_in_order():
    with running() as d:
        conns = [Producer(d, unix=(i % 2 == 0)) for i in range(8)]
        n = 500
        for k, c in enumerate(conns):
            c.send_raw("".join(json.dumps({"type": "call.held", "id": "p%d-%d" % (k, i), "call_id": "pc%d" % (i % 50)})
                               + "\n" for i in range(n)))
        seqs = set()
        for k, c in enumerate(conns):
            last = 0
            for i in range(n):
                a = c.read()
                eq(a["ack"], "p%d-%d" % (k, i))
                check(a["seq"] > last)
                last = a["seq"]
                seqs.add(a["seq"])
        eq(len(seqs), 8 * n)


if __name__ == "__main__":
    run()
